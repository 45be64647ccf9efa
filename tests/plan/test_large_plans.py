"""Large accounts: the diff takes its shortcuts and the renderers compute only the content diffs they show.

Counting the expensive calls (deepdiff's DeepDiff, the unified content diff) proves the shortcuts are taken;
how fast they are is measured in bench/, never asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import deepdiff
import pytest

from klaviyo_sync.plan import build_plan, plan_to_json
from klaviyo_sync.render import render_markdown, render_text
from klaviyo_sync.render import view as view_module
from klaviyo_sync.render.markdown import COMMENT_LIMIT, MIN_DIFF_BLOCK
from klaviyo_sync.resources import Action, Kind, Plan
from tests.plan.builders import Project, Thresholds, desired, live, state


@dataclass
class Calls:
    deep_diffs: int = 0
    content_diffs: int = 0


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    """Count DeepDiff runs and unified content diffs, while still running the real ones."""
    counted = Calls()
    real_deep_diff, real_content_diff = deepdiff.DeepDiff, view_module.content_diff

    def deep_diff(*args, **kwargs):
        counted.deep_diffs += 1
        return real_deep_diff(*args, **kwargs)

    def content_diff(*args, **kwargs):
        counted.content_diffs += 1
        return real_content_diff(*args, **kwargs)

    monkeypatch.setattr(deepdiff, "DeepDiff", deep_diff)
    monkeypatch.setattr(view_module, "content_diff", content_diff)
    yield counted


def page(number: int, version: str = "v1", lines: int = 200) -> str:
    return "\n".join(f"<tr><td>row {row} of template {number}, {version}</td></tr>" for row in range(lines))


def definition(number: int, title: str) -> dict:
    return {"body": {"sections": [{"id": number, "blocks": [{"type": "text", "title": title}]}]}, "styles": {"width": 600}}


def reversed_keys(value: object) -> object:
    """The same value with every mapping's keys in reverse order (as another JSON encoder might send it)."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def large_plan(count: int = 400) -> Plan:
    """`count` templates: most identical, many equal only after normalising, five really changed."""
    account, declared = [], []
    for number in range(count):
        name = f"T{number:04d}"
        html = page(number)
        attrs = {"editor_type": "SYSTEM_DRAGGABLE", "html": html, "definition": definition(number, "Hello")}
        account.append(live(Kind.TEMPLATE, name, attrs=attrs))
        wanted = {"editor_type": "SYSTEM_DRAGGABLE", "html": html, "definition": definition(number, "Hello")}
        if number % 4 == 1:  # line endings and trailing blanks: the same content to Klaviyo
            wanted["html"] = html.replace("\n", "  \r\n") + "\r\n"
        if number % 4 == 2:  # the same definition in another key order
            wanted["definition"] = reversed_keys(attrs["definition"])
        if number in (0, 100, 200):
            wanted["html"] = page(number, "v2")
        if number in (4, 300):
            wanted["definition"] = definition(number, "Bonjour")
        declared.append(desired(Kind.TEMPLATE, name, attrs=wanted))
    return build_plan(Project(state(declared), thresholds=Thresholds(min_existing=100_000)), state(account))


def test_deepdiff_runs_only_on_definitions_whose_digests_differ(calls: Calls) -> None:
    plan = large_plan()
    changed = sorted((c.address, tuple(f.field for f in c.fields)) for c in plan.changes)
    assert changed == [
        ('template["T0000"]', ("html",)),
        ('template["T0004"]', ("definition",)),
        ('template["T0100"]', ("html",)),
        ('template["T0200"]', ("html",)),
        ('template["T0300"]', ("definition",)),
    ]
    assert all(change.action is Action.UPDATE for change in plan.changes)
    # 100 definitions in another key order matched by digest; only the 2 really changed reached deepdiff.
    assert calls.deep_diffs == 2


def test_renderers_diff_only_the_fields_that_changed(calls: Calls) -> None:
    data = plan_to_json(large_plan(), full_content=True)
    assert calls.content_diffs == 0  # building and serialising the plan computes no display diff
    text = render_text(data)
    assert calls.content_diffs == 5
    assert text.count("--- html (account)") == 3 and text.count("--- definition (account)") == 2
    calls.content_diffs = 0
    render_markdown(data)
    assert calls.content_diffs == 5


def test_a_comment_computes_only_the_diffs_it_has_room_for(calls: Calls) -> None:
    count = 300
    account = state(live(Kind.TEMPLATE, f"T{i:03d}", attrs={"html": page(i)}) for i in range(count))
    declared = state(desired(Kind.TEMPLATE, f"T{i:03d}", attrs={"html": page(i, "v2")}) for i in range(count))
    data = plan_to_json(build_plan(Project(declared, thresholds=Thresholds(min_existing=100_000)), account), full_content=True)
    markdown = render_markdown(data)
    shown = markdown.count("<details>")
    assert len(markdown) < COMMENT_LIMIT
    assert 10 <= shown < count  # the first diffs readably, not 300 slivers
    assert calls.content_diffs <= COMMENT_LIMIT // MIN_DIFF_BLOCK
    assert f"{count - shown} content diffs not shown for lack of room" in markdown


def test_a_saved_plan_grows_with_its_changes_not_their_content() -> None:
    """Content is written as a digest: 300 changed templates of about 10 KB each make a file of a few KB a change
    (the benchmark measures 1,000 of 100 KB)."""
    import json

    count = 300
    account = state(live(Kind.TEMPLATE, f"T{i:03d}", attrs={"html": page(i)}) for i in range(count))
    declared = state(desired(Kind.TEMPLATE, f"T{i:03d}", attrs={"html": page(i, "v2")}) for i in range(count))
    plan = build_plan(Project(declared, thresholds=Thresholds(min_existing=100_000)), account)
    content = sum(len(page(i, "v2")) + len(page(i)) for i in range(count))
    saved = json.dumps(plan_to_json(plan), indent=2)
    assert len(plan.changes) == count and content > 3_000_000
    assert len(saved) < count * 1_500, f"{len(saved):,} bytes for {count} changes"
    assert page(7, "v2") not in saved and page(7) not in saved

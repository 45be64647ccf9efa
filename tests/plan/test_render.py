"""The three renderers against golden files, plus the limits they promise (diff cuts, comment size, colour)."""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from klaviyo_sync.account import Account
from klaviyo_sync.blast import TagReach
from klaviyo_sync.plan import build_plan, plan_to_json
from klaviyo_sync.render import render_json, render_markdown, render_text
from klaviyo_sync.render.markdown import COMMENT_LIMIT
from klaviyo_sync.resources import Kind, Origin, Plan, Resource
from tests.plan.builders import Project, Thresholds, link, live, state

GOLDEN = Path(__file__).parent / "golden"
ACCOUNT = Account("AbC123", "Acme Staging")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def declared(kind: Kind, *key: str, line: int, attrs: dict | None = None, **meta: object) -> Resource:
    defaults = {Kind.TAG_GROUP: {"exclusive": False}, Kind.TEMPLATE: {"editor_type": "CODE"}}.get(kind, {})
    return Resource(kind, key, {**defaults, **(attrs or {})}, origin=Origin("klaviyo.yaml", line, 5), **meta)


WELCOME_OLD = "<html>\n<body>\n<h1>Welcome!</h1>\n<p>Hello {{ first_name }}</p>\n<p>Thanks for joining.</p>\n</body>\n</html>\n"
WELCOME_NEW = WELCOME_OLD.replace("Hello {{ first_name }}", "Hello {{ first_name|default:'there' }}")


def rich_plan() -> Plan:
    """One of every action, with unicode names and fixed ids, so the rendered output is stable."""
    channel = live(Kind.TAG_GROUP, "Channel", id="0a6f1e2c-0000-4000-8000-000000000001")
    email = live(Kind.TAG, "Channel", "Email", id="0a6f1e2c-0000-4000-8000-000000000002")
    lifecycle = live(Kind.TAG_GROUP, "Lifecycle", id="0a6f1e2c-0000-4000-8000-000000000003")
    vip = live(Kind.TAG, "Lifecycle", "VIP", id="0a6f1e2c-0000-4000-8000-000000000004")
    old_tag = live(Kind.TAG, "Lifecycle", "Sunset", id="0a6f1e2c-0000-4000-8000-000000000005")
    top = live(Kind.LIST, "Top Customers", id="LsTop1", attrs={"opt_in_process": "single_opt_in"})
    news = live(Kind.LIST, "Newsletter", id="LsNew1", attrs={"opt_in_process": "single_opt_in"})
    account = state(
        [
            live(Kind.TAG_GROUP, "Default", attrs={"default": True}, id="0a6f1e2c-0000-4000-8000-000000000000"),
            channel,
            email,
            lifecycle,
            vip,
            old_tag,
            top,
            news,
            link(news, vip),
            link(news, old_tag),
            live(Kind.TEMPLATE, "Welcome Email", id="TmWel1", attrs={"html": WELCOME_OLD, "text": "Hello"}),
            live(Kind.TEMPLATE, "Retired Promo", id="TmOld1"),
            live(Kind.TEMPLATE, "Draft: summer", id="TmDrf1"),
        ]
    )
    project = Project(
        state(
            [
                declared(Kind.TAG_GROUP, "Channel", line=3, attrs={"exclusive": True}),
                declared(Kind.TAG, "Channel", "Email", line=4),
                declared(Kind.TAG_GROUP, "Lifecycle", line=6),
                declared(Kind.TAG, "Lifecycle", "VIP", line=7),
                declared(Kind.TAG, "Lifecycle", "Bienvenue ✨", line=7),
                declared(Kind.LIST, "VIP Customers", line=10, renamed_from=("Top Customers",)),
                declared(Kind.LIST, "Newsletter", line=12, attrs={"opt_in_process": "double_opt_in"}),
                declared(Kind.LIST_TAG, "Newsletter", "Channel", "Email", line=14),
                declared(Kind.LIST, "Café Club", line=16),
                declared(Kind.TEMPLATE, "Welcome Email", line=20, attrs={"html": WELCOME_NEW, "text": "Hello"}),
                declared(
                    Kind.TEMPLATE, "Welcome Email (FR)", line=24, attrs={"html": "<p>Bonjour</p>"}, clone_from="Welcome Email"
                ),
            ]
        ),
        prune={Kind.TEMPLATE: True, Kind.TAG_GROUP: True},
        ignore={Kind.TEMPLATE: ("Draft*",)},
        thresholds=Thresholds(min_existing=100),
        file_hashes={"klaviyo.yaml": "a" * 64, "templates/welcome.html": "b" * 64},
    )
    reach = {  # what the group replaced and the tag deleted reach (one fact the key could not read)
        'tag_group["Channel"]': TagReach((email.id or "",), {"flows": ("FlW001",), "campaigns": (), "segments": ("Sg1", "Sg2")}),
        'tag["Lifecycle"/"Sunset"]': TagReach(
            (old_tag.id or "",),
            {"flows": None, "campaigns": ("01J0CAMPAIGN",), "segments": ()},
            {"flows": "the API key lacks a scope it needs: flows:read, tags:read"},
        ),
    }
    return build_plan(project, account, reach=reach, account=ACCOUNT)


def empty_plan() -> Plan:
    account = state([live(Kind.LIST, "Newsletter", id="LsNew1"), live(Kind.TEMPLATE, "Other", id="TmOth1")])
    return build_plan(Project(state([declared(Kind.LIST, "Newsletter", line=3)])), account, account=ACCOUNT)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file (UPDATE_GOLDEN=1 regenerates it)"


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("rich.txt", lambda p: render_text(p)),
        ("rich-verbose.txt", lambda p: render_text(p, verbose=True)),
        ("rich.md", render_markdown),
        ("rich.json", render_json),
    ],
)
def test_rich_plan_matches_golden(name: str, render) -> None:
    check_golden(name, render(rich_plan()))


@pytest.mark.parametrize(
    ("name", "render"), [("empty.txt", lambda p: render_text(p)), ("empty.md", render_markdown), ("empty.json", render_json)]
)
def test_empty_plan_matches_golden(name: str, render) -> None:
    check_golden(name, render(empty_plan()))


def test_json_output_validates_against_the_schema() -> None:
    schema = json.loads(resources.files("klaviyo_sync.schemas").joinpath("plan.schema.json").read_text("utf-8"))
    for plan in (rich_plan(), empty_plan()):
        jsonschema.Draft202012Validator(schema).validate(json.loads(render_json(plan)))


def test_text_shows_what_a_reviewer_needs() -> None:
    text = render_text(rich_plan())
    assert "-/+ replace: delete, then create" in text  # legend of the symbols used
    assert "exclusive: false -> true  # forces replacement" in text
    assert "+<p>Hello {{ first_name|default:'there' }}</p>" in text  # the content diff
    assert "group changed" not in text  # no tag moved here
    assert text.rstrip().endswith("Plan: 6 to create, 3 to update, 4 to delete.")
    assert render_text(empty_plan()).rstrip().endswith("No changes. The account matches the manifests.")


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(rich_plan())
    assert "\x1b[32m" in render_text(rich_plan(), color=True)


def test_control_characters_in_content_never_reach_the_terminal() -> None:
    account = state([live(Kind.TEMPLATE, "T", id="TmT001", attrs={"html": "a\n"})])
    project = Project(state([declared(Kind.TEMPLATE, "T", line=1, attrs={"html": "a\n\x1b]0;owned\x07\n"})]))
    text = render_text(build_plan(project, account))
    assert "\x1b" not in text and "\\x1b]0;owned\\x07" in text


def huge_plan(templates: int, lines: int) -> Plan:
    old = "\n".join(f"<p>line {i}</p>" for i in range(lines))
    new = "\n".join(f"<p>line {i} changed</p>" for i in range(lines))
    account = state(live(Kind.TEMPLATE, f"T{i:03d}", id=f"Tm{i:04d}", attrs={"html": old}) for i in range(templates))
    desired = state(declared(Kind.TEMPLATE, f"T{i:03d}", line=i + 1, attrs={"html": new}) for i in range(templates))
    return build_plan(Project(desired, thresholds=Thresholds(min_existing=10_000)), account)


def test_huge_diffs_are_cut_in_the_terminal_with_sizes() -> None:
    text = render_text(huge_plan(1, 2_000))
    assert "more diff lines not shown" in text
    assert "bytes in the account" in text and "in the manifest" in text
    assert len(text.splitlines()) < 300


@pytest.mark.parametrize(("templates", "lines"), [(1, 20_000), (40, 2_000), (1_000, 3)])
def test_markdown_always_fits_a_github_comment(templates: int, lines: int) -> None:
    markdown = render_markdown(huge_plan(templates, lines))
    assert len(markdown) < COMMENT_LIMIT
    assert markdown.startswith("### klaviyo-sync plan\n\n**Plan: 0 to create, ")
    assert "cut to fit the comment" in markdown or "not shown" in markdown
    assert markdown.count("<details>") == markdown.count("</details>")
    fences = [line for line in markdown.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0


def test_markdown_warns_loudly_about_destruction_only_when_there_is_some() -> None:
    assert "> [!CAUTION]" in render_markdown(rich_plan())
    assert "[!CAUTION]" not in render_markdown(huge_plan(2, 3))


def test_markdown_fence_survives_backticks_in_content() -> None:
    account = state([live(Kind.TEMPLATE, "T", id="TmT001", attrs={"html": "a"})])
    project = Project(state([declared(Kind.TEMPLATE, "T", line=1, attrs={"html": "```\nb"})]))
    markdown = render_markdown(build_plan(project, account))
    assert "````diff" in markdown


def test_renderers_accept_the_json_form_of_a_plan() -> None:
    data = plan_to_json(rich_plan(), full_content=True)
    assert render_text(data) == render_text(rich_plan())
    assert render_markdown(json.loads(json.dumps(data))) == render_markdown(rich_plan())


def test_renderers_show_a_saved_plans_content_by_its_digest() -> None:
    text = render_text(plan_to_json(rich_plan()))
    assert "bytes, sha256 " in text and "--- html (account)" not in text


def test_markdown_shows_names_as_typed_without_markup_or_mentions() -> None:
    name = "[Click](https://evil.example) *now* @team | `x`"
    account = state([live(Kind.TEMPLATE, "Old", id="TmOld1", attrs={"html": "a"})])
    project = Project(state([declared(Kind.TEMPLATE, name, line=1, attrs={"html": "a"}, renamed_from=("Old",))]))
    markdown = render_markdown(build_plan(project, account))
    [row] = [line for line in markdown.splitlines() if line.startswith("| `~` |")]
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 6  # the pipe in the name does not split the row
    assert cells[2].strip() == '``template["[Click](https://evil.example) *now* @team \\| `x`"]``'
    assert 'found under its earlier name "Old"' in cells[5]
    rename = render_markdown(
        build_plan(
            Project(state([declared(Kind.LIST, "B", line=1, renamed_from=(name,))])), state([live(Kind.LIST, name, id="LsOld1")])
        )
    )
    assert '"\\[Click\\](https://evil.example) \\*now\\* @team \\| \\`x\\`"' in rename


def test_markdown_fits_in_characters_and_in_bytes_whatever_the_script() -> None:
    old = "\n".join(f"<p>🎉 Soldes d'été ✨ {i} — 日本語のテキスト</p>" for i in range(3_000))
    account = state(live(Kind.TEMPLATE, f"T{i}", id=f"Tm{i:04d}", attrs={"html": old}) for i in range(5))
    project = Project(
        state(
            declared(
                Kind.TEMPLATE, f"T{i}", line=i + 1, attrs={"html": old.replace("🎉 Soldes d'été ✨ 1", "🔥 Soldes d'été ✨ 1")}
            )
            for i in range(5)
        ),
        thresholds=Thresholds(min_existing=100),
    )
    markdown = render_markdown(build_plan(project, account))
    assert "🔥" in markdown and "cut to fit the comment" in markdown
    assert len(markdown) < COMMENT_LIMIT and len(markdown.encode("utf-8")) < 262_144


def test_minified_html_diff_shows_where_the_line_changed() -> None:
    """One 60 KB line: the removed and added lines are cut to the same window around the change."""
    old = "".join(f"<td class=c{i}>cell {i}</td>" for i in range(2_500))
    new = old.replace("<td class=c1800>cell 1800</td>", "<td class=c1800>CHANGED</td>")
    account = state([live(Kind.TEMPLATE, "Minified", id="TmMin1", attrs={"html": old})])
    project = Project(state([declared(Kind.TEMPLATE, "Minified", line=1, attrs={"html": new})]))
    plan = build_plan(project, account)
    window = old.index("cell 1800") - 500 // 4  # the first differing character, a quarter of the width in
    for output in (render_text(plan), render_markdown(plan)):
        [removed] = [line.strip() for line in output.splitlines() if line.strip().startswith("-(")]
        [added] = [line.strip() for line in output.splitlines() if line.strip().startswith("+(")]
        assert "cell 1800</td>" in removed and "CHANGED</td>" in added
        assert removed.startswith(f"-({window:,} characters before) …") and added.startswith(f"+({window:,} characters")
        assert added.endswith(f"… ({len(new) - window - 500:,} more characters)")
        assert max(len(removed), len(added)) < 600

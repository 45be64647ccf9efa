"""Renders run a few at a time; the entries, their sides and every result are what one render at a time gives."""

from __future__ import annotations

import asyncio
from typing import Any

from klaviyo_sync.preview.contexts import Sample
from klaviyo_sync.preview.pages import RENDER_CONCURRENCY, Entry, Rendered, Target, render_entries

TARGETS = [Target(f"Template {index}", "changed", {"html": f"old {index}"}, {"html": f"new {index}"}) for index in range(5)] + [
    Target("Brand new", "new", None, {"html": "fresh"}),
    Target("Broken", "changed", {"html": "old"}, {"html": "BROKEN"}),
]
SAMPLES = [Sample("vip", "profiles/vip.json", {"first_name": "Ada"}), Sample("default", "default", {})]


class SlowRenderer:
    """Later renders answer sooner, so out-of-order completion would show; one source fails, as Klaviyo may."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.most = 0

    async def __call__(self, attrs: dict[str, Any], sample: Sample) -> Rendered:
        self.calls += 1
        delay = max(0.0, 0.03 - 0.001 * self.calls)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(delay)
        finally:
            self.running -= 1
        if attrs["html"] == "BROKEN":
            return Rendered(error="Klaviyo could not render it: unclosed tag")
        return Rendered(f"<p>{attrs['html']} for {sample.name}</p>", None)


def _render(concurrency: int) -> tuple[list[Entry], SlowRenderer]:
    renderer = SlowRenderer()
    entries = asyncio.run(render_entries(TARGETS, lambda _: SAMPLES, renderer, concurrency=concurrency))
    return entries, renderer


def _shape(entries: list[Entry]) -> list[tuple[str, str, str, list[tuple[str, Rendered]]]]:
    return [(e.target.name, e.sample.name, e.folder, list(e.rendered.items())) for e in entries]


def test_concurrent_renders_keep_the_order_and_give_what_sequential_ones_give() -> None:
    concurrent, renderer = _render(RENDER_CONCURRENCY)
    sequential, one_at_a_time = _render(1)

    assert _shape(concurrent) == _shape(sequential)
    assert [(e.target.name, e.sample.name) for e in concurrent] == [(t.name, s.name) for t in TARGETS for s in SAMPLES]
    assert all(list(e.rendered) == (["after"] if e.target.before is None else ["before", "after"]) for e in concurrent)
    assert renderer.calls == one_at_a_time.calls == 2 * (2 * len(TARGETS) - 1)
    assert 1 < renderer.most <= RENDER_CONCURRENCY and one_at_a_time.most == 1

    broken = [e for e in concurrent if e.target.name == "Broken"]
    assert [e.rendered["after"].error for e in broken] == ["Klaviyo could not render it: unclosed tag"] * 2
    assert all(e.rendered["before"].html == f"<p>old for {e.sample.name}</p>" for e in broken)

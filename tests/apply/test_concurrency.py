"""Independent changes run at the same time, each endpoint at its own pace, with no 429 from the account."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from klaviyo_sync.apply import apply_plan
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.apply.support import connect, duplicates, plan_project, write_project

# Rate-limit windows 20x shorter than Klaviyo's, on both sides, so the limits really bind in a test-sized run.
SCALE = 0.05
TAGS = 60
LISTS = 150


def test_tag_and_list_creates_proceed_on_both_endpoints_at_once_within_their_limits(
    tmp_path: Path, emulator_factory: Callable[[EmulatorConfig | None], Emulator]
) -> None:
    tag_names = ", ".join(f"tag {n:02}" for n in range(TAGS))
    list_entries = "".join(f"  - name: List {n:03}\n" for n in range(LISTS))
    root = write_project(
        tmp_path / "big", f"version: 1\ntag_groups:\n  - name: Topics\n    tags: [{tag_names}]\nlists:\n{list_entries}", {}
    )
    emulator = emulator_factory(EmulatorConfig(rate_limits=SCALE))

    async def scenario() -> None:
        async with connect(emulator, time_scale=SCALE) as client:
            plan, live = await plan_project(client, root)
            start = len(emulator.request_log)
            report = await apply_plan(plan, client, live=live)
            assert report.ok and len(report.applied) == 1 + TAGS + LISTS
            sent = emulator.request_log[start:]
            assert [r.operation_id for r in sent if r.status == 429] == [], "pacing must keep every request inside the limits"
            writes = [r for r in sent if r.method == "POST"]
            operations = [r.operation_id for r in writes]
            assert operations.count("create_tag") == TAGS and operations.count("create_list") == LISTS
            tag_positions = [n for n, op in enumerate(operations) if op == "create_tag"]
            list_positions = [n for n, op in enumerate(operations) if op == "create_list"]
            # The two endpoints interleave: lists keep being created while tags are (one kind at a time would not).
            during_tags = [n for n in list_positions if tag_positions[0] < n < tag_positions[-1]]
            assert len(during_tags) >= LISTS // 3, f"{len(during_tags)} of {LISTS} list creates ran while tags were created"
            again, after = await plan_project(client, root)
            assert again.empty and duplicates(after) == {}

    asyncio.run(scenario())

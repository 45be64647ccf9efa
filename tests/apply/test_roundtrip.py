"""Round trip over every plan scenario: apply the plan, then plan again: nothing left, nothing duplicated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from klaviyo_sync.apply import apply_plan
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.inputs import managed_flow_emails
from klaviyo_sync.live import read_live_state
from klaviyo_sync.manifest import load_project
from klaviyo_sync.plan import build_plan
from tests.apply.support import connect, duplicates
from tests.plan.scenarios import Case, load_cases, materialise

CASES = [case for case in load_cases() if not case.refused]


def test_the_round_trip_covers_the_scenarios() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_apply_then_plan_is_empty(
    case: Case, tmp_path: Path, emulator_factory: Callable[[EmulatorConfig | None], Emulator]
) -> None:
    materialised = materialise(case, tmp_path, emulator_factory(None))
    project = load_project(materialised.project_dir, dict(case.variables))

    async def scenario() -> None:
        async with connect(materialised.emulator) as client:
            emails = managed_flow_emails(project.state)
            before = await read_live_state(client, flow_emails=emails)
            plan = build_plan(project, before, targets=case.targets, force=case.force)
            report = await apply_plan(plan, client, live=before)
            assert report.ok and (report.verified or plan.empty)
            after = await read_live_state(client, flow_emails=emails)
            again = build_plan(project, after, targets=case.targets, force=True)
            assert [c.address for c in again.changes] == [], f"{case.name}: left after apply"
            # Apply adds no duplicate names beyond any the scenario seeded on purpose.
            assert duplicates(after).keys() <= duplicates(before).keys()

    asyncio.run(scenario())

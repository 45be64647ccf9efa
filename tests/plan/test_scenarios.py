"""Every scenario under scenarios/: seed the emulator, load the manifests, read the account, plan, compare."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.errors import PlanError
from tests.plan.scenarios import Case, check_plan, load_cases, materialise, plan_case

CASES = load_cases()
REQUIRED = {
    "empty-account",
    "no-op",
    "create-everything",
    "update",
    "rename",
    "replace-tag-group",
    "tag-moved",
    "clone-unmanaged",
    "prune-on",
    "prune-off",
    "ignore-globs",
    "prevent-destroy",
    "threshold-refused",
    "threshold-forced",
    "ambiguous-duplicate",
    "ambiguous-rename",
    "crlf-only",
    "unicode-names",
    "links",
}


def test_every_required_scenario_exists() -> None:
    assert {case.name for case in CASES} >= REQUIRED


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_scenario(case: Case, tmp_path: Path, emulator: Emulator) -> None:
    materialised = materialise(case, tmp_path, emulator)
    before = len(materialised.emulator.request_log)
    if case.refused:
        with pytest.raises(PlanError) as caught:
            asyncio.run(plan_case(materialised))
        assert case.expect["error"] in str(caught.value)
    else:
        check_plan(case, asyncio.run(plan_case(materialised)))
    # Planning reads the account and never writes to it.
    methods = {record.method for record in materialised.emulator.request_log[before:]}
    assert methods == {"GET"}

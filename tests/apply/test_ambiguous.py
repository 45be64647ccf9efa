"""Creates whose answer is lost are resolved by reading back by name: never a duplicate, never the wrong object."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from klaviyo_sync.apply import apply_plan
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Action, Kind, ReplaceMode
from tests.apply.support import connect, duplicates, plan_project, write_project
from tests.support.canary import CANARY_KEY

PROMO = "version: 1\ntemplates:\n  - name: Promo\n    editor_type: USER_DRAGGABLE\n    html: promo.html\n"
OLD_PROMO = {"templates": [{"name": "Promo", "editor_type": "CODE", "html": "<p>old</p>", "text": None}]}


@pytest.mark.parametrize(
    "faults",
    [
        "create_template:drop#1",  # committed, answer lost: the read-back finds the old and the new template
        "create_template:error=500#1",  # not committed: the read-back finds only the old template
        "create_template:timeout=1#1;delete_template:drop#1",
    ],
)
def test_a_create_first_replace_never_mistakes_the_old_object_for_the_new_one(
    faults: str, tmp_path: Path, emulator_factory: Callable[[EmulatorConfig | None], Emulator]
) -> None:
    root = write_project(tmp_path / "promo", PROMO, {"promo.html": "<p>new</p>\n"})
    emulator = emulator_factory(EmulatorConfig(faults=faults))
    [old_id] = emulator.seed(CANARY_KEY, OLD_PROMO)["templates"]

    async def scenario() -> None:
        async with connect(emulator, timeout=0.5) as client:
            plan, live = await plan_project(client, root)
            [change] = plan.changes
            assert (change.action, change.replace_mode) == (Action.REPLACE, ReplaceMode.CREATE_FIRST)
            report = await apply_plan(plan, client, live=live, retry_delay=0.0)
            assert report.ok and report.drift == []
            [applied] = report.applied
            after = await read_live_state(client)
            promo = after.get(Kind.TEMPLATE, ("Promo",))
            assert promo is not None and promo.id == applied.id != old_id
            assert promo.attrs["editor_type"] == "USER_DRAGGABLE" and duplicates(after) == {}
            assert (await plan_project(client, root))[0].empty

    asyncio.run(scenario())
    assert emulator.faults.injected, "the fault was injected"

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
            report = await apply_plan(plan, client, live=live, retry_delay=0.0, late_commit_window=0.0)  # nothing commits late
            assert report.ok and report.drift == []
            [applied] = report.applied
            after = await read_live_state(client)
            promo = after.get(Kind.TEMPLATE, ("Promo",))
            assert promo is not None and promo.id == applied.id != old_id
            assert promo.attrs["editor_type"] == "USER_DRAGGABLE" and duplicates(after) == {}
            assert (await plan_project(client, root))[0].empty

    asyncio.run(scenario())
    assert emulator.faults.injected, "the fault was injected"


def test_a_create_that_got_no_answer_is_not_sent_again_when_the_look_up_finds_nothing() -> None:
    """A create held past the client's timeout can commit later (seen: held 36 s, timed out at 30 s). A look-up
    that finds nothing then proves nothing, so the create is not repeated: the change fails as unknown, and the
    next plan shows whether it landed. (The emulator commits before it holds an answer, so a late commit is
    scripted here: the one part no real server here can stage.)"""
    from klaviyo_sync.apply.ids import IdBook
    from klaviyo_sync.apply.steps import StepContext, create_exactly_once
    from klaviyo_sync.errors import TransportError

    class LateCommit:
        def __init__(self) -> None:
            self.creates = 0

        async def find_ids_by_name(self, kind: Kind, name: str, group_id: str | None = None) -> list[str]:
            return []  # not committed yet

    client = LateCommit()

    async def create() -> str:
        client.creates += 1
        raise TransportError("create_template: timed out", operation="create_template", ambiguous=True)

    async def scenario() -> None:
        ctx = StepContext(client=client, ids=IdBook(None, [], {}), retry_delay=0.0)  # type: ignore[arg-type]
        with pytest.raises(TransportError) as unknown:
            await create_exactly_once(ctx, Kind.TEMPLATE, "Promo", create)
        assert unknown.value.ambiguous and "not sent again" in unknown.value.message
        assert "plan" in unknown.value.hint

    asyncio.run(scenario())
    assert client.creates == 1

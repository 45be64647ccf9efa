"""A create whose outcome was unclear can commit after the look-up that followed it: the emulator's `late` fault holds
the request and commits it later (after a 504 answered at once, or with no answer before the client's timeout).
Apply looks such creates up once more after the run: it removes a late copy that is certainly its own and
identical, counts a late commit as applied, and otherwise fails naming the duplicate. Never a silent success."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from klaviyo_sync.apply import apply_plan
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.errors import ApplyError
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Kind
from tests.apply.support import connect, duplicates, plan_project, write_project
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.clients import emulator_client
from tests.support.fixtures import ServedEmulator

NEWSLETTER = "version: 1\nlists:\n  - name: Newsletter\n    opt_in_process: single_opt_in\n"
Factory = Callable[[EmulatorConfig | None], Emulator]


def names(emulator: Emulator, kind: str) -> list[str]:
    return sorted(item["name"] for acct in emulator.dump()["accounts"].values() for item in acct[kind].values())


def test_a_copy_committed_late_after_a_504_is_removed_and_said_so(tmp_path: Path, emulator_factory: Factory) -> None:
    root = write_project(tmp_path / "p", NEWSLETTER, {})
    emulator = emulator_factory(EmulatorConfig(faults="create_list:late=0.5,answer=504#1"))

    async def scenario() -> None:
        async with connect(emulator) as client:
            plan, live = await plan_project(client, root)
            report = await apply_plan(plan, client, live=live, retry_delay=0.0, late_commit_window=1.0)
            assert report.ok and report.verified and report.drift == []
            [applied] = report.applied
            [note] = report.late_commits
            assert "left a second copy" in note and f"the one kept (id {applied.id})" in note and "was deleted" in note
            after = await read_live_state(client)
            assert duplicates(after) == {} and after.get(Kind.LIST, ("Newsletter",)).id == applied.id  # type: ignore[union-attr]
            assert (await plan_project(client, root))[0].empty

    asyncio.run(scenario())
    assert emulator.request_counts(CANARY_KEY)["create_list"] == 2 and emulator.request_counts(CANARY_KEY)["delete_list"] == 1


def test_a_create_held_past_the_client_timeout_counts_once_it_commits(
    tmp_path: Path, emulator_factory: Factory, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    """Over loopback: the server holds the create 1 s, the client gives up after 0.4 s and its look-up finds nothing,
    so the create is not sent again; the check after the run finds it committed."""
    root = write_project(tmp_path / "p", NEWSLETTER, {})
    emulator = emulator_factory(EmulatorConfig(faults="create_list:late=1#1"))
    served = serve_emulator(emulator)

    async def scenario() -> None:
        from klaviyo_sync.client import KlaviyoClient

        async with KlaviyoClient(CANARY_KEY, base_url=served.base_url, timeout=0.4, time_scale=0.001) as client:
            plan, live = await plan_project(client, root)
            report = await apply_plan(plan, client, live=live, retry_delay=0.0, late_commit_window=1.5)
            assert report.ok and report.failed == [], report.failed
            [applied] = report.applied
            assert report.late_commits == [
                f'list["Newsletter"]: the create that got no clear answer committed late (id {applied.id}); it counts as applied'
            ]

    asyncio.run(scenario())
    assert names(emulator, "lists") == ["Newsletter"]
    assert emulator.request_counts(CANARY_KEY)["create_list"] == 1  # never sent twice


def test_a_late_copy_that_differs_fails_the_apply_naming_it(tmp_path: Path, emulator_factory: Factory) -> None:
    """A clone committed late holds its source's content, not the manifests': not certainly a spare copy, so it
    stays, and the apply fails naming both ids."""
    manifest = (
        "version: 1\ntemplates:\n  - name: Welcome\n    html: welcome.html\n"
        "  - name: Welcome (FR)\n    clone_from: Welcome\n    html: fr.html\n"
    )
    root = write_project(tmp_path / "p", manifest, {"welcome.html": "<p>Hi</p>\n", "fr.html": "<p>Salut</p>\n"})
    emulator = emulator_factory(EmulatorConfig(faults="clone_template:late=0.3,answer=504#1"))
    emulator.seed(CANARY_KEY, {"templates": [{"name": "Welcome", "html": "<p>Hi</p>\n"}]})

    async def scenario() -> None:
        async with connect(emulator) as client:
            plan, live = await plan_project(client, root)
            with pytest.raises(ApplyError) as failed:
                await apply_plan(plan, client, live=live, retry_delay=0.0, late_commit_window=0.6)
            report = failed.value.report
            [clone] = [item for item in report.applied if item.change.key == ("Welcome (FR)",)]
            [duplicate] = report.duplicates
            assert (
                duplicate.startswith('template["Welcome (FR)"] exists 2 times (ids ') and f"id {clone.id} is the one" in duplicate
            )
            assert "duplicate" in str(failed.value) and not report.ok

    asyncio.run(scenario())
    assert names(emulator, "templates") == ["Welcome", "Welcome (FR)", "Welcome (FR)"]  # nothing deleted on a doubt


def test_a_create_that_has_not_committed_stays_failed_and_says_so(tmp_path: Path, emulator_factory: Factory) -> None:
    root = write_project(tmp_path / "p", NEWSLETTER, {})
    emulator = emulator_factory(EmulatorConfig(faults="create_list:late=30#1"))

    async def scenario() -> None:
        async with connect(emulator) as client:
            plan, live = await plan_project(client, root)
            with pytest.raises(ApplyError) as failed:
                await apply_plan(plan, client, live=live, retry_delay=0.0, late_commit_window=0.2)
            report = failed.value.report
            assert [item.change.address for item in report.failed] == ['list["Newsletter"]'] and report.applied == []
            [note] = report.late_commits
            assert note.startswith('list["Newsletter"]: nothing of that name') and "plan" in note

    asyncio.run(scenario())
    emulator.reset()  # the held create is dropped, never to commit
    assert emulator.request_counts(CANARY_KEY) == {}


def test_apply_on_the_command_line_removes_the_late_copy(
    tmp_path: Path, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    root = write_project(tmp_path / "p", NEWSLETTER, {})
    served = serve_emulator(Emulator(EmulatorConfig(faults="create_list:late=0.3,answer=504#1")))
    result = run_cli(["apply", str(root), "--auto-approve", "--late-commit-window", "0.6", "--base-url", served.base_url])
    assert result.exit_code == 0, result.stderr
    assert "Creates without a clear answer, checked after the run:" in result.stdout and "the copy was deleted" in result.stdout
    assert result.stdout.rstrip().endswith("Apply complete: 1 created, 0 updated, 0 deleted.")
    assert names(served.emulator, "lists") == ["Newsletter"]


def test_a_lost_answer_found_at_once_needs_no_second_look_up(tmp_path: Path, emulator_factory: Factory) -> None:
    """A create whose answer was lost but which the look-up found, on its only unclear attempt, leaves nothing in
    flight: no wait and no second look-up after the run."""
    root = write_project(tmp_path / "p", NEWSLETTER, {})
    emulator = emulator_factory(EmulatorConfig(faults="create_list:drop#1"))

    async def scenario() -> None:
        async with emulator_client(emulator, time_scale=0.001) as client:
            plan, live = await plan_project(client, root)
            report = await apply_plan(plan, client, live=live, retry_delay=0.0, late_commit_window=60.0, verify=False)
            assert report.ok and report.late_commits == []

    asyncio.run(scenario())
    assert emulator.request_counts(CANARY_KEY)["get_lists"] == 2  # the plan's read and the look-up after the drop

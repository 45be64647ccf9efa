"""One apply at a time per account: the marker lock, in process and with two real `apply` processes at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.live import read_live_state
from klaviyo_sync.lock import LOCK_NAME, AccountLock, LockedError
from tests.apply.support import connect, duplicates, plan_project, write_project
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

CLI = [sys.executable, "-c", "from klaviyo_sync.cli import main; main()"]


def _markers(emulator: Emulator) -> list[dict]:
    accounts = emulator.dump()["accounts"].values()
    blocks = [b for account in accounts for b in account.get("collections", {}).get("universal_content", {}).values()]
    return [block for block in blocks if block["name"] == LOCK_NAME]


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with connect(emulator) as first_client, connect(emulator) as second_client:
            first = AccountLock(first_client, settle=0.05)
            async with first.held():
                with pytest.raises(LockedError) as refused:
                    # Its marker may share the holder's second of `created`: it steps back and queues again, and
                    # only a pause longer than that resolution (as the default SETTLE_S gives) shows it the holder.
                    async with AccountLock(second_client, settle=2.5).held():
                        raise AssertionError("the second apply must not run")
                assert "another apply is changing this account" in str(refused.value)
                assert f"klaviyo-sync unlock {first.marker_id}" in refused.value.hint
                assert [m["id"] for m in _markers(emulator)] == [first.marker_id]  # the loser's marker is gone
                # The marker is no part of the account as the tool reads it.
                assert LOCK_NAME not in {r.name for r in await read_live_state(first_client)}
            assert _markers(emulator) == []
            async with AccountLock(second_client, settle=0.05).held():  # free again
                assert len(_markers(emulator)) == 1

    asyncio.run(scenario())


def test_contenders_of_one_second_never_hold_the_lock_together(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory(EmulatorConfig(clock=lambda: 1_800_000_000.0))  # every marker has the same `created`
    holding: list[int] = []
    overlaps: list[int] = []

    async def contender(index: int) -> None:
        async with connect(emulator) as client, AccountLock(client, wait=30, settle=0.05, poll=0.02).held():
            holding.append(index)
            if len(holding) > 1:
                overlaps.append(index)
            await asyncio.sleep(0.02)
            holding.remove(index)

    async def scenario() -> None:
        await asyncio.gather(*(contender(i) for i in range(4)))

    asyncio.run(scenario())
    assert overlaps == []
    assert _markers(emulator) == []


def test_a_lock_whose_holder_stopped_renewing_it_expires(emulator_factory: Callable[..., Emulator]) -> None:
    now = [1_800_000_000.0]
    emulator = emulator_factory(EmulatorConfig(clock=lambda: now[0]))

    async def scenario() -> None:
        async with connect(emulator) as client:
            dead = AccountLock(client, ttl=timedelta(minutes=10), settle=0.05)
            await dead._acquire()  # taken, then its holder is killed: never renewed, never released
            now[0] += 11 * 60
            async with AccountLock(client, ttl=timedelta(minutes=10), settle=0.05).held():
                pass

    asyncio.run(scenario())


def test_unlock_breaks_a_dead_holders_lock(emulator_server: ServedEmulator) -> None:
    async def take() -> str:
        async with connect(emulator_server.emulator) as client:
            dead = AccountLock(client, settle=0.05)
            await dead._acquire()
            assert dead.marker_id is not None
            return dead.marker_id

    lock_id = asyncio.run(take())
    wrong = run_cli(["unlock", "nope00", "--base-url", emulator_server.base_url])
    assert wrong.exit_code == 1 and "there is no apply lock with id 'nope00'" in wrong.stderr and lock_id in wrong.stderr
    result = run_cli(["unlock", lock_id, "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "Removed the apply lock held by " in result.output and f"(lock id {lock_id})" in result.output
    assert _markers(emulator_server.emulator) == []


def test_a_block_may_not_take_the_lock_name(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("<p>x</p>\n", encoding="utf-8")
    manifest = f"version: 1\nuniversal_content:\n  - name: {LOCK_NAME}\n    html: t.html\n"
    (tmp_path / "klaviyo.yaml").write_text(manifest, encoding="utf-8")
    result = run_cli(["validate", str(tmp_path)])
    assert result.exit_code == 1 and "is reserved: apply uses a block of that name as its lock" in result.output


def test_an_account_at_the_template_cap_can_still_be_applied(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    """The lock takes no template: an account holding Klaviyo's 1,000 API templates still gets its updates."""
    templates = [{"name": f"T{index:04}", "html": "<p>old {% unsubscribe %}</p>"} for index in range(1000)]
    emulator_server.emulator.seed(CANARY_KEY, {"templates": templates})
    (tmp_path / "t.html").write_text("<p>new {% unsubscribe %}</p>\n", encoding="utf-8")
    (tmp_path / "klaviyo.yaml").write_text("version: 1\ntemplates:\n  - name: T0000\n    html: t.html\n", encoding="utf-8")
    result = run_cli(["apply", str(tmp_path), "--auto-approve", "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in result.output
    assert _markers(emulator_server.emulator) == []


@pytest.mark.parametrize("wait", ["refuse", "wait"])
def test_two_applies_at_once_repeated_leave_no_duplicates_and_an_empty_plan(
    wait: str,
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    serve_emulator: Callable[[Emulator], ServedEmulator],
) -> None:
    root = write_project(tmp_path / "shop")
    env = {**os.environ, "KLAVIYO_API_KEY": CANARY_KEY, "NO_COLOR": "1"}
    extra = ["--lock-timeout", "120"] if wait == "wait" else []
    outcomes: list[tuple[int, int]] = []
    for _ in range(10):
        served = serve_emulator(emulator_factory(EmulatorConfig(latency_ms=20)))
        args = [*CLI, "apply", str(root), "--auto-approve", "--base-url", served.base_url, *extra]
        processes = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
        outputs = [process.communicate(timeout=240)[0].decode() for process in processes]
        codes = [process.returncode for process in processes]
        assert not any(find_canary(output) for output in outputs)
        for code, output in zip(codes, outputs, strict=True):
            assert code == 0 or "another apply is changing this account" in output, output
            assert "Traceback" not in output
        outcomes.append((codes.count(0), codes.count(1)))

        async def check(emulator: Emulator = served.emulator) -> None:
            async with connect(emulator) as client:
                plan, live = await plan_project(client, root)
                assert duplicates(live) == {}
                assert plan.empty, [c.address for c in plan.changes]

        asyncio.run(check())
        assert _markers(served.emulator) == []
    if wait == "wait":
        assert outcomes == [(2, 0)] * 10  # the second waited, found nothing left to do, and said so
    else:
        assert all(ok >= 1 for ok, _ in outcomes)

"""The CLI as a real process: killed with SIGKILL mid-apply then run again, interrupted with SIGINT, and asked
for confirmation on a terminal (a pseudo-terminal)."""

from __future__ import annotations

import asyncio
import os
import pty
import random
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.live import read_live_state
from tests.apply.support import connect, duplicates, plan_project, write_project
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.fixtures import ServedEmulator

KILL_POINTS = 6
CLI = [sys.executable, "-c", "from klaviyo_sync.cli import main; main()"]


def _env() -> dict[str, str]:
    return {**os.environ, "KLAVIYO_API_KEY": CANARY_KEY, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def _assert_converged(emulator: Emulator, root: Path) -> None:
    async def check() -> None:
        async with connect(emulator) as client:
            plan, _ = await plan_project(client, root)
            assert plan.empty, [c.address for c in plan.changes]
            assert duplicates(await read_live_state(client)) == {}

    asyncio.run(check())


def test_killed_at_random_points_then_run_again_converges_without_duplicates(
    tmp_path: Path,
    emulator_factory: Callable[[EmulatorConfig | None], Emulator],
    serve_emulator: Callable[[Emulator], ServedEmulator],
) -> None:
    root = write_project(tmp_path / "shop")
    rng = random.Random(5)
    killed_mid_apply = 0
    for point in range(KILL_POINTS):
        served = serve_emulator(emulator_factory(EmulatorConfig(latency_ms=40)))
        args = [*CLI, "apply", str(root), "--auto-approve", "--base-url", served.base_url]
        process = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Wait for the first write, then kill at a random moment while the apply runs.
        deadline = time.monotonic() + 30
        while not any(r.method != "GET" for r in served.emulator.request_log) and process.poll() is None:
            assert time.monotonic() < deadline, "apply never started writing"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.6))
        if process.poll() is None:
            killed_mid_apply += 1
        process.send_signal(signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
        assert not find_canary(output)
        writes_before = sum(1 for r in served.emulator.request_log if r.method != "GET")
        rerun = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
        if rerun.returncode == 1 and "another apply is changing this account" in rerun.stdout + rerun.stderr:
            # A killed apply cannot release its lock: the rerun names it, and `unlock` breaks it.
            [lock_id] = re.findall(r"klaviyo-sync unlock (\S+)`", rerun.stdout + rerun.stderr)
            broken = subprocess.run(
                [*CLI, "unlock", lock_id, "--base-url", served.base_url], env=_env(), capture_output=True, text=True
            )
            assert broken.returncode == 0, broken.stdout + broken.stderr
            rerun = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert not find_canary(rerun.stdout + rerun.stderr)
        assert writes_before > 0, f"kill point {point}: nothing was written before the kill"
        _assert_converged(served.emulator, root)
    assert killed_mid_apply >= KILL_POINTS // 2, "most kills must land while apply is still running"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_stops_new_work_and_reports_then_a_rerun_finishes(
    stop_signal: signal.Signals,
    tmp_path: Path,
    emulator_factory: Callable[[EmulatorConfig | None], Emulator],
    serve_emulator: Callable[[Emulator], ServedEmulator],
) -> None:
    root = write_project(tmp_path / "shop")
    served = serve_emulator(emulator_factory(EmulatorConfig(latency_ms=150)))
    args = [*CLI, "apply", str(root), "--auto-approve", "--base-url", served.base_url]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    # The first change (a tag group); the apply lock's marker block is written before it.
    while not any(r.operation_id == "create_tag_group" and r.status < 300 for r in served.emulator.request_log):
        assert process.poll() is None and time.monotonic() < deadline, "apply never started writing"
        time.sleep(0.005)
    process.send_signal(stop_signal)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Error: Apply interrupted" in output
    assert "Not attempted (" in output and "Applied (" in output
    assert "Traceback" not in output
    rerun = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_converged(served.emulator, root)


def _run_on_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run with stdin/stdout on a pseudo-terminal; type `answer` at the confirmation prompt."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(args, env=_env(), stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"Enter a value:" in output:
            os.write(controller, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    os.close(controller)
    return process.wait(timeout=30), output.decode("utf-8", "replace")


def test_on_a_terminal_it_applies_only_after_yes_typed_in_full(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root = write_project(tmp_path / "shop")
    args = [*CLI, "apply", str(root), "--base-url", emulator_server.base_url]
    code, output = _run_on_terminal(args, "y")
    assert code == 1 and "Apply cancelled: nothing was changed." in output, output
    assert not any(r.method != "GET" for r in emulator_server.emulator.request_log)
    code, output = _run_on_terminal(args, "yes")
    assert code == 0, output
    assert "Only 'yes' will be accepted." in output
    assert "\x1b[K[" in output and "] 18/18 " in output, "a progress bar, redrawn in place, counts the changes"
    assert "+ created " not in output, "on a terminal the bar replaces the line per change"
    assert "Apply complete: 18 created, 0 updated, 0 deleted." in output
    assert not find_canary(output)
    _assert_converged(emulator_server.emulator, root)

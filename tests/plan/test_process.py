"""`klaviyo-sync plan` as a real process: byte-identical output across interpreter runs, colour only on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plan.scenarios import load_cases, materialise
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.fixtures import ServedEmulator

CLI = [sys.executable, "-c", "from klaviyo_sync.cli import main; main()"]
CASES = {case.name: case for case in load_cases()}
TIMEOUT = 60


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    return {**env, "KLAVIYO_API_KEY": CANARY_KEY, **extra}


def _plan(server: ServedEmulator, path: Path, *args: str, hash_seed: str) -> str:
    result = subprocess.run(
        [*CLI, "plan", str(path), *args, "--base-url", server.base_url],
        env=_env(PYTHONHASHSEED=hash_seed),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode("utf-8")


def test_output_is_byte_identical_whatever_the_hash_seed(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    """Set and dict iteration that depended on string hashing would reorder output between runs."""
    path = materialise(CASES["replace-tag-group"], tmp_path, emulator_server.emulator).project_dir
    runs = []
    for seed in ("1", "2"):
        saved = tmp_path / f"plan-{seed}.json"
        markdown = _plan(emulator_server, path, "--format", "markdown", "--out", str(saved), hash_seed=seed)
        text = _plan(emulator_server, path, hash_seed=seed)
        runs.append((text, markdown, saved.read_bytes()))
    assert runs[0] == runs[1]
    text, markdown, saved = runs[0]
    assert '-/+ tag_group["Channel"]' in text and "> [!CAUTION]" in markdown and b'"action": "replace"' in saved


def _plan_on_a_terminal(server: ServedEmulator, path: Path, *args: str, **env: str) -> str:
    """Run plan with stdout on a pseudo-terminal and return what it printed there."""
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [*CLI, "plan", str(path), *args, "--base-url", server.base_url],
            env=_env(**env),
            stdin=subprocess.DEVNULL,
            stdout=secondary,
            stderr=subprocess.PIPE,
        )
        os.close(secondary)
        output = bytearray()
        while True:
            ready, _, _ = select.select([primary], [], [], TIMEOUT)
            assert ready, "plan printed nothing for a minute"
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closes when the process exits
                break
            if not chunk:
                break
            output += chunk
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr.decode()
    finally:
        os.close(primary)
    text = output.decode("utf-8")
    assert not find_canary(text)
    return text


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [((), {}, True), (("--no-color",), {}, False), ((), {"NO_COLOR": "1"}, False)],
    ids=["terminal", "--no-color", "NO_COLOR"],
)
def test_colour_only_on_a_terminal_unless_turned_off(
    args: tuple[str, ...], env: dict[str, str], coloured: bool, tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    path = materialise(CASES["update"], tmp_path, emulator_server.emulator).project_dir
    output = _plan_on_a_terminal(emulator_server, path, *args, **env)
    assert "Plan: 0 to create, 2 to update, 0 to delete." in output
    assert ("\x1b[" in output) is coloured

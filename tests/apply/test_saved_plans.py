"""Saved plans are easy to use: `show` prints one, `apply plan.json` finds its project from the plan (or --project),
and the command `plan --out` suggests works from where the user stands."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.projects import write_project

MANIFEST = """version: 1
vars: {ENV: staging}
lists:
  - name: Newsletter (${ENV})
templates:
  - name: Welcome
    html: welcome.html
"""


def project(root: Path) -> Path:
    return write_project(root, MANIFEST, {"welcome.html": "<p>Welcome {% unsubscribe %}</p>\n"})


def cli(server: ServedEmulator, *args: str) -> Result:
    return run_cli([*args, "--base-url", server.base_url])


def saved_plan(tmp_path: Path, server: ServedEmulator, *extra: str) -> tuple[Path, Path, str]:
    """A project, a plan of it saved elsewhere, and the hint `plan --out` printed."""
    root = project(tmp_path / "repo" / "klaviyo")
    out = tmp_path / "plans" / "plan.json"
    result = cli(server, "plan", str(root), "--out", str(out), *extra)
    assert result.exit_code == 0, result.stderr
    [hint] = re.findall(r"`(klaviyo-sync apply [^`]*)`", result.stderr)
    return root, out, hint


def test_show_prints_a_saved_plan_in_every_format(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root, out, _ = saved_plan(tmp_path, emulator_server)
    [account] = emulator_server.emulator.seed(CANARY_KEY, {"accounts": [{}]})["accounts"]

    text = run_cli(["show", str(out)])
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[:2] == [f"Project: {root.as_posix()}", f"Account: Emulated account ({account})"]
    assert '+ list["Newsletter (staging)"]' in text.stdout and '+ template["Welcome"]' in text.stdout
    assert "+ html: (" in text.stdout and "bytes, sha256 " in text.stdout  # content is held as a digest
    assert lines[-1] == "Plan: 2 to create, 0 to update, 0 to delete."

    markdown = run_cli(["show", str(out), "--format", "markdown"])
    assert markdown.stdout.startswith(f"### klaviyo-sync plan for Emulated account (`{account}`)\n\n**Plan: 2 to create")

    as_json = run_cli(["show", str(out), "--format", "json"])
    assert json.loads(as_json.stdout) == json.loads(out.read_text(encoding="utf-8"))
    assert emulator_server.emulator.request_counts(CANARY_KEY)["get_accounts"] == 1  # only the plan read the account


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "cannot read the saved plan"), ('{"format_version": 2}', "format version 2"), ("[]", "not a klaviyo-sync plan")],
)
def test_show_refuses_what_is_not_a_saved_plan(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    result = run_cli(["show", str(path)])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_apply_finds_the_project_from_the_plan_wherever_it_runs(
    tmp_path: Path, emulator_server: ServedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding: `apply plan.json` failed outside the project directory."""
    _, out, _ = saved_plan(tmp_path, emulator_server)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli(emulator_server, "apply", str(out))
    assert result.exit_code == 0, result.stderr
    assert "Apply complete: 2 created" in result.stdout
    assert json.loads(out.read_text(encoding="utf-8"))["project"] == "../repo/klaviyo"  # relative to the plan's folder


def test_a_plan_moved_away_from_its_project_says_where_it_looked(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root, out, _ = saved_plan(tmp_path, emulator_server)
    moved = tmp_path / "moved" / "deeper" / "plan.json"
    moved.parent.mkdir(parents=True)
    out.rename(moved)
    result = cli(emulator_server, "apply", str(moved))
    assert result.exit_code == 1
    assert "was made from the project at ../repo/klaviyo (relative to the plan's folder)" in result.stderr
    assert "--project" in result.stderr
    again = cli(emulator_server, "apply", str(moved), "--project", str(root))
    assert again.exit_code == 0, again.stderr  # --project says where it is now


def test_the_command_plan_out_suggests_works_from_where_the_user_stands(
    tmp_path: Path, emulator_server: ServedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project(tmp_path / "repo" / "klaviyo")
    result = cli(emulator_server, "plan", "repo/klaviyo", "--out", "plans/plan.json", "--var", "ENV=production")
    assert result.exit_code == 0, result.stderr
    [hint] = re.findall(r"`(klaviyo-sync apply [^`]*)`", result.stderr)
    words = shlex.split(hint)
    # The same variables and the same account; the project comes from the plan.
    assert words == [
        "klaviyo-sync",
        "apply",
        "plans/plan.json",
        "--var",
        "ENV=production",
        "--base-url",
        emulator_server.base_url,
    ]
    applied = run_cli(words[1:])
    assert applied.exit_code == 0, applied.stderr
    assert 'created list["Newsletter (production)"]' in applied.stdout

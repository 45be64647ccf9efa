"""`klaviyo-sync validate` through the real CLI: exit codes and the text, json and github formats."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from tests.manifest.helpers import HTML, write_project
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"


def example_projects() -> list[Path]:
    return sorted(path.parent for path in (REPO / "examples").rglob("klaviyo.yaml"))


@pytest.mark.parametrize("project", example_projects(), ids=lambda path: str(path.relative_to(REPO)))
def test_every_example_is_valid(project: Path) -> None:
    result = run_cli(["validate", str(project)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Valid: ")


def test_valid_project_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\ntag_groups:\n  - name: G\n    tags: [A]\nlists:\n  - name: L\n    tags: {G: A}\n"
            "templates:\n  - name: T\n    html: t.html\n",
            "t.html": HTML,
        },
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli(["validate"])
    assert result.exit_code == 0
    assert result.output == "Valid: 1 manifest file, 1 tag group, 1 tag, 1 list, 1 template.\n"
    result = run_cli(["validate", "--format", "json"])
    assert (result.exit_code, json.loads(result.output)) == (0, [])


def test_text_format_lists_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES / "klaviyo_tags_unbalanced"
    monkeypatch.chdir(case)
    result = run_cli(["validate", "."])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert result.stderr == "4 problems found.\n"


def test_paths_are_shown_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES)
    result = run_cli(["validate", "clone_from_itself"])
    assert result.exit_code == 1
    assert result.stdout == (
        'clone_from_itself/klaviyo.yaml:4:17: template "Welcome" is cloned from itself — name another template\n'
    )


def test_json_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "undeclared_tag_group")
    result = run_cli(["validate", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "file": "klaviyo.yaml",
            "line": 10,
            "column": 12,
            "message": 'list "Newsletter" uses tag group "Chanel", which is not declared',
            "hint": 'did you mean "Channel"?',
        }
    ]


def test_github_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES)
    result = run_cli(["validate", "safety_out_of_range", "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "::error file=safety_out_of_range/klaviyo.yaml,line=3,col=24::`safety.max_delete_fraction` must be between 0 and 1,"
        " not 30 — fractions are written 0.3 for 30%25",
        "::error file=safety_out_of_range/klaviyo.yaml,line=4,col=17::`safety.min_existing` must be at least 0, not -1 — write a number at least 0",
    ]


def test_var_option_supplies_a_missing_variable() -> None:
    case = CASES / "missing_variable"
    assert run_cli(["validate", str(case)]).exit_code == 1
    result = run_cli(["validate", str(case), "--var", "REGION_NAME=eu"])
    assert result.exit_code == 0, result.output


def test_environment_supplies_a_variable() -> None:
    result = run_cli(["validate", str(CASES / "missing_variable")], env={"REGION_NAME": "eu"})
    assert result.exit_code == 0, result.output


def test_malformed_var_is_a_usage_error() -> None:
    result = run_cli(["validate", str(CASES / "missing_variable"), "--var", "REGION_NAME"])
    assert result.exit_code == 1
    assert "Invalid value for --var: --var 'REGION_NAME' is not NAME=VALUE (e.g. --var ENV=production)" in result.output
    result = run_cli(["validate", str(CASES / "missing_variable"), "--var", "REGION-NAME=s3cret"])
    assert result.exit_code == 1
    assert "--var 'REGION-NAME' is not a variable name (names are letters, digits and _, e.g. ENV)" in result.output
    assert "s3cret" not in result.output


def test_missing_project_directory(tmp_path: Path) -> None:
    result = run_cli(["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert (
        result.stdout
        == f"{tmp_path / 'nope'}:1:1: {tmp_path / 'nope'} does not exist — pass the project directory or its klaviyo.yaml\n"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_api_key_variable_is_refused_without_printing_the_key() -> None:
    # The suite's canary key is in KLAVIYO_API_KEY; run_cli fails the test if it shows up in the output.
    result = run_cli(["validate", str(CASES / "api_key_variable")])
    assert result.exit_code == 1
    assert "`${KLAVIYO_API_KEY}` cannot be used in manifests" in result.stdout


def case_dirs() -> list[Path]:
    return sorted(path for path in CASES.iterdir() if path.is_dir())


@pytest.mark.parametrize("case", case_dirs(), ids=lambda path: path.name)
def test_json_format_carries_every_problem_of_each_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    result = run_cli(["validate", "--format", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert [
        f"{p['file']}:{p['line']}:{p['column']}: {p['message']} — {p['hint']}" + (f" [{p['rule']}]" if "rule" in p else "")
        for p in problems
    ] == (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert all(p["hint"] for p in problems), "every problem says how to fix it"


_network: list[str] | None = None


def _audit_network(event: str, args: tuple[object, ...]) -> None:
    if _network is not None and event.startswith("socket."):
        _network.append(event)


sys.addaudithook(_audit_network)


def test_validate_never_touches_the_network() -> None:
    """No socket is created, resolved or connected, whatever the manifests say (audit events cover every way in)."""
    global _network
    _network = []
    try:
        for project in [*example_projects(), *case_dirs()]:
            run_cli(["validate", str(project), "--format", "json"])
        run_cli(["validate", str(CASES / "missing_variable"), "--var", "REGION_NAME=eu", "--format", "github"])
    finally:
        events, _network = _network, None
    assert events == []
    _network = []
    try:
        socket.socket().close()
    finally:
        events, _network = _network, None
    assert "socket.__new__" in events, "the audit hook sees sockets"


def test_validate_accepts_the_root_file_itself() -> None:
    result = run_cli(["validate", str(CASES / "clone_from_itself" / "klaviyo.yaml"), "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.endswith(
        '/clone_from_itself/klaviyo.yaml,line=4,col=17::template "Welcome" is cloned from itself — name another template\n'
    )


def test_a_lone_surrogate_is_a_located_problem_for_validate_plan_and_apply(tmp_path: Path) -> None:
    (tmp_path / "klaviyo.yaml").write_text('version: 1\nlists:\n  - name: "News\\ud800"\n', encoding="utf-8")
    for args in (
        ["validate", str(tmp_path)],
        ["plan", str(tmp_path), "--emulator", "--emulator-state", str(tmp_path / "s.json")],
    ):
        result = run_cli(args)
        assert result.exit_code == 1, result.output
        assert "klaviyo.yaml:3:11: `News\\ud800` is not valid Unicode (a lone surrogate)" in result.output + result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_project_path_that_is_not_valid_utf8_is_named_without_a_crash(tmp_path: Path) -> None:
    import os

    project = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"shop\xff")))
    project.mkdir()
    (project / "klaviyo.yaml").write_text("version: 1\nlists: [{name: A, unknown: 1}]\n", encoding="utf-8")
    result = run_cli(["validate", str(project)])
    assert result.exit_code == 1 and "unknown key `unknown`" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

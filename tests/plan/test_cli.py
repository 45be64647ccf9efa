"""`klaviyo-sync plan` end to end: the real CLI against an emulator served on 127.0.0.1."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from klaviyo_sync.commands.common import use_color
from klaviyo_sync.plan import plan_from_json
from tests.plan.scenarios import load_cases, materialise
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

CASES = {case.name: case for case in load_cases()}


def project(name: str, tmp_path: Path, server: ServedEmulator) -> Path:
    """Write a scenario's project and seed its account into the served emulator."""
    return materialise(CASES[name], tmp_path, server.emulator).project_dir


def plan(server: ServedEmulator, *args: str) -> tuple[int, str, str]:
    result = run_cli(["plan", *args, "--base-url", server.base_url])
    return result.exit_code, result.stdout, result.stderr


def test_changes_are_shown_and_only_read(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("update", tmp_path, emulator_server)
    code, out, err = plan(emulator_server, str(path))
    assert code == 0, err
    assert '~ template["Welcome Email"]' in out and "+<p>Hello {{ first_name }}</p>" in out
    assert out.rstrip().endswith("Plan: 0 to create, 2 to update, 0 to delete.")
    assert "\x1b[" not in out  # not a terminal: no colour
    assert {record.method for record in emulator_server.emulator.request_log} == {"GET"}


def test_detailed_exitcode(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    changed = project("update", tmp_path, emulator_server)
    assert plan(emulator_server, str(changed), "--detailed-exitcode")[0] == 2
    emulator_server.emulator.reset()
    same = project("no-op", tmp_path / "other", emulator_server)
    code, out, _ = plan(emulator_server, str(same), "--detailed-exitcode")
    assert code == 0 and "No changes. The account matches the manifests." in out


def test_json_format_validates_and_out_saves_a_reloadable_plan(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("create-everything", tmp_path, emulator_server)
    saved = tmp_path / "plans" / "plan.json"
    code, out, err = plan(emulator_server, str(path), "--format", "json", "--out", str(saved))
    assert code == 0, err
    schema = json.loads(resources.files("klaviyo_sync.schemas").joinpath("plan.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(out))
    assert json.loads(saved.read_text("utf-8")) == json.loads(out)
    assert CANARY_KEY not in saved.read_text("utf-8")
    assert "Saved the plan to" in err
    reloaded = plan_from_json(json.loads(saved.read_text("utf-8")))
    assert [c.action.value for c in reloaded.changes][:2] == ["create", "create"]
    assert set(reloaded.manifest_hashes) == {"klaviyo.yaml", "welcome.html", "welcome.txt", "welcome-fr.html"}


def test_markdown_format(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("prune-on", tmp_path, emulator_server)
    code, out, _ = plan(emulator_server, str(path), "--format", "markdown")
    assert code == 0
    account = emulator_server.emulator.seed(CANARY_KEY, {"accounts": [{"organization_name": "Acme [Staging]"}]})["accounts"][0]
    code, out, _ = plan(emulator_server, str(path), "--format", "markdown")
    assert out.startswith(
        f"### klaviyo-sync plan for Acme \\[Staging\\] (`{account}`)\n\n**Plan: 0 to create, 0 to update, 4 to delete.**"
    )
    assert "> [!CAUTION]" in out


def test_verbose_lists_unmanaged_objects(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("prune-off", tmp_path, emulator_server)
    _, quiet, _ = plan(emulator_server, str(path))
    assert "5 live objects are outside the managed scope and left untouched (-v lists them)." in quiet
    _, verbose, _ = plan(emulator_server, str(path), "-v")
    assert 'template["Retired"] (id ' in verbose


def test_refused_plan_exits_1_with_the_manifest_line(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("prevent-destroy", tmp_path, emulator_server)
    code, out, err = plan(emulator_server, str(path), "--detailed-exitcode")
    assert code == 1 and "Traceback" not in err
    refusal, problem = out.splitlines()[:2]
    assert refusal == "The plan was refused by its safety checks; nothing will be applied:"
    assert problem.endswith(
        'klaviyo.yaml:3:5: tag_group["Channel"] has prevent_destroy, but this plan replaces it (exclusive cannot change in place)'
    )
    assert err == "Error: the plan was refused (1 problem, listed at its top): nothing will be applied\n"


def test_threshold_needs_force(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("threshold-refused", tmp_path, emulator_server)
    code, out, err = plan(emulator_server, str(path))
    assert code == 1 and "run again with --force" in out and "refused" in err
    code, out, _ = plan(emulator_server, str(path), "--force")
    assert code == 0 and "! --force: this plan would update 4 of 10 managed templates" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nonsense"], "is not KIND:NAME"),
        (["--target", "template:Nope"], "matches no declared or live template"),
        (["--var", "NOEQUALS"], "is not NAME=VALUE"),
    ],
)
def test_bad_options_are_clear_errors(args: list[str], message: str, tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("update", tmp_path, emulator_server)
    code, _, err = plan(emulator_server, str(path), *args)
    assert code == 1 and message in err and "Traceback" not in err


def test_invalid_manifest_is_the_error_reported_and_nothing_is_written(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    # The account is read while the manifests load (klaviyo_sync/inputs.py), so reads may have left already; the
    # manifest problem is still the one reported, and the account is only ever read.
    (tmp_path / "klaviyo.yaml").write_text("version: 1\ntemplates:\n  - name: A\n    html: missing.html\n", encoding="utf-8")
    code, _, err = plan(emulator_server, str(tmp_path))
    assert code == 1 and "klaviyo.yaml:4:" in err and "missing.html" in err
    assert {record.method for record in emulator_server.emulator.request_log} <= {"GET"}


def test_unwritable_out_is_a_clear_error(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("update", tmp_path, emulator_server)
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = plan(emulator_server, str(path), "--out", str(blocker / "plan.json"))
    assert code == 1 and "cannot write the plan" in err


def test_colour_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(no_color=False)
    assert not use_color(no_color=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(no_color=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    monkeypatch.delenv("NO_COLOR")
    assert not use_color(no_color=False)


def test_help_reads_well() -> None:
    result = run_cli(["plan", "--help"])
    assert result.exit_code == 0
    for option in ("--format", "--out", "--detailed-exitcode", "--target", "--force", "--no-color", "--var", "Examples:"):
        assert option in result.output


def test_target_limits_the_plan(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = project("create-everything", tmp_path, emulator_server)
    code, out, _ = plan(emulator_server, str(path), "--target", "tag:Lifecycle/VIP", "--target", "template:Welcome Email")
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("  + ") and "[" in line] == [
        '  + tag_group["Lifecycle"]',
        '  + tag["Lifecycle"/"VIP"]',
        '  + template["Welcome Email"]',
    ]

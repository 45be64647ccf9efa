"""Which account a run touches: read once, named by every plan and apply, pinned by `account:`, and recorded by
saved plans, so a staging plan is never applied to production.

Two emulated accounts stand for staging and production: each key opens its own (tests/emulator/test_accounts.py).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.projects import write_project

STAGING_KEY = CANARY_KEY
PRODUCTION_KEY = "pk_production_account_0002"
MANIFEST = """version: 1
{pin}lists:
  - name: Newsletter
templates:
  - name: Welcome
    html: welcome.html
"""
WELCOME = "<p>Welcome {% unsubscribe %}</p>\n"


def accounts(server: ServedEmulator) -> tuple[str, str]:
    """Name both accounts; returns (staging id, production id)."""
    [staging] = server.emulator.seed(STAGING_KEY, {"accounts": [{"organization_name": "Acme Staging"}]})["accounts"]
    [production] = server.emulator.seed(PRODUCTION_KEY, {"accounts": [{"organization_name": "Acme Production"}]})["accounts"]
    return staging, production


def project(root: Path, pin: str = "") -> Path:
    return write_project(root, MANIFEST.format(pin=pin), {"welcome.html": WELCOME})


def cli(server: ServedEmulator, key: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return run_cli([*args, "--base-url", server.base_url], env={"KLAVIYO_API_KEY": key, **(env or {})})


def operations(server: ServedEmulator, key: str) -> Counter[str]:
    return Counter(server.emulator.request_counts(key))


def test_text_and_markdown_plans_name_the_account(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    staging, _ = accounts(emulator_server)
    root = project(tmp_path / "project")
    text = cli(emulator_server, STAGING_KEY, "plan", str(root))
    assert text.exit_code == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"Account: Acme Staging ({staging})"
    markdown = cli(emulator_server, STAGING_KEY, "plan", str(root), "--format", "markdown")
    assert markdown.stdout.startswith(f"### klaviyo-sync plan for Acme Staging (`{staging}`)\n")
    data = json.loads(cli(emulator_server, STAGING_KEY, "plan", str(root), "--format", "json").stdout)
    assert data["account"] == {"id": staging, "name": "Acme Staging"}
    assert operations(emulator_server, STAGING_KEY)["get_accounts"] == 3  # once per run


def test_another_key_plans_against_its_own_account_and_says_so(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    """The finding: a different valid key planned silently against another account."""
    _, production = accounts(emulator_server)
    result = cli(emulator_server, PRODUCTION_KEY, "plan", str(project(tmp_path / "project")))
    assert result.exit_code == 0
    assert f"Account: Acme Production ({production})" in result.stdout


def test_an_account_pin_refuses_another_key_before_anything_else_is_read(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    staging, production = accounts(emulator_server)
    # The pin is a variable, as for staging and production; welcome.html is missing, so loading the manifests fails.
    root = write_project(tmp_path / "project", MANIFEST.format(pin="account: ${KLAVIYO_ACCOUNT}\n"), {})
    result = cli(emulator_server, PRODUCTION_KEY, "plan", str(root), env={"KLAVIYO_ACCOUNT": staging})
    assert result.exit_code == 1
    error, hint = result.stderr.rstrip("\n").split("\n")
    assert error == (
        f"Error: {root}/klaviyo.yaml:2:10: the manifests are pinned to account {staging}, but this API key opens account "
        f"Acme Production ({production}); nothing was read"
    )
    assert hint.startswith(f"  hint: use the key of account {staging}")
    assert "welcome.html" not in result.stderr  # the manifests were not loaded
    assert [record.operation_id for record in emulator_server.emulator.request_log if record.account] == ["get_accounts"]

    (root / "welcome.html").write_text(WELCOME, encoding="utf-8")
    right = cli(emulator_server, STAGING_KEY, "plan", str(root), "--var", f"KLAVIYO_ACCOUNT={staging}")
    assert right.exit_code == 0 and f"Account: Acme Staging ({staging})" in right.stdout


@pytest.mark.parametrize("spelled", ['"\\x61ccount"', '"acc\\u006Funt"', "account"])
def test_a_pin_is_read_however_its_key_is_spelled(tmp_path: Path, spelled: str, emulator_server: ServedEmulator) -> None:
    """The pin is looked for only in a root manifest that could spell it: its letters, or an escape."""
    staging, _ = accounts(emulator_server)
    root = project(tmp_path / "project", f"{spelled}: {staging}\n")
    result = cli(emulator_server, PRODUCTION_KEY, "plan", str(root))
    assert result.exit_code == 1
    assert f"the manifests are pinned to account {staging}" in result.stderr


def test_a_malformed_pin_is_a_located_manifest_problem_that_never_shows_the_value(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    accounts(emulator_server)
    root = project(tmp_path / "project", "account: pk_live_pasted_by_mistake_1234\n")
    result = cli(emulator_server, STAGING_KEY, "plan", str(root))
    assert result.exit_code == 1
    assert f"{root}/klaviyo.yaml:2:10: `account` must be the account's id: 6 letters and digits" in result.stderr
    assert "pk_live_pasted" not in result.stderr + result.stdout
    assert emulator_server.emulator.request_log == []  # refused before any request


def test_a_staging_plan_applied_with_the_production_key_is_refused_naming_both(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    """The finding: neither account holds a managed object yet, so nothing else would have stopped it."""
    staging, production = accounts(emulator_server)
    root = project(tmp_path / "project")
    saved = tmp_path / "plan.json"
    made = cli(emulator_server, STAGING_KEY, "plan", str(root), "--out", str(saved))
    assert made.exit_code == 0, made.stderr
    assert json.loads(saved.read_text(encoding="utf-8"))["account"] == {"id": staging, "name": "Acme Staging"}

    before = operations(emulator_server, PRODUCTION_KEY)
    applied = cli(emulator_server, PRODUCTION_KEY, "apply", str(saved), "--project", str(root))
    assert applied.exit_code == 1
    assert (
        f"the saved plan {saved} was made against account Acme Staging ({staging}), but this API key opens account "
        f"Acme Production ({production}); nothing was read or changed"
    ) in applied.stderr
    assert operations(emulator_server, PRODUCTION_KEY) - before == Counter({"get_accounts": 1})

    ok = cli(emulator_server, STAGING_KEY, "apply", str(saved), "--project", str(root))
    assert ok.exit_code == 0, ok.stderr
    assert f"to apply to Acme Staging ({staging})" in ok.stdout


@pytest.mark.parametrize("saved", [False, True], ids=["interactive", "saved-plan"])
def test_apply_names_the_account_and_reads_it_once(tmp_path: Path, emulator_server: ServedEmulator, saved: bool) -> None:
    staging, _ = accounts(emulator_server)
    root = project(tmp_path / "project")
    target = [str(root)]
    if saved:
        assert cli(emulator_server, STAGING_KEY, "plan", str(root), "--out", str(tmp_path / "plan.json")).exit_code == 0
        target = [str(tmp_path / "plan.json")]
    before = operations(emulator_server, STAGING_KEY)["get_accounts"]
    result = cli(emulator_server, STAGING_KEY, "apply", *target, "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["account"] == {"id": staging, "name": "Acme Staging"}
    assert f"Acme Staging ({staging})" in result.stderr  # the plan or the saved plan's line, shown on stderr with json
    assert operations(emulator_server, STAGING_KEY)["get_accounts"] - before == 1


def test_a_key_without_accounts_read_is_told_which_scope(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator_server.emulator.key_scopes.set(STAGING_KEY, ["templates:read", "lists:read", "tags:read", "flows:read"])
    result = cli(emulator_server, STAGING_KEY, "plan", str(project(tmp_path / "project")))
    assert result.exit_code == 1
    assert "get_accounts" in result.stderr and "accounts:read" in result.stderr

"""HTML structure checks in plan and apply: every file that would change the account is checked; a file whose HTML
is already live cannot change what the plan does, so only `validate` reports it (and loading stays fast)."""

from __future__ import annotations

from pathlib import Path

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

BROKEN = "<html><body><div><p>Hello {{ first_name }}</p></body></html>\n"  # the <div> is never closed
FINE = "<html><body><p>Hello {{ first_name }}</p></body></html>\n"


def _project(root: Path, html: str) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "welcome.html").write_text(html, encoding="utf-8")
    (root / "klaviyo.yaml").write_text(
        "version: 1\ntemplates:\n  - name: Welcome\n    html: templates/welcome.html\n", encoding="utf-8"
    )
    return root


def test_broken_html_that_would_change_the_account_stops_plan_and_apply(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator_server.emulator.seed(CANARY_KEY, {"templates": [{"name": "Welcome", "editor_type": "CODE", "html": FINE}]})
    path = _project(tmp_path / "project", BROKEN)
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run_cli([*command, str(path), "--base-url", emulator_server.base_url])
        assert result.exit_code == 1, result.output
        assert "templates/welcome.html:1:13: `<div>` is not closed before `</body>`" in result.stderr
        assert "Traceback" not in result.output
    assert {record.method for record in emulator_server.emulator.request_log} == {"GET"}


def test_broken_html_already_live_plans_empty_and_validate_still_reports_it(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    emulator_server.emulator.seed(CANARY_KEY, {"templates": [{"name": "Welcome", "editor_type": "CODE", "html": BROKEN}]})
    path = _project(tmp_path / "project", BROKEN)
    planned = run_cli(["plan", str(path), "--base-url", emulator_server.base_url, "--detailed-exitcode"])
    assert planned.exit_code == 0, planned.output
    assert "No changes." in planned.stdout
    validated = run_cli(["validate", str(path)])
    assert validated.exit_code == 1
    assert "`<div>` is not closed before `</body>`" in validated.output

"""A saved plan is a contract: `apply PLAN.json` derives the plan again and refuses a file that is not that plan.

Each tampering below was once applied as written (a delete added by hand removed a `prevent_destroy` list; edited
HTML went live before the run complained). Now each is refused before any write, and content always comes from
the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.apply.sdk_reader import read_account
from tests.apply.support import SHOP_FILES, SHOP_MANIFEST, write_project
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

# After the first apply, the reviewed change: Welcome Email gets new HTML; Newsletter must never be destroyed.
GUARDED = SHOP_MANIFEST.replace(
    "  - name: Newsletter\n    opt_in_process: double_opt_in\n",
    "  - name: Newsletter\n    opt_in_process: double_opt_in\n    prevent_destroy: true\n",
)
REVIEWED_HTML = "<html><body><h1>Welcome aboard {{ first_name|default:'friend' }}</h1></body></html>\n"


def _writes(server: ServedEmulator, start: int) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.emulator.request_log[start:] if r.method != "GET"]


def _reviewed_plan(tmp_path: Path, server: ServedEmulator) -> tuple[Path, Path, dict[str, Any]]:
    root = write_project(tmp_path / "shop", GUARDED)
    assert run_cli(["apply", str(root), "--auto-approve", "--base-url", server.base_url]).exit_code == 0
    write_project(root, GUARDED, {**SHOP_FILES, "templates/welcome.html": REVIEWED_HTML})
    plan_file = tmp_path / "plan.json"
    result = run_cli(["plan", str(root), "--out", str(plan_file), "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    return root, plan_file, json.loads(plan_file.read_text(encoding="utf-8"))


def _tamper(data: dict[str, Any], how: str) -> None:
    [change] = data["changes"]
    assert change["address"] == 'template["Welcome Email"]' and change["action"] == "update"
    if how == "an added delete":
        data["changes"].insert(
            0,
            {
                "address": 'list["Newsletter"]',
                "action": "delete",
                "kind": "list",
                "key": ["Newsletter"],
                "reason": "not in the manifests (lists are pruned)",
                "replace_mode": None,
                "fields": [],
                "desired": None,
                "live": {"kind": "list", "key": ["Newsletter"], "address": 'list["Newsletter"]', "attrs": {}},
            },
        )
    elif how == "changed content":
        [html] = [f for f in change["fields"] if f["field"] == "html"]
        html["new"] = "<html><body>Edited after review</body></html>\n"
    elif how == "a changed digest":
        [html] = [f for f in change["fields"] if f["field"] == "html"]
        html["new"]["sha256"] = "0" * 64
    elif how == "a removed prevent_destroy":
        data["changes"].append(
            {
                "address": 'list["Newsletter"]',
                "action": "update",
                "kind": "list",
                "key": ["Newsletter"],
                "reason": "opt_in_process differs",
                "replace_mode": None,
                "fields": [
                    {"field": "opt_in_process", "old": "double_opt_in", "new": "single_opt_in", "forces_replacement": False}
                ],
                "desired": {"kind": "list", "key": ["Newsletter"], "address": 'list["Newsletter"]', "attrs": {}},
                "live": {"kind": "list", "key": ["Newsletter"], "address": 'list["Newsletter"]', "attrs": {}},
            }
        )
    elif how == "a dropped change":
        data["changes"].clear()


@pytest.mark.parametrize(
    "how", ["an added delete", "changed content", "a changed digest", "a removed prevent_destroy", "a dropped change"]
)
def test_a_tampered_saved_plan_is_refused_before_any_write(how: str, tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root, plan_file, data = _reviewed_plan(tmp_path, emulator_server)
    _tamper(data, how)
    plan_file.write_text(json.dumps(data), encoding="utf-8")
    before = read_account(emulator_server.base_url, CANARY_KEY)
    start = len(emulator_server.emulator.request_log)
    result = run_cli(["apply", str(plan_file), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 1, result.output
    assert "Saved plan is not the plan the manifests and the account call for, so nothing was changed" in result.stderr
    assert "Apply complete" not in result.output
    assert _writes(emulator_server, start) == []
    assert read_account(emulator_server.base_url, CANARY_KEY) == before


def test_the_untouched_saved_plan_applies_with_content_from_the_project(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root, plan_file, _data = _reviewed_plan(tmp_path, emulator_server)
    assert REVIEWED_HTML not in plan_file.read_text(encoding="utf-8")  # the file holds a digest, never the content
    result = run_cli(["apply", str(plan_file), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "The saved plan is current: 1 change(s) to apply to Emulated account (" in result.output
    account = read_account(emulator_server.base_url, CANARY_KEY)
    assert account["templates"]["Welcome Email"][1] == REVIEWED_HTML


def test_a_saved_plan_is_derived_again_with_its_targets(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root = write_project(tmp_path / "shop")
    plan_file = tmp_path / "plan.json"
    target = ["--target", "template:Order Confirmation"]
    result = run_cli(["plan", str(root), *target, "--out", str(plan_file), "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    data = json.loads(plan_file.read_text(encoding="utf-8"))
    assert data["targets"] == ["template:Order Confirmation"] and data["force"] is False
    result = run_cli(["apply", str(plan_file), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "The saved plan is current: 1 change(s) to apply to Emulated account (" in result.output
    assert set(read_account(emulator_server.base_url, CANARY_KEY)["templates"]) == {"Order Confirmation"}

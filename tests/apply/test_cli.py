"""`klaviyo-sync apply` end to end: the real CLI against the emulator served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.apply.sdk_reader import read_account
from tests.apply.support import SHOP_FILES, SHOP_MANIFEST, write_project
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.clients import emulator_client
from tests.support.fixtures import ServedEmulator

# What the SHOP manifest declares, as the SDK reports it (plus Klaviyo's default group).
EXPECTED_ACCOUNT = {
    "counts": {"tag_groups": 3, "tags": 5, "lists": 3, "templates": 3},
    "tag_groups": {"Default": False, "Lifecycle": False, "Channel": True},
    "tags": {("Lifecycle", "Welcome"), ("Lifecycle", "Winback"), ("Lifecycle", "VIP"), ("Channel", "Email"), ("Channel", "SMS")},
    "lists": {
        "Newsletter": ("double_opt_in", {("Lifecycle", "Welcome"), ("Channel", "Email")}),
        "VIP Customers": ("single_opt_in", {("Lifecycle", "VIP"), ("Lifecycle", "Winback")}),
        "SMS Subscribers": ("double_opt_in", {("Channel", "SMS")}),  # the account's default opt-in process
    },
    "templates": {
        "Welcome Email": ("CODE", SHOP_FILES["templates/welcome.html"], SHOP_FILES["templates/welcome.txt"]),
        "Order Confirmation": ("CODE", SHOP_FILES["templates/order.html"], None),
        # The clone keeps the source's text; the manifest gives only new HTML.
        "Welcome Email (FR)": ("CODE", SHOP_FILES["templates/welcome-fr.html"], SHOP_FILES["templates/welcome.txt"]),
    },
}


def writes_since(emulator: Emulator, start: int) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.request_log[start:] if r.method != "GET"]


def test_apply_builds_the_account_and_the_official_sdk_confirms_it(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root = write_project(tmp_path / "shop")
    result = run_cli(["apply", str(root), "--auto-approve", "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "Plan: 18 to create, 0 to update, 0 to delete." in result.output
    assert result.output.rstrip().endswith("Apply complete: 18 created, 0 updated, 0 deleted.")
    assert '+ created template["Welcome Email"] (id ' in result.output  # one line per change without a terminal
    assert read_account(emulator_server.base_url, CANARY_KEY) == EXPECTED_ACCOUNT
    again = run_cli(["apply", str(root), "--auto-approve", "--base-url", emulator_server.base_url])
    assert again.exit_code == 0 and "No changes." in again.output and "Apply complete" not in again.output


def test_without_a_terminal_or_auto_approve_it_refuses_before_any_write(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root = write_project(tmp_path / "shop")
    result = run_cli(["apply", str(root), "--base-url", emulator_server.base_url], input="yes\n")
    assert result.exit_code == 1
    assert "apply needs confirmation, but there is no terminal to ask on" in result.output
    assert "--auto-approve" in result.output
    assert writes_since(emulator_server.emulator, 0) == []


def test_json_format_reports_what_was_applied_with_ids(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root = write_project(tmp_path / "shop")
    result = run_cli(["apply", str(root), "--auto-approve", "--format", "json", "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "applied" and data["verified"] is True
    assert data["summary"] == {"created": 18, "updated": 0, "deleted": 0}
    created = {item["address"]: item["id"] for item in data["applied"]}
    assert len(created) == 18 and all(created.values())
    assert created['list_tag["Newsletter"/"Channel"/"Email"]'].count(":") == 1  # LISTID:TAGID
    assert '+ created template["Welcome Email"]' in result.stderr  # progress and plan go to stderr
    again = run_cli(["apply", str(root), "--auto-approve", "--format", "json", "--base-url", emulator_server.base_url])
    assert json.loads(again.stdout)["status"] == "no_changes"


def test_a_failure_prints_applied_failed_and_not_attempted_and_exits_1(
    tmp_path: Path, emulator_factory: object, serve_emulator: object
) -> None:
    state_file = tmp_path / "account.json"
    root = write_project(tmp_path / "shop")
    first = serve_emulator(emulator_factory(EmulatorConfig(state_file=state_file)))  # type: ignore[operator]
    assert run_cli(["apply", str(root), "--auto-approve", "--base-url", first.base_url]).exit_code == 0
    write_project(
        root,
        SHOP_MANIFEST.replace("double_opt_in", "single_opt_in")
        .replace("[Welcome, Winback, VIP]", "[Welcome, Winback, VIP, Loyal]")
        .replace("tags: {Lifecycle: [Welcome], Channel: Email}", "tags: {Lifecycle: [Welcome, Loyal], Channel: Email}"),
    )
    failing = serve_emulator(emulator_factory(EmulatorConfig(state_file=state_file, faults="update_list:error=501")))  # type: ignore[operator]
    result = run_cli(["apply", str(root), "--auto-approve", "--base-url", failing.base_url])
    assert result.exit_code == 1
    out = result.output
    assert "Applied (1):" in out and 'created tag["Lifecycle"/"Loyal"]' in out
    assert "Failed (1):" in out and 'update list["Newsletter"]: Klaviyo answered HTTP 501 to update_list' in out
    assert "Not attempted (1):" in out and 'link list_tag["Newsletter"/"Lifecycle"/"Loyal"]' in out
    assert "Error: Apply stopped after 1 failure(s)" in out
    assert "hint: run `klaviyo-sync plan` to see the remaining work" in out
    as_json = run_cli(["apply", str(root), "--auto-approve", "--format", "json", "--base-url", failing.base_url])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["status"] == "failed" and data["verified"] is False
    [failed] = data["failed"]
    assert failed["address"] == 'list["Newsletter"]' and failed["error"]["status"] == 501
    assert failed["error"]["operation"] == "update_list" and "HTTP 501" in failed["error"]["explanation"]
    assert [item["address"] for item in data["not_attempted"]] == ['list_tag["Newsletter"/"Lifecycle"/"Loyal"]']


# -- saved plans --------------------------------------------------------------------------------------------------


def _save_plan(root: Path, base_url: str, out: Path) -> None:
    result = run_cli(["plan", str(root), "--out", str(out), "--base-url", base_url])
    assert result.exit_code == 0, result.output


def test_a_saved_plan_applies_without_asking(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    root = write_project(tmp_path / "shop")
    plan_file = tmp_path / "plan.json"
    _save_plan(root, emulator_server.base_url, plan_file)
    result = run_cli(["apply", str(plan_file), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "The saved plan is current: 18 change(s) to apply to Emulated account (" in result.output
    assert "Apply complete: 18 created, 0 updated, 0 deleted." in result.output
    assert read_account(emulator_server.base_url, CANARY_KEY) == EXPECTED_ACCOUNT


# The reviewed change: a new template, declared in an included file.
EDIT_MANIFEST = SHOP_MANIFEST.replace("version: 1\n", "version: 1\ninclude: [manifests/*.yaml]\n")
EDIT_FILES = {
    **SHOP_FILES,
    "manifests/shipping.yaml": "templates:\n  - name: Shipping Update\n    html: ../templates/shipping.html\n",
    "templates/shipping.html": "<p>Shipped</p>\n",
}


async def _edit_live(emulator: Emulator, change: str) -> None:
    async with emulator_client(emulator) as client:
        if change == "live edit":
            [template_id] = await client.find_ids_by_name(_kind("template"), "Welcome Email")
            await client.update_template(template_id, {"html": "<p>edited in the Klaviyo UI</p>"})
        elif change == "live delete":
            [list_id] = await client.find_ids_by_name(_kind("list"), "SMS Subscribers")
            await client.delete_list(list_id)
        elif change == "live create":
            await client.create_template({"name": "Shipping Update", "editor_type": "CODE", "html": "<p>made by hand</p>"})


def _kind(name: str):  # type: ignore[no-untyped-def]
    from klaviyo_sync.resources import Kind

    return Kind(name)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("manifest edit", "templates/order.html was edited"),
        ("manifest added", "manifests/extra.yaml was added"),
        ("live edit", 'template["Welcome Email"] (id '),
        ("live delete", "list (id "),
        ("live create", 'template["Shipping Update"] (id '),
    ],
)
def test_a_stale_saved_plan_is_refused_before_any_write(
    change: str, expected: str, tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    base_url = emulator_server.base_url
    root = write_project(tmp_path / "shop")
    assert run_cli(["apply", str(root), "--auto-approve", "--base-url", base_url]).exit_code == 0
    write_project(root, EDIT_MANIFEST, EDIT_FILES)
    plan_file = tmp_path / "plan.json"
    _save_plan(root, base_url, plan_file)
    if change == "manifest edit":
        (root / "templates/order.html").write_text("<p>edited after review</p>\n", encoding="utf-8")
    elif change == "manifest added":
        (root / "manifests/extra.yaml").write_text("lists:\n  - name: Extra\n", encoding="utf-8")
    else:
        asyncio.run(_edit_live(emulator_server.emulator, change))
    start = len(emulator_server.emulator.request_log)
    result = run_cli(["apply", str(plan_file), "--project", str(root), "--base-url", base_url])
    assert result.exit_code == 1
    assert "Error: Saved plan is stale: " in result.output and expected in result.output
    assert "hint: run `klaviyo-sync plan --out FILE` again" in result.output
    assert writes_since(emulator_server.emulator, start) == []


@pytest.mark.parametrize("damage", ["desired is text", "fields is a number", "nested 100,000 deep"])
def test_a_damaged_saved_plan_is_a_clear_error_before_any_request(
    damage: str, tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    root = write_project(tmp_path / "shop")
    plan_file = tmp_path / "plan.json"
    _save_plan(root, emulator_server.base_url, plan_file)
    data = json.loads(plan_file.read_text(encoding="utf-8"))
    if damage == "desired is text":
        data["changes"][0]["desired"] = "x"
        plan_file.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "fields is a number":
        data["changes"][0]["fields"] = 5
        plan_file.write_text(json.dumps(data), encoding="utf-8")
    else:
        plan_file.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    start = len(emulator_server.emulator.request_log)
    result = run_cli(["apply", str(plan_file), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert result.stderr.startswith("Error: the ") and " is damaged" in result.stderr
    assert "Traceback" not in result.output
    assert emulator_server.emulator.request_log[start:] == []

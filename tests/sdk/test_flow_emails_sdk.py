"""Flow emails end to end, with Klaviyo's official SDK (klaviyo-api 24.0.0) as the independent client: it seeds a
live flow whose email sends an old copy, and reads back what the real CLI's plan and apply did to it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from klaviyo_api import KlaviyoAPI

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.flows import welcome_definition
from tests.support.projects import write_project as write

OLD_HTML = "<p>Welcome! {% unsubscribe %}</p>\n"
NEW_HTML = "<p>Welcome to the shop, {{ first_name|default:'friend' }}! {% unsubscribe %}</p>\n"
INLINE_HTML = "<p>Still thinking about it? {% unsubscribe %}</p>\n"

MANIFEST = """\
version: 1
templates:
  - name: Welcome Email
    html: templates/welcome.html
flows:
  - name: Welcome Series
    emails:
      - name: "Email #1"
        template: Welcome Email
        subject_line: Welcome to the shop
"""


def sdk_for(server: ServedEmulator) -> KlaviyoAPI:
    return KlaviyoAPI(CANARY_KEY, max_delay=0, max_retries=0, test_host=server.base_url)


def plain(answer: Any) -> dict[str, Any]:
    return answer if isinstance(answer, dict) else answer.to_dict()


def seed_live_flow(sdk: KlaviyoAPI, emails: list[str]) -> tuple[str, dict[str, str]]:
    """A live, list-triggered flow whose emails send copies of an old library template; returns the flow id and
    each email's action id by name."""
    body = {"data": {"type": "template", "attributes": {"name": "Welcome (old)", "editor_type": "CODE", "html": OLD_HTML}}}
    old = str(sdk.Templates.create_template(body).data.id)
    list_id = sdk.Lists.create_list({"data": {"type": "list", "attributes": {"name": "Newsletter"}}}).data.id
    definition = welcome_definition(list_id, [(name, old) for name in emails], status="live")
    flow = sdk.Flows.create_flow({"data": {"type": "flow", "attributes": {"name": "Welcome Series", "definition": definition}}})
    flow_id = flow.data.id
    sdk.Flows.update_flow(flow_id, {"data": {"type": "flow", "id": flow_id, "attributes": {"status": "live"}}})
    sdk.Templates.delete_template(old)  # the copies do not depend on their source
    actions = plain(sdk.Flows.get_actions_for_flow(flow_id))["data"]
    by_name = {
        a["attributes"]["definition"]["data"]["message"]["name"]: a["id"]
        for a in actions
        if a["attributes"]["definition"]["type"] == "send-email"
    }
    return flow_id, by_name


def email_state(sdk: KlaviyoAPI, action_id: str) -> dict[str, Any]:
    node = plain(sdk.Flows.get_flow_action(action_id))["data"]["attributes"]["definition"]
    message = node["data"]["message"]
    served = plain(sdk.Flows.get_template_for_flow_message(message["id"]))["data"]
    return {
        "status": node["data"]["status"],
        "message_id": message["id"],
        "subject_line": message["subject_line"],
        "copy_id": served["id"],
        "html": served["attributes"]["html"],
    }


def library(sdk: KlaviyoAPI) -> dict[str, str]:
    return {t["attributes"]["name"]: t["id"] for t in plain(sdk.Templates.get_templates())["data"]}


def plan_json(root: Path, server: ServedEmulator) -> dict[str, Any]:
    result = run_cli(["plan", str(root), "--format", "json", "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_live_flow_email_follows_its_declared_template(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    sdk = sdk_for(emulator_server)
    _, actions = seed_live_flow(sdk, ["Email #1"])
    before = email_state(sdk, actions["Email #1"])
    root = write(tmp_path / "project", MANIFEST, {"templates/welcome.html": NEW_HTML})

    # The library template is new, and the email follows it: two changes, the email's after the template's.
    plan = plan_json(root, emulator_server)
    assert [(c["action"], c["address"]) for c in plan["changes"]] == [
        ("create", 'template["Welcome Email"]'),
        ("update", 'flow_email["Welcome Series"/"Email #1"]'),
    ]
    schema = json.loads(resources.files("klaviyo_sync.schemas").joinpath("plan.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(plan)
    email = plan["changes"][1]
    assert email["reason"] == 'follows template "Welcome Email", which this plan changes'
    assert {f["field"] for f in email["fields"]} == {"html", "subject_line"}
    text = run_cli(["plan", str(root), "--detailed-exitcode", "--base-url", emulator_server.base_url])
    assert text.exit_code == 2, text.output
    assert "-<p>Welcome! {% unsubscribe %}</p>" in text.output
    assert "+<p>Welcome to the shop, {{ first_name|default:'friend' }}! {% unsubscribe %}</p>" in text.output
    assert 'flow_email["Welcome Series"/"Email #1"] is live: this change reaches the inbox' in text.output

    saved = tmp_path / "plan.json"
    assert run_cli(["plan", str(root), "--out", str(saved), "--base-url", emulator_server.base_url]).exit_code == 0
    result = run_cli(["apply", str(saved), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "Apply complete: 1 created, 1 updated, 0 deleted." in result.output

    after = email_state(sdk, actions["Email #1"])
    assert after["html"] == NEW_HTML
    assert after["subject_line"] == "Welcome to the shop"
    assert after["status"] == "live"  # as it was: the PATCH carried the whole node
    assert after["message_id"] == before["message_id"]
    assert after["copy_id"] not in (before["copy_id"], library(sdk)["Welcome Email"])
    assert _status_of(emulator_server, f"/api/templates/{before['copy_id']}") == 404  # the copy it replaced is gone
    assert set(library(sdk)) == {"Welcome Email"}  # no scratch template, nothing else left behind
    assert plan_json(root, emulator_server)["changes"] == []


def test_an_email_with_its_own_files_is_repointed_through_a_scratch_template(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    sdk = sdk_for(emulator_server)
    _, actions = seed_live_flow(sdk, ["Email #1", "Email #2"])
    first, second = email_state(sdk, actions["Email #1"]), email_state(sdk, actions["Email #2"])
    manifest = """\
version: 1
flows:
  - name: Welcome Series
    emails:
      - name: "Email #2"
        html: flows/nudge.html
        status: draft
"""
    root = write(tmp_path / "project", manifest, {"flows/nudge.html": INLINE_HTML})
    text = run_cli(["plan", str(root), "--base-url", emulator_server.base_url])
    assert 'flow_email["Welcome Series"/"Email #2"] leaves live (becomes "draft"): it stops sending' in text.output
    markdown = run_cli(["plan", str(root), "--format", "markdown", "--base-url", emulator_server.base_url]).output
    assert "leaves live" in markdown

    result = run_cli(["apply", str(root), "--auto-approve", "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    after = email_state(sdk, actions["Email #2"])
    assert (after["html"], after["status"]) == (INLINE_HTML, "draft")
    assert _status_of(emulator_server, f"/api/templates/{second['copy_id']}") == 404
    assert library(sdk) == {}  # the scratch template was deleted
    assert email_state(sdk, actions["Email #1"]) == first  # undeclared: untouched
    assert plan_json(root, emulator_server)["changes"] == []


def _status_of(server: ServedEmulator, path: str) -> int:
    import httpx

    headers = {"Authorization": f"Klaviyo-API-Key {CANARY_KEY}", "revision": "2026-07-15", "Accept": "application/vnd.api+json"}
    return httpx.get(server.base_url + path, headers=headers).status_code


def test_export_writes_flow_emails_as_files_and_plans_empty(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    sdk = sdk_for(emulator_server)
    seed_live_flow(sdk, ["Email #1", "Email #2"])
    out = tmp_path / "exported"
    result = run_cli(["export", "--out", str(out), "--kind", "flows", "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "2 flow emails" in result.output
    assert (out / "flows/welcome-series/email-1.html").read_text(encoding="utf-8") == OLD_HTML
    manifest = (out / "klaviyo.yaml").read_text(encoding="utf-8")
    assert "subject_line: 'Email #2: hello'" in manifest and "status:" not in manifest
    assert plan_json(out, emulator_server)["changes"] == []
    # Every kind exported together plans empty too.
    everything = tmp_path / "everything"
    assert run_cli(["export", "--out", str(everything), "--base-url", emulator_server.base_url]).exit_code == 0
    assert plan_json(everything, emulator_server)["changes"] == []


def test_a_saved_plan_goes_stale_when_its_email_is_edited_in_klaviyo(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    sdk = sdk_for(emulator_server)
    _, actions = seed_live_flow(sdk, ["Email #1"])
    root = write(tmp_path / "project", MANIFEST, {"templates/welcome.html": NEW_HTML})
    saved = tmp_path / "plan.json"
    assert run_cli(["plan", str(root), "--out", str(saved), "--base-url", emulator_server.base_url]).exit_code == 0

    # Someone edits the email in Klaviyo's flow editor after the plan was reviewed.
    node = plain(sdk.Flows.get_flow_action(actions["Email #1"]))["data"]["attributes"]["definition"]
    node["data"]["message"]["subject_line"] = "Edited in the UI"
    body = {"data": {"type": "flow-action", "id": actions["Email #1"], "attributes": {"definition": node}}}
    sdk.Flows.update_flow_action(actions["Email #1"], body)
    writes = len([r for r in emulator_server.emulator.request_log if r.method != "GET"])

    result = run_cli(["apply", str(saved), "--project", str(root), "--base-url", emulator_server.base_url])
    assert result.exit_code == 1, result.output
    assert 'flow_email["Welcome Series"/"Email #1"]' in result.output and "changed in the account" in result.output
    after = [r for r in emulator_server.emulator.request_log if r.method != "GET"][writes:]
    # Only the apply lock's marker (a universal content block) was written and removed: nothing else.
    lock = "/api/template-universal-content"
    assert all(r.method in ("POST", "DELETE") and r.path.startswith(lock) for r in after), [(r.method, r.path) for r in after]
    assert email_state(sdk, actions["Email #1"])["subject_line"] == "Edited in the UI"


def test_a_target_plans_one_email_and_the_template_it_follows(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    sdk = sdk_for(emulator_server)
    seed_live_flow(sdk, ["Email #1", "Email #2"])
    manifest = MANIFEST + '      - name: "Email #2"\n        html: flows/two.html\n'
    root = write(tmp_path / "project", manifest, {"templates/welcome.html": NEW_HTML, "flows/two.html": INLINE_HTML})
    result = run_cli(
        [
            "plan",
            str(root),
            "--format",
            "json",
            "--target",
            "flow_email:Welcome Series/Email #1",
            "--base-url",
            emulator_server.base_url,
        ]
    )
    assert result.exit_code == 0, result.output
    assert [c["address"] for c in json.loads(result.output)["changes"]] == [
        'template["Welcome Email"]',
        'flow_email["Welcome Series"/"Email #1"]',
    ]

"""The official SDK drives the emulator's flows: it seeds a live flow, repoints its email and reads the copies."""

from __future__ import annotations

from typing import Any

from klaviyo_api import KlaviyoAPI

from tests.support.fixtures import ServedEmulator
from tests.support.flows import welcome_definition

SDK_KEY = "pk_sdk_flows_0001"


def test_the_sdk_seeds_a_live_flow_and_repoints_its_email(emulator_server: ServedEmulator) -> None:
    sdk = KlaviyoAPI(SDK_KEY, max_delay=0, max_retries=0, test_host=emulator_server.base_url)

    def template(name: str, html: str) -> str:
        body = {"data": {"type": "template", "attributes": {"name": name, "editor_type": "CODE", "html": html}}}
        return str(sdk.Templates.create_template(body).data.id)

    old, new = template("Welcome v1", "<p>old</p>"), template("Welcome v2", "<p>new</p>")
    list_id = sdk.Lists.create_list({"data": {"type": "list", "attributes": {"name": "Newsletter"}}}).data.id
    definition = welcome_definition(list_id, [("Email #1", old)])
    created = sdk.Flows.create_flow({"data": {"type": "flow", "attributes": {"name": "Welcome", "definition": definition}}})
    flow_id = created.data.id
    sdk.Flows.update_flow(flow_id, {"data": {"type": "flow", "id": flow_id, "attributes": {"status": "live"}}})

    flows = plain(sdk.Flows.get_flows(include=["flow-actions"], fields_flow_action=["definition"]))
    assert [f["id"] for f in flows["data"]] == [flow_id] and flows["data"][0]["attributes"]["status"] == "live"
    send = next(i for i in flows["included"] if i["attributes"]["definition"]["type"] == "send-email")
    node = plain(sdk.Flows.get_flow_action(send["id"]))["data"]["attributes"]["definition"]
    message_id, old_copy = node["data"]["message"]["id"], node["data"]["message"]["template_id"]
    assert plain(sdk.Templates.get_template(old_copy))["data"]["attributes"]["html"] == "<p>old</p>"

    node["data"]["message"]["template_id"] = new
    body = {"data": {"type": "flow-action", "id": send["id"], "attributes": {"definition": node}}}
    sdk.Flows.update_flow_action(send["id"], body)

    served = plain(sdk.Flows.get_template_for_flow_message(message_id))["data"]
    assert served["attributes"]["html"] == "<p>new</p>" and served["id"] not in (old, old_copy, new)
    after = plain(sdk.Flows.get_flow_action(send["id"]))["data"]["attributes"]["definition"]["data"]
    assert (after["status"], after["message"]["id"]) == ("live", message_id)
    listed = {t["id"] for t in plain(sdk.Templates.get_templates())["data"]}
    assert listed == {old, new}  # copies are readable by id, never listed
    assert plain(sdk.Templates.get_template(old_copy))["data"]["attributes"]["html"] == "<p>old</p>"  # stranded


def plain(answer: Any) -> dict[str, Any]:
    """The SDK answers with models or, for some documents, plain dicts: read both the same way."""
    return answer if isinstance(answer, dict) else answer.to_dict()

"""Flows in the emulator: the graph, the repoint that snapshots, flow-owned copies and their rules (§2–3, §11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from klaviyo_sync.api_spec import operation
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.flowstore import FlowOptions, FlowStore
from tests.emulator.helpers import client, create_list, create_template, error
from tests.support.flows import welcome_definition

EMAIL_FIELDS = "definition.type,definition.data.message.id,definition.data.message.template_id,definition.data.message.name"


def make_flow(
    http: httpx.Client, emails: list[tuple[str, str | None]], *, name: str = "Welcome", delays: bool = True
) -> dict[str, Any]:
    definition = welcome_definition(create_list(http, f"{name} list"), emails, delays=delays)
    response = http.post(
        "/api/flows",
        params={"additional-fields[flow]": "definition"},
        json={"data": {"type": "flow", "attributes": {"name": name, "definition": definition}}},
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def send_node(flow: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return [a for a in flow["attributes"]["definition"]["actions"] if a["type"] == "send-email"][index]


def repoint(http: httpx.Client, node: dict[str, Any], template_id: str, **message: Any) -> httpx.Response:
    changed = {**node, "data": {**node["data"], "message": {**node["data"]["message"], "template_id": template_id, **message}}}
    body = {"data": {"type": "flow-action", "id": node["id"], "attributes": {"definition": changed}}}
    return http.patch(f"/api/flow-actions/{node['id']}", json=body)


def test_create_flow_maps_temporary_ids_and_snapshots_the_template(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    source = create_template(http, "Welcome 1", "<p>one</p>")
    flow = make_flow(http, [("Email #1", source)])

    definition = flow["attributes"]["definition"]
    assert flow["attributes"]["status"] == "draft"
    assert flow["attributes"]["trigger_type"] == "Added to List"
    ids = [a["id"] for a in definition["actions"]]
    assert all(i.isdigit() for i in ids) and definition["entry_action_id"] == ids[0]
    assert definition["actions"][0]["links"] == {"next": ids[1]}
    assert all("temporary_id" not in a for a in definition["actions"])
    message = send_node(flow)["data"]["message"]
    assert message["template_id"] != source  # a flow-owned copy, not the library template
    copy = http.get(f"/api/templates/{message['template_id']}").json()["data"]
    assert copy["attributes"]["html"] == "<p>one</p>"
    listed = [t["id"] for t in http.get("/api/templates").json()["data"]]
    assert listed == [source]


def test_get_flows_includes_actions_with_sparse_fields(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    # Only send-email actions: a sparse time-delay node lacks the `data` its schema requires.
    flow = make_flow(http, [("Email #1", create_template(http, "T")), ("Email #2", None)], delays=False)
    response = http.get(
        "/api/flows", params={"include": "flow-actions", "fields[flow-action]": EMAIL_FIELDS, "fields[flow]": "name"}
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["data"][0]["attributes"] == {"name": "Welcome"}
    assert [r["id"] for r in document["data"][0]["relationships"]["flow-actions"]["data"]] == [
        a["id"] for a in flow["attributes"]["definition"]["actions"]
    ]
    email = next(i for i in document["included"] if i["attributes"]["definition"]["type"] == "send-email")
    assert set(email["attributes"]["definition"]["data"]["message"]) == {"id", "template_id", "name"}
    assert "created" not in email["attributes"]


@pytest.mark.invalid_requests
def test_get_flows_refuses_definition_and_additional_fields(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    assert http.get("/api/flows", params={"fields[flow]": "definition"}).status_code == 400
    assert http.get("/api/flows", params={"additional-fields[flow]": "definition"}).status_code == 400


def test_repoint_snapshots_a_new_copy_and_strands_the_old(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    old = create_template(http, "Old", "<p>old</p>")
    new = create_template(http, "New", "<p>new</p>")
    flow = make_flow(http, [("Email #1", old)])
    http.patch(f"/api/flows/{flow['id']}", json={"data": {"type": "flow", "id": flow["id"], "attributes": {"status": "live"}}})
    node = http.get(f"/api/flow-actions/{send_node(flow)['id']}").json()["data"]["attributes"]["definition"]
    assert node["data"]["status"] == "live"  # update_flow cascades to every action
    message_id, old_copy = node["data"]["message"]["id"], node["data"]["message"]["template_id"]

    response = repoint(http, node, new, subject_line="Fresh")
    assert response.status_code == 200, response.text

    after = response.json()["data"]["attributes"]["definition"]
    assert after["id"] == node["id"] and after["data"]["message"]["id"] == message_id
    assert after["data"]["status"] == "live" and after["data"]["message"]["subject_line"] == "Fresh"
    new_copy = after["data"]["message"]["template_id"]
    assert new_copy not in (old_copy, new)
    served = http.get(f"/api/flow-messages/{message_id}/template").json()["data"]
    assert (served["id"], served["attributes"]["html"]) == (new_copy, "<p>new</p>")
    assert http.get(f"/api/templates/{old_copy}").status_code == 200  # stranded, still readable
    assert FlowStore(emulator.store, next(iter(emulator.store.accounts.values()))).stranded_copies(message_id) == [old_copy]
    assert sorted(t["id"] for t in http.get("/api/templates").json()["data"]) == sorted([old, new])
    # A later library edit never reaches the flow.
    http.patch(f"/api/templates/{new}", json={"data": {"type": "template", "id": new, "attributes": {"html": "<p>x</p>"}}})
    assert http.get(f"/api/flow-messages/{message_id}/template").json()["data"]["attributes"]["html"] == "<p>new</p>"


@pytest.mark.invalid_requests
def test_copies_refuse_patch_and_a_bound_copy_refuses_delete(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    flow = make_flow(http, [("Email #1", create_template(http, "T"))])
    node = send_node(flow)
    copy_id = node["data"]["message"]["template_id"]
    patched = http.patch(
        f"/api/templates/{copy_id}", json={"data": {"type": "template", "id": copy_id, "attributes": {"html": "<p>x</p>"}}}
    )
    assert patched.status_code == 404 and error(patched)["detail"] == "Template does not exist"
    assert http.delete(f"/api/templates/{copy_id}").status_code == 400
    assert repoint(http, node, create_template(http, "U")).status_code == 200
    assert http.delete(f"/api/templates/{copy_id}").status_code == 204  # stranded now
    assert http.get(f"/api/templates/{copy_id}").status_code == 404


@pytest.mark.invalid_requests
def test_action_patch_rules(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    flow = make_flow(http, [("Email #1", create_template(http, "T"))])
    node = send_node(flow)
    body = repoint(http, node, node["data"]["message"]["template_id"], body="<p>raw</p>")
    assert body.status_code == 400
    assert error(body)["detail"] == "'body' is not a valid field for the resource 'FlowEmail'"
    wrong_type = {**node, "type": "send-sms"}
    response = http.patch(
        f"/api/flow-actions/{node['id']}",
        json={"data": {"type": "flow-action", "id": node["id"], "attributes": {"definition": wrong_type}}},
    )
    assert response.status_code == 400
    assert repoint(http, node, "NOSUCH").status_code == 400
    message_id = node["data"]["message"]["id"]
    assert http.patch(f"/api/flow-messages/{message_id}", json={}).status_code == 405
    assert http.get("/api/flow-actions/999").status_code == 404


def test_absent_members_reset_or_merge(emulator_factory: Any, api_key: str) -> None:
    for policy, expected in (("reset", ("draft", True)), ("merge", ("live", False))):
        emulator = emulator_factory(EmulatorConfig(flows=FlowOptions(absent_members=policy)))
        http = client(emulator, api_key)
        flow = make_flow(http, [("Email #1", create_template(http, "T"))])
        http.patch(
            f"/api/flows/{flow['id']}", json={"data": {"type": "flow", "id": flow["id"], "attributes": {"status": "live"}}}
        )
        node = send_node(flow)
        message = {"id": node["data"]["message"]["id"], "subject_line": "Only this", "smart_sending_enabled": False}
        http.patch(
            f"/api/flow-actions/{node['id']}",
            json={
                "data": {
                    "type": "flow-action",
                    "id": node["id"],
                    "attributes": {"definition": {"type": "send-email", "data": {"message": message}}},
                }
            },
        )
        read = http.get(f"/api/flow-actions/{node['id']}").json()["data"]["attributes"]["definition"]["data"]
        assert read["status"] == expected[0], policy
        assert read["message"]["subject_line"] == "Only this"
        assert (read["message"]["from_email"] is None) is expected[1], policy


def test_flow_endpoints_are_rate_limited_at_3_per_second(emulator_factory: Any, api_key: str) -> None:
    clock = [0.0]
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0, monotonic=lambda: clock[0]))
    http = client(emulator, api_key)
    statuses = [http.get("/api/flows").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    for op in ("get_flow_action", "update_flow_action", "get_template_for_flow_message"):
        limits = {limit.name: (limit.count, limit.seconds) for limit in operation(op).rate_limits}
        assert limits == {"burst": (3, 1), "steady": (60, 60)}, op


def test_seeded_flows_persist_and_ids_stay_unique(tmp_path: Any, api_key: str) -> None:
    state = tmp_path / "state.json"
    first = Emulator(EmulatorConfig(state_file=state))
    template = first.seed(api_key, {"templates": [{"name": "T", "html": "<p>t</p>"}]})["templates"][0]
    list_id = first.seed(api_key, {"lists": [{"name": "L"}]})["lists"][0]
    definition = welcome_definition(list_id, [("Email #1", template)])
    flow_id = first.seed(api_key, {"flows": [{"name": "Welcome", "definition": definition, "status": "live"}]})["flows"][0]
    second = Emulator(EmulatorConfig(state_file=state))
    http = client(second, api_key)
    flow = http.get(f"/api/flows/{flow_id}", params={"additional-fields[flow]": "definition"}).json()["data"]
    assert flow["attributes"]["status"] == "live"
    again = second.seed(api_key, {"flows": [{"name": "Again", "definition": definition}]})["flows"][0]
    action_ids = {a["id"] for a in flow["attributes"]["definition"]["actions"]}
    other = http.get(f"/api/flows/{again}", params={"additional-fields[flow]": "definition"}).json()["data"]
    assert action_ids.isdisjoint(a["id"] for a in other["attributes"]["definition"]["actions"])


def test_stale_switches_lag_the_patch_answer_and_the_template_read(emulator_factory: Any, api_key: str) -> None:
    now = [1_000_000.0]
    options = FlowOptions(stale_patch_answer=True, stale_template_reads_s=2.0)
    emulator = emulator_factory(EmulatorConfig(flows=options, clock=lambda: now[0]))
    http = client(emulator, api_key)
    flow = make_flow(http, [("Email #1", create_template(http, "Old", "<p>old</p>"))])
    node = send_node(flow)
    old_copy, message_id = node["data"]["message"]["template_id"], node["data"]["message"]["id"]
    answer = repoint(http, node, create_template(http, "New", "<p>new</p>")).json()["data"]["attributes"]["definition"]
    assert answer["data"]["message"]["template_id"] == old_copy  # the answer lags
    assert http.get(f"/api/flow-messages/{message_id}/template").json()["data"]["id"] == old_copy
    now[0] += 2.5
    served = http.get(f"/api/flow-messages/{message_id}/template").json()["data"]
    assert served["id"] != old_copy and served["attributes"]["html"] == "<p>new</p>"

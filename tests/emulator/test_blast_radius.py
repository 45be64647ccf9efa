"""What a list or tag reaches (klaviyo-api-more.md §7): a list's seeded profile count on get_list only, under its own
1/s and 15/m bucket; the flows a list triggers, derived from the flows served; what carries a tag, seeded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.transport import SyncEmulatorTransport
from tests.emulator.helpers import client, create_list, create_template, error
from tests.support.flows import welcome_definition


def create_flow(http: httpx.Client, name: str, definition: dict[str, Any]) -> str:
    response = http.post("/api/flows", json={"data": {"type": "flow", "attributes": {"name": name, "definition": definition}}})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def profile_count(http: httpx.Client, list_id: str) -> Any:
    response = http.get(f"/api/lists/{list_id}", params={"additional-fields[list]": "profile_count"})
    assert response.status_code == 200, response.text
    return response.json()["data"]["attributes"]["profile_count"]


def test_a_profile_count_is_seeded_in_the_state_or_through_the_control_route(emulator: Emulator, api_key: str) -> None:
    [seeded, other] = emulator.seed(api_key, {"lists": [{"name": "Newsletter", "profile_count": 12430}, {"name": "VIP"}]})[
        "lists"
    ]
    http = client(emulator, api_key)
    assert (profile_count(http, seeded), profile_count(http, other)) == (12430, 0)
    assert "profile_count" not in http.get(f"/api/lists/{seeded}").json()["data"]["attributes"]  # asked for only

    answer = http.put("/__emulator/profile-counts", json={other: 75})
    assert answer.status_code == 200 and answer.json() == {"profile_counts": {other: 75}}
    assert profile_count(http, other) == 75
    assert emulator.dump()["accounts"].popitem()[1]["lists"][other]["profile_count"] == 75  # kept in the state

    for bad in ({other: -1}, {other: 1.5}, {other: True}, {other: 3, "nope": 4}):
        refused = http.put("/__emulator/profile-counts", json=bad)
        assert refused.status_code in (400, 404), refused.text
    assert profile_count(http, other) == 75  # all or nothing
    anonymous = httpx.Client(transport=SyncEmulatorTransport(emulator), base_url="https://a.klaviyo.com")
    assert anonymous.put("/__emulator/profile-counts", json={other: 1}).status_code == 401


def test_profile_counts_have_their_own_bucket_of_1_per_second(emulator_factory: Any, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0))
    http = client(emulator, api_key)
    list_id = create_list(http, "Newsletter")
    assert http.get(f"/api/lists/{list_id}", params={"additional-fields[list]": "profile_count"}).status_code == 200
    throttled = http.get(f"/api/lists/{list_id}", params={"additional-fields[list]": "profile_count"})
    assert throttled.status_code == 429 and error(throttled)["code"] == "throttled"
    assert http.get(f"/api/lists/{list_id}").status_code == 200  # get_list itself allows 75/s


def test_the_flows_a_list_triggers_are_derived_from_the_flows_served(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    template = create_template(http, "Welcome 1")
    newsletter, vip = create_list(http, "Newsletter"), create_list(http, "VIP")
    welcome = create_flow(http, "Welcome", welcome_definition(newsletter, [("Email #1", template)]))
    create_flow(http, "VIP welcome", welcome_definition(vip, [("Email #1", template)]))
    # A flow that only tests membership of the list in its profile filter is not triggered by it ([SPEC]).
    filtered = welcome_definition(vip, [("Email #1", template)])
    filtered["profile_filter"] = {
        "condition_groups": [{"conditions": [{"type": "profile-group-membership", "is_member": True, "group_ids": [newsletter]}]}]
    }
    create_flow(http, "Filtered", filtered)

    ids = http.get(f"/api/lists/{newsletter}/relationships/flow-triggers")
    assert ids.status_code == 200 and ids.json()["data"] == [{"type": "flow", "id": welcome}]
    flows = http.get(f"/api/lists/{newsletter}/flow-triggers", params={"fields[flow]": "name,status"})
    assert [(f["id"], f["attributes"]) for f in flows.json()["data"]] == [(welcome, {"name": "Welcome", "status": "draft"})]

    listed = http.get("/api/lists", params={"include": "flow-triggers"}).json()
    triggers = {item["id"]: item["relationships"]["flow-triggers"]["data"] for item in listed["data"]}
    assert triggers[newsletter] == [{"type": "flow", "id": welcome}] and len(triggers[vip]) == 2
    assert sorted(item["attributes"]["name"] for item in listed["included"]) == ["Filtered", "VIP welcome", "Welcome"]

    assert http.delete(f"/api/flows/{welcome}").status_code == 204
    assert http.get(f"/api/lists/{newsletter}/relationships/flow-triggers").json()["data"] == []
    assert http.get("/api/lists/nope00/relationships/flow-triggers").status_code == 404


def test_the_flows_campaigns_and_segments_carrying_a_tag_are_seeded(emulator: Emulator, api_key: str) -> None:
    http = client(emulator, api_key)
    template = create_template(http, "Welcome 1")
    flow = create_flow(http, "Welcome", welcome_definition(create_list(http, "Newsletter"), [("Email #1", template)]))
    ids = emulator.seed(api_key, {"tag_groups": [{"name": "Lifecycle"}], "tags": [{"group": "Lifecycle", "name": "VIP"}]})
    [vip] = ids["tags"]
    emulator.seed(
        api_key,
        {
            "tag_associations": [
                {"group": "Lifecycle", "name": "VIP", "flows": [flow], "campaigns": ["01J0C"], "segments": ["Sg1", "Sg2"]}
            ]
        },
    )

    def carriers(name: str) -> list[dict[str, str]]:
        response = http.get(f"/api/tags/{vip}/relationships/{name}")
        assert response.status_code == 200, response.text
        return list(response.json()["data"])

    assert carriers("flows") == [{"type": "flow", "id": flow}]
    assert carriers("campaigns") == [{"type": "campaign", "id": "01J0C"}]
    assert [item["id"] for item in carriers("segments")] == ["Sg1", "Sg2"]
    http.delete(f"/api/flows/{flow}")
    assert carriers("flows") == []  # a deleted flow carries nothing
    assert http.get("/api/tags/00000000-0000-4000-8000-000000000000/relationships/segments").status_code == 404

    with pytest.raises(Exception, match="unknown tag"):
        emulator.seed(api_key, {"tag_associations": [{"group": "Lifecycle", "name": "Nope", "flows": []}]})


def test_a_key_without_the_carriers_scope_is_refused(emulator_factory: Any, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(key_scopes={api_key: ["tags:read", "lists:read"]}))
    [tag] = emulator.seed(api_key, {"tags": [{"name": "VIP"}]})["tags"]
    refused = client(emulator, api_key).get(f"/api/tags/{tag}/relationships/campaigns")
    assert refused.status_code == 403 and "campaigns:read" in error(refused)["detail"]

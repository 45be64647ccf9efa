"""The official SDK reads what a list and a tag reach from the emulator: a profile count, the flows a list triggers
(a flow the SDK itself created) and the flows, campaigns and segments carrying a tag."""

from __future__ import annotations

from klaviyo_api import KlaviyoAPI

from tests.sdk.test_sdk_flows import plain
from tests.support.fixtures import ServedEmulator
from tests.support.flows import welcome_definition

SDK_KEY = "pk_sdk_blast_0001"


def test_the_sdk_reads_a_lists_profile_count_and_the_flow_it_triggers(emulator_server: ServedEmulator) -> None:
    sdk = KlaviyoAPI(SDK_KEY, max_delay=0, max_retries=0, test_host=emulator_server.base_url)
    body = {"data": {"type": "template", "attributes": {"name": "Welcome", "editor_type": "CODE", "html": "<p>hi</p>"}}}
    template = sdk.Templates.create_template(body).data.id
    list_id = sdk.Lists.create_list({"data": {"type": "list", "attributes": {"name": "Newsletter"}}}).data.id
    definition = welcome_definition(list_id, [("Email #1", template)])
    flow = sdk.Flows.create_flow({"data": {"type": "flow", "attributes": {"name": "Welcome", "definition": definition}}}).data.id
    emulator_server.emulator.set_profile_counts(SDK_KEY, {list_id: 12430})

    counted = plain(sdk.Lists.get_list(list_id, additional_fields_list=["profile_count"]))
    assert counted["data"]["attributes"]["profile_count"] == 12430
    assert [item["id"] for item in plain(sdk.Lists.get_ids_for_flows_triggered_by_list(list_id))["data"]] == [flow]
    triggered = plain(sdk.Lists.get_flows_triggered_by_list(list_id, fields_flow=["name"]))["data"]
    assert [(item["id"], item["attributes"]["name"]) for item in triggered] == [(flow, "Welcome")]

    [tag] = emulator_server.emulator.seed(SDK_KEY, {"tags": [{"name": "Onboarding"}]})["tags"]
    emulator_server.emulator.seed(SDK_KEY, {"tag_associations": [{"tag": tag, "flows": [flow], "segments": ["Sg1"]}]})
    assert [item["id"] for item in plain(sdk.Tags.get_flow_ids_for_tag(tag))["data"]] == [flow]
    assert plain(sdk.Tags.get_campaign_ids_for_tag(tag))["data"] == []
    assert [item["id"] for item in plain(sdk.Tags.get_segment_ids_for_tag(tag))["data"]] == ["Sg1"]

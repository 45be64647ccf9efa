"""The flow calls: the flows walk with whole actions, the action PATCH, the verification read; paced with no 429."""

from __future__ import annotations

import asyncio
from typing import Any

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.flowstore import FlowOptions
from tests.client.conftest import MakeClient, MakeEmulator
from tests.support.canary import CANARY_KEY

SCALE = 0.02


def seed_flows(emulator: Emulator, flows: int, emails: int) -> None:
    templates = [{"name": f"T{i}", "html": f"<p>{i}</p>"} for i in range(2)]
    emulator.seed(CANARY_KEY, {"templates": templates, "lists": [{"name": "Newsletter"}]})
    entries = [
        {"name": f"Flow {f}", "status": "live", "emails": [{"name": f"Email #{e + 1}", "template": "T0"} for e in range(emails)]}
        for f in range(flows)
    ]
    emulator.seed(CANARY_KEY, {"flows": entries})


def test_walk_repoint_and_verify(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()
    seed_flows(emulator, flows=60, emails=2)  # more than one page of flows (50 at most)

    async def scenario() -> tuple[list[tuple[dict[str, Any], list[dict[str, Any]]]], dict[str, Any], dict[str, Any]]:
        async with make_client(emulator) as client:
            walked = [item async for item in client.walk_flows()]
            node = walked[0][1][0]["attributes"]["definition"]
            source = next(t for t in emulator.dump()["accounts"].popitem()[1]["templates"].values() if t["name"] == "T1")
            changed = {**node, "data": {**node["data"], "message": {**node["data"]["message"], "template_id": source["id"]}}}
            answer = await client.update_flow_action(node["id"], changed)
            served = await client.get_flow_message_template(node["data"]["message"]["id"])
            old = await client.get_template(node["data"]["message"]["template_id"])
            return walked, answer, {"served": served, "old": old}

    walked, answer, reads = asyncio.run(scenario())
    assert len(walked) == 60 and all(len(actions) == 2 for _, actions in walked)
    assert answer["data"]["status"] == "live" and answer["id"] == walked[0][1][0]["id"]
    assert reads["served"]["attributes"]["html"] == "<p>1</p>"
    assert reads["old"]["attributes"]["html"] == "<p>0</p>"  # the stranded copy, read by the id the walk gave
    assert emulator.request_counts(CANARY_KEY)["get_flows"] == 2


def test_flow_calls_are_paced_under_the_flow_limits(make_timed_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_timed_emulator(rate_limits=SCALE)
    seed_flows(emulator, flows=1, emails=1)
    calls = 70  # beyond the 60 a (scaled) minute allows

    async def scenario() -> None:
        async with make_client(emulator, pacing=True, time_scale=SCALE) as client:
            walked = [item async for item in client.walk_flows()]
            node = walked[0][1][0]["attributes"]["definition"]
            await asyncio.gather(*(client.get_flow_action(node["id"]) for _ in range(calls)))

    asyncio.run(scenario())
    assert emulator.request_counts(CANARY_KEY)["get_flow_action"] == calls
    assert emulator.throttled_counts(CANARY_KEY) == {}


def test_the_walk_reads_a_flows_actions_on_their_own_when_the_page_leaves_some_out(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator(flows=FlowOptions(included_actions_cap=3))
    seed_flows(emulator, flows=4, emails=2)  # 8 actions named, 3 included

    async def scenario() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        async with make_client(emulator) as client:
            return [item async for item in client.walk_flows()]

    walked = asyncio.run(scenario())
    assert [len(actions) for _, actions in walked] == [2, 2, 2, 2]
    assert all(action["attributes"]["definition"]["type"] == "send-email" for _, actions in walked for action in actions)
    counts = emulator.request_counts(CANARY_KEY)
    assert (counts["get_flows"], counts["get_actions_for_flow"]) == (1, 3)  # the first flow's two came included

"""The client's blast-radius reads: a list's profile count, the flows it triggers, what carries a tag; and the profile
count's own 1/s, 15/m bucket, which the pacer keeps to although get_list itself allows 75/s."""

from __future__ import annotations

import asyncio
import time

from klaviyo_sync.api_spec import bucket_limits, operation
from klaviyo_sync.client import KlaviyoClient
from tests.client.conftest import MakeClient, MakeEmulator
from tests.support.canary import CANARY_KEY
from tests.support.flows import welcome_definition

SCALE = 0.02  # 1 s windows in 20 ms, 60 s windows in 1.2 s


def test_the_spec_gives_profile_counts_their_own_bucket() -> None:
    get_list = operation("get_list")
    assert get_list.rate_buckets({"additional-fields[list]": "profile_count"}) == (
        "get_list:additional-fields[list]=profile_count",
        "get_list",
    )
    assert get_list.rate_buckets({"include": "tags"}) == ("get_list",)
    limits = {
        limit.name: (limit.count, limit.seconds)
        for limit in bucket_limits(get_list.rate_buckets({"additional-fields[list]": "profile_count"})[0])
    }
    assert limits == {"burst": (1, 1), "steady": (15, 60)}
    for name in ("get_flows_triggered_by_list", "get_flow_ids_for_tag", "get_campaign_ids_for_tag", "get_segment_ids_for_tag"):
        assert {(limit.count, limit.seconds) for limit in operation(name).rate_limits} == {(3, 1), (60, 60)}


def test_the_reads_answer_what_the_emulator_holds(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()
    ids = emulator.seed(
        CANARY_KEY,
        {"lists": [{"name": "Newsletter", "profile_count": 12430}], "templates": [{"name": "Welcome", "html": "<p>hi</p>"}]},
    )
    [list_id], [template] = ids["lists"], ids["templates"]
    [flow] = emulator.seed(
        CANARY_KEY, {"flows": [{"name": "Welcome", "definition": welcome_definition(list_id, [("E", template)])}]}
    )["flows"]
    [tag] = emulator.seed(CANARY_KEY, {"tags": [{"name": "VIP"}]})["tags"]
    emulator.seed(CANARY_KEY, {"tag_associations": [{"tag": tag, "flows": [flow], "campaigns": ["C1", "C2"]}]})

    async def read(client: KlaviyoClient) -> tuple[object, ...]:
        async with client:
            return (
                await client.list_profile_count(list_id),
                [(f["id"], f["attributes"]["name"]) for f in await client.flows_triggered_by_list(list_id)],
                await client.tag_carrier_ids(tag, "flows"),
                await client.tag_carrier_ids(tag, "campaigns"),
                await client.tag_carrier_ids(tag, "segments"),
            )

    assert asyncio.run(read(make_client(emulator))) == (12430, [(flow, "Welcome")], [flow], ["C1", "C2"], [])


def test_profile_counts_are_paced_at_their_own_limits(make_timed_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_timed_emulator(rate_limits=SCALE)
    lists = emulator.seed(CANARY_KEY, {"lists": [{"name": f"List {index}", "profile_count": index} for index in range(17)]})[
        "lists"
    ]
    client = make_client(emulator, pacing=True, time_scale=SCALE)

    async def read() -> tuple[list[int | None], float]:
        async with client:
            started = time.monotonic()
            counts = await asyncio.gather(*(client.list_profile_count(list_id) for list_id in lists))
            return counts, time.monotonic() - started

    counts, elapsed = asyncio.run(read())
    assert counts == list(range(17))
    assert emulator.throttled_counts(CANARY_KEY) == {}
    assert elapsed >= 60 * SCALE  # 15 a minute: the 16th waits for the steady window to pass
    assert client.request_counts["get_list"] == 17

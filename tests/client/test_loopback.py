"""The client over real HTTP: an emulator served on 127.0.0.1, with pages, throttling, server errors and lost answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator
from klaviyo_sync.errors import TransportError
from klaviyo_sync.resources import Kind
from tests.client.conftest import MakeEmulator, seed_account
from tests.support.canary import CANARY_KEY
from tests.support.fixtures import ServedEmulator

Serve = Callable[[Emulator], ServedEmulator]


def _client(server: ServedEmulator, **options: object) -> KlaviyoClient:
    return KlaviyoClient(CANARY_KEY, base_url=server.base_url, time_scale=0.001, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("quirks", [False, True], ids=["spec", "quirks"])
def test_many_pages_through_429s_and_5xx(make_emulator: MakeEmulator, serve_emulator: Serve, quirks: bool) -> None:
    emulator = make_emulator(quirks=quirks, faults="get_tags:storm=3#2;get_templates:error=503#3;get_templates:html=502#7")
    emulator.seed(CANARY_KEY, seed_account(tag_groups=7, tags=120, lists=0, templates=95))
    server = serve_emulator(emulator)
    waits: list[str] = []

    async def run() -> tuple[list[str], list[str]]:
        async with _client(server, on_wait=lambda operation_id, _: waits.append(operation_id)) as client:
            templates = [item["id"] async for page in client.paginate("get_templates") for item in page["data"]]
            tags = [item["id"] async for page in client.paginate("get_tags", {"include": "tag-group"}) for item in page["data"]]
            return templates, tags

    templates, tags = asyncio.run(run())
    assert (len(set(templates)), len(set(tags))) == (95, 120)
    statuses = [(record.operation_id, record.status) for record in emulator.request_log]
    assert statuses.count(("get_tags", 429)) == 3 and statuses.count(("get_tags", 200)) == 3
    assert statuses.count(("get_templates", 200)) == 10 and {503, 502} <= {s for op, s in statuses if op == "get_templates"}
    assert set(waits) == {"get_tags"}


def test_a_dropped_connection_after_a_committed_create_leaves_no_duplicate(
    make_emulator: MakeEmulator, serve_emulator: Serve
) -> None:
    emulator = make_emulator(faults="create_tag_group:drop#1;create_list:drop#1;delete_list:timeout=5#1")
    server = serve_emulator(emulator)

    async def run() -> None:
        async with _client(server, timeout=0.5) as client:
            with pytest.raises(TransportError) as caught:
                await client.create_tag_group("Lifecycle", exclusive=True)
            assert caught.value.ambiguous and caught.value.operation == "create_tag_group"
            assert await client.find_ids_by_name(Kind.TAG_GROUP, "Lifecycle") != []  # it happened: not sent again
            with pytest.raises(TransportError) as caught:
                await client.create_list("Newsletter")
            assert caught.value.ambiguous
            [list_id] = await client.find_ids_by_name(Kind.LIST, "Newsletter")
            await client.delete_list(list_id)  # committed but timed out, sent again: the 404 means done
            assert await client.find_ids_by_name(Kind.LIST, "Newsletter") == []

    asyncio.run(run())
    counts = emulator.request_counts(CANARY_KEY)
    assert (counts["create_tag_group"], counts["create_list"], counts["delete_list"]) == (1, 1, 2)
    assert [record.status for record in emulator.request_log if record.operation_id == "delete_list"] == [204, 404]


def test_a_timed_out_read_is_sent_again(make_emulator: MakeEmulator, serve_emulator: Serve) -> None:
    emulator = make_emulator(faults="get_tag_groups:timeout=5#1")
    server = serve_emulator(emulator)

    async def run() -> list[str]:
        async with _client(server, timeout=0.3) as client:
            return [item["attributes"]["name"] async for page in client.paginate("get_tag_groups") for item in page["data"]]

    assert asyncio.run(run()) == ["Default"]
    assert emulator.request_counts(CANARY_KEY)["get_tag_groups"] == 2

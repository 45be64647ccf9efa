"""Throttling, server errors, timeouts and lost answers: retried where safe, never a duplicate create."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator.transport import EmulatorTransport
from klaviyo_sync.errors import RateLimitError, ServerError, TransportError
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Kind
from tests.client.conftest import MakeClient, MakeEmulator, Scripted, seed_account
from tests.support.canary import CANARY_KEY


def _statuses(emulator, operation_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [record.status for record in emulator.request_log if record.operation_id == operation_id]


@pytest.mark.parametrize("quirks", [False, True], ids=["spec", "quirks"])
def test_429_storms_are_waited_out(make_emulator: MakeEmulator, make_client: MakeClient, quirks: bool) -> None:
    emulator = make_emulator(quirks=quirks, faults="get_templates:storm=4#2;get_tags:storm=2#1")
    emulator.seed(CANARY_KEY, seed_account(tag_groups=2, tags=80, lists=5, templates=35))
    waits: list[tuple[str, float]] = []
    client = make_client(emulator, on_wait=lambda op, seconds: waits.append((op, seconds)))

    async def run():  # type: ignore[no-untyped-def]
        async with client:
            return await read_live_state(client)

    state = asyncio.run(run())
    assert len(state.of_kind(Kind.TEMPLATE)) == 35 and len(state.of_kind(Kind.TAG)) == 80
    assert _statuses(emulator, "get_templates").count(429) == 4
    assert _statuses(emulator, "get_tags").count(429) == 2
    assert {op for op, _ in waits} == {"get_templates", "get_tags"}
    assert client.request_counts["get_templates"] == 4 + 4


def test_throttled_creates_are_retried_because_nothing_happened(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="create_tag_group:storm=3#1")

    async def run() -> list[str]:
        async with make_client(emulator) as client:
            await client.create_tag_group("Once", exclusive=False)
            return await client.find_ids_by_name(Kind.TAG_GROUP, "Once")

    assert len(asyncio.run(run())) == 1
    assert _statuses(emulator, "create_tag_group") == [429, 429, 429, 201]


def test_throttling_that_never_ends_is_a_rate_limit_error(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="get_tag_groups:storm=50")

    async def run() -> None:
        async with make_client(emulator, max_retries=3) as client:
            await read_live_state(client)

    with pytest.raises(RateLimitError) as caught:
        asyncio.run(run())
    assert caught.value.status == 429 and caught.value.operation == "get_tag_groups"
    assert "still throttled after 3 retries" in caught.value.hint
    assert _statuses(emulator, "get_tag_groups") == [429] * 4


def test_server_errors_on_reads_and_idempotent_writes_are_retried(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(seed=7, faults="get_*:error=503@0.3;update_list:error=500#1;tag_lists:html=502#1")
    emulator.seed(CANARY_KEY, seed_account(tag_groups=3, tags=120, lists=30, templates=40))

    async def run():  # type: ignore[no-untyped-def]
        async with make_client(emulator) as client:
            state = await read_live_state(client)
            newsletter = state.get(Kind.LIST, ("List 00",))
            tag = state.get(Kind.TAG, ("Default", "Tag 099"))
            assert newsletter and newsletter.id and tag and tag.id
            await client.update_list(newsletter.id, {"name": "Renamed"})
            await client.tag_lists(tag.id, [newsletter.id])
            return await read_live_state(client)

    state = asyncio.run(run())
    assert state.get(Kind.LIST, ("Renamed",)) is not None
    assert state.get(Kind.LIST_TAG, ("Renamed", "Default", "Tag 099")) is not None
    assert len(state.of_kind(Kind.TEMPLATE)) == 40
    assert any(status == 503 for record in emulator.request_log for status in [record.status])
    assert _statuses(emulator, "update_list") == [500, 200]
    assert _statuses(emulator, "tag_lists") == [502, 204]


def test_server_errors_that_persist_end_in_a_server_error(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="get_lists:html=503")

    async def run() -> None:
        async with make_client(emulator, max_retries=2) as client:
            await read_live_state(client)

    with pytest.raises(ServerError) as caught:
        asyncio.run(run())
    assert caught.value.status == 503
    assert "non-JSON answer" in str(caught.value)
    assert "<" not in caught.value.message  # the HTML page is reduced to its text
    assert _statuses(emulator, "get_lists") == [503, 503, 503]


def test_a_create_whose_answer_is_lost_is_ambiguous_and_found_by_name(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator(faults="create_template:drop#1;create_tag:drop#1;create_list:drop#1;create_tag_group:drop#1")

    async def run() -> dict[Kind, list[str]]:
        found: dict[Kind, list[str]] = {}
        async with make_client(emulator) as client:
            with pytest.raises(TransportError) as caught:
                await client.create_tag_group("Lifecycle", exclusive=True)
            assert caught.value.ambiguous and caught.value.operation == "create_tag_group"
            found[Kind.TAG_GROUP] = await client.find_ids_by_name(Kind.TAG_GROUP, "Lifecycle")
            group_id = found[Kind.TAG_GROUP][0]
            with pytest.raises(TransportError) as caught:
                await client.create_tag(group_id, "VIP")
            assert caught.value.ambiguous
            found[Kind.TAG] = await client.find_ids_by_name(Kind.TAG, "VIP", group_id=group_id)
            with pytest.raises(TransportError):
                await client.create_list("Newsletter", "double_opt_in")
            found[Kind.LIST] = await client.find_ids_by_name(Kind.LIST, "Newsletter")
            with pytest.raises(TransportError) as caught:
                await client.create_template({"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi</p>"})
            assert "may or may not have been applied" in str(caught.value)
            found[Kind.TEMPLATE] = await client.find_ids_by_name(Kind.TEMPLATE, "Welcome")
            # Having found it, the caller does not create it again: the account holds exactly one of each.
            state = await read_live_state(client)
            assert [len(state.of_kind(kind)) for kind in (Kind.TAG_GROUP, Kind.TAG, Kind.LIST, Kind.TEMPLATE)] == [2, 1, 1, 1]
        return found

    found = asyncio.run(run())
    assert all(len(ids) == 1 for ids in found.values()), found
    for operation_id in ("create_template", "create_tag", "create_list", "create_tag_group"):
        assert emulator.request_counts(CANARY_KEY)[operation_id] == 1, "a create must never be sent twice"


def test_a_create_that_failed_with_a_server_error_is_ambiguous_too(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="clone_template:error=500#1")

    async def run() -> list[str]:
        async with make_client(emulator) as client:
            source = await client.create_template({"name": "Source", "editor_type": "CODE", "html": "<p/>"})
            with pytest.raises(TransportError) as caught:
                await client.clone_template(source, "Copy")
            assert caught.value.ambiguous and caught.value.status == 500
            return await client.find_ids_by_name(Kind.TEMPLATE, "Copy")

    assert asyncio.run(run()) == []  # this fault struck before the commit: nothing to find, safe to create
    assert emulator.request_counts(CANARY_KEY)["clone_template"] == 1


def test_a_timed_out_create_is_ambiguous_and_a_timed_out_read_is_retried(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator(faults="create_list:timeout=5#1;get_lists:timeout=5#1")

    async def run() -> list[str]:
        async with make_client(emulator, timeout=0.5) as client:
            with pytest.raises(TransportError) as caught:
                await client.create_list("Slow", None)
            assert caught.value.ambiguous
            return await client.find_ids_by_name(Kind.LIST, "Slow")

    assert len(asyncio.run(run())) == 1
    assert emulator.request_counts(CANARY_KEY)["get_lists"] == 2


def test_a_retried_delete_that_finds_nothing_is_done(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="delete_template:drop#1;remove_tag_from_lists:drop#1")

    async def run() -> None:
        async with make_client(emulator) as client:
            template = await client.create_template({"name": "Old", "editor_type": "CODE", "html": "<p/>"})
            group = await client.create_tag_group("G", exclusive=False)
            tag = await client.create_tag(group, "T")
            list_id = await client.create_list("L", None)
            await client.tag_lists(tag, [list_id])
            await client.delete_template(template)  # committed, answer lost, retried: 404 means done
            await client.untag_lists(tag, [list_id])  # committed, answer lost, retried: idempotent
            state = await read_live_state(client)
            assert state.of_kind(Kind.TEMPLATE) == [] and state.of_kind(Kind.LIST_TAG) == []

    asyncio.run(run())
    assert _statuses(emulator, "delete_template")[-1] == 404
    assert len(_statuses(emulator, "delete_template")) == 2


def test_transport_failures_on_reads_give_up_after_max_retries(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="get_tag_groups:drop")

    async def run() -> None:
        async with make_client(emulator, max_retries=2) as client:
            await read_live_state(client)

    with pytest.raises(TransportError) as caught:
        asyncio.run(run())
    assert caught.value.ambiguous is False
    assert "after 3 attempts" in str(caught.value)
    assert emulator.request_counts(CANARY_KEY)["get_tag_groups"] == 3


class _SlowToConnect(httpx.AsyncBaseTransport):
    """The network in front of an emulator: the first `failures` connection attempts time out."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectTimeout("timed out connecting", request=request)
        return await self.inner.handle_async_request(request)


def test_a_create_whose_connection_never_opened_is_sent_again(make_emulator: MakeEmulator) -> None:
    """Nothing left this machine, so nothing can have been created: the one case where a create is retried.
    (A refused connection is not retried at all: tests/client/test_fail_fast.py.)"""
    emulator = make_emulator()
    network = _SlowToConnect(EmulatorTransport(emulator), failures=2)
    client = KlaviyoClient(CANARY_KEY, transport=network, pacing=False, time_scale=0.001)

    async def run() -> tuple[str, list[str]]:
        async with client:
            created = await client.create_list("Newsletter", "single_opt_in")
            return created, await client.find_ids_by_name(Kind.LIST, "Newsletter")

    created, found = asyncio.run(run())
    assert found == [created]
    assert emulator.request_counts(CANARY_KEY)["create_list"] == 1
    assert client.request_counts["create_list"] == 3  # two attempts that never connected, one sent


def test_a_throttle_longer_than_max_wait_fails_at_once(scripted: Scripted) -> None:
    """A spent daily limit (create_list: 150 a day) says so instead of holding a run for hours."""
    body = {
        "errors": [
            {
                "id": "1",
                "status": 429,
                "code": "throttled",
                "title": "Request was throttled.",
                "detail": "Request was throttled. Expected available in 43200 seconds.",
            }
        ]
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json=body, headers={"Retry-After": "43200"})

    async def run() -> None:
        async with KlaviyoClient(CANARY_KEY, transport=scripted(handler), pacing=False, max_wait=900) as client:
            await client.create_list("One too many")

    with pytest.raises(RateLimitError) as caught:
        asyncio.run(run())
    assert caught.value.operation == "create_list" and caught.value.status == 429
    assert "43200 s" in str(caught.value) and "daily limit" in caught.value.hint
    assert len(seen) == 1


def test_a_server_error_that_persists_keeps_klaviyos_words_and_a_hint(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator(faults="get_tag_groups:error=500")

    async def run() -> None:
        async with make_client(emulator, max_retries=1) as client:
            [page async for page in client.paginate("get_tag_groups")]

    with pytest.raises(ServerError) as caught:
        asyncio.run(run())
    assert (caught.value.status, caught.value.code) == (500, "error")
    assert str(caught.value).startswith("get_tag_groups failed: HTTP 500 error: ")
    assert "server error" in caught.value.hint and "run the command again" in caught.value.hint
    assert _statuses(emulator, "get_tag_groups") == [500, 500]


def test_an_update_whose_answer_is_lost_is_sent_again(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    """PATCH sets attributes to given values: sending it twice changes nothing more than sending it once."""
    emulator = make_emulator(faults="update_tag:drop#1;update_template:drop#1")

    async def run() -> tuple[str, list[str], list[str]]:
        async with make_client(emulator) as client:
            group = await client.create_tag_group("G", exclusive=False)
            tag = await client.create_tag(group, "Old")
            template = await client.create_template({"name": "T", "editor_type": "CODE", "html": "<p>old</p>"})
            await client.update_tag(tag, "New")
            await client.update_template(template, {"html": "<p>new</p>"})
            document = await client.request("get_template", path_params={"id": template})
            assert document is not None and document["data"]["attributes"]["html"] == "<p>new</p>"
            return tag, await client.find_ids_by_name(Kind.TAG, "New"), await client.find_ids_by_name(Kind.TAG, "Old")

    tag, renamed, old = asyncio.run(run())
    assert (renamed, old) == ([tag], [])
    assert _statuses(emulator, "update_tag") == [204, 204]
    assert _statuses(emulator, "update_template") == [200, 200]

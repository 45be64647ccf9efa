"""The typed calls: every write round-trips through the emulator, and look-ups by name are exact."""

from __future__ import annotations

import asyncio

import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.errors import NotFoundError
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Kind, State
from tests.client.conftest import MakeClient, MakeEmulator
from tests.support.canary import CANARY_KEY

AWKWARD_NAMES = ["Plain", 'Tony\'s "best" ball', "back\\slash", "Ünïcödé — 日本", "comma, (paren) [bracket]"]


def test_every_write_round_trips(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()

    async def scenario() -> tuple[State, State]:
        async with make_client(emulator) as client:
            group = await client.create_tag_group("Lifecycle", exclusive=True)
            tag = await client.create_tag(group, "VIP")
            other = await client.create_tag(group, "Lapsed")
            newsletter = await client.create_list("Newsletter", "single_opt_in")
            default_opt_in = await client.create_list("Defaults", None)
            template = await client.create_template({"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi</p>", "text": "Hi"})
            clone = await client.clone_template(template, "Welcome (FR)")
            await client.tag_lists(tag, [newsletter, default_opt_in, newsletter])
            await client.tag_lists(tag, [newsletter])  # linking again is no error
            await client.untag_lists(tag, [default_opt_in])
            await client.untag_lists(tag, [])  # nothing to do: no request
            await client.update_tag_group(group, "Lifecycle stage")
            await client.update_tag(other, "Dormant")
            await client.update_list(newsletter, {"name": "Weekly newsletter", "opt_in_process": "double_opt_in"})
            await client.update_template(clone, {"html": "<p>Bonjour</p>", "text": "Bonjour"})
            first = await read_live_state(client)
            await client.delete_template(template)
            await client.delete_list(default_opt_in)
            await client.delete_tag(other)
            return first, await read_live_state(client)

    first, second = asyncio.run(scenario())
    assert first.get(Kind.TAG_GROUP, ("Lifecycle stage",)).attrs["exclusive"] is True  # type: ignore[union-attr]
    assert {r.key for r in first.of_kind(Kind.TAG)} == {("Lifecycle stage", "VIP"), ("Lifecycle stage", "Dormant")}
    assert first.get(Kind.LIST, ("Weekly newsletter",)).attrs["opt_in_process"] == "double_opt_in"  # type: ignore[union-attr]
    assert first.get(Kind.LIST, ("Defaults",)).attrs["opt_in_process"] == "double_opt_in"  # type: ignore[union-attr]
    assert [r.key for r in first.of_kind(Kind.LIST_TAG)] == [("Weekly newsletter", "Lifecycle stage", "VIP")]
    french = first.get(Kind.TEMPLATE, ("Welcome (FR)",))
    assert french is not None and dict(french.attrs) == {"editor_type": "CODE", "html": "<p>Bonjour</p>", "text": "Bonjour"}
    assert first.get(Kind.TEMPLATE, ("Welcome",)).attrs["html"] == "<p>Hi</p>"  # type: ignore[union-attr]
    assert [r.key for r in second.of_kind(Kind.TEMPLATE)] == [("Welcome (FR)",)]
    assert [r.key for r in second.of_kind(Kind.LIST)] == [("Weekly newsletter",)]
    assert [r.key for r in second.of_kind(Kind.TAG)] == [("Lifecycle stage", "VIP")]
    assert emulator.request_counts(CANARY_KEY)["remove_tag_from_lists"] == 1
    assert emulator.request_counts(CANARY_KEY)["tag_lists"] == 2


def test_delete_tag_group_removes_its_tags(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()

    async def scenario() -> State:
        async with make_client(emulator) as client:
            group = await client.create_tag_group("Temporary", exclusive=False)
            await client.create_tag(group, "Gone soon")
            await client.delete_tag_group(group)
            return await read_live_state(client)

    state = asyncio.run(scenario())
    assert [r.key for r in state.of_kind(Kind.TAG_GROUP)] == [("Default",)]
    assert state.of_kind(Kind.TAG) == []


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_find_ids_by_name_is_exact_for_every_kind(make_emulator: MakeEmulator, make_client: MakeClient, name: str) -> None:
    emulator = make_emulator()

    async def scenario(client: KlaviyoClient) -> None:
        group = await client.create_tag_group(name, exclusive=False)
        other_group = await client.create_tag_group(f"{name} 2", exclusive=False)
        tag = await client.create_tag(group, name)
        same_name_elsewhere = await client.create_tag(other_group, name)
        await client.create_tag(group, f"{name} (longer)")
        list_id = await client.create_list(name, None)
        await client.create_list(f"prefix {name}", None)
        template = await client.create_template({"name": name, "editor_type": "CODE", "html": "<p/>"})
        await client.create_template({"name": f"{name}x", "editor_type": "CODE", "html": "<p/>"})

        assert await client.find_ids_by_name(Kind.TAG_GROUP, name) == [group]
        assert sorted(await client.find_ids_by_name(Kind.TAG, name)) == sorted([tag, same_name_elsewhere])
        assert await client.find_ids_by_name(Kind.TAG, name, group_id=group) == [tag]
        assert await client.find_ids_by_name(Kind.TAG, name, group_id=other_group) == [same_name_elsewhere]
        assert await client.find_ids_by_name(Kind.LIST, name) == [list_id]
        assert await client.find_ids_by_name(Kind.TEMPLATE, name) == [template]
        assert await client.find_ids_by_name(Kind.TEMPLATE, f"{name} missing") == []

    async def run() -> None:
        async with make_client(emulator) as client:
            await scenario(client)

    asyncio.run(run())


def test_find_ids_by_name_finds_every_duplicate(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()
    emulator.seed(CANARY_KEY, {"lists": [{"name": "Same", "opt_in_process": None, "tags": []}] * 12})

    async def run() -> list[str]:
        async with make_client(emulator) as client:
            return await client.find_ids_by_name(Kind.LIST, "Same")

    assert len(set(asyncio.run(run()))) == 12  # more than one page of 10


def test_find_ids_by_name_refuses_links() -> None:
    client = KlaviyoClient(CANARY_KEY)
    with pytest.raises(ValueError, match="list tags have no name"):
        asyncio.run(client.find_ids_by_name(Kind.LIST_TAG, "x"))


def test_deleting_a_missing_object_is_not_found(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()

    async def run() -> None:
        async with make_client(emulator) as client:
            list_id = await client.create_list("Once", None)
            await client.delete_list(list_id)
            await client.delete_list(list_id)

    with pytest.raises(NotFoundError) as caught:
        asyncio.run(run())
    assert caught.value.operation == "delete_list" and caught.value.status == 404
    assert emulator.request_counts(CANARY_KEY)["delete_list"] == 2  # a first-attempt 404 is an answer, not retried

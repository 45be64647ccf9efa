"""Reading an account into the model: exact shapes, the minimum number of requests, in process and on loopback."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Kind, State, content_hash
from tests.client.conftest import MakeClient, MakeEmulator, seed_account
from tests.support.canary import CANARY_KEY
from tests.support.definitions import minimal_definition
from tests.support.fixtures import ServedEmulator

# Universal content pages hold 100 blocks when asked (20 by default): the reader asks.
LOWER_BOUND = math.ceil(95 / 10) + math.ceil(23 / 10) + math.ceil(120 / 50) + math.ceil(7 / 25) + math.ceil(130 / 100)


async def _read(client: KlaviyoClient) -> State:
    async with client:
        return await read_live_state(client)


@pytest.mark.parametrize("quirks", [False, True], ids=["spec", "quirks"])
def test_reading_a_large_account_takes_exactly_the_lower_bound_of_requests(
    make_emulator: MakeEmulator, make_client: MakeClient, quirks: bool
) -> None:
    emulator = make_emulator(quirks=quirks)
    emulator.seed(CANARY_KEY, seed_account(tag_groups=7, tags=120, lists=23, templates=95, blocks=130))
    client = make_client(emulator)
    state = asyncio.run(_read(client))

    assert LOWER_BOUND == 19
    counts = emulator.request_counts(CANARY_KEY)
    assert counts == {"get_templates": 10, "get_lists": 3, "get_tags": 3, "get_tag_groups": 1, "get_all_universal_content": 2}
    assert sum(counts.values()) == LOWER_BOUND
    assert dict(client.request_counts) == counts
    assert [len(state.of_kind(kind)) for kind in (Kind.TAG_GROUP, Kind.TAG, Kind.LIST, Kind.TEMPLATE)] == [7, 120, 23, 95]
    assert len(state.of_kind(Kind.LIST_TAG)) == 23 * 3
    assert len(state.of_kind(Kind.UNIVERSAL_CONTENT)) == 130
    assert not state.conflicts


def test_resources_have_the_manifest_loaders_shape(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()
    emulator.seed(
        CANARY_KEY,
        {
            "tag_groups": [{"name": "Lifecycle", "exclusive": True}, {"name": "Channel", "exclusive": False}],
            "tags": [{"group": "Lifecycle", "name": "VIP"}, {"group": "Channel", "name": "Email"}],
            "lists": [
                {"name": "Newsletter", "opt_in_process": "double_opt_in", "tags": [["Lifecycle", "VIP"], ["Channel", "Email"]]},
                {"name": "Quiet", "opt_in_process": "single_opt_in", "tags": []},
            ],
            "templates": [{"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi {{ first_name }}</p>", "text": "Hi"}],
        },
    )
    state = asyncio.run(_read(make_client(emulator)))
    live = emulator.dump()

    default = state.get(Kind.TAG_GROUP, ("Default",))
    assert default is not None and dict(default.attrs) == {"exclusive": False, "default": True}
    lifecycle = state.get(Kind.TAG_GROUP, ("Lifecycle",))
    assert lifecycle is not None and dict(lifecycle.attrs) == {"exclusive": True, "default": False}
    vip = state.get(Kind.TAG, ("Lifecycle", "VIP"))
    assert vip is not None and dict(vip.attrs) == {} and vip.id and vip.version
    newsletter = state.get(Kind.LIST, ("Newsletter",))
    (account,) = live["accounts"].values()
    lists_created = {item["name"]: item["created"] for item in account["lists"].values()}
    assert newsletter is not None
    assert dict(newsletter.attrs) == {"opt_in_process": "double_opt_in", "created": lists_created["Newsletter"]}
    quiet = state.get(Kind.LIST, ("Quiet",))
    assert quiet is not None
    assert dict(quiet.attrs) == {"opt_in_process": "single_opt_in", "created": lists_created["Quiet"]}
    link = state.get(Kind.LIST_TAG, ("Newsletter", "Lifecycle", "VIP"))
    assert link is not None and link.id == f"{newsletter.id}:{vip.id}" and dict(link.attrs) == {}
    assert state.get(Kind.LIST_TAG, ("Newsletter", "Channel", "Email")) is not None
    assert len(state.of_kind(Kind.LIST_TAG)) == 2
    welcome = state.get(Kind.TEMPLATE, ("Welcome",))
    assert welcome is not None
    assert dict(welcome.attrs) == {"editor_type": "CODE", "html": "<p>Hi {{ first_name }}</p>", "text": "Hi"}

    # Versions: Klaviyo's `updated` where it has one, a content hash where it has none (tags, groups).
    assert newsletter.version == _attributes(live, "list", newsletter.id)["updated"]
    assert welcome.version == _attributes(live, "template", welcome.id)["updated"]
    assert lifecycle.version == content_hash({"name": "Lifecycle", "exclusive": True, "default": False})


def _attributes(dump: Any, kind: str, object_id: str | None) -> dict[str, Any]:
    """An object's attributes from the emulator's state dump, whatever its layout (found by id)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("id") == object_id:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dump)
    assert found, f"{kind} {object_id} not in the emulator's dump"
    record = found[0]
    return record.get("attributes", record)


def test_versions_change_when_objects_change(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    now = [1_780_000_000.0]
    emulator = make_emulator(clock=lambda: now[0])
    emulator.seed(CANARY_KEY, seed_account(tag_groups=2, tags=2, lists=1, templates=1))

    async def scenario() -> tuple[State, State]:
        async with make_client(emulator) as client:
            before = await read_live_state(client)
            template = before.of_kind(Kind.TEMPLATE)[0]
            group = before.get(Kind.TAG_GROUP, ("Group 1",))
            assert template.id and group and group.id
            now[0] += 60
            await client.update_template(template.id, {"html": "<p>changed</p>"})
            await client.update_tag_group(group.id, "Group One")
            return before, await read_live_state(client)

    before, after = asyncio.run(scenario())
    old_template, new_template = before.of_kind(Kind.TEMPLATE)[0], after.of_kind(Kind.TEMPLATE)[0]
    assert old_template.version != new_template.version
    assert new_template.attrs["html"] == "<p>changed</p>"
    assert after.get(Kind.TAG_GROUP, ("Group 1",)) is None
    renamed = after.get(Kind.TAG_GROUP, ("Group One",))
    assert renamed is not None and renamed.version != before.get(Kind.TAG_GROUP, ("Group 1",)).version  # type: ignore[union-attr]
    # The tags of the renamed group are now keyed under its new name.
    assert {tag.key[0] for tag in after.of_kind(Kind.TAG)} == {"Default", "Group One"}


def test_duplicate_names_are_conflicts_not_overwrites(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()
    emulator.seed(
        CANARY_KEY,
        {
            "lists": [{"name": "Twins", "opt_in_process": "double_opt_in", "tags": []}] * 2,
            "templates": [{"name": "Same", "editor_type": "CODE", "html": "<p>a</p>", "text": None}] * 2,
        },
    )
    state = asyncio.run(_read(make_client(emulator)))
    assert len(state.conflicts[(Kind.TEMPLATE, ("Same",))]) == 2
    assert len(state.conflicts[(Kind.LIST, ("Twins",))]) == 2
    ids = {resource.id for resource in state.conflicts[(Kind.TEMPLATE, ("Same",))]}
    assert len(ids) == 2


def test_drag_and_drop_definitions_are_fetched_per_template_only_for_those(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator()
    emulator.seed(CANARY_KEY, seed_account(tag_groups=1, tags=0, lists=0, templates=3))
    definition = minimal_definition()

    async def scenario() -> State:
        async with make_client(emulator) as client:
            await client.create_template({"name": "Drag", "editor_type": "SYSTEM_DRAGGABLE", "definition": definition})
            return await read_live_state(client)

    state = asyncio.run(scenario())
    drag = state.get(Kind.TEMPLATE, ("Drag",))
    assert drag is not None
    assert drag.attrs["editor_type"] == "SYSTEM_DRAGGABLE"
    assert drag.attrs["definition"]["body"] == definition["body"]
    assert "definition" not in state.get(Kind.TEMPLATE, ("Template 000",)).attrs  # type: ignore[union-attr]
    assert emulator.request_counts(CANARY_KEY)["get_template"] == 1


def test_reading_over_loopback_matches_reading_in_process(
    make_emulator: MakeEmulator, make_client: MakeClient, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    emulator: Emulator = make_emulator()
    emulator.seed(CANARY_KEY, seed_account(tag_groups=3, tags=60, lists=12, templates=21))
    in_process = asyncio.run(_read(make_client(emulator)))
    emulator.request_log.clear()
    served = serve_emulator(emulator)
    assert served.base_url.startswith("http://127.0.0.1:")
    over_loopback = asyncio.run(_read(KlaviyoClient(CANARY_KEY, base_url=served.base_url, time_scale=0.001)))
    assert list(over_loopback) == list(in_process)
    assert sum(emulator.request_counts(CANARY_KEY).values()) == 3 + 2 + 2 + 1 + 1  # the last: universal content

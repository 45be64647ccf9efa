"""Lists: declared under `lists:`; at most 150 created a day; a list's tags are its links (`list_tag`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, DailyCap, Ids, Kind, KindSpec, Lookup, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Resource


async def _create(client: Any, desired: Resource, ids: Ids) -> str:
    return await client.create_list(desired.name, desired.attrs.get("opt_in_process"))


async def _update(client: Any, object_id: str, change: Change, attributes: Mapping[str, Any]) -> None:
    if attributes:
        await client.update_list(object_id, attributes)


SPEC = register(
    KindSpec(
        Kind.LIST,
        "list",
        ("name",),
        fields=("opt_in_process",),
        rank=2,
        actions=frozenset({Action.CREATE, Action.UPDATE, Action.RENAME, Action.DELETE}),
        section="lists",
        daily_cap=DailyCap(150),
        brings=((Kind.LIST_TAG, True),),
        requests=Requests(
            {
                Action.CREATE: "create_list",
                Action.UPDATE: "update_list",
                Action.RENAME: "update_list",
                Action.DELETE: "delete_list",
            },
            create=_create,
            lookup=Lookup("get_lists", list_filter=True),
            update=_update,
            delete=lambda client, object_id: client.delete_list(object_id),
        ),
    )
)

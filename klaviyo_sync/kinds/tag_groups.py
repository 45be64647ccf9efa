"""Tag groups: declared under `tag_groups:`; `exclusive` cannot change in place; the default group is never deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, Ids, Kind, KindSpec, Limit, Lookup, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Resource


async def _create(client: Any, desired: Resource, ids: Ids) -> str:
    return await client.create_tag_group(desired.name, bool(desired.attrs.get("exclusive", False)))


async def _update(client: Any, object_id: str, change: Change, attributes: Mapping[str, Any]) -> None:
    if "name" in attributes:  # a group's only changeable attribute is its name
        await client.update_tag_group(object_id, attributes["name"])


SPEC = register(
    KindSpec(
        Kind.TAG_GROUP,
        "tag group",
        ("name",),
        fields=("exclusive",),
        replace_on=("exclusive",),
        rank=0,
        actions=frozenset({Action.CREATE, Action.RENAME, Action.REPLACE, Action.DELETE}),
        section="tag_groups",
        limit=Limit(50, "tag groups (the default group included)", "tag groups"),
        brings=((Kind.TAG, False),),
        requests=Requests(
            {Action.CREATE: "create_tag_group", Action.RENAME: "update_tag_group", Action.DELETE: "delete_tag_group"},
            create=_create,
            lookup=Lookup("get_tag_groups"),
            update=_update,
            delete=lambda client, object_id: client.delete_tag_group(object_id),
        ),
    )
)

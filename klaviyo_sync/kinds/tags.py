"""Tags: declared inside their group, keyed (group, name); a tag cannot move between groups (a replace)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, Ids, Kind, KindSpec, Limit, Lookup, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Key, Resource


def _needs(key: Key, desired: Resource | None) -> set[tuple[Kind, Key]]:
    return {(Kind.TAG_GROUP, key[:1])}


def _group_id(desired: Resource, ids: Ids) -> str:
    return ids.require(Kind.TAG_GROUP, desired.key[:1])


async def _create(client: Any, desired: Resource, ids: Ids) -> str:
    return await client.create_tag(_group_id(desired, ids), desired.name)


async def _update(client: Any, object_id: str, change: Change, attributes: Mapping[str, Any]) -> None:
    if "name" in attributes:
        await client.update_tag(object_id, attributes["name"])


SPEC = register(
    KindSpec(
        Kind.TAG,
        "tag",
        ("group", "name"),
        replace_on=("group",),
        rank=1,
        actions=frozenset({Action.CREATE, Action.RENAME, Action.REPLACE, Action.DELETE}),
        limit=Limit(500, "tags", "tags"),
        needs=_needs,
        requests=Requests(
            {Action.CREATE: "create_tag", Action.RENAME: "update_tag", Action.DELETE: "delete_tag"},
            create=_create,
            lookup=Lookup("get_tags", params={"include": "tag-group"}, scope_relationship="tag-group"),
            update=_update,
            delete=lambda client, object_id: client.delete_tag(object_id),
            lookup_scope=_group_id,
        ),
    )
)

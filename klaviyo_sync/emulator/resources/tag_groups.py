"""Tag groups, and the reads of a group's tags."""

from __future__ import annotations

from typing import Any

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id
from klaviyo_sync.emulator.documents import identifiers
from klaviyo_sync.emulator.errors import invalid
from klaviyo_sync.emulator.query import paginate


def get_tag_groups(ctx: Context) -> Result:
    page = paginate(filtered(list(ctx.acct.tag_groups.values()), ctx.query), ctx.query)
    return 200, ctx.collection([ctx.serializer.tag_group(r) for r in page.items], page.next_cursor, page.prev_cursor)


def get_tag_group(ctx: Context) -> Result:
    return 200, ctx.document(ctx.serializer.tag_group(ctx.store.get_tag_group(ctx.acct, path_id(ctx))))


def create_tag_group(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag-group")
    _reject_immutable_group_fields(data, creating=True)
    attrs = bodies.attributes(data, bodies.TAG_GROUP_CREATE)
    record = ctx.store.create_tag_group(ctx.acct, attrs["name"], bool(attrs.get("exclusive") or False))
    return 201, ctx.document(ctx.serializer.tag_group(record))


def update_tag_group(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag-group", path_id=path_id(ctx))
    ctx.store.get_tag_group(ctx.acct, path_id(ctx))
    _reject_immutable_group_fields(data, creating=False)
    attrs = bodies.attributes(data, bodies.TAG_GROUP_UPDATE)
    ctx.store.update_tag_group(ctx.acct, path_id(ctx), attrs["name"])
    return 204, None


def _reject_immutable_group_fields(data: dict[str, Any], *, creating: bool) -> None:
    attrs = data.get("attributes")
    if not isinstance(attrs, dict):
        return
    if "default" in attrs:
        detail = (
            "No other default tag group can be created; every account has exactly one."
            if creating
            else "A tag group's 'default' value cannot be changed."
        )
        raise invalid(detail, pointer="/data/attributes/default")
    if not creating and "exclusive" in attrs:
        raise invalid(
            "A tag group's 'exclusive' value cannot be changed; create a new group instead.", pointer="/data/attributes/exclusive"
        )


def delete_tag_group(ctx: Context) -> Result:
    ctx.store.delete_tag_group(ctx.acct, path_id(ctx))
    return 204, None


def get_tags_for_tag_group(ctx: Context) -> Result:
    ctx.store.get_tag_group(ctx.acct, path_id(ctx))
    return 200, ctx.collection([ctx.serializer.tag(t) for t in ctx.acct.tags_of_group(path_id(ctx))])


def get_tag_ids_for_tag_group(ctx: Context) -> Result:
    ctx.store.get_tag_group(ctx.acct, path_id(ctx))
    return 200, ctx.collection(identifiers("tag", [t["id"] for t in ctx.acct.tags_of_group(path_id(ctx))]))


RESOURCE = Resource(
    "tag_groups",
    (
        get_tag_groups,
        get_tag_group,
        create_tag_group,
        update_tag_group,
        delete_tag_group,
        get_tags_for_tag_group,
        get_tag_ids_for_tag_group,
    ),
)

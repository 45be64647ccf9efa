"""Tags, their links to lists and the reads of a tag's group."""

from __future__ import annotations

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id, with_included
from klaviyo_sync.emulator.documents import identifiers
from klaviyo_sync.emulator.errors import invalid
from klaviyo_sync.emulator.query import paginate


def get_tags(ctx: Context) -> Result:
    page = paginate(filtered(list(ctx.acct.tags.values()), ctx.query), ctx.query)
    serializer = ctx.serializer
    document = ctx.collection([serializer.tag(r) for r in page.items], page.next_cursor, page.prev_cursor)
    return 200, with_included(document, serializer.included_for_tags(page.items))


def get_tag(ctx: Context) -> Result:
    record = ctx.store.get_tag(ctx.acct, path_id(ctx))
    serializer = ctx.serializer
    return 200, with_included(ctx.document(serializer.tag(record)), serializer.included_for_tags([record]))


def create_tag(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag")
    attrs = bodies.attributes(data, bodies.TAG_CREATE)
    record = ctx.store.create_tag(ctx.acct, attrs["name"], bodies.tag_group_relationship(data))
    return 201, ctx.document(ctx.serializer.tag(record))


def update_tag(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag", path_id=path_id(ctx))
    if "relationships" in data:
        ctx.store.get_tag(ctx.acct, path_id(ctx))
        raise invalid(
            "Only a tag's name can be changed; a tag cannot be moved to another tag group. "
            "Delete it and create it in the other group instead.",
            pointer="/data/relationships",
        )
    attrs = bodies.attributes(data, bodies.TAG_UPDATE)
    ctx.store.update_tag(ctx.acct, path_id(ctx), attrs["name"])
    return 204, None


def delete_tag(ctx: Context) -> Result:
    ctx.store.delete_tag(ctx.acct, path_id(ctx))
    return 204, None


def tag_lists(ctx: Context) -> Result:
    ctx.store.tag_lists(ctx.acct, path_id(ctx), bodies.list_identifiers(ctx.body))
    return 204, None


def remove_tag_from_lists(ctx: Context) -> Result:
    ctx.store.untag_lists(ctx.acct, path_id(ctx), bodies.list_identifiers(ctx.body))
    return 204, None


def get_list_ids_for_tag(ctx: Context) -> Result:
    ctx.store.get_tag(ctx.acct, path_id(ctx))
    return 200, ctx.collection(identifiers("list", [item["id"] for item in ctx.acct.lists_of_tag(path_id(ctx))]))


def get_tag_group_for_tag(ctx: Context) -> Result:
    tag = ctx.store.get_tag(ctx.acct, path_id(ctx))
    return 200, ctx.document(ctx.serializer.tag_group(ctx.acct.tag_groups[tag["group_id"]]))


def get_tag_group_id_for_tag(ctx: Context) -> Result:
    tag = ctx.store.get_tag(ctx.acct, path_id(ctx))
    return 200, ctx.document({"type": "tag-group", "id": tag["group_id"]})


RESOURCE = Resource(
    "tags",
    (
        get_tags,
        get_tag,
        create_tag,
        update_tag,
        delete_tag,
        tag_lists,
        remove_tag_from_lists,
        get_list_ids_for_tag,
        get_tag_group_for_tag,
        get_tag_group_id_for_tag,
    ),
)

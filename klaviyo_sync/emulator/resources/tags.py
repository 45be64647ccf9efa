"""Tags, their links to lists, the reads of a tag's group, and what else carries a tag: flows, campaigns, segments.

The emulator serves no campaigns or segments, and flows are tagged in Klaviyo's UI, so which flows, campaigns and
segments carry a tag is seeded (`tag_associations`, `seed_tag_associations`) and kept beside the tag; a flow that
is deleted no longer carries it.
"""

from __future__ import annotations

from typing import Any

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id, with_included
from klaviyo_sync.emulator.documents import identifiers
from klaviyo_sync.emulator.errors import invalid
from klaviyo_sync.emulator.flowstore import FLOWS
from klaviyo_sync.emulator.query import paginate
from klaviyo_sync.emulator.store import Account, Store

ASSOCIATIONS = "tag_associations"  # tag id -> {"id", "flows": [...], "campaigns": [...], "segments": [...]}
CARRIERS = ("flows", "campaigns", "segments")


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


def get_flow_ids_for_tag(ctx: Context) -> Result:
    return 200, ctx.collection(identifiers("flow", _carriers(ctx, "flows")))


def get_campaign_ids_for_tag(ctx: Context) -> Result:
    return 200, ctx.collection(identifiers("campaign", _carriers(ctx, "campaigns")))


def get_segment_ids_for_tag(ctx: Context) -> Result:
    return 200, ctx.collection(identifiers("segment", _carriers(ctx, "segments")))


def _carriers(ctx: Context, name: str) -> list[str]:
    tag = ctx.store.get_tag(ctx.acct, path_id(ctx))
    ids = list(ctx.acct.collection(ASSOCIATIONS).get(tag["id"], {}).get(name, []))
    if name == "flows":
        ids = [flow_id for flow_id in ids if flow_id in ctx.acct.collection(FLOWS)]
    return ids


def seed_tag_associations(store: Store, acct: Account, entries: list[dict[str, Any]]) -> list[str]:
    """Seed entries: `tag` (an id) or `group` and `name`, with any of `flows` (ids of flows the emulator serves),
    `campaigns` and `segments` (ids); each list is added to what the tag already carries. Returns the tag ids."""
    ids = []
    for entry in entries:
        tag_id = entry["tag"] if "tag" in entry else _tag_id(acct, entry["group"], entry["name"])
        store.get_tag(acct, tag_id)
        record = acct.collection(ASSOCIATIONS).setdefault(tag_id, {"id": tag_id, **{name: [] for name in CARRIERS}})
        for name in CARRIERS:
            for carrier in entry.get(name, []):
                if not isinstance(carrier, str) or not carrier:
                    raise invalid(f"seed: tag_associations {name} are ids, not {carrier!r}")
                if name == "flows" and carrier not in acct.collection(FLOWS):
                    raise invalid(f"seed: tag_associations names flow {carrier}, which does not exist")
                if carrier not in record[name]:
                    record[name].append(carrier)
        ids.append(tag_id)
    return ids


def _tag_id(acct: Account, group_name: str, name: str) -> str:
    group_ids = {group["id"] for group in acct.tag_groups.values() if group["name"] == group_name}
    found = next((tag["id"] for tag in acct.tags.values() if tag["group_id"] in group_ids and tag["name"] == name), None)
    if found is None:
        raise invalid(f"seed: tag_associations names unknown tag '{group_name}' / '{name}'")
    return str(found)


# What carries a tag besides lists: a resource of its own for its seed key (`tag_associations`).
CARRIED_BY = Resource(
    ASSOCIATIONS, (get_flow_ids_for_tag, get_campaign_ids_for_tag, get_segment_ids_for_tag), seed=seed_tag_associations
)

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

"""Lists, the reads of a list's tags, and what a list reaches: its profile count and the flows it triggers.

A list's `profile_count` is seeded (the emulator keeps no profiles): in the state, through the seed route's
`lists[].profile_count` or the `profile-counts` control route. `flow-triggers` are derived from the flows the
emulator serves, each of which has one trigger: the flows whose trigger is the list ([SPEC] only those, not flows
testing membership in a filter or split).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id, with_included
from klaviyo_sync.emulator.documents import identifiers
from klaviyo_sync.emulator.query import Query, paginate
from klaviyo_sync.emulator.resources.flows import flows_triggered_by_list


def get_lists(ctx: Context) -> Result:
    page = paginate(filtered(list(ctx.acct.lists.values()), ctx.query), ctx.query)
    serializer = ctx.serializer
    document = ctx.collection([serializer.list(r) for r in page.items], page.next_cursor, page.prev_cursor)
    return 200, _with_flow_triggers(ctx, with_included(document, serializer.included_for_lists(page.items)))


def get_list(ctx: Context) -> Result:
    record = ctx.store.get_list(ctx.acct, path_id(ctx))
    serializer = ctx.serializer
    profile_count = "profile_count" in ctx.query.additional_fields.get("list", [])
    document = ctx.document(serializer.list(record, profile_count=profile_count))
    return 200, _with_flow_triggers(ctx, with_included(document, serializer.included_for_lists([record])))


def create_list(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "list"), bodies.LIST_CREATE)
    record = ctx.store.create_list(ctx.acct, attrs["name"], attrs.get("opt_in_process"), daily_cap=ctx.daily_list_cap)
    return 201, ctx.document(ctx.serializer.list(record))


def update_list(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "list", path_id=path_id(ctx)), bodies.LIST_UPDATE)
    record = ctx.store.update_list(ctx.acct, path_id(ctx), attrs)
    return 200, ctx.document(ctx.serializer.list(record))


def delete_list(ctx: Context) -> Result:
    ctx.store.delete_list(ctx.acct, path_id(ctx))
    return 204, None


def get_tags_for_list(ctx: Context) -> Result:
    ctx.store.get_list(ctx.acct, path_id(ctx))
    return 200, ctx.collection([ctx.serializer.tag(t) for t in ctx.acct.tags_of_list(path_id(ctx))])


def get_tag_ids_for_list(ctx: Context) -> Result:
    ctx.store.get_list(ctx.acct, path_id(ctx))
    return 200, ctx.collection(identifiers("tag", [t["id"] for t in ctx.acct.tags_of_list(path_id(ctx))]))


def get_flows_triggered_by_list(ctx: Context) -> Result:
    ctx.store.get_list(ctx.acct, path_id(ctx))
    return 200, ctx.collection(flows_triggered_by_list(ctx, path_id(ctx)))


def get_ids_for_flows_triggered_by_list(ctx: Context) -> Result:
    ctx.store.get_list(ctx.acct, path_id(ctx))
    return 200, ctx.collection(identifiers("flow", [flow["id"] for flow in flows_triggered_by_list(ctx, path_id(ctx))]))


def _with_flow_triggers(ctx: Context, document: dict[str, Any]) -> dict[str, Any]:
    """`include=flow-triggers`: each list's triggered flows as relationship data, the flows in `included` once."""
    if "flow-triggers" not in ctx.query.include:
        return document
    plain = replace(ctx, query=Query(fields=ctx.query.fields))  # the included flows carry no includes of their own
    data = document["data"]
    included = {item["id"]: item for item in document.get("included", []) if item["type"] == "flow"}
    for item in data if isinstance(data, list) else [data]:
        flows = flows_triggered_by_list(plain, item["id"])
        item["relationships"]["flow-triggers"]["data"] = identifiers("flow", [flow["id"] for flow in flows])
        for flow in flows:
            included.setdefault(flow["id"], flow)
    document["included"] = [item for item in document.get("included", []) if item["type"] != "flow"] + list(included.values())
    return document


RESOURCE = Resource(
    "lists",
    (
        get_lists,
        get_list,
        create_list,
        update_list,
        delete_list,
        get_tags_for_list,
        get_tag_ids_for_list,
        get_flows_triggered_by_list,
        get_ids_for_flows_triggered_by_list,
    ),
)

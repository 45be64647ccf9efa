"""One function per operation: read the checked request, call the store, build the document.

Each handler gets a `Context` and returns `(status, document or None)`. The status is the spec's success
status for the operation (201 for creates and render; 204 with no body for tag and tag-group PATCH, every
DELETE and relationship change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.documents import Links, Serializer, identifiers
from klaviyo_sync.emulator.errors import invalid
from klaviyo_sync.emulator.query import Query, matches, paginate
from klaviyo_sync.emulator.rendering import render
from klaviyo_sync.emulator.store import Account, Store

Result = tuple[int, dict[str, Any] | None]


@dataclass
class Context:
    store: Store
    acct: Account
    query: Query
    path: str  # the request path without a trailing slash
    path_id: str | None
    body: Any
    links: Links
    quirks: bool
    daily_list_cap: bool = True  # False while the rate limiter applies create_list's daily window itself

    @property
    def serializer(self) -> Serializer:
        return Serializer(self.links, self.query, self.acct)

    def self_link(self) -> str:
        query = urlencode(self.query.raw)
        return self.links.url(self.path) + (f"?{query}" if query else "")

    def document(self, data: Any) -> dict[str, Any]:
        """A single-resource document; its `links.self` is the resource's own URL when it has one."""
        own = data.get("links", {}).get("self") if isinstance(data, dict) else None
        return {"data": data, "links": {"self": own or self.self_link()}}

    def collection(self, data: list[Any], next_cursor: str | None = None, prev_cursor: str | None = None) -> dict[str, Any]:
        links: dict[str, Any] = {"self": self.self_link()}
        for name, cursor in (("next", next_cursor), ("prev", prev_cursor)):
            if cursor is not None:
                pairs = [(k, v) for k, v in self.query.raw if k != "page[cursor]"] + [("page[cursor]", cursor)]
                links[name] = f"{self.links.url(self.path)}?{urlencode(pairs)}"
            elif self.quirks:
                links[name] = None  # real Klaviyo writes the key with null; the spec has it optional, not nullable
        return {"data": data, "links": links}


def _filtered(records: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    return [r for r in records if all(matches(r.get(c.field), c) for c in query.filters)]


def _with_included(document: dict[str, Any], included: list[dict[str, Any]] | None) -> dict[str, Any]:
    if included is not None:
        document["included"] = included
    return document


# -- templates -----------------------------------------------------------------------------------


def get_templates(ctx: Context) -> Result:
    page = paginate(_filtered(list(ctx.acct.templates.values()), ctx.query), ctx.query)
    definition = "definition" in ctx.query.additional_fields.get("template", [])
    data = [ctx.serializer.template(r, definition=definition) for r in page.items]
    return 200, ctx.collection(data, page.next_cursor, page.prev_cursor)


def get_template(ctx: Context) -> Result:
    record = ctx.store.get_template(ctx.acct, _id(ctx))
    return 200, ctx.document(ctx.serializer.template(record, definition=True))


def create_template(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "template"), bodies.TEMPLATE_CREATE)
    record = ctx.store.create_template(ctx.acct, attrs)
    return 201, ctx.document(ctx.serializer.template(record, definition=True))


def update_template(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "template", path_id=_id(ctx)), bodies.TEMPLATE_UPDATE)
    record = ctx.store.update_template(ctx.acct, _id(ctx), attrs)
    return 200, ctx.document(ctx.serializer.template(record, definition=True))


def delete_template(ctx: Context) -> Result:
    ctx.store.delete_template(ctx.acct, _id(ctx))
    return 204, None


def clone_template(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "template", id_required=True)
    attrs = bodies.attributes(data, bodies.CLONE)
    record = ctx.store.clone_template(ctx.acct, data["id"], attrs.get("name"))
    return 201, ctx.document(ctx.serializer.template(record, definition=False))


def render_template(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "template", id_required=True)
    context = bodies.attributes(data, bodies.RENDER)["context"]
    record = ctx.store.get_template(ctx.acct, data["id"])
    rendered = {name: render(record[name], context) for name in ("html", "text", "amp")}
    return 201, ctx.document(ctx.serializer.template(record, definition=False, rendered=rendered))


# -- lists ---------------------------------------------------------------------------------------


def get_lists(ctx: Context) -> Result:
    page = paginate(_filtered(list(ctx.acct.lists.values()), ctx.query), ctx.query)
    serializer = ctx.serializer
    document = ctx.collection([serializer.list(r) for r in page.items], page.next_cursor, page.prev_cursor)
    return 200, _with_included(document, serializer.included_for_lists(page.items))


def get_list(ctx: Context) -> Result:
    record = ctx.store.get_list(ctx.acct, _id(ctx))
    serializer = ctx.serializer
    profile_count = "profile_count" in ctx.query.additional_fields.get("list", [])
    document = ctx.document(serializer.list(record, profile_count=profile_count))
    return 200, _with_included(document, serializer.included_for_lists([record]))


def create_list(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "list"), bodies.LIST_CREATE)
    record = ctx.store.create_list(ctx.acct, attrs["name"], attrs.get("opt_in_process"), daily_cap=ctx.daily_list_cap)
    return 201, ctx.document(ctx.serializer.list(record))


def update_list(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "list", path_id=_id(ctx)), bodies.LIST_UPDATE)
    record = ctx.store.update_list(ctx.acct, _id(ctx), attrs)
    return 200, ctx.document(ctx.serializer.list(record))


def delete_list(ctx: Context) -> Result:
    ctx.store.delete_list(ctx.acct, _id(ctx))
    return 204, None


def get_tags_for_list(ctx: Context) -> Result:
    ctx.store.get_list(ctx.acct, _id(ctx))
    return 200, ctx.collection([ctx.serializer.tag(t) for t in ctx.acct.tags_of_list(_id(ctx))])


def get_tag_ids_for_list(ctx: Context) -> Result:
    ctx.store.get_list(ctx.acct, _id(ctx))
    return 200, ctx.collection(identifiers("tag", [t["id"] for t in ctx.acct.tags_of_list(_id(ctx))]))


# -- tags ----------------------------------------------------------------------------------------


def get_tags(ctx: Context) -> Result:
    page = paginate(_filtered(list(ctx.acct.tags.values()), ctx.query), ctx.query)
    serializer = ctx.serializer
    document = ctx.collection([serializer.tag(r) for r in page.items], page.next_cursor, page.prev_cursor)
    return 200, _with_included(document, serializer.included_for_tags(page.items))


def get_tag(ctx: Context) -> Result:
    record = ctx.store.get_tag(ctx.acct, _id(ctx))
    serializer = ctx.serializer
    return 200, _with_included(ctx.document(serializer.tag(record)), serializer.included_for_tags([record]))


def create_tag(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag")
    attrs = bodies.attributes(data, bodies.TAG_CREATE)
    record = ctx.store.create_tag(ctx.acct, attrs["name"], bodies.tag_group_relationship(data))
    return 201, ctx.document(ctx.serializer.tag(record))


def update_tag(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag", path_id=_id(ctx))
    if "relationships" in data:
        ctx.store.get_tag(ctx.acct, _id(ctx))
        raise invalid(
            "Only a tag's name can be changed; a tag cannot be moved to another tag group. "
            "Delete it and create it in the other group instead.",
            pointer="/data/relationships",
        )
    attrs = bodies.attributes(data, bodies.TAG_UPDATE)
    ctx.store.update_tag(ctx.acct, _id(ctx), attrs["name"])
    return 204, None


def delete_tag(ctx: Context) -> Result:
    ctx.store.delete_tag(ctx.acct, _id(ctx))
    return 204, None


def tag_lists(ctx: Context) -> Result:
    ctx.store.tag_lists(ctx.acct, _id(ctx), bodies.list_identifiers(ctx.body))
    return 204, None


def remove_tag_from_lists(ctx: Context) -> Result:
    ctx.store.untag_lists(ctx.acct, _id(ctx), bodies.list_identifiers(ctx.body))
    return 204, None


def get_list_ids_for_tag(ctx: Context) -> Result:
    ctx.store.get_tag(ctx.acct, _id(ctx))
    return 200, ctx.collection(identifiers("list", [item["id"] for item in ctx.acct.lists_of_tag(_id(ctx))]))


def get_tag_group_for_tag(ctx: Context) -> Result:
    tag = ctx.store.get_tag(ctx.acct, _id(ctx))
    return 200, ctx.document(ctx.serializer.tag_group(ctx.acct.tag_groups[tag["group_id"]]))


def get_tag_group_id_for_tag(ctx: Context) -> Result:
    tag = ctx.store.get_tag(ctx.acct, _id(ctx))
    return 200, ctx.document({"type": "tag-group", "id": tag["group_id"]})


# -- tag groups ----------------------------------------------------------------------------------


def get_tag_groups(ctx: Context) -> Result:
    page = paginate(_filtered(list(ctx.acct.tag_groups.values()), ctx.query), ctx.query)
    return 200, ctx.collection([ctx.serializer.tag_group(r) for r in page.items], page.next_cursor, page.prev_cursor)


def get_tag_group(ctx: Context) -> Result:
    return 200, ctx.document(ctx.serializer.tag_group(ctx.store.get_tag_group(ctx.acct, _id(ctx))))


def create_tag_group(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag-group")
    _reject_immutable_group_fields(data, creating=True)
    attrs = bodies.attributes(data, bodies.TAG_GROUP_CREATE)
    record = ctx.store.create_tag_group(ctx.acct, attrs["name"], bool(attrs.get("exclusive") or False))
    return 201, ctx.document(ctx.serializer.tag_group(record))


def update_tag_group(ctx: Context) -> Result:
    data = bodies.resource(ctx.body, "tag-group", path_id=_id(ctx))
    ctx.store.get_tag_group(ctx.acct, _id(ctx))
    _reject_immutable_group_fields(data, creating=False)
    attrs = bodies.attributes(data, bodies.TAG_GROUP_UPDATE)
    ctx.store.update_tag_group(ctx.acct, _id(ctx), attrs["name"])
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
    ctx.store.delete_tag_group(ctx.acct, _id(ctx))
    return 204, None


def get_tags_for_tag_group(ctx: Context) -> Result:
    ctx.store.get_tag_group(ctx.acct, _id(ctx))
    return 200, ctx.collection([ctx.serializer.tag(t) for t in ctx.acct.tags_of_group(_id(ctx))])


def get_tag_ids_for_tag_group(ctx: Context) -> Result:
    ctx.store.get_tag_group(ctx.acct, _id(ctx))
    return 200, ctx.collection(identifiers("tag", [t["id"] for t in ctx.acct.tags_of_group(_id(ctx))]))


def _id(ctx: Context) -> str:
    assert ctx.path_id is not None, "routes with {id} always carry it"
    return ctx.path_id


_ALL: tuple[Callable[[Context], Result], ...] = (
    get_templates, get_template, create_template, update_template, delete_template, clone_template, render_template,
    get_lists, get_list, create_list, update_list, delete_list, get_tags_for_list, get_tag_ids_for_list,
    get_tags, get_tag, create_tag, update_tag, delete_tag, tag_lists, remove_tag_from_lists, get_list_ids_for_tag,
    get_tag_group_for_tag, get_tag_group_id_for_tag,
    get_tag_groups, get_tag_group, create_tag_group, update_tag_group, delete_tag_group,
    get_tags_for_tag_group, get_tag_ids_for_tag_group,
)  # fmt: skip
# operationId -> handler; the function names are the spec's operationIds.
HANDLERS: dict[str, Callable[[Context], Result]] = {function.__name__: function for function in _ALL}

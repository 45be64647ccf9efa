"""Flows, flow actions, flow messages and the message's flow-owned copy (rules in `klaviyo_sync.emulator.flowstore`).

Writes on `/api/flow-messages/**` have no operation, so routing answers 405 with `Allow: GET` for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id, with_included
from klaviyo_sync.emulator.documents import trim_attributes
from klaviyo_sync.emulator.errors import invalid
from klaviyo_sync.emulator.flowstore import FlowStore, is_copy
from klaviyo_sync.emulator.query import paginate
from klaviyo_sync.emulator.store import Account, Store

FLOW_CREATE = {"name": bodies.Field(str, required=True), "definition": bodies.Field(dict, required=True)}
FLOW_UPDATE = {"status": bodies.Field(str, required=True)}
ACTION_UPDATE = {"definition": bodies.Field(dict, required=True)}


def _flows(ctx: Context) -> FlowStore:
    return FlowStore(ctx.store, ctx.acct, ctx.flow_options)


# -- resource objects -----------------------------------------------------------------------------


def _node(action: dict[str, Any]) -> dict[str, Any]:
    node = action["node"]
    return {"id": action["id"], "type": node["type"], "links": node["links"], "data": node["data"]}


def _flow(ctx: Context, fs: FlowStore, flow: dict[str, Any], *, definition: bool = False) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        name: flow[name] for name in ("name", "status", "archived", "created", "updated", "trigger_type")
    }
    if definition:
        attributes["definition"] = {
            "triggers": flow["triggers"],
            "profile_filter": flow["profile_filter"],
            "actions": [_node(action) for action in fs.actions_of(flow)],
            "entry_action_id": flow["entry_action_id"],
            "reentry_criteria": flow["reentry_criteria"],
        }
    relationships: dict[str, Any] = {
        name: {"links": ctx.links.relationship("flows", flow["id"], name)} for name in ("flow-actions", "tags")
    }
    if "flow-actions" in ctx.query.include:
        relationships["flow-actions"]["data"] = [{"type": "flow-action", "id": a} for a in flow["action_ids"]]
    if "tags" in ctx.query.include:
        relationships["tags"]["data"] = []  # the emulator keeps no flow tags
    return {
        "type": "flow",
        "id": flow["id"],
        "attributes": trim_attributes(attributes, ctx.query.fields.get("flow")),
        "relationships": relationships,
        "links": {"self": ctx.links.url(f"/api/flows/{flow['id']}")},
    }


def _action(ctx: Context, fs: FlowStore, action: dict[str, Any], node: dict[str, Any] | None = None) -> dict[str, Any]:
    attributes = {"created": action["created"], "updated": action["updated"], "definition": node or _node(action)}
    relationships: dict[str, Any] = {
        "flow": {
            "data": {"type": "flow", "id": action["flow_id"]},
            "links": ctx.links.relationship("flow-actions", action["id"], "flow"),
        },
        "flow-messages": {"links": ctx.links.relationship("flow-actions", action["id"], "flow-messages")},
    }
    if "flow-messages" in ctx.query.include:
        relationships["flow-messages"]["data"] = [{"type": "flow-message", "id": m} for m in action.get("message_ids", [])]
    return {
        "type": "flow-action",
        "id": action["id"],
        "attributes": trim_attributes(attributes, ctx.query.fields.get("flow-action")),
        "relationships": relationships,
        "links": {"self": ctx.links.url(f"/api/flow-actions/{action['id']}")},
    }


def _message(ctx: Context, fs: FlowStore, message: dict[str, Any]) -> dict[str, Any]:
    definition = fs.message_definition(message)
    attributes = {"channel": "email", "created": message["created"], "updated": message["updated"], "definition": definition}
    relationships = {
        "flow-action": {
            "data": {"type": "flow-action", "id": message["action_id"]},
            "links": ctx.links.relationship("flow-messages", message["id"], "flow-action"),
        },
        "template": {
            "data": {"type": "template", "id": definition["template_id"]},
            "links": ctx.links.relationship("flow-messages", message["id"], "template"),
        },
    }
    if definition["template_id"] is None:
        del relationships["template"]["data"]
    return {
        "type": "flow-message",
        "id": message["id"],
        "attributes": trim_attributes(attributes, ctx.query.fields.get("flow-message")),
        "relationships": relationships,
        "links": {"self": ctx.links.url(f"/api/flow-messages/{message['id']}")},
    }


def flows_triggered_by_list(ctx: Context, list_id: str) -> list[dict[str, Any]]:
    """The flows whose trigger is the list, as resource objects (for the list's flow-triggers reads)."""
    fs = _flows(ctx)
    return [_flow(ctx, fs, flow) for flow in fs.triggered_by_list(list_id)]


# -- flows ----------------------------------------------------------------------------------------


def get_flows(ctx: Context) -> Result:
    fs = _flows(ctx)
    page = paginate(filtered(list(fs.flows.values()), ctx.query), ctx.query)
    document = ctx.collection([_flow(ctx, fs, flow) for flow in page.items], page.next_cursor, page.prev_cursor)
    included = None
    if ctx.query.include:
        included = []
        if "flow-actions" in ctx.query.include:
            included = [_action(ctx, fs, action) for flow in page.items for action in fs.actions_of(flow)]
            cap = ctx.flow_options.included_actions_cap
            included = included if cap is None else included[:cap]
    return 200, with_included(document, included)


def _wants_definition(ctx: Context) -> bool:
    return "definition" in ctx.query.additional_fields.get("flow", [])


def get_flow(ctx: Context) -> Result:
    fs = _flows(ctx)
    flow = fs.flow(path_id(ctx))
    definition = _wants_definition(ctx)
    if definition and ctx.query.include and not ctx.flow_options.include_with_definition:
        raise invalid("'include' cannot be combined with 'additional-fields[flow]'.", parameter="include")
    included = None
    if ctx.query.include:
        included = [_action(ctx, fs, action) for action in fs.actions_of(flow)] if "flow-actions" in ctx.query.include else []
    return 200, with_included(ctx.document(_flow(ctx, fs, flow, definition=definition)), included)


def create_flow(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "flow"), FLOW_CREATE)
    fs = _flows(ctx)
    flow = fs.create_flow(attrs["name"], attrs["definition"])
    return 201, ctx.document(_flow(ctx, fs, flow, definition=_wants_definition(ctx)))


def update_flow(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "flow", path_id=path_id(ctx)), FLOW_UPDATE)
    fs = _flows(ctx)
    return 200, ctx.document(_flow(ctx, fs, fs.update_flow_status(path_id(ctx), attrs["status"])))


def delete_flow(ctx: Context) -> Result:
    _flows(ctx).delete_flow(path_id(ctx))
    return 204, None


def _paged(ctx: Context, views: list[dict[str, Any]], serialize: Callable[[str], dict[str, Any]]) -> Result:
    """A page of `views` (flat records the filters and sorts read), each served as its full resource."""
    page = paginate(filtered(views, ctx.query), ctx.query)
    return 200, ctx.collection([serialize(view["id"]) for view in page.items], page.next_cursor, page.prev_cursor)


# -- actions --------------------------------------------------------------------------------------


def get_actions_for_flow(ctx: Context) -> Result:
    fs = _flows(ctx)
    flow = fs.flow(path_id(ctx))
    views = [
        {
            "id": action["id"],
            "seq": action["seq"],
            "action_type": action["node"]["type"],
            "status": (action["node"].get("data") or {}).get("status"),
            "created": action["created"],
            "updated": action["updated"],
        }
        for action in fs.actions_of(flow)
    ]
    return _paged(ctx, views, lambda action_id: _action(ctx, fs, fs.actions[action_id]))


def get_flow_action(ctx: Context) -> Result:
    fs = _flows(ctx)
    action = fs.action(path_id(ctx))
    included = None
    if ctx.query.include:
        included = []
        if "flow" in ctx.query.include:
            included.append(_flow(ctx, fs, fs.flow(action["flow_id"])))
        if "flow-messages" in ctx.query.include:
            included += [_message(ctx, fs, message) for message in fs.messages_of(action)]
    return 200, with_included(ctx.document(_action(ctx, fs, action)), included)


def update_flow_action(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "flow-action", path_id=path_id(ctx)), ACTION_UPDATE)
    fs = _flows(ctx)
    action = fs.update_action(path_id(ctx), attrs["definition"])
    return 200, ctx.document(_action(ctx, fs, action, fs.answered_node(action)))


# -- messages -------------------------------------------------------------------------------------


def get_flow_action_messages(ctx: Context) -> Result:
    fs = _flows(ctx)
    action = fs.action(path_id(ctx))
    views = [
        {
            "id": message["id"],
            "seq": message["seq"],
            "name": fs.message_definition(message).get("name"),
            "created": message["created"],
            "updated": message["updated"],
        }
        for message in fs.messages_of(action)
    ]
    return _paged(ctx, views, lambda message_id: _message(ctx, fs, fs.messages[message_id]))


def get_flow_message(ctx: Context) -> Result:
    fs = _flows(ctx)
    message = fs.message(path_id(ctx))
    included = None
    if ctx.query.include:
        included = []
        if "flow-action" in ctx.query.include:
            included.append(_action(ctx, fs, fs.actions[message["action_id"]]))
        if "template" in ctx.query.include and fs.message_definition(message)["template_id"] is not None:
            included.append(ctx.serializer.template(fs.bound_copy(message), definition=False))
    return 200, with_included(ctx.document(_message(ctx, fs, message)), included)


def get_template_for_flow_message(ctx: Context) -> Result:
    fs = _flows(ctx)
    message = fs.message(path_id(ctx))
    return 200, ctx.document(ctx.serializer.template(fs.bound_copy(message), definition=False))


def seed_flows(store: Store, acct: Account, entries: list[dict[str, Any]]) -> list[str]:
    """Seed entries: `name`, then either create_flow's `definition` or `emails` (each a message's fields with
    `template` naming a library template), and an optional `status` set afterwards through update_flow's rule."""
    fs = FlowStore(store, acct)
    ids = []
    for entry in entries:
        definition = entry["definition"] if "definition" in entry else _seed_definition(acct, entry["emails"])
        flow = fs.create_flow(entry["name"], definition)
        if entry.get("status") is not None:
            fs.update_flow_status(flow["id"], entry["status"])
        ids.append(flow["id"])
    return ids


def _seed_definition(acct: Account, emails: list[dict[str, Any]]) -> dict[str, Any]:
    """A list-triggered chain of send-email actions, one per seeded email."""
    by_name = {t["name"]: t["id"] for t in acct.templates.values() if not is_copy(t)}
    actions = []
    for index, email in enumerate(emails):
        message = {key: value for key, value in email.items() if key != "template"}
        if "template" in email:
            if email["template"] not in by_name:
                raise invalid(f"seed: unknown template '{email['template']}'")
            message["template_id"] = by_name[email["template"]]
        following = f"email-{index + 1}" if index + 1 < len(emails) else None
        actions.append(
            {"temporary_id": f"email-{index}", "type": "send-email", "links": {"next": following}, "data": {"message": message}}
        )
    first_list = next(iter(acct.lists), None)
    return {"triggers": [{"type": "list", "id": first_list}], "entry_action_id": "email-0", "actions": actions}


RESOURCE = Resource(
    "flows",
    (
        get_flows,
        get_flow,
        create_flow,
        update_flow,
        delete_flow,
        get_actions_for_flow,
        get_flow_action,
        update_flow_action,
        get_flow_action_messages,
        get_flow_message,
        get_template_for_flow_message,
    ),
    seed=seed_flows,
)

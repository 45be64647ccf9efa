"""Templates: the seven template operations, render included."""

from __future__ import annotations

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id
from klaviyo_sync.emulator.flowstore import FlowStore, copy_not_patchable, is_copy
from klaviyo_sync.emulator.query import paginate
from klaviyo_sync.emulator.rendering import render


def get_templates(ctx: Context) -> Result:
    library = [record for record in ctx.acct.templates.values() if not is_copy(record)]  # [FIELD] copies are not listed
    page = paginate(filtered(library, ctx.query), ctx.query)
    definition = "definition" in ctx.query.additional_fields.get("template", [])
    data = [ctx.serializer.template(r, definition=definition) for r in page.items]
    return 200, ctx.collection(data, page.next_cursor, page.prev_cursor)


def get_template(ctx: Context) -> Result:
    record = ctx.store.get_template(ctx.acct, path_id(ctx))
    return 200, ctx.document(ctx.serializer.template(record, definition=True))


def create_template(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "template"), bodies.TEMPLATE_CREATE)
    record = ctx.store.create_template(ctx.acct, attrs)
    return 201, ctx.document(ctx.serializer.template(record, definition=True))


def update_template(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, "template", path_id=path_id(ctx)), bodies.TEMPLATE_UPDATE)
    if is_copy(ctx.store.get_template(ctx.acct, path_id(ctx))):
        raise copy_not_patchable()
    record = ctx.store.update_template(ctx.acct, path_id(ctx), attrs)
    return 200, ctx.document(ctx.serializer.template(record, definition=True))


def delete_template(ctx: Context) -> Result:
    FlowStore(ctx.store, ctx.acct, ctx.flow_options).check_copy_delete(ctx.store.get_template(ctx.acct, path_id(ctx)))
    ctx.store.delete_template(ctx.acct, path_id(ctx))
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
    rendered = {name: render(record[name], context, html=name != "text") for name in ("html", "text", "amp")}
    return 201, ctx.document(ctx.serializer.template(record, definition=False, rendered=rendered))


RESOURCE = Resource(
    "templates", (get_templates, get_template, create_template, update_template, delete_template, clone_template, render_template)
)

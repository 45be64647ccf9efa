"""Universal content blocks (`template-universal-content`, klaviyo-api-more.md §5): the five operations.

Rules: a block is `{content_type: "block", type, data}`; the API creates and PATCHes only the writable types
(button, drop_shadow, horizontal_rule, html, image, spacer, text), checking html and text data and keeping the
others as sent; a block of another type (seeded, as Klaviyo's editor makes them) takes a name-only PATCH. Ids
are ULIDs; `screenshot_status` starts as `EmulatorConfig.screenshot_status` with an empty `screenshot_url`, and
a PATCH bumps `updated` (a completed screenshot goes stale). Paging (20 by default, 100 at most), filters, sorts
and the 75/s, 750/m limits come from the spec's operation facts, like every other resource's.
"""

from __future__ import annotations

import copy
from typing import Any

from klaviyo_sync.emulator import bodies
from klaviyo_sync.emulator.context import Context, Resource, Result, filtered, path_id
from klaviyo_sync.emulator.documents import trim_attributes
from klaviyo_sync.emulator.errors import invalid, not_found
from klaviyo_sync.emulator.query import paginate
from klaviyo_sync.emulator.store import Account, Store

NAME = "universal_content"
TYPE = "template-universal-content"
WRITABLE_TYPES = ("button", "drop_shadow", "horizontal_rule", "html", "image", "spacer", "text")
SCREENSHOT_STATUSES = ("completed", "failed", "generating", "never_generated", "not_renderable", "stale")
SHOW_ON = ("all", "desktop", "mobile")
ATTRIBUTES = ("name", "definition", "created", "updated", "screenshot_status", "screenshot_url")
_POINTER = "/data/attributes/definition"


def _blocks(acct: Account) -> dict[str, dict[str, Any]]:
    return acct.collection(NAME)


def _get(acct: Account, block_id: str) -> dict[str, Any]:
    block = _blocks(acct).get(block_id)
    if block is None:
        raise not_found(TYPE, block_id)
    return block


def _create(store: Store, acct: Account, name: str, definition: Any, *, writable_only: bool = True) -> dict[str, Any]:
    if store.screenshot_status not in SCREENSHOT_STATUSES:
        raise ValueError(f"screenshot_status must be one of {', '.join(SCREENSHOT_STATUSES)}, not {store.screenshot_status!r}")
    check_block(definition, writable_only=writable_only)
    now = store.now()
    block = {
        "id": store.ids.ulid(),
        "name": name,
        "definition": copy.deepcopy(definition),
        "created": now,
        "updated": now,
        "screenshot_status": store.screenshot_status,
        "screenshot_url": "",
        "seq": acct.next_seq(),
    }
    _blocks(acct)[block["id"]] = block
    return block


def check_block(definition: Any, *, writable_only: bool) -> None:
    """A block definition as the spec defines it; html and text data typed."""
    if not isinstance(definition, dict):
        raise invalid("'definition' must be an object.", pointer=_POINTER)
    for member in ("content_type", "type", "data"):
        if member not in definition:
            raise invalid(f"'definition.{member}' is required.", pointer=f"{_POINTER}/{member}")
    extra = sorted(set(definition) - {"content_type", "type", "data", "universal_id"})
    if extra:
        raise invalid(f"'{extra[0]}' is not a valid member of 'definition'.", pointer=f"{_POINTER}/{extra[0]}")
    if definition["content_type"] != "block":
        raise invalid("'definition.content_type' must be 'block'.", pointer=f"{_POINTER}/content_type")
    block_type = definition["type"]
    if writable_only and block_type not in WRITABLE_TYPES:
        raise invalid(
            f"'{block_type}' blocks cannot be created or changed through the API; use one of {', '.join(WRITABLE_TYPES)}.",
            pointer=f"{_POINTER}/type",
        )
    data = definition["data"]
    required = {"html": ("content", "display_options"), "text": ("content", "display_options", "styles")}.get(block_type, ())
    if not required:
        return  # the spec leaves the data of the other types untyped: kept as sent
    if not isinstance(data, dict):
        raise invalid("'definition.data' must be an object.", pointer=f"{_POINTER}/data")
    for member in required:
        if member not in data:
            raise invalid(f"'definition.data.{member}' is required for {block_type} blocks.", pointer=f"{_POINTER}/data/{member}")
    if not isinstance(data["content"], str):
        raise invalid("'definition.data.content' must be a string.", pointer=f"{_POINTER}/data/content")
    if "styles" in required and not isinstance(data["styles"], dict):
        raise invalid("'definition.data.styles' must be an object.", pointer=f"{_POINTER}/data/styles")
    options = data["display_options"]
    if not isinstance(options, dict):
        raise invalid("'definition.data.display_options' must be an object.", pointer=f"{_POINTER}/data/display_options")
    if "show_on" in options and options["show_on"] not in SHOW_ON:
        raise invalid(f"'show_on' must be one of {', '.join(SHOW_ON)}.", pointer=f"{_POINTER}/data/display_options/show_on")


def _resource_object(ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    attributes = {name: record[name] for name in ATTRIBUTES}
    return {
        "type": TYPE,
        "id": record["id"],
        "attributes": trim_attributes(attributes, ctx.query.fields.get(TYPE)),
        "links": {"self": ctx.links.url(f"/api/{TYPE}/{record['id']}")},
    }


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """A block as the filters see it: `definition.content_type` and `definition.type` are fields of their own."""
    definition = record.get("definition") or {}
    return {**record, "definition.content_type": definition.get("content_type"), "definition.type": definition.get("type")}


def get_all_universal_content(ctx: Context) -> Result:
    blocks = _blocks(ctx.acct)
    page = paginate(filtered([_filterable(r) for r in blocks.values()], ctx.query), ctx.query)
    data = [_resource_object(ctx, blocks[r["id"]]) for r in page.items]
    return 200, ctx.collection(data, page.next_cursor, page.prev_cursor)


def get_universal_content(ctx: Context) -> Result:
    return 200, ctx.document(_resource_object(ctx, _get(ctx.acct, path_id(ctx))))


def create_universal_content(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, TYPE), bodies.UNIVERSAL_CONTENT_CREATE)
    return 201, ctx.document(_resource_object(ctx, _create(ctx.store, ctx.acct, attrs["name"], attrs["definition"])))


def update_universal_content(ctx: Context) -> Result:
    attrs = bodies.attributes(bodies.resource(ctx.body, TYPE, path_id=path_id(ctx)), bodies.UNIVERSAL_CONTENT_UPDATE)
    block = _get(ctx.acct, path_id(ctx))
    if attrs.get("name") is not None and not attrs["name"].strip():
        raise invalid("'name' cannot be blank.", pointer="/data/attributes/name")
    if attrs.get("definition") is not None:
        current = (block.get("definition") or {}).get("type")
        if current not in WRITABLE_TYPES:
            raise invalid(
                f"The definition of a '{current}' block cannot be changed through the API; "
                f"only {', '.join(WRITABLE_TYPES)} blocks can.",
                pointer=_POINTER,
            )
        check_block(attrs["definition"], writable_only=True)
        block["definition"] = copy.deepcopy(attrs["definition"])
    if attrs.get("name") is not None:
        block["name"] = attrs["name"]
    block["updated"] = ctx.store.now()
    if block["screenshot_status"] == "completed":
        block["screenshot_status"] = "stale"  # the screenshot shows the block as it was
    return 200, ctx.document(_resource_object(ctx, block))


def delete_universal_content(ctx: Context) -> Result:
    _get(ctx.acct, path_id(ctx))
    del _blocks(ctx.acct)[path_id(ctx)]
    return 204, None


def _seed(store: Store, acct: Account, entries: list[dict[str, Any]]) -> list[str]:
    """Seed entries `{name, definition}`; any block type, as Klaviyo's editor can make them."""
    return [_create(store, acct, entry["name"], entry["definition"], writable_only=False)["id"] for entry in entries]


RESOURCE = Resource(
    NAME,
    (
        get_all_universal_content,
        get_universal_content,
        create_universal_content,
        update_universal_content,
        delete_universal_content,
    ),
    seed=_seed,
)

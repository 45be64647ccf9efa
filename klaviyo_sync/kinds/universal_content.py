"""Universal content blocks (klaviyo-api-more.md §5): shared headers, footers and legal text, declared under
`universal_content:` with `html: FILE` (an html block) or `definition: FILE` (JSON of any writable block type).

A block is compared by what its manifest entry sets: the HTML of an html block (normalised like template HTML),
or the whole definition. Klaviyo carries a block's change into every template that uses it, and no endpoint says
which templates those are, so every change of a block comes with that note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, Ids, Kind, KindSpec, Lookup, Read, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Resource

TYPE = "template-universal-content"
# The block types the API creates and PATCHes; others (a product block, a section) exist only from the editor.
WRITABLE_TYPES = ("button", "drop_shadow", "horizontal_rule", "html", "image", "spacer", "text")
CONTENT_FIELDS = ("html", "definition")


def html_block(html: str) -> dict[str, Any]:
    """The definition of an html block showing `html` (display options left at Klaviyo's defaults)."""
    return {"content_type": "block", "type": "html", "data": {"content": html, "display_options": {}}}


def _definition(attrs: Mapping[str, Any]) -> dict[str, Any]:
    if attrs.get("html") is not None:
        return html_block(attrs["html"])
    return dict(attrs["definition"])


def _definition_problems(definition: Any) -> list[tuple[str, str]]:
    """A block the API can write: `{content_type: block, type, data}`; html and text blocks carry their content."""
    hint = "a block definition is {content_type: block, type: one of " + ", ".join(WRITABLE_TYPES) + ", data: {...}}"
    if not isinstance(definition, dict):
        return [("a block definition must be a mapping", hint)]
    missing = [key for key in ("content_type", "type", "data") if key not in definition]
    if missing:
        return [(f"the block definition is missing {' and '.join(f'`{key}`' for key in missing)}", hint)]
    problems = []
    if definition["content_type"] != "block":
        problems.append((f"content_type is {definition['content_type']!r}; the API writes blocks only", hint))
    if definition["type"] not in WRITABLE_TYPES:
        problems.append(
            (f"a {definition['type']!r} block cannot be written through the API", "use one of " + ", ".join(WRITABLE_TYPES))
        )
    data = definition["data"]
    needed = {"html": ("content", "display_options"), "text": ("content", "display_options", "styles")}
    missing = [key for key in needed.get(definition["type"], ()) if not isinstance(data, dict) or key not in data]
    if definition["type"] in needed and not isinstance(data, dict):
        problems.append((f"the {definition['type']} block's `data` must be a mapping", hint))
    elif missing:
        names = " and ".join(f"`{key}`" for key in missing)
        problems.append((f"the {definition['type']} block's data is missing {names}", "Klaviyo requires them for this type"))
    return problems


def _build(item: Mapping[str, Any]) -> Resource | None:
    from klaviyo_sync.resources import Resource, content_hash  # the model imports the registry

    attributes = item.get("attributes") or {}
    definition = attributes.get("definition")
    definition = definition if isinstance(definition, dict) else None
    data = (definition or {}).get("data")
    html = data.get("content") if definition and definition.get("type") == "html" and isinstance(data, dict) else None
    attrs = {"html": html if isinstance(html, str) else None, "definition": definition}
    return Resource(
        Kind.UNIVERSAL_CONTENT,
        (attributes.get("name") or "",),
        attrs,
        id=item["id"],
        version=attributes.get("updated") or content_hash(attrs),
    )


async def _create(client: Any, desired: Resource, ids: Ids) -> str:
    return await client.create_universal_content(desired.name, _definition(desired.attrs))


async def _update(client: Any, object_id: str, change: Change, attributes: Mapping[str, Any]) -> None:
    body: dict[str, Any] = {}
    if "name" in attributes:
        body["name"] = attributes["name"]
    if attributes.get("html") is not None or attributes.get("definition") is not None:
        body["definition"] = _definition(attributes)
    if body:
        await client.update_universal_content(object_id, body)


SPEC = register(
    KindSpec(
        Kind.UNIVERSAL_CONTENT,
        "universal content block",
        ("name",),
        fields=CONTENT_FIELDS,
        content_fields=CONTENT_FIELDS,
        text_fields=("html",),
        rank=3,
        actions=frozenset({Action.CREATE, Action.UPDATE, Action.RENAME, Action.DELETE}),
        section="universal_content",
        declare=lambda entry: {},
        file_fields=CONTENT_FIELDS,
        check_definition=_definition_problems,
        requests=Requests(
            {
                Action.CREATE: "create_universal_content",
                Action.UPDATE: "update_universal_content",
                Action.RENAME: "update_universal_content",
                Action.DELETE: "delete_universal_content",
            },
            create=_create,
            lookup=Lookup("get_all_universal_content"),
            update=_update,
            delete=lambda client, object_id: client.delete_universal_content(object_id),
        ),
        read=Read("get_all_universal_content", _build),
        review_note="Klaviyo carries a change of a universal content block into every template that uses it",
    )
)

"""Templates: declared under `templates:` with html/text/definition files; two may share a name, so a replace
creates the new one first; a template may be created as a clone of another."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, Ids, Kind, KindSpec, Limit, Lookup, ReplaceMode, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Key, Resource

CONTENT_FIELDS = ("html", "text", "definition")
DEFAULT_EDITOR_TYPE = "CODE"


def _declare(entry: Mapping[str, Any]) -> dict[str, Any]:
    editor_type = entry.get("editor_type")
    return {"editor_type": editor_type if isinstance(editor_type, str) else DEFAULT_EDITOR_TYPE}


def _definition_problems(definition: Any) -> list[tuple[str, str]]:
    """A drag-and-drop definition is a mapping with `body` and `styles`."""
    if not isinstance(definition, dict):
        return [("a definition must be a mapping with `body` and `styles`", "export it from Klaviyo")]
    missing = [key for key in ("body", "styles") if key not in definition]
    if missing:
        names = " and ".join(f"`{key}`" for key in missing)
        return [(f"the definition is missing {names}", "a SYSTEM_DRAGGABLE definition has body and styles")]
    return []


def _needs(key: Key, desired: Resource | None) -> set[tuple[Kind, Key]]:
    """A clone needs its source."""
    if desired is not None and desired.clone_from:
        return {(Kind.TEMPLATE, (desired.clone_from,))}
    return set()


async def _create(client: Any, desired: Resource, ids: Ids) -> str:
    attributes = {"name": desired.name, "editor_type": desired.attrs.get("editor_type", DEFAULT_EDITOR_TYPE)}
    attributes.update({k: desired.attrs[k] for k in CONTENT_FIELDS if desired.attrs.get(k) is not None})
    return await client.create_template(attributes)


async def _update(client: Any, object_id: str, change: Change, attributes: Mapping[str, Any]) -> None:
    if attributes:
        await client.update_template(object_id, attributes)


SPEC = register(
    KindSpec(
        Kind.TEMPLATE,
        "template",
        ("name",),
        fields=("editor_type", *CONTENT_FIELDS),
        content_fields=CONTENT_FIELDS,
        text_fields=("html", "text"),
        replace_on=("editor_type",),
        replace_mode=ReplaceMode.CREATE_FIRST,
        rank=4,
        actions=frozenset({Action.CREATE, Action.CLONE, Action.UPDATE, Action.RENAME, Action.REPLACE, Action.DELETE}),
        section="templates",
        declare=_declare,
        file_fields=CONTENT_FIELDS,
        check_definition=_definition_problems,
        limit=Limit(1000, "templates", "templates created through the API"),
        needs=_needs,
        requests=Requests(
            {
                Action.CREATE: "create_template",
                Action.CLONE: "clone_template",
                Action.UPDATE: "update_template",
                Action.RENAME: "update_template",
                Action.DELETE: "delete_template",
            },
            create=_create,
            lookup=Lookup("get_templates"),
            update=_update,
            delete=lambda client, object_id: client.delete_template(object_id),
        ),
    )
)

"""Templates: declared under `templates:` with html/text/definition files; two may share a name, so a replace
creates the new one first; a template may be created as a clone of another."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, Ids, Kind, KindSpec, Limit, ReplaceMode, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Key, Resource

CONTENT_FIELDS = ("html", "text", "definition")


def _needs(key: Key, desired: Resource | None) -> set[tuple[Kind, Key]]:
    """A clone needs its source."""
    if desired is not None and desired.clone_from:
        return {(Kind.TEMPLATE, (desired.clone_from,))}
    return set()


async def _create(client: Any, desired: Resource, ids: Ids) -> str:
    attributes = {"name": desired.name, "editor_type": desired.attrs.get("editor_type", "CODE")}
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
        rank=3,
        actions=frozenset({Action.CREATE, Action.CLONE, Action.UPDATE, Action.RENAME, Action.REPLACE, Action.DELETE}),
        section="templates",
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
            update=_update,
            delete=lambda client, object_id: client.delete_template(object_id),
        ),
    )
)

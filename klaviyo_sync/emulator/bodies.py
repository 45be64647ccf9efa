"""Request bodies: JSON:API documents checked member by member, as Klaviyo's schemas define them.

Each reader returns plain values for the store or raises a 400 `invalid` whose `source.pointer` names the
offending member (a `data.id` that differs from the path is a 409, as JSON:API prescribes).
"""

from __future__ import annotations

from typing import Any

from klaviyo_sync.emulator.errors import EmulatorError, invalid
from klaviyo_sync.emulator.store import OPT_IN_PROCESSES

_TYPE_NAMES = {str: "a string", bool: "a boolean", dict: "an object", list: "an array"}


class Field:
    """One attribute: its JSON type, whether it must be present, whether null is allowed."""

    def __init__(self, kind: type, *, required: bool = False, nullable: bool = False, enum: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.required = required
        self.nullable = nullable
        self.enum = enum


TEMPLATE_CREATE = {
    "name": Field(str, required=True),
    "editor_type": Field(str, required=True),
    "html": Field(str, nullable=True),
    "text": Field(str, nullable=True),
    "amp": Field(str, nullable=True),
    "definition": Field(dict, nullable=True),
}
TEMPLATE_UPDATE = {
    "name": Field(str, nullable=True),  # null keeps the name (the spec marks it nullable; the SDK sends it so)
    "html": Field(str),
    "text": Field(str, nullable=True),
    "amp": Field(str, nullable=True),
    "definition": Field(dict),
    "editor_type": Field(str),  # never allowed; the store explains why
}
LIST_CREATE = {"name": Field(str, required=True), "opt_in_process": Field(str, nullable=True, enum=OPT_IN_PROCESSES)}
LIST_UPDATE = {"name": Field(str, nullable=True), "opt_in_process": Field(str, nullable=True, enum=OPT_IN_PROCESSES)}
TAG_CREATE = {"name": Field(str, required=True)}
TAG_UPDATE = {"name": Field(str, required=True)}
TAG_GROUP_CREATE = {"name": Field(str, required=True), "exclusive": Field(bool, nullable=True)}
TAG_GROUP_UPDATE = {"name": Field(str, required=True), "return_fields": Field(list, nullable=True)}
UNIVERSAL_CONTENT_CREATE = {"name": Field(str, required=True), "definition": Field(dict, required=True)}
UNIVERSAL_CONTENT_UPDATE = {"name": Field(str, nullable=True), "definition": Field(dict, nullable=True)}
CLONE = {"name": Field(str, nullable=True)}
RENDER = {"context": Field(dict, required=True)}


def resource(body: Any, type_name: str, *, path_id: str | None = None, id_required: bool = False) -> dict[str, Any]:
    """The `data` resource object of a body, with its `type` (and `id`) checked."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object with a 'data' member.", pointer="/")
    data = body.get("data")
    if not isinstance(data, dict):
        raise invalid("'data' is required and must be an object.", pointer="/data")
    extra = set(data) - {"type", "id", "attributes", "relationships"}
    if extra:
        name = sorted(extra)[0]
        raise invalid(f"'{name}' is not a valid member of 'data'.", pointer=f"/data/{name}")
    if data.get("type") != type_name:
        raise invalid(f"'data.type' must be '{type_name}'.", pointer="/data/type")
    if id_required or path_id is not None:
        if not isinstance(data.get("id"), str):
            raise invalid("'data.id' is required and must be a string.", pointer="/data/id")
        if path_id is not None and data["id"] != path_id:
            raise EmulatorError(
                409, "conflict", f"'data.id' ({data['id']}) does not match the id in the URL ({path_id}).", pointer="/data/id"
            )
    return data


def attributes(data: dict[str, Any], fields: dict[str, Field], *, required: bool = True) -> dict[str, Any]:
    """`data.attributes`, every member known and of the right type."""
    if "attributes" not in data:
        if required:
            raise invalid("'data.attributes' is required.", pointer="/data/attributes")
        return {}
    attrs = data["attributes"]
    if not isinstance(attrs, dict):
        raise invalid("'data.attributes' must be an object.", pointer="/data/attributes")
    for name, value in attrs.items():
        spec = fields.get(name)
        pointer = f"/data/attributes/{name}"
        if spec is None:
            raise invalid(f"'{name}' is not a valid attribute here; allowed: {', '.join(fields)}.", pointer=pointer)
        if value is None:
            if not spec.nullable:
                raise invalid(f"'{name}' cannot be null.", pointer=pointer)
            continue
        if not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
            raise invalid(f"'{name}' must be {_TYPE_NAMES[spec.kind]}.", pointer=pointer)
        if spec.enum and value not in spec.enum:
            raise invalid(f"'{value}' is not a valid {name}; use one of {', '.join(spec.enum)}.", pointer=pointer)
        if spec.kind is str and name == "name" and not value.strip():
            raise invalid("'name' cannot be blank.", pointer=pointer)
    for name, spec in fields.items():
        if spec.required and attrs.get(name) is None:
            raise invalid(f"'{name}' is required.", pointer=f"/data/attributes/{name}")
    return dict(attrs)


def tag_group_relationship(data: dict[str, Any]) -> str | None:
    """The optional `relationships.tag-group.data.id` of a new tag."""
    relationships = data.get("relationships")
    if relationships is None:
        return None
    if not isinstance(relationships, dict):
        raise invalid("'data.relationships' must be an object.", pointer="/data/relationships")
    extra = set(relationships) - {"tag-group"}
    if extra:
        name = sorted(extra)[0]
        raise invalid(f"'{name}' is not a relationship a new tag can have.", pointer=f"/data/relationships/{name}")
    if "tag-group" not in relationships:
        return None
    pointer = "/data/relationships/tag-group/data"
    linkage = relationships["tag-group"].get("data") if isinstance(relationships["tag-group"], dict) else None
    if not isinstance(linkage, dict) or linkage.get("type") != "tag-group" or not isinstance(linkage.get("id"), str):
        raise invalid('\'tag-group\' must be {"data": {"type": "tag-group", "id": "..."}}.', pointer=pointer)
    return str(linkage["id"])


def list_identifiers(body: Any) -> list[str]:
    """A relationship body: `{"data": [{"type": "list", "id": ...}, ...]}`."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise invalid('\'data\' is required and must be an array of {"type": "list", "id": ...}.', pointer="/data")
    ids = []
    for index, item in enumerate(body["data"]):
        if not isinstance(item, dict) or item.get("type") != "list":
            raise invalid("Each item's 'type' must be 'list'.", pointer=f"/data/{index}/type")
        if not isinstance(item.get("id"), str):
            raise invalid("Each item needs a string 'id'.", pointer=f"/data/{index}/id")
        ids.append(item["id"])
    return ids

"""JSON:API documents as Klaviyo writes them: resources, relationships, `included`, links and errors.

`Links` decides the URL style: by default links follow the spec (no trailing slash); quirks mode writes them
with the trailing slash real Klaviyo uses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from klaviyo_sync.emulator.errors import EmulatorError
from klaviyo_sync.emulator.query import Query
from klaviyo_sync.emulator.store import Account

RATE_LIMIT_DOCS = "https://developers.klaviyo.com/en/docs/rate_limits_and_error_handling#rate-limits"


@dataclass(frozen=True)
class Links:
    base_url: str  # scheme://host[:port] the request came to
    trailing_slash: bool = False

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}{'/' if self.trailing_slash else ''}"

    def relationship(self, type_path: str, object_id: str, name: str) -> dict[str, str]:
        return {
            "self": self.url(f"/api/{type_path}/{object_id}/relationships/{name}"),
            "related": self.url(f"/api/{type_path}/{object_id}/{name}"),
        }


def trim_attributes(attributes: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Sparse fieldsets: keep the named attributes (dotted paths reach inside `definition`)."""
    if fields is None:
        return attributes
    trimmed: dict[str, Any] = {}
    for path in fields:
        head, _, rest = path.partition(".")
        if head not in attributes:
            continue
        if not rest:
            trimmed[head] = attributes[head]
        elif isinstance(attributes[head], dict):
            inner = trim_attributes(attributes[head], [rest])
            if not inner:
                continue  # the path leads nowhere in this object
            existing = trimmed.get(head)
            trimmed[head] = _merged(existing, inner) if isinstance(existing, dict) else inner
    return trimmed


def _merged(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Two trimmed trees joined, however deep the paths that made them."""
    joined = dict(left)
    for key, value in right.items():
        joined[key] = _merged(joined[key], value) if isinstance(joined.get(key), dict) and isinstance(value, dict) else value
    return joined


class Serializer:
    """Turns store records into resource objects for one request."""

    def __init__(self, links: Links, query: Query, acct: Account) -> None:
        self.links = links
        self.query = query
        self.acct = acct

    # -- resource objects -------------------------------------------------------------------------

    def template(self, record: dict[str, Any], *, definition: bool, rendered: dict[str, Any] | None = None) -> dict[str, Any]:
        source = rendered or record
        attributes: dict[str, Any] = {
            "name": record["name"],
            "editor_type": record["editor_type"],
            "html": source["html"],
            "text": source["text"],
            "amp": source["amp"],
            "created": record["created"],
            "updated": record["updated"],
        }
        if definition and record["editor_type"] == "SYSTEM_DRAGGABLE":
            attributes["definition"] = record["definition"]
        return {
            "type": "template",
            "id": record["id"],
            "attributes": trim_attributes(attributes, self.query.fields.get("template")),
            "links": {"self": self.links.url(f"/api/templates/{record['id']}")},
        }

    def list(self, record: dict[str, Any], *, profile_count: bool = False) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "name": record["name"],
            "created": record["created"],
            "updated": record["updated"],
            "opt_in_process": record["opt_in_process"],
        }
        if profile_count:
            attributes["profile_count"] = record.get("profile_count", 0)  # seeded: the emulator keeps no profiles
        relationships = {
            name: {"links": self.links.relationship("lists", record["id"], name)}
            for name in ("profiles", "tags", "flow-triggers")
        }
        if "tags" in self.query.include:
            relationships["tags"]["data"] = [{"type": "tag", "id": t["id"]} for t in self.acct.tags_of_list(record["id"])]
        return {
            "type": "list",
            "id": record["id"],
            "attributes": trim_attributes(attributes, self.query.fields.get("list")),
            "relationships": relationships,
            "links": {"self": self.links.url(f"/api/lists/{record['id']}")},
        }

    def tag(self, record: dict[str, Any]) -> dict[str, Any]:
        relationships: dict[str, Any] = {
            "tag-group": {
                "data": {"type": "tag-group", "id": record["group_id"]},
                "links": self.links.relationship("tags", record["id"], "tag-group"),
            }
        }
        for name in ("lists", "segments", "campaigns", "flows"):
            relationships[name] = {"links": self.links.relationship("tags", record["id"], name)}
        return {
            "type": "tag",
            "id": record["id"],
            "attributes": trim_attributes({"name": record["name"]}, self.query.fields.get("tag")),
            "relationships": relationships,
            "links": {"self": self.links.url(f"/api/tags/{record['id']}")},
        }

    def tag_group(self, record: dict[str, Any]) -> dict[str, Any]:
        attributes = {"name": record["name"], "exclusive": record["exclusive"], "default": record["default"]}
        return {
            "type": "tag-group",
            "id": record["id"],
            "attributes": trim_attributes(attributes, self.query.fields.get("tag-group")),
            "relationships": {"tags": {"links": self.links.relationship("tag-groups", record["id"], "tags")}},
            "links": {"self": self.links.url(f"/api/tag-groups/{record['id']}")},
        }

    # -- included ---------------------------------------------------------------------------------

    def included_for_lists(self, records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        if "tags" not in self.query.include and "flow-triggers" not in self.query.include:
            return None
        seen: dict[str, dict[str, Any]] = {}
        if "tags" in self.query.include:
            for record in records:
                for tag in self.acct.tags_of_list(record["id"]):
                    seen.setdefault(tag["id"], self.tag(tag))
        return list(seen.values())

    def included_for_tags(self, records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        if "tag-group" not in self.query.include:
            return None
        seen: dict[str, dict[str, Any]] = {}
        for record in records:
            seen.setdefault(record["group_id"], self.tag_group(self.acct.tag_groups[record["group_id"]]))
        return list(seen.values())


def identifiers(type_name: str, ids: list[str]) -> list[dict[str, str]]:
    return [{"type": type_name, "id": object_id} for object_id in ids]


def error_document(error: EmulatorError, *, integer_status: bool) -> dict[str, Any]:
    """Klaviyo's error body. The spec's schema has no `status`; JSON:API makes it a string, Klaviyo an integer."""
    source: dict[str, str] = {}
    if error.pointer is not None:
        source["pointer"] = error.pointer
    if error.parameter is not None:
        source["parameter"] = error.parameter
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": error.status if integer_status else str(error.status),
        "code": error.code,
        "title": error.title,
        "detail": error.detail,
        "source": source,
    }
    if error.status == 429:
        item["links"] = {"type": RATE_LIMIT_DOCS}
    item["meta"] = {}
    return {"errors": [item]}

"""The JSON form of a plan: what `--out` saves, what `apply PLANFILE` reads and what every renderer draws from.

It holds the desired objects, the manifest hashes, the revision and the live fingerprint, and never a secret.
Each new value is written once: a content field (a template's HTML) a change sets is in its `fields[].new`
only, and is put back into the desired object when the plan is read. Live objects carry no content at all.
Documented by schemas/plan.schema.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from klaviyo_sync import __version__
from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.errors import ConfigError
from klaviyo_sync.resources import Action, Change, FieldChange, Kind, Origin, Plan, ReplaceMode, Resource

PLAN_FORMAT_VERSION = 1


def resource_to_json(resource: Resource, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`leave_out`: attributes written elsewhere (a change's fields) or not the plan's business (live content)."""
    data: dict[str, Any] = {"kind": resource.kind.value, "key": list(resource.key), "address": resource.address}
    data["attrs"] = {name: resource.attrs[name] for name in sorted(resource.attrs) if name not in leave_out}
    if resource.origin is not None:
        data["origin"] = {"file": resource.origin.file, "line": resource.origin.line, "column": resource.origin.column}
    if resource.renamed_from:
        data["renamed_from"] = list(resource.renamed_from)
    if resource.prevent_destroy:
        data["prevent_destroy"] = True
    if resource.clone_from is not None:
        data["clone_from"] = resource.clone_from
    if resource.id is not None:
        data["id"] = resource.id
    if resource.version is not None:
        data["version"] = resource.version
    return data


def _reference_to_json(resource: Resource) -> dict[str, Any]:
    """An unmanaged object is only named, never described: its content is not the plan's business."""
    data: dict[str, Any] = {"kind": resource.kind.value, "key": list(resource.key), "address": resource.address}
    if resource.id is not None:
        data["id"] = resource.id
    return data


def resource_from_json(data: Mapping[str, Any], extra_attrs: Mapping[str, Any] | None = None) -> Resource:
    origin = data.get("origin")
    return Resource(
        kind=Kind(data["kind"]),
        key=tuple(data["key"]),
        attrs=dict(data.get("attrs", {})) | dict(extra_attrs or {}),
        origin=Origin(origin["file"], origin["line"], origin.get("column", 1)) if origin else None,
        renamed_from=tuple(data.get("renamed_from", ())),
        prevent_destroy=bool(data.get("prevent_destroy", False)),
        clone_from=data.get("clone_from"),
        id=data.get("id"),
        version=data.get("version"),
    )


def _content_set(change: Change) -> dict[str, Any]:
    """The content fields whose new value the change's `fields` carry."""
    content = change.kind.spec.content_fields
    return {f.field: f.new for f in change.fields if f.field in content}


def change_to_json(change: Change) -> dict[str, Any]:
    content = frozenset(change.kind.spec.content_fields)
    return {
        "address": change.address,
        "action": change.action.value,
        "kind": change.kind.value,
        "key": list(change.key),
        "reason": change.reason,
        "replace_mode": change.replace_mode.value if change.replace_mode else None,
        "fields": [
            {"field": f.field, "old": f.old, "new": f.new, "forces_replacement": f.forces_replacement} for f in change.fields
        ],
        "desired": resource_to_json(change.desired, leave_out=frozenset(_content_set(change))) if change.desired else None,
        "live": resource_to_json(change.live, leave_out=content) if change.live else None,
    }


def change_from_json(data: Mapping[str, Any]) -> Change:
    fields = tuple(FieldChange(f["field"], f["old"], f["new"], bool(f.get("forces_replacement"))) for f in data["fields"])
    kind = Kind(data["kind"])
    content = {f.field: f.new for f in fields if f.field in kind.spec.content_fields}
    return Change(
        action=Action(data["action"]),
        kind=kind,
        key=tuple(data["key"]),
        desired=resource_from_json(data["desired"], content) if data.get("desired") else None,
        live=resource_from_json(data["live"]) if data.get("live") else None,
        fields=fields,
        reason=data.get("reason", ""),
        replace_mode=ReplaceMode(data["replace_mode"]) if data.get("replace_mode") else None,
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The versioned JSON form, documented by schemas/plan.schema.json."""
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "tool": {"name": "klaviyo-sync", "version": __version__},
        "revision": REVISION,
        "summary": plan.counts(),
        "changes": [change_to_json(change) for change in plan.changes],
        "unmanaged": [_reference_to_json(resource) for resource in plan.unmanaged],
        "warnings": list(plan.warnings),
        "manifest_hashes": dict(plan.manifest_hashes),
        "fingerprint": dict(plan.fingerprint),
        "live_ids": dict(plan.live_ids),
    }


_TOP_LEVEL_TYPES = {"changes": list, "unmanaged": list, "warnings": list, "manifest_hashes": dict, "fingerprint": dict}


def plan_from_json(data: Any) -> Plan:
    """Read a saved plan; a file of another format version or API revision is refused with a clear error."""
    if not isinstance(data, dict) or "format_version" not in data:
        raise ConfigError("this is not a klaviyo-sync plan file", hint="write one with `klaviyo-sync plan --out FILE`")
    if data["format_version"] != PLAN_FORMAT_VERSION:
        raise ConfigError(
            f"the plan file has format version {data['format_version']!r}; this klaviyo-sync reads version {PLAN_FORMAT_VERSION}",
            hint="plan again with this version of klaviyo-sync",
        )
    if data.get("revision") != REVISION:
        raise ConfigError(
            f"the plan was made for API revision {data.get('revision')!r}; this klaviyo-sync uses {REVISION}",
            hint="plan again with this version of klaviyo-sync",
        )
    for key, expected in _TOP_LEVEL_TYPES.items():
        if not isinstance(data.get(key), expected):
            raise ConfigError(f"the plan file is damaged: {key!r} is missing or malformed", hint="plan again")
    try:
        return Plan(
            changes=[change_from_json(item) for item in data["changes"]],
            unmanaged=[resource_from_json(item) for item in data["unmanaged"]],
            manifest_hashes=dict(data["manifest_hashes"]),
            fingerprint=dict(data["fingerprint"]),
            warnings=list(data["warnings"]),
            live_ids=dict(data.get("live_ids", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the plan file is damaged: {type(exc).__name__} {exc}", hint="plan again") from None

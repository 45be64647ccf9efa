"""The JSON form of a plan: what `plan --format json` prints and `--out` saves, and what `apply PLANFILE` checks.

A saved plan is a contract, not a script: `apply PLANFILE` derives the plan again from the manifests and the live
account and goes ahead only when it is this same plan (`same_changes`), then applies the plan it derived. So the
file never has to carry content: each content value (a template's HTML, text or definition; any kind's
`content_fields`) is written as its digest, `{"sha256": ..., "bytes": ...}`, which is all the comparison needs.
The form holds the account it was made against, the project it came from, the changes with their reasons, the
targets and --force the plan was made with, the manifest hashes, the revision and the live fingerprint, and never a
secret. Documented by schemas/plan.schema.json. It also holds what the removals reach (`blast_radius`, by change
address), read when the plan was made: informational, so not among the changes a saved plan must match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from klaviyo_sync import __version__
from klaviyo_sync.account import Account
from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.blast.reach import reach_from_json, reach_to_json
from klaviyo_sync.errors import ConfigError
from klaviyo_sync.resources import Action, Change, FieldChange, Kind, Origin, Plan, ReplaceMode, Resource, content_hash

PLAN_FORMAT_VERSION = 4  # 4: fingerprints hash each field as it is (3 hashed the JSON of the whole object)


def content_digest(value: Any) -> dict[str, Any] | None:
    """What a saved plan writes for a content value: its SHA-256 and size; None, or a digest read back, stays."""
    if value is None or is_digest(value):
        return value
    data = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {"sha256": content_hash(value), "bytes": len(data.encode("utf-8", "surrogatepass"))}


def is_digest(value: Any) -> bool:
    """Whether `value` is a content digest as `content_digest` writes it."""
    return isinstance(value, dict) and set(value) == {"sha256", "bytes"}


def _digested(kind: Kind, attrs: Mapping[str, Any], full_content: bool = False) -> dict[str, Any]:
    content = () if full_content else kind.spec.content_fields
    return {name: content_digest(value) if name in content else value for name, value in attrs.items()}


def resource_to_json(
    resource: Resource, *, leave_out: frozenset[str] = frozenset(), full_content: bool = False
) -> dict[str, Any]:
    """`leave_out`: attributes written elsewhere (a change's fields) or not the plan's business (live content).
    Content attributes are written as digests unless `full_content`."""
    data: dict[str, Any] = {"kind": resource.kind.value, "key": list(resource.key), "address": resource.address}
    kept = {name: resource.attrs[name] for name in sorted(resource.attrs) if name not in leave_out}
    data["attrs"] = _digested(resource.kind, kept, full_content)
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


def _field_to_json(kind: Kind, change: FieldChange, full_content: bool) -> dict[str, Any]:
    old, new = change.old, change.new
    if change.field in kind.spec.content_fields and not full_content:
        old, new = content_digest(old), content_digest(new)
    return {"field": change.field, "old": old, "new": new, "forces_replacement": change.forces_replacement}


def change_to_json(change: Change, *, full_content: bool = False) -> dict[str, Any]:
    content = frozenset(change.kind.spec.content_fields)
    return {
        "address": change.address,
        "action": change.action.value,
        "kind": change.kind.value,
        "key": list(change.key),
        "reason": change.reason,
        "replace_mode": change.replace_mode.value if change.replace_mode else None,
        "fields": [_field_to_json(change.kind, f, full_content) for f in change.fields],
        "desired": resource_to_json(change.desired, leave_out=frozenset(_content_set(change)), full_content=full_content)
        if change.desired
        else None,
        "live": resource_to_json(change.live, leave_out=content) if change.live else None,
    }


def change_from_json(data: Mapping[str, Any]) -> Change:
    """A change as the file describes it; its content values are digests (a read plan is for checking, not applying)."""
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


def plan_to_json(plan: Plan, *, full_content: bool = False) -> dict[str, Any]:
    """The versioned JSON form, documented by schemas/plan.schema.json. `full_content`: content values in full
    instead of digests, for the renderers that show them (a unified HTML diff); never saved."""
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "tool": {"name": "klaviyo-sync", "version": __version__},
        "revision": REVISION,
        "account": plan.account.to_json() if plan.account is not None else None,
        "project": plan.project,
        "targets": list(plan.targets),
        "force": plan.force,
        "summary": plan.counts(),
        "refusal": plan.refusal.to_json() if plan.refusal is not None else None,
        "changes": [change_to_json(change, full_content=full_content) for change in plan.changes],
        "unmanaged": [_reference_to_json(resource) for resource in plan.unmanaged],
        "warnings": list(plan.warnings),
        "manifest_hashes": dict(plan.manifest_hashes),
        "fingerprint": dict(plan.fingerprint),
        "live_ids": dict(plan.live_ids),
        "blast_radius": {address: reach_to_json(reach) for address, reach in plan.reach.items()},
    }


_TOP_LEVEL_TYPES = {
    "account": (dict, type(None)),
    "project": (str, type(None)),
    "changes": list,
    "unmanaged": list,
    "warnings": list,
    "manifest_hashes": dict,
    "fingerprint": dict,
    "targets": list,
    "force": bool,
}


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
            targets=tuple(str(target) for target in data["targets"]),
            force=data["force"],
            reach={str(address): reach_from_json(item) for address, item in dict(data.get("blast_radius") or {}).items()},
            account=Account.from_json(data["account"]) if data["account"] is not None else None,
            project=data["project"],
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the plan file is damaged: {type(exc).__name__} {exc}", hint="plan again") from None


def same_changes(saved: list[Any], derived: list[dict[str, Any]]) -> list[str]:
    """How the changes of a saved plan's JSON form differ from those of the plan derived now; [] when they are
    the same plan. Each difference names the change by its address and action."""

    def label(change: Any) -> str:
        if isinstance(change, dict):
            return f"{change.get('action', '?')} {change.get('address', '?')}"
        return "an entry that is not a change"

    differences: list[str] = []
    saved_labels = [label(change) for change in saved]
    derived_labels = [label(change) for change in derived]
    for name in saved_labels:
        if name not in derived_labels:
            differences.append(f"the file has `{name}`, which the manifests and the account do not call for")
    for name in derived_labels:
        if name not in saved_labels:
            differences.append(f"the manifests and the account call for `{name}`, which the file does not have")
    if not differences:
        for name, ours, theirs in zip(saved_labels, saved, derived, strict=True):
            if ours != theirs:
                differences.append(f"`{name}` differs from the change the manifests and the account call for")
        if not differences and saved_labels != derived_labels:
            differences.append("the file runs the changes in another order")
    return differences

"""The one traversal of a plan's JSON form that every renderer draws from.

It decides symbols, verbs, which fields to show and how, and computes unified diffs of HTML/text content, so the
text and markdown outputs cannot disagree with each other or with the JSON.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.diff import TEXT_FIELDS, normalise_text

SYMBOLS = {
    "create": "+",
    "clone": "+",
    "link": "+",
    "update": "~",
    "rename": "~",
    "delete": "-",
    "unlink": "-",
}
REPLACE_SYMBOLS = {"delete_first": "-/+", "create_first": "+/-"}
LEGEND = {
    "+": "create",
    "~": "update in place",
    "-": "delete",
    "-/+": "replace: delete, then create",
    "+/-": "replace: create, then delete",
}
VERBS = {
    "create": "will be created",
    "clone": "will be created by cloning",
    "link": "will be linked",
    "update": "will be updated in place",
    "rename": "will be renamed",
    "replace": "will be replaced",
    "delete": "will be deleted",
    "unlink": "will be unlinked",
}
DIFF_CONTEXT = 3
# Control characters from names or content would drive the terminal; they are shown escaped instead.
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if code != 0x09}


@dataclass(frozen=True)
class FieldView:
    name: str
    symbol: str  # "+" set on create, "~" changed
    summary: str  # "false -> true", "1,234 bytes -> 1,240 bytes", "(1,234 bytes)"
    forces_replacement: bool = False
    diff: tuple[str, ...] = ()  # unified diff lines (no trailing newlines), for content fields that changed
    sizes: str = ""  # "1,234 bytes in the account, 1,240 in the manifest", shown when a diff is truncated


@dataclass(frozen=True)
class ChangeView:
    action: str
    symbol: str
    address: str
    id: str | None
    headline: str  # "template["A"] will be updated in place: html differ"
    reason: str
    fields: tuple[FieldView, ...]


@dataclass
class PlanView:
    changes: list[ChangeView]
    counts: dict[str, int]
    summary: str
    legend: list[tuple[str, str]]
    destructive: list[ChangeView]
    warnings: list[str]
    unmanaged: list[tuple[str, str | None]] = field(default_factory=list)
    revision: str = ""


def printable(text: str) -> str:
    return text.translate(_CONTROL)


def summary_line(counts: Mapping[str, int]) -> str:
    if not any(counts.values()):
        return "No changes. The account matches the manifests."
    return f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete."


def plan_view(data: Mapping[str, Any]) -> PlanView:
    """Build the view from `plan_to_json(plan)`."""
    changes = [change_view(change) for change in data["changes"]]
    symbols_used = {view.symbol for view in changes}
    legend = [(symbol, meaning) for symbol, meaning in LEGEND.items() if symbol in symbols_used]
    counts = dict(data["summary"])
    return PlanView(
        changes=changes,
        counts=counts,
        summary=summary_line(counts),
        legend=legend,
        destructive=[view for view in changes if view.action in ("delete", "unlink", "replace")],
        warnings=[printable(warning) for warning in data.get("warnings", [])],
        unmanaged=[(item["address"], item.get("id")) for item in data.get("unmanaged", [])],
        revision=data.get("revision", ""),
    )


def change_view(change: Mapping[str, Any]) -> ChangeView:
    action = change["action"]
    symbol = REPLACE_SYMBOLS[change["replace_mode"]] if action == "replace" else SYMBOLS[action]
    live = change.get("live") or {}
    verb = VERBS[action]
    reason = printable(change.get("reason", ""))
    fields = tuple(field_view(item, created=action in ("create", "clone")) for item in change.get("fields", []))
    return ChangeView(
        action=action,
        symbol=symbol,
        address=change["address"],
        id=live.get("id"),
        headline=f"{change['address']} {verb}",
        reason=reason,
        fields=fields,
    )


def field_view(item: Mapping[str, Any], *, created: bool) -> FieldView:
    name, old, new = item["field"], item["old"], item["new"]
    forces = bool(item.get("forces_replacement"))
    if name in TEXT_FIELDS:
        if created:
            return FieldView(name, "+", f"({_size(new)})")
        old_text, new_text = normalise_text(old), normalise_text(new)
        diff = tuple(content_diff(old_text, new_text, name))
        sizes = f"{_size(old)} in the account, {_size(new)} in the manifest"
        return FieldView(name, "~", f"{_size(old)} -> {_size(new)}", forces, diff, sizes)
    if isinstance(new, Mapping | list) or isinstance(old, Mapping | list):
        if created:
            return FieldView(name, "+", "(structured value)")
        diff = tuple(content_diff(_pretty(old), _pretty(new), name))
        return FieldView(name, "~", "(structured value changed)", forces, diff)
    if created:
        return FieldView(name, "+", _scalar(new))
    return FieldView(name, "~", f"{_scalar(old)} -> {_scalar(new)}", forces)


def content_diff(old: str, new: str, name: str) -> list[str]:
    return [
        printable(line)
        for line in difflib.unified_diff(
            old.split("\n") if old else [],
            new.split("\n") if new else [],
            fromfile=f"{name} (account)",
            tofile=f"{name} (manifest)",
            n=DIFF_CONTEXT,
            lineterm="",
        )
    ]


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _scalar(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _size(value: str | None) -> str:
    return f"{len((value or '').encode('utf-8')):,} bytes"

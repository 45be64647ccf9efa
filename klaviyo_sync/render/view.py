"""The one traversal of a plan's JSON form that every renderer draws from.

It decides symbols, verbs, which fields to show and how, and computes unified diffs of HTML/text content, so the
text and markdown outputs cannot disagree with each other or with the JSON.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.blast.reach import describe
from klaviyo_sync.diff import normalise_text
from klaviyo_sync.kinds import KINDS, TEXT_FIELDS
from klaviyo_sync.plan.codec import is_digest

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
KIND_ALERTS = {spec.kind.value: spec.alerts for spec in KINDS if spec.alerts is not None}
# Control characters from names or content would drive the terminal; they are shown escaped instead.
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if code != 0x09}
_HAS_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
# The same, except the line breaks a diff splits on: one scan of each side decides whether its lines need escaping.
_HAS_CONTROL_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class FieldView:
    name: str
    symbol: str  # "+" set on create, "~" changed
    summary: str  # "false -> true", "1,234 bytes -> 1,240 bytes", "(1,234 bytes)"
    forces_replacement: bool = False
    sizes: str = ""  # "1,234 bytes in the account, 1,240 in the manifest", shown when a diff is truncated
    # For a content field that changed: "text" (HTML, text) or "structured" (a definition), and the two values.
    # The diff, and even the normalised text it compares, is computed only when a renderer shows it: a PR comment
    # has room for a few diffs of a thousand, and holding copies of every changed 100 KB template adds up.
    content: str | None = None
    old: Any = None
    new: Any = None

    @property
    def has_diff(self) -> bool:
        return self.content is not None

    def diff(self) -> list[str]:
        """The unified diff lines (no trailing newlines); empty for fields without content."""
        if self.content == "text":
            return content_diff(normalise_text(self.old), normalise_text(self.new), self.name)
        if self.content == "structured":
            return content_diff(_pretty(self.old), _pretty(self.new), self.name)
        return []


@dataclass(frozen=True)
class ChangeView:
    action: str
    symbol: str
    address: str
    id: str | None
    headline: str  # "template["A"] will be updated in place: html differ"
    reason: str
    fields: tuple[FieldView, ...]
    alerts: tuple[str, ...] = ()  # loud lines from the kind (`KindSpec.alerts`): an email that goes live
    # What the removal reaches beyond the object (a list's profiles and flows, a tag's carriers), one fact a line.
    reach: tuple[str, ...] = ()


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
    # What reviewers should know beyond the changes themselves (`KindSpec.review_note`), one line per kind.
    notes: list[str] = field(default_factory=list)
    # Every change's alerts, in plan order: shown first, loudly.
    alerts: list[str] = field(default_factory=list)
    # One line per removal that reaches beyond its object: "list["A"] delete: 12,430 profiles on this list; ...".
    reach: list[str] = field(default_factory=list)
    # Why the safety checks refused the plan, each as (where: what, how to fix); empty when it was not refused.
    refusal: list[tuple[str, str]] = field(default_factory=list)
    # The account the plan was made against: its organization name and id ("" when the plan names none).
    account_name: str = ""
    account_id: str = ""

    @property
    def account(self) -> str:
        """`Acme Staging (AbC123)`."""
        return f"{self.account_name} ({self.account_id})" if self.account_name else self.account_id

    @property
    def refused(self) -> bool:
        return bool(self.refusal)


def printable(text: str) -> str:
    return text.translate(_CONTROL) if _HAS_CONTROL.search(text) else text


def summary_line(counts: Mapping[str, int], *, refused: bool = False) -> str:
    counted = f"{counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete"
    if refused:
        return f"Refused plan: {counted}. Nothing will be applied."
    if not any(counts.values()):
        return "No changes. The account matches the manifests."
    return f"Plan: {counted}."


def refusal_lines(refusal: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Each problem of a refusal as (`file:line:column: message`, hint); line 0 names the file alone."""
    lines = []
    for problem in (refusal or {}).get("problems", []):
        where = f"{problem['file']}:{problem['line']}:{problem['column']}" if problem["line"] else problem["file"]
        lines.append((printable(f"{where}: {problem['message']}"), printable(problem.get("hint", ""))))
    return lines


def plan_view(data: Mapping[str, Any]) -> PlanView:
    """Build the view from `plan_to_json(plan)`."""
    reach = data.get("blast_radius") or {}
    changes = [change_view(change, reach.get(change["address"])) for change in data["changes"]]
    symbols_used = {view.symbol for view in changes}
    legend = [(symbol, meaning) for symbol, meaning in LEGEND.items() if symbol in symbols_used]
    counts = dict(data["summary"])
    refusal = refusal_lines(data.get("refusal"))
    account = data.get("account") or {}
    return PlanView(
        changes=changes,
        counts=counts,
        summary=summary_line(counts, refused=bool(refusal)),
        legend=legend,
        destructive=[view for view in changes if view.action in ("delete", "unlink", "replace")],
        warnings=[printable(warning) for warning in data.get("warnings", [])],
        unmanaged=[(item["address"], item.get("id")) for item in data.get("unmanaged", [])],
        revision=data.get("revision", ""),
        notes=review_notes(data["changes"]),
        alerts=[alert for view in changes for alert in view.alerts],
        reach=[f"{view.address} {view.action}: {'; '.join(view.reach)}" for view in changes if view.reach],
        refusal=refusal,
        account_name=printable(account.get("name", "")),
        account_id=printable(account.get("id", "")),
    )


def review_notes(changes: list[Mapping[str, Any]]) -> list[str]:
    """A kind's review note with the objects of that kind the plan changes (a block's change reaches every
    template using it)."""
    notes = []
    for spec in KINDS:
        if spec.review_note is None:
            continue
        addresses = [change["address"] for change in changes if change["kind"] == spec.kind.value]
        if addresses:
            notes.append(printable(f"{spec.review_note}: {', '.join(addresses)}"))
    return notes


def change_view(change: Mapping[str, Any], reach: Mapping[str, Any] | None = None) -> ChangeView:
    """`reach`: the plan's `blast_radius` entry for this change, if it has one."""
    action = change["action"]
    symbol = REPLACE_SYMBOLS[change["replace_mode"]] if action == "replace" else SYMBOLS[action]
    live = change.get("live") or {}
    verb = VERBS[action]
    reason = printable(change.get("reason", ""))
    fields = tuple(field_view(item, created=action in ("create", "clone")) for item in change.get("fields", []))
    alerts = KIND_ALERTS.get(change["kind"])
    return ChangeView(
        action=action,
        symbol=symbol,
        address=change["address"],
        id=live.get("id"),
        headline=f"{change['address']} {verb}",
        reason=reason,
        fields=fields,
        alerts=tuple(printable(alert) for alert in alerts(change)) if alerts else (),
        reach=tuple(printable(line) for line in describe(reach, change["kind"])) if reach else (),
    )


def field_view(item: Mapping[str, Any], *, created: bool) -> FieldView:
    name, old, new = item["field"], item["old"], item["new"]
    forces = bool(item.get("forces_replacement"))
    if is_digest(old) or is_digest(new):  # a saved plan: content is known by its digest only
        if created:
            return FieldView(name, "+", f"({_digest(new)})")
        return FieldView(name, "~", f"{_digest(old)} -> {_digest(new)}", forces)
    if name in TEXT_FIELDS:
        if created:
            return FieldView(name, "+", f"({_size(new)})")
        sizes = f"{_size(old)} in the account, {_size(new)} in the manifest"
        return FieldView(name, "~", f"{_size(old)} -> {_size(new)}", forces, sizes, "text", old, new)
    if isinstance(new, Mapping | list) or isinstance(old, Mapping | list):
        if created:
            return FieldView(name, "+", "(structured value)")
        return FieldView(name, "~", "(structured value changed)", forces, content="structured", old=old, new=new)
    if created:
        return FieldView(name, "+", _scalar(new))
    return FieldView(name, "~", f"{_scalar(old)} -> {_scalar(new)}", forces)


def content_diff(old: str, new: str, name: str) -> list[str]:
    lines = difflib.unified_diff(
        old.split("\n") if old else [],
        new.split("\n") if new else [],
        fromfile=f"{name} (account)",
        tofile=f"{name} (manifest)",
        n=DIFF_CONTEXT,
        lineterm="",
    )
    if _HAS_CONTROL_IN_LINES.search(old) or _HAS_CONTROL_IN_LINES.search(new) or _HAS_CONTROL.search(name):
        return [printable(line) for line in lines]
    return list(lines)  # nothing to escape: skip a translate of every line of a 100 KB template


def clip_long_lines(lines: list[str], width: int) -> list[str]:
    """Diff lines cut to about `width` characters, saying how much was left out. Minified HTML puts a whole template
    on one line, so a removed line and the added line paired with it are cut to the same window around the first
    character where they differ: the reviewer sees the change, not the part both share."""
    clipped = [line if len(line) <= width + 1 else _window(line, 0, width) for line in lines]
    index = 2  # after the ---/+++ header
    while index < len(clipped):
        removed_end = index
        while removed_end < len(clipped) and clipped[removed_end].startswith("-"):
            removed_end += 1
        added_end = removed_end
        while added_end < len(clipped) and clipped[added_end].startswith("+"):
            added_end += 1
        for removed, added in zip(range(index, removed_end), range(removed_end, added_end), strict=False):
            old, new = lines[removed], lines[added]
            if max(len(old), len(new)) > width + 1:
                start = max(_first_difference(old[1:], new[1:]) - width // 4, 0)
                clipped[removed], clipped[added] = _window(old, start, width), _window(new, start, width)
        index = max(added_end, index + 1)
    return clipped


def _first_difference(old: str, new: str) -> int:
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))


def _window(line: str, start: int, width: int) -> str:
    """`line` (marker first) with only `width` characters of content from `start` kept."""
    marker, content = line[:1], line[1:]
    if len(content) <= width:
        return line
    end = min(start + width, len(content))
    start = max(min(start, end - width), 0)
    before = f"({start:,} characters before) …" if start else ""
    after = f"… ({len(content) - end:,} more characters)" if end < len(content) else ""
    return f"{marker}{before}{content[start:end]}{after}"


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _scalar(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _digest(value: Any) -> str:
    if not is_digest(value):
        return "none"
    return f"{value['bytes']:,} bytes, sha256 {value['sha256'][:12]}"


def _size(value: str | None) -> str:
    return f"{len((value or '').encode('utf-8')):,} bytes"

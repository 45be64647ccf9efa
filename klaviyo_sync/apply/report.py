"""What an apply did: applied (with ids), failed (with Klaviyo's error, explained), not attempted.

The report is plain data; `render_report_text` and `report_to_json` are its two views, so the terminal
and CI see the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.errors import AmbiguousServerError, ApiError, TransportError
from klaviyo_sync.resources import SUMMARY_BUCKET, Action, Change

REPORT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class AppliedChange:
    change: Change
    id: str | None  # the Klaviyo id of the object created or changed (a link: "LISTID:TAGID")


@dataclass(frozen=True)
class FailedChange:
    change: Change
    error: BaseException
    note: str = ""  # what part of a multi-request change already happened, e.g. "the old object was deleted"


@dataclass
class ApplyReport:
    applied: list[AppliedChange] = field(default_factory=list)
    failed: list[FailedChange] = field(default_factory=list)
    not_attempted: list[Change] = field(default_factory=list)
    # Started, then cancelled by a second interrupt: the change may or may not have reached Klaviyo.
    abandoned: list[Change] = field(default_factory=list)
    interrupted: bool = False
    drift: list[str] = field(default_factory=list)  # differences still present after a complete apply
    verified: bool = False  # the account was read back after the apply and compared
    # What the check for creates committed late found and did (`klaviyo_sync.apply.late`), and the duplicates
    # it caused that are still in the account.
    late_commits: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.not_attempted or self.abandoned or self.interrupted or self.drift or self.duplicates)

    def counts(self) -> dict[str, int]:
        """Applied changes by summary bucket; a replace counts as one create and one delete."""
        counts = {"created": 0, "updated": 0, "deleted": 0}
        for item in self.applied:
            bucket = SUMMARY_BUCKET[item.change.action]
            if bucket == "replace":
                counts["created"] += 1
                counts["deleted"] += 1
            else:
                counts[{"create": "created", "update": "updated", "delete": "deleted"}[bucket]] += 1
        return counts

    def summary_line(self) -> str:
        counts = self.counts()
        head = "Apply complete" if self.ok else "Apply interrupted" if self.interrupted else "Apply stopped"
        return f"{head}: {counts['created']} created, {counts['updated']} updated, {counts['deleted']} deleted."


PAST_TENSE: dict[Action, str] = {
    Action.CREATE: "created",
    Action.CLONE: "cloned",
    Action.UPDATE: "updated",
    Action.RENAME: "renamed",
    Action.REPLACE: "replaced",
    Action.DELETE: "deleted",
    Action.LINK: "linked",
    Action.UNLINK: "unlinked",
}


def describe_change(change: Change) -> str:
    """`template["Welcome"]` or, for a rename, `list["VIP"] (was "Top Customers")`."""
    if change.action is Action.RENAME and change.live is not None:
        return f'{change.address} (was "{change.live.name}")'
    return change.address


def explain_error(error: BaseException) -> str:
    """One line saying what Klaviyo answered and, where known, what to do about it."""
    if isinstance(error, AmbiguousServerError):
        text = f"Klaviyo answered HTTP {error.status} to {error.operation}: {error.message}"
    elif isinstance(error, TransportError):
        text = f"no response from Klaviyo ({error.operation}): {error.message}"
    elif isinstance(error, ApiError):
        status = f"HTTP {error.status}" if error.status is not None else "error"
        parts = [f"Klaviyo answered {status} to {error.operation}"]
        if error.code:
            parts.append(f"code {error.code}")
        detail = error.detail or error.message
        text = ", ".join(parts) + f": {detail}"
        pointer = error.source.get("pointer") or error.source.get("parameter")
        if pointer:
            text += f" (at {pointer})"
    else:
        text = f"unexpected {type(error).__name__}: {error}"
    hint = getattr(error, "hint", "")
    return f"{text} — {hint}" if hint else text


def render_report_text(report: ApplyReport) -> str:
    lines: list[str] = []
    if not report.ok:
        if report.applied:
            lines.append(f"Applied ({len(report.applied)}):")
            for item in report.applied:
                suffix = f" (id {item.id})" if item.id else ""
                lines.append(f"  {PAST_TENSE[item.change.action]} {describe_change(item.change)}{suffix}")
        if report.failed:
            lines.append(f"Failed ({len(report.failed)}):")
            for failure in report.failed:
                lines.append(f"  {failure.change.action.value} {describe_change(failure.change)}: {explain_error(failure.error)}")
                if failure.note:
                    lines.append(f"    note: {failure.note}")
        if report.abandoned:
            lines.append(f"Interrupted while in flight, outcome unknown ({len(report.abandoned)}):")
            lines.extend(f"  {change.action.value} {describe_change(change)}" for change in report.abandoned)
        if report.not_attempted:
            lines.append(f"Not attempted ({len(report.not_attempted)}):")
            lines.extend(f"  {change.action.value} {describe_change(change)}" for change in report.not_attempted)
        for title, found in (
            ("Still different after apply:", report.drift),
            (f"Duplicates this apply caused, still in the account ({len(report.duplicates)}):", report.duplicates),
        ):
            if found:
                lines.append(title)
                lines.extend(f"  {text}" for text in found)
    if report.late_commits:
        lines.append("Creates without a clear answer, checked after the run:")
        lines.extend(f"  {text}" for text in report.late_commits)
    lines.append(report.summary_line())
    return "\n".join(lines)


def _change_json(change: Change) -> dict[str, Any]:
    return {"action": change.action.value, "kind": change.kind.value, "key": list(change.key), "address": change.address}


def _error_json(error: BaseException) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "explanation": explain_error(error)}
    if isinstance(error, ApiError):
        data.update(operation=error.operation, status=error.status, code=error.code, detail=error.detail, hint=error.hint)
    if isinstance(error, TransportError):
        data["ambiguous"] = error.ambiguous
    return data


def report_status(report: ApplyReport) -> str:
    if report.ok:
        return "applied"
    return "interrupted" if report.interrupted else "failed"


def report_to_json(report: ApplyReport) -> dict[str, Any]:
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "status": report_status(report),
        "summary": report.counts(),
        "applied": [{**_change_json(item.change), "id": item.id} for item in report.applied],
        "failed": [{**_change_json(item.change), "error": _error_json(item.error), "note": item.note} for item in report.failed],
        "abandoned": [_change_json(change) for change in report.abandoned],
        "not_attempted": [_change_json(change) for change in report.not_attempted],
        "verified": report.verified,
        "drift": list(report.drift),
        "late_commits": list(report.late_commits),
        "duplicates": list(report.duplicates),
    }

"""The lint warnings a plan shows: those of the templates and flow emails it writes (`validate` shows them all)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from klaviyo_sync.errors import Problem
from klaviyo_sync.resources import Action, Change, Kind

# Actions that write a template's content to the account: its lint warnings concern the reviewer.
CONTENT_WRITES = (Action.CREATE, Action.CLONE, Action.UPDATE, Action.RENAME, Action.REPLACE)


def lint_notes(project: object, changes: Iterable[Change]) -> list[str]:
    """`lint: file:line:column: message — hint [rule]` for each warning of a template or flow email's own files
    written by `changes` (an email that follows a template shares the template's warnings)."""
    by_object: Mapping[str, Sequence[Problem]] = getattr(project, "template_warnings", {})
    notes = (
        f"lint: {warning}"
        for change in changes
        if change.action in CONTENT_WRITES
        for warning in by_object.get(change.key[0] if change.kind is Kind.TEMPLATE else change.address, ())
    )
    return list(dict.fromkeys(notes))  # templates sharing a file share its findings: each is said once

"""The template lint warnings a plan shows: those of the templates it writes (`validate` shows them all)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from klaviyo_sync.errors import Problem
from klaviyo_sync.resources import Action, Change, Kind

# Actions that write a template's content to the account: its lint warnings concern the reviewer.
CONTENT_WRITES = (Action.CREATE, Action.CLONE, Action.UPDATE, Action.RENAME, Action.REPLACE)


def lint_notes(project: object, changes: Iterable[Change]) -> list[str]:
    """`lint: file:line:column: message — hint [rule]` for each warning of a template written by `changes`."""
    by_template: Mapping[str, Sequence[Problem]] = getattr(project, "template_warnings", {})
    notes = (
        f"lint: {warning}"
        for change in changes
        if change.kind is Kind.TEMPLATE and change.action in CONTENT_WRITES
        for warning in by_template.get(change.key[0], ())
    )
    return list(dict.fromkeys(notes))  # templates sharing a file share its findings: each is said once

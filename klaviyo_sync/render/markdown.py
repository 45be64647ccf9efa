"""The pull-request comment: summary first, a loud warning when anything is destroyed, a table, collapsible diffs.

GitHub refuses comments over 65,536 characters, so content diffs share what room the rest leaves and are cut
(with a note) to fit; a plan with so many changes that even the table does not fit lists the first ones only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from klaviyo_sync.render.view import ChangeView, FieldView, PlanView, plan_view

COMMENT_LIMIT = 65_536
# Room kept free below the limit for text a CI step may wrap around the comment.
SAFETY_MARGIN = 1_536
_BACKTICKS = re.compile(r"`+")


def render_markdown(data: Mapping[str, Any], *, limit: int = COMMENT_LIMIT - SAFETY_MARGIN) -> str:
    """Render the JSON form of a plan (`plan_to_json`) as a GitHub comment of at most `limit` characters."""
    view = plan_view(data)
    head = _head(view)
    tail = _tail(view)
    rows = [_row(change) for change in view.changes]
    table = _table(rows)
    if len(head) + len(table) + len(tail) > limit:
        table = _cut_table(rows, limit - len(head) - len(tail))
    room = limit - len(head) - len(table) - len(tail)
    details = _details(view, room)
    return head + table + details + tail


def _head(view: PlanView) -> str:
    parts = ["### klaviyo-sync plan\n\n", f"**{view.summary}**\n\n"]
    if view.destructive:
        count = len(view.destructive)
        parts.append("> [!CAUTION]\n")
        parts.append(f"> **This plan deletes or replaces {count} object{'s' if count != 1 else ''} in the Klaviyo account.**\n")
        shown = view.destructive[:20]
        parts.extend(f"> - `{change.symbol}` {_cell(change.address)} {change.action}\n" for change in shown)
        if count > len(shown):
            parts.append(f"> - … and {count - len(shown)} more (see the table)\n")
        parts.append("\n")
    if view.warnings:
        parts.append("> [!WARNING]\n")
        parts.extend(f"> {_cell(warning)}\n" for warning in view.warnings)
        parts.append("\n")
    return "".join(parts)


def _tail(view: PlanView) -> str:
    parts = []
    if view.unmanaged:
        count = len(view.unmanaged)
        noun = "object is" if count == 1 else "objects are"
        parts.append(f"\n{count} live {noun} outside the managed scope and left untouched.\n")
    parts.append(f"\n<sub>Klaviyo API revision {view.revision}</sub>\n")
    return "".join(parts)


def _row(change: ChangeView) -> str:
    ident = f"`{change.id}`" if change.id else ""
    changed = ", ".join(item.name for item in change.fields)
    cells = [f"`{change.symbol}`", change.action, _cell(change.address), ident, _cell(changed), _cell(change.reason)]
    return "| " + " | ".join(cells) + " |\n"


def _table(rows: list[str]) -> str:
    if not rows:
        return ""
    return "| | Action | Object | Id | Fields | Why |\n|---|---|---|---|---|---|\n" + "".join(rows)


def _cut_table(rows: list[str], room: int) -> str:
    kept: list[str] = []
    for row in rows:
        note = f"\n… {len(rows) - len(kept)} more changes not shown; run `klaviyo-sync plan` for the full plan.\n"
        if len(_table([*kept, row])) + len(note) > room:
            return _table(kept) + note
        kept.append(row)
    return _table(kept)


def _details(view: PlanView, room: int) -> str:
    """Collapsible diffs, each cut to an equal share of the room left (a share unused by one passes on)."""
    blocks = [(change, item) for change in view.changes for item in change.fields if item.diff]
    note_room = 120  # kept for the note below
    room -= note_room
    parts: list[str] = []
    skipped = 0
    for index, (change, item) in enumerate(blocks):
        share = room // (len(blocks) - index)
        block = _diff_block(change, item, share)
        if not block:
            skipped += 1
            continue
        parts.append(block)
        room -= len(block)
    if skipped:
        parts.append(f"\n{skipped} content diffs not shown for lack of room; run `klaviyo-sync plan` to see them.\n")
    return "".join(parts)


def _diff_block(change: ChangeView, item: FieldView, budget: int) -> str:
    body = "\n".join(item.diff)
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(body)), default=0))
    summary = f"{_cell(change.address)}: {html.escape(item.name)} ({html.escape(item.summary)})"
    open_ = f"\n<details><summary>{summary}</summary>\n\n{fence}diff\n"
    close = f"\n{fence}\n\n</details>\n"
    if len(open_) + len(body) + len(close) <= budget:
        return open_ + body + close
    note = f"\n… diff cut to fit the comment ({item.sizes}); run `klaviyo-sync plan` for all of it."
    room = budget - len(open_) - len(close) - len(note)
    if room < 200:
        return ""
    cut = body[:room]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return open_ + cut + note + close


def _cell(text: str) -> str:
    """Safe inside a table cell and in HTML: no markup, no pipes, no line breaks."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")

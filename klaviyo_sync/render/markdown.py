"""The pull-request comment: summary first, a loud warning when anything is destroyed, a table, collapsible diffs.

GitHub refuses comments over 65,536 characters, so content diffs share what room the rest leaves and are cut
(with a note) to fit; a plan with so many changes that even the table does not fit lists the first ones only.
Lengths are counted in code points: at most 64,000 of them is also at most 256,000 UTF-8 bytes, under the
262,144-byte cap GitHub has been measured to enforce on comments, however many emoji the content holds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from klaviyo_sync.render.view import ChangeView, FieldView, PlanView, clip_long_lines, plan_view

COMMENT_LIMIT = 65_536
# Room kept free below the limit for text a CI step may wrap around the comment.
SAFETY_MARGIN = 1_536
# The least room worth giving a diff block (its header, a hunk and the cut note).
MIN_DIFF_BLOCK = 1_500
# Characters of one diff line shown (minified HTML: one line can be the whole template).
LINE_CHAR_LIMIT = 500
# Warnings shown in the comment's head; the rest are counted (a template with hundreds of findings stays readable).
MAX_WARNINGS = 30
_BACKTICKS = re.compile(r"`+")
# Characters that would turn a name into emphasis, a link or code in prose; they are shown as typed.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~])")


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


def with_preview(data: Mapping[str, Any], summary: str, *, limit: int = COMMENT_LIMIT - SAFETY_MARGIN) -> str:
    """The plan comment followed by a `klaviyo-sync preview` summary; the summary is what gets cut to fit."""
    room = max(limit // 4, limit - len(render_markdown(data, limit=limit)))
    plan = render_markdown(data, limit=limit - min(room, len(summary) + 2))
    kept = summary if len(plan) + 2 + len(summary) <= limit else _cut_summary(summary, limit - len(plan) - 2)
    return f"{plan}\n{kept}" if kept else plan


def _cut_summary(summary: str, room: int) -> str:
    note = "\n… preview summary cut to fit the comment; the gallery has every render.\n"
    if room <= len(note) + 40:
        return ""
    cut = summary[: room - len(note)]
    return cut[: cut.rfind("\n") + 1] + note


def _head(view: PlanView) -> str:
    title = f" for {_text(view.account_name)} ({_code(view.account_id)})" if view.account_name else ""
    title = f" for {_code(view.account_id)}" if view.account_id and not title else title
    parts = [f"### klaviyo-sync plan{title}\n\n"]
    if view.refused:
        parts.append("> [!CAUTION]\n> **The plan was refused by its safety checks; nothing will be applied.**\n>\n")
        for problem, hint in view.refusal:
            parts.append(f"> - {_text(problem)}" + (f"<br>{_text(hint)}" if hint else "") + "\n")
        parts.append("\n")
    parts.append(f"**{view.summary}**\n\n")
    if view.destructive:
        count = len(view.destructive)
        parts.append("> [!CAUTION]\n")
        parts.append(f"> **This plan deletes or replaces {count} object{'s' if count != 1 else ''} in the Klaviyo account.**\n")
        shown = view.destructive[:20]
        parts.extend(f"> - `{change.symbol}` {_code(change.address)} {change.action}\n" for change in shown)
        if count > len(shown):
            parts.append(f"> - … and {count - len(shown)} more (see the table)\n")
        parts.append("\n")
    if view.alerts:
        parts.append("> [!CAUTION]\n> **What customers receive changes:**\n")
        parts.extend(f"> - {_text(alert)}\n" for alert in view.alerts[:MAX_WARNINGS])
        if len(view.alerts) > MAX_WARNINGS:
            parts.append(f"> - … and {len(view.alerts) - MAX_WARNINGS} more (see the table)\n")
        parts.append("\n")
    if view.warnings or view.reach:
        shown = view.warnings[:MAX_WARNINGS]
        parts.append("> [!WARNING]\n")
        parts.extend(f"> **{_text(line)}**\n" for line in view.reach)  # what deleting these lists and tags reaches
        parts.extend(f"> {_text(warning)}\n" for warning in shown)
        if len(view.warnings) > len(shown):
            parts.append(f"> … and {len(view.warnings) - len(shown)} more; `klaviyo-sync validate` lists every lint warning.\n")
        parts.append("\n")
    if view.notes:
        parts.append("> [!IMPORTANT]\n")
        parts.extend(f"> {_text(note)}\n" for note in view.notes)
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
    changed = ", ".join(_code(item.name, table=True) for item in change.fields)
    cells = [
        f"`{change.symbol}`",
        change.action,
        _code(change.address, table=True),
        ident,
        changed,
        _text("; ".join((change.reason, *change.reach)) if change.reach else change.reason, table=True),
    ]
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
    """Collapsible diffs, each cut to an equal share of the room left (a share unused by one passes on), but never
    to less than MIN_DIFF_BLOCK: with hundreds of diffs the first ones are shown readably and the rest skipped."""
    blocks = [(change, item) for change in view.changes for item in change.fields if item.has_diff]
    note_room = 120  # kept for the note below
    room -= note_room
    parts: list[str] = []
    skipped = 0
    for index, (change, item) in enumerate(blocks):
        share = min(room, max(room // (len(blocks) - index), MIN_DIFF_BLOCK))
        block = _diff_block(change, item, share) if share >= MIN_DIFF_BLOCK else ""  # no room: not even computed
        if not block:
            skipped += 1
            continue
        parts.append(block)
        room -= len(block)
    if skipped:
        parts.append(f"\n{skipped} content diffs not shown for lack of room; run `klaviyo-sync plan` to see them.\n")
    return "".join(parts)


def _diff_block(change: ChangeView, item: FieldView, budget: int) -> str:
    body = "\n".join(clip_long_lines(item.diff(), LINE_CHAR_LIMIT))
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(body)), default=0))
    summary = f"<code>{html.escape(change.address, quote=False)}</code>: {html.escape(item.name)} ({html.escape(item.summary)})"
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


def _text(text: str, *, table: bool = False) -> str:
    """Prose with names in it, shown as typed: no markup, no HTML, no line breaks (and no pipes in a table)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", " ")
    return escaped.replace("|", "\\|") if table else escaped


def _code(text: str, *, table: bool = False) -> str:
    """An object's address as inline code: shown as typed, and a name like "@team" notifies nobody."""
    text = text.replace("\n", " ")
    if table:
        text = text.replace("|", "\\|")  # GitHub splits table cells on pipes even inside code
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"

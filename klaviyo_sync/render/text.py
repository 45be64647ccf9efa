"""The terminal rendering of a plan: legend, one block per change with its reason, content diffs, summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from klaviyo_sync.render.view import ChangeView, FieldView, clip_long_lines, plan_view

# Lines of a content diff shown in the terminal before it is cut (the JSON and --out keep everything).
DIFF_LINE_LIMIT = 200
DIFF_CHAR_LIMIT = 20_000
LINE_CHAR_LIMIT = 500

REFUSED_HEAD = "The plan was refused by its safety checks; nothing will be applied:"

_COLORS = {"green": "32", "yellow": "33", "red": "31", "cyan": "36", "bold": "1", "dim": "2"}
_SYMBOL_COLORS = {"+": "green", "~": "yellow", "-": "red", "-/+": "red", "+/-": "green"}


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, color: str) -> str:
        return f"\x1b[{_COLORS[color]}m{text}\x1b[0m" if self.enabled else text


def render_text(data: Mapping[str, Any], *, color: bool = False, verbose: bool = False) -> str:
    """Render the JSON form of a plan (`plan_to_json`) for a terminal."""
    view = plan_view(data)
    style = _Style(color)
    sections: list[list[str]] = []  # printed with one blank line between them
    if view.refused:
        lines = [style(REFUSED_HEAD, "red")]
        for problem, hint in view.refusal:
            lines.append(f"  {problem}")
            lines.extend([f"    hint: {hint}"] if hint else [])
        sections.append(lines)
    if view.account:
        sections.append([f"Account: {style(view.account, 'bold')}"])
    if view.changes:
        width = max(len(symbol) for symbol, _ in view.legend)
        legend = [f"  {style(symbol.rjust(width), _SYMBOL_COLORS[symbol])} {meaning}" for symbol, meaning in view.legend]
        will = "would make these changes, were the plan not refused" if view.refused else "will make these changes"
        sections.append([f"klaviyo-sync {will} (Klaviyo API revision {view.revision}):", "", *legend])
        if view.alerts:
            sections.append([style("What customers receive changes:", "red"), *(f"  !! {alert}" for alert in view.alerts)])
        sections.extend(_change_block(change, style) for change in view.changes)
    if view.warnings:
        sections.append([style("Warnings:", "bold"), *(f"  ! {warning}" for warning in view.warnings)])
    if view.notes:
        sections.append([style("Note:", "bold"), *(f"  {note}" for note in view.notes)])
    if view.unmanaged:
        count = len(view.unmanaged)
        noun = "object is" if count == 1 else "objects are"
        hint = ":" if verbose else " (-v lists them)."
        lines = [f"{count} live {noun} outside the managed scope and left untouched{hint}"]
        if verbose:
            lines.extend(f"  {address}" + (f" (id {id_})" if id_ else "") for address, id_ in view.unmanaged)
        sections.append(lines)
    sections.append([style(view.summary, "bold")])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def _change_block(change: ChangeView, style: _Style) -> list[str]:
    symbol = style(change.symbol.rjust(3), _SYMBOL_COLORS[change.symbol])
    ident = f" (id {change.id})" if change.id else ""
    lines = [style(f"  # {change.headline}", "dim")]
    if change.reason:
        lines.append(style(f"  #   {change.reason}", "dim"))
    lines.append(f"{symbol} {style(change.address, 'bold')}{ident}")
    lines.extend(style(f"      !! {alert}", "red") for alert in change.alerts)
    lines.extend(f"      {style('!', 'yellow')} {fact}" for fact in change.reach)
    for item in change.fields:
        lines.extend(_field_lines(item, style))
    return lines


def _field_lines(item: FieldView, style: _Style) -> list[str]:
    forces = style("  # forces replacement", "red") if item.forces_replacement else ""
    lines = [f"      {style(item.symbol, _SYMBOL_COLORS[item.symbol])} {item.name}: {item.summary}{forces}"]
    diff = item.diff()
    budget = DIFF_CHAR_LIMIT
    shown = 0
    for line in clip_long_lines(diff[:DIFF_LINE_LIMIT], LINE_CHAR_LIMIT):
        if budget <= 0:
            break
        lines.append("          " + _diff_line(line, style))
        budget -= len(line)
        shown += 1
    if shown < len(diff):
        hidden = len(diff) - shown
        lines.append(f"          ... {hidden:,} more diff lines not shown ({item.sizes}); --format json has the full content")
    return lines


def _diff_line(line: str, style: _Style) -> str:
    if line.startswith(("+++", "---")):
        return style(line, "bold")
    if line.startswith("@@"):
        return style(line, "cyan")
    if line.startswith("+"):
        return style(line, "green")
    if line.startswith("-"):
        return style(line, "red")
    return line

"""Render the chosen templates before (live) and after (manifests) for each sample, and write the folder:

    OUT/index.html                       the gallery: before and after side by side, per template and sample
    OUT/summary.md                       the pull-request comment's section (plan --preview-summary)
    OUT/<template>/<sample>/before.html, after.html, before.txt, after.txt
    OUT/<template>/<sample>/{before,after}-{600,375}.png     where Chromium is found

Rendering never stops the run: a template that cannot be rendered gets a page saying why, at which line.
"""

from __future__ import annotations

import asyncio
import html
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.export import file_stems
from klaviyo_sync.language import RenderError, RenderOptions, render
from klaviyo_sync.preview.contexts import Sample

WIDTHS = (600, 375)  # desktop and mobile
MARKER = ".klaviyo-sync-preview"
SIDES = ("before", "after")
RENDER_CONCURRENCY = 4  # renders at a time: through Klaviyo each is a create, a render and a delete


@dataclass(frozen=True)
class Target:
    """One template or flow email to preview: its state in the account (None: new) and in the manifests (None: not
    declared)."""

    name: str
    status: str  # new, changed or unchanged
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    warnings: int = 0
    kind: str = "template"  # or "flow email"


@dataclass
class Rendered:
    html: str | None = None
    text: str | None = None
    error: str = ""


@dataclass
class Entry:
    target: Target
    sample: Sample
    folder: str  # relative to OUT
    rendered: dict[str, Rendered] = field(default_factory=dict)
    screenshots: list[str] = field(default_factory=list)  # relative to OUT


Renderer = Callable[[dict[str, Any], Sample], Awaitable[Rendered]]
PREVIEW_OPTIONS = RenderOptions()


async def render_locally(attrs: dict[str, Any], sample: Sample) -> Rendered:
    """The language package: Django's engine with Klaviyo's tags and filters."""
    try:
        out_html = render(attrs["html"], sample.context, options=PREVIEW_OPTIONS) if attrs.get("html") is not None else None
        out_text = render(attrs["text"], sample.context, autoescape=False, options=PREVIEW_OPTIONS) if attrs.get("text") else None
    except RenderError as exc:
        return Rendered(error=str(exc))
    return Rendered(out_html, out_text)


async def render_entries(
    targets: Sequence[Target], samples: Callable[[str], list[Sample]], renderer: Renderer, concurrency: int = RENDER_CONCURRENCY
) -> list[Entry]:
    """Every target's before and after for each sample, at most `concurrency` renders at a time (through Klaviyo each
    is three round trips; the client's pacer keeps them under the limits). Entries and sides keep their order."""
    stems = file_stems(target.name for target in targets)
    entries: list[Entry] = []
    for target in targets:
        sample_stems = file_stems(sample.name for sample in samples(target.name))
        for sample in samples(target.name):
            entries.append(Entry(target, sample, f"{stems[target.name]}/{sample_stems[sample.name]}"))
    jobs = [(entry, side, attrs) for entry in entries for side in SIDES if (attrs := getattr(entry.target, side)) is not None]
    gate = asyncio.Semaphore(concurrency)

    async def render_one(attrs: dict[str, Any], sample: Sample) -> Rendered:
        async with gate:
            return await renderer(attrs, sample)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(render_one(attrs, entry.sample)) for entry, _, attrs in jobs]
    for (entry, side, _), task in zip(jobs, tasks, strict=True):
        entry.rendered[side] = task.result()
    return entries


def prepare_folder(out: Path) -> None:
    """Empty `out` for this run (a template dropped since the last run leaves no stale page), but only if an
    earlier preview wrote it (MARKER) or it is empty: `--out .` must never delete someone's files."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out} is a file", hint="name a folder for the previews")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise ConfigError(
                f"--out {out} holds files that klaviyo-sync preview did not write; it replaces the folder's content each run",
                hint="name a new or empty folder, e.g. the default .klaviyo-sync/preview",
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("Written by klaviyo-sync preview, which replaces this folder's content on each run.\n")


def write_files(entries: Sequence[Entry], out: Path) -> None:
    prepare_folder(out)
    for entry in entries:
        folder = out / entry.folder
        folder.mkdir(parents=True, exist_ok=True)
        for side, rendered in entry.rendered.items():
            page = rendered.html if not rendered.error else _error_page(entry.target.name, side, rendered.error)
            (folder / f"{side}.html").write_text(page or "", encoding="utf-8")
            if rendered.text is not None:
                (folder / f"{side}.txt").write_text(rendered.text, encoding="utf-8")


def take_screenshots(entries: Sequence[Entry], out: Path, binary: str) -> None:
    from klaviyo_sync.preview.chromium import browser

    with browser(binary) as chromium:
        for entry in entries:
            for side in SIDES:
                if side not in entry.rendered:
                    continue
                for width in WIDTHS:
                    name = f"{entry.folder}/{side}-{width}.png"
                    chromium.screenshot(out / entry.folder / f"{side}.html", width, out / name)
                    entry.screenshots.append(name)


def _error_page(template: str, side: str, error: str) -> str:
    return (
        f"<!DOCTYPE html><html><body style='font-family:sans-serif;padding:24px'><h1>{html.escape(template)}: {side}</h1>"
        f"<p style='color:#b00020'>This version cannot be rendered: {html.escape(error)}</p>"
        "<p>Run <code>klaviyo-sync validate</code> for every problem with its file, line and column.</p></body></html>"
    )


def write_index(entries: Sequence[Entry], out: Path, note: str) -> None:
    rows = []
    for entry in entries:
        cells = []
        for side in SIDES:
            rendered = entry.rendered.get(side)
            if rendered is None:
                cells.append(f"<td class='none'>{'not in the account yet' if side == 'before' else 'not declared'}</td>")
                continue
            shots = [name for name in entry.screenshots if f"/{side}-" in name]
            links = f"<a href='{entry.folder}/{side}.html'>HTML</a>" + (
                f" · <a href='{entry.folder}/{side}.txt'>text</a>" if rendered.text is not None else ""
            )
            if rendered.error:
                body = f"<p class='error'>{html.escape(rendered.error)}</p>"
            elif shots:
                body = "".join(_figure(name, side) for name in shots)
            else:
                body = f"<iframe sandbox src='{entry.folder}/{side}.html' title='{side}'></iframe>"
            cells.append(f"<td><div class='shots'>{body}</div><p>{links}</p></td>")
        title = f"{html.escape(entry.target.name)} <small>{entry.target.status} · sample {html.escape(entry.sample.name)}</small>"
        rows.append(f"<tr><th colspan='2'>{title}</th></tr><tr>{''.join(cells)}</tr>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>klaviyo-sync preview</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1a1a1a; }}
table {{ border-collapse: collapse; }} th {{ text-align: left; padding: 16px 0 8px; font-size: 1.1em; }}
th small {{ font-weight: normal; color: #666; }} td {{ vertical-align: top; padding: 8px; border: 1px solid #ddd; }}
td.none {{ color: #888; font-style: italic; }} .shots {{ display: flex; gap: 12px; align-items: flex-start; }}
figure {{ margin: 0; }} img {{ border: 1px solid #ccc; max-width: 600px; }}
iframe {{ width: 620px; height: 700px; border: 1px solid #ccc; }}
.error {{ color: #b00020; }} thead td {{ font-weight: bold; border: none; }}
</style></head><body>
<h1>klaviyo-sync preview</h1>
<p>{html.escape(note)}</p>
<table><thead><tr><td>Before (live)</td><td>After (manifests)</td></tr></thead>
{"".join(rows) or "<tr><td colspan='2'>No template to preview: the plan writes none (use --all for every template).</td></tr>"}
</table></body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")


def _figure(name: str, side: str) -> str:
    width = name.rsplit("-", 1)[1].removesuffix(".png")
    return f"<figure><img src='{name}' alt='{side} at {width} px'><figcaption>{width} px</figcaption></figure>"


def write_summary(entries: Sequence[Entry], out: Path, note: str, link: str = "") -> str:
    """The Markdown section for the pull-request comment; links point into the folder (or at `link`)."""
    base = link.rstrip("/") + "/" if link else ""
    lines = ["### klaviyo-sync preview", "", note, ""]
    if entries:
        lines += ["| Template | Change | Sample | Before | After |", "|---|---|---|---|---|"]
        for entry in entries:
            cells = []
            for side in SIDES:
                rendered = entry.rendered.get(side)
                if rendered is None:
                    cells.append("—")
                elif rendered.error:
                    cells.append(f"cannot render: {_cell(rendered.error)}")
                else:
                    size = len((rendered.html or "").encode("utf-8"))
                    page = f"{entry.folder}/{side}.html"
                    # Without --link the folder is an artifact to download: a path in it, not a link that would break.
                    shown = f"[HTML]({base}{page})" if base else f"`{page}`"
                    cells.append(f"{shown} ({size:,} bytes)")
            name = _cell(entry.target.name)
            lines.append(f"| {name} | {entry.target.status} | {_cell(entry.sample.name)} | {cells[0]} | {cells[1]} |")
    else:
        lines.append("No template to preview: the plan writes none.")
    if link:
        lines += ["", f"Screenshots and the gallery: [{link}]({base}index.html)"]
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text, encoding="utf-8")
    return text


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")

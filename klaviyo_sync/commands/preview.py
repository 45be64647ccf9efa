"""`klaviyo-sync preview`: render the templates and flow emails a plan would write, before and after, for review."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from klaviyo_sync.commands.common import (
    ConnectionOptions,
    connection_options,
    open_connection,
    parse_var_options,
    problems_from_cwd,
    var_option,
)

if TYPE_CHECKING:
    from klaviyo_sync.preview.contexts import Sample

DEFAULT_OUT = Path(".klaviyo-sync/preview")


@click.command(
    "preview",
    epilog="""\b
Examples:
  klaviyo-sync preview examples/shop --emulator
  klaviyo-sync preview --all --context previews/vip.json
  klaviyo-sync preview --target template:"Abandoned Cart" --with-klaviyo
  klaviyo-sync preview --offline --all            # no account: the manifests' version only""",
)
@click.argument("path", type=click.Path(path_type=Path), default=".", required=False)
@var_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder to write (replaced each run).",
)
@click.option(
    "--all", "every", is_flag=True, help="Render every declared template and flow email, not only those the plan would write."
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KIND:NAME",
    help="Render only this template (template:NAME) or flow email (flow_email:FLOW/EMAIL); repeatable.",
)
@click.option(
    "--context",
    "context_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="One JSON object of template variables to render with, instead of the profiles.",
)
@click.option(
    "--with-klaviyo",
    is_flag=True,
    help="Render through the account's own template-render (a scratch template per render, deleted after).",
)
@click.option("--offline", is_flag=True, help="Do not read the account: render the manifests' version of every template.")
@click.option("--link", default="", help="URL where the folder will be published (a CI artifact): the summary links there.")
@connection_options
def command(
    path: Path,
    variables: tuple[str, ...],
    out: Path,
    every: bool,
    targets: tuple[str, ...],
    context_path: Path | None,
    with_klaviyo: bool,
    offline: bool,
    link: str,
    connection: ConnectionOptions,
) -> None:
    """Render the templates and flow emails in PATH a plan would create or change, before (live) and after (manifests).

    Writes, for each template or flow email and sample profile, the HTML and text versions, PNG screenshots at 600 and 375 px
    where a headless Chromium is found, an index.html gallery and summary.md for a pull-request comment
    (`plan --format markdown --preview-summary OUT/summary.md`). Only reads the account, except --with-klaviyo,
    which creates, renders and deletes scratch templates.
    """
    from klaviyo_sync.errors import ConfigError
    from klaviyo_sync.preview.contexts import context_file

    if offline and with_klaviyo:
        raise ConfigError("--offline and --with-klaviyo cannot be combined", hint="--with-klaviyo renders through the account")
    override = context_file(context_path) if context_path else None
    cli_vars = parse_var_options(variables)
    with problems_from_cwd(path):
        if offline:
            from klaviyo_sync.manifest import load_project

            project = load_project(path, cli_vars)
            summary = asyncio.run(_preview(project, None, None, every, targets, override, out, link))
        else:
            from klaviyo_sync.inputs import loading_project

            with loading_project(path, cli_vars) as loading, open_connection(connection) as conn:
                summary = asyncio.run(_with_account(loading, conn, every, targets, override, out, link, with_klaviyo))
    click.echo(summary, err=True)


async def _with_account(
    loading: Any,
    conn: Any,
    every: bool,
    targets: tuple[str, ...],
    override: Sample | None,
    out: Path,
    link: str,
    with_klaviyo: bool,
) -> str:
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.inputs import read_account

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        project, live, _ = await read_account(loading, client)
        return await _preview(project, live, client if with_klaviyo else None, every, targets, override, out, link)


async def _preview(
    project: Any, live: Any, client: Any, every: bool, targets: tuple[str, ...], override: Sample | None, out: Path, link: str
) -> str:
    from klaviyo_sync.preview import chromium, pages
    from klaviyo_sync.preview.contexts import samples_for
    from klaviyo_sync.preview.select import choose

    chosen, notes = choose(project, live, every=every, targets=targets)
    renderer = pages.render_locally
    if client is not None:
        from klaviyo_sync.preview.scratch import KlaviyoRenderer

        scratch = KlaviyoRenderer(client)
        await scratch.sweep(live)
        renderer = scratch.render
    entries = await pages.render_entries(chosen, lambda name: samples_for(project, name, override), renderer)
    pages.write_files(entries, out)
    binary = chromium.find_chromium()
    if binary and entries:
        pages.take_screenshots(entries, out, binary)
        shots = "Screenshots at 600 and 375 px."
    else:
        shots = "" if not entries else f"No screenshots: {chromium.INSTALL_HINT}."
    how = (
        "Rendered by Klaviyo's template-render."
        if client is not None
        else "Rendered by klaviyo-sync's renderer of Klaviyo's template language."
    )
    count = ", ".join(_counted(entries)) + f", {len(entries)} render(s)"
    note = " ".join(part for part in (f"{count}.", how, shots, *(f"{n}." for n in notes)) if part)
    pages.write_index(entries, out, note)
    pages.write_summary(entries, out, note, link)
    return f"{note}\nWrote {out}/index.html and {out}/summary.md."


def _counted(entries: list[Any]) -> list[str]:
    """`2 template(s)`, then `1 flow email(s)` and the like for the other kinds there are."""
    kinds: dict[str, set[str]] = {"template": set()}
    for entry in entries:
        kinds.setdefault(entry.target.kind, set()).add(entry.target.name)
    return [f"{len(names)} {kind}(s)" for kind, names in kinds.items() if names or kind == "template"]

"""`klaviyo-sync export`: write manifests and template files from a live account (how a team adopts one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from klaviyo_sync.commands.common import Connection, ConnectionOptions, connection_options, open_connection
from klaviyo_sync.errors import ConfigError, ManifestError, Problem
from klaviyo_sync.export import EXPORTABLE_KINDS, ROOT_FILE, ExportResult, export_state, write_export
from klaviyo_sync.resources import Kind, State


@click.command(
    "export",
    epilog="""\b
Examples:
  klaviyo-sync export --out klaviyo
  klaviyo-sync export --out klaviyo --kind templates --name "Welcome*" --name "Order *"
  klaviyo-sync export --out shop --emulator && klaviyo-sync plan shop --emulator

\b
The result plans empty: prune is off for every kind, so nothing outside the export is ever deleted.
Lists are exported with the tag groups their tags belong to, whole, since a declared group manages all its tags.""",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Directory to write {ROOT_FILE} and templates/ into (created if missing).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    metavar="KIND",
    type=click.Choice(list(EXPORTABLE_KINDS)),
    help=f"Export only this kind ({', '.join(EXPORTABLE_KINDS)}); repeat for several. Default: all.",
)
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="GLOB",
    help='Export only objects whose name matches this glob (case-sensitive, e.g. "Welcome*"); repeat for several.',
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist in DIR (by default export refuses).")
@connection_options
def command(out_dir: Path, kinds: tuple[str, ...], names: tuple[str, ...], force: bool, connection: ConnectionOptions) -> None:
    """Write manifests and template files from a live account, so that `plan` on them is empty."""
    with open_connection(connection) as conn:
        live = asyncio.run(_read_live(conn, flows=not kinds or "flows" in kinds))
    result = export_state(live, kinds=[EXPORTABLE_KINDS[k] for k in kinds], names=names)
    if names and not any(result.counts[kind] for kind in EXPORTABLE_KINDS.values()):
        raise ConfigError(
            f"no live object matches --name {' --name '.join(names)}",
            hint="names are matched case-sensitively as globs: quote them and use * for any text",
        )
    write_export(result, out_dir, force=force)
    problems = _problems_loading(out_dir)
    _report(result, out_dir, ready=problems is None)
    if problems is not None:
        raise ManifestError(
            f"the export was written, but {_count(len(problems), 'problem')} must be fixed before `plan` can use it:", problems
        )


async def _read_live(conn: Connection, *, flows: bool) -> State:
    """The account; its flows (and the copies their emails send) only when they are exported."""
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.live import read_live_state

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        return await read_live_state(client, flow_emails=None if flows else ())


def _report(result: ExportResult, out_dir: Path, *, ready: bool) -> None:
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    counts = result.counts
    blocks, emails = counts.get(Kind.UNIVERSAL_CONTENT, 0), counts.get(Kind.FLOW_EMAIL, 0)
    also = f", {_count(blocks, 'universal content block')}" if blocks else ""
    also += f", {_count(emails, 'flow email')}" if emails else ""
    click.echo(
        f"Exported {_count(counts[Kind.TAG_GROUP], 'tag group')} with {_count(counts[Kind.TAG], 'tag')}, "
        f"{_count(counts[Kind.LIST], 'list')}{also} and {_count(counts[Kind.TEMPLATE], 'template')} "
        f"to {out_dir}/ ({_count(len(result.files), 'file')})."
    )
    if ready:
        click.echo(f"Next: klaviyo-sync plan {out_dir}")


def _problems_loading(out_dir: Path) -> list[Problem] | None:
    """Live content may break the manifest rules (e.g. an unclosed `{% if %}`): say so now, not at plan time."""
    from klaviyo_sync.manifest import load_project

    try:
        load_project(out_dir)
    except ManifestError as exc:
        return exc.problems
    return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"

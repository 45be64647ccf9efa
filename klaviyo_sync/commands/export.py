"""`klaviyo-sync export`: write manifests and template files from a live account (how a team adopts one), or bring
the live state of selected objects into an existing project (`--into`, klaviyo_sync.pullback)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from klaviyo_sync.commands.common import (
    Connection,
    ConnectionOptions,
    connection_options,
    open_connection,
    parse_var_options,
    problems_from_cwd,
    var_option,
)
from klaviyo_sync.errors import ConfigError, ManifestError, Problem
from klaviyo_sync.export import EXPORTABLE_KINDS, ROOT_FILE, ExportResult, export_state, write_export
from klaviyo_sync.resources import Kind, State

if TYPE_CHECKING:
    from klaviyo_sync.pullback import PullBack


@click.command(
    "export",
    epilog="""\b
Examples:
  klaviyo-sync export --out klaviyo
  klaviyo-sync export --out klaviyo --kind templates --name "Welcome*" --name "Order *"
  klaviyo-sync export --out shop --emulator && klaviyo-sync plan shop --emulator
  klaviyo-sync export --into klaviyo --kind templates --name "Welcome*"

\b
The result plans empty: prune is off for every kind, so nothing outside the export is ever deleted.
Lists are exported with the tag groups their tags belong to, whole, since a declared group manages all its tags.
--into updates an existing project in place instead: the selected objects' files and declarations change,
everything else (comments, order, other objects, prune and ignore) stays as it is.""",
)
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Directory to write {ROOT_FILE} and templates/ into (created if missing).",
)
@click.option(
    "--into",
    "into_dir",
    metavar="PROJECT",
    type=click.Path(path_type=Path),
    help="An existing project to update with the live state of the selected objects, in place.",
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
@var_option
@connection_options
def command(
    out_dir: Path | None,
    into_dir: Path | None,
    kinds: tuple[str, ...],
    names: tuple[str, ...],
    force: bool,
    variables: tuple[str, ...],
    connection: ConnectionOptions,
) -> None:
    """Write manifests and template files from a live account, so that `plan` on them is empty; or, with
    --into, update an existing project with the live state of the selected objects."""
    if (out_dir is None) == (into_dir is None):
        raise click.UsageError("give either --out DIR (a new project) or --into PROJECT (an existing one)")
    if into_dir is not None and force:
        raise click.UsageError("--force is for --out; --into only ever changes the selected objects")
    if into_dir is not None and "flows" in kinds:
        raise click.UsageError(
            "--into does not bring flow emails back yet: export them with --out into another directory and copy their files"
        )
    if variables and into_dir is None:
        raise click.UsageError("--var is for --into: an exported project spells out every value")
    if out_dir is not None and (kinds or names):
        _refuse_partial_overwrite(out_dir)
    selected = [EXPORTABLE_KINDS[k] for k in kinds]
    if into_dir is not None:
        from klaviyo_sync.manifest import find_root_file

        with problems_from_cwd(into_dir):
            find_root_file(into_dir)  # before the account is read: a wrong path is the first thing to hear about
            with open_connection(connection) as conn:
                live = asyncio.run(_read_live(conn, flows=False))
            _pull_back(into_dir, live, selected, names, parse_var_options(variables))
        return
    assert out_dir is not None
    with open_connection(connection) as conn:
        live = asyncio.run(_read_live(conn, flows=not kinds or "flows" in kinds))
    result = export_state(live, kinds=selected, names=names)
    if names and not any(result.counts[kind] for kind in EXPORTABLE_KINDS.values()):
        _nothing_matches(names)
    write_export(result, out_dir, force=force)
    problems = _problems_loading(out_dir)
    _report(result, out_dir, ready=problems is None)
    if problems is not None:
        raise ManifestError(
            f"the export was written, but {_count(len(problems), 'problem')} must be fixed before `plan` can use it:", problems
        )


def _refuse_partial_overwrite(out_dir: Path) -> None:
    """A filtered export holds only the selected objects: written over a project, it would drop all the others."""
    from klaviyo_sync.manifest.project import ROOT_FILE_NAMES

    found = next((out_dir / name for name in ROOT_FILE_NAMES if (out_dir / name).is_file()), None)
    if found is not None:
        raise ConfigError(
            f"{out_dir} already holds a project ({found}); a filtered export would replace its manifest with the "
            "selected objects alone, dropping every other declaration and its prune and ignore settings",
            hint=f"merge the selected objects into it instead: klaviyo-sync export --into {out_dir} with the same --kind "
            "and --name",
        )


def _pull_back(into_dir: Path, live: State, kinds: list[Kind], names: tuple[str, ...], variables: dict[str, str]) -> None:
    from klaviyo_sync.pullback import pull_back

    result = pull_back(into_dir, live, kinds=kinds, names=names, variables=variables)
    if names and not result.selected:
        _nothing_matches(names)
    _report_pull_back(result, into_dir)
    problems = _problems_loading(into_dir, variables)
    if problems is not None:
        raise ManifestError(f"the project was updated, but {_count(len(problems), 'problem')} must be fixed:", problems)
    if result.written:
        click.echo(f"Next: review the change (git diff), then klaviyo-sync plan {into_dir}")


def _report_pull_back(result: PullBack, into_dir: Path) -> None:
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for line in result.done:
        click.echo(f"  {line}")
    if not result.written:
        click.echo(f"{into_dir}/ already matches the account for the {_count(result.selected, 'selected object')}.")
        return
    click.echo(f"Updated {_count(len(result.written), 'file')} in {into_dir}/: {', '.join(result.written)}.")


def _nothing_matches(names: tuple[str, ...]) -> None:
    raise ConfigError(
        f"no live object matches --name {' --name '.join(names)}",
        hint="names are matched case-sensitively as globs: quote them and use * for any text",
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


def _problems_loading(out_dir: Path, variables: dict[str, str] | None = None) -> list[Problem] | None:
    """Live content may break the manifest rules (e.g. an unclosed `{% if %}`): say so now, not at plan time."""
    from klaviyo_sync.manifest import load_project

    try:
        load_project(out_dir, variables)
    except ManifestError as exc:
        return exc.problems
    return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"

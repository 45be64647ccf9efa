"""`klaviyo-sync plan`: show what apply would change in the account, and why. It only ever reads the account."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from klaviyo_sync.asyncrun import run
from klaviyo_sync.commands.common import (
    DEFAULT_EMULATOR_STATE,
    Connection,
    ConnectionOptions,
    connection_options,
    no_color_option,
    open_connection,
    parse_var_options,
    plan_format_option,
    problems_from_cwd,
    use_color,
    var_option,
)
from klaviyo_sync.errors import ConfigError, PlanError
from klaviyo_sync.redaction import write_text

if TYPE_CHECKING:
    from klaviyo_sync.inputs import ProjectLoading
    from klaviyo_sync.resources import Plan

EXIT_CHANGES = 2


@click.command(
    "plan",
    epilog="""\b
Examples:
  klaviyo-sync plan examples/shop --emulator
  klaviyo-sync plan --var ENV=production --format markdown --detailed-exitcode > plan.md
  klaviyo-sync plan --out plan.json && klaviyo-sync apply plan.json
  klaviyo-sync plan --target template:"Welcome Email" --target tag:Lifecycle/VIP""",
)
@click.argument("path", type=click.Path(path_type=Path), default=".", required=False)
@var_option
@plan_format_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan to FILE (JSON, no secrets) for `klaviyo-sync apply FILE` later.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KIND:NAME",
    help="Plan only this object and what it depends on; repeatable. Tags are tag:GROUP/TAG.",
)
@click.option(
    "--preview-summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --format markdown: include this `klaviyo-sync preview` summary.md (cut to fit the comment).",
)
@click.option("--force", is_flag=True, help="Accept a plan over the update/delete thresholds (after reviewing it).")
@click.option(
    "--exact-reads",
    is_flag=True,
    help="Read each collection in one sequential page walk: exactly ceil(objects/page size) requests, "
    "but one round trip per page (large accounts are read in concurrent walks otherwise).",
)
@no_color_option
@connection_options
def command(
    path: Path,
    variables: tuple[str, ...],
    output_format: str,
    out: Path | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    preview_summary: Path | None,
    force: bool,
    exact_reads: bool,
    no_color: bool,
    connection: ConnectionOptions,
) -> None:
    """Compare the manifests in PATH with the live account and show the changes apply would make.

    Nothing is written to the account. Every change comes with its reason; deletes happen only for kinds
    under `prune`, and a plan over the safety thresholds is refused unless --force.
    """
    from klaviyo_sync.inputs import loading_project
    from klaviyo_sync.plan import plan_to_json
    from klaviyo_sync.render import RENDERERS, render_text

    values = parse_var_options(variables)
    try:
        with (
            problems_from_cwd(path),
            loading_project(path, values) as loading,
            open_connection(connection) as conn,
        ):
            plan = run(_plan(loading, conn, exact_reads, targets, force, out))
    except PlanError as exc:
        plan = refused_plan(exc)
    data = plan_to_json(plan)  # content as digests: what a saved plan holds and `--format json` prints
    if out is not None and plan.refusal is None:
        _write_atomically(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    view = data if output_format == "json" else plan_to_json(plan, full_content=True)
    if output_format == "text":
        output = render_text(view, color=use_color(no_color), verbose=connection.verbose > 0)
    elif output_format == "markdown" and preview_summary is not None:
        from klaviyo_sync.render.markdown import with_preview

        output = with_preview(view, _read_summary(preview_summary))
    else:
        output = RENDERERS[output_format](view)
    click.echo(output, nl=False)
    if plan.refusal is not None:
        refuse(plan, out)
    if out is not None:
        command = apply_command(out, variables, connection)
        click.echo(f"Saved the plan to {out}; `{command}` applies exactly this, from here.", err=True)
    if detailed_exitcode and not plan.empty:
        raise SystemExit(EXIT_CHANGES)


def refused_plan(error: PlanError) -> Plan:
    """The plan a PlanError refused, its problems named as the error names them (files from where the command
    runs); the error itself when no plan was made (an ambiguity in the account)."""
    from klaviyo_sync.resources import Plan

    plan = error.plan
    if not isinstance(plan, Plan) or plan.refusal is None:
        raise error
    plan.refusal = dataclasses.replace(plan.refusal, problems=tuple(error.problems))
    return plan


def refuse(plan: Plan, out: Path | None) -> NoReturn:
    """End a command whose plan was refused (shown above): one line on stderr, exit 1, nothing saved."""
    assert plan.refusal is not None
    count = len(plan.refusal.problems)
    reasons = "1 problem" if count == 1 else f"{count} problems"
    unsaved = f" and it was not saved to {out}" if out is not None else ""
    click.echo(f"Error: the plan was refused ({reasons}, listed at its top): nothing will be applied{unsaved}", err=True)
    raise SystemExit(1)


def project_reference(root: Path, out: Path | None) -> str:
    """The project as a plan records it: relative to the folder of the plan file (`--out`), else to the current
    directory, so `apply PLAN` finds it wherever the plan is applied from, as long as the two move together."""
    base = (out.expanduser().parent if out is not None else Path(".")).resolve()
    try:
        return Path(os.path.relpath(root, base)).as_posix()
    except ValueError:  # another drive (Windows): only the absolute path leads there
        return root.as_posix()


def apply_command(out: Path, variables: tuple[str, ...], connection: ConnectionOptions) -> str:
    """The `apply` that applies a plan just saved, from where plan ran: the same variables (the manifests must say
    the same) and the same account (emulator or base URL given as an option)."""
    words = ["klaviyo-sync", "apply", str(out)]
    for assignment in variables:
        words += ["--var", assignment]
    if connection.emulator:
        words.append("--emulator")
        if connection.emulator_state != DEFAULT_EMULATOR_STATE:
            words += ["--emulator-state", str(connection.emulator_state)]
    elif connection.base_url and connection.base_url != os.environ.get("KLAVIYO_BASE_URL"):
        words += ["--base-url", connection.base_url]
    if connection.api_key_file is not None:
        words += ["--api-key-file", str(connection.api_key_file)]
    return shlex.join(words)


async def _plan(
    loading: ProjectLoading, conn: Connection, exact_reads: bool, targets: tuple[str, ...], force: bool, out: Path | None
) -> Plan:
    """Read the account while the project loads, plan, and read what the plan's removals reach (only those). The
    plan names the account and the project (as `out` will record it), refused or not."""
    from klaviyo_sync.blast import plan_with_reach
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.inputs import read_account

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        project, live, account = await read_account(loading, client, exact_reads=exact_reads)
        where = project_reference(project.root, out)
        try:
            plan = await plan_with_reach(project, live, client, targets=targets, force=force, account=account)
        except PlanError as exc:
            if exc.plan is not None:
                exc.plan.project = where
            raise
    plan.project = where
    return plan


def _read_summary(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8"
        raise ConfigError(f"cannot read --preview-summary {path}: {reason}", hint="run `klaviyo-sync preview` first") from None


def _write_atomically(path: Path, text: str) -> None:
    """Write next to the target and rename, so an interrupted run never leaves half a plan file."""
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text, atomic=True)
    except OSError as exc:
        raise ConfigError(f"cannot write the plan to {path}: {exc.strerror}", hint="check the --out path") from None

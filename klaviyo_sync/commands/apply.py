"""`klaviyo-sync apply`: make the account match the manifests, or execute a saved plan.

With a project PATH it plans, shows the plan and asks for `yes` (unless --auto-approve; without a terminal to
ask on, it refuses rather than wait). With a saved PLAN.json it checks the plan is not stale, then applies it
without asking: it was reviewed when it was saved.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from klaviyo_sync.commands.common import (
    Connection,
    ConnectionOptions,
    connection_options,
    no_color_option,
    open_connection,
    parse_var_options,
    problems_from_cwd,
    use_color,
    var_option,
)
from klaviyo_sync.errors import ApplyError, ConfigError
from klaviyo_sync.resources import Plan, State

if TYPE_CHECKING:
    from klaviyo_sync.inputs import ProjectLoading

CONFIRM_WORD = "yes"


@dataclass(frozen=True)
class Output:
    json: bool
    color: bool

    def echo(self, text: str) -> None:
        """Human-readable text: stdout normally, stderr with --format json (stdout then holds only the JSON)."""
        click.echo(text, err=self.json)


@click.command(
    "apply",
    epilog="""\b
Examples:
  klaviyo-sync apply examples/shop --emulator
  klaviyo-sync apply --auto-approve                      # in CI, after review
  klaviyo-sync plan --out plan.json && klaviyo-sync apply plan.json
  klaviyo-sync apply plan.json --project examples/shop --format json

\b
Exit codes: 0 applied (or nothing to do), 1 an error, a refusal, or work left undone (the report says what;
run `klaviyo-sync plan` to see the remaining work and `apply` again to finish it).
Ctrl-C (or SIGTERM) stops starting new changes, lets requests in flight finish and reports; a second Ctrl-C
abandons the requests in flight.""",
)
@click.argument("path", required=False, default=".", type=click.Path(exists=True, path_type=Path), metavar="[PATH | PLAN.json]")
@var_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation (for CI).")
@click.option("--force", is_flag=True, help="Apply even if the plan exceeds the update/delete thresholds.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print a machine-readable result on stdout (progress goes to stderr).",
)
@click.option(
    "--target", "targets", multiple=True, metavar="KIND:NAME", help="Apply only this object and what it needs; repeatable."
)
@click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="With a saved plan: the project directory whose manifests the plan was made from. Default: the current directory.",
)
@no_color_option
@connection_options
def command(
    path: Path,
    variables: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    output_format: str,
    targets: tuple[str, ...],
    project_dir: Path | None,
    no_color: bool,
    connection: ConnectionOptions,
) -> None:
    """Make the account match the manifests in PATH (default: the current directory), or apply a saved PLAN.json."""
    output = Output(json=output_format == "json", color=output_format == "text" and use_color(no_color))
    values = parse_var_options(variables)
    saved = path.is_file() and path.suffix.lower() == ".json"
    if saved:
        if targets or force:
            raise ConfigError("--target and --force apply to planning, not to a saved plan", hint="plan again with them")
        plan = _read_saved_plan(path)
        from klaviyo_sync.inputs import loading_project

        root = project_dir or Path(".")
        with problems_from_cwd(root), loading_project(root, values) as loading, open_connection(connection) as conn:
            asyncio.run(_apply_saved(plan, loading, conn, output))
        return
    if project_dir is not None:
        raise ConfigError(
            "--project is for a saved plan; give the project as PATH instead", hint=f"klaviyo-sync apply {project_dir}"
        )
    from klaviyo_sync.inputs import loading_project

    with problems_from_cwd(path), loading_project(path, values) as loading, open_connection(connection) as conn:
        plan, live = asyncio.run(_plan(loading, conn, targets, force))
        _show_plan(plan, output)
        if plan.empty:
            _emit_json_result(output, None)
            return
        if not auto_approve:
            _confirm(output)
        asyncio.run(_apply(plan, live, conn, output))


def _read_saved_plan(path: Path) -> Plan:
    from klaviyo_sync.plan import plan_from_json

    hint = "write one with `klaviyo-sync plan --out FILE`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the saved plan {path}: {exc}", hint=hint) from None
    except RecursionError:
        raise ConfigError(f"the saved plan {path} is damaged: it is nested too deeply to be a plan", hint=hint) from None
    try:
        return plan_from_json(data)
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:
        # A hand-edited or truncated file: any member of the wrong type is damage, never a crash.
        raise ConfigError(f"the saved plan {path} is damaged: {type(exc).__name__} {exc}", hint=hint) from None


async def _plan(loading: ProjectLoading, conn: Connection, targets: tuple[str, ...], force: bool) -> tuple[Plan, State]:
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.inputs import read_account
    from klaviyo_sync.plan import build_plan

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        project, live = await read_account(loading, client)
    return build_plan(project, live, targets=targets, force=force), live


def _show_plan(plan: Plan, output: Output) -> None:
    from klaviyo_sync.render import render_text

    output.echo(render_text(plan, color=output.color).rstrip("\n"))


def _confirm(output: Output) -> None:
    if not sys.stdin.isatty():
        raise ConfigError(
            "apply needs confirmation, but there is no terminal to ask on",
            hint="review the plan and pass --auto-approve, or apply a saved plan (`plan --out plan.json`)",
        )
    click.echo("\nDo you want to apply these changes? Only 'yes' will be accepted.", err=output.json)
    answer = click.prompt("Enter a value", default="", show_default=False, err=output.json)
    if answer.strip() != CONFIRM_WORD:
        raise ConfigError("Apply cancelled: nothing was changed.", hint="type yes in full to apply")


async def _apply_saved(plan: Plan, loading: ProjectLoading, conn: Connection, output: Output) -> None:
    from klaviyo_sync.apply import check_staleness
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.inputs import read_account

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        # Only the files' hashes matter here (staleness); the plan that was saved checked their content.
        project, live = await read_account(loading, client, check_html=False)
    check_staleness(plan, current_hashes=project.file_hashes, live=live)
    output.echo(f"The saved plan is current: {len(plan.changes)} change(s) to apply.")
    if plan.empty:
        _emit_json_result(output, None)
        return
    await _apply(plan, live, conn, output)


async def _apply(plan: Plan, live: State, conn: Connection, output: Output) -> None:
    from klaviyo_sync.apply import Interruption, apply_plan, render_report_text
    from klaviyo_sync.apply.progress import Progress
    from klaviyo_sync.client import KlaviyoClient

    stream = sys.stderr if output.json else sys.stdout
    progress = Progress(len(plan.changes), stream, tty=not output.json and stream.isatty())
    interruption = Interruption()
    try:
        async with KlaviyoClient(conn.api_key, base_url=conn.base_url, on_wait=progress.on_wait) as client:
            with _signals_to(interruption):
                report = await apply_plan(plan, client, live=live, on_event=progress.on_event, interruption=interruption)
    except ApplyError as exc:
        progress.close()
        output.echo(render_report_text(exc.report))
        _emit_json_result(output, exc.report)
        raise
    progress.close()
    output.echo(render_report_text(report))
    _emit_json_result(output, report)


def _emit_json_result(output: Output, report: Any) -> None:
    if not output.json:
        return
    from klaviyo_sync.apply import ApplyReport, report_to_json

    data = report_to_json(report if report is not None else ApplyReport())
    if report is None:
        data["status"] = "no_changes"
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@contextmanager
def _signals_to(interruption: Any) -> Iterator[None]:
    """SIGINT and SIGTERM ask the executor to stop (a second one abandons requests in flight)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, interruption.signal)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals on this platform
            continue
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)

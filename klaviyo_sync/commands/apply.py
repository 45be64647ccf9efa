"""`klaviyo-sync apply`: make the account match the manifests, or execute a saved plan.

With a project PATH it plans, shows the plan and asks for `yes` (unless --auto-approve; without a terminal to
ask on, it refuses rather than wait). A saved PLAN.json is a contract, not a script: apply derives the plan
again from the manifests and the live account (so the safety checks run again), refuses it unless it is the
same plan that was reviewed, and then applies the plan it derived, with content from the project, never from
the file. It does not ask: the plan was reviewed when it was saved.

Only one apply changes an account at a time (`klaviyo_sync.lock`). Once there is something to change, apply takes
the account's lock, reads the account again under it and goes ahead only if the plan is still the one shown (or
saved); otherwise it refuses, having written nothing. A busy lock is refused at once, or waited for with
--lock-timeout.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from klaviyo_sync.apply.late import LATE_COMMIT_WINDOW
from klaviyo_sync.asyncrun import run
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
from klaviyo_sync.errors import ApplyError, ConfigError, PlanError, PlanMismatchError
from klaviyo_sync.resources import Plan, State

if TYPE_CHECKING:
    from klaviyo_sync.account import Account
    from klaviyo_sync.inputs import ProjectLoading
    from klaviyo_sync.manifest.project import Project

CONFIRM_WORD = "yes"


@dataclass
class Output:
    json: bool
    color: bool
    account: Account | None = None  # once read: named by the JSON result

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
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for another apply to this account to finish; 0 refuses at once.",
)
@click.option(
    "--late-commit-window",
    type=click.FloatRange(min=0),
    default=LATE_COMMIT_WINDOW,
    show_default=True,
    metavar="SECONDS",
    help="How long a create that got no clear answer (a timeout, a 5xx) may take to commit before apply looks it up "
    "again for a copy committed late; only such creates wait.",
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
    lock_timeout: float,
    late_commit_window: float,
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
        saved_plan, saved_data = read_saved_plan(path)
        from klaviyo_sync.inputs import loading_project

        root = project_dir or saved_project(path, saved_plan)
        with problems_from_cwd(root), loading_project(root, values) as loading, open_connection(connection) as conn:
            asyncio.run(_apply_saved(path, saved_plan, saved_data, loading, conn, output, (lock_timeout, late_commit_window)))
        return
    if project_dir is not None:
        raise ConfigError(
            "--project is for a saved plan; give the project as PATH instead", hint=f"klaviyo-sync apply {project_dir}"
        )
    try:
        _plan_and_apply(path, values, auto_approve, force, targets, (lock_timeout, late_commit_window), connection, output)
    except PlanError as exc:  # refused by its safety checks: shown in full, refusal first
        from klaviyo_sync.commands.plan import refuse, refused_plan

        plan = refused_plan(exc)
        _show_plan(plan, output)
        refuse(plan, None)


def _plan_and_apply(
    path: Path,
    values: dict[str, str],
    auto_approve: bool,
    force: bool,
    targets: tuple[str, ...],
    waits: tuple[float, float],  # --lock-timeout, --late-commit-window
    connection: ConnectionOptions,
    output: Output,
) -> None:
    from klaviyo_sync.inputs import loading_project

    with problems_from_cwd(path), loading_project(path, values) as loading, open_connection(connection) as conn:
        project, plan = run(_plan(loading, conn, targets, force, output))
        _show_plan(plan, output)
        if plan.empty:
            _emit_json_result(output, None)
            return
        if not auto_approve:
            _confirm(output)

        def derive(live: State) -> Plan:
            from klaviyo_sync.plan import build_plan

            # With the reach shown (not read again) and the account read.
            again = build_plan(project, live, targets=targets, force=force, reach=plan.reach, account=output.account)
            differences = _differences(plan, again)
            if differences and not again.empty:
                raise ConfigError(
                    "the account changed after the plan was shown, so nothing was changed: " + "; ".join(differences[:10]),
                    hint="run apply again to see the plan as it is now",
                )
            return again

        asyncio.run(_apply_locked(project, derive, conn, output, waits))


def read_saved_plan(path: Path) -> tuple[Plan, dict[str, Any]]:
    """The plan as the file describes it (for the staleness check) and its JSON form (the contract)."""
    from klaviyo_sync.plan import plan_from_json

    hint = "write one with `klaviyo-sync plan --out FILE`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the saved plan {path}: {exc}", hint=hint) from None
    except RecursionError:
        raise ConfigError(f"the saved plan {path} is damaged: it is nested too deeply to be a plan", hint=hint) from None
    try:
        return plan_from_json(data), data
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:
        # A hand-edited or truncated file: any member of the wrong type is damage, never a crash.
        raise ConfigError(f"the saved plan {path} is damaged: {type(exc).__name__} {exc}", hint=hint) from None


def saved_project(plan_file: Path, plan: Plan) -> Path:
    """The project a saved plan came from: where it records it, relative to the plan file's folder (older plans
    and plans made without --out: the current directory)."""
    if plan.project is None:
        return Path(".")
    root = plan_file.parent / plan.project
    if not root.is_dir():
        raise ConfigError(
            f"the saved plan {plan_file} was made from the project at {plan.project} (relative to the plan's folder), "
            f"but there is no folder {root}",
            hint="pass the project's folder with --project",
        )
    return root


async def _plan(
    loading: ProjectLoading, conn: Connection, targets: tuple[str, ...], force: bool, output: Output
) -> tuple[Project, Plan]:
    from klaviyo_sync.blast import plan_with_reach
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.inputs import read_account

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        project, live, output.account = await read_account(loading, client)
        plan = await plan_with_reach(project, live, client, targets=targets, force=force, account=output.account)
        return project, plan


def _differences(first: Plan, again: Plan) -> list[str]:
    from klaviyo_sync.plan import plan_to_json, same_changes

    return same_changes(plan_to_json(first)["changes"], plan_to_json(again)["changes"])


async def _apply_locked(
    project: Project, derive: Callable[[State], Plan], conn: Connection, output: Output, waits: tuple[float, float]
) -> None:
    """Take the account's lock, read the account again under it, derive the plan (which refuses when it is no
    longer the one reviewed) and apply it; the lock is released however this ends."""
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.flows.repoint import delete_leftover_scratch
    from klaviyo_sync.inputs import managed_flow_emails, managed_template_names
    from klaviyo_sync.live import read_live_state
    from klaviyo_sync.lock import AccountLock

    def waiting(holder: Any) -> None:
        output.echo(f"Waiting for another apply to finish: {holder.describe()}")

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        lock_timeout, late_commit_window = waits  # --lock-timeout, --late-commit-window
        lock = AccountLock(client, wait=lock_timeout, on_wait=waiting)
        async with lock.held():
            live = await read_live_state(
                client,
                managed_templates=managed_template_names(project.state),
                flow_emails=managed_flow_emails(project.state),
            )
            swept = await delete_leftover_scratch(client, live)
            if swept:
                output.echo(f"Deleted {swept} scratch template(s) an interrupted apply left behind.")
            plan = derive(live)
            if plan.empty:
                output.echo("No changes left to make: another apply made them while this one waited for the lock.")
                _emit_json_result(output, None)
                return
            await _apply(plan, live, conn, output, late_commit_window)


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


async def _apply_saved(
    plan_file: Path,
    saved: Plan,
    data: dict[str, Any],
    loading: ProjectLoading,
    conn: Connection,
    output: Output,
    waits: tuple[float, float],
) -> None:
    from klaviyo_sync.account import check_saved
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.inputs import read_account

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        # The saved plan's manifests passed the HTML checks when it was made; their hashes say they are unchanged.
        project, live, output.account = await read_account(
            loading, client, check_html=False, check=lambda account: check_saved(account, saved.account, plan_file)
        )

    def derive(live: State) -> Plan:
        """The plan the manifests and the account call for now (every safety check run again), if it is the saved one."""
        from klaviyo_sync.apply import check_staleness
        from klaviyo_sync.plan import build_plan, plan_to_json, same_changes

        check_staleness(saved, current_hashes=project.file_hashes, live=live)
        # The reach the plan was reviewed with: a profile count moving since is no reason to refuse it.
        plan = build_plan(project, live, targets=saved.targets, force=saved.force, reach=saved.reach, account=output.account)
        differences = same_changes(data["changes"], plan_to_json(plan)["changes"])
        if differences:
            raise PlanMismatchError(differences)
        return plan

    plan = derive(live)  # refused here, before the lock is taken, is refused without a single write
    assert output.account is not None
    output.echo(f"The saved plan is current: {len(plan.changes)} change(s) to apply to {output.account.label}.")
    if plan.empty:
        _emit_json_result(output, None)
        return
    await _apply_locked(project, derive, conn, output, waits)


async def _apply(plan: Plan, live: State, conn: Connection, output: Output, late_commit_window: float) -> None:
    from klaviyo_sync.apply import Interruption, apply_plan, render_report_text
    from klaviyo_sync.apply.progress import Progress
    from klaviyo_sync.client import KlaviyoClient

    stream = sys.stderr if output.json else sys.stdout
    progress = Progress(len(plan.changes), stream, tty=not output.json and stream.isatty())
    interruption = Interruption()
    try:
        async with KlaviyoClient(conn.api_key, base_url=conn.base_url, on_wait=progress.on_wait) as client:
            with _signals_to(interruption):
                report = await apply_plan(
                    plan,
                    client,
                    live=live,
                    on_event=progress.on_event,
                    interruption=interruption,
                    late_commit_window=late_commit_window,
                )
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
    if output.account is not None:
        data = {"account": output.account.to_json(), **data}
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

"""`klaviyo-sync validate`: check the manifests offline and report every problem at once."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from klaviyo_sync.commands.common import parse_var_options, problem_from_cwd, var_option
from klaviyo_sync.errors import ManifestError, Problem
from klaviyo_sync.resources import Kind


def _github_escape(text: str, *, in_property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if in_property else text


@click.command(
    "validate",
    epilog="""\b
Examples:
  klaviyo-sync validate examples/shop
  klaviyo-sync validate klaviyo --format github     # annotations on the pull request's diff
  klaviyo-sync validate --var KLAVIYO_ENV=production --format json""",
)
@click.argument("path", type=click.Path(path_type=Path), default=".", required=False)
@var_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: file:line:column lines; json: a list of problems; github: GitHub Actions annotations.",
)
def command(path: Path, variables: tuple[str, ...], output_format: str) -> None:
    """Check the manifests in PATH (a project directory or its klaviyo.yaml) without touching any account.

    Template lint findings under the `warning` severity are shown and fail nothing (`lint:` in klaviyo.yaml
    sets each rule's severity). Exit code 0 when valid, 1 when any error is found.
    """
    from klaviyo_sync.manifest import find_root_file, load_project

    cli_vars = parse_var_options(variables)
    try:
        root_file = find_root_file(path)
    except ManifestError as exc:
        _report(exc.problems, output_format, project_root=None)
        raise SystemExit(1) from None
    try:
        project = load_project(root_file, cli_vars)
    except ManifestError as exc:
        _report(exc.problems, output_format, project_root=root_file.parent.resolve())
        raise SystemExit(1) from None
    warnings = [problem_from_cwd(project.root, warning) for warning in project.warnings]
    if output_format == "json":
        click.echo(json.dumps([{**w.to_json(), "severity": "warning"} for w in warnings], indent=2, ensure_ascii=False))
    elif output_format == "github":
        for warning in warnings:
            click.echo(_github_annotation("warning", warning))
    else:
        for warning in warnings:
            click.echo(warning_line(warning))
        parts = [_count(len(project.manifest_files), "manifest file")]
        parts += [
            _count(len(project.state.of_kind(kind)), kind.spec.label)
            for kind in (Kind.TAG_GROUP, Kind.TAG, Kind.LIST, Kind.TEMPLATE)
        ]
        tail = f"; {_count(len(warnings), 'warning')}" if warnings else ""
        click.echo(f"Valid: {', '.join(parts)}{tail}.")


def warning_line(warning: Problem) -> str:
    """`file:line:column: warning: message — hint [rule]`, as compilers print a warning."""
    return str(dataclasses.replace(warning, message=f"warning: {warning.message}"))


def _github_annotation(level: str, problem: Problem) -> str:
    message = f"{problem.message} — {problem.hint}" if problem.hint else problem.message
    if problem.rule:
        message = f"{message} [{problem.rule}]"
    file = _github_escape(problem.file, in_property=True)
    return f"::{level} file={file},line={problem.line},col={problem.column}::{_github_escape(message)}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _report(problems: list[Problem], output_format: str, *, project_root: Path | None) -> None:
    shown = [problem_from_cwd(project_root, p) if project_root else p for p in problems]
    if output_format == "json":
        click.echo(json.dumps([p.to_json() for p in shown], indent=2, ensure_ascii=False))
        return
    if output_format == "github":
        for p in shown:
            click.echo(_github_annotation("error", p))
        return
    for p in shown:
        click.echo(str(p))
    count = len(shown)
    click.echo(f"{_count(count, 'problem')} found.", err=True)

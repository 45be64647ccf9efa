"""`klaviyo-sync validate`: check the manifests offline and report every problem at once."""

from __future__ import annotations

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

    Exit code 0 when valid, 1 when any problem is found.
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
    if output_format == "json":
        click.echo("[]")
    elif output_format == "text":
        parts = [_count(len(project.manifest_files), "manifest file")]
        parts += [
            _count(len(project.state.of_kind(kind)), kind.spec.label)
            for kind in (Kind.TAG_GROUP, Kind.TAG, Kind.LIST, Kind.TEMPLATE)
        ]
        click.echo(f"Valid: {', '.join(parts)}.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _report(problems: list[Problem], output_format: str, *, project_root: Path | None) -> None:
    shown = [problem_from_cwd(project_root, p) if project_root else p for p in problems]
    if output_format == "json":
        click.echo(json.dumps([p.to_json() for p in shown], indent=2, ensure_ascii=False))
        return
    if output_format == "github":
        for p in shown:
            message = f"{p.message} — {p.hint}" if p.hint else p.message
            file = _github_escape(p.file, in_property=True)
            click.echo(f"::error file={file},line={p.line},col={p.column}::{_github_escape(message)}")
        return
    for p in shown:
        click.echo(str(p))
    count = len(shown)
    click.echo(f"{_count(count, 'problem')} found.", err=True)

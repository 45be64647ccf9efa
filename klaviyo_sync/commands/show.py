"""`klaviyo-sync show PLAN.json`: print a saved plan (`plan --out`) as text, markdown or json. It reads no account.

The file is read and checked as `apply` reads it, so a damaged or hand-edited one is the same clear error; a saved
plan holds content as digests, so its text and markdown show each content change by size and digest, not as a diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from klaviyo_sync.commands.common import no_color_option, plan_format_option, use_color


@click.command(
    "show",
    epilog="""\b
Examples:
  klaviyo-sync plan examples/shop --out plan.json && klaviyo-sync show plan.json
  klaviyo-sync show plan.json --format markdown > comment.md""",
)
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@plan_format_option
@no_color_option
def command(plan_file: Path, output_format: str, no_color: bool) -> None:
    """Print the saved plan PLAN.json: the account and project it was made for, and its changes with their reasons."""
    from klaviyo_sync.commands.apply import read_saved_plan
    from klaviyo_sync.plan import plan_to_json
    from klaviyo_sync.render import render_markdown, render_text

    plan, _ = read_saved_plan(plan_file)
    data = plan_to_json(plan)  # as read back: what apply would check, whatever else the file holds
    if output_format == "json":
        output = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif output_format == "markdown":
        output = render_markdown(data)
    else:
        # The project as `apply PLAN.json` finds it, named from here.
        project = f"Project: {Path(os.path.normpath(plan_file.parent / plan.project)).as_posix()}\n" if plan.project else ""
        output = project + render_text(data, color=use_color(no_color))
    click.echo(output, nl=False)

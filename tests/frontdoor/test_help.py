"""`--help` reads well: a one-line purpose, every option explained, and an example, for the group and each command."""

from __future__ import annotations

import re

import click
import pytest

from klaviyo_sync.cli import COMMANDS, group
from tests.support.cli import run_cli


def test_group_help_lists_every_command_with_its_purpose() -> None:
    result = run_cli(["--help"])
    assert result.exit_code == 0, result.output
    # run_cli calls the click group directly, so the program name shows as the group's own name.
    assert re.match(r"Usage: \S+ \[OPTIONS\] COMMAND \[ARGS\]\.\.\.", result.output)
    for name, purpose in COMMANDS.items():
        assert f"{name}  " in result.output and purpose in result.output
        assert purpose.endswith(".") and "\n" not in purpose
    assert "Examples:" in result.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_has_purpose_options_and_example(name: str) -> None:
    result = run_cli([name, "--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(rf"Usage: \S+ {name}\b", lines[0])
    purpose = next(line.strip() for line in lines[1:] if line.strip())
    assert purpose[0].isupper(), f"{name}: the help should open with a sentence, got {purpose!r}"
    parts = re.split(r"\bExamples?:", result.output, maxsplit=1)
    assert len(parts) == 2, f"{name} --help shows no example"
    example_lines = parts[1].splitlines()
    assert any(line.strip().startswith(f"klaviyo-sync {name}") for line in example_lines), f"{name}: no example runs it"

    command = group.get_command(click.Context(group), name)
    assert command is not None
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and len(param.help) > 10, f"{name} {param.opts}: option has no explanation"
            assert param.opts[0] in result.output


def test_help_is_fast_to_reach_without_importing_commands() -> None:
    # `klaviyo-sync --help` only names the commands; it must not import them (start-up cost, see cli.py).
    import subprocess
    import sys

    code = (
        "import sys; from klaviyo_sync.cli import group; "
        "print(sorted(m for m in sys.modules if m.startswith('klaviyo_sync.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

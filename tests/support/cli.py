"""Run the real CLI through click's runner and check its output never carries the API key."""

from __future__ import annotations

from collections.abc import Sequence

from click.testing import CliRunner, Result

from klaviyo_sync.cli import group
from tests.support.canary import find_canary


def run_cli(args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(group, list(args), input=input, env=env, catch_exceptions=True)
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert not find_canary(output), "the API key leaked into CLI output"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert not find_canary(str(result.exception)), "the API key leaked into an exception"
    return result

"""The README tells the truth: every klaviyo-sync command it shows is one the CLI accepts, and its files exist."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.frontdoor.ci_files import REPO, Invocation, parse_invocation

README = REPO / "README.md"


def _shell_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _invocations() -> list[Invocation]:
    calls = []
    for line in _shell_lines():
        for part in re.split(r"&&|\|", line):
            tokens = shlex.split(part, comments=True)
            while tokens and re.fullmatch(r"[A-Z_]+=\S*", tokens[0]):  # VAR=value before the command
                tokens.pop(0)
            if tokens and tokens[0] == "klaviyo-sync":
                calls.append(Invocation(f"README: {line.strip()}", tuple(tokens[1:])))
    return calls


def test_readme_opens_with_the_two_commands() -> None:
    lines = _shell_lines()
    assert lines[0].startswith("./scripts/demo") and lines[1].startswith("./scripts/test")
    for script in ("demo", "test"):
        path = REPO / "scripts" / script
        assert path.is_file() and path.stat().st_mode & 0o111, f"scripts/{script} is missing or not executable"


def test_every_command_in_the_readme_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO / "examples" / "shop", tmp_path / "examples" / "shop")
    shutil.copytree(REPO / "examples" / "shop", tmp_path / "klaviyo")
    (tmp_path / "plan.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    calls = _invocations()
    assert {call.args[0] for call in calls} == {"validate", "plan", "apply", "export", "emulator"}
    for call in calls:
        parse_invocation(call)


def test_readme_links_point_at_files_that_exist() -> None:
    for target in re.findall(r"\]\(((?!https?://|#)[^)]+)\)", README.read_text(encoding="utf-8")):
        assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_performance_section_is_marked_for_the_benchmark() -> None:
    text = README.read_text(encoding="utf-8")
    assert "## Performance" in text and "python bench/run.py" in text
    assert "<!-- performance-table:start -->" in text and "<!-- performance-table:end -->" in text

"""The README tells the truth: every klaviyo-sync command it shows is one the CLI accepts, and its files exist."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.frontdoor.ci_files import REPO, Invocation, parse_invocation
from tests.support.cli import run_cli

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
    assert {call.args[0] for call in calls} == {"validate", "plan", "preview", "apply", "export", "emulator", "unlock", "show"}
    for call in calls:
        parse_invocation(call)


def test_readme_links_point_at_files_that_exist() -> None:
    for target in re.findall(r"\]\(((?!https?://|#)[^)]+)\)", README.read_text(encoding="utf-8")):
        assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_performance_section_names_the_benchmark_command() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Performance", 1)[1].split("\n## ", 1)[0]
    assert "`./scripts/bench`" in section


def test_manifest_format_example_validates_and_plans(tmp_path: Path) -> None:
    """The annotated klaviyo.yaml in the README is a working project once the files it names exist."""
    (example,) = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    (tmp_path / "klaviyo.yaml").write_text(example, encoding="utf-8")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "more.yaml").write_text("version: 1\n", encoding="utf-8")
    (tmp_path / "templates").mkdir()
    for name in ("welcome.html", "welcome-fr.html"):
        (tmp_path / "templates" / name).write_text("<p>Hi {{ first_name|default:'there' }}</p>\n", encoding="utf-8")
    (tmp_path / "templates" / "welcome.txt").write_text("Hi {{ first_name|default:'there' }}\n", encoding="utf-8")
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "footer.html").write_text("<p>{{ organization.name }}</p>\n", encoding="utf-8")
    legal = {"content_type": "block", "type": "text", "data": {"content": "Terms", "display_options": {}, "styles": {}}}
    (tmp_path / "blocks" / "legal.json").write_text(json.dumps(legal), encoding="utf-8")

    validate = run_cli(["validate", str(tmp_path)])
    assert validate.exit_code == 0, validate.output
    # The flow its emails belong to, as Klaviyo's flow editor made it.
    seed = {
        "templates": [{"name": "Built in the editor", "html": "<p>Hello {% unsubscribe %}</p>"}],
        "flows": [
            {
                "name": "Welcome Series",
                "emails": [
                    {"name": "Email #1", "template": "Built in the editor"},
                    {"name": "Email #2", "template": "Built in the editor"},
                ],
            }
        ],
    }
    (tmp_path / "seed.json").write_text(json.dumps(seed), encoding="utf-8")
    state = ["--emulator", "--emulator-state", str(tmp_path / "state.json"), "--emulator-seed", str(tmp_path / "seed.json")]
    plan = run_cli(["plan", str(tmp_path), *state, "--no-color", "--var", "KLAVIYO_ENV=production", "--detailed-exitcode"])
    assert plan.exit_code == 2, plan.output
    assert 'list["VIP Customers (production)"]' in plan.output
    assert "\nAccount: Emulated account (t9ZIwW)\n" in plan.output  # the pin the example sets
    assert 'universal_content["Legal"]' in plan.output and "into every template that uses it" in plan.output
    assert 'flow_email["Welcome Series"/"Email #1"]' in plan.output and 'follows template "Welcome Email"' in plan.output

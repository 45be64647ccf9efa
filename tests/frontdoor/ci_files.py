"""Reading the CI files users copy (examples/ci, .pre-commit-hooks.yaml): their shell lines and klaviyo-sync calls."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from klaviyo_sync.cli import group

REPO = Path(__file__).resolve().parents[2]
CI_DIR = REPO / "examples" / "ci"
GITHUB_PLAN = CI_DIR / "github" / "plan.yml"
GITHUB_APPLY = CI_DIR / "github" / "apply.yml"
GITHUB_DRIFT = CI_DIR / "github" / "drift.yml"
GITHUB_WORKFLOWS = (GITHUB_PLAN, GITHUB_APPLY, GITHUB_DRIFT)
DRIFT_SCRIPT = CI_DIR / "klaviyo_drift.py"
ACTION = REPO / "action.yml"
GITLAB = CI_DIR / "gitlab" / ".gitlab-ci.yml"
PRE_COMMIT_CONFIG = CI_DIR / "pre-commit" / ".pre-commit-config.yaml"
PRE_COMMIT_HOOKS = REPO / ".pre-commit-hooks.yaml"
ALL_FILES = (*GITHUB_WORKFLOWS, GITLAB, PRE_COMMIT_CONFIG, PRE_COMMIT_HOOKS, ACTION)

_REDIRECTION = re.compile(r"^\d?>>?")


@dataclass(frozen=True)
class Invocation:
    """One `klaviyo-sync ...` call found in a CI file, with variables expanded from the file's `env:`."""

    source: str  # file and step, for messages
    args: tuple[str, ...]  # what follows `klaviyo-sync`


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_steps(path: Path) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """(job/step name, step, env) for every step with a `run:`; env merges workflow, job and step env."""
    workflow = load(path)
    found = []
    for job_name, job in workflow["jobs"].items():
        for index, step in enumerate(job["steps"]):
            if "run" in step:
                env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                found.append((f"{job_name}/{step.get('name', index)}", step, {k: str(v) for k, v in env.items()}))
    return found


def gitlab_scripts(path: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    pipeline = load(path)
    variables = {k: str(v) for k, v in pipeline.get("variables", {}).items()}
    jobs = []
    for name, job in pipeline.items():
        if isinstance(job, dict) and "script" in job:
            jobs.append((name, list(job["script"]), {**variables, **{k: str(v) for k, v in job.get("variables", {}).items()}}))
    return jobs


def invocations_in(source: str, script: str, env: dict[str, str]) -> list[Invocation]:
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True) if "klaviyo-sync" in line else []
        # The program itself, not the name inside a message or a `pip install` spec.
        if tokens and tokens[0] not in ("pip", "echo", "printf") and "klaviyo-sync" in tokens:
            calls.append(Invocation(source, tuple(_arguments_after_program(tokens, env))))
    return calls


def all_invocations() -> list[Invocation]:
    calls: list[Invocation] = []
    for path in GITHUB_WORKFLOWS:
        for name, step, env in github_steps(path):
            calls += invocations_in(f"{path.name}:{name}", step["run"], env)
    for name, script, env in gitlab_scripts(GITLAB):
        calls += invocations_in(f"{GITLAB.name}:{name}", "\n".join(script), env)
    for repo in load(PRE_COMMIT_CONFIG)["repos"]:
        for hook in repo["hooks"]:
            calls += invocations_in(f"{PRE_COMMIT_CONFIG.name}:{hook['id']}", hook["entry"], {})
    for hook in load(PRE_COMMIT_HOOKS):
        calls += invocations_in(f"{PRE_COMMIT_HOOKS.name}:{hook['id']}", f"{hook['entry']} klaviyo", {})
    return calls


def _arguments_after_program(tokens: list[str], env: dict[str, str]) -> list[str]:
    start = tokens.index("klaviyo-sync")
    args = []
    skip_next = False
    for token in tokens[start + 1 :]:
        if skip_next:
            skip_next = False
            continue
        if token in ("|", "||", "&&", ";"):
            break
        if _REDIRECTION.match(token):
            skip_next = _REDIRECTION.fullmatch(token) is not None  # `> file` (separate) vs `>file`
            continue
        args.append(_expand(token, env))
    return args


def _expand(token: str, env: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise AssertionError(f"{token!r} uses ${name}, which the CI file does not define")
        return env[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, token)


def parse_invocation(invocation: Invocation) -> click.Context:
    """Parse the call exactly as the CLI would, without running it."""
    name, *args = invocation.args
    root = click.Context(group, info_name="klaviyo-sync")
    command = group.get_command(root, name)
    assert command is not None, f"{invocation.source}: `klaviyo-sync {name}` is not a command"
    try:
        return command.make_context(name, list(args), parent=root)
    except click.UsageError as exc:
        raise AssertionError(f"{invocation.source}: `klaviyo-sync {' '.join(invocation.args)}` is rejected: {exc}") from None

"""Options and helpers shared by the commands that talk to an account (plan, apply, export).

Connection settings come from options and the environment: `--base-url` / `KLAVIYO_BASE_URL`, the key from
`KLAVIYO_API_KEY` or `--api-key-file` (never from the command line, where `ps` would show it), or
`--emulator` to run against a local emulator started for the occasion.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from klaviyo_sync.api_spec import BASE_URL as DEFAULT_BASE_URL
from klaviyo_sync.errors import ConfigError, ManifestError, PlanError, Problem, ProblemsError
from klaviyo_sync.redaction import register_secret

# The key the embedded emulator's account answers to; it is not a secret.
EMULATOR_API_KEY = "pk_local_emulator"
DEFAULT_EMULATOR_STATE = Path(".klaviyo-sync") / "emulator-state.json"


@dataclass(frozen=True)
class Connection:
    """Where to send requests and with which key. `repr` never shows the key."""

    base_url: str
    api_key: str

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r}, api_key=<redacted>)"


@dataclass(frozen=True)
class ConnectionOptions:
    base_url: str | None
    api_key_file: Path | None
    emulator: bool
    emulator_state: Path
    verbose: int
    emulator_seed: Path | None = None


def connection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection options to a command; it receives them as `connection: ConnectionOptions`."""
    options = [
        click.option(
            "--base-url",
            envvar="KLAVIYO_BASE_URL",
            metavar="URL",
            help=f"API base URL (env KLAVIYO_BASE_URL). Default {DEFAULT_BASE_URL}.",
        ),
        click.option(
            "--api-key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Read the private API key from this file instead of KLAVIYO_API_KEY.",
        ),
        click.option(
            "--emulator",
            is_flag=True,
            help="Run against a local Klaviyo emulator started for this command (no real account is touched).",
        ),
        click.option(
            "--emulator-state",
            type=click.Path(dir_okay=False, path_type=Path),
            default=DEFAULT_EMULATOR_STATE,
            show_default=True,
            help="With --emulator: file where the emulated account is kept between runs.",
        ),
        click.option(
            "--emulator-seed",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="With --emulator: objects the emulated account starts with when it is new, as `klaviyo-sync emulator "
            "--seed` takes them (e.g. the flows built in Klaviyo's flow editor, whose emails the project manages).",
        ),
        click.option("-v", "--verbose", count=True, help="Log each request (key redacted); -vv for more."),
    ]

    def wrapper(**kwargs: Any) -> Any:
        kwargs["connection"] = ConnectionOptions(
            base_url=kwargs.pop("base_url"),
            api_key_file=kwargs.pop("api_key_file"),
            emulator=kwargs.pop("emulator"),
            emulator_state=kwargs.pop("emulator_state"),
            verbose=kwargs.pop("verbose"),
            emulator_seed=kwargs.pop("emulator_seed"),
        )
        return func(**kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def read_api_key(options: ConnectionOptions) -> str:
    key = _read_api_key(options)
    register_secret(key)
    return key


def _read_api_key(options: ConnectionOptions) -> str:
    if options.api_key_file is not None:
        try:
            key = options.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the API key file {options.api_key_file}: {exc.strerror}",
                hint="check the path given to --api-key-file",
            ) from None
        if not key:
            raise ConfigError(f"the API key file {options.api_key_file} is empty", hint="write the private key into it")
        return key
    key = os.environ.get("KLAVIYO_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "no API key: set KLAVIYO_API_KEY or pass --api-key-file",
            hint="create a private key in Klaviyo (Settings > API keys), or use --emulator for a local dry run",
        )
    return key


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record, not the one current at start-up."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(verbose: int) -> None:
    """-v logs each request (key redacted), -vv everything; records still propagate to the root logger."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logger = logging.getLogger("klaviyo_sync")
    logger.setLevel(level)
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


@contextlib.contextmanager
def open_connection(options: ConnectionOptions) -> Iterator[Connection]:
    """Resolve the connection; with --emulator, run the emulator on a free loopback port until exit."""
    configure_logging(options.verbose)
    if not options.emulator:
        yield Connection(base_url=options.base_url or DEFAULT_BASE_URL, api_key=read_api_key(options))
        return
    if options.base_url:
        raise ConfigError("--emulator and --base-url cannot be used together", hint="drop one of them")
    from klaviyo_sync.emulator import Emulator, EmulatorConfig
    from klaviyo_sync.emulator.server import serve_in_background

    options.emulator_state.parent.mkdir(parents=True, exist_ok=True)
    new = not options.emulator_state.exists()
    emulator = Emulator(EmulatorConfig(state_file=options.emulator_state))
    if options.emulator_seed is not None and new:
        from klaviyo_sync.commands.emulator import read_seed, seed_account_once

        seed_account_once(emulator, EMULATOR_API_KEY, read_seed(options.emulator_seed), err=True)
    with serve_in_background(emulator=emulator) as base_url:
        yield Connection(base_url=base_url, api_key=EMULATOR_API_KEY)


# Options shared by the commands that load manifests (`var_option`) or print plans (`no_color_option`,
# `plan_format_option`).
var_option = click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a manifest variable ${NAME}; repeatable."
)
no_color_option = click.option(
    "--no-color", is_flag=True, help="Never colour the output (NO_COLOR in the environment does the same)."
)
plan_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for terminals, markdown for a pull-request comment, json for machines (schemas/plan.schema.json).",
)


def parse_var_options(values: tuple[str, ...]) -> dict[str, str]:
    """`--var NAME=VALUE` options as a mapping; a malformed one is a usage error (exit 2), like any bad option."""
    from klaviyo_sync.manifest.variables import parse_assignments

    try:
        return parse_assignments(values)
    except ConfigError as exc:
        raise click.BadParameter(f"{exc.message} ({exc.hint})", param_hint="--var") from None


def use_color(no_color: bool) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR set (https://no-color.org)."""
    return not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def problem_from_cwd(project_root: Path, problem: Problem) -> Problem:
    """Name a problem's project-relative file from where the command runs, so terminals and editors can open it."""
    absolute = project_root / problem.file
    cwd = Path.cwd().resolve()
    shown = absolute.relative_to(cwd).as_posix() if absolute.is_relative_to(cwd) else absolute.as_posix()
    return dataclasses.replace(problem, file=shown)


@contextlib.contextmanager
def problems_from_cwd(project_path: Path) -> Iterator[None]:
    """Manifest and plan problems raised in the block name their files from where the command runs (as `validate`
    does), so a terminal or an editor opens them whatever directory the project is in."""
    try:
        yield
    except ProblemsError as exc:
        from klaviyo_sync.manifest import find_root_file

        try:
            root = find_root_file(project_path).parent.resolve()
        except ManifestError:
            raise exc from None
        shown = type(exc)(exc.message, [problem_from_cwd(root, problem) for problem in exc.problems])
        if isinstance(exc, PlanError):
            shown.plan = exc.plan  # a refused plan, still to be shown
        raise shown from None

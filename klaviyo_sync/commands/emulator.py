"""`klaviyo-sync emulator`: run the local Klaviyo emulator on loopback until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from klaviyo_sync.commands.common import EMULATOR_API_KEY
from klaviyo_sync.errors import ConfigError


def _rate_limits(value: str) -> float | None:
    """`on` = Klaviyo's real windows, `off` = none, a number = windows scaled by it (0.01: 100x shorter)."""
    if value == "off":
        return None
    if value == "on":
        return 1.0
    try:
        scale = float(value)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not on, off or a positive number such as 0.01", param_hint="--rate-limits"
        ) from None
    if scale <= 0:
        raise click.BadParameter("the scale must be positive (0.01 makes every window 100x shorter)", param_hint="--rate-limits")
    return scale


def _key_scopes(entries: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """`KEY=SCOPE,SCOPE` entries as {key: scopes}; `KEY=` leaves the key no scope at all.

    Errors name the entry by position: emulator keys are not secrets, but there is no need to print them.
    """
    from klaviyo_sync.emulator.scopes import ScopeError, parse_scopes

    limited: dict[str, tuple[str, ...]] = {}
    for position, entry in enumerate(entries, start=1):
        where = f"entry {position} of --key-scopes"
        key, equals, scopes = entry.partition("=")
        key = key.strip()
        if not equals or not key.startswith("pk_") or len(key) < 4:
            raise click.BadParameter(
                f"{where} is not KEY=SCOPE,SCOPE with an emulator key (pk_...), e.g. pk_reader=templates:read,lists:read",
                param_hint="--key-scopes",
            )
        if key in limited:
            raise click.BadParameter(f"{where} names a key already given; list all its scopes once", param_hint="--key-scopes")
        try:
            limited[key] = tuple(sorted(parse_scopes(item.strip() for item in scopes.split(",") if item.strip())))
        except ScopeError as exc:
            raise click.BadParameter(f"{where}: {exc}", param_hint="--key-scopes") from None
    return limited


def read_seed(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the seed file {path}: {exc.strerror}", hint="check the path given to --seed") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"the seed file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"the seed file {path} must be a mapping with tag_groups, tags, lists, templates, universal_content and/or flows",
            hint='e.g. {"tag_groups": [{"name": "Channel", "exclusive": true}], "tags": [{"group": "Channel", "name": "Email"}]}',
        )
    return data


@click.command("emulator")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="TCP port; 0 picks a free one.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind. Keep it on loopback.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the accounts in this JSON file (written atomically after each change; loaded at start).",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML/JSON objects to create at start (tag_groups, tags, lists, templates, universal_content, flows) when "
    "the account is empty.",
)
@click.option(
    "--seed-account",
    default=EMULATOR_API_KEY,
    show_default=True,
    metavar="KEY",
    help="Emulator key (pk_...) whose account --seed fills. Emulator keys are not secrets.",
)
@click.option("--latency", type=click.FloatRange(0), default=0, show_default=True, metavar="MS", help="Delay every answer.")
@click.option(
    "--rate-limits",
    default="off",
    show_default=True,
    metavar="on|off|SCALE",
    help="Klaviyo's per-endpoint limits: on, off, or a time scale (0.01 runs 60 s windows in 0.6 s). "
    "Even when off, an account can create at most 150 lists per UTC day, as in Klaviyo.",
)
@click.option(
    "--faults",
    metavar="SPEC",
    help="Inject faults: ';'-separated OPERATIONS:KIND[=ARG][,retry-after=SECONDS|date+SECONDS][@PROBABILITY|#NTH] "
    "with KIND one of latency=MS, error=5xx, html=5xx, storm=N, drop, timeout=SECONDS (retry-after only with "
    "error/html); e.g. 'create_tag:drop@0.2;get_*:error=503,retry-after=5#3'.",
)
@click.option("--quirks", is_flag=True, help="Reproduce real Klaviyo's departures from its spec (null links, HTML 400s, ...).")
@click.option(
    "--key-scopes",
    "key_scopes",
    multiple=True,
    metavar="KEY=SCOPE,...",
    help="Give a key only these scopes (e.g. pk_reader=templates:read,lists:read,tags:read); a request needing another "
    "gets Klaviyo's 403 permission_denied. Repeatable; 'KEY=' leaves a key no scope. Other keys have full access.",
)
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the fault and id generators.")
def command(
    port: int,
    host: str,
    state_file: Path | None,
    seed_file: Path | None,
    seed_account: str,
    latency: float,
    rate_limits: str,
    faults: str | None,
    quirks: bool,
    key_scopes: tuple[str, ...],
    fault_seed: int,
) -> None:
    """Run a local Klaviyo (templates, universal content, lists, tags, tag groups, flows) for dry runs and tests.

    Any key starting with pk_ is accepted, with every scope unless --key-scopes limits it; each key is its own
    account, starting with its "Default" tag group.
    Point the tool at it with --base-url (or KLAVIYO_BASE_URL). Stops cleanly on Ctrl-C or SIGTERM.

    \b
    Example:
      klaviyo-sync emulator --port 8788 --state .klaviyo-sync/emulator.json
      KLAVIYO_BASE_URL=http://127.0.0.1:8788 KLAVIYO_API_KEY=pk_demo klaviyo-sync plan examples/shop
    """
    from klaviyo_sync.emulator import Emulator, EmulatorConfig, FaultSpecError
    from klaviyo_sync.emulator.persistence import EmulatorStateError
    from klaviyo_sync.emulator.server import EmulatorServer

    if not seed_account.startswith("pk_"):
        raise click.BadParameter("emulator keys start with pk_", param_hint="--seed-account")
    limited = _key_scopes(key_scopes)
    try:
        emulator = Emulator(
            EmulatorConfig(
                rate_limits=_rate_limits(rate_limits),
                latency_ms=latency,
                faults=faults,
                quirks=quirks,
                state_file=state_file,
                seed=fault_seed,
                key_scopes=limited,
            )
        )
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    except EmulatorStateError as exc:
        raise ConfigError(str(exc), hint="pass another --state file or delete this one") from None
    if seed_file is not None:
        seed_account_once(emulator, seed_account, read_seed(seed_file))
    if limited:
        click.echo(f"Scopes limited for {len(limited)} key(s); every other key has full access.")
    from klaviyo_sync.client.http import is_loopback

    if not is_loopback(host):
        click.echo(f"Warning: binding {host} exposes the emulator beyond this machine; it accepts any pk_ key.", err=True)
    try:
        server = EmulatorServer(emulator, host=host, port=port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port") from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    click.echo(f"Klaviyo emulator listening on {server.base_url} (state: {state_file or 'in memory'})")
    click.echo("Press Ctrl-C to stop.")
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Emulator stopped.")


def seed_account_once(emulator: Any, key: str, data: dict[str, Any], *, err: bool = False) -> None:
    """Seed a fresh account; an account restored from --state keeps what it has. `err`: report on stderr."""
    from klaviyo_sync.emulator.errors import EmulatorError
    from klaviyo_sync.emulator.store import account_id

    existing = emulator.dump()["accounts"].get(account_id(key))
    if existing and (existing["templates"] or existing["lists"] or existing["tags"] or len(existing["tag_groups"]) > 1):
        click.echo("Seed skipped: the account already has objects (from --state).", err=err)
        return
    try:
        ids = emulator.seed(key, data)
    except EmulatorError as exc:
        raise ConfigError(f"the seed data was refused: {exc.detail}", hint="fix the seed file") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the seed data is malformed: missing or wrong field {exc}", hint="fix the seed file") from None
    click.echo("Seeded: " + ", ".join(f"{len(v)} {k}" for k, v in ids.items()), err=err)

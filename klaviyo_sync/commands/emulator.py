"""`klaviyo-sync emulator`: run the local Klaviyo emulator on loopback until Ctrl-C or SIGTERM."""

from __future__ import annotations

import ipaddress
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


def _read_seed(path: Path) -> dict[str, Any]:
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
            f"the seed file {path} must be a mapping with tag_groups, tags, lists and/or templates",
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
    help="YAML/JSON objects to create at start (tag_groups, tags, lists, templates) when the account is empty.",
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
    help="Inject faults: ';'-separated OPERATIONS:KIND[=ARG][@PROBABILITY|#NTH] with KIND one of latency=MS, "
    "error=5xx, html=5xx, storm=N, drop, timeout=SECONDS; e.g. 'create_tag:drop@0.2;get_*:error=503#3'.",
)
@click.option("--quirks", is_flag=True, help="Reproduce real Klaviyo's departures from its spec (null links, HTML 400s, ...).")
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
    fault_seed: int,
) -> None:
    """Run a local Klaviyo (templates, lists, tags, tag groups) for dry runs and tests.

    Any key starting with pk_ is accepted; each key is its own account, starting with its "Default" tag group.
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
    try:
        emulator = Emulator(
            EmulatorConfig(
                rate_limits=_rate_limits(rate_limits),
                latency_ms=latency,
                faults=faults,
                quirks=quirks,
                state_file=state_file,
                seed=fault_seed,
            )
        )
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    except EmulatorStateError as exc:
        raise ConfigError(str(exc), hint="pass another --state file or delete this one") from None
    if seed_file is not None:
        _seed(emulator, seed_account, _read_seed(seed_file))
    if not _is_loopback(host):
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


def _seed(emulator: Any, key: str, data: dict[str, Any]) -> None:
    """Seed a fresh account; an account restored from --state keeps what it has."""
    from klaviyo_sync.emulator.errors import EmulatorError
    from klaviyo_sync.emulator.store import account_id

    existing = emulator.dump()["accounts"].get(account_id(key))
    if existing and (existing["templates"] or existing["lists"] or existing["tags"] or len(existing["tag_groups"]) > 1):
        click.echo("Seed skipped: the account already has objects (from --state).")
        return
    try:
        ids = emulator.seed(key, data)
    except EmulatorError as exc:
        raise ConfigError(f"the seed data was refused: {exc.detail}", hint="fix the seed file") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the seed data is malformed: missing or wrong field {exc}", hint="fix the seed file") from None
    click.echo("Seeded: " + ", ".join(f"{len(v)} {k}" for k, v in ids.items()))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

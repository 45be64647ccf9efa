"""Our client on an emulator, in process: the one way the suite builds it (the `make_client` fixture uses it too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.transport import EmulatorTransport
from tests.support.canary import CANARY_KEY

MakeClient = Callable[..., KlaviyoClient]


def emulator_client(emulator: Emulator, *, api_key: str = CANARY_KEY, **options: Any) -> KlaviyoClient:
    """A `KlaviyoClient` whose requests the emulator serves in process; `options` go to the client unchanged."""
    return KlaviyoClient(api_key, transport=EmulatorTransport(emulator), **options)


def fast_client(emulator: Emulator, **options: Any) -> KlaviyoClient:
    """The `make_client` fixture's client: pacing off and backoffs shrunk (time_scale 0.001) unless asked for."""
    options.setdefault("pacing", False)
    options.setdefault("time_scale", 0.001)
    return emulator_client(emulator, **options)

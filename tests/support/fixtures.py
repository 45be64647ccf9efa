"""Shared pytest fixtures: the emulator in process and on loopback, every exchange checked against the spec.

    api_key            the suite's canary key (a valid emulator key: it starts with `pk_`)
    emulator           a fresh in-process `Emulator()`; use `EmulatorTransport(emulator)` with httpx
    emulator_factory   `emulator_factory(EmulatorConfig(...))` for rate limits, faults, quirks, latency
    emulator_server    a real uvicorn server on 127.0.0.1:<free port> for a fresh emulator:
                       `.base_url` ("http://127.0.0.1:PORT") and `.emulator`; stopped at teardown
    serve_emulator     `serve_emulator(emulator)` -> the same kind of handle for an emulator you configured
    conformance        the test's `Conformance` (every emulator above reports to it)
    make_client        `make_client(emulator, **options)`: our client on an emulator in process, with the canary
                       key, pacing off and backoffs shrunk unless asked (tests/support/clients.py)

Every request/response pair those emulators exchange is validated against Klaviyo's official spec
(tests/support/conformance.py); any violation fails the test at teardown. A test that sends invalid requests
on purpose marks itself `@pytest.mark.invalid_requests`: requests are then not validated, responses still are.
The spec is the slice shipped in `spec/`; without it every test using these fixtures fails, naming the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.server import EmulatorServer
from tests.support.canary import CANARY_KEY
from tests.support.clients import MakeClient, fast_client
from tests.support.conformance import Conformance, spec_text


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "invalid_requests: the test sends invalid requests on purpose; only responses are checked against the spec"
    )


@dataclass(frozen=True)
class ServedEmulator:
    base_url: str
    emulator: Emulator


@pytest.fixture
def api_key() -> str:
    return CANARY_KEY


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> Iterator[Conformance]:
    spec_text()  # fails the test, naming the fix, when the spec is missing
    checker = Conformance(validate_requests=request.node.get_closest_marker("invalid_requests") is None)
    yield checker
    checker.assert_clean()


@pytest.fixture
def make_client() -> MakeClient:
    return fast_client


@pytest.fixture
def emulator_factory(conformance: Conformance) -> Callable[[EmulatorConfig | None], Emulator]:
    def make(config: EmulatorConfig | None = None) -> Emulator:
        emulator = Emulator(config)
        emulator.add_observer(conformance.observe)
        return emulator

    return make


@pytest.fixture
def emulator(emulator_factory: Callable[[EmulatorConfig | None], Emulator]) -> Emulator:
    return emulator_factory(None)


@pytest.fixture
def serve_emulator() -> Iterator[Callable[[Emulator], ServedEmulator]]:
    servers: list[EmulatorServer] = []

    def serve(emulator: Emulator) -> ServedEmulator:
        server = EmulatorServer(emulator)
        server.start()
        servers.append(server)
        return ServedEmulator(server.base_url, emulator)

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def emulator_server(emulator: Emulator, serve_emulator: Callable[[Emulator], ServedEmulator]) -> ServedEmulator:
    return serve_emulator(emulator)

"""Fixtures for the client tests: a fresh in-process emulator and clients wired to it with the canary key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.messages import EmuRequest, EmuResponse
from tests.support.clients import MakeClient as MakeClient
from tests.support.conformance import Conformance

MakeEmulator = Callable[..., Emulator]
Handler = Callable[[httpx.Request], httpx.Response]
Scripted = Callable[[Handler], httpx.MockTransport]


@pytest.fixture
def make_emulator(emulator_factory: Callable[[EmulatorConfig | None], Emulator]) -> MakeEmulator:
    """A fresh emulator whose every exchange is checked against the official spec (tests/support/fixtures.py)."""

    def make(**config: Any) -> Emulator:
        return emulator_factory(EmulatorConfig(**config))

    return make


@pytest.fixture
def make_timed_emulator(conformance: Conformance) -> Iterator[MakeEmulator]:
    """Like `make_emulator`, but every exchange is checked against the spec after the test body, not during it.

    The spec check costs tens of milliseconds of CPU per request, inside the event loop; a test about rate-limit
    timing would otherwise measure the checker instead of the client.
    """
    exchanges: list[tuple[Any, Any]] = []

    def make(**config: Any) -> Emulator:
        emulator = Emulator(EmulatorConfig(**config))
        emulator.add_observer(lambda request, response: exchanges.append((request, response)))
        return emulator

    yield make
    for request, response in exchanges:
        conformance.observe(request, response)


@pytest.fixture
def scripted(conformance: Conformance) -> Scripted:
    """A scripted server, for answers the emulator never gives (redirects, odd links, broken bodies).

    The requests the client sends to it are still checked against the spec; its answers are not, being odd on purpose.
    """

    def make(handler: Handler) -> httpx.MockTransport:
        def checked(request: httpx.Request) -> httpx.Response:
            sent = EmuRequest(
                method=request.method,
                path=request.url.path,
                query_string=request.url.query.decode("ascii"),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=request.content,
            )
            conformance.observe(sent, EmuResponse(0, beyond_spec=True))
            return handler(request)

        return httpx.MockTransport(checked)

    return make


def seed_account(
    tag_groups: int, tags: int, lists: int, templates: int, *, tags_per_list: int = 3, blocks: int = 0
) -> dict[str, Any]:
    """Seed data for an account of the given size; `tag_groups` counts the default group too."""
    groups = [{"name": f"Group {index}", "exclusive": False} for index in range(1, tag_groups)]
    group_names = ["Default"] + [group["name"] for group in groups]
    tag_pairs = [[group_names[index % len(group_names)], f"Tag {index:03d}"] for index in range(tags)]
    return {
        "tag_groups": groups,
        "tags": [{"group": group, "name": name} for group, name in tag_pairs],
        "lists": [
            {
                "name": f"List {index:02d}",
                "opt_in_process": "single_opt_in" if index % 2 else "double_opt_in",
                "tags": [tag_pairs[(index * 7 + offset) % len(tag_pairs)] for offset in range(tags_per_list)]
                if tag_pairs
                else [],
            }
            for index in range(lists)
        ],
        "templates": [
            {"name": f"Template {index:03d}", "editor_type": "CODE", "html": f"<p>Hello {index}</p>", "text": f"Hello {index}"}
            for index in range(templates)
        ],
        "universal_content": [
            {
                "name": f"Block {index:03d}",
                "definition": {
                    "content_type": "block",
                    "type": "html",
                    "data": {"content": f"<p>{index}</p>", "display_options": {}},
                },
            }
            for index in range(blocks)
        ],
    }

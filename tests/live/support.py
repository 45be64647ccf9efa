"""Helpers for the reader's tests: accounts whose objects were created over time, lower bounds, one read."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.transport import SyncEmulatorTransport
from klaviyo_sync.live import ReadReport, read_live_state
from klaviyo_sync.partitions import Partitioning
from klaviyo_sync.resources import State
from tests.support.canary import CANARY_KEY
from tests.support.clients import emulator_client

START = 1_780_000_000.0  # 2026-05-28, whole second
# Universal content pages hold 20 by default and 100 when asked; the reader asks.
PAGE_SIZES = {"get_templates": 10, "get_lists": 10, "get_tags": 50, "get_tag_groups": 25, "get_all_universal_content": 100}


class SteppingClock:
    """The emulator's wall clock: each reading moves on by the next step (0 gives objects the same second)."""

    def __init__(self, steps: Iterable[float] = (1.0,)) -> None:
        self.now = START
        self._steps = itertools.cycle(list(steps) or [1.0])

    def __call__(self) -> float:
        self.now += next(self._steps)
        return self.now


def lower_bound(templates: int, lists: int, tags: int, groups: int, blocks: int = 0) -> dict[str, int]:
    """ceil(n / page size) per collection; an empty collection still takes the one request that shows it empty."""
    sizes = {
        "get_templates": templates,
        "get_lists": lists,
        "get_tags": tags,
        "get_tag_groups": groups,
        "get_all_universal_content": blocks,
    }
    return {operation_id: max(1, math.ceil(count / PAGE_SIZES[operation_id])) for operation_id, count in sizes.items()}


def templates_and_lists(templates: int, lists: int) -> dict[str, Any]:
    return {
        "templates": [
            {"name": f"Template {index:04d}", "editor_type": "CODE", "html": f"<p>{index}</p>", "text": None}
            for index in range(templates)
        ],
        "lists": [{"name": f"List {index:04d}", "opt_in_process": "double_opt_in", "tags": []} for index in range(lists)],
    }


def read(
    emulator: Emulator, partitioning: Partitioning, *, make_client: Callable[..., KlaviyoClient] | None = None
) -> tuple[State, ReadReport]:
    report = ReadReport()

    async def scenario() -> State:
        client = make_client(emulator) if make_client else emulator_client(emulator, pacing=False)
        async with client:
            return await read_live_state(client, partitioning=partitioning, report=report)

    return asyncio.run(scenario()), report


def api(emulator: Emulator) -> httpx.Client:
    """A plain synchronous client on the emulator, for changing the account while a read is under way."""
    return httpx.Client(
        transport=SyncEmulatorTransport(emulator),
        base_url="https://a.klaviyo.com",
        headers={"Authorization": f"Klaviyo-API-Key {CANARY_KEY}", "revision": REVISION, "Accept": "application/vnd.api+json"},
    )

"""Pacing against an emulator that enforces Klaviyo's real limits (at a time scale): not one 429.

The scale leaves each steady window long enough (1.8 s for 60 requests) that even a busy machine sends more than a
window allows, so the paced client must wait its turn; the spec check of every exchange runs after the test body
(`make_timed_emulator`) so it does not slow the requests down.
"""

from __future__ import annotations

import asyncio

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.errors import RateLimitError
from klaviyo_sync.live import read_live_state
from tests.client.conftest import MakeClient, MakeEmulator, seed_account
from tests.support.canary import CANARY_KEY

SCALE = 0.03  # 1 s windows in 30 ms, 60 s windows in 1.8 s


async def _busy_sync(client: KlaviyoClient) -> None:
    """Far more tag calls than one steady window allows (60 per window), many at once."""
    async with client:
        group = await client.create_tag_group("Busy", exclusive=False)
        tags = await asyncio.gather(*(client.create_tag(group, f"Tag {index}") for index in range(70)))
        await asyncio.gather(*(client.update_tag(tag, f"Renamed {index}") for index, tag in enumerate(tags)))
        await asyncio.gather(*(read_live_state(client) for _ in range(3)))


def _throttled(emulator) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for record in emulator.request_log if record.status == 429)


def test_a_paced_client_never_meets_a_429(make_timed_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_timed_emulator(rate_limits=SCALE)
    emulator.seed(CANARY_KEY, seed_account(tag_groups=4, tags=100, lists=30, templates=30))
    waits: list[tuple[str, float]] = []
    client = make_client(emulator, pacing=True, time_scale=SCALE, on_wait=lambda op, s: waits.append((op, s)))
    asyncio.run(_busy_sync(client))
    assert _throttled(emulator) == 0
    assert emulator.request_counts(CANARY_KEY)["create_tag"] == 70
    assert {op for op, _ in waits} >= {"create_tag", "update_tag"}  # it did have to wait its turn


def test_without_pacing_the_same_burst_is_throttled(make_timed_emulator: MakeEmulator, make_client: MakeClient) -> None:
    """The control for the test above: unpaced, its 70 concurrent creates go over the limits at once."""
    emulator = make_timed_emulator(rate_limits=SCALE)
    client = make_client(emulator, pacing=False, time_scale=SCALE, max_retries=0)

    async def run() -> list[str | BaseException]:
        async with client:
            group = await client.create_tag_group("Busy", exclusive=False)
            creates = (client.create_tag(group, f"Tag {index}") for index in range(70))
            return await asyncio.gather(*creates, return_exceptions=True)

    outcomes = asyncio.run(run())
    throttled = [outcome for outcome in outcomes if isinstance(outcome, RateLimitError)]
    created = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert throttled and len(throttled) + len(created) == 70
    assert emulator.throttled_counts(CANARY_KEY) == {"create_tag": len(throttled)}

"""Pacing against an emulator that enforces Klaviyo's real limits (at a time scale): not one 429."""

from __future__ import annotations

import asyncio

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.live import read_live_state
from tests.client.conftest import MakeClient, MakeEmulator, seed_account
from tests.support.canary import CANARY_KEY

SCALE = 0.01  # 1 s windows in 10 ms, 60 s windows in 0.6 s


async def _busy_sync(client: KlaviyoClient) -> None:
    """Far more tag calls than one steady window allows (60 per window), many at once."""
    async with client:
        group = await client.create_tag_group("Busy", exclusive=False)
        tags = await asyncio.gather(*(client.create_tag(group, f"Tag {index}") for index in range(70)))
        await asyncio.gather(*(client.update_tag(tag, f"Renamed {index}") for index, tag in enumerate(tags)))
        await asyncio.gather(*(read_live_state(client) for _ in range(3)))


def _throttled(emulator) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for record in emulator.request_log if record.status == 429)


def test_a_paced_client_never_meets_a_429(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(rate_limits=SCALE)
    emulator.seed(CANARY_KEY, seed_account(tag_groups=4, tags=100, lists=30, templates=30))
    waits: list[tuple[str, float]] = []
    client = make_client(emulator, pacing=True, time_scale=SCALE, on_wait=lambda op, s: waits.append((op, s)))
    asyncio.run(_busy_sync(client))
    assert _throttled(emulator) == 0
    assert emulator.request_counts(CANARY_KEY)["create_tag"] == 70
    assert {op for op, _ in waits} >= {"create_tag", "update_tag"}  # it did have to wait its turn


def test_without_pacing_the_same_work_is_throttled_and_still_completes(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    """The control for the test above: the load really exceeds the limits; retries alone then carry it."""
    emulator = make_emulator(rate_limits=SCALE)
    emulator.seed(CANARY_KEY, seed_account(tag_groups=4, tags=100, lists=30, templates=30))
    client = make_client(emulator, pacing=False, time_scale=SCALE, max_retries=50)
    asyncio.run(_busy_sync(client))
    assert _throttled(emulator) > 0
    assert sum(1 for r in emulator.request_log if r.operation_id == "create_tag" and r.status == 201) == 70

"""The pacer admits requests so that no window of any operation ever holds more than its limit."""

from __future__ import annotations

import asyncio

import pytest

from klaviyo_sync.api_spec import operation
from klaviyo_sync.client import Pacer
from klaviyo_sync.errors import RateLimitError


async def _run(pacer: Pacer, operation_id: str, count: int, concurrency: int) -> list[tuple[float, float]]:
    """Send `count` fake requests, `concurrency` at a time; (admitted, completed) times of each."""
    loop = asyncio.get_running_loop()
    spans: list[tuple[float, float]] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            await pacer.acquire(operation_id)
            admitted = loop.time()
            await asyncio.sleep(0.001)  # "in flight"
            await pacer.release(operation_id)
            spans.append((admitted, loop.time()))

    await asyncio.gather(*(one() for _ in range(count)))
    return spans


def _assert_within_limits(spans: list[tuple[float, float]], operation_id: str, time_scale: float) -> None:
    admitted = sorted(start for start, _ in spans)
    completed = sorted(end for _, end in spans)
    for limit in operation(operation_id).rate_limits:
        window = limit.seconds * time_scale
        # The (n+count)-th request may only start a full window after the n-th one completed.
        for index in range(len(admitted) - limit.count):
            assert admitted[index + limit.count] >= completed[index] + window - 1e-6, (limit, index)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_steady_and_burst_windows_are_respected(concurrency: int) -> None:
    scale = 0.005  # get_tag_groups: 3 per 5 ms, 60 per 0.3 s
    pacer = Pacer(time_scale=scale)
    spans = asyncio.run(_run(pacer, "get_tag_groups", 130, concurrency))
    assert len(spans) == 130
    _assert_within_limits(spans, "get_tag_groups", scale)


def test_waits_are_reported_per_operation() -> None:
    waits: list[tuple[str, float]] = []
    pacer = Pacer(time_scale=0.005, on_wait=lambda op, seconds: waits.append((op, seconds)))
    asyncio.run(_run(pacer, "create_tag", 10, 10))
    assert waits, "ten create_tag calls at once exceed the burst of 3 and must wait"
    assert {op for op, _ in waits} == {"create_tag"}
    assert all(seconds > 0 for _, seconds in waits)


def test_operations_are_paced_independently() -> None:
    pacer = Pacer(time_scale=1.0)  # real limits: a second create_tag burst would wait a whole second

    async def scenario() -> float:
        for _ in range(3):
            await pacer.acquire("create_tag")
            await pacer.release("create_tag")
        return pacer.wait_estimate("get_templates")

    assert asyncio.run(scenario()) == 0
    assert pacer.wait_estimate("create_tag") > 0


def test_a_spent_daily_limit_fails_instead_of_waiting_hours() -> None:
    pacer = Pacer(time_scale=1.0, max_wait=60)

    async def scenario() -> None:
        # As if 150 lists had been created a minute ago: the steady window is free again, the daily one is not.
        daily = next(window for window in pacer._bucket("create_list").windows if window.name == "daily")
        daily.completed.extend([asyncio.get_running_loop().time() - 61] * 150)
        await pacer.acquire("create_list")

    with pytest.raises(RateLimitError) as caught:
        asyncio.run(scenario())
    assert "150 per day" in str(caught.value)
    assert caught.value.operation == "create_list"


def test_a_hold_after_a_429_delays_every_request_of_that_operation() -> None:
    pacer = Pacer(time_scale=1.0)

    async def scenario() -> tuple[float, float]:
        await pacer.hold("get_tags", 30)
        return pacer.wait_estimate("get_tags"), pacer.wait_estimate("get_lists")

    held, other = asyncio.run(scenario())
    assert 29 < held <= 30
    assert other == 0

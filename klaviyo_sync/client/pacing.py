"""Client-side pacing: every operation waits its turn under the rate limits the spec gives it.

Klaviyo counts requests per account in fixed windows (a 1 s burst window, a 60 s steady window and, for some
operations, a daily one). A sliding log per window is stricter than any fixed window, so a request admitted here
cannot be the one that overflows the server's window. A slot is dated by the moment the response arrived (not the
moment the request left): the server saw the request at some point in between, so spacing completions by a full
window guarantees the server sees the spacing too, whatever the network latency. While a request is in flight its
slot is simply taken.

A bucket is an operation, or one of its query values that has limits of its own (`get_list` with
`additional-fields[list]=profile_count`: 1/s and 15/m besides get_list's 75/s); `api_spec.Operation.rate_buckets`
names the buckets of a request, and it takes a slot in each.

`time_scale` shrinks every window (0.01 turns 60 s into 0.6 s) so tests and benchmarks that run the emulator with
scaled limits pace at the same scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from klaviyo_sync.api_spec import RateLimit, bucket_limits
from klaviyo_sync.errors import RateLimitError

WaitCallback = Callable[[str, float], None]


@dataclass
class _Window:
    name: str  # burst, steady or daily
    count: int
    seconds: float
    completed: deque[float] = field(default_factory=deque)  # completion times of recent requests, oldest first

    def expire(self, now: float) -> None:
        while self.completed and self.completed[0] + self.seconds <= now:
            self.completed.popleft()


class _Bucket:
    """All windows of one operation, plus how many of its requests are in flight."""

    def __init__(self, limits: tuple[RateLimit, ...], time_scale: float) -> None:
        self.windows = [_Window(limit.name, limit.count, limit.seconds * time_scale) for limit in limits]
        self.in_flight = 0
        self.blocked_until = 0.0  # set when the server said "wait" (a 429)
        self.changed = asyncio.Condition()

    def wait_needed(self, now: float) -> float | None:
        """0 when a slot is free now; else seconds until one may be; None when only an in-flight request can free one."""
        wait = max(0.0, self.blocked_until - now)
        needs_release = False
        for window in self.windows:
            window.expire(now)
            excess = len(window.completed) + self.in_flight - window.count  # slots over the limit, minus one
            if excess < 0:
                continue
            if excess >= len(window.completed):
                needs_release = True  # every countable slot is in flight
                continue
            # The oldest completions must age out until the rest plus those in flight leave a slot free.
            wait = max(wait, window.completed[excess] + window.seconds - now)
        if needs_release and wait == 0:
            return None
        return wait


class Pacer:
    """Token buckets per operation (and per query value with limits of its own), built lazily from `api_spec`."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        on_wait: WaitCallback | None = None,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self.on_wait = on_wait
        self.max_wait = max_wait  # a longer wait (a spent daily limit) fails instead of stalling a run for hours
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, operation_id: str) -> _Bucket:
        bucket = self._buckets.get(operation_id)
        if bucket is None:
            bucket = self._buckets[operation_id] = _Bucket(bucket_limits(operation_id), self.time_scale)
        return bucket

    def wait_estimate(self, operation_id: str) -> float:
        """How long a new request of this operation would wait right now (0 if none)."""
        return self._bucket(operation_id).wait_needed(self._clock()) or 0.0

    async def acquire(self, operation_id: str) -> None:
        """Wait until a request of this operation may be sent, then take its slot; pair with `release`."""
        bucket = self._bucket(operation_id)
        async with bucket.changed:
            reported = False
            while True:
                wait = bucket.wait_needed(self._clock())
                if wait == 0:
                    bucket.in_flight += 1
                    return
                if wait is not None and wait > self.max_wait:
                    raise _limit_spent(operation_id, wait)
                if not reported and self.on_wait is not None and wait is not None:
                    self.on_wait(operation_id, wait)
                    reported = True
                with contextlib.suppress(TimeoutError):  # a window aged out: look again
                    await asyncio.wait_for(bucket.changed.wait(), timeout=wait)

    async def release(self, operation_id: str) -> None:
        """The request's response (or failure) arrived: its slot now counts from this moment."""
        bucket = self._bucket(operation_id)
        async with bucket.changed:
            bucket.in_flight -= 1
            now = self._clock()
            for window in bucket.windows:
                window.completed.append(now)
            bucket.changed.notify_all()

    async def hold(self, operation_id: str, seconds: float) -> None:
        """The server throttled this operation: no request of it leaves for `seconds`."""
        bucket = self._bucket(operation_id)
        async with bucket.changed:
            bucket.blocked_until = max(bucket.blocked_until, self._clock() + seconds)


def _limit_spent(operation_id: str, wait: float) -> RateLimitError:
    limits = ", ".join(f"{limit.count} per {_period(limit.seconds)}" for limit in bucket_limits(operation_id))
    return RateLimitError(
        f"{operation_id}: Klaviyo's rate limit ({limits}) would hold this request for {wait:.0f} s",
        operation=operation_id,
        status=429,
        hint="the limit is shared by every key of the account; run again later, or split the change over several days",
    )


def _period(seconds: int) -> str:
    return {1: "second", 60: "minute", 86400: "day"}.get(seconds, f"{seconds} s")

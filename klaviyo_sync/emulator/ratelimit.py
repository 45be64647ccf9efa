"""Klaviyo's rate limits: fixed windows per account per operation, with a time scale.

Each operation's windows come from the spec's `x-klaviyo-ratelimit` (burst: 1 s, steady: 60 s, daily for
`create_list`). `scale` shrinks every window: 0.01 runs a 60 s window in 0.6 s, so tests and benchmarks see the
same limits in a hundredth of the time. A throttled request is not counted against the windows.

Retry-After: Klaviyo sends whole seconds. With a scale the real wait is often a fraction of a second, so the
`Retry-After` header stays an integer (the wait rounded up, at least 1) and the detail text carries the exact
wait, "Expected available in 0.35 seconds." (Klaviyo's legacy API printed decimals too; clients that parse the
detail get the precise figure, clients that read the header wait at most one extra second).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from klaviyo_sync.api_spec import bucket_limits, operation


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_seconds: float  # real (scaled) seconds until the blocking window resets; 0 when allowed
    headers: dict[str, str]


class RateLimiter:
    def __init__(self, scale: float, clock: Callable[[], float] | None = None) -> None:
        if scale <= 0:
            raise ValueError("the rate-limit time scale must be positive")
        self.scale = scale
        self.clock = clock or time.monotonic
        self._origin = self.clock()
        # (account, bucket, window name) -> (window index, count)
        self._windows: dict[tuple[str, str, str], tuple[int, int]] = {}

    def check(self, account: str, operation_id: str, extra_buckets: tuple[str, ...] = ()) -> Verdict:
        """Count one request if every bucket it touches has room; else say how long to wait. `extra_buckets`: the
        stricter buckets of query values with limits of their own (`Operation.rate_buckets`)."""
        now = self.clock() - self._origin
        buckets = [(operation_id, operation(operation_id).rate_limits)]
        buckets += [(name, bucket_limits(name)) for name in extra_buckets]
        wait = 0.0
        slots: list[tuple[tuple[str, str, str], int, int]] = []
        for bucket, limits in buckets:
            for limit in limits:
                length = limit.seconds * self.scale
                index = math.floor(now / length)
                key = (account, bucket, limit.name)
                seen_index, count = self._windows.get(key, (index, 0))
                if seen_index != index:
                    count = 0
                if count >= limit.count:
                    wait = max(wait, (index + 1) * length - now)
                slots.append((key, index, count))
        if wait > 0:
            return Verdict(False, wait, {})
        for key, index, count in slots:
            self._windows[key] = (index, count + 1)
        return Verdict(True, 0.0, self._headers(account, operation_id, now))

    def _headers(self, account: str, operation_id: str, now: float) -> dict[str, str]:
        """RateLimit-* headers describing the steady window, as Klaviyo sends them (Reset in scaled seconds)."""
        limits = {limit.name: limit for limit in operation(operation_id).rate_limits}
        steady, burst = limits["steady"], limits["burst"]
        length = steady.seconds * self.scale
        index = math.floor(now / length)
        seen_index, count = self._windows.get((account, operation_id, "steady"), (index, 0))
        used = count if seen_index == index else 0
        return {
            "RateLimit-Limit": f"{steady.count}, {burst.count};w={burst.seconds}, {steady.count};w={steady.seconds}",
            "RateLimit-Remaining": str(max(0, steady.count - used)),
            "RateLimit-Reset": str(max(0, math.ceil((index + 1) * length - now))),
        }


def retry_after_header(wait_seconds: float) -> str:
    return str(max(1, math.ceil(wait_seconds)))


def throttled_detail(wait_seconds: float, scaled: bool) -> str:
    if scaled:
        amount = f"{math.ceil(wait_seconds * 1000) / 1000:g}"
        unit = "second" if amount == "1" else "seconds"
    else:
        whole = max(0, math.ceil(wait_seconds))
        amount, unit = str(whole), "second" if whole == 1 else "seconds"
    return f"Request was throttled. Expected available in {amount} {unit}."

"""The time the benchmark's accounts are stamped with: Klaviyo's, as if every request had run at the real rate.

An apply at `--apply-scale 0.1` runs ten times faster than Klaviyo's windows allow, so an emulator stamping
`created` with the wall clock would crowd ten real seconds' worth of objects into each second (the large account:
1,000 templates within 10 s, up to 266 in one second, where Klaviyo's own limits allow 75 and about 12 a second
sustained). `created` is what a plan's partitioned walks split on, so such an account is one no real account can
be. While an emulator at scale s serves, this clock runs 1/s as fast as the wall clock: the account's timestamps are
those the same requests would have had at Klaviyo's rates. Between emulators it runs at the wall clock's pace, and
it never goes back, so `updated` keeps its order across the benchmark's steps.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class AccountClock:
    """Epoch seconds; call it. `at_scale(s)` makes it run 1/s as fast as the wall clock inside the block."""

    def __init__(self, wall: float | None = None) -> None:
        self._lock = threading.Lock()
        self._origin = time.time() if wall is None else wall  # account time at `_since`
        self._since = time.monotonic()
        self._rate = 1.0

    def __call__(self) -> float:
        with self._lock:
            return self._origin + (time.monotonic() - self._since) * self._rate

    @contextlib.contextmanager
    def at_scale(self, scale: float) -> Iterator[AccountClock]:
        self._set_rate(1 / scale)
        try:
            yield self
        finally:
            self._set_rate(1.0)

    def _set_rate(self, rate: float) -> None:
        with self._lock:
            now = time.monotonic()
            self._origin += (now - self._since) * self._rate
            self._since, self._rate = now, rate

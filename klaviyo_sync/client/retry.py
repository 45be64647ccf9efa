"""When a failed request may be sent again, and how long to wait first.

- 429: always retried (Klaviyo did not process the request), waiting `Retry-After`, else the "Expected available
  in N second(s)" of the error detail, else an exponential backoff with jitter.
- 5xx, timeouts and dropped connections: retried for reads and idempotent writes (PATCH, DELETE, the list↔tag
  relationship calls). A create that may have reached Klaviyo is never sent again blindly: the caller gets an
  ambiguous `TransportError` and looks the object up by name instead.
- A connection that never opened carried nothing, so even a create is safe to retry then.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import httpx

from klaviyo_sync.api_spec import Operation

# POSTs that create nothing: sending them twice has the same effect as once.
IDEMPOTENT_POSTS = frozenset({"tag_lists", "render_template"})
# Server answers worth another try (Cloudflare's 52x included); 501/505 will not get better.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})
# Failures that happen before any byte of the request left: nothing can have been committed.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_EXPECTED_AVAILABLE = re.compile(r"Expected available in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


def is_idempotent(op: Operation) -> bool:
    return op.method in ("GET", "PATCH", "DELETE") or op.operation_id in IDEMPOTENT_POSTS


@dataclass
class RetryPolicy:
    max_retries: int = 8
    backoff_base: float = 0.5  # seconds before the first retry, doubled each time
    backoff_cap: float = 30.0
    time_scale: float = 1.0  # shrinks the backoff with the emulator's scaled limits
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (0-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2**attempt)
        return ceiling * self.rng.uniform(0.5, 1.0) * self.time_scale

    def throttle_wait(self, response: httpx.Response, attempt: int) -> float:
        """How long a 429 asks us to wait."""
        hinted = retry_after_seconds(response)
        if hinted is None or hinted <= 0:
            return self.backoff(attempt)
        # A little jitter so concurrent requests held by the same 429 do not return in lockstep.
        return hinted + self.rng.uniform(0, 0.1) * self.time_scale


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` (integer seconds), else the wait stated in the error detail, else None.

    `Retry-After` is a whole number rounded up; when the detail states the wait more precisely and agrees with the
    header to within that rounding, the precise figure wins (no reason to idle up to a second longer).
    """
    header = _header_seconds(response.headers.get("retry-after"))
    detail = _detail_seconds(response)
    if header is None:
        return detail
    if detail is not None and header - 1 <= detail <= header:
        return detail
    return header


def _header_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date or garbage: fall back to the body


def _detail_seconds(response: httpx.Response) -> float | None:
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors if isinstance(errors, list) else []:
        detail = error.get("detail") if isinstance(error, dict) else None
        match = _EXPECTED_AVAILABLE.search(detail) if isinstance(detail, str) else None
        if match:
            return float(match.group(1))
    return None

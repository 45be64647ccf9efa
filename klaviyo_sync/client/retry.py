"""When a failed request may be sent again, and how long to wait first.

- 429: always retried (Klaviyo did not process the request), waiting `Retry-After`, else the "Expected available
  in N second(s)" of the error detail, else an exponential backoff with jitter.
- 5xx, timeouts and dropped connections: retried for reads and idempotent writes (PATCH, DELETE, the list↔tag
  relationship calls; not a flow action's PATCH, which snapshots a new copy each time), after an exponential
  backoff with jitter; a 503 that carries `Retry-After` (Klaviyo's, or a proxy's or CDN's in front of it) waits
  what it says instead, capped at the client's maximum wait. A create that
  may have reached Klaviyo is never sent again blindly: the caller gets an ambiguous `TransportError` and looks the
  object up by name instead.
- A connection that never opened carried nothing, so even a create is safe to retry then; but not when trying
  again cannot help (`hopeless_connect`): nothing listens at the address, the host name does not exist, or the TLS
  handshake failed (an untrusted certificate fails the same way every time). Those fail at once, with their cause.
"""

from __future__ import annotations

import enum
import math
import random
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from klaviyo_sync.api_spec import Operation

# POSTs that create nothing: sending them twice has the same effect as once.
IDEMPOTENT_POSTS = frozenset({"tag_lists", "render_template"})
# Server answers worth another try (Cloudflare's 52x included); 501/505 will not get better.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})
# Failures that happen before any byte of the request left: nothing can have been committed.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_EXPECTED_AVAILABLE = re.compile(r"Expected available in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
# RFC 9110 delta-seconds is 1*DIGIT; a decimal fraction is tolerated (scaled emulator windows send them).
_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")


# PATCHes that are not: pointing a flow email at a library template snapshots a new copy every time.
NON_IDEMPOTENT_PATCHES = frozenset({"update_flow_action"})


class Hopeless(enum.Enum):
    """Why a connection failed in a way that will fail again, however often it is retried."""

    REFUSED = "refused"  # nothing listens at the address
    UNKNOWN_HOST = "unknown_host"  # the host name does not resolve (not a temporary DNS failure)
    CERTIFICATE = "certificate"  # the server's TLS certificate is not trusted
    TLS = "tls"  # any other TLS handshake failure (e.g. https:// to a plain-http server)


# getaddrinfo's "no such name" answers; EAI_AGAIN (a temporary failure) is retried.
_NO_SUCH_HOST = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name))
_CAUSE_DEPTH = 8


def hopeless_connect(failure: BaseException) -> tuple[Hopeless, str] | None:
    """Why a failed connection cannot succeed on a retry, with the cause's own words; None when a retry may help.

    httpx wraps the operating system's error (ConnectionRefusedError, socket.gaierror, ssl.SSLError) in its own
    ConnectError, so the chain of causes is searched.
    """
    if not isinstance(failure, httpx.ConnectError):
        return None
    cause: BaseException | None = failure
    for _ in range(_CAUSE_DEPTH):
        if cause is None:
            return None
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Hopeless.CERTIFICATE, cause.verify_message or cause.reason or str(cause)
        if isinstance(cause, ssl.SSLError):
            return Hopeless.TLS, cause.reason or str(cause)
        if isinstance(cause, ConnectionRefusedError):
            return Hopeless.REFUSED, "connection refused"
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_HOST:
            return Hopeless.UNKNOWN_HOST, cause.strerror or str(cause)
        cause = cause.__cause__ or cause.__context__
    return None


def is_idempotent(op: Operation) -> bool:
    if op.operation_id in NON_IDEMPOTENT_PATCHES:
        return False
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
        return hinted + self._jitter()

    def unavailable_wait(self, response: httpx.Response, attempt: int, max_wait: float) -> ServerWait:
        """How long to wait before retrying a retryable 5xx (the caller has checked that a retry is allowed).

        A 503 with a usable `Retry-After` waits what it says, at most `max_wait`, so a hostile or mistaken header
        cannot hold a run for hours. Anything else (another status, no header, garbage, a wait of zero or a date
        already past) backs off as usual: retrying an unavailable server at once only adds to its load.
        """
        asked = retry_after_header(response) if response.status_code == 503 else None
        if asked is None or asked <= 0:
            return ServerWait(self.backoff(attempt))
        if asked > max_wait:
            return ServerWait(max_wait, asked=asked, capped=True)
        return ServerWait(asked + self._jitter(), asked=asked)

    def _jitter(self) -> float:
        # A little jitter so concurrent requests held by the same answer do not return in lockstep.
        return self.rng.uniform(0, 0.1) * self.time_scale


@dataclass(frozen=True)
class ServerWait:
    seconds: float
    asked: float | None = None  # what the server's Retry-After asked for, when it was honoured
    capped: bool = False  # `asked` was more than the client's maximum wait; `seconds` is that maximum


def retry_after_seconds(response: httpx.Response) -> float | None:
    """What a 429 asks: `Retry-After` (seconds or a date), else the wait stated in the error detail, else None.

    `Retry-After` is a whole number rounded up; when the detail states the wait more precisely and agrees with the
    header to within that rounding, the precise figure wins (no reason to idle up to a second longer). A header
    that asks for no wait at all (0, or a date already past) yields to a detail that states one.
    """
    header = retry_after_header(response)
    detail = _detail_seconds(response)
    if header is None or (header <= 0 and detail is not None):
        return detail
    if detail is not None and header - 1 <= detail <= header:
        return detail
    return header


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds the `Retry-After` header asks for: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None if absent
    or unreadable. A date is measured from the answer's own `Date` header when it has one, so a skewed local clock
    does not stretch or cut the wait; a date in the past asks for 0. May be infinite: callers cap it.
    """
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    asked_for = _http_date(value)
    if asked_for is None:
        return None
    sent_at = _http_date(response.headers.get("date", ""))
    now = sent_at.timestamp() if sent_at is not None else time.time()
    return max(0.0, asked_for.timestamp() - now)


def _http_date(value: str) -> datetime | None:
    """IMF-fixdate, or the obsolete RFC 850 and asctime forms (both GMT by definition)."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed if math.isfinite(parsed.timestamp()) else None


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

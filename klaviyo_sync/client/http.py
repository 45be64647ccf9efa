"""The HTTP layer: one `httpx.AsyncClient` with Klaviyo's headers, paced, retried, logged without the key.

`request` sends one operation of the spec (looked up by operationId in `api_spec`) and returns the JSON:API
document, or None for a 204. `paginate` walks a collection by following `links.next` verbatim. The transport is
swappable, so the emulator can be mounted in process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

import httpx

from klaviyo_sync import __version__
from klaviyo_sync.api_spec import BASE_URL as DEFAULT_BASE_URL
from klaviyo_sync.api_spec import REVISION, Operation, operation
from klaviyo_sync.client.errors import error_from_response, scopes_needed
from klaviyo_sync.client.pacing import Pacer, WaitCallback
from klaviyo_sync.client.redact import MASK, Redactor, logger
from klaviyo_sync.client.retry import (
    NOT_SENT_ERRORS,
    RETRYABLE_STATUSES,
    Hopeless,
    RetryPolicy,
    hopeless_connect,
    is_idempotent,
)
from klaviyo_sync.errors import AmbiguousServerError, ApiError, ConfigError, RateLimitError, ServerError, TransportError

MEDIA_TYPE = "application/vnd.api+json"
USER_AGENT = f"klaviyo-sync/{__version__}"


class KlaviyoHttp:
    """Connection, pacing, retries and errors. Use as `async with`; `KlaviyoClient` adds the typed calls."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 8,
        pacing: bool | Pacer = True,
        on_wait: WaitCallback | None = None,
        time_scale: float = 1.0,
        max_wait: float = 900.0,
    ) -> None:
        _check_key(api_key)
        self.base_url = check_base_url(base_url)
        self._redactor = Redactor(api_key)
        self.on_wait = on_wait
        self.max_wait = max_wait
        self.retry = RetryPolicy(max_retries=max_retries, time_scale=time_scale)
        if isinstance(pacing, Pacer):
            self.pacer: Pacer | None = pacing
        else:
            self.pacer = Pacer(time_scale=time_scale, on_wait=on_wait, max_wait=max_wait) if pacing else None
        self.request_counts: Counter[str] = Counter()  # requests sent per operation, retries included
        self._http = httpx.AsyncClient(
            base_url=str(self.base_url),
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # a redirect could carry the key elsewhere
            headers={
                "Authorization": f"Klaviyo-API-Key {api_key}",
                "revision": REVISION,
                "Accept": MEDIA_TYPE,
                "User-Agent": USER_AGENT,
            },
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self.base_url)!r}, api_key={MASK})"

    __str__ = __repr__

    async def __aenter__(self) -> KlaviyoHttp:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        operation_id: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any] | None:
        """Send one operation; the response document, or None when Klaviyo answers 204."""
        op = operation(operation_id)
        return await self._send(op, _path(op, path_params), query=encode_params(params), body=json)

    async def paginate(
        self,
        operation_id: str,
        params: Mapping[str, Any] | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page document of a collection: the first with `params`, the rest from `links.next` as given."""
        op = operation(operation_id)
        url: str = _path(op, path_params)
        query: dict[str, str] | None = encode_params(params)
        seen: set[str] = set()
        while True:
            page = await self._send(op, url, query=query)
            if page is None:
                return
            yield page
            links = page.get("links")
            next_link = links.get("next") if isinstance(links, dict) else None
            if not next_link:
                return
            if not isinstance(next_link, str) or next_link in seen:
                raise ServerError(
                    f"{operation_id}: Klaviyo returned a pagination link that loops or is not a URL",
                    operation=operation_id,
                    hint="run the command again; if it persists, report it with the output of -v",
                )
            seen.add(next_link)
            url, query = self._follow(next_link), None

    def _follow(self, link: str) -> str:
        """`links.next` verbatim, but never to another origin: the key goes only where base_url points."""
        target = httpx.URL(link)
        if (target.scheme, target.host, target.port) == (self.base_url.scheme, self.base_url.host, self.base_url.port):
            return link
        logger.debug("links.next points to %s; following its path on %s", target.host, self.base_url.host)
        return str(self.base_url.copy_with(raw_path=target.raw_path))

    async def _send(self, op: Operation, url: str, *, query: dict[str, str] | None, body: Any = None) -> dict[str, Any] | None:
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": MEDIA_TYPE} if content is not None else None
        idempotent = is_idempotent(op)
        failed_before = False  # an earlier attempt may have been applied (for the DELETE → 404 rule)
        patience = self.max_wait  # what 503 Retry-After headers may still make this request wait, in all
        attempt = 0
        while True:
            response = await self._attempt(op, url, query, content, headers, idempotent, attempt)
            if response is None:  # a transport failure that may be retried
                failed_before = True
                attempt += 1
                continue
            status = response.status_code
            if status == 429:
                if attempt >= self.retry.max_retries:
                    raise self._error(op, response, query, attempt)
                await self._throttled(op, response, attempt, _buckets(op, url, query))
                attempt += 1
                continue
            if status in RETRYABLE_STATUSES:
                if not idempotent:
                    raise _ambiguous(op, self._error(op, response, query, attempt).message, status=status)
                if attempt < self.retry.max_retries:
                    patience -= await self._unavailable(op, response, attempt, patience, query)
                    failed_before = True
                    attempt += 1
                    continue
            if status == 404 and op.method == "DELETE" and failed_before:
                logger.info("%s: already gone after a retried DELETE; treating it as done", op.operation_id)
                return None
            if not 200 <= status < 300:  # 4xx, 5xx after retries, and redirects (never followed)
                raise self._error(op, response, query, attempt)
            return _document(op, response, self._redactor)

    async def _attempt(
        self,
        op: Operation,
        url: str,
        query: dict[str, str] | None,
        content: bytes | None,
        headers: dict[str, str] | None,
        idempotent: bool,
        attempt: int,
    ) -> httpx.Response | None:
        """One request under pacing. None means it failed in transit and may be sent again."""
        buckets = _buckets(op, url, query)
        if self.pacer is not None:
            for bucket in buckets:  # strictest first: no slot of a roomier bucket is held while waiting
                await self.pacer.acquire(bucket)
        self.request_counts[op.operation_id] += 1
        started = time.monotonic()
        failure: httpx.RequestError | None = None
        try:
            response = await self._http.request(op.method, url, params=query, content=content, headers=headers)
        except httpx.RequestError as exc:  # transport failures, and answers that cannot be decoded (bad gzip)
            failure = exc
        finally:
            if self.pacer is not None:
                for bucket in buckets:
                    await self.pacer.release(bucket)
        if failure is not None:
            await self._transport_failed(op, url, query, failure, started, idempotent, attempt)
            return None
        elapsed = (time.monotonic() - started) * 1000
        logger.info("%s %s %d (%.0f ms)", op.method, _shown(url, query), response.status_code, elapsed)
        return response

    async def _transport_failed(
        self,
        op: Operation,
        url: str,
        query: dict[str, str] | None,
        failure: httpx.RequestError,
        started: float,
        idempotent: bool,
        attempt: int,
    ) -> None:
        """Raise, or wait before the request is sent again."""
        elapsed = (time.monotonic() - started) * 1000
        reason = self._redactor.scrub(f"{type(failure).__name__}: {failure}".rstrip(": "))
        logger.info("%s %s failed after %.0f ms: %s", op.method, _shown(url, query), elapsed, reason)
        hopeless = hopeless_connect(failure)
        if hopeless is not None:  # nothing was sent, and sending it again would fail the same way
            raise self._cannot_connect(op, *hopeless) from None
        if not (idempotent or isinstance(failure, NOT_SENT_ERRORS)):
            raise _ambiguous(op, reason) from None
        if attempt >= self.retry.max_retries:
            raise TransportError(
                f"{op.operation_id}: no usable answer from {self.base_url.host} after {attempt + 1} attempts ({reason})",
                operation=op.operation_id,
                ambiguous=False,
                hint="check the network and --base-url, then run the command again",
            ) from None
        await self._back_off(op, reason, attempt)

    async def _throttled(self, op: Operation, response: httpx.Response, attempt: int, buckets: tuple[str, ...]) -> None:
        wait = self.retry.throttle_wait(response, attempt)
        if wait > self.max_wait:
            raise RateLimitError(
                f"{op.operation_id}: Klaviyo's rate limit holds this request for {wait:.0f} s",
                operation=op.operation_id,
                status=429,
                hint="a daily limit is probably spent (create_list allows 150 a day): run again later",
            )
        if self.pacer is not None:
            for bucket in buckets:  # the answer does not say which bucket was full
                await self.pacer.hold(bucket, wait)
        # Shown without -v too: a run that waits should say why (the key is never in these lines).
        logger.warning("%s throttled (429); waiting %.2f s before retry %d", op.operation_id, wait, attempt + 1)
        if self.on_wait is not None:
            self.on_wait(op.operation_id, wait)
        await asyncio.sleep(wait)

    async def _back_off(self, op: Operation, reason: str, attempt: int) -> None:
        wait = self.retry.backoff(attempt)
        logger.warning("%s: %s; retry %d in %.2f s", op.operation_id, reason, attempt + 1, wait)
        await asyncio.sleep(wait)

    async def _unavailable(
        self, op: Operation, response: httpx.Response, attempt: int, patience: float, query: dict[str, str] | None
    ) -> float:
        """Wait before retrying a retryable 5xx; returns the seconds a Retry-After took from the request's patience."""
        status = response.status_code
        wait = self.retry.unavailable_wait(response, attempt, max(0.0, patience))
        if wait.asked is None:
            logger.warning("%s: HTTP %d; retry %d in %.2f s", op.operation_id, status, attempt + 1, wait.seconds)
        elif not wait.capped:
            logger.warning(
                "%s: HTTP %d with Retry-After %g s; retry %d in %.2f s",
                op.operation_id,
                status,
                wait.asked,
                attempt + 1,
                wait.seconds,
            )
        elif wait.seconds <= 0:
            logger.warning(
                "%s: HTTP %d with Retry-After %g s, but this request already waited the %g s the client allows; giving up",
                op.operation_id,
                status,
                wait.asked,
                self.max_wait,
            )
            raise self._error(op, response, query, attempt)
        else:
            logger.warning(
                "%s: HTTP %d with Retry-After %g s, more than the client waits (%g s per request); retry %d in %.2f s",
                op.operation_id,
                status,
                wait.asked,
                self.max_wait,
                attempt + 1,
                wait.seconds,
            )
        await asyncio.sleep(wait.seconds)
        return wait.seconds if wait.asked is not None else 0.0

    def _cannot_connect(self, op: Operation, why: Hopeless, detail: str) -> TransportError:
        """One line of cause and a hint, for a connection that a retry cannot open."""
        where = f"{self.base_url.scheme}://{self.base_url.netloc.decode('ascii')}"
        setting = "--base-url / KLAVIYO_BASE_URL"
        causes = {
            Hopeless.REFUSED: (
                "connection refused: nothing is listening there",
                f"check {setting}; for a local emulator, start `klaviyo-sync emulator` first or pass --emulator",
            ),
            Hopeless.UNKNOWN_HOST: (
                f"the host name {self.base_url.host} does not resolve ({detail})",
                f"check the host in {setting} (Klaviyo's API is {DEFAULT_BASE_URL}) and this machine's DNS",
            ),
            Hopeless.CERTIFICATE: (
                f"its TLS certificate is not trusted ({detail})",
                "if a proxy or firewall intercepts TLS, point SSL_CERT_FILE at a CA bundle that holds its certificate; "
                f"otherwise check {setting}",
            ),
            Hopeless.TLS: (
                f"the TLS handshake failed ({detail})",
                f"check that {setting} is the https:// address of an HTTPS server",
            ),
        }
        cause, hint = causes[why]
        return TransportError(
            f"cannot connect to {where}: {self._redactor.scrub(cause)}", operation=op.operation_id, ambiguous=False, hint=hint
        )

    def _error(self, op: Operation, response: httpx.Response, query: dict[str, str] | None, attempt: int) -> ApiError:
        scopes = scopes_needed(op.operation_id, query)
        return error_from_response(op.operation_id, response, self._redactor, scopes=scopes, retries=attempt)


def check_base_url(base_url: str) -> httpx.URL:
    """The base URL, refusing any that would send the key in clear text off this machine."""
    try:
        url = httpx.URL(base_url.rstrip("/"))
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"invalid base URL {base_url!r}: {exc}", hint="use e.g. https://a.klaviyo.com") from None
    if url.userinfo:
        raise ConfigError(
            "the base URL must not carry a user name or password",
            hint="give only scheme, host and port, e.g. https://a.klaviyo.com; the key goes in KLAVIYO_API_KEY",
        )
    if url.path.rstrip("/").endswith("/api"):
        raise ConfigError(
            f"the base URL {base_url} ends in /api, but klaviyo-sync adds /api/... to it (requests would go to /api/api/...)",
            hint=f"drop the /api: give only scheme, host and port, e.g. {DEFAULT_BASE_URL}",
        )
    if url.scheme == "https" and url.host:
        return url
    if url.scheme == "http" and url.host:
        if is_loopback(url.host):
            return url
        raise ConfigError(
            f"refusing to send the API key over plain http to {url.host}",
            hint="use an https:// base URL; plain http is allowed only to this machine (127.0.0.1, ::1, localhost)",
        )
    raise ConfigError(
        f"invalid base URL {base_url!r}: it needs an https:// scheme and a host",
        hint="use e.g. https://a.klaviyo.com, or http://127.0.0.1:PORT for a local emulator",
    )


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Query parameters with literal bracket keys; arrays comma-joined (the spec's `explode: false`)."""
    if not params:
        return None
    encoded: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            encoded[name] = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            encoded[name] = "true" if value else "false"
        else:
            encoded[name] = str(value)
    return encoded


def _check_key(api_key: str) -> None:
    if not api_key or not api_key.strip():
        raise ConfigError("the API key is empty", hint="set KLAVIYO_API_KEY or pass --api-key-file")
    if any(ch.isspace() or not ch.isprintable() or not ch.isascii() for ch in api_key):
        raise ConfigError(
            "the API key contains spaces or characters that cannot be sent in a header",
            hint="copy the private key again, without quotes or line breaks",
        )


def is_loopback(host: str) -> bool:
    """Whether a host name or address (IPv6 with or without brackets) is this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _path(op: Operation, path_params: Mapping[str, str] | None) -> str:
    values = {name: quote(str(value), safe="") for name, value in (path_params or {}).items()}
    try:
        return op.path.format(**values)
    except KeyError as exc:
        raise ValueError(f"{op.operation_id} needs the path parameter {exc}") from None


def _buckets(op: Operation, url: str, query: dict[str, str] | None) -> tuple[str, ...]:
    """The rate-limit buckets of a request; a followed `links.next` carries its query in the URL."""
    if query is None and "?" in url:
        return op.rate_buckets(dict(httpx.URL(url).params))
    return op.rate_buckets(query)


def _shown(url: str, query: dict[str, str] | None) -> str:
    """The request as a log shows it: path and query, brackets readable. It never holds the key."""
    target = httpx.URL(url)
    encoded = str(httpx.QueryParams(query)) if query else target.query.decode("ascii", "replace")
    return f"{unquote(target.path)}?{unquote_plus(encoded)}" if encoded else unquote(target.path)


def _document(op: Operation, response: httpx.Response, redactor: Redactor) -> dict[str, Any] | None:
    if response.status_code == 204 or not response.content:
        return None
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        snippet = redactor.scrub(response.text[:200])
        raise ServerError(
            f"{op.operation_id}: HTTP {response.status_code} but the body is not a JSON:API document: {snippet!r}",
            operation=op.operation_id,
            status=response.status_code,
            hint="something other than the Klaviyo API may be answering: check --base-url / KLAVIYO_BASE_URL",
        )
    return document


def _ambiguous(op: Operation, reason: str, *, status: int | None = None) -> TransportError:
    """A create that may or may not have happened: never retried here; the caller looks it up by name.

    `status`: the 5xx Klaviyo answered, when it answered at all.
    """
    message = f"{op.operation_id}: the request may or may not have been applied ({reason})"
    hint = "run `klaviyo-sync plan` to see whether the object exists now; apply again finishes the work"
    if status is not None:
        return AmbiguousServerError(message, operation=op.operation_id, status=status, hint=hint)
    return TransportError(message, operation=op.operation_id, ambiguous=True, hint=hint)

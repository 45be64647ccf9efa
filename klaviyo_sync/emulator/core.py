"""The emulator: one object holding the store, rate limiter, fault injector and request log.

`Emulator.process` is the whole request pipeline, independent of any server: URL length (414), control routes,
routing (404/405), authentication (401), revision (400), key scopes (403), rate limits (429), injected faults,
content type (415), size (413), query and body checks (400), then the operation itself, its document,
persistence and the request log. A request the `late` fault holds is processed (and logged) only when it
commits: `handle_async` holds it, or, for an in-process transport or when a 5xx was answered at once, a timer
thread commits it in the background. The ASGI app (`app.py`) and the in-process httpx transports (`transport.py`)
are two thin ways in, each built by its caller around an emulator (`EmulatorApp(emu)`, `EmulatorTransport(emu)`),
as httpx builds `WSGITransport(app)`; this module knows neither.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from klaviyo_sync.api_spec import REVISION, operation
from klaviyo_sync.emulator import routing
from klaviyo_sync.emulator.context import Context
from klaviyo_sync.emulator.control import handle_control, is_control
from klaviyo_sync.emulator.documents import Links, error_document
from klaviyo_sync.emulator.errors import EmulatorError, invalid
from klaviyo_sync.emulator.faults import FaultInjector, FaultRule, parse_fault_spec
from klaviyo_sync.emulator.flowstore import FlowOptions
from klaviyo_sync.emulator.messages import (
    JSON_API,
    KEY_PREFIX,
    MAX_BODY_BYTES,
    EmuRequest,
    EmuResponse,
    LateCommit,
    RequestRecord,
    parse_json_body,
)
from klaviyo_sync.emulator.persistence import load_state, save_state
from klaviyo_sync.emulator.query import parse_query
from klaviyo_sync.emulator.ratelimit import RateLimiter, retry_after_header, throttled_detail
from klaviyo_sync.emulator.resources import HANDLERS, SEEDERS
from klaviyo_sync.emulator.scopes import KeyScopes
from klaviyo_sync.emulator.store import Store, account_id

# [UNKNOWN] Klaviyo publishes no URL length limit; 16 KB is a common front-end default. A longer request target
# is answered 414, as HTTP prescribes, rather than dropped. Configurable as EmulatorConfig.max_url_bytes.
MAX_URL_BYTES = 16 * 1024
ACCEPTED_CONTENT_TYPES = (JSON_API, "application/json")
CDN_400_PAGE = (
    b"<html><head><title>400 Bad Request</title></head><body><center><h1>400 Bad Request</h1></center>"
    b"<hr><center>cloudflare</center></body></html>"
)


@dataclass
class EmulatorConfig:
    """How the emulator behaves. `rate_limits`: None = off, 1.0 = real windows, 0.01 = windows 100x shorter.

    With rate limits off, create_list's 150 a day still holds, counted per real UTC day of `clock`.
    """

    rate_limits: float | None = None
    latency_ms: float = 0
    faults: str | list[FaultRule] | None = None  # see klaviyo_sync.emulator.faults for the spec syntax
    quirks: bool = False
    state_file: Path | str | None = None
    seed: int = 0
    clock: Callable[[], float] | None = None  # wall clock (epoch seconds) for created/updated
    monotonic: Callable[[], float] | None = None  # clock of the rate-limit windows
    # key -> the only scopes it holds ("templates:read", ...); keys not named here have full access
    key_scopes: Mapping[str, Iterable[str]] | None = None
    max_url_bytes: int = MAX_URL_BYTES  # path plus query; longer ones get 414
    flows: FlowOptions = field(default_factory=FlowOptions)  # switches for the unknowns of flow writes
    # The `screenshot_status` of a new universal content block (one of the spec's six values).
    screenshot_status: str = "never_generated"


Observer = Callable[[EmuRequest, EmuResponse], None]


class Emulator:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.store = Store(seed=self.config.seed, clock=self.config.clock)
        self.store.screenshot_status = self.config.screenshot_status
        self.state_file = Path(self.config.state_file) if self.config.state_file else None
        if self.state_file is not None:
            saved = load_state(self.state_file)
            if saved is not None:
                self.store.load_json(saved)
        self.request_log: list[RequestRecord] = []
        self._observers: list[Observer] = []
        self.closing = threading.Event()  # set while a server shuts down, to cut injected timeouts short
        self._late_timers: list[threading.Timer] = []  # late commits still to come in the background
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        for timer in self._late_timers:
            timer.cancel()
        self._late_timers.clear()
        scale = self.config.rate_limits
        self.limiter = RateLimiter(scale, self.config.monotonic) if scale is not None else None
        faults = self.config.faults
        rules = parse_fault_spec(faults) if isinstance(faults, str) else list(faults or [])
        self.faults = FaultInjector(rules, seed=self.config.seed)
        self.key_scopes = KeyScopes(self.config.key_scopes)  # limits set through the control route end here

    # -- the public surface for tests and tools ---------------------------------------------------

    def seed(self, api_key: str, data: dict[str, Any]) -> dict[str, list[str]]:
        """Create objects in the key's account through Klaviyo's rules; returns the new ids per kind."""
        with self.store.lock:
            acct = self.store.account(api_key)
            ids = self.store.seed(acct, data, others=tuple(SEEDERS))
            for name, resource in SEEDERS.items():
                if name in data:
                    assert resource.seed is not None
                    ids[name] = resource.seed(self.store, acct, list(data[name]))
            self._persist()
            return ids

    def set_profile_counts(self, api_key: str, counts: dict[str, Any]) -> dict[str, int]:
        """Set how many profiles lists of the key's account hold (list id -> count); all or nothing."""
        with self.store.lock:
            acct = self.store.account(api_key)
            self.store.set_profile_counts(acct, counts)
            self._persist()
            return {list_id: acct.lists[list_id]["profile_count"] for list_id in counts}

    def reset(self) -> None:
        """Forget every account, the request log, rate-limit windows, fault counters and control-route scope limits."""
        with self.store.lock:
            self.store.reset()
            self.request_log.clear()
            self._reset_runtime()
            self._persist()

    def dump(self) -> dict[str, Any]:
        with self.store.lock:
            return json.loads(json.dumps(self.store.to_json()))

    def request_counts(self, api_key: str | None = None) -> dict[str, int]:
        """Requests per operation (429s included), for one key's account or all."""
        return dict(Counter(r.operation_id for r in self._records(api_key) if r.operation_id))

    def throttled_counts(self, api_key: str | None = None) -> dict[str, int]:
        """429 answers per operation."""
        return dict(Counter(r.operation_id for r in self._records(api_key) if r.operation_id and r.status == 429))

    def add_observer(self, callback: Observer) -> None:
        """`callback(request, response)` for every API request answered (not the control routes)."""
        self._observers.append(callback)

    def _records(self, api_key: str | None) -> list[RequestRecord]:
        with self.store.lock:
            records = list(self.request_log)
        if api_key is None:
            return records
        wanted = account_id(api_key)
        return [r for r in records if r.account == wanted]

    # -- the pipeline -----------------------------------------------------------------------------

    async def handle_async(self, request: EmuRequest, *, hold_late: bool = True) -> EmuResponse:
        """`hold_late`: hold a late request that has no answer until it commits, then answer it (a server); False
        commits it in the background and returns at once (an in-process transport raises the client's timeout)."""
        response = self.process(request)
        late = response.late
        if late is not None and (late.answered or not hold_late):
            self.commit_later(late)
        elif late is not None:
            deadline = time.monotonic() + late.seconds
            while time.monotonic() < deadline and not self.closing.is_set():
                await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            return late.commit()
        delay = self.response_delay(response)
        if delay > 0:
            await asyncio.sleep(delay)
        return response

    def commit_later(self, late: LateCommit) -> None:
        """Commit a late request in a timer thread, `late.seconds` from now (`reset` cancels it)."""
        timer = threading.Timer(late.seconds, late.commit)
        timer.daemon = True
        self._late_timers = [pending for pending in self._late_timers if pending.is_alive()] + [timer]
        timer.start()

    def response_delay(self, response: EmuResponse) -> float:
        """Seconds to hold an answer back: the configured latency (API routes only) plus injected latency."""
        return response.delay_s + (self.config.latency_ms / 1000 if response.operation_id else 0.0)

    def process(self, request: EmuRequest) -> EmuResponse:
        target_bytes = len(request.path.encode("utf-8", "surrogateescape")) + len(request.query_string)
        if target_bytes > self.config.max_url_bytes:
            error = EmulatorError(414, "uri_too_long", f"The request URL is longer than {self.config.max_url_bytes} bytes.")
            response = self.error_response(error)
            response.beyond_spec = True  # the spec lists no 414
            return response
        if is_control(request):
            return handle_control(self, request)
        response, account = self._api(request)
        if response.late is None or response.late.answered:  # else logged when it commits
            self._record(request, response, account)
        return response

    def _record(self, request: EmuRequest, response: EmuResponse, account: str | None) -> None:
        record = RequestRecord(request.method, request.path, response.operation_id, response.status, account, response.fault)
        with self.store.lock:
            self.request_log.append(record)
        for observer in list(self._observers):
            observer(request, response)

    def _api(self, request: EmuRequest) -> tuple[EmuResponse, str | None]:
        route = routing.match(request.method, request.path) if request.path.startswith("/api/") else None
        if route is None:
            return self.error_response(EmulatorError(404, "not_found", f"There is no endpoint at {request.path}.")), None
        if route.operation_id is None:
            error = EmulatorError(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            error.headers["Allow"] = ", ".join(route.allowed)
            return self.error_response(error), None
        op_id = route.operation_id
        api_key, problem = self._authenticate(request)
        if problem is not None:
            problem.operation_id = op_id
            return problem, None
        assert api_key is not None
        account = account_id(api_key)
        query_pairs = parse_qsl(request.query_string, keep_blank_values=True)
        try:
            _check_revision(request)
            # [ASSUMED] Klaviyo does not say whether a 403 counts against the rate limits; like a 401 or a bad
            # revision it is refused before the request reaches the endpoint, so here it is not counted.
            self.key_scopes.check(api_key, op_id, query_pairs)
        except EmulatorError as error:
            return self.error_response(error, op_id), account
        with self.store.lock:
            return self._locked(request, op_id, route.path_id, api_key, query_pairs), account

    def _locked(
        self, request: EmuRequest, op_id: str, path_id: str | None, api_key: str, query_pairs: list[tuple[str, str]]
    ) -> EmuResponse:
        account = account_id(api_key)
        rate_headers: dict[str, str] = {}
        if self.limiter is not None:
            extra = operation(op_id).rate_buckets(dict(query_pairs))[:-1]  # profile_count on get_list: 1/s, 15/m
            verdict = self.limiter.check(account, op_id, extra)
            if not verdict.allowed:
                return self._throttled(op_id, verdict.wait_seconds, scaled=self.limiter.scale != 1.0)
            rate_headers = verdict.headers
        fault = self.faults.decide(op_id)
        if fault.throttle:
            response = self._throttled(op_id, 0.0, scaled=False)
            response.delay_s, response.fault = fault.latency_s, "storm"
            return response
        if fault.error_status is not None:
            response = self._server_error(fault.error_status, fault.html, op_id)
            response.headers.update(fault.headers)  # e.g. Retry-After from the fault's retry-after option
            response.delay_s, response.fault = fault.latency_s, "html" if fault.html else "error"
            return response
        if fault.late_s is not None:
            return self._late(request, op_id, path_id, api_key, query_pairs, rate_headers, fault.late_s, fault.late_answer)
        response = self._execute(request, op_id, path_id, api_key, query_pairs)
        response.headers.update(rate_headers)
        response.headers["X-Klaviyo-API-Revision"] = REVISION
        response.delay_s = fault.latency_s
        response.drop = fault.drop
        response.timeout_s = fault.timeout_s
        response.fault = fault.after_commit_kind
        return response

    def _late(
        self,
        request: EmuRequest,
        op_id: str,
        path_id: str | None,
        api_key: str,
        query_pairs: list[tuple[str, str]],
        rate_headers: dict[str, str],
        seconds: float,
        answer: int | None,
    ) -> EmuResponse:
        """A request processed only `seconds` after it arrived; with `answer`, that 5xx goes out at once."""

        def commit() -> EmuResponse:
            with self.store.lock:
                response = self._execute(request, op_id, path_id, api_key, query_pairs)
            response.headers.update(rate_headers)
            response.headers["X-Klaviyo-API-Revision"] = REVISION
            response.fault = "late"
            if answer is None:  # logged once: as the 5xx its client saw, or now, as the answer it was held for
                self._record(request, response, account_id(api_key))
            return response

        response = self._server_error(answer, False, op_id) if answer is not None else EmuResponse(0, {}, b"", op_id)
        response.fault = "late"
        response.late = LateCommit(seconds, commit, answered=answer is not None)
        return response

    def _execute(
        self, request: EmuRequest, op_id: str, path_id: str | None, api_key: str, query_pairs: list[tuple[str, str]]
    ) -> EmuResponse:
        """The operation itself, past every check and fault: its document, and the state saved after a write."""
        try:
            body = self._read_body(request, op_id)
            query = parse_query(operation(op_id), query_pairs)
            links = Links(request.base_url, trailing_slash=self.config.quirks)
            path = request.path[:-1] if request.path.endswith("/") else request.path
            acct = self.store.account(api_key)
            ctx = Context(
                self.store, acct, query, path, path_id, body, links, self.config.quirks, self.limiter is None, self.config.flows
            )
            status, document = HANDLERS[op_id](ctx)
        except EmulatorError as error:
            response = self.error_response(error, op_id)
        else:
            if request.method != "GET":
                self._persist()
            response = EmuResponse(status, {}, b"", op_id)
            if document is not None:
                response.body = json.dumps(document, ensure_ascii=False).encode("utf-8")
                response.headers["Content-Type"] = JSON_API
        return response

    def _authenticate(self, request: EmuRequest) -> tuple[str | None, EmuResponse | None]:
        header = request.headers.get("authorization")
        if header is None or not header.strip():
            error = EmulatorError(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                title="Authentication credentials were not provided.",
            )
            return None, self.error_response(error)
        if not header.startswith(KEY_PREFIX):
            if self.config.quirks:  # the CDN answers before the API does
                page = CDN_400_PAGE
                return None, EmuResponse(400, {"Content-Type": "text/html"}, page, beyond_spec=True)
            return None, self.error_response(
                EmulatorError(
                    401,
                    "authentication_failed",
                    "Missing or invalid authorization scheme. Use 'Klaviyo-API-Key your-private-api-key'.",
                )
            )
        key = header[len(KEY_PREFIX) :].strip()
        if not key.startswith("pk_") or len(key) < 4:
            return None, self.error_response(
                EmulatorError(401, "authentication_failed", "Missing or invalid authorization", pointer="/data/")
            )
        return key, None

    def _read_body(self, request: EmuRequest, op_id: str) -> Any:
        takes_body = op_id in _BODY_OPERATIONS
        if request.too_large or len(request.body) > MAX_BODY_BYTES:
            raise EmulatorError(
                413,
                "payload_too_large",
                f"The request body is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MB limit.",
                pointer="/data",
            )
        if not takes_body:
            return None
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED_CONTENT_TYPES:
            shown = content_type or "none"
            raise EmulatorError(
                415, "unsupported_media_type", f'Unsupported media type "{shown}" in request; use "{JSON_API}".', pointer="/data"
            )
        if request.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
            raise EmulatorError(415, "unsupported_media_type", "Compressed request bodies are not supported.", pointer="/data")
        return parse_json_body(request.body)

    # -- answers ----------------------------------------------------------------------------------

    def error_response(self, error: EmulatorError, op_id: str | None = None) -> EmuResponse:
        body = json.dumps(error_document(error, integer_status=self.config.quirks)).encode("utf-8")
        headers = {"Content-Type": JSON_API, **error.headers}
        if self.config.quirks:
            headers.pop("Retry-After", None)  # real 429s have been seen without it
        return EmuResponse(error.status, headers, body, op_id)

    def _throttled(self, op_id: str, wait: float, *, scaled: bool) -> EmuResponse:
        error = EmulatorError(429, "throttled", throttled_detail(wait, scaled), pointer="/data/")
        response = self.error_response(error, op_id)
        if not self.config.quirks:
            response.headers["Retry-After"] = retry_after_header(wait) if wait > 0 else "0"
        return response

    def _server_error(self, status: int, html: bool, op_id: str) -> EmuResponse:
        if html:
            page = f"<html><head><title>{status}</title></head><body><h1>{status} Service Unavailable</h1></body></html>"
            return EmuResponse(status, {"Content-Type": "text/html"}, page.encode(), op_id, beyond_spec=True)
        return self.error_response(
            EmulatorError(status, "error", "A server error occurred.", pointer="/data", title="A server error occurred."), op_id
        )

    def _persist(self) -> None:
        if self.state_file is not None:
            save_state(self.state_file, self.store.to_json())


_BODY_OPERATIONS = frozenset(
    op_id for op_id in HANDLERS if operation(op_id).method in ("POST", "PATCH") or op_id == "remove_tag_from_lists"
)


def _check_revision(request: EmuRequest) -> None:
    revision = request.headers.get("revision")
    if revision is None:
        raise invalid(f"The 'revision' header is required; send 'revision: {REVISION}'.", parameter="revision")
    if revision.strip() != REVISION:
        raise invalid(
            f"'{revision}' is not a valid revision for this endpoint; this API serves {REVISION}.", parameter="revision"
        )

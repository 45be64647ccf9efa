"""What passes between a way in (ASGI app, httpx transport) and the pipeline: requests, answers, log records.

A leaf module: it imports nothing from the rest of the emulator but its error type, so the adapters, the control
routes and the pipeline can all depend on it without depending on each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.api_spec import BASE_URL
from klaviyo_sync.emulator.errors import invalid

MAX_BODY_BYTES = 5 * 1024 * 1024  # "a maximum total payload size of 5 MB (decompressed)"
JSON_API = "application/vnd.api+json"
KEY_PREFIX = "Klaviyo-API-Key "


@dataclass
class EmuRequest:
    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    base_url: str = BASE_URL
    too_large: bool = False  # the body went past MAX_BODY_BYTES and was not read to the end


@dataclass
class EmuResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    operation_id: str | None = None
    delay_s: float = 0.0  # latency to add before answering
    drop: bool = False  # drop the connection mid-response (the change was committed)
    timeout_s: float | None = None  # answer only after this long (the change was committed)
    beyond_spec: bool = False  # deliberately outside the spec: HTML error pages, quirks-mode answers
    fault: str | None = None  # the injected fault that shaped this answer: latency, error, html, storm, drop, timeout
    late: LateCommit | None = None  # a request processed only later (the `late` fault)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class LateCommit:
    """A request held before it is processed: `commit()` processes it (and logs it) `seconds` after it arrived.
    `answered`: a 5xx went out at once (a gateway giving up); otherwise nothing is answered before the commit."""

    seconds: float
    commit: Callable[[], EmuResponse]
    answered: bool


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    operation_id: str | None
    status: int
    account: str | None  # account_id of the key (a hash), never the key
    fault: str | None = None


def api_key_of(request: EmuRequest) -> str | None:
    """The key in a well-formed `Authorization: Klaviyo-API-Key ...` header, else None."""
    header = request.headers.get("authorization", "")
    return header[len(KEY_PREFIX) :].strip() if header.startswith(KEY_PREFIX) else None


def parse_json_body(body: bytes) -> Any:
    """A request body as JSON, or a 400: bad UTF-8, bad JSON, nesting too deep, numbers too long, lone surrogates."""
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise invalid(f"The request body is not valid UTF-8: {exc.reason} at byte {exc.start}.", pointer="/") from None
    except json.JSONDecodeError as exc:
        raise invalid(f"The request body is not valid JSON: {exc}.", pointer="/") from None
    except RecursionError:
        raise invalid("The request body is nested too deeply.", pointer="/") from None
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        raise invalid(f"The request body is not acceptable JSON: {exc}.", pointer="/") from None
    # "\ud800" is valid JSON but no character: stored, it would poison every later answer.
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, list):
            pending += item
        elif isinstance(item, str) and _LONE_SURROGATE.search(item):
            raise invalid("The request body contains an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF).", pointer="/")
    return document


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")

"""Turning Klaviyo's error answers into the typed `ApiError`s of `klaviyo_sync.errors`, with a hint for people.

Bodies are parsed defensively: JSON:API `errors[]` when there is JSON, otherwise the text of whatever answered
(a CDN's HTML page), shortened. Everything taken from the answer is scrubbed of the API key.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from klaviyo_sync.api_spec import INCLUDE_SCOPES, operation
from klaviyo_sync.client.redact import Redactor
from klaviyo_sync.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

_CLASS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}
_SNIPPET_LENGTH = 200
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def error_from_response(
    operation_id: str,
    response: httpx.Response,
    redactor: Redactor,
    *,
    scopes: tuple[str, ...] = (),
    retries: int = 0,
) -> ApiError:
    """The exception for a failed answer. `scopes` are those the call needed (403); `retries` already spent (429)."""
    status = response.status_code
    if 300 <= status < 400:
        return _redirect_error(operation_id, response, redactor)
    errors = _json_errors(response)
    error_class = _CLASS_BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    if errors is None:
        snippet = redactor.scrub(_text_snippet(response))
        content_type = response.headers.get("content-type", "no content type")
        return error_class(
            f"{operation_id} failed: HTTP {status} with a non-JSON answer ({content_type}): {snippet or '(empty body)'}",
            operation=operation_id,
            status=status,
            detail=snippet,
            hint=_non_json_hint(status),
        )
    first = errors[0] if errors else {}
    code = _text(first.get("code"))
    detail = redactor.scrub(_text(first.get("detail")) or _text(first.get("title")) or "no detail given")
    source = first.get("source") if isinstance(first.get("source"), dict) else {}
    where = _where(source)
    extra = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    message = f"{operation_id} failed: HTTP {status}{f' {code}' if code else ''}: {detail}{where}{extra}"
    return error_class(
        message,
        operation=operation_id,
        status=status,
        code=code,
        detail=detail,
        source={key: redactor.scrub(str(value)) for key, value in source.items()},
        hint=_hint(operation_id, status, scopes=scopes, retries=retries),
    )


def scopes_needed(operation_id: str, params: dict[str, Any] | None) -> tuple[str, ...]:
    """The operation's scopes, plus read scope on the types it includes (Klaviyo requires both)."""
    scopes = list(operation(operation_id).scopes)
    include = str((params or {}).get("include", ""))
    for included in filter(None, include.split(",")):
        scope = INCLUDE_SCOPES.get(included)
        if scope and scope not in scopes:
            scopes.append(scope)
    return tuple(scopes)


def _redirect_error(operation_id: str, response: httpx.Response, redactor: Redactor) -> ApiError:
    """A redirect is never followed (it could carry the key elsewhere) and never taken for success."""
    location = response.headers.get("location")
    target = redactor.scrub(_origin(location)) if location else "nowhere given"
    return ApiError(
        f"{operation_id} failed: HTTP {response.status_code} redirect to {target}, not followed",
        operation=operation_id,
        status=response.status_code,
        hint="klaviyo-sync never follows redirects, which could carry the API key elsewhere: "
        "point --base-url / KLAVIYO_BASE_URL at the API itself (https://a.klaviyo.com)",
    )


def _origin(location: str) -> str:
    """Scheme and host of a Location header (a path or query could hold anything)."""
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL:
        return "an invalid address"
    return f"{url.scheme}://{url.host}" if url.host else "a path on the same host"


def _json_errors(response: httpx.Response) -> list[dict[str, Any]] | None:
    """The `errors` array, [] for JSON without one, None when the body is not JSON at all."""
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, dict)]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _where(source: dict[str, Any]) -> str:
    if source.get("pointer"):
        return f" (at {source['pointer']})"
    if source.get("parameter"):
        return f" (query parameter {source['parameter']})"
    return ""


def _text_snippet(response: httpx.Response) -> str:
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", response.text))).strip()
    return text if len(text) <= _SNIPPET_LENGTH else text[: _SNIPPET_LENGTH - 1] + "…"


def _non_json_hint(status: int) -> str:
    if status >= 500:
        return "something in front of Klaviyo failed; this is usually brief: run the command again in a few minutes"
    return (
        "something other than the Klaviyo API answered (a proxy or CDN): check --base-url / KLAVIYO_BASE_URL, "
        "and that the key is a private key (pk_...) sent as-is"
    )


def _hint(operation_id: str, status: int, *, scopes: tuple[str, ...], retries: int) -> str:
    if status == 401:
        return (
            "the API key is invalid or was revoked: check KLAVIYO_API_KEY or --api-key-file "
            "(a private key from Klaviyo's Settings > API keys, starting with pk_)"
        )
    if status == 403:
        needed = ", ".join(scopes) or "unknown"
        return f"the key lacks a scope {operation_id} needs ({needed}): grant it in Klaviyo's Settings > API keys"
    if status == 404 and "{" not in operation(operation_id).path:  # a collection: the endpoint itself is missing
        return (
            "nothing answers at this endpoint: check that --base-url / KLAVIYO_BASE_URL is Klaviyo's API (https://a.klaviyo.com)"
        )
    if status == 404:
        return "the object no longer exists (changed outside klaviyo-sync?): run `klaviyo-sync plan` again"
    if status == 409:
        return "the request conflicts with the account's current state: run `klaviyo-sync plan` again"
    if status == 429:
        return (
            f"still throttled after {retries} retries; the rate limit is shared by every key and app of the account: "
            "run again later"
        )
    if status >= 500:
        return "Klaviyo had a server error, usually brief: run the command again (plan shows what remains)"
    return ""

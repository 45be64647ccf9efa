"""Every failure becomes a typed ApiError with the operation, status, Klaviyo's code/detail/source and a hint."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Kind
from tests.client.conftest import Handler, MakeClient, MakeEmulator, Scripted
from tests.support.canary import CANARY_KEY
from tests.support.clients import fast_client


def _fail(emulator: Any, call: Any, *, key: str = CANARY_KEY, **options: Any) -> ApiError:
    async def run() -> None:
        async with fast_client(emulator, api_key=key, **options) as client:
            await call(client)

    with pytest.raises(ApiError) as caught:
        asyncio.run(run())
    return caught.value


def test_an_unknown_key_is_an_authentication_error(make_emulator: MakeEmulator) -> None:
    wrong_key = "sk_this_is_not_a_private_key"
    error = _fail(make_emulator(), read_live_state, key=wrong_key)
    assert isinstance(error, AuthenticationError)
    assert error.status == 401 and error.code == "authentication_failed"
    assert "invalid or was revoked" in error.hint and "KLAVIYO_API_KEY" in error.hint
    assert wrong_key not in str(error) and wrong_key not in repr(error)


def test_an_unknown_id_is_not_found(make_emulator: MakeEmulator) -> None:
    error = _fail(make_emulator(), lambda client: client.update_template("XXXXXX", {"html": "<p/>"}))
    assert isinstance(error, NotFoundError)
    assert (error.operation, error.status, error.code) == ("update_template", 404, "not_found")
    assert "plan" in error.hint
    assert str(error).startswith("update_template failed: HTTP 404 not_found: ")


@pytest.mark.invalid_requests
def test_a_bad_attribute_names_its_pointer(make_emulator: MakeEmulator) -> None:
    error = _fail(make_emulator(), lambda client: client.create_template({"name": "No html", "editor_type": "CODE"}))
    assert isinstance(error, BadRequestError)
    assert error.status == 400 and error.code == "invalid"
    assert error.source.get("pointer", "").startswith("/data/attributes")
    assert f"(at {error.source['pointer']})" in str(error)


@pytest.mark.invalid_requests
def test_a_bad_query_parameter_names_the_parameter(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    async def call(client: KlaviyoClient) -> None:
        await client.request("get_templates", params={"page[size]": 11})

    error = _fail(make_emulator(), call)
    assert isinstance(error, BadRequestError)
    assert error.source == {"parameter": "page[size]"}
    assert "(query parameter page[size])" in str(error)


def test_a_duplicate_is_a_conflict(make_emulator: MakeEmulator) -> None:
    async def call(client: KlaviyoClient) -> None:
        group = await client.create_tag_group("Lifecycle", exclusive=False)
        await client.create_tag(group, "VIP")
        await client.create_tag(group, "VIP")

    error = _fail(make_emulator(), call)
    assert isinstance(error, ConflictError)
    assert error.status == 409 and error.operation == "create_tag"


def test_a_rule_klaviyo_enforces_is_a_bad_request(make_emulator: MakeEmulator) -> None:
    async def call(client: KlaviyoClient) -> None:
        state = await read_live_state(client)
        default = state.get(Kind.TAG_GROUP, ("Default",))
        assert default is not None and default.id
        await client.delete_tag_group(default.id)  # the default group cannot be deleted

    error = _fail(make_emulator(), call)
    assert isinstance(error, BadRequestError) and error.operation == "delete_tag_group"
    assert error.detail


def test_an_html_error_page_becomes_a_clear_error(make_emulator: MakeEmulator) -> None:
    error = _fail(make_emulator(faults="get_tags:html=502"), read_live_state, max_retries=0)
    assert isinstance(error, ServerError) and error.status == 502
    assert "non-JSON answer (text/html" in str(error)
    assert "<html" not in str(error).lower()
    assert error.hint


# Statuses the emulator does not produce through this client (scopes, media types, redirects): a scripted server
# stands in.


def _answer(status: int, body: Any, content_type: str = "application/vnd.api+json") -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else httpx.Response(200, json=body).content
        return httpx.Response(status, content=content, headers={"Content-Type": content_type})

    return handler


def _fail_scripted(transport: httpx.MockTransport, call: Any) -> ApiError:
    async def run() -> None:
        async with KlaviyoClient(CANARY_KEY, transport=transport, pacing=False, max_retries=0) as client:
            await call(client)

    with pytest.raises(ApiError) as caught:
        asyncio.run(run())
    return caught.value


def test_a_missing_scope_is_named_from_the_spec(scripted: Scripted) -> None:
    body = {"errors": [{"id": "1", "status": 403, "code": "permission_denied", "title": "Denied.", "detail": "No."}]}
    error = _fail_scripted(scripted(_answer(403, body)), read_live_state)
    assert isinstance(error, PermissionDeniedError)
    assert error.code == "permission_denied"
    # The first walk to fail names every scope it needed, including read scope on what it includes.
    if error.operation == "get_lists":
        assert "lists:read, tags:read" in error.hint
    elif error.operation in ("get_tags", "get_tag_groups"):
        assert "tags:read" in error.hint
    else:
        assert "templates:read" in error.hint

    write = _fail_scripted(scripted(_answer(403, body)), lambda client: client.tag_lists("t", ["l"]))
    assert "tag_lists needs (lists:write, tags:write)" in write.hint


def test_other_statuses_keep_klaviyos_words(scripted: Scripted) -> None:
    body = {
        "errors": [{"id": "1", "status": 415, "code": "unsupported_media_type", "title": "Unsupported", "detail": "Bad type."}]
    }
    error = _fail_scripted(scripted(_answer(415, body)), lambda client: client.create_list("x"))
    assert type(error) is ApiError
    assert (error.status, error.code, error.detail) == (415, "unsupported_media_type", "Bad type.")


def test_a_success_without_json_is_a_clear_error(scripted: Scripted) -> None:
    error = _fail_scripted(scripted(_answer(200, "<html>maintenance</html>", "text/html")), read_live_state)
    assert isinstance(error, ServerError)
    assert "not a JSON:API document" in str(error)


def test_errors_echoing_the_key_are_scrubbed(scripted: Scripted) -> None:
    body = {
        "errors": [{"id": "1", "status": 401, "code": "authentication_failed", "title": "t", "detail": f"bad key {CANARY_KEY}"}]
    }
    error = _fail_scripted(scripted(_answer(401, body)), read_live_state)
    assert CANARY_KEY not in str(error) and CANARY_KEY not in repr(error) and CANARY_KEY not in (error.detail or "")
    assert "<redacted>" in str(error)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_error_not_a_success(scripted: Scripted, status: int) -> None:
    """An update answered by a redirect (a proxy, a moved host) did not happen; saying nothing would report it done."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers={"Location": "https://login.example.com/sso?next=%2Fapi%2Flists"})

    error = _fail_scripted(scripted(handler), lambda client: client.update_list("abc123", {"name": "x"}))
    assert type(error) is ApiError and (error.operation, error.status) == ("update_list", status)
    assert f"HTTP {status} redirect to https://login.example.com, not followed" in str(error)
    assert "never follows redirects" in error.hint
    assert [request.url.host for request in seen] == ["a.klaviyo.com"]


def test_an_answer_that_cannot_be_decoded_is_a_clear_error(scripted: Scripted) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "application/vnd.api+json", "Content-Encoding": "gzip"}
        return httpx.Response(200, content=b"not gzip at all", headers=headers)

    async def run() -> None:
        async with KlaviyoClient(CANARY_KEY, transport=scripted(handler), pacing=False, time_scale=0.001) as client:
            await client.create_list("Newsletter")

    with pytest.raises(TransportError) as caught:
        asyncio.run(run())
    assert caught.value.ambiguous  # the create reached a server: look it up before trying again
    assert "DecodingError" in str(caught.value)

    read = _fail_scripted(scripted(handler), lambda client: client.request("get_tag_groups"))
    assert isinstance(read, TransportError) and not read.ambiguous
    assert "no usable answer from a.klaviyo.com after 1 attempts (DecodingError" in str(read)

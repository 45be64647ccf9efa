"""The key never shows: not in reprs, errors, logs at any level, nor request logs with -v."""

from __future__ import annotations

import asyncio
import logging
import re

import httpx
import pytest

from klaviyo_sync import __version__
from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.client.redact import Redactor
from klaviyo_sync.errors import ApiError, TransportError
from klaviyo_sync.live import read_live_state
from tests.client.conftest import MakeClient, MakeEmulator, Scripted, seed_account
from tests.support.canary import CANARY_KEY


def test_repr_and_str_of_a_client_hide_the_key(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    client = make_client(make_emulator())
    for text in (repr(client), str(client), repr(vars(client)), repr(client._redactor)):
        assert CANARY_KEY not in text
    assert repr(client) == "KlaviyoClient(base_url='https://a.klaviyo.com', api_key=<redacted>)"


def test_verbose_logs_show_each_request_without_the_key(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(faults="get_tags:storm=1#1;get_lists:error=503#1")
    emulator.seed(CANARY_KEY, seed_account(tag_groups=2, tags=60, lists=12, templates=12))
    caplog.set_level(logging.DEBUG)

    async def run() -> None:
        async with make_client(emulator) as client:
            await read_live_state(client)

    asyncio.run(run())
    lines = [record.getMessage() for record in caplog.records if record.name == "klaviyo_sync.client"]
    assert any(re.match(r"GET /api/tags\?\S*include=tag-group\S* 200 \(\d+ ms\)$", line) for line in lines), lines
    assert any(re.match(r"GET /api/templates\?\S*page\[cursor\]=\S+ 200 \(", line) for line in lines), lines  # pages too
    assert any("throttled (429)" in line for line in lines)
    assert any("HTTP 503; retry 1" in line for line in lines)
    assert all(CANARY_KEY not in line and "Klaviyo-API-Key" not in line for line in lines)
    assert all(CANARY_KEY not in str(record.args) for record in caplog.records)


@pytest.mark.invalid_requests
def test_errors_of_every_kind_hide_the_key(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator(faults="create_list:drop#1;get_tag_groups:html=503")
    errors: list[ApiError] = []

    async def run() -> None:
        async with make_client(emulator, max_retries=0) as client:
            for call in (
                client.create_list("x"),
                client.delete_template("nope00"),
                client.create_template({"name": "bad", "editor_type": "CODE"}),
                read_live_state(client),
            ):
                try:
                    await call
                except ApiError as error:
                    errors.append(error)

    asyncio.run(run())
    assert [type(error).__name__ for error in errors] == ["TransportError", "NotFoundError", "BadRequestError", "ServerError"]
    assert isinstance(errors[0], TransportError)
    for error in errors:
        for text in (str(error), repr(error), error.message, error.hint, str(error.detail), str(error.source), str(error.args)):
            assert CANARY_KEY not in text


def test_the_redactor_scrubs_our_key_and_any_private_key_shape() -> None:
    redactor = Redactor(CANARY_KEY)
    assert redactor.scrub(f"a {CANARY_KEY} b pk_abcdefABCDEF123456 c") == "a <redacted> b <redacted> c"
    assert CANARY_KEY not in repr(redactor)


def test_the_client_itself_sends_the_key_only_in_the_authorization_header(scripted: Scripted) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "links": {"self": str(request.url), "next": None}})

    async def run() -> None:
        async with KlaviyoClient(CANARY_KEY, transport=scripted(handler), pacing=False) as client:
            await client.request("get_tag_groups")

    asyncio.run(run())
    request = seen[0]
    assert request.headers["authorization"] == f"Klaviyo-API-Key {CANARY_KEY}"
    assert request.headers["revision"] == "2026-07-15"
    assert request.headers["accept"] == "application/vnd.api+json"
    assert request.headers["user-agent"] == f"klaviyo-sync/{__version__}"
    assert CANARY_KEY not in str(request.url)

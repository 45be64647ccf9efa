"""A 503 that carries Retry-After is retried after the wait it asks for, within the client's maximum wait.

The emulator's injected 503s stand for Klaviyo's; `_behind_a_proxy` puts a proxy in front of it that adds
`Retry-After` (and optionally `Date`) to them, as Klaviyo's CDN may. What the client waited is read from its log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from email.utils import formatdate

import httpx
import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.client.retry import retry_after_header, retry_after_seconds
from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.messages import EmuRequest, EmuResponse
from klaviyo_sync.errors import ServerError, TransportError
from klaviyo_sync.resources import Kind
from tests.client.conftest import MakeClient, MakeEmulator
from tests.support.canary import CANARY_KEY
from tests.support.fixtures import ServedEmulator

Serve = Callable[[Emulator], ServedEmulator]
FIXED_DATE = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example
_RETRY_LINE = re.compile(r"^(\w+): HTTP (\d{3})(?: with Retry-After (\S+) s)?.*; retry (\d+) in ([\d.]+) s$")


def _behind_a_proxy(emulator: Emulator, retry_after: Callable[[], str] | str, *, date: str | None = None) -> None:
    """Every 5xx the emulator answers leaves with `Retry-After` (and `Date`, if given) added, as a CDN would."""

    def add_headers(request: EmuRequest, response: EmuResponse) -> None:
        if response.status >= 500:
            response.headers["Retry-After"] = retry_after() if callable(retry_after) else retry_after
            if date is not None:
                response.headers["Date"] = date

    emulator.add_observer(add_headers)


def _statuses(emulator: Emulator, operation_id: str) -> list[int]:
    return [record.status for record in emulator.request_log if record.operation_id == operation_id]


def _retries(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, float | None, float]]:
    """(operation, status, Retry-After honoured or None, seconds waited) for each retry the client logged."""
    found = []
    for record in caplog.records:
        match = _RETRY_LINE.match(record.getMessage()) if record.name == "klaviyo_sync.client" else None
        if match:
            asked = float(match[3]) if match[3] is not None else None
            found.append((match[1], int(match[2]), asked, float(match[5])))
    return found


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "klaviyo_sync.client" and r.levelno == logging.WARNING]


def _read_lists(client: KlaviyoClient) -> list[str]:
    async def run() -> list[str]:
        async with client:
            return [item["id"] async for page in client.paginate("get_lists") for item in page["data"]]

    return asyncio.run(run())


def test_a_503_over_http_waits_what_retry_after_asks(
    make_emulator: MakeEmulator, serve_emulator: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503#1")
    emulator.seed(CANARY_KEY, {"lists": [{"name": "Newsletter"}]})
    _behind_a_proxy(emulator, "0.25")
    server = serve_emulator(emulator)
    client = KlaviyoClient(CANARY_KEY, base_url=server.base_url, time_scale=0.001)

    assert len(_read_lists(client)) == 1
    assert _statuses(emulator, "get_lists") == [503, 200]
    [(operation_id, status, asked, waited)] = _retries(caplog)
    assert (operation_id, status, asked) == ("get_lists", 503, 0.25)
    # The backoff at this time scale is under a millisecond: only the header can explain a quarter second.
    assert 0.25 <= waited <= 0.25 + 0.1 * 0.001
    assert not any("more than the client waits" in warning for warning in _warnings(caplog))


def test_a_503_without_retry_after_backs_off_as_before(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503#1")

    _read_lists(make_client(emulator))
    [(operation_id, status, asked, waited)] = _retries(caplog)
    assert (operation_id, status, asked) == ("get_lists", 503, None)
    assert waited <= 0.5 * 0.001  # the first backoff step (0.5 s) at the client's time scale


@pytest.mark.parametrize(
    "header",
    ["soon", "-5", "nan", "inf", "1e3", "0x10", "0", "  ", "Sun, 06 Nov 1994 08:49:37 GMT"],
    ids=["word", "negative", "nan", "inf", "exponent", "hex", "zero", "blank", "past-date"],
)
def test_an_unusable_retry_after_falls_back_to_backoff(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503#1")
    _behind_a_proxy(emulator, header)

    _read_lists(make_client(emulator))
    assert _statuses(emulator, "get_lists") == [503, 200]
    [(_, _, asked, waited)] = _retries(caplog)
    assert asked is None and waited <= 0.5 * 0.001


def test_a_retry_after_beyond_the_maximum_wait_is_capped_and_said(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503#1")
    _behind_a_proxy(emulator, "86400")

    _read_lists(make_client(emulator, max_wait=0.2))
    assert _statuses(emulator, "get_lists") == [503, 200]
    [(_, _, asked, waited)] = _retries(caplog)
    assert (asked, waited) == (86400, 0.2)
    [warning] = _warnings(caplog)
    assert "Retry-After 86400 s, more than the client waits (0.2 s per request)" in warning


def test_a_503_that_keeps_asking_for_hours_gives_up_once_the_maximum_is_spent(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503")
    _behind_a_proxy(emulator, "7200")

    with pytest.raises(ServerError) as caught:
        _read_lists(make_client(emulator, max_wait=0.2, max_retries=8))
    assert caught.value.status == 503 and caught.value.operation == "get_lists"
    assert _statuses(emulator, "get_lists") == [503, 503]  # not eight more attempts of 0.2 s each
    capped, gave_up = _warnings(caplog)
    assert "more than the client waits" in capped
    assert "already waited the 0.2 s the client allows; giving up" in gave_up


def test_retry_after_waits_add_up_to_the_maximum_per_request(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503#1;get_lists:error=503#2;get_lists:error=503#3")
    _behind_a_proxy(emulator, "0.15")

    with pytest.raises(ServerError):
        _read_lists(make_client(emulator, max_wait=0.25))
    waits = [(asked, waited) for _, _, asked, waited in _retries(caplog)]
    assert waits[0][0] == 0.15 and 0.15 <= waits[0][1] <= 0.15 + 0.1 * 0.001  # honoured in full
    assert waits[1][0] == 0.15 and waits[1][1] < 0.15  # capped at what the request may still wait
    assert len(waits) == 2 and "giving up" in _warnings(caplog)[-1]
    assert _statuses(emulator, "get_lists") == [503, 503, 503]


def test_a_retry_after_date_counts_from_the_answers_own_date(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A server whose clock is decades off still means "in an hour": the wait does not depend on the local clock."""
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="update_list:error=503#1")
    _behind_a_proxy(emulator, formatdate(FIXED_DATE + 3600, usegmt=True), date=formatdate(FIXED_DATE, usegmt=True))

    async def run() -> None:
        async with make_client(emulator, max_wait=0.1) as client:
            list_id = await client.create_list("Newsletter", "single_opt_in")
            await client.update_list(list_id, {"name": "Weekly"})

    asyncio.run(run())
    assert _statuses(emulator, "update_list") == [503, 200]  # an idempotent write honours it too
    [(operation_id, _, asked, waited)] = _retries(caplog)
    assert (operation_id, asked, waited) == ("update_list", 3600, 0.1)


def test_a_retry_after_date_over_http_is_measured_against_the_servers_date(
    make_emulator: MakeEmulator, serve_emulator: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=503#1")
    _behind_a_proxy(emulator, lambda: formatdate(time.time() + 3600, usegmt=True))  # the server adds its own Date
    server = serve_emulator(emulator)

    _read_lists(KlaviyoClient(CANARY_KEY, base_url=server.base_url, time_scale=0.001, max_wait=0.1))
    [(_, _, asked, waited)] = _retries(caplog)
    assert asked is not None and 3598 <= asked <= 3601  # both dates have whole-second resolution
    assert waited == 0.1


def test_retry_after_never_makes_a_create_retried(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="create_list:error=503#1")
    _behind_a_proxy(emulator, "0")

    async def run() -> list[str]:
        async with make_client(emulator) as client:
            with pytest.raises(TransportError) as caught:
                await client.create_list("Newsletter", "single_opt_in")
            assert caught.value.ambiguous and caught.value.status == 503
            return await client.find_ids_by_name(Kind.LIST, "Newsletter")

    assert asyncio.run(run()) == []
    assert _statuses(emulator, "create_list") == [503]
    assert _retries(caplog) == []


def test_retry_after_on_other_server_errors_is_not_a_promise(
    make_emulator: MakeEmulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 9110 gives Retry-After its meaning on a 503 (and 429); other 5xx keep the backoff."""
    caplog.set_level(logging.INFO, logger="klaviyo_sync.client")
    emulator = make_emulator(faults="get_lists:error=500#1;get_lists:html=502#2")
    _behind_a_proxy(emulator, "30")

    _read_lists(make_client(emulator))
    assert _statuses(emulator, "get_lists") == [500, 502, 200]
    assert [(status, asked) for _, status, asked, _ in _retries(caplog)] == [(500, None), (502, None)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": " 7 "}, 7.0),
        ({"Retry-After": "0.35"}, 0.35),  # a fraction, as the emulator's scaled windows send
        ({"Retry-After": "Sun, 06 Nov 1994 09:49:37 GMT", "Date": "Sun, 06 Nov 1994 08:49:37 GMT"}, 3600.0),  # IMF-fixdate
        ({"Retry-After": "Sunday, 06-Nov-94 08:50:37 GMT", "Date": "Sun, 06 Nov 1994 08:49:37 GMT"}, 60.0),  # RFC 850
        ({"Retry-After": "Sun Nov  6 08:49:47 1994", "Date": "Sun, 06 Nov 1994 08:49:37 GMT"}, 10.0),  # asctime
        ({"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT", "Date": "Sun, 06 Nov 1994 09:49:37 GMT"}, 0.0),  # past
        ({"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT", "Date": "yesterday"}, 0.0),  # bad Date: the local clock
        ({"Retry-After": "99999999999999999999"}, 1e20),  # huge: the caller caps it
        ({"Retry-After": "Sun, 06 Nov 1994 25:61:99 GMT"}, None),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "1,5"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], expected: float | None) -> None:
    response = httpx.Response(503, headers=headers)
    assert retry_after_header(response) == expected


@pytest.mark.parametrize(
    ("headers", "detail", "expected"),
    [
        ({"Retry-After": "Sun, 06 Nov 1994 08:49:42 GMT", "Date": "Sun, 06 Nov 1994 08:49:37 GMT"}, None, 5.0),
        ({"Retry-After": "0"}, "Request was throttled. Expected available in 0.35 seconds.", 0.35),
        ({"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT", "Date": "Sun, 06 Nov 1994 08:49:40 GMT"}, None, 0.0),
    ],
)
def test_a_429_reads_the_same_header_forms(headers: dict[str, str], detail: str | None, expected: float) -> None:
    """One parser for both statuses: a 429's Retry-After may be a date too, and a zero yields to a stated wait."""
    body = {"errors": [{"status": 429, "code": "throttled", "title": "Request was throttled.", "detail": detail}]}
    assert retry_after_seconds(httpx.Response(429, headers=headers, json=body)) == expected

"""The `retry-after` option of injected 5xx faults: its syntax, and the header each firing asks for."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx
import pytest

from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.faults import FaultInjector, FaultRule, FaultSpecError, parse_fault_spec
from tests.support.canary import CANARY_KEY
from tests.support.fixtures import ServedEmulator

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def _injector(spec: str) -> FaultInjector:
    return FaultInjector(parse_fault_spec(spec), wall_clock=lambda: NOW)


def test_rules_without_the_option_read_as_before() -> None:
    spec = "create_template:drop@0.3;get_*:latency=50;update_list:error=503#2;*:storm=3@0.05;get_tags:html"
    assert parse_fault_spec(spec) == [
        FaultRule("create_template", "drop", probability=0.3),
        FaultRule("get_*", "latency", 50.0),
        FaultRule("update_list", "error", 503.0, nth=2),
        FaultRule("*", "storm", 3.0, probability=0.05),
        FaultRule("get_tags", "html"),
    ]
    assert _injector("get_lists:error=503").decide("get_lists").headers == {}


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("get_lists:error=503,retry-after=30", FaultRule("get_lists", "error", 503.0, retry_after="30")),
        ("get_*:error=503,retry-after=0.25#1", FaultRule("get_*", "error", 503.0, nth=1, retry_after="0.25")),
        ("get_lists:html,retry-after=date+5@0.5", FaultRule("get_lists", "html", probability=0.5, retry_after="date+5")),
    ],
)
def test_the_option_goes_between_the_kind_and_the_trigger(spec: str, rule: FaultRule) -> None:
    assert parse_fault_spec(spec) == [rule]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("get_lists:drop,retry-after=5", "retry-after goes only with error=5xx or html=5xx"),
        ("get_lists:storm=3,retry-after=5", "retry-after goes only with error=5xx or html=5xx"),
        ("get_lists:error=503,retry-after=soon", "cannot read the fault rule"),
        ("get_lists:error=503,retry-after=date+1.5", "cannot read the fault rule"),
        ("get_lists:error=503#1,retry-after=5", "cannot read the fault rule"),
    ],
)
def test_misplaced_or_malformed_options_are_refused(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_spec(spec)


def test_a_firing_rule_asks_for_its_retry_after() -> None:
    injector = _injector("get_lists:error=503,retry-after=30#2")
    first, second, third = (injector.decide("get_lists") for _ in range(3))
    assert (first.error_status, first.headers) == (None, {})
    assert (second.error_status, second.headers) == (503, {"Retry-After": "30"})
    assert (third.error_status, third.headers) == (None, {})


def test_a_date_is_an_http_date_that_many_seconds_from_now() -> None:
    decision = _injector("update_*:html=503,retry-after=date+90").decide("update_list")
    header = decision.headers["Retry-After"]
    assert header.endswith(" GMT") and "," in header  # IMF-fixdate, e.g. "Fri, 15 Jan 2027 08:01:30 GMT"
    assert parsedate_to_datetime(header).timestamp() == NOW + 90
    assert decision.html and decision.error_status == 503


def test_the_last_firing_5xx_rule_shapes_the_answer_and_its_header() -> None:
    injector = _injector("get_lists:error=500,retry-after=5;get_lists:error=503#2")
    assert injector.decide("get_lists").headers == {"Retry-After": "5"}
    second = injector.decide("get_lists")
    assert (second.error_status, second.headers) == (503, {})


def test_the_served_answer_carries_the_header(serve_emulator: Callable[[Emulator], ServedEmulator]) -> None:
    served = serve_emulator(Emulator(EmulatorConfig(faults="get_lists:error=503,retry-after=7#1")))
    headers = {"Authorization": f"Klaviyo-API-Key {CANARY_KEY}", "revision": REVISION, "Accept": "application/vnd.api+json"}
    with httpx.Client(base_url=served.base_url) as http:
        first, second = (http.get("/api/lists", headers=headers) for _ in range(2))
    assert (first.status_code, first.headers.get("Retry-After")) == (503, "7")
    assert second.status_code == 200 and "Retry-After" not in second.headers

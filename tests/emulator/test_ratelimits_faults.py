"""Rate limits at a time scale and seeded fault injection, in process and over real HTTP."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from klaviyo_sync.emulator import EmulatorConfig, EmuRequest, FaultSpecError
from klaviyo_sync.emulator.faults import FaultInjector, parse_fault_spec
from klaviyo_sync.emulator.ratelimit import RateLimiter
from klaviyo_sync.emulator.transport import EmulatorTransport
from tests.emulator.helpers import BASE_URL, client, error, headers


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_and_steady_windows_per_account_and_operation() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock)
    # get_tags: 3 per second, 60 per minute.
    assert [limiter.check("a", "get_tags").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.check("b", "get_tags").allowed  # another account has its own windows
    assert limiter.check("a", "get_tag_groups").allowed  # another operation too
    blocked = limiter.check("a", "get_tags")
    assert not blocked.allowed and 0 < blocked.wait_seconds <= 1
    allowed = 3
    for _ in range(40):
        clock.now += 1
        allowed += sum(limiter.check("a", "get_tags").allowed for _ in range(3))
    assert allowed == 60  # the steady window caps the minute at 60
    steady_block = limiter.check("a", "get_tags")
    assert not steady_block.allowed and steady_block.wait_seconds > 1


def test_time_scale_shrinks_every_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0.01, clock)
    assert sum(limiter.check("a", "get_tags").allowed for _ in range(5)) == 3
    clock.now += 0.011  # a scaled burst window is 10 ms
    assert limiter.check("a", "get_tags").allowed


def test_429_body_headers_and_ratelimit_headers(emulator_factory, api_key: str) -> None:
    clock = FakeClock()
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0, monotonic=clock))
    with client(emulator, api_key) as http:
        first = http.get("/api/tag-groups")
        assert first.headers["ratelimit-limit"] == "60, 3;w=1, 60;w=60"
        assert first.headers["ratelimit-remaining"] == "59"
        assert 0 < int(first.headers["ratelimit-reset"]) <= 60
        http.get("/api/tag-groups")
        http.get("/api/tag-groups")
        throttled = http.get("/api/tag-groups")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert "ratelimit-limit" not in throttled.headers
    problem = error(throttled)
    assert problem["code"] == "throttled" and problem["title"] == "Request was throttled."
    assert problem["detail"] == "Request was throttled. Expected available in 1 second."
    assert problem["links"] == {"type": "https://developers.klaviyo.com/en/docs/rate_limits_and_error_handling#rate-limits"}
    assert emulator.request_counts(api_key) == {"get_tag_groups": 4}
    assert emulator.throttled_counts(api_key) == {"get_tag_groups": 1}


def test_scaled_429_gives_exact_wait_in_detail_and_whole_seconds_in_header(emulator_factory, api_key: str) -> None:
    clock = FakeClock()
    emulator = emulator_factory(EmulatorConfig(rate_limits=0.01, monotonic=clock))
    with client(emulator, api_key) as http:
        for _ in range(3):
            assert http.get("/api/tags").status_code == 200
        throttled = http.get("/api/tags")
    assert throttled.headers["retry-after"] == "1"
    detail = error(throttled)["detail"]
    wait = float(detail.split("available in ")[1].split(" ")[0])
    assert 0 < wait <= 0.01


def test_a_paced_client_meets_no_429_and_a_greedy_one_does(emulator_factory, api_key: str) -> None:
    clock = FakeClock()
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0, monotonic=clock))
    with client(emulator, api_key) as http:
        for _ in range(15):  # 45 requests in 15 s: within 3/s and 60/min
            for _ in range(3):
                assert http.get("/api/tags").status_code == 200
            clock.now += 1.0
        greedy = [http.get("/api/tags").status_code for _ in range(4)]
    assert greedy == [200, 200, 200, 429]


def test_fault_spec_parsing_and_errors() -> None:
    rules = parse_fault_spec("create_template:drop@0.3; get_*:latency=50 ;update_list:error=503#2;*:storm=3@0.05;x:html")
    assert [(r.operations, r.kind, r.arg, r.probability, r.nth) for r in rules] == [
        ("create_template", "drop", None, 0.3, None),
        ("get_*", "latency", 50.0, None, None),
        ("update_list", "error", 503.0, None, 2),
        ("*", "storm", 3.0, 0.05, None),
        ("x", "html", None, None, None),
    ]
    for bad in ("create_tag", "create_tag:explode", "create_tag:error=404", "create_tag:drop@2"):
        with pytest.raises(FaultSpecError):
            parse_fault_spec(bad)


def test_faults_are_reproducible_with_a_seed() -> None:
    def schedule(seed: int) -> list[tuple[str, str]]:
        injector = FaultInjector(parse_fault_spec("create_*:drop@0.3;get_*:error=500@0.2;*:storm=2@0.05"), seed=seed)
        for index in range(200):
            injector.decide(["create_tag", "get_tags", "create_list"][index % 3])
        return injector.injected

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)
    assert 20 < sum(kind == "drop" for _, kind in schedule(7)) < 45


def test_per_operation_schedule_does_not_depend_on_interleaving() -> None:
    spec = parse_fault_spec("create_tag:drop@0.5")
    alone = FaultInjector(spec, seed=3)
    mixed = FaultInjector(spec, seed=3)
    first = [alone.decide("create_tag").drop for _ in range(30)]
    second = []
    for _ in range(30):
        mixed.decide("get_tags")
        second.append(mixed.decide("create_tag").drop)
    assert first == second


@pytest.mark.invalid_requests
def test_injected_5xx_changes_nothing_and_nth_call_is_one_off(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="create_list:error=503#2;get_lists:html=502#1"))
    with client(emulator, api_key) as http:
        assert http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "a"}}}).status_code == 201
        failed = http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "b"}}})
        assert failed.status_code == 503
        assert error(failed)["code"] == "error" and error(failed)["title"] == "A server error occurred."
        assert http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "c"}}}).status_code == 201
        page = http.get("/api/lists")
        assert page.status_code == 502 and page.headers["content-type"] == "text/html"
        names = [item["attributes"]["name"] for item in http.get("/api/lists").json()["data"]]
    assert names == ["a", "c"]
    assert [r.fault for r in emulator.request_log] == [None, "error", None, "html", None]


def test_storm_throttles_consecutive_requests(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="get_tags:storm=3#2"))
    with client(emulator, api_key) as http:
        statuses = [http.get("/api/tags").status_code for _ in range(6)]
    assert statuses == [200, 429, 429, 429, 200, 200]
    assert emulator.throttled_counts() == {"get_tags": 3}


def test_dropped_connection_after_commit_in_process(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="create_tag:drop#1;get_tags:timeout#1"))

    async def scenario() -> list[str]:
        async with httpx.AsyncClient(transport=EmulatorTransport(emulator), base_url=BASE_URL, headers=headers(api_key)) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post("/api/tags", json={"data": {"type": "tag", "attributes": {"name": "VIP"}}})
            with pytest.raises(httpx.ReadTimeout):
                await http.get("/api/tags")
            document = (await http.get("/api/tags")).json()
            return [tag["attributes"]["name"] for tag in document["data"]]

    assert asyncio.run(scenario()) == ["VIP"]  # the create happened although no answer arrived
    assert [(r.operation_id, r.status, r.fault) for r in emulator.request_log] == [
        ("create_tag", 201, "drop"),
        ("get_tags", 200, "timeout"),
        ("get_tags", 200, None),
    ]


def test_dropped_connection_and_timeout_over_http(emulator_factory, serve_emulator, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="create_list:drop#1;update_list:timeout=30#1"))
    served = serve_emulator(emulator)
    with httpx.Client(base_url=served.base_url, headers=headers(api_key), timeout=0.5) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Newsletter"}}})
        (created,) = http.get("/api/lists").json()["data"]
        assert created["attributes"]["name"] == "Newsletter"
        body = {"data": {"type": "list", "id": created["id"], "attributes": {"name": "Renamed"}}}
        with pytest.raises(httpx.ReadTimeout):
            http.patch(f"/api/lists/{created['id']}", json=body)
        assert http.get(f"/api/lists/{created['id']}").json()["data"]["attributes"]["name"] == "Renamed"


def test_latency_is_added_to_api_answers_only(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(latency_ms=30, faults="get_tags:latency=20"))
    request_headers = {name.lower(): value for name, value in headers(api_key).items()}
    tags = emulator.process(EmuRequest("GET", "/api/tags", headers=request_headers))
    groups = emulator.process(EmuRequest("GET", "/api/tag-groups", headers=request_headers))
    control = emulator.process(EmuRequest("GET", "/__emulator/requests"))
    assert tags.status == groups.status == control.status == 200
    assert math.isclose(emulator.response_delay(tags), 0.05)
    assert math.isclose(emulator.response_delay(groups), 0.03)
    assert emulator.response_delay(control) == 0

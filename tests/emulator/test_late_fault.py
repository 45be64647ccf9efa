"""The `late` fault: a request held before it is processed, so its change commits after its client gave up (or
after a 5xx answered at once, as a gateway that gives up while the origin goes on)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.faults import FaultSpecError, parse_fault_spec
from tests.emulator.helpers import client, error


def list_names(emulator: Emulator) -> list[str]:
    return sorted(item["name"] for acct in emulator.dump()["accounts"].values() for item in acct["lists"].values())


def wait_for(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the late commit never came"
        time.sleep(0.02)


def test_a_late_request_gets_no_answer_and_commits_afterwards(emulator_factory: Any, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="create_list:late=0.3#1"))
    http = client(emulator, api_key)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Late"}}})
    assert time.monotonic() - started < 0.3 and list_names(emulator) == []  # no answer, nothing committed yet
    assert http.get("/api/lists").json()["data"] == []  # a look-up now finds nothing
    wait_for(lambda: list_names(emulator) == ["Late"])
    [record] = [r for r in emulator.request_log if r.operation_id == "create_list"]
    assert (record.status, record.fault) == (201, "late")  # logged once, when it committed


def test_a_late_request_can_be_answered_5xx_at_once_and_still_commit(emulator_factory: Any, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="create_list:late=0.3,answer=504#1"))
    http = client(emulator, api_key)
    answered = http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Late"}}})
    assert answered.status_code == 504 and error(answered)["code"] == "error"
    assert list_names(emulator) == []
    wait_for(lambda: list_names(emulator) == ["Late"])
    assert [(r.status, r.fault) for r in emulator.request_log if r.operation_id == "create_list"] == [(504, "late")]


def test_reset_drops_the_late_commits_still_to_come(emulator_factory: Any, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(faults="create_list:late=0.3,answer=503"))
    client(emulator, api_key).post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Late"}}})
    emulator.reset()
    time.sleep(0.5)
    assert list_names(emulator) == []


@pytest.mark.parametrize(
    "spec", ["create_list:error=504,answer=504", "create_list:late=2,answer=404", "create_list:drop,answer=500"]
)
def test_an_answer_goes_only_with_late_and_is_a_5xx(spec: str) -> None:
    with pytest.raises(FaultSpecError, match="answer=STATUS goes only with late"):
        parse_fault_spec(spec)


def test_late_defaults_to_the_36_seconds_seen() -> None:
    [rule] = parse_fault_spec("create_template:late#1")
    assert (rule.kind, rule.arg, rule.answer, rule.nth) == ("late", None, None, 1)
    from klaviyo_sync.emulator.faults import DEFAULT_ARGS

    assert DEFAULT_ARGS["late"] == 36.0

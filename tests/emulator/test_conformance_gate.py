"""The spec gate itself: it passes Klaviyo-shaped exchanges and reports ones that break the official spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from klaviyo_sync.emulator import EmuRequest, EmuResponse
from tests.emulator.helpers import headers
from tests.support.conformance import Conformance

LIST = {
    "type": "list",
    "id": "Y6nRLr",
    "attributes": {
        "name": "Newsletter",
        "created": "2027-01-15T08:00:00+00:00",
        "updated": "2027-01-15T08:00:00+00:00",
        "opt_in_process": "double_opt_in",
    },
    "relationships": {
        name: {
            "links": {
                "self": f"https://a.klaviyo.com/api/lists/Y6nRLr/relationships/{name}",
                "related": f"https://a.klaviyo.com/api/lists/Y6nRLr/{name}",
            }
        }
        for name in ("profiles", "tags", "flow-triggers")
    },
    "links": {"self": "https://a.klaviyo.com/api/lists/Y6nRLr"},
}


def exchange(query: str, document: dict[str, object], *, request_headers: dict[str, str] | None = None) -> list[str]:
    gate = Conformance()
    sent = {k.lower(): v for k, v in (request_headers or headers("pk_gate_check")).items()}
    request = EmuRequest("GET", "/api/lists", query_string=query, headers=sent)
    answer = EmuResponse(200, {"Content-Type": "application/vnd.api+json"}, json.dumps(document).encode(), "get_lists")
    gate.observe(request, answer)
    return gate.violations


def test_a_spec_shaped_exchange_passes() -> None:
    assert exchange("page%5Bsize%5D=10", {"data": [LIST], "links": {"self": "https://a.klaviyo.com/api/lists"}}) == []


def test_a_bad_response_body_is_reported() -> None:
    bad = {**LIST, "attributes": {**LIST["attributes"], "opt_in_process": "triple_opt_in"}}
    violations = exchange("", {"data": [bad], "links": {"self": "https://a.klaviyo.com/api/lists"}})
    assert len(violations) == 1 and violations[0].startswith("response 200 to GET /api/lists")


def test_a_bad_request_is_reported() -> None:
    document = {"data": [], "links": {"self": "https://a.klaviyo.com/api/lists"}}
    assert exchange("page%5Bsize%5D=11", document)  # above the spec's maximum of 10
    without_revision = {k: v for k, v in headers("pk_gate_check").items() if k != "revision"}
    assert exchange("", document, request_headers=without_revision)


def test_a_gate_with_violations_fails_the_test() -> None:
    gate = Conformance()
    gate.violations.append("response 200 to GET /api/lists: made up")
    with pytest.raises(AssertionError, match="1 spec violation"):
        gate.assert_clean()


def test_a_missing_spec_fails_the_gate_naming_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.support import conformance

    monkeypatch.setattr(conformance, "SPEC_FILE", tmp_path / "klaviyo-openapi.json")
    with pytest.raises(conformance.SpecMissingError, match=r"gen_spec_slice\.py"):
        conformance.spec_text()

"""A page cursor is tied to the query it was issued under: replayed with another filter or sort it is a 400."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from klaviyo_sync.emulator import Emulator
from tests.emulator.helpers import client, error


def _seed_templates(emulator: Emulator, api_key: str) -> None:
    news = [{"name": f"News {i:02}", "html": "<p/>"} for i in range(12)]
    offers = [{"name": f"Offer {i:02}", "html": "<p/>"} for i in range(12)]
    emulator.seed(api_key, {"templates": news + offers})


def _cursor(link: str) -> str:
    return parse_qs(urlsplit(link).query)["page[cursor]"][0]


def _decoded(cursor: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))


def _names(document: dict[str, Any]) -> list[str]:
    return [item["attributes"]["name"] for item in document["data"]]


def _assert_cursor_refused(response: httpx.Response, what: str) -> None:
    assert response.status_code == 400, response.text
    problem = error(response)
    assert problem["code"] == "invalid"
    assert problem["source"] == {"parameter": "page[cursor]"}
    assert f"belongs to a different {what}" in problem["detail"]
    assert "follow links.next as given" in problem["detail"]


@pytest.mark.invalid_requests
@pytest.mark.parametrize(
    "replayed_filter",
    [
        "contains(name,'Offer')",  # another filter
        "contains(name,'News'),contains(name,'0')",  # the same filter narrowed
        None,  # the filter dropped
    ],
    ids=["other", "narrowed", "dropped"],
)
def test_a_cursor_replayed_under_another_filter_is_a_400(emulator: Emulator, api_key: str, replayed_filter: str | None) -> None:
    _seed_templates(emulator, api_key)
    with client(emulator, api_key) as http:
        first = http.get("/api/templates", params={"filter": "contains(name,'News')", "page[size]": "5"}).json()
        cursor = _cursor(first["links"]["next"])
        params = {"page[cursor]": cursor, "page[size]": "5"}
        if replayed_filter is not None:
            params["filter"] = replayed_filter
        _assert_cursor_refused(http.get("/api/templates", params=params), "filter")


@pytest.mark.invalid_requests
def test_a_cursor_issued_without_a_filter_is_refused_with_one(emulator: Emulator, api_key: str) -> None:
    _seed_templates(emulator, api_key)
    with client(emulator, api_key) as http:
        first = http.get("/api/templates", params={"page[size]": "5"}).json()
        params = {"page[cursor]": _cursor(first["links"]["next"]), "filter": "contains(name,'Offer')"}
        _assert_cursor_refused(http.get("/api/templates", params=params), "filter")


@pytest.mark.invalid_requests
def test_a_prev_cursor_is_tied_to_its_filter_too(emulator: Emulator, api_key: str) -> None:
    _seed_templates(emulator, api_key)
    with client(emulator, api_key) as http:
        first = http.get("/api/templates", params={"filter": "contains(name,'News')", "page[size]": "5"}).json()
        second = http.get(first["links"]["next"]).json()
        assert _names(http.get(second["links"]["prev"]).json()) == _names(first)
        params = {"page[cursor]": _cursor(second["links"]["prev"]), "filter": "contains(name,'Offer')", "page[size]": "5"}
        _assert_cursor_refused(http.get("/api/templates", params=params), "filter")


@pytest.mark.invalid_requests
def test_a_cursor_replayed_under_another_sort_is_a_400(emulator: Emulator, api_key: str) -> None:
    _seed_templates(emulator, api_key)
    with client(emulator, api_key) as http:
        first = http.get("/api/templates", params={"sort": "name", "page[size]": "5"}).json()
        params = {"page[cursor]": _cursor(first["links"]["next"]), "sort": "-name", "page[size]": "5"}
        _assert_cursor_refused(http.get("/api/templates", params=params), "sort order")


def test_the_same_filter_spelt_otherwise_keeps_paging(emulator: Emulator, api_key: str) -> None:
    """Quotes, spacing, condition order and time zone do not change what a filter selects, so the cursor holds."""
    _seed_templates(emulator, api_key)
    issued = "contains(name,'News'),greater-than(created,2020-01-01T00:00:00Z)"
    respelt = 'greater-than(created,2020-01-01T01:00:00+01:00), contains(name, "News")'
    with client(emulator, api_key) as http:
        first = http.get("/api/templates", params={"filter": issued, "page[size]": "5"}).json()
        as_given = http.get(first["links"]["next"]).json()
        params = {"filter": respelt, "page[size]": "5", "page[cursor]": _cursor(first["links"]["next"])}
        response = http.get("/api/templates", params=params)
    assert response.status_code == 200, response.text
    assert _names(response.json()) == _names(as_given) == [f"News {i:02}" for i in range(5, 10)]


def test_following_links_next_as_given_walks_the_filtered_collection(emulator: Emulator, api_key: str) -> None:
    _seed_templates(emulator, api_key)
    names: list[str] = []
    with client(emulator, api_key) as http:
        response = http.get("/api/templates", params={"filter": "contains(name,'Offer')", "sort": "-name", "page[size]": "5"})
        while True:
            document = response.json()
            names += _names(document)
            if "next" not in document["links"]:
                break
            response = http.get(document["links"]["next"])
    assert names == [f"Offer {i:02}" for i in reversed(range(12))]


def test_cursors_carry_a_digest_of_the_filter_not_its_text(emulator: Emulator, api_key: str) -> None:
    _seed_templates(emulator, api_key)
    short = "contains(name,'News')"
    long = "contains(name,'News'),greater-than(created,2020-01-01T00:00:00Z),less-than(updated,2099-12-31T23:59:59Z)"
    with client(emulator, api_key) as http:
        cursors = {
            text: _cursor(http.get("/api/templates", params={"filter": text, "page[size]": "5"}).json()["links"]["next"])
            for text in (short, long)
        }
        unfiltered = _cursor(http.get("/api/templates", params={"page[size]": "5"}).json()["links"]["next"])
    payloads = {text: _decoded(cursor) for text, cursor in cursors.items()}
    assert payloads[short]["f"] != payloads[long]["f"]
    assert all("News" not in cursor and "News" not in json.dumps(payloads[text]) for text, cursor in cursors.items())
    assert len(cursors[short]) == len(cursors[long]) < 80
    assert "f" not in _decoded(unfiltered)


@pytest.mark.invalid_requests
@pytest.mark.parametrize("digest", [7, None, ["x"]])
def test_a_forged_filter_digest_is_a_400(emulator: Emulator, api_key: str, digest: object) -> None:
    _seed_templates(emulator, api_key)
    payload = {"s": "seq", "k": [3, "abc123"], "d": "next", "f": digest}
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with client(emulator, api_key) as http:
        response = http.get("/api/templates", params={"page[cursor]": forged, "filter": "contains(name,'News')"})
    assert response.status_code == 400
    assert error(response)["source"] == {"parameter": "page[cursor]"}

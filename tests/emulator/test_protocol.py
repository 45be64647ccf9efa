"""Headers, routing and bad input: every answer a JSON:API 4xx with a precise source, never a 500 or a hang."""

from __future__ import annotations

import json

import httpx
import pytest

from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.transport import SyncEmulatorTransport
from tests.emulator.helpers import BASE_URL, client, create_list, create_tag, create_template, error, headers


def raw_client(emulator: Emulator, extra: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(transport=SyncEmulatorTransport(emulator), base_url=BASE_URL, headers=extra or {})


@pytest.mark.invalid_requests
def test_missing_authorization_is_401_not_authenticated(emulator: Emulator) -> None:
    with raw_client(emulator, {"revision": REVISION}) as http:
        response = http.get("/api/templates")
    assert response.status_code == 401
    problem = error(response)
    assert problem["code"] == "not_authenticated" and problem["title"] == "Authentication credentials were not provided."


@pytest.mark.invalid_requests
@pytest.mark.parametrize("value", ["Klaviyo-API-Key sk_wrong", "Bearer pk_abc", "Klaviyo-API-Key "])
def test_bad_key_is_401_authentication_failed(emulator: Emulator, value: str) -> None:
    with raw_client(emulator, {"revision": REVISION, "Authorization": value}) as http:
        response = http.get("/api/tags")
    assert response.status_code == 401
    assert error(response)["code"] == "authentication_failed"


@pytest.mark.invalid_requests
def test_missing_or_unknown_revision_is_400(emulator: Emulator, api_key: str) -> None:
    auth = {"Authorization": f"Klaviyo-API-Key {api_key}"}
    with raw_client(emulator, auth) as http:
        missing = http.get("/api/templates")
        unknown = http.get("/api/templates", headers={"revision": "2020-01-01"})
    for response in (missing, unknown):
        assert response.status_code == 400
        assert error(response)["source"] == {"parameter": "revision"}


@pytest.mark.invalid_requests
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(emulator: Emulator, api_key: str, content_type: str | None) -> None:
    request_headers = {k: v for k, v in headers(api_key).items() if k != "Content-Type"}
    if content_type:
        request_headers["Content-Type"] = content_type
    with raw_client(emulator, request_headers) as http:
        response = http.post("/api/lists", content=b'{"data": {"type": "list", "attributes": {"name": "x"}}}')
    assert response.status_code == 415
    assert error(response)["code"] == "unsupported_media_type"
    with client(emulator, api_key) as http:
        assert http.get("/api/lists").json()["data"] == []


@pytest.mark.invalid_requests  # the spec lists only application/vnd.api+json; Klaviyo accepts both
def test_plain_json_content_type_is_accepted(emulator: Emulator, api_key: str) -> None:
    with raw_client(emulator, {**headers(api_key), "Content-Type": "application/json"}) as http:
        response = http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "x"}}})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/vnd.api+json"


def test_trailing_slash_paths_are_served(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        newsletter = create_list(http, "Newsletter")
        assert http.get("/api/lists/").status_code == 200
        assert http.get(f"/api/lists/{newsletter}/").json()["data"]["id"] == newsletter


@pytest.mark.invalid_requests
def test_unknown_paths_are_404_and_wrong_methods_405_with_allow(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        for path in ("/api/profiles", "/api/templates/abc/extra", "/", "/api"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert error(response)["code"] == "not_found"
        response = http.put("/api/templates/abc123", json={})
        assert response.status_code == 405
        assert response.headers["allow"] == "DELETE, GET, PATCH"
        assert error(response)["code"] == "method_not_allowed"


@pytest.mark.invalid_requests
@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b"{not json", "/"),
        (b"[]", "/"),
        (b'{"data": []}', "/data"),
        (b'{"data": {"type": "tag", "attributes": {"name": "x"}}}', "/data/type"),
        (b'{"data": {"type": "list", "attributes": {"name": 5}}}', "/data/attributes/name"),
        (b'{"data": {"type": "list", "attributes": {"name": "x", "colour": "red"}}}', "/data/attributes/colour"),
        (
            b'{"data": {"type": "list", "attributes": {"name": "x", "opt_in_process": "triple"}}}',
            "/data/attributes/opt_in_process",
        ),
        (b'{"data": {"type": "list", "attributes": {}}}', "/data/attributes/name"),
        (b'{"data": {"type": "list", "attributes": {"name": "   "}}}', "/data/attributes/name"),
        (b'{"data": {"type": "list"}}', "/data/attributes"),
        (b'{"data": {"type": "list", "attributes": {"name": "x"}, "extra": 1}}', "/data/extra"),
        (b"\xff\xfe", "/"),
    ],
)
def test_malformed_bodies_are_400_invalid_with_a_pointer(emulator: Emulator, api_key: str, body: bytes, pointer: str) -> None:
    with client(emulator, api_key) as http:
        response = http.post("/api/lists", content=body)
    assert response.status_code == 400, response.text
    problem = error(response)
    assert problem["code"] == "invalid" and problem["source"] == {"pointer": pointer}


@pytest.mark.invalid_requests
def test_wrong_types_in_every_kind_of_body(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        tag = create_tag(http, "t")
        cases = [
            ("POST", "/api/tag-groups", {"data": {"type": "tag-group", "attributes": {"name": "G", "exclusive": "yes"}}}),
            (
                "POST",
                "/api/templates",
                {"data": {"type": "template", "attributes": {"name": "T", "editor_type": "SIMPLE", "html": "x"}}},
            ),
            ("POST", "/api/template-render", {"data": {"type": "template", "id": "x", "attributes": {"context": []}}}),
            ("POST", f"/api/tags/{tag}/relationships/lists", {"data": [{"type": "tag", "id": "x"}]}),
            ("POST", f"/api/tags/{tag}/relationships/lists", {"data": {"type": "list", "id": "x"}}),
            ("PATCH", f"/api/tags/{tag}", {"data": {"type": "tag", "id": tag, "attributes": {}}}),
        ]
        for method, path, body in cases:
            response = http.request(method, path, json=body)
            assert response.status_code == 400, (path, response.text)
            assert error(response)["code"] == "invalid"


@pytest.mark.invalid_requests
def test_bodies_over_5_mb_are_413(emulator: Emulator, api_key: str) -> None:
    huge = "x" * (5 * 1024 * 1024 + 10)
    with client(emulator, api_key) as http:
        response = http.post(
            "/api/templates",
            json={"data": {"type": "template", "attributes": {"name": "big", "editor_type": "CODE", "html": huge}}},
        )
        assert response.status_code == 413
        assert error(response)["code"] == "payload_too_large"
        assert http.get("/api/templates").json()["data"] == []
        # Just under the limit is fine: large templates are real.
        almost = "x" * (5 * 1024 * 1024 - 200)
        assert create_template(http, "large", html=almost)


def test_responses_carry_revision_and_json_api_content_type(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        response = http.get("/api/tag-groups")
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.headers["x-klaviyo-api-revision"] == REVISION
    assert "ratelimit-limit" not in response.headers  # rate limits are off by default


@pytest.mark.invalid_requests
def test_quirks_mode_reproduces_real_klaviyo(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(quirks=True, rate_limits=1.0))
    emulator.seed(api_key, {"lists": [{"name": f"L{i}"} for i in range(3)]})
    with client(emulator, api_key) as http:
        document = http.get("/api/lists").json()
        assert document["links"]["next"] is None and document["links"]["prev"] is None
        assert document["data"][0]["links"]["self"].endswith("/")
        assert document["data"][0]["relationships"]["tags"]["links"]["related"].endswith("/tags/")
        missing = http.get("/api/lists/nope00")
        assert error(missing)["status"] == 404
        for _ in range(3):
            http.get("/api/tags")
        throttled = http.get("/api/tags")
        assert throttled.status_code == 429
        assert "retry-after" not in throttled.headers
        assert "Expected available in" in error(throttled)["detail"]
    with raw_client(emulator, {"Authorization": f"Bearer {api_key}", "revision": REVISION}) as http:
        html = http.get("/api/lists")
    assert html.status_code == 400 and html.headers["content-type"] == "text/html"


def test_spec_mode_error_status_is_a_string(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        problem = error(http.get("/api/lists/nope00"))
    assert problem["status"] == "404"
    assert set(problem) == {"id", "status", "code", "title", "detail", "source", "meta"}


def test_control_routes(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        seeded = http.post("/__emulator/seed", content=json.dumps({"lists": [{"name": "A"}, {"name": "B"}]}))
        assert seeded.status_code == 201 and len(seeded.json()["ids"]["lists"]) == 2
        http.get("/api/lists")
        http.get("/api/lists")
        counts = http.get("/__emulator/requests").json()
        assert counts == {"counts": {"get_lists": 2}, "throttled": {}, "total": 2}
        state = http.get("/__emulator/state").json()
        assert api_key not in json.dumps(state)
        (account,) = state["accounts"].values()
        assert sorted(item["name"] for item in account["lists"].values()) == ["A", "B"]
        assert http.post("/__emulator/reset").status_code == 204
        assert http.get("/__emulator/state").json()["accounts"] == {}
        assert http.get("/__emulator/requests").json()["total"] == 0
    assert emulator.request_log == []


@pytest.mark.invalid_requests
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"data": {"type": "list", "attributes": {"name": ' + b"1" * 5000 + b"}}}", "not acceptable JSON"),
        (b'{"data": {"type": "list", "attributes": {"name": "\\ud800"}}}', "unpaired UTF-16 surrogate"),
        (b'{"data": {"type": "list", "attributes": {"\\udfff": "x"}}}', "unpaired UTF-16 surrogate"),
    ],
)
def test_hostile_json_is_400_and_stores_nothing(emulator: Emulator, api_key: str, body: bytes, detail: str) -> None:
    with client(emulator, api_key) as http:
        response = http.post("/api/lists", content=body)
        assert response.status_code == 400, response.text
        problem = error(response)
        assert problem["code"] == "invalid" and detail in problem["detail"] and problem["source"] == {"pointer": "/"}
        assert http.get("/api/lists").json()["data"] == []
        seeded = http.post("/__emulator/seed", content=body)
        assert seeded.status_code == 400 and detail in error(seeded)["detail"]

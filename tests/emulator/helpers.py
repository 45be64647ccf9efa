"""Small helpers for driving the emulator with a synchronous httpx client in tests."""

from __future__ import annotations

from typing import Any

import httpx

from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.transport import SyncEmulatorTransport

BASE_URL = "https://a.klaviyo.com"


def headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Klaviyo-API-Key {api_key}",
        "revision": REVISION,
        "Accept": "application/vnd.api+json",
        "Content-Type": "application/vnd.api+json",
    }


def client(emulator: Emulator, api_key: str) -> httpx.Client:
    return httpx.Client(transport=SyncEmulatorTransport(emulator), base_url=BASE_URL, headers=headers(api_key))


def error(response: httpx.Response) -> dict[str, Any]:
    """The single error object of a JSON:API error answer."""
    assert response.headers["content-type"] == "application/vnd.api+json", response.text
    errors = response.json()["errors"]
    assert len(errors) == 1
    return dict(errors[0])


def create(http: httpx.Client, path: str, type_name: str, attributes: dict[str, Any], **extra: Any) -> str:
    response = http.post(path, json={"data": {"type": type_name, "attributes": attributes, **extra}})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def create_group(http: httpx.Client, name: str, exclusive: bool = False) -> str:
    return create(http, "/api/tag-groups", "tag-group", {"name": name, "exclusive": exclusive})


def create_tag(http: httpx.Client, name: str, group_id: str | None = None) -> str:
    extra = {"relationships": {"tag-group": {"data": {"type": "tag-group", "id": group_id}}}} if group_id else {}
    return create(http, "/api/tags", "tag", {"name": name}, **extra)


def create_list(http: httpx.Client, name: str) -> str:
    return create(http, "/api/lists", "list", {"name": name})


def create_template(http: httpx.Client, name: str, html: str = "<p>hi</p>", **attributes: Any) -> str:
    return create(http, "/api/templates", "template", {"name": name, "editor_type": "CODE", "html": html, **attributes})


def link(http: httpx.Client, tag_id: str, *list_ids: str) -> httpx.Response:
    return http.post(f"/api/tags/{tag_id}/relationships/lists", json={"data": [{"type": "list", "id": i} for i in list_ids]})


def tag_ids_of_list(http: httpx.Client, list_id: str) -> list[str]:
    response = http.get(f"/api/lists/{list_id}/relationships/tags")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def walk(http: httpx.Client, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every item of a collection, following links.next verbatim."""
    items: list[dict[str, Any]] = []
    response = http.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        document = response.json()
        items += document["data"]
        next_url = document["links"].get("next")
        if not next_url:
            return items
        response = http.get(next_url)

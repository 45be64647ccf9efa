"""Universal content blocks on the emulator: the five operations, paging, filters, sorts, rate limits, rules."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_sync.emulator import EmulatorConfig
from tests.emulator.helpers import client, error
from tests.emulator.test_ratelimits_faults import FakeClock

PATH = "/api/template-universal-content"
TYPE = "template-universal-content"


def html_block(html: str) -> dict[str, Any]:
    return {"content_type": "block", "type": "html", "data": {"content": html, "display_options": {}}}


def body(attributes: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"type": TYPE, "attributes": attributes}
    if block_id is not None:
        data["id"] = block_id
    return {"data": data}


def test_create_read_update_delete(emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        created = http.post(PATH, json=body({"name": "Footer", "definition": html_block("<p>F</p>")}))
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        block_id = data["id"]
        assert len(block_id) == 26 and block_id[0] in "01234567"
        attributes = data["attributes"]
        assert attributes["screenshot_status"] == "never_generated" and attributes["screenshot_url"] == ""
        assert attributes["definition"] == html_block("<p>F</p>") and attributes["created"] == attributes["updated"]

        got = http.get(f"{PATH}/{block_id}")
        assert got.status_code == 200 and got.json()["data"]["attributes"]["name"] == "Footer"

        renamed = http.patch(f"{PATH}/{block_id}", json=body({"name": "Site footer"}, block_id))
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["data"]["attributes"]["name"] == "Site footer"
        assert renamed.json()["data"]["attributes"]["definition"] == html_block("<p>F</p>")
        assert renamed.json()["data"]["attributes"]["updated"] >= attributes["updated"]

        assert http.delete(f"{PATH}/{block_id}").status_code == 204
        assert http.get(f"{PATH}/{block_id}").status_code == 404


def test_pages_hold_20_by_default_and_100_at_most(emulator, api_key: str) -> None:
    emulator.seed(
        api_key, {"universal_content": [{"name": f"B{i:03d}", "definition": html_block(f"<p>{i}</p>")} for i in range(130)]}
    )
    with client(emulator, api_key) as http:
        first = http.get(PATH).json()
        assert len(first["data"]) == 20 and first["links"]["next"]
        big = http.get(PATH, params={"page[size]": "100"}).json()
        assert len(big["data"]) == 100
        rest = http.get(big["links"]["next"]).json()
        assert len(rest["data"]) == 30 and not rest["links"].get("next")


@pytest.mark.invalid_requests
def test_a_page_over_100_is_refused(emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        too_big = http.get(PATH, params={"page[size]": "101"})
    assert too_big.status_code == 400 and error(too_big)["source"] == {"parameter": "page[size]"}


def test_filters_and_sorts(emulator, api_key: str) -> None:
    text = {"content_type": "block", "type": "text", "data": {"content": "T", "display_options": {}, "styles": {}}}
    emulator.seed(
        api_key,
        {"universal_content": [{"name": "A", "definition": html_block("a")}, {"name": "B", "definition": text}]},
    )
    with client(emulator, api_key) as http:
        by_type = http.get(PATH, params={"filter": 'equals(definition.type,"text")'}).json()["data"]
        by_name = http.get(PATH, params={"filter": 'any(name,["A","Z"])'}).json()["data"]
        descending = http.get(PATH, params={"sort": "-name"}).json()["data"]
        blocks = http.get(PATH, params={"filter": 'equals(definition.content_type,"block")'}).json()["data"]
    assert [b["attributes"]["name"] for b in by_type] == ["B"]
    assert [b["attributes"]["name"] for b in by_name] == ["A"]
    assert [b["attributes"]["name"] for b in descending] == ["B", "A"]
    assert len(blocks) == 2


@pytest.mark.invalid_requests
def test_only_writable_block_types_are_created_or_changed(emulator, api_key: str) -> None:
    # Klaviyo's editor makes blocks the API cannot write (a product block, or one it reports as unsupported).
    product = {"content_type": "block", "type": "product", "data": {}}
    unsupported = {"content_type": "block", "type": "unsupported", "data": "legacy"}
    ids = emulator.seed(api_key, {"universal_content": [{"name": "Old", "definition": unsupported}]})["universal_content"]
    with client(emulator, api_key) as http:
        refused = http.post(PATH, json=body({"name": "P", "definition": product}))
        no_content = http.post(
            PATH, json=body({"name": "H", "definition": {"content_type": "block", "type": "html", "data": {}}})
        )
        patch_seeded = http.patch(f"{PATH}/{ids[0]}", json=body({"definition": html_block("x")}, ids[0]))
        rename_seeded = http.patch(f"{PATH}/{ids[0]}", json=body({"name": "Old 2"}, ids[0]))
        missing = http.patch(f"{PATH}/01ARZ3NDEKTSV4RRFFQ69G5FAV", json=body({"name": "X"}, "01ARZ3NDEKTSV4RRFFQ69G5FAV"))
    assert refused.status_code == 400 and error(refused)["source"] == {"pointer": "/data/attributes/definition/type"}
    assert no_content.status_code == 400 and "content" in error(no_content)["detail"]
    assert patch_seeded.status_code == 400 and "'unsupported' block" in error(patch_seeded)["detail"]
    assert rename_seeded.status_code == 200 and rename_seeded.json()["data"]["attributes"]["name"] == "Old 2"
    assert missing.status_code == 404


def test_screenshot_status_is_configurable(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(screenshot_status="completed"))
    with client(emulator, api_key) as http:
        block = http.post(PATH, json=body({"name": "F", "definition": html_block("f")})).json()["data"]
        assert block["attributes"]["screenshot_status"] == "completed"
        changed = http.patch(f"{PATH}/{block['id']}", json=body({"definition": html_block("g")}, block["id"]))
    assert changed.json()["data"]["attributes"]["screenshot_status"] == "stale"


def test_rate_limits_are_75_a_second_and_750_a_minute(emulator_factory, api_key: str) -> None:
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0, monotonic=FakeClock()))
    with client(emulator, api_key) as http:
        first = http.get(PATH)
        statuses = [http.get(PATH).status_code for _ in range(75)]
    assert first.headers["ratelimit-limit"] == "750, 75;w=1, 750;w=60"
    assert statuses.count(429) == 1 and statuses[-1] == 429

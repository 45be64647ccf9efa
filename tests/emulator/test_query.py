"""Paging, filters, sort, sparse fieldsets, additional-fields and include, as each endpoint allows them."""

from __future__ import annotations

import base64
import json

import pytest

from klaviyo_sync.api_spec import operation
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.query import parse_filter
from tests.emulator.helpers import client, create_group, create_list, create_tag, create_template, error, link, walk


@pytest.mark.parametrize(
    ("path", "seed_kind", "page_size"),
    [
        ("/api/templates", "templates", 10),
        ("/api/lists", "lists", 10),
        ("/api/tags", "tags", 50),
        ("/api/tag-groups", "tag_groups", 25),
    ],
)
def test_collections_page_with_klaviyo_sizes_and_opaque_cursors(
    emulator: Emulator, api_key: str, path: str, seed_kind: str, page_size: int
) -> None:
    count = {"templates": 95, "lists": 23, "tags": 120, "tag_groups": 48}[seed_kind]
    items = {
        "templates": [{"name": f"T{i:03}", "html": "<p/>"} for i in range(count)],
        "lists": [{"name": f"L{i:03}"} for i in range(count)],
        "tags": [{"group": "Default", "name": f"t{i:03}"} for i in range(count)],
        "tag_groups": [{"name": f"G{i:03}", "exclusive": False} for i in range(count)],
    }[seed_kind]
    emulator.seed(api_key, {seed_kind: items})
    total = count + (1 if seed_kind == "tag_groups" else 0)  # the default group
    with client(emulator, api_key) as http:
        first = http.get(path).json()
        assert len(first["data"]) == page_size
        assert set(first["links"]) == {"self", "next"}  # spec mode: absent, never null
        assert "page%5Bcursor%5D=" in first["links"]["next"]
        everything = walk(http, path)
    assert len(everything) == total
    assert len({item["id"] for item in everything}) == total
    assert emulator.request_counts(api_key)[operation_id_for(path)] == 1 + -(-total // page_size)


def operation_id_for(path: str) -> str:
    return {
        "/api/templates": "get_templates",
        "/api/lists": "get_lists",
        "/api/tags": "get_tags",
        "/api/tag-groups": "get_tag_groups",
    }[path]


def test_next_links_keep_filter_sort_fields_and_size_and_prev_goes_back(emulator: Emulator, api_key: str) -> None:
    emulator.seed(
        api_key, {"templates": [{"name": f"News {i:02}", "html": "<p/>"} for i in range(12)] + [{"name": "Other", "html": "x"}]}
    )
    params = {"filter": "contains(name,'News')", "sort": "-name", "fields[template]": "name", "page[size]": "5"}
    with client(emulator, api_key) as http:
        pages = []
        response = http.get("/api/templates", params=params)
        while True:
            document = response.json()
            pages.append(document)
            if "next" not in document["links"]:
                break
            response = http.get(document["links"]["next"])
        names = [item["attributes"]["name"] for page in pages for item in page["data"]]
        assert names == [f"News {i:02}" for i in reversed(range(12))]
        assert all(set(item["attributes"]) == {"name"} for page in pages for item in page["data"])
        assert [len(p["data"]) for p in pages] == [5, 5, 2]
        back = http.get(pages[2]["links"]["prev"]).json()
        assert [i["id"] for i in back["data"]] == [i["id"] for i in pages[1]["data"]]


def test_cursors_stay_exact_while_objects_are_created_and_deleted(emulator: Emulator, api_key: str) -> None:
    ids = emulator.seed(api_key, {"lists": [{"name": f"L{i:02}"} for i in range(30)]})["lists"]
    with client(emulator, api_key) as http:
        first = http.get("/api/lists").json()
        seen = [item["id"] for item in first["data"]]
        # Between pages: delete an object already read and one not yet read, and create two new ones.
        assert http.delete(f"/api/lists/{ids[0]}").status_code == 204
        assert http.delete(f"/api/lists/{ids[25]}").status_code == 204
        late = [create_list(http, "late 1"), create_list(http, "late 2")]
        url = first["links"].get("next")
        while url:
            document = http.get(url).json()
            seen += [item["id"] for item in document["data"]]
            url = document["links"].get("next")
    survivors_present_throughout = [i for i in ids if i not in (ids[0], ids[25])]
    assert len(seen) == len(set(seen)), "an object was returned twice"
    assert set(survivors_present_throughout) <= set(seen), "an object present throughout was skipped"
    assert ids[25] not in seen
    assert set(late) <= set(seen)  # created after the cursor position in creation order


@pytest.mark.invalid_requests
@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/templates", {"page[size]": "11"}, "page[size]"),
        ("/api/tags", {"page[size]": "0"}, "page[size]"),
        ("/api/tag-groups", {"page[size]": "x"}, "page[size]"),
        ("/api/templates", {"sort": "editor_type"}, "sort"),
        ("/api/templates", {"fields[template]": "name,colour"}, "fields[template]"),
        ("/api/templates", {"include": "tags"}, "include"),
        ("/api/lists", {"include": "tag"}, "include"),
        ("/api/lists", {"filter": "contains(name,'x')"}, "filter"),
        ("/api/tags", {"filter": "equals(group,'x')"}, "filter"),
        ("/api/tags", {"filter": "equals(name,'x'"}, "filter"),
        ("/api/tag-groups", {"filter": "equals(exclusive,'yes')"}, "filter"),
        ("/api/templates", {"filter": "greater-than(updated,'yesterday')"}, "filter"),
        ("/api/templates", {"page[cursor]": "not-a-cursor"}, "page[cursor]"),
        ("/api/templates", {"colour": "red"}, "colour"),
        ("/api/tag-groups", {"include": "tags"}, "include"),
        ("/api/lists", {"additional-fields[list]": "profile_count"}, "additional-fields[list]"),  # get_list only
        ("/api/tags", {"fields[list]": "name"}, "fields[list]"),
        ("/api/lists", {"filter": "less-than(created,2024-01-01T00:00:00Z)"}, "filter"),  # lists: greater-than only
        ("/api/lists", {"sort": "opt_in_process"}, "sort"),
        ("/api/tags", {"sort": "created"}, "sort"),
    ],
)
def test_disallowed_query_parameters_are_400_with_source_parameter(
    emulator: Emulator, api_key: str, path: str, params: dict[str, str], parameter: str
) -> None:
    with client(emulator, api_key) as http:
        response = http.get(path, params=params)
    assert response.status_code == 400
    problem = error(response)
    assert problem["code"] == "invalid" and problem["title"] == "Invalid input."
    assert problem["source"] == {"parameter": parameter}


@pytest.mark.invalid_requests
def test_bad_include_has_klaviyo_wording(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        response = http.get("/api/lists", params={"include": "tagz"})
    assert error(response)["detail"] == "'tagz' is not an allowed include parameter for this resource."


@pytest.mark.invalid_requests
def test_repeated_parameter_is_400(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        response = http.get("/api/lists?include=tags&include=tags")
    assert response.status_code == 400 and error(response)["source"] == {"parameter": "include"}


def test_filter_grammar() -> None:
    get_templates = operation("get_templates")
    conditions = parse_filter(get_templates, "and(equals(name,'Tony\\'s \"ball\", (x)'),any(id,[\"a\",'b']))")
    assert [(c.operator, c.field, c.value) for c in conditions] == [
        ("equals", "name", 'Tony\'s "ball", (x)'),
        ("any", "id", ["a", "b"]),
    ]
    dated = parse_filter(get_templates, "greater-than(updated,2024-01-01T00:00:00Z),less-than(created,2025-01-01T00:00:00+02:00)")
    assert [c.value.isoformat() for c in dated] == ["2024-01-01T00:00:00+00:00", "2025-01-01T00:00:00+02:00"]
    flags = parse_filter(operation("get_tag_groups"), "equals(exclusive,true),equals(default,false)")
    assert [c.value for c in flags] == [True, False]


def test_filters_select_exactly(emulator_factory, api_key: str) -> None:
    now = [1_800_000_000.0]
    emulator = emulator_factory(EmulatorConfig(clock=lambda: now[0]))
    with client(emulator, api_key) as http:
        old = create_template(http, "Welcome")
        now[0] += 3600
        new = create_template(http, "Welcome back")
        create_template(http, "welcome lower")

        def names(path: str, filter_text: str) -> list[str]:
            response = http.get(path, params={"filter": filter_text})
            assert response.status_code == 200, response.text
            return sorted(item["attributes"]["name"] for item in response.json()["data"])

        assert names("/api/templates", "equals(name,'Welcome')") == ["Welcome"]
        assert names("/api/templates", "contains(name,'Welcome')") == ["Welcome", "Welcome back"]  # case-sensitive
        assert names("/api/templates", "any(name,['Welcome','welcome lower'])") == ["Welcome", "welcome lower"]
        assert names("/api/templates", f"equals(id,['{old}','{new}'])") == ["Welcome", "Welcome back"]
        assert names("/api/templates", "greater-than(created,2027-01-15T08:30:00Z)") == ["Welcome back", "welcome lower"]
        assert names("/api/templates", "less-or-equal(updated,2027-01-15T08:00:00+00:00)") == ["Welcome"]
        assert names("/api/templates", "and(contains(name,'Welcome'),greater-than(created,2027-01-15T08:30:00Z))") == [
            "Welcome back"
        ]
        create_list(http, "Newsletter")
        create_list(http, "VIP")
        assert names("/api/lists", "equals(name,'VIP')") == ["VIP"]  # scalar form, accepted as real Klaviyo does
        assert names("/api/lists", "any(name,['VIP','Newsletter'])") == ["Newsletter", "VIP"]
        group = create_group(http, "Channel", exclusive=True)
        create_tag(http, "Email", group)
        create_tag(http, "Emailing")
        assert names("/api/tags", "starts-with(name,'Email')") == ["Email", "Emailing"]
        assert names("/api/tags", "ends-with(name,'ing')") == ["Emailing"]
        assert names("/api/tag-groups", "equals(exclusive,true)") == ["Channel"]


def test_sort_orders(emulator: Emulator, api_key: str) -> None:
    emulator.seed(api_key, {"tags": [{"group": "Default", "name": n} for n in ("b", "c", "a")]})
    with client(emulator, api_key) as http:

        def order(sort: str | None) -> list[str]:
            params = {"sort": sort} if sort else {}
            return [t["attributes"]["name"] for t in http.get("/api/tags", params=params).json()["data"]]

        assert order(None) == ["b", "c", "a"]  # default: creation order
        assert order("name") == ["a", "b", "c"]
        assert order("-name") == ["c", "b", "a"]
        ids = [t["id"] for t in http.get("/api/tags", params={"sort": "id"}).json()["data"]]
        assert ids == sorted(ids)


def test_include_fills_relationship_data_and_deduplicated_included(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        group = create_group(http, "Lifecycle")
        vip, welcome = create_tag(http, "VIP", group), create_tag(http, "Welcome", group)
        lists = [create_list(http, f"L{i}") for i in range(3)]
        assert link(http, vip, *lists).status_code == 204
        assert link(http, welcome, lists[0]).status_code == 204
        document = http.get("/api/lists", params={"include": "tags", "fields[tag]": "name", "fields[list]": "name"}).json()
        assert [t["id"] for t in document["included"]] == [vip, welcome]
        assert document["data"][0]["relationships"]["tags"]["data"] == [
            {"type": "tag", "id": vip},
            {"type": "tag", "id": welcome},
        ]
        assert set(document["data"][0]["attributes"]) == {"name"}
        plain = http.get("/api/lists").json()
        assert "included" not in plain and "data" not in plain["data"][0]["relationships"]["tags"]
        tags = http.get("/api/tags", params={"include": "tag-group", "fields[tag-group]": "name"}).json()
        assert tags["included"] == [
            {
                "type": "tag-group",
                "id": group,
                "attributes": {"name": "Lifecycle"},
                "relationships": tags["included"][0]["relationships"],
                "links": {"self": f"https://a.klaviyo.com/api/tag-groups/{group}"},
            }
        ]
        single = http.get(f"/api/lists/{lists[0]}", params={"include": "tags", "additional-fields[list]": "profile_count"}).json()
        assert single["data"]["attributes"]["profile_count"] == 0 and len(single["included"]) == 2
        assert "profile_count" not in http.get(f"/api/lists/{lists[0]}").json()["data"]["attributes"]


def test_sparse_fieldsets_trim_attributes_only(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        template = create_template(http, "T", text="plain")
        document = http.get(f"/api/templates/{template}", params={"fields[template]": "name,text"}).json()
        assert document["data"]["attributes"] == {"name": "T", "text": "plain"}
        assert document["data"]["links"]["self"].endswith(f"/api/templates/{template}")
        tag = create_tag(http, "t")
        trimmed = http.get(f"/api/tags/{tag}", params={"fields[tag]": "id"}).json()["data"]
        assert trimmed["attributes"] == {} and "tag-group" in trimmed["relationships"]


def forged_cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.invalid_requests
@pytest.mark.parametrize(
    ("sort", "payload"),
    [
        (None, {"s": "seq", "k": [1], "d": "next"}),
        (None, {"s": "seq", "k": ["a", "b"], "d": "next"}),
        (None, {"s": "seq", "k": [{"x": 1}, "b"], "d": "next"}),
        (None, {"s": "seq", "k": [1, 2], "d": "next"}),
        ("name", {"s": "name", "k": [5, "b"], "d": "prev"}),
        ("created", {"s": "created", "k": [True, "b"], "d": "next"}),
        ("created", {"s": 7, "k": ["x", "b"], "d": "next"}),
        (None, [[[[[]]]]]),
    ],
)
def test_forged_cursors_are_400_never_a_crash(emulator: Emulator, api_key: str, sort: str | None, payload: object) -> None:
    emulator.seed(api_key, {"templates": [{"name": f"T{i}", "html": "<p/>"} for i in range(12)]})
    params = {"page[cursor]": forged_cursor(payload), **({"sort": sort} if sort else {})}
    with client(emulator, api_key) as http:
        response = http.get("/api/templates", params=params)
    assert response.status_code == 400
    assert error(response)["source"] == {"parameter": "page[cursor]"}


def test_datetime_filters_accept_every_rfc3339_form(emulator_factory, api_key: str) -> None:
    now = [1_800_000_000.0]  # 2027-01-15T08:00:00Z
    emulator = emulator_factory(EmulatorConfig(clock=lambda: now[0]))
    with client(emulator, api_key) as http:
        early = create_list(http, "early")
        now[0] += 10
        late = create_list(http, "late")
        for bound in (
            "2027-01-15T08:00:05Z",
            "2027-01-15T08:00:05+00:00",
            "2027-01-15T10:00:05+02:00",
            "2027-01-15T03:30:05-04:30",
            "2027-01-15T08:00:00.000001Z",
            "2027-01-15t08:00:05z",
        ):
            response = http.get("/api/lists", params={"filter": f"greater-than(created,{bound})", "sort": "created"})
            assert response.status_code == 200, (bound, response.text)
            assert [item["id"] for item in response.json()["data"]] == [late], bound
        # A '+' the client forgot to percent-encode arrives as a space; it still means +00:00.
        unencoded = http.get("/api/lists?filter=greater-than(created,2027-01-15T07:59:59+00:00)&sort=-created")
        assert [item["id"] for item in unencoded.json()["data"]] == [late, early]

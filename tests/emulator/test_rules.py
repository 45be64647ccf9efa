"""Klaviyo's rules, each broken once, with the status and error body the emulator answers."""

from __future__ import annotations

import re

import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.emulator.helpers import (
    client,
    create_group,
    create_list,
    create_tag,
    create_template,
    error,
    link,
    tag_ids_of_list,
)

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SHORT_ID = re.compile(r"^[A-Za-z0-9]{6}$")
DEFINITION = {"body": {"properties": {}, "styles": {}, "sections": []}, "styles": []}


def default_group_id(http) -> str:
    groups = http.get("/api/tag-groups", params={"filter": "equals(default,true)"}).json()["data"]
    assert len(groups) == 1
    return groups[0]["id"]


def test_every_account_starts_with_one_default_group_and_accounts_are_isolated(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as mine, client(emulator, "pk_other_account") as other:
        create_group(mine, "Lifecycle")
        mine_groups = mine.get("/api/tag-groups").json()["data"]
        other_groups = other.get("/api/tag-groups").json()["data"]
    assert [g["attributes"] for g in other_groups] == [{"name": "Default", "exclusive": False, "default": True}]
    assert sorted(g["attributes"]["name"] for g in mine_groups) == ["Default", "Lifecycle"]
    assert other_groups[0]["id"] != next(g["id"] for g in mine_groups if g["attributes"]["default"])


def test_ids_have_klaviyo_formats_and_are_never_reused(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        group = create_group(http, "G")
        tag = create_tag(http, "T", group)
        list_ids = [create_list(http, "L") for _ in range(3)]
        template = create_template(http, "T")
        assert http.delete(f"/api/templates/{template}").status_code == 204
        again = create_template(http, "T")
    assert UUID4.match(group) and UUID4.match(tag)
    assert all(SHORT_ID.match(i) for i in [*list_ids, template, again])
    assert again != template


def test_tag_cannot_move_between_groups(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        first, second = create_group(http, "A"), create_group(http, "B")
        tag = create_tag(http, "T", first)
        body = {
            "data": {
                "type": "tag",
                "id": tag,
                "attributes": {"name": "T"},
                "relationships": {"tag-group": {"data": {"type": "tag-group", "id": second}}},
            }
        }
        response = http.patch(f"/api/tags/{tag}", json=body)
        assert response.status_code == 400
        problem = error(response)
        assert problem["code"] == "invalid" and problem["source"] == {"pointer": "/data/relationships"}
        assert "cannot be moved" in problem["detail"]
        assert http.get(f"/api/tags/{tag}").json()["data"]["relationships"]["tag-group"]["data"]["id"] == first


pytestmark_invalid = pytest.mark.invalid_requests


@pytest.mark.invalid_requests
@pytest.mark.parametrize("field", ["exclusive", "default"])
def test_group_exclusive_and_default_are_immutable(emulator: Emulator, api_key: str, field: str) -> None:
    with client(emulator, api_key) as http:
        group = create_group(http, "G")
        body = {"data": {"type": "tag-group", "id": group, "attributes": {"name": "G", field: True}}}
        response = http.patch(f"/api/tag-groups/{group}", json=body)
        assert response.status_code == 400
        problem = error(response)
        assert problem["code"] == "invalid" and problem["source"] == {"pointer": f"/data/attributes/{field}"}
        assert http.get(f"/api/tag-groups/{group}").json()["data"]["attributes"] == {
            "name": "G",
            "exclusive": False,
            "default": False,
        }


@pytest.mark.invalid_requests
def test_a_second_default_group_cannot_be_created(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        response = http.post(
            "/api/tag-groups", json={"data": {"type": "tag-group", "attributes": {"name": "X", "default": True}}}
        )
        assert response.status_code == 400
        assert error(response)["source"] == {"pointer": "/data/attributes/default"}


def test_default_group_cannot_be_deleted(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        default = default_group_id(http)
        response = http.delete(f"/api/tag-groups/{default}")
        assert response.status_code == 400
        problem = error(response)
        assert problem["code"] == "invalid" and "default tag group cannot be deleted" in problem["detail"]
        assert http.get(f"/api/tag-groups/{default}").status_code == 200


def test_deleting_a_group_deletes_its_tags_and_their_links(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        doomed, kept = create_group(http, "Doomed"), create_group(http, "Kept")
        doomed_tags = [create_tag(http, n, doomed) for n in ("a", "b")]
        kept_tag = create_tag(http, "c", kept)
        newsletter = create_list(http, "Newsletter")
        for tag in [*doomed_tags, kept_tag]:
            assert link(http, tag, newsletter).status_code == 204
        assert http.delete(f"/api/tag-groups/{doomed}").status_code == 204
        assert http.get(f"/api/tag-groups/{doomed}").status_code == 404
        for tag in doomed_tags:
            assert error(http.get(f"/api/tags/{tag}"))["code"] == "not_found"
        assert tag_ids_of_list(http, newsletter) == [kept_tag]
        included = http.get("/api/lists", params={"include": "tags"}).json()["included"]
        assert [t["id"] for t in included] == [kept_tag]


def test_deleting_a_tag_or_a_list_removes_its_links(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        first, second = create_tag(http, "first"), create_tag(http, "second")
        a, b = create_list(http, "A"), create_list(http, "B")
        assert link(http, first, a, b).status_code == 204
        assert link(http, second, a, b).status_code == 204
        assert http.delete(f"/api/tags/{first}").status_code == 204
        assert tag_ids_of_list(http, a) == [second]
        assert http.delete(f"/api/lists/{a}").status_code == 204
        lists_of_second = http.get(f"/api/tags/{second}/relationships/lists").json()["data"]
        assert lists_of_second == [{"type": "list", "id": b}]


def test_links_are_idempotent_and_seen_the_same_way_everywhere(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        tag, newsletter = create_tag(http, "VIP"), create_list(http, "Newsletter")
        assert link(http, tag, newsletter).status_code == 204
        assert link(http, tag, newsletter).status_code == 204
        assert http.get(f"/api/lists/{newsletter}/tags").json()["data"][0]["id"] == tag
        assert tag_ids_of_list(http, newsletter) == [tag]
        assert http.get(f"/api/tags/{tag}/relationships/lists").json()["data"] == [{"type": "list", "id": newsletter}]
        listed = http.get("/api/lists", params={"include": "tags"}).json()["data"][0]
        assert listed["relationships"]["tags"]["data"] == [{"type": "tag", "id": tag}]
        body = {"data": [{"type": "list", "id": newsletter}]}
        for _ in range(2):
            response = http.request("DELETE", f"/api/tags/{tag}/relationships/lists", json=body)
            assert response.status_code == 204 and response.content == b""
        assert tag_ids_of_list(http, newsletter) == []


def test_linking_an_unknown_list_is_404_and_changes_nothing(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        tag, real = create_tag(http, "T"), create_list(http, "L")
        response = link(http, tag, real, "nope00")
        assert response.status_code == 404
        assert error(response)["source"] == {"pointer": "/data/1/id"}
        assert tag_ids_of_list(http, real) == []


def test_exclusive_group_allows_one_tag_per_list(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        channel = create_group(http, "Channel", exclusive=True)
        email, sms = create_tag(http, "Email", channel), create_tag(http, "SMS", channel)
        newsletter = create_list(http, "Newsletter")
        assert link(http, email, newsletter).status_code == 204
        response = link(http, sms, newsletter)
        assert response.status_code == 400
        problem = error(response)
        assert problem["code"] == "invalid" and "exclusive" in problem["detail"] and "Email" in problem["detail"]
        assert tag_ids_of_list(http, newsletter) == [email]


def test_duplicate_tag_name_within_a_group_is_409_but_allowed_across_groups(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        first, second = create_group(http, "A"), create_group(http, "B")
        create_tag(http, "VIP", first)
        create_tag(http, "VIP", second)
        body = {
            "data": {
                "type": "tag",
                "attributes": {"name": "VIP"},
                "relationships": {"tag-group": {"data": {"type": "tag-group", "id": first}}},
            }
        }
        response = http.post("/api/tags", json=body)
        assert response.status_code == 409
        problem = error(response)
        assert problem["code"] == "conflict" and problem["source"] == {"pointer": "/data/attributes/name"}
        other = create_tag(http, "Other", first)
        rename = http.patch(f"/api/tags/{other}", json={"data": {"type": "tag", "id": other, "attributes": {"name": "VIP"}}})
        assert rename.status_code == 409


def test_duplicate_group_names_are_409(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        create_group(http, "Lifecycle")
        response = http.post("/api/tag-groups", json={"data": {"type": "tag-group", "attributes": {"name": "Lifecycle"}}})
        assert response.status_code == 409
        assert error(response)["code"] == "conflict"


def test_duplicate_template_and_list_names_are_allowed(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        assert create_template(http, "Welcome") != create_template(http, "Welcome")
        assert create_list(http, "VIP") != create_list(http, "VIP")
        found = http.get("/api/templates", params={"filter": "equals(name,'Welcome')"}).json()["data"]
        assert len(found) == 2


def test_new_tag_without_group_lands_in_the_default_group(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        tag = create_tag(http, "Loose")
        group = http.get(f"/api/tags/{tag}/relationships/tag-group").json()["data"]
        assert group == {"type": "tag-group", "id": default_group_id(http)}
        assert http.get(f"/api/tags/{tag}/tag-group").json()["data"]["attributes"]["default"] is True


def test_tag_in_an_unknown_group_is_rejected(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        body = {
            "data": {
                "type": "tag",
                "attributes": {"name": "X"},
                "relationships": {"tag-group": {"data": {"type": "tag-group", "id": "2f1c6a9e-0000-4000-8000-000000000000"}}},
            }
        }
        response = http.post("/api/tags", json=body)
        assert response.status_code == 400
        assert error(response)["source"] == {"pointer": "/data/relationships/tag-group/data/id"}


def test_template_cap_applies_to_create_and_clone(emulator: Emulator, api_key: str) -> None:
    ids = emulator.seed(api_key, {"templates": [{"name": f"T{i}", "html": "<p/>"} for i in range(1000)]})["templates"]
    with client(emulator, api_key) as http:
        body = {"data": {"type": "template", "attributes": {"name": "one more", "editor_type": "CODE", "html": "<p/>"}}}
        response = http.post("/api/templates", json=body)
        assert response.status_code == 400
        assert "limit of 1000 templates" in error(response)["detail"]
        clone = http.post("/api/template-clone", json={"data": {"type": "template", "id": ids[0], "attributes": {}}})
        assert clone.status_code == 400
        assert http.delete(f"/api/templates/{ids[0]}").status_code == 204
        create_template(http, "fits again")


def test_tag_cap_is_500(emulator: Emulator, api_key: str) -> None:
    emulator.seed(api_key, {"tags": [{"group": "Default", "name": f"t{i}"} for i in range(500)]})
    with client(emulator, api_key) as http:
        response = http.post("/api/tags", json={"data": {"type": "tag", "attributes": {"name": "t500"}}})
        assert response.status_code == 400
        assert "more than 500 unique tags" in error(response)["detail"]


def test_tag_group_cap_is_50_including_the_default(emulator: Emulator, api_key: str) -> None:
    emulator.seed(api_key, {"tag_groups": [{"name": f"g{i}", "exclusive": False} for i in range(49)]})
    with client(emulator, api_key) as http:
        response = http.post("/api/tag-groups", json={"data": {"type": "tag-group", "attributes": {"name": "g49"}}})
        assert response.status_code == 400
        assert "more than 50 unique tag groups" in error(response)["detail"]


def test_a_list_holds_at_most_100_tags(emulator: Emulator, api_key: str) -> None:
    ids = emulator.seed(api_key, {"tags": [{"group": "Default", "name": f"t{i}"} for i in range(101)], "lists": [{"name": "L"}]})
    newsletter = ids["lists"][0]
    with client(emulator, api_key) as http:
        for tag in ids["tags"][:100]:
            assert link(http, tag, newsletter).status_code == 204
        response = link(http, ids["tags"][100], newsletter)
        assert response.status_code == 400
        assert "cannot have more" in error(response)["detail"]
        assert len(tag_ids_of_list(http, newsletter)) == 100


def test_list_creations_are_capped_at_150_a_day(emulator_factory, api_key: str) -> None:
    # Windows 10,000x shorter: the day lasts 8.64 s, a burst window 0.1 ms, a steady one 6 ms.
    emulator = emulator_factory(EmulatorConfig(rate_limits=0.0001))
    created = 0
    with client(emulator, api_key) as http:
        while True:
            response = http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": f"L{created}"}}})
            if response.status_code == 201:
                created += 1
                continue
            assert response.status_code == 429
            problem = error(response)
            if float(re.search(r"available in ([\d.]+) second", problem["detail"]).group(1)) < 0.5:
                continue  # a burst/steady window, not the daily one
            break
    assert created == 150
    assert problem["code"] == "throttled"


@pytest.mark.invalid_requests
def test_editor_type_never_changes(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        template = create_template(http, "T")
        body = {"data": {"type": "template", "id": template, "attributes": {"editor_type": "SYSTEM_DRAGGABLE"}}}
        response = http.patch(f"/api/templates/{template}", json=body)
        assert response.status_code == 400
        assert error(response)["source"] == {"pointer": "/data/attributes/editor_type"}
        assert http.get(f"/api/templates/{template}").json()["data"]["attributes"]["editor_type"] == "CODE"


@pytest.mark.invalid_requests
def test_drag_and_drop_templates_take_definition_not_html(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        both = {"name": "D", "editor_type": "SYSTEM_DRAGGABLE", "html": "<p/>", "definition": DEFINITION}
        response = http.post("/api/templates", json={"data": {"type": "template", "attributes": both}})
        assert response.status_code == 400 and error(response)["source"] == {"pointer": "/data/attributes/html"}
        missing = {"name": "D", "editor_type": "SYSTEM_DRAGGABLE"}
        response = http.post("/api/templates", json={"data": {"type": "template", "attributes": missing}})
        assert response.status_code == 400 and error(response)["source"] == {"pointer": "/data/attributes/definition"}
        no_html = {"name": "C", "editor_type": "CODE"}
        response = http.post("/api/templates", json={"data": {"type": "template", "attributes": no_html}})
        assert response.status_code == 400 and error(response)["source"] == {"pointer": "/data/attributes/html"}
        good = {"name": "D", "editor_type": "SYSTEM_DRAGGABLE", "definition": DEFINITION}
        created = http.post("/api/templates", json={"data": {"type": "template", "attributes": good}})
        assert created.status_code == 201
        draggable = created.json()["data"]
        assert draggable["attributes"]["definition"] == DEFINITION and draggable["attributes"]["html"]
        patch_html = {"data": {"type": "template", "id": draggable["id"], "attributes": {"html": "<p/>"}}}
        assert http.patch(f"/api/templates/{draggable['id']}", json=patch_html).status_code == 400
        code = create_template(http, "C")
        patch_definition = {"data": {"type": "template", "id": code, "attributes": {"definition": DEFINITION}}}
        response = http.patch(f"/api/templates/{code}", json=patch_definition)
        assert response.status_code == 400 and error(response)["source"] == {"pointer": "/data/attributes/definition"}


def test_definition_is_replaced_wholesale_and_shown_where_klaviyo_shows_it(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        attrs = {"name": "D", "editor_type": "SYSTEM_DRAGGABLE", "definition": DEFINITION}
        template = http.post("/api/templates", json={"data": {"type": "template", "attributes": attrs}}).json()["data"]["id"]
        new_definition = {"body": {"properties": {"css_class": "x"}, "styles": {"width": 600}}, "styles": []}
        body = {"data": {"type": "template", "id": template, "attributes": {"definition": new_definition}}}
        assert http.patch(f"/api/templates/{template}", json=body).json()["data"]["attributes"]["definition"] == new_definition
        assert http.get(f"/api/templates/{template}").json()["data"]["attributes"]["definition"] == new_definition
        listed = http.get("/api/templates").json()["data"][0]["attributes"]
        assert "definition" not in listed
        extra = http.get("/api/templates", params={"additional-fields[template]": "definition"}).json()["data"][0]
        assert extra["attributes"]["definition"] == new_definition


def test_update_changes_updated_and_answers_as_klaviyo_does(emulator_factory, api_key: str) -> None:
    now = [1_800_000_000.0]
    emulator = emulator_factory(EmulatorConfig(clock=lambda: now[0]))
    with client(emulator, api_key) as http:
        template = create_template(http, "T")
        newsletter = create_list(http, "L")
        group = create_group(http, "G")
        tag = create_tag(http, "t", group)
        now[0] += 61
        patched = http.patch(
            f"/api/templates/{template}", json={"data": {"type": "template", "id": template, "attributes": {"html": "<b/>"}}}
        )
        assert patched.status_code == 200
        attributes = patched.json()["data"]["attributes"]
        assert attributes["created"] == "2027-01-15T08:00:00+00:00"
        assert attributes["updated"] == "2027-01-15T08:01:01+00:00"
        assert attributes["html"] == "<b/>"
        renamed = http.patch(
            f"/api/lists/{newsletter}", json={"data": {"type": "list", "id": newsletter, "attributes": {"name": "M"}}}
        )
        assert renamed.status_code == 200 and renamed.json()["data"]["attributes"]["updated"] == "2027-01-15T08:01:01+00:00"
        for path, type_name in ((f"/api/tags/{tag}", "tag"), (f"/api/tag-groups/{group}", "tag-group")):
            object_id = path.rsplit("/", 1)[1]
            response = http.patch(path, json={"data": {"type": type_name, "id": object_id, "attributes": {"name": "renamed"}}})
            assert response.status_code == 204 and response.content == b""
            assert http.get(path).json()["data"]["attributes"]["name"] == "renamed"


@pytest.mark.invalid_requests
def test_patch_with_another_id_than_the_path_is_409(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        first, second = create_list(http, "A"), create_list(http, "B")
        response = http.patch(f"/api/lists/{first}", json={"data": {"type": "list", "id": second, "attributes": {"name": "x"}}})
        assert response.status_code == 409
        assert error(response)["source"] == {"pointer": "/data/id"}


def test_unknown_and_deleted_ids_are_404(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        template = create_template(http, "T")
        assert http.delete(f"/api/templates/{template}").status_code == 204
        for response in (
            http.get(f"/api/templates/{template}"),
            http.delete(f"/api/templates/{template}"),
            http.get("/api/lists/AAAAAA"),
            http.get("/api/tags/2f1c6a9e-0000-4000-8000-000000000000"),
            http.get("/api/tag-groups/2f1c6a9e-0000-4000-8000-000000000000/tags"),
        ):
            assert response.status_code == 404
            assert error(response)["code"] == "not_found"


def test_clone_copies_content_under_a_new_id(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        source = create_template(http, "Welcome", html="<p>{{ first_name }}</p>", text="hi")
        response = http.post(
            "/api/template-clone", json={"data": {"type": "template", "id": source, "attributes": {"name": "Welcome FR"}}}
        )
        assert response.status_code == 201
        clone = response.json()["data"]
        assert clone["id"] != source
        assert clone["attributes"]["name"] == "Welcome FR"
        assert clone["attributes"]["html"] == "<p>{{ first_name }}</p>" and clone["attributes"]["text"] == "hi"
        unnamed = http.post("/api/template-clone", json={"data": {"type": "template", "id": source, "attributes": {}}})
        assert unnamed.json()["data"]["attributes"]["name"] == "Welcome (Clone)"
        missing = http.post("/api/template-clone", json={"data": {"type": "template", "id": "nope00", "attributes": {}}})
        assert missing.status_code == 404


def test_render_substitutes_variables_and_stores_nothing(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        html = "<p>Hi {{ first_name|default:'there' }}, {{ person.city }}{% if vip %}!{% endif %}{{ missing }}</p>"
        template = create_template(http, "T", html=html, text="Hi {{ first_name }}")
        body = {"data": {"type": "template", "id": template, "attributes": {"context": {"person": {"city": "Lyon"}}}}}
        response = http.post("/api/template-render", json=body)
        assert response.status_code == 201
        attributes = response.json()["data"]["attributes"]
        assert attributes["html"] == "<p>Hi there, Lyon</p>"
        assert attributes["text"] == "Hi "
        assert http.get(f"/api/templates/{template}").json()["data"]["attributes"]["html"] == html
        assert len(http.get("/api/templates").json()["data"]) == 1


def test_list_creations_are_capped_at_150_a_utc_day_without_rate_limits(emulator_factory, api_key: str) -> None:
    now = [1_800_000_000.0 + 15 * 3600]  # 2027-01-15T23:00:00Z: one hour to midnight
    emulator = emulator_factory(EmulatorConfig(clock=lambda: now[0]))
    emulator.seed(api_key, {"lists": [{"name": f"old {i}"} for i in range(200)]})  # seeded lists are not created today
    body = {"data": {"type": "list", "attributes": {"name": "L"}}}
    with client(emulator, api_key) as http:
        statuses = [http.post("/api/lists", json=body).status_code for _ in range(150)]
        assert statuses == [201] * 150
        refused = http.post("/api/lists", json=body)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "3600"
        problem = error(refused)
        assert (
            problem["code"] == "throttled" and problem["detail"] == "Request was throttled. Expected available in 3600 seconds."
        )
        with client(emulator, "pk_another_account") as other:
            assert other.post("/api/lists", json=body).status_code == 201  # counted per account
        now[0] += 3600  # the next UTC day
        assert http.post("/api/lists", json=body).status_code == 201
    assert sorted(len(account["lists"]) for account in emulator.dump()["accounts"].values()) == [1, 200 + 151]


@pytest.mark.invalid_requests
@pytest.mark.parametrize(
    ("definition", "pointer"),
    [
        ({"body": "x", "styles": []}, "/data/attributes/definition/body"),
        ({"body": [], "styles": []}, "/data/attributes/definition/body"),
        ({"styles": []}, "/data/attributes/definition/body"),
        ({"body": {"properties": {}, "styles": {}, "sections": {}}, "styles": []}, "/data/attributes/definition/body/sections"),
    ],
)
def test_a_definition_of_the_wrong_shape_is_a_400_on_create_and_update(
    emulator: Emulator, api_key: str, definition: dict, pointer: str
) -> None:
    with client(emulator, api_key) as http:
        attrs = {"name": "D", "editor_type": "SYSTEM_DRAGGABLE", "definition": definition}
        response = http.post("/api/templates", json={"data": {"type": "template", "attributes": attrs}})
        assert response.status_code == 400 and error(response)["source"] == {"pointer": pointer}
        good = {"name": "D", "editor_type": "SYSTEM_DRAGGABLE", "definition": DEFINITION}
        template = http.post("/api/templates", json={"data": {"type": "template", "attributes": good}}).json()["data"]["id"]
        body = {"data": {"type": "template", "id": template, "attributes": {"definition": definition}}}
        response = http.patch(f"/api/templates/{template}", json=body)
        assert response.status_code == 400 and error(response)["source"] == {"pointer": pointer}
        assert http.get(f"/api/templates/{template}").json()["data"]["attributes"]["definition"] == DEFINITION

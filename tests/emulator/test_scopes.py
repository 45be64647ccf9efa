"""API key scopes: a key limited to some scopes gets Klaviyo's 403 permission_denied for anything else."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_sync.api_spec import operation, operations
from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.resources import HANDLERS
from klaviyo_sync.emulator.scopes import ScopeError
from klaviyo_sync.emulator.transport import SyncEmulatorTransport
from klaviyo_sync.errors import PermissionDeniedError
from tests.emulator.helpers import client, error, headers
from tests.emulator.test_server import start_cli_emulator, stop_cli_emulator
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

Factory = Callable[[EmulatorConfig | None], Emulator]
SEED = {
    "tag_groups": [{"name": "Channel", "exclusive": False}],
    "tags": [{"group": "Channel", "name": "Email"}, {"group": "Channel", "name": "SMS"}],
    "lists": [{"name": "Newsletter", "tags": [["Channel", "Email"]]}],
    "templates": [{"name": "Welcome", "html": "<p>Hi {{ first_name }}</p>"}],
    "flows": [{"name": "Welcome", "emails": [{"name": "Email #1", "template": "Welcome"}]}],
    "accounts": [{"organization_name": "Scoped Inc"}],
    "universal_content": [
        {
            "name": "Footer",
            "definition": {"content_type": "block", "type": "html", "data": {"content": "<p>F</p>", "display_options": {}}},
        }
    ],
}
BLOCK = {"content_type": "block", "type": "html", "data": {"content": "<p>New</p>", "display_options": {}}}


def request_for(op_id: str, ids: dict[str, list[str]]) -> tuple[str, str, dict[str, Any] | None]:
    """A valid request for each operation, on the objects of SEED."""
    template, group, tag, other_tag, a_list = (
        ids["templates"][0],
        ids["tag_groups"][0],
        ids["tags"][0],
        ids["tags"][1],
        ids["lists"][0],
    )
    lists_op = {"data": [{"type": "list", "id": a_list}]}
    flow, action, message = ids["flows"][0], ids["flow_actions"][0], ids["flow_messages"][0]
    node = {"type": "send-email", "data": {"status": "draft", "message": {"id": message, "subject_line": "New"}}}
    definition = {
        "triggers": [{"type": "list", "id": a_list}],
        "entry_action_id": "a",
        "actions": [{**node, "temporary_id": "a"}],
    }
    definition["actions"][0]["data"] = {"message": {"name": "Email #1", "template_id": template}}
    block = ids["universal_content"][0]
    return {
        "get_accounts": ("GET", "/api/accounts", None),
        "get_account": ("GET", f"/api/accounts/{ids['accounts'][0]}", None),
        "get_flows": ("GET", "/api/flows", None),
        "get_flow": ("GET", f"/api/flows/{flow}", None),
        "create_flow": ("POST", "/api/flows", {"data": {"type": "flow", "attributes": {"name": "F", "definition": definition}}}),
        "update_flow": ("PATCH", f"/api/flows/{flow}", {"data": {"type": "flow", "id": flow, "attributes": {"status": "live"}}}),
        "delete_flow": ("DELETE", f"/api/flows/{flow}", None),
        "get_actions_for_flow": ("GET", f"/api/flows/{flow}/flow-actions", None),
        "get_flow_action": ("GET", f"/api/flow-actions/{action}", None),
        "update_flow_action": (
            "PATCH",
            f"/api/flow-actions/{action}",
            {"data": {"type": "flow-action", "id": action, "attributes": {"definition": node}}},
        ),
        "get_flow_action_messages": ("GET", f"/api/flow-actions/{action}/flow-messages", None),
        "get_flow_message": ("GET", f"/api/flow-messages/{message}", None),
        "get_template_for_flow_message": ("GET", f"/api/flow-messages/{message}/template", None),
        "get_templates": ("GET", "/api/templates", None),
        "get_template": ("GET", f"/api/templates/{template}", None),
        "create_template": (
            "POST",
            "/api/templates",
            {"data": {"type": "template", "attributes": {"name": "New", "editor_type": "CODE", "html": "<p>n</p>"}}},
        ),
        "update_template": (
            "PATCH",
            f"/api/templates/{template}",
            {"data": {"type": "template", "id": template, "attributes": {"name": "Renamed"}}},
        ),
        "delete_template": ("DELETE", f"/api/templates/{template}", None),
        "clone_template": (
            "POST",
            "/api/template-clone",
            {"data": {"type": "template", "id": template, "attributes": {"name": "Copy"}}},
        ),
        "render_template": (
            "POST",
            "/api/template-render",
            {"data": {"type": "template", "id": template, "attributes": {"context": {"first_name": "Ana"}}}},
        ),
        "get_lists": ("GET", "/api/lists", None),
        "get_list": ("GET", f"/api/lists/{a_list}", None),
        "create_list": ("POST", "/api/lists", {"data": {"type": "list", "attributes": {"name": "New"}}}),
        "update_list": ("PATCH", f"/api/lists/{a_list}", {"data": {"type": "list", "id": a_list, "attributes": {"name": "R"}}}),
        "delete_list": ("DELETE", f"/api/lists/{a_list}", None),
        "get_tags_for_list": ("GET", f"/api/lists/{a_list}/tags", None),
        "get_tag_ids_for_list": ("GET", f"/api/lists/{a_list}/relationships/tags", None),
        "get_flows_triggered_by_list": ("GET", f"/api/lists/{a_list}/flow-triggers", None),
        "get_ids_for_flows_triggered_by_list": ("GET", f"/api/lists/{a_list}/relationships/flow-triggers", None),
        "get_flow_ids_for_tag": ("GET", f"/api/tags/{tag}/relationships/flows", None),
        "get_campaign_ids_for_tag": ("GET", f"/api/tags/{tag}/relationships/campaigns", None),
        "get_segment_ids_for_tag": ("GET", f"/api/tags/{tag}/relationships/segments", None),
        "get_tags": ("GET", "/api/tags", None),
        "get_tag": ("GET", f"/api/tags/{tag}", None),
        "create_tag": ("POST", "/api/tags", {"data": {"type": "tag", "attributes": {"name": "Push"}}}),
        "update_tag": ("PATCH", f"/api/tags/{tag}", {"data": {"type": "tag", "id": tag, "attributes": {"name": "Mail"}}}),
        "delete_tag": ("DELETE", f"/api/tags/{tag}", None),
        "tag_lists": ("POST", f"/api/tags/{other_tag}/relationships/lists", lists_op),
        "remove_tag_from_lists": ("DELETE", f"/api/tags/{tag}/relationships/lists", lists_op),
        "get_list_ids_for_tag": ("GET", f"/api/tags/{tag}/relationships/lists", None),
        "get_tag_group_for_tag": ("GET", f"/api/tags/{tag}/tag-group", None),
        "get_tag_group_id_for_tag": ("GET", f"/api/tags/{tag}/relationships/tag-group", None),
        "get_tag_groups": ("GET", "/api/tag-groups", None),
        "get_tag_group": ("GET", f"/api/tag-groups/{group}", None),
        "create_tag_group": ("POST", "/api/tag-groups", {"data": {"type": "tag-group", "attributes": {"name": "Topic"}}}),
        "update_tag_group": (
            "PATCH",
            f"/api/tag-groups/{group}",
            {"data": {"type": "tag-group", "id": group, "attributes": {"name": "Channels"}}},
        ),
        "delete_tag_group": ("DELETE", f"/api/tag-groups/{group}", None),
        "get_tags_for_tag_group": ("GET", f"/api/tag-groups/{group}/tags", None),
        "get_tag_ids_for_tag_group": ("GET", f"/api/tag-groups/{group}/relationships/tags", None),
        "get_all_universal_content": ("GET", "/api/template-universal-content", None),
        "get_universal_content": ("GET", f"/api/template-universal-content/{block}", None),
        "create_universal_content": (
            "POST",
            "/api/template-universal-content",
            {"data": {"type": "template-universal-content", "attributes": {"name": "Header", "definition": BLOCK}}},
        ),
        "update_universal_content": (
            "PATCH",
            f"/api/template-universal-content/{block}",
            {"data": {"type": "template-universal-content", "id": block, "attributes": {"definition": BLOCK}}},
        ),
        "delete_universal_content": ("DELETE", f"/api/template-universal-content/{block}", None),
    }[op_id]


def send(http: httpx.Client, request: tuple[str, str, dict[str, Any] | None], **params: str) -> httpx.Response:
    method, path, body = request
    return http.request(method, path, json=body, params=params or None)


def limited(factory: Factory, scopes: tuple[str, ...]) -> tuple[Emulator, dict[str, list[str]]]:
    emulator = factory(EmulatorConfig(key_scopes={CANARY_KEY: scopes}))
    return emulator, seeded(emulator, CANARY_KEY)


def seeded(emulator: Emulator, key: str) -> dict[str, list[str]]:
    """SEED in the key's account: the ids per kind, with the flow's action and message ids."""
    ids = emulator.seed(key, SEED)
    collections = emulator.store.account(key).collections
    return {**ids, "flow_actions": list(collections["flow_actions"]), "flow_messages": list(collections["flow_messages"])}


def assert_denied(response: httpx.Response, missing: str) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    problem = error(response)
    assert problem["code"] == "permission_denied" and problem["status"] == "403"
    assert problem["title"] == "You do not have permission to perform this action."
    assert missing in problem["detail"]
    assert not find_canary(response.text) and not find_canary(str(response.headers))
    return problem


def test_every_operation_of_the_api_is_covered() -> None:
    assert set(HANDLERS) == set(operations())


@pytest.mark.parametrize("op_id", sorted(HANDLERS))
def test_each_operation_needs_exactly_its_spec_scopes(emulator_factory: Factory, op_id: str) -> None:
    needed = operation(op_id).scopes
    for missing in needed:
        emulator, ids = limited(emulator_factory, tuple(scope for scope in needed if scope != missing))
        before = emulator.dump()
        with client(emulator, CANARY_KEY) as http:
            problem = assert_denied(send(http, request_for(op_id, ids)), missing)
        assert problem["source"] == {"pointer": "/data/"}
        assert emulator.dump() == before  # refused before anything was touched
        assert [(r.operation_id, r.status) for r in emulator.request_log] == [(op_id, 403)]
    emulator, ids = limited(emulator_factory, needed)
    with client(emulator, CANARY_KEY) as http:
        response = send(http, request_for(op_id, ids))
    assert response.status_code == operation(op_id).success_status, response.text


@pytest.mark.parametrize(
    ("granted", "op_id", "missing"),
    [
        (("templates:write",), "get_templates", "templates:read"),  # write does not grant read...
        (("templates:read",), "delete_template", "templates:write"),  # ...nor read write
        (("tags:write",), "update_tag", "tags:read"),
        (("lists:write", "tags:read"), "get_list_ids_for_tag", "lists:read"),
        (("profiles:read", "lists:read"), "create_list", "lists:write"),  # scopes of other families grant nothing here
    ],
)
def test_scopes_stand_alone(emulator_factory: Factory, granted: tuple[str, ...], op_id: str, missing: str) -> None:
    emulator, ids = limited(emulator_factory, granted)
    with client(emulator, CANARY_KEY) as http:
        assert_denied(send(http, request_for(op_id, ids)), missing)


def test_a_key_without_any_scope_is_refused_everything(emulator_factory: Factory) -> None:
    emulator, ids = limited(emulator_factory, ())
    with client(emulator, CANARY_KEY) as http:
        for op_id in ("get_templates", "get_lists", "get_tag_groups", "create_tag"):
            problem = assert_denied(send(http, request_for(op_id, ids)), ", ".join(operation(op_id).scopes))
            assert problem["detail"].startswith("This API key lacks the scope")


@pytest.mark.parametrize(
    ("op_id", "include", "base", "extra"),
    [
        ("get_lists", "tags", "lists:read", "tags:read"),
        ("get_list", "tags", "lists:read", "tags:read"),
        ("get_lists", "flow-triggers", "lists:read", "flows:read"),
    ],
)
def test_include_needs_read_scope_on_the_included_type(
    emulator_factory: Factory, op_id: str, include: str, base: str, extra: str
) -> None:
    emulator, ids = limited(emulator_factory, (base,))
    with client(emulator, CANARY_KEY) as http:
        request = request_for(op_id, ids)
        assert send(http, request).status_code == 200
        problem = assert_denied(send(http, request, include=include), extra)
        assert problem["source"] == {"parameter": "include"}
        assert base not in problem["detail"]
    emulator, ids = limited(emulator_factory, (base, extra))
    with client(emulator, CANARY_KEY) as http:
        response = send(http, request_for(op_id, ids), include=include)
        assert response.status_code == 200, response.text


def test_missing_own_and_included_scopes_are_named_together(emulator_factory: Factory) -> None:
    emulator, ids = limited(emulator_factory, ("templates:read",))
    with client(emulator, CANARY_KEY) as http:
        problem = assert_denied(send(http, request_for("get_lists", ids), include="tags"), "lists:read, tags:read")
    assert problem["source"] == {"pointer": "/data/"}


def test_including_the_same_family_needs_nothing_more(emulator_factory: Factory) -> None:
    emulator, ids = limited(emulator_factory, ("tags:read",))
    with client(emulator, CANARY_KEY) as http:
        response = send(http, request_for("get_tags", ids), include="tag-group")
        assert response.status_code == 200 and response.json()["included"]


def test_every_key_has_full_access_by_default(emulator_factory: Factory) -> None:
    other_key = "pk_full_access_elsewhere"
    for emulator in (emulator_factory(None), emulator_factory(EmulatorConfig(key_scopes={CANARY_KEY: ("lists:read",)}))):
        ids = seeded(emulator, other_key)
        with client(emulator, other_key) as http:
            for op_id in ("get_lists", "get_templates", "create_tag", "tag_lists", "update_template"):
                response = send(http, request_for(op_id, ids), **({"include": "tags"} if op_id == "get_lists" else {}))
                assert response.status_code == operation(op_id).success_status, response.text


@pytest.mark.invalid_requests
def test_authentication_and_revision_are_checked_first(emulator_factory: Factory) -> None:
    emulator, _ = limited(emulator_factory, ())
    with client(emulator, CANARY_KEY) as http:
        assert http.get("/api/lists", headers={"Authorization": "Klaviyo-API-Key nope"}).status_code == 401
        no_revision = {k: v for k, v in headers(CANARY_KEY).items() if k != "revision"}
        response = httpx.Client(transport=SyncEmulatorTransport(emulator), base_url="https://a.klaviyo.com").get(
            "/api/lists", headers=no_revision
        )
        assert response.status_code == 400 and error(response)["source"] == {"parameter": "revision"}
        assert http.get("/api/nowhere").status_code == 404


def test_refused_requests_do_not_count_against_the_rate_limits(emulator_factory: Factory) -> None:
    now = [1000.0]
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0, monotonic=lambda: now[0], key_scopes={CANARY_KEY: ()}))
    steady = next(limit.count for limit in operation("get_tags").rate_limits if limit.name == "steady")
    burst = next(limit.count for limit in operation("get_tags").rate_limits if limit.name == "burst")
    with client(emulator, CANARY_KEY) as http:
        statuses = {http.get("/api/tags").status_code for _ in range(burst * 3)}
        assert statuses == {403}  # never 429: a 403 is answered before the limiter counts it
        emulator.key_scopes.set(CANARY_KEY, None)
        allowed = http.get("/api/tags")
    assert allowed.status_code == 200
    assert allowed.headers["RateLimit-Remaining"] == str(steady - 1)
    assert emulator.request_counts(CANARY_KEY) == {"get_tags": burst * 3 + 1}  # yet every request is logged


def test_quirks_mode_keeps_the_integer_status(emulator_factory: Factory) -> None:
    emulator = emulator_factory(EmulatorConfig(quirks=True, key_scopes={CANARY_KEY: ()}))
    with client(emulator, CANARY_KEY) as http:
        response = http.get("/api/tag-groups")
    assert response.status_code == 403 and error(response)["status"] == 403


# -- configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_scopes", "message"),
    [
        ({CANARY_KEY: ("list:read",)}, "did you mean lists:read?"),
        ({CANARY_KEY: ("Lists:Read",)}, "'Lists:Read' is not a scope"),
        ({CANARY_KEY: ("lists:full",)}, "'lists:full' is not a scope"),
        ({CANARY_KEY: "lists:read"}, "as a list"),
        ({"sk_not_an_emulator_key": ("lists:read",)}, "emulator keys start with pk_"),
    ],
)
def test_bad_configuration_is_refused_without_naming_the_key(key_scopes: dict[str, Any], message: str) -> None:
    with pytest.raises(ScopeError, match=message) as raised:
        Emulator(EmulatorConfig(key_scopes=key_scopes))
    assert not find_canary(str(raised.value)) and "sk_not" not in str(raised.value)


def test_control_route_reads_and_sets_the_callers_scopes(emulator_factory: Factory) -> None:
    emulator = emulator_factory(EmulatorConfig(key_scopes={"pk_configured": ("lists:read",)}))
    ids = seeded(emulator, CANARY_KEY)
    with client(emulator, CANARY_KEY) as http:
        assert http.get("/__emulator/scopes").json() == {"scopes": None}
        response = http.put("/__emulator/scopes", json={"scopes": ["templates:read", "lists:read", "templates:read"]})
        assert response.status_code == 200 and response.json() == {"scopes": ["lists:read", "templates:read"]}
        assert not find_canary(response.text)
        assert send(http, request_for("get_templates", ids)).status_code == 200
        assert_denied(send(http, request_for("get_tags", ids)), "tags:read")
        assert http.put("/__emulator/scopes", json={"scopes": None}).json() == {"scopes": None}
        assert send(http, request_for("get_tags", ids)).status_code == 200
        http.put("/__emulator/scopes", json={"scopes": []})
        assert http.post("/__emulator/reset").status_code == 204  # reset drops limits set here...
        assert http.get("/__emulator/scopes").json() == {"scopes": None}
    with client(emulator, "pk_configured") as http:  # ...but not those configured
        assert http.get("/__emulator/scopes").json() == {"scopes": ["lists:read"]}
        assert http.get("/api/lists").status_code == 200
        assert_denied(http.get("/api/templates"), "templates:read")


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"scopes": ["tag:write"]}, 400, "did you mean tags:write?"),
        ({"scopes": "lists:read"}, 400, '{"scopes": ["templates:read", ...]}'),
        ({"scope": ["lists:read"]}, 400, '{"scopes": null} for full access'),
        (["lists:read"], 400, '{"scopes": null} for full access'),
    ],
)
def test_control_route_refuses_bad_bodies(emulator: Emulator, body: Any, status: int, detail: str) -> None:
    with client(emulator, CANARY_KEY) as http:
        response = http.put("/__emulator/scopes", json=body)
        assert response.status_code == status and detail in error(response)["detail"]
        assert http.get("/__emulator/scopes").json() == {"scopes": None}


def test_control_route_needs_the_key_in_the_authorization_header(emulator: Emulator) -> None:
    with httpx.Client(transport=SyncEmulatorTransport(emulator), base_url="https://a.klaviyo.com") as http:
        response = http.put("/__emulator/scopes", json={"scopes": []})
        assert response.status_code == 401 and "Authorization: Klaviyo-API-Key pk_" in error(response)["detail"]
        assert http.get("/__emulator/scopes", headers={"Authorization": "Klaviyo-API-Key sk_x"}).status_code == 401
        assert http.delete("/__emulator/scopes").status_code == 404


# -- the CLI ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["pk_ci=list:read"], "entry 1 of --key-scopes: 'list:read' is not a scope: did you mean lists:read?"),
        (["pk_ci=lists:read", "pk_ci=tags:read"], "entry 2 of --key-scopes names a key already given"),
        (["lists:read"], "entry 1 of --key-scopes is not KEY=SCOPE,SCOPE"),
        (["sk_ci=lists:read"], "entry 1 of --key-scopes is not KEY=SCOPE,SCOPE"),
    ],
)
def test_cli_refuses_bad_key_scopes_clearly(entries: list[str], message: str) -> None:
    result = run_cli(["emulator", *[arg for entry in entries for arg in ("--key-scopes", entry)]])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output and "pk_ci" not in result.output


def test_cli_emulator_limits_the_keys_it_is_given(tmp_path: Path, api_key: str) -> None:
    args = ["--key-scopes", "pk_ci_reader=templates:read,lists:read", "--key-scopes", "pk_ci_nothing="]
    process, base_url, lines = start_cli_emulator(args, tmp_path)
    try:
        with httpx.Client(base_url=base_url, headers=headers("pk_ci_reader"), timeout=10) as http:
            assert http.get("/api/templates").status_code == 200
            assert http.get("/api/lists").status_code == 200
            denied = http.get("/api/lists", params={"include": "tags"})
            assert denied.status_code == 403 and "tags:read" in error(denied)["detail"]
            assert http.get("/__emulator/scopes").json() == {"scopes": ["lists:read", "templates:read"]}
        with httpx.Client(base_url=base_url, headers=headers("pk_ci_nothing"), timeout=10) as http:
            assert http.get("/api/templates").status_code == 403
        with httpx.Client(base_url=base_url, headers=headers(api_key), timeout=10) as http:
            assert http.get("/api/lists", params={"include": "tags"}).status_code == 200
    finally:
        out, err = stop_cli_emulator(process, signal.SIGTERM)
    assert process.returncode == 0, err
    printed = "".join(lines) + out + err
    assert "Scopes limited for 2 key(s); every other key has full access." in printed
    assert "Traceback" not in printed and "pk_ci" not in printed


# -- end to end through the real client ------------------------------------------------------------------


def test_plan_with_a_key_lacking_tags_read_fails_clearly(
    tmp_path: Path, emulator_factory: Factory, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    emulator = emulator_factory(EmulatorConfig(key_scopes={CANARY_KEY: ("accounts:read", "templates:read", "lists:read")}))
    emulator.seed(CANARY_KEY, SEED)
    server = serve_emulator(emulator)
    project = tmp_path / "project"
    project.mkdir()
    (project / "klaviyo.yaml").write_text("version: 1\nlists:\n  - name: Newsletter\n", encoding="utf-8")
    result = run_cli(["plan", str(project), "--base-url", server.base_url])
    assert result.exit_code == 1, result.output
    assert "tags:read" in result.stderr and "403" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not find_canary(result.output + result.stderr)
    assert {record.status for record in emulator.request_log} <= {200, 403}
    assert any(record.status == 403 for record in emulator.request_log)
    assert {record.method for record in emulator.request_log} == {"GET"}  # plan only reads


def test_the_client_names_the_included_types_scope(
    emulator_factory: Factory, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    emulator = emulator_factory(EmulatorConfig(key_scopes={CANARY_KEY: ("lists:read",)}))
    server = serve_emulator(emulator)

    async def read_lists_with_tags() -> None:
        async with KlaviyoClient(CANARY_KEY, base_url=server.base_url) as klaviyo:
            await klaviyo.request("get_lists", params={"include": "tags"})

    with pytest.raises(PermissionDeniedError) as raised:
        asyncio.run(read_lists_with_tags())
    denied = raised.value
    assert denied.status == 403 and denied.code == "permission_denied" and denied.source == {"parameter": "include"}
    assert "tags:read" in str(denied) and "(lists:read, tags:read)" in denied.hint
    assert not find_canary(str(denied) + repr(denied) + denied.hint)
    assert [(record.operation_id, record.status) for record in emulator.request_log] == [("get_lists", 403)]  # not retried

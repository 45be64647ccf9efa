"""A plan shows what its deletes reach: a list's profiles and the flows it triggers, the flows, campaigns and segments
carrying a removed tag; `safety.max_profiles_affected` refuses too many profiles; nothing else is read for it.

The real CLI against an emulator served on 127.0.0.1; the flow a list triggers is created through the official SDK.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from klaviyo_api import KlaviyoAPI

from tests.apply.support import write_project
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.flows import welcome_definition

BLAST_READS = {
    "get_list",
    "get_flows_triggered_by_list",
    "get_ids_for_flows_triggered_by_list",
    "get_flow_ids_for_tag",
    "get_campaign_ids_for_tag",
    "get_segment_ids_for_tag",
}
PRUNE_NEWSLETTER = """\
version: 1
prune: {lists: true}
{safety}
lists:
  - name: VIP
"""


def project(tmp_path: Path, safety: str = "") -> Path:
    return write_project(tmp_path / "project", PRUNE_NEWSLETTER.replace("{safety}", safety), {})


def seed_newsletter(server: ServedEmulator) -> tuple[str, str]:
    """A list of 12,430 profiles that triggers a flow the official SDK created, and a list the manifests keep."""
    sdk = KlaviyoAPI(CANARY_KEY, max_delay=0, max_retries=0, test_host=server.base_url)
    body = {"data": {"type": "template", "attributes": {"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi</p>"}}}
    template = sdk.Templates.create_template(body).data.id
    newsletter = sdk.Lists.create_list({"data": {"type": "list", "attributes": {"name": "Newsletter"}}}).data.id
    sdk.Lists.create_list({"data": {"type": "list", "attributes": {"name": "VIP"}}})
    definition = welcome_definition(newsletter, [("Email #1", template)])
    flow = sdk.Flows.create_flow({"data": {"type": "flow", "attributes": {"name": "Welcome Series", "definition": definition}}})
    control = httpx.put(
        f"{server.base_url}/__emulator/profile-counts",
        json={newsletter: 12430},
        headers={"Authorization": f"Klaviyo-API-Key {CANARY_KEY}"},
    )
    assert control.status_code == 200, control.text
    return newsletter, flow.data.id


def plan(server: ServedEmulator, *args: str) -> tuple[int, str, str]:
    result = run_cli(["plan", *args, "--base-url", server.base_url])
    return result.exit_code, result.stdout, result.stderr


def blast_requests(server: ServedEmulator) -> list[tuple[str, str]]:
    return [(r.operation_id or "", r.path) for r in server.emulator.request_log if r.operation_id in BLAST_READS]


def test_deleting_a_list_shows_its_profiles_and_the_flow_it_triggers(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    newsletter, flow = seed_newsletter(emulator_server)
    root = project(tmp_path)
    code, out, err = plan(emulator_server, str(root))
    assert code == 0, err
    assert f'  - list["Newsletter"] (id {newsletter})' in out
    assert "! 12,430 profiles on this list" in out
    assert f'! it triggers 1 flow: "Welcome Series" (id {flow}, draft)' in out
    # Only the list removed is read, once per fact; the list kept is not.
    assert sorted(blast_requests(emulator_server)) == [
        ("get_flows_triggered_by_list", f"/api/lists/{newsletter}/flow-triggers"),
        ("get_list", f"/api/lists/{newsletter}"),
    ]

    code, markdown, err = plan(emulator_server, str(root), "--format", "markdown")
    assert code == 0, err
    warning = markdown.split("> [!WARNING]\n", 1)[1].splitlines()[0]
    assert 'list\\["Newsletter"\\] delete: 12,430 profiles on this list; it triggers 1 flow' in warning
    row = next(line for line in markdown.splitlines() if line.startswith("| `-` | delete |"))
    assert "12,430 profiles on this list" in row and "Welcome Series" in row

    code, out, err = plan(emulator_server, str(root), "--format", "json")
    data = json.loads(out)
    schema = json.loads(resources.files("klaviyo_sync.schemas").joinpath("plan.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["blast_radius"] == {
        'list["Newsletter"]': {
            "kind": "list",
            "id": newsletter,
            "profile_count": 12430,
            "flows": [{"id": flow, "name": "Welcome Series", "status": "draft"}],
            "unread": {},
        }
    }


def test_max_profiles_affected_refuses_the_delete_without_force(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    seed_newsletter(emulator_server)
    root = project(tmp_path, "safety: {max_profiles_affected: 1000}")
    code, out, err = plan(emulator_server, str(root))
    assert code == 1 and err.startswith("Error: the plan was refused")
    # Refused, and still shown: the refusal first, located at the setting, then the plan with the list's reach.
    assert out.splitlines()[1].endswith(
        'klaviyo.yaml:3:10: this plan removes 1 list holding 12,430 profiles (list["Newsletter"] 12,430), over '
        "safety.max_profiles_affected of 1,000"
    )
    assert "run again with --force" in out and "! 12,430 profiles on this list" in out

    code, out, err = plan(emulator_server, str(root), "--force")
    assert code == 0, err
    assert "! 12,430 profiles on this list" in out
    assert "--force: this plan removes 1 list holding 12,430 profiles" in out

    applied = run_cli(["apply", str(root), "--auto-approve", "--base-url", emulator_server.base_url])
    assert applied.exit_code == 1 and "max_profiles_affected" in applied.stdout
    assert any(lst["name"] == "Newsletter" for lst in _lists(emulator_server))  # nothing was deleted


def test_a_saved_plan_carries_the_counts_it_was_reviewed_with(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    newsletter, _ = seed_newsletter(emulator_server)
    emulator_server.emulator.set_profile_counts(CANARY_KEY, {newsletter: 900})
    root = project(tmp_path, "safety: {max_profiles_affected: 1000}")
    saved = tmp_path / "plan.json"
    code, _, err = plan(emulator_server, str(root), "--out", str(saved))
    assert code == 0, err
    assert json.loads(saved.read_text("utf-8"))["blast_radius"]['list["Newsletter"]']["profile_count"] == 900

    # The list grows after the review: the count is information, not part of the contract or the fingerprint.
    emulator_server.emulator.set_profile_counts(CANARY_KEY, {newsletter: 5000})
    before = len(blast_requests(emulator_server))
    applied = run_cli(["apply", str(saved), "--project", str(root), "--base-url", emulator_server.base_url])
    assert applied.exit_code == 0, applied.stderr
    assert [lst["name"] for lst in _lists(emulator_server)] == ["VIP"]
    assert len(blast_requests(emulator_server)) == before  # apply reads no reach: the plan carries it


def test_nothing_is_read_for_lists_and_tags_that_stay(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator_server.emulator.seed(
        CANARY_KEY,
        {
            "tag_groups": [{"name": "Lifecycle"}],
            "tags": [{"group": "Lifecycle", "name": "Welcome"}],
            "lists": [{"name": "Newsletter", "profile_count": 12430, "tags": [["Lifecycle", "Welcome"]]}],
        },
    )
    manifest = """\
        version: 1
        prune: {lists: true, tag_groups: true}
        safety: {max_profiles_affected: 0}
        tag_groups:
          - name: Lifecycle
            tags: [Welcome, VIP]
        lists:
          - name: Newsletter
            opt_in_process: single_opt_in
            tags: {Lifecycle: [Welcome, VIP]}
          - name: New list
        """
    code, out, err = plan(emulator_server, str(write_project(tmp_path / "kept", manifest, {})))
    assert code == 0, err
    assert "Plan: 3 to create, 1 to update, 0 to delete." in out and "profiles" not in out
    assert blast_requests(emulator_server) == []


def test_removed_tags_show_the_flows_campaigns_and_segments_carrying_them(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    emulator = emulator_server.emulator
    ids = emulator.seed(
        CANARY_KEY,
        {
            "tag_groups": [{"name": "Lifecycle"}, {"name": "Channel"}],
            "tags": [
                {"group": "Lifecycle", "name": "Welcome"},
                {"group": "Lifecycle", "name": "Winback"},
                {"group": "Channel", "name": "Email"},
                {"group": "Channel", "name": "SMS"},
            ],
            "lists": [{"name": "Newsletter"}],
            "templates": [{"name": "Welcome", "html": "<p>Hi</p>"}],
        },
    )
    [flow] = emulator.seed(CANARY_KEY, {"flows": [{"name": "Welcome", "emails": [{"name": "E1", "template": "Welcome"}]}]})[
        "flows"
    ]
    emulator.seed(
        CANARY_KEY,
        {
            "tag_associations": [
                {"group": "Lifecycle", "name": "Winback", "flows": [flow], "campaigns": ["C1", "C2"]},
                {"group": "Channel", "name": "Email", "flows": [flow], "segments": ["S1"]},
                {"group": "Channel", "name": "SMS", "flows": [flow], "segments": ["S2"]},
            ]
        },
    )
    manifest = """\
        version: 1
        tag_groups:
          - name: Lifecycle
            tags: [Welcome]
          - name: Channel
            exclusive: true
            tags: [Email, SMS]
        """
    code, out, err = plan(emulator_server, str(write_project(tmp_path / "tags", manifest, {})))
    assert code == 0, err
    blocks = _blocks(out)
    assert "! this tag is on 1 flow, 2 campaigns and 0 segments" in blocks['tag["Lifecycle"/"Winback"]']
    # The exclusive flip replaces the group; Klaviyo deletes its tags with it: their carriers, each counted once.
    assert "! its 2 tags are on 1 flow, 0 campaigns and 2 segments" in blocks['tag_group["Channel"]']
    assert sorted(path for op, path in blast_requests(emulator_server)) == sorted(
        f"/api/tags/{tag}/relationships/{name}" for tag in ids["tags"][1:] for name in ("flows", "campaigns", "segments")
    )


def test_a_fact_the_key_may_not_read_is_shown_as_unknown(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator = emulator_server.emulator
    emulator.seed(CANARY_KEY, {"tag_groups": [{"name": "Lifecycle"}], "tags": [{"group": "Lifecycle", "name": "Winback"}]})
    emulator.key_scopes.set(
        CANARY_KEY, ["accounts:read", "templates:read", "lists:read", "tags:read", "flows:read", "segments:read"]
    )
    manifest = "version: 1\ntag_groups:\n  - name: Lifecycle\n    tags: []\n"
    code, out, err = plan(emulator_server, str(write_project(tmp_path / "scoped", manifest, {})))
    assert code == 0, err
    assert "! this tag is on 0 flows and 0 segments" in out
    assert "! campaigns: unknown (the API key lacks a scope it needs: campaigns:read, tags:read)" in out


def _blocks(out: str) -> dict[str, str]:
    """Each change's lines of a text plan, by its address."""
    found: dict[str, str] = {}
    for block in out.split("\n\n"):
        for line in block.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("-", "~", "+", "-/+", "+/-") and "[" in parts[1]:
                found[parts[1]] = block
    return found


def _lists(server: ServedEmulator) -> list[dict[str, Any]]:
    state = server.emulator.dump()["accounts"]
    return [item for acct in state.values() for item in acct["lists"].values()]

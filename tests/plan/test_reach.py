"""What a plan's removals reach, inside the plan: which objects are read, `safety.max_profiles_affected`, the saved
form, and why the reach is neither in the fingerprint nor in the contract a saved plan must match."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from klaviyo_sync.blast import ListReach, TagReach, describe, reach_to_json, read_reach, removals
from klaviyo_sync.blast.reach import FlowTrigger
from klaviyo_sync.errors import ConfigError, NotFoundError, PermissionDeniedError, PlanError
from klaviyo_sync.plan import build_plan, plan_from_json, plan_to_json, same_changes
from klaviyo_sync.resources import Kind
from tests.plan.builders import Project, Thresholds, default_group, desired, live, state


def account_and_project(limit: int | None = 1000) -> tuple[Project, Any]:
    account = state(
        [
            default_group(),
            live(Kind.LIST, "Newsletter", id="LNews1"),
            live(Kind.LIST, "Old", id="LOld01"),
            live(Kind.LIST, "VIP", id="LVip01"),
            live(Kind.TAG_GROUP, "Lifecycle", id="G1"),
            live(Kind.TAG, "Lifecycle", "Welcome", id="T1"),
            live(Kind.TAG, "Lifecycle", "Winback", id="T2"),
            live(Kind.TAG_GROUP, "Channel", id="G2"),
            live(Kind.TAG, "Channel", "Email", id="T3"),
            live(Kind.TAG, "Channel", "SMS", id="T4"),
        ]
    )
    declared = [
        desired(Kind.LIST, "VIP", attrs={"opt_in_process": "double_opt_in"}),
        desired(Kind.TAG_GROUP, "Lifecycle"),
        desired(Kind.TAG, "Lifecycle", "Welcome"),
    ]
    project = Project(
        state(declared),
        prune={Kind.LIST: True, Kind.TAG_GROUP: True},
        thresholds=Thresholds(min_existing=100, max_profiles_affected=limit),
    )
    return project, account


def reach(counts: dict[str, int | None]) -> dict[str, Any]:
    return {f'list["{name}"]': ListReach(f"id-{name}", count, ()) for name, count in counts.items()}


def test_only_what_the_plan_removes_is_read() -> None:
    project, account = account_and_project(limit=None)
    plan = build_plan(project, account)
    removed = removals(plan)
    assert removed.lists == {'list["Newsletter"]': "LNews1", 'list["Old"]': "LOld01"}  # not VIP, which is updated
    # A tag deleted from a kept group; the tags of a group deleted with it, on the group's change.
    assert removed.tags == {'tag["Lifecycle"/"Winback"]': ("T2",), 'tag_group["Channel"]': ("T3", "T4")}


class Reader:
    """Answers the reach reads from a table, recording them; a value that is an exception is raised."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def _answer(self, key: tuple[str, str]) -> Any:
        self.asked.append(key)
        value = self.answers.get(key, [])
        if isinstance(value, Exception):
            raise value
        return value

    async def list_profile_count(self, list_id: str) -> int | None:
        return self._answer(("profile_count", list_id)) or 0  # type: ignore[no-any-return]

    async def flows_triggered_by_list(self, list_id: str) -> list[dict[str, Any]]:
        return self._answer(("flows_triggered", list_id))  # type: ignore[no-any-return]

    async def tag_carrier_ids(self, tag_id: str, carriers: str) -> list[str]:
        return self._answer((carriers, tag_id))  # type: ignore[no-any-return]


def test_the_reads_join_a_groups_tags_and_say_what_could_not_be_read() -> None:
    project, account = account_and_project(limit=None)
    plan = build_plan(project, account)
    denied = PermissionDeniedError("no", operation="get_campaign_ids_for_tag", status=403)
    reader = Reader(
        {
            ("profile_count", "LNews1"): 12430,
            ("flows_triggered", "LNews1"): [{"id": "F1", "attributes": {"name": "Welcome", "status": "live"}}],
            ("flows_triggered", "LOld01"): NotFoundError("gone", operation="get_flows_triggered_by_list", status=404),
            ("flows", "T3"): ["F1", "F2"],
            ("flows", "T4"): ["F2", "F3"],
            ("segments", "T4"): ["S1"],
            ("campaigns", "T4"): denied,
        }
    )
    found = asyncio.run(read_reach(reader, plan))  # type: ignore[arg-type]
    assert found['list["Newsletter"]'] == ListReach("LNews1", 12430, (FlowTrigger("F1", "Welcome", "live"),))
    assert found['list["Old"]'] == ListReach("LOld01", 0, None, {"flows": "the object is no longer in the account"})
    channel = found['tag_group["Channel"]']
    assert isinstance(channel, TagReach) and channel.tag_ids == ("T3", "T4")
    assert channel.carriers == {"flows": ("F1", "F2", "F3"), "campaigns": None, "segments": ("S1",)}
    assert channel.unread == {"campaigns": "the API key lacks a scope it needs: campaigns:read, tags:read"}
    assert describe(reach_to_json(channel), "tag_group") == [
        "its 2 tags are on 3 flows and 1 segment",
        "campaigns: unknown (the API key lacks a scope it needs: campaigns:read, tags:read)",
    ]
    assert describe(reach_to_json(found['list["Old"]'])) == [
        "0 profiles on this list",
        "flows it triggers: unknown (the object is no longer in the account)",
    ]
    assert sorted(reader.asked) == sorted(
        [(fact, list_id) for fact in ("profile_count", "flows_triggered") for list_id in ("LNews1", "LOld01")]
        + [(name, tag) for name in ("flows", "campaigns", "segments") for tag in ("T2", "T3", "T4")]
    )


def test_max_profiles_affected_counts_the_lists_removed_and_yields_to_force() -> None:
    project, account = account_and_project(limit=1000)
    with pytest.raises(PlanError) as refused:
        build_plan(project, account, reach=reach({"Newsletter": 12430, "Old": 5}))
    [problem] = refused.value.problems
    assert problem.message == (
        'this plan removes 2 lists holding 12,435 profiles (list["Newsletter"] 12,430, list["Old"] 5), '
        "over safety.max_profiles_affected of 1,000"
    )
    assert "--force" in problem.hint and "safety.max_profiles_affected" in problem.hint
    forced = build_plan(project, account, force=True, reach=reach({"Newsletter": 12430, "Old": 5}))
    assert forced.warnings[0].startswith("--force: this plan removes 2 lists holding 12,435 profiles")
    assert build_plan(project, account, reach=reach({"Newsletter": 995, "Old": 5})).counts()["delete"] >= 2  # at the limit


def test_a_count_that_was_not_read_cannot_pass_the_limit() -> None:
    project, account = account_and_project(limit=1000)
    with pytest.raises(PlanError, match=r'the profile count of list\["Old"\] is unknown'):
        build_plan(project, account, reach=reach({"Newsletter": 10, "Old": None}))
    with pytest.raises(PlanError, match="is unknown"):
        build_plan(project, account)  # nothing read at all
    assert build_plan(account_and_project(limit=None)[0], account).counts()["delete"] >= 2  # no limit: nothing to check


def test_a_saved_plan_keeps_its_reach_out_of_the_contract() -> None:
    project, account = account_and_project(limit=None)
    plan = build_plan(project, account, reach=reach({"Newsletter": 12430, "Old": 5}))
    data = plan_to_json(plan)
    assert plan_from_json(data).reach == plan.reach
    assert "LNews1" not in "".join(data["fingerprint"].values())  # the fingerprint holds versions, not counts
    again = build_plan(project, account, reach=reach({"Newsletter": 99999, "Old": 5}))
    assert same_changes(data["changes"], plan_to_json(again)["changes"]) == []
    assert plan_to_json(again)["fingerprint"] == data["fingerprint"]

    damaged = {**data, "blast_radius": {'list["Old"]': {"kind": "list", "id": "x", "profile_count": "many"}}}
    with pytest.raises(ConfigError, match="damaged"):
        plan_from_json(damaged)

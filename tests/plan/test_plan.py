"""build_plan on hand-built States: order, safety checks, targets, fingerprint and the saved-plan JSON form."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from importlib import resources

import jsonschema
import pytest

from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.errors import ConfigError, PlanError
from klaviyo_sync.plan import build_plan, plan_from_json, plan_to_json
from klaviyo_sync.plan.fingerprint import fingerprint_value
from klaviyo_sync.resources import Action, Kind, Plan, Resource, State
from tests.plan.builders import Project, Thresholds, default_group, desired, link, live, state


def plan_schema() -> dict:
    return json.loads(resources.files("klaviyo_sync.schemas").joinpath("plan.schema.json").read_text("utf-8"))


def steps(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, c.address) for c in plan.changes]


def mixed_case() -> tuple[Project, object]:
    """Every action at once: the order is the point."""
    news, old_list = live(Kind.LIST, "News"), live(Kind.LIST, "Old")
    group, stale_tag = live(Kind.TAG_GROUP, "G"), live(Kind.TAG, "G", "Stale")
    old_group = live(Kind.TAG_GROUP, "Legacy")
    account = state(
        [
            default_group(),
            group,
            stale_tag,
            old_group,
            news,
            old_list,
            link(news, stale_tag),
            live(Kind.TEMPLATE, "EN", attrs={"html": "<p>old</p>"}),
            live(Kind.TEMPLATE, "Gone"),
        ]
    )
    project = Project(
        state(
            [
                desired(Kind.TAG_GROUP, "G"),
                desired(Kind.TAG_GROUP, "New group"),
                desired(Kind.TAG, "G", "T"),
                desired(Kind.TAG, "New group", "U"),
                desired(Kind.LIST, "News"),
                desired(Kind.LIST, "Fresh"),
                desired(Kind.LIST_TAG, "News", "G", "T"),
                desired(Kind.LIST_TAG, "Fresh", "New group", "U"),
                desired(Kind.TEMPLATE, "EN", attrs={"html": "<p>new</p>"}),
                desired(Kind.TEMPLATE, "FR", attrs={"html": "<p>fr</p>"}, clone_from="EN"),
                desired(Kind.TEMPLATE, "FR-CA", attrs={"html": "<p>ca</p>"}, clone_from="FR"),
                desired(Kind.TEMPLATE, "A first", attrs={"html": "<p>a</p>"}),
            ]
        ),
        prune={Kind.TEMPLATE: True, Kind.LIST: True, Kind.TAG_GROUP: True},
    )
    return project, account


def test_order_deletes_most_dependent_first_then_creates_least_dependent_first() -> None:
    project, account = mixed_case()
    plan = build_plan(project, account)
    assert steps(plan) == [
        ("delete", 'template["Gone"]'),
        ("delete", 'list["Old"]'),
        ("delete", 'tag["G"/"Stale"]'),
        ("delete", 'tag_group["Legacy"]'),
        ("create", 'tag_group["New group"]'),
        ("create", 'tag["G"/"T"]'),
        ("create", 'tag["New group"/"U"]'),
        ("create", 'list["Fresh"]'),
        ("create", 'template["A first"]'),
        ("update", 'template["EN"]'),
        ("clone", 'template["FR"]'),
        ("clone", 'template["FR-CA"]'),
        ("link", 'list_tag["Fresh"/"New group"/"U"]'),
        ("link", 'list_tag["News"/"G"/"T"]'),
    ]
    assert plan.counts() == {"create": 9, "update": 1, "delete": 4}
    # The stale tag's link goes with the tag; the plan says so instead of hiding it.
    assert any('list_tag["News"/"G"/"Stale"]' in warning for warning in plan.warnings)


def test_same_inputs_give_identical_output_whatever_the_read_order() -> None:
    project, account = mixed_case()
    shuffled = State(reversed(list(account)))
    first, second = build_plan(project, account), build_plan(project, shuffled)
    assert json.dumps(plan_to_json(first)) == json.dumps(plan_to_json(second))


def test_json_round_trip_and_schema() -> None:
    plan = build_plan(*mixed_case())
    data = plan_to_json(plan)
    jsonschema.Draft202012Validator(plan_schema()).validate(data)
    assert data["revision"] == REVISION and data["format_version"] == 4
    again = plan_from_json(json.loads(json.dumps(data)))
    assert plan_to_json(again) == data
    assert [c.action for c in again.changes] == [c.action for c in plan.changes]
    assert again.changes[0].live is not None and again.changes[0].live.id == plan.changes[0].live.id


def test_a_saved_plan_holds_content_as_digests_only() -> None:
    """Apply takes content from the project, never from the file: the file needs only what tells two values apart."""
    body, changed = "<p>" + "x" * 500 + "</p>", "<p>changed</p>"
    kept = live(Kind.TEMPLATE, "Kept", attrs={"editor_type": "CODE", "html": "<p>old</p>", "text": "same"})
    project = Project(
        state(
            [
                desired(Kind.TEMPLATE, "New", attrs={"editor_type": "CODE", "html": body}),
                desired(Kind.TEMPLATE, "Kept", attrs={"editor_type": "CODE", "html": changed, "text": "same"}),
            ]
        )
    )
    plan = build_plan(project, state([kept]))
    text = json.dumps(plan_to_json(plan))
    assert body not in text and changed not in text and "<p>old</p>" not in text and '"same"' not in text
    fields = {c["key"][0]: c["fields"] for c in json.loads(text)["changes"]}
    html = next(f for f in fields["New"] if f["field"] == "html")
    assert html["new"] == {"sha256": hashlib.sha256(body.encode()).hexdigest(), "bytes": len(body)} and html["old"] is None


def test_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(plan_schema())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a klaviyo-sync plan"),
        ({"format_version": 99}, "format version 99"),
        ({"format_version": 2}, "format version 2"),  # before plans named their account and project
        ({"format_version": 3}, "format version 3"),  # fingerprints of another form
        ({"format_version": 4, "revision": "2020-01-01"}, "revision '2020-01-01'"),
        ({"format_version": 4, "revision": REVISION, "changes": {}}, "'changes' is missing or malformed"),
        ({"format_version": 4, "revision": REVISION, "account": "AbC123"}, "'account' is missing or malformed"),
    ],
)
def test_bad_plan_files_are_refused_clearly(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_from_json(data)


def test_fingerprint_covers_every_live_object_read() -> None:
    project, account = mixed_case()
    plan = build_plan(project, account)
    assert plan.fingerprint == {f"{r.kind.value}:{r.id}": fingerprint_value(r) for r in account}
    assert plan.manifest_hashes == project.file_hashes


def test_a_fingerprint_tells_every_change_of_version_or_content_apart() -> None:
    base = Resource(Kind.TEMPLATE, ("T",), {"html": "<p>1</p>", "text": None}, id="T1", version="v1")
    variants = [
        base,
        dataclasses.replace(base, version="v2"),
        dataclasses.replace(base, attrs={"html": "<p>2</p>", "text": None}),
        dataclasses.replace(base, attrs={"html": "<p>1</p>", "text": ""}),
        dataclasses.replace(base, attrs={"html": "<p>1</p>"}),
        dataclasses.replace(base, attrs={"htm": "l<p>1</p>", "text": None}),  # a boundary moved between name and value
        dataclasses.replace(base, attrs={"html": 1, "text": None}),
        dataclasses.replace(base, attrs={"html": "1", "text": None}),
    ]
    values = [fingerprint_value(variant) for variant in variants]
    assert len(set(values)) == len(variants)
    reordered = dict(reversed(list(base.attrs.items())))
    assert fingerprint_value(dataclasses.replace(base, attrs=reordered)) == values[0]


def test_prevent_destroy_refuses_a_replace_naming_the_manifest_line() -> None:
    wanted = desired(Kind.TAG_GROUP, "Channel", attrs={"exclusive": True}, prevent_destroy=True)
    with pytest.raises(PlanError) as caught:
        build_plan(Project(state([wanted])), state([live(Kind.TAG_GROUP, "Channel")]))
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (wanted.origin.file, wanted.origin.line)
    assert 'tag_group["Channel"] has prevent_destroy' in problem.message


def test_prevent_destroy_covers_a_tag_destroyed_with_its_group() -> None:
    tag = desired(Kind.TAG, "Channel", "Email", prevent_destroy=True)
    project = Project(state([desired(Kind.TAG_GROUP, "Channel", attrs={"exclusive": True}), tag]))
    with pytest.raises(PlanError, match=r'tag\["Channel"/"Email"\] has prevent_destroy'):
        build_plan(project, state([live(Kind.TAG_GROUP, "Channel"), live(Kind.TAG, "Channel", "Email")]))


def many_templates(count: int, changed: int) -> tuple[Project, object]:
    account = state(live(Kind.TEMPLATE, f"T{i:02d}", attrs={"html": "old"}) for i in range(count))
    project = Project(
        state(desired(Kind.TEMPLATE, f"T{i:02d}", attrs={"html": "new" if i < changed else "old"}) for i in range(count))
    )
    return project, account


def test_update_threshold_refuses_unless_forced() -> None:
    project, account = many_templates(10, 4)
    with pytest.raises(PlanError) as caught:
        build_plan(project, account)
    assert "update 4 of 10 managed templates (40%)" in str(caught.value) and "--force" in str(caught.value)
    forced = build_plan(project, account, force=True)
    assert forced.counts()["update"] == 4 and forced.warnings[0].startswith("--force: ")


def test_threshold_needs_min_existing_and_is_configurable() -> None:
    project, account = many_templates(9, 9)
    assert build_plan(project, account).counts()["update"] == 9  # under 10 existing: not checked
    project, account = many_templates(10, 3)
    assert build_plan(project, account).counts()["update"] == 3  # exactly 30 %: allowed
    project.thresholds = Thresholds(update_fraction=0.2)
    with pytest.raises(PlanError, match="over the update threshold of 20%"):
        build_plan(project, account)


def test_delete_threshold() -> None:
    account = state(live(Kind.LIST, f"L{i:02d}") for i in range(12))
    project = Project(state(desired(Kind.LIST, f"L{i:02d}") for i in range(8)), prune={Kind.LIST: True})
    with pytest.raises(PlanError, match="delete 4 of 12 managed lists"):
        build_plan(project, account)
    assert build_plan(project, account, force=True).counts()["delete"] == 4


def test_klaviyo_limits_are_checked_at_plan_time() -> None:
    account = state(live(Kind.TEMPLATE, f"T{i:04d}") for i in range(999))
    project = Project(state(desired(Kind.TEMPLATE, f"New {i}", attrs={"html": "x"}) for i in range(2)))
    with pytest.raises(PlanError, match="leave 1001 templates"):
        build_plan(project, account)
    lists = Project(state(desired(Kind.LIST, f"L{i:03d}") for i in range(151)))
    with pytest.raises(PlanError, match="creates 151 lists"):
        build_plan(lists, state([]))
    groups = Project(state(desired(Kind.TAG_GROUP, f"G{i:02d}") for i in range(50)))
    with pytest.raises(PlanError, match="leave 51 tag groups"):
        build_plan(groups, state([default_group()]))
    full = state([default_group(), *(live(Kind.TAG, "Default", f"T{i:03d}") for i in range(499))])
    with pytest.raises(PlanError, match="leave 501 tags"):
        build_plan(Project(state([desired(Kind.TAG_GROUP, "G"), desired(Kind.TAG, "G", "A"), desired(Kind.TAG, "G", "B")])), full)
    many_tags = [desired(Kind.TAG_GROUP, "G")] + [desired(Kind.TAG, "G", f"T{i:03d}") for i in range(101)]
    links = [desired(Kind.LIST, "L")] + [desired(Kind.LIST_TAG, "L", "G", f"T{i:03d}") for i in range(101)]
    with pytest.raises(PlanError, match='list "L" would have 101 tags'):
        build_plan(Project(state(many_tags + links)), state([]))


def test_target_limits_the_plan_to_the_object_and_its_dependencies() -> None:
    project, account = mixed_case()
    plan = build_plan(project, account, targets=["template:FR-CA"])
    assert steps(plan) == [("update", 'template["EN"]'), ("clone", 'template["FR"]'), ("clone", 'template["FR-CA"]')]
    plan = build_plan(project, account, targets=["list:Fresh"])
    assert steps(plan) == [
        ("create", 'tag_group["New group"]'),
        ("create", 'tag["New group"/"U"]'),
        ("create", 'list["Fresh"]'),
        ("link", 'list_tag["Fresh"/"New group"/"U"]'),
    ]
    assert steps(build_plan(project, account, targets=["template:Gone"])) == [("delete", 'template["Gone"]')]


@pytest.mark.parametrize(
    ("target", "message"), [("Welcome", "is not KIND:NAME"), ("template:Nope", "matches no declared or live")]
)
def test_bad_targets_are_refused(target: str, message: str) -> None:
    project, account = mixed_case()
    with pytest.raises(ConfigError, match=message):
        build_plan(project, account, targets=[target])


def test_no_changes_plan_is_empty() -> None:
    project, account = many_templates(3, 0)
    plan = build_plan(project, account)
    assert plan.empty and plan.counts() == {"create": 0, "update": 0, "delete": 0}
    assert all(change.action is not Action.DELETE for change in plan.changes)


def test_a_clone_runs_after_every_change_of_its_source() -> None:
    """A clone copies its source as it is then: an update or rename of the source must come first."""
    account = state([live(Kind.TEMPLATE, "Z source", attrs={"html": "<p>old</p>"}), live(Kind.TEMPLATE, "Old name")])
    project = Project(
        state(
            [
                desired(Kind.TEMPLATE, "Z source", attrs={"html": "<p>new</p>"}),
                desired(Kind.TEMPLATE, "A copy", clone_from="Z source"),
                desired(Kind.TEMPLATE, "Y renamed", renamed_from=("Old name",)),
                desired(Kind.TEMPLATE, "B copy", clone_from="Y renamed"),
            ]
        )
    )
    assert steps(build_plan(project, account)) == [
        ("rename", 'template["Y renamed"]'),
        ("update", 'template["Z source"]'),
        ("clone", 'template["A copy"]'),
        ("clone", 'template["B copy"]'),
    ]


def test_list_creations_left_today_count_the_lists_created_in_the_last_day() -> None:
    now = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
    recent = [live(Kind.LIST, f"Recent {i:03d}", attrs={"created": "2026-07-20T01:00:00+00:00"}) for i in range(140)]
    older = [live(Kind.LIST, f"Older {i:03d}", attrs={"created": "2026-07-19T11:59:59+00:00"}) for i in range(50)]
    account = state([*recent, *older])
    declared = [desired(Kind.LIST, r.name) for r in recent + older]

    def plan_with(new: int) -> Plan:
        lists = declared + [desired(Kind.LIST, f"New {i:03d}") for i in range(new)]
        return build_plan(Project(state(lists)), account, now=now)

    assert plan_with(10).counts()["create"] == 10  # 140 created today + 10 = the cap
    with pytest.raises(PlanError) as caught:
        plan_with(11)
    message = str(caught.value)
    assert "creates 11 lists, but only 10 of Klaviyo's 150 list creations a day are left" in message
    assert "140 lists in the account were created in the last 24 hours" in message and "--target list:NAME" in message

"""The diff on hand-built States: matching, action choice, normalisation, scope and ambiguity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klaviyo_sync.diff import choose_action, compare, diff, normalise_text, values_equal
from klaviyo_sync.errors import PlanError
from klaviyo_sync.resources import Action, Kind, ReplaceMode
from tests.plan.builders import Project, default_group, desired, link, live, state


def actions(changes) -> list[tuple[str, str]]:
    return sorted((c.action.value, c.address) for c in changes)


# -- normalisation ----------------------------------------------------------------------------------------------


def test_normalise_text_drops_crlf_and_trailing_whitespace_only() -> None:
    assert normalise_text("<p>\r\n  Hi  \r\n</p>\t \r\n\r\n") == "<p>\n  Hi\n</p>"
    assert normalise_text("  leading stays") == "  leading stays"
    assert normalise_text(None) == ""


@pytest.mark.parametrize(
    ("name", "desired_value", "live_value", "equal"),
    [
        ("html", "<p>a</p>\r\n", "<p>a</p>", True),
        ("html", "<p>a</p>", "<p>b</p>", False),
        ("text", "", None, True),
        ("definition", {"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ("definition", {"a": 1}, {"a": 1.0}, True),
        ("definition", {"a": [1, 2]}, {"a": [2, 1]}, False),
        ("exclusive", True, False, False),
        ("opt_in_process", "double_opt_in", "double_opt_in", True),
    ],
)
def test_values_equal(name: str, desired_value: object, live_value: object, equal: bool) -> None:
    assert values_equal(name, desired_value, live_value) is equal


# -- choose_action --------------------------------------------------------------------------------------------------


def test_nothing_live_is_a_create_with_every_set_field() -> None:
    change = choose_action(desired(Kind.TAG_GROUP, "Channel", attrs={"exclusive": True}), None)
    assert change is not None and change.action is Action.CREATE
    assert [(f.field, f.old, f.new) for f in change.fields] == [("exclusive", None, True)]


def test_nothing_live_with_clone_from_is_a_clone() -> None:
    change = choose_action(desired(Kind.TEMPLATE, "FR", attrs={"html": "x"}, clone_from="EN"), None)
    assert change is not None and change.action is Action.CLONE
    assert 'copy of template "EN"' in change.reason


def test_equal_is_no_change_and_unset_fields_are_not_compared() -> None:
    wanted = desired(Kind.LIST, "Newsletter")  # opt_in_process not set in the manifest
    assert choose_action(wanted, live(Kind.LIST, "Newsletter", attrs={"opt_in_process": "double_opt_in"})) is None


def test_changed_field_is_an_update_naming_it() -> None:
    wanted = desired(Kind.TEMPLATE, "A", attrs={"html": "<p>new</p>", "text": "t"})
    change = choose_action(wanted, live(Kind.TEMPLATE, "A", attrs={"html": "<p>old</p>", "text": "t"}))
    assert change is not None and change.action is Action.UPDATE
    assert [f.field for f in change.fields] == ["html"] and change.reason == "html changed"


def test_immutable_field_forces_replacement() -> None:
    wanted = desired(Kind.TEMPLATE, "A", attrs={"editor_type": "USER_DRAGGABLE", "html": "<p>x</p>"})
    change = choose_action(wanted, live(Kind.TEMPLATE, "A"))
    assert change is not None and change.action is Action.REPLACE
    assert change.replace_mode is ReplaceMode.CREATE_FIRST
    assert [(f.field, f.forces_replacement) for f in change.fields] == [("editor_type", True)]
    group = choose_action(desired(Kind.TAG_GROUP, "G", attrs={"exclusive": True}), live(Kind.TAG_GROUP, "G"))
    assert group is not None and group.replace_mode is ReplaceMode.DELETE_FIRST
    assert group.reason == "exclusive cannot change in place"


def test_renamed_match_is_a_rename_with_the_name_field() -> None:
    change = choose_action(desired(Kind.LIST, "VIP"), live(Kind.LIST, "Top"), renamed=True)
    assert change is not None and change.action is Action.RENAME
    assert [(f.field, f.old, f.new) for f in change.fields] == [("name", "Top", "VIP")]


# -- compare: matching and scope ------------------------------------------------------------------------------


def test_crlf_only_difference_is_no_change() -> None:
    project = Project(state([desired(Kind.TEMPLATE, "A", attrs={"html": "<p>\r\n hi \r\n</p>\r\n", "text": "t\r\n"})]))
    account = state([live(Kind.TEMPLATE, "A", attrs={"html": "<p>\n hi\n</p>", "text": "t"})])
    assert diff(project, account) == []


def test_rename_through_renamed_from() -> None:
    project = Project(state([desired(Kind.LIST, "VIP Customers", renamed_from=("Top Customers",))]))
    old = live(Kind.LIST, "Top Customers")
    comparison = compare(project, state([old]))
    assert actions(comparison.changes) == [("rename", 'list["VIP Customers"]')]
    assert comparison.live_ids == {'list["VIP Customers"]': old.id}


def test_renamed_from_and_new_name_both_live_is_an_error() -> None:
    project = Project(state([desired(Kind.LIST, "VIP", renamed_from=("Top",))]))
    with pytest.raises(PlanError) as caught:
        compare(project, state([live(Kind.LIST, "VIP", id="AAAAAA"), live(Kind.LIST, "Top", id="BBBBBB")]))
    message = str(caught.value)
    assert "AAAAAA" in message and "BBBBBB" in message and "renamed_from" in message


def test_two_live_objects_with_a_declared_name_is_an_error_naming_both() -> None:
    project = Project(state([desired(Kind.TEMPLATE, "Welcome", attrs={"html": "x"})]))
    account = state([live(Kind.TEMPLATE, "Welcome", id="Tmpl01"), live(Kind.TEMPLATE, "Welcome", id="Tmpl02")])
    with pytest.raises(PlanError) as caught:
        compare(project, account)
    problem = caught.value.problems[0]
    assert "Tmpl01" in problem.message and "Tmpl02" in problem.message
    assert problem.file == "klaviyo.yaml" and problem.line > 0 and "rename or delete" in problem.hint


def test_prune_off_leaves_undeclared_objects_unmanaged() -> None:
    project = Project(state([]))
    account = state([live(Kind.TEMPLATE, "Old"), live(Kind.LIST, "Old list"), default_group()])
    comparison = compare(project, account)
    assert comparison.changes == []
    assert sorted(r.address for r in comparison.unmanaged) == ['list["Old list"]', 'tag_group["Default"]', 'template["Old"]']


def test_prune_deletes_undeclared_but_never_ignored_or_default_group() -> None:
    project = Project(
        state([]),
        prune={Kind.TEMPLATE: True, Kind.TAG_GROUP: True, Kind.LIST: False},
        ignore={Kind.TEMPLATE: ("Draft *",)},
    )
    account = state(
        [
            live(Kind.TEMPLATE, "Old"),
            live(Kind.TEMPLATE, "Draft: promo"),  # not matched: the glob needs a space after Draft
            live(Kind.TEMPLATE, "Draft promo"),
            live(Kind.LIST, "Old list"),
            default_group(),
            live(Kind.TAG_GROUP, "Legacy"),
        ]
    )
    comparison = compare(project, account)
    assert actions(comparison.changes) == [
        ("delete", 'tag_group["Legacy"]'),
        ("delete", 'template["Draft: promo"]'),
        ("delete", 'template["Old"]'),
    ]
    assert {r.address for r in comparison.unmanaged} == {'template["Draft promo"]', 'list["Old list"]', 'tag_group["Default"]'}


def test_pruned_duplicates_are_each_deleted() -> None:
    project = Project(state([]), prune={Kind.TEMPLATE: True})
    account = state([live(Kind.TEMPLATE, "Dup", id="Dup001"), live(Kind.TEMPLATE, "Dup", id="Dup002")])
    deleted = sorted(c.live.id for c in diff(project, account) if c.live)
    assert deleted == ["Dup001", "Dup002"]


def test_tags_of_a_declared_group_are_fully_managed_and_links_cascade() -> None:
    group = live(Kind.TAG_GROUP, "Lifecycle")
    stale = live(Kind.TAG, "Lifecycle", "Old")
    newsletter = live(Kind.LIST, "Newsletter")
    project = Project(
        state([desired(Kind.TAG_GROUP, "Lifecycle"), desired(Kind.TAG, "Lifecycle", "Welcome"), desired(Kind.LIST, "Newsletter")])
    )
    comparison = compare(project, state([group, stale, newsletter, link(newsletter, stale)]))
    # The stale tag's link goes with it: Klaviyo removes it, so it is not a separate unlink.
    assert actions(comparison.changes) == [("create", 'tag["Lifecycle"/"Welcome"]'), ("delete", 'tag["Lifecycle"/"Old"]')]
    assert [r.address for r, _ in comparison.cascaded] == ['list_tag["Newsletter"/"Lifecycle"/"Old"]']


def test_tags_of_undeclared_groups_are_unmanaged() -> None:
    other = live(Kind.TAG, "Other", "T")
    comparison = compare(Project(state([])), state([live(Kind.TAG_GROUP, "Other"), other]))
    assert comparison.changes == [] and other in comparison.unmanaged


def test_tag_moved_between_declared_groups_is_a_replace() -> None:
    project = Project(
        state(
            [
                desired(Kind.TAG_GROUP, "Lifecycle"),
                desired(Kind.TAG_GROUP, "Channel"),
                desired(Kind.TAG, "Channel", "VIP"),
            ]
        )
    )
    moved = live(Kind.TAG, "Lifecycle", "VIP")
    comparison = compare(project, state([live(Kind.TAG_GROUP, "Lifecycle"), live(Kind.TAG_GROUP, "Channel"), moved]))
    [change] = comparison.changes
    assert change.action is Action.REPLACE and change.live is moved
    assert change.reason.startswith("group changed")
    assert [(f.field, f.old, f.new, f.forces_replacement) for f in change.fields] == [("group", "Lifecycle", "Channel", True)]


def test_replaced_group_recreates_its_tags_and_links() -> None:
    group = live(Kind.TAG_GROUP, "Channel", attrs={"exclusive": False})
    email = live(Kind.TAG, "Channel", "Email")
    newsletter = live(Kind.LIST, "Newsletter")
    project = Project(
        state(
            [
                desired(Kind.TAG_GROUP, "Channel", attrs={"exclusive": True}),
                desired(Kind.TAG, "Channel", "Email"),
                desired(Kind.LIST, "Newsletter"),
                desired(Kind.LIST_TAG, "Newsletter", "Channel", "Email"),
            ]
        )
    )
    comparison = compare(project, state([group, email, newsletter, link(newsletter, email)]))
    assert actions(comparison.changes) == [
        ("create", 'tag["Channel"/"Email"]'),
        ("link", 'list_tag["Newsletter"/"Channel"/"Email"]'),
        ("replace", 'tag_group["Channel"]'),
    ]
    assert {r.address for r, _ in comparison.cascaded} == {'tag["Channel"/"Email"]', 'list_tag["Newsletter"/"Channel"/"Email"]'}


def test_default_group_cannot_be_replaced() -> None:
    project = Project(state([desired(Kind.TAG_GROUP, "Default", attrs={"exclusive": True})]))
    with pytest.raises(PlanError, match="default tag group"):
        compare(project, state([default_group()]))


def test_links_of_declared_lists_are_fully_managed() -> None:
    group, welcome, other_group, foreign = (
        live(Kind.TAG_GROUP, "Lifecycle"),
        live(Kind.TAG, "Lifecycle", "Welcome"),
        live(Kind.TAG_GROUP, "Unmanaged"),
        live(Kind.TAG, "Unmanaged", "X"),
    )
    newsletter, other_list = live(Kind.LIST, "Newsletter"), live(Kind.LIST, "Other")
    project = Project(
        state(
            [
                desired(Kind.TAG_GROUP, "Lifecycle"),
                desired(Kind.TAG, "Lifecycle", "Welcome"),
                desired(Kind.LIST, "Newsletter"),
                desired(Kind.LIST_TAG, "Newsletter", "Lifecycle", "Welcome"),
            ]
        )
    )
    account = state(
        [group, welcome, other_group, foreign, newsletter, other_list, link(newsletter, foreign), link(other_list, welcome)]
    )
    assert actions(diff(project, account)) == [
        ("link", 'list_tag["Newsletter"/"Lifecycle"/"Welcome"]'),
        ("unlink", 'list_tag["Newsletter"/"Unmanaged"/"X"]'),
    ]


def test_renamed_group_keeps_its_tags_and_links() -> None:
    group, tag, news = live(Kind.TAG_GROUP, "Old"), live(Kind.TAG, "Old", "T"), live(Kind.LIST, "News")
    project = Project(
        state(
            [
                desired(Kind.TAG_GROUP, "New", renamed_from=("Old",)),
                desired(Kind.TAG, "New", "T"),
                desired(Kind.LIST, "News"),
                desired(Kind.LIST_TAG, "News", "New", "T"),
            ]
        )
    )
    comparison = compare(project, state([group, tag, news, link(news, tag)]))
    assert actions(comparison.changes) == [("rename", 'tag_group["New"]')]
    assert comparison.live_ids['tag["New"/"T"]'] == tag.id


def test_clone_source_must_exist_and_survive() -> None:
    clone = desired(Kind.TEMPLATE, "FR", attrs={"html": "x"}, clone_from="EN")
    with pytest.raises(PlanError, match="neither declared nor in the account"):
        compare(Project(state([clone])), state([]))
    with pytest.raises(PlanError, match="which this plan deletes"):
        compare(Project(state([clone]), prune={Kind.TEMPLATE: True}), state([live(Kind.TEMPLATE, "EN")]))
    source = live(Kind.TEMPLATE, "EN")
    comparison = compare(Project(state([clone])), state([source]))
    assert actions(comparison.changes) == [("clone", 'template["FR"]')]
    assert comparison.live_ids == {'template["EN"]': source.id}


def test_a_clone_must_keep_its_source_editor() -> None:
    clone = desired(Kind.TEMPLATE, "FR", attrs={"html": "x"}, clone_from="EN")  # editor_type CODE by default
    source = live(Kind.TEMPLATE, "EN", attrs={"editor_type": "USER_DRAGGABLE"})
    with pytest.raises(PlanError, match="set editor_type: USER_DRAGGABLE"):
        compare(Project(state([clone])), state([source]))


@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")), max_size=8))
def test_line_endings_and_trailing_blanks_never_make_a_change(lines: list[str]) -> None:
    """Whatever the content, the same lines with CRLF endings and trailing blanks compare equal, and only them."""
    written = "\r\n".join(line + " \t" for line in lines) + "\r\n\r\n"
    stored = "\n".join(lines)
    assert values_equal("html", written, stored)
    assert normalise_text(normalise_text(written)) == normalise_text(written)
    assert not values_equal("html", written, stored + "<!-- changed -->")

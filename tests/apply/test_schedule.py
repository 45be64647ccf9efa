"""The plan's changes as tasks: phases, dependencies, and link batching per tag."""

from __future__ import annotations

from klaviyo_sync.apply.schedule import LINK_BATCH_SIZE, build_tasks, burst_limit
from klaviyo_sync.resources import Action, Change, Kind, ReplaceMode, Resource


def create(kind: Kind, *key: str, clone_from: str | None = None) -> Change:
    return Change(
        Action.CREATE if clone_from is None else Action.CLONE, kind, key, Resource(kind, key, clone_from=clone_from), None
    )


def delete(kind: Kind, *key: str, id: str = "x") -> Change:
    action = Action.UNLINK if kind is Kind.LIST_TAG else Action.DELETE
    return Change(action, kind, key, None, Resource(kind, key, id=id))


def link(list_name: str, group: str, tag: str) -> Change:
    key = (list_name, group, tag)
    return Change(Action.LINK, Kind.LIST_TAG, key, Resource(Kind.LIST_TAG, key), None)


def test_links_of_one_tag_share_one_task_placed_after_their_lists() -> None:
    changes = [
        create(Kind.TAG_GROUP, "G"),
        create(Kind.TAG, "G", "t"),
        create(Kind.LIST, "A"),
        link("A", "G", "t"),
        create(Kind.LIST, "B"),
        link("B", "G", "t"),
        link("B", "G", "u"),
    ]
    tasks = build_tasks(changes)
    batches = [task for task in tasks if task.action is Action.LINK]
    assert [[c.key for c in task.changes] for task in batches] == [[("A", "G", "t"), ("B", "G", "t")], [("B", "G", "u")]]
    by_change = {id(c): task.index for task in tasks for c in task.changes}
    t_batch = batches[0]
    # Waits for the tag, for both lists, and (through the tag) for the group.
    assert {by_change[id(changes[1])], by_change[id(changes[2])], by_change[id(changes[4])]} <= t_batch.deps
    assert by_change[id(changes[0])] in tasks[by_change[id(changes[1])]].deps


def test_independent_creates_do_not_wait_for_each_other() -> None:
    tasks = build_tasks([create(Kind.TEMPLATE, "a"), create(Kind.TEMPLATE, "b"), create(Kind.LIST, "c")])
    assert [task.deps for task in tasks] == [set(), set(), set()]


def test_clone_waits_for_its_source() -> None:
    tasks = build_tasks([create(Kind.TEMPLATE, "Source"), create(Kind.TEMPLATE, "Copy", clone_from="Source")])
    assert tasks[1].deps == {0}


def test_deletes_run_in_an_earlier_phase_and_in_dependency_order() -> None:
    changes = [
        delete(Kind.LIST_TAG, "A", "G", "t"),
        delete(Kind.TAG, "G", "t"),
        delete(Kind.TAG_GROUP, "G"),
        create(Kind.TAG_GROUP, "H"),
    ]
    tasks = build_tasks(changes)
    assert [task.phase for task in tasks] == [0, 0, 0, 1]
    assert tasks[1].deps == {0}  # the tag goes after its link
    assert tasks[2].deps == {0, 1}  # the group after its tag (and the link naming the group)


def test_a_replace_and_its_dependents() -> None:
    old = Resource(Kind.TAG_GROUP, ("G",), {"exclusive": False}, id="g1")
    replace = Change(
        Action.REPLACE,
        Kind.TAG_GROUP,
        ("G",),
        Resource(Kind.TAG_GROUP, ("G",), {"exclusive": True}),
        old,
        (),
        "",
        ReplaceMode.DELETE_FIRST,
    )
    tasks = build_tasks([replace, create(Kind.TAG, "G", "t"), link("L", "G", "t")])
    assert tasks[1].deps == {0}
    assert tasks[2].deps == {0, 1}


def test_link_batches_are_split_at_the_batch_size() -> None:
    changes = [link(f"list {n:03}", "G", "t") for n in range(LINK_BATCH_SIZE + 5)]
    tasks = build_tasks(changes)
    assert [len(task.changes) for task in tasks] == [LINK_BATCH_SIZE, 5]


def test_each_task_names_the_endpoint_its_first_request_goes_to() -> None:
    old = Resource(Kind.TEMPLATE, ("T",), {"editor_type": "CODE"}, id="t1")
    new = Resource(Kind.TEMPLATE, ("T",), {"editor_type": "USER_DRAGGABLE"})
    create_first = Change(Action.REPLACE, Kind.TEMPLATE, ("T",), new, old, (), "", ReplaceMode.CREATE_FIRST)
    tasks = build_tasks(
        [
            delete(Kind.LIST_TAG, "A", "G", "t"),
            create(Kind.TAG, "G", "t"),
            create(Kind.TEMPLATE, "Copy", clone_from="Source"),
            link("A", "G", "t"),
            create_first,
        ]
    )
    assert [task.first_operation for task in tasks] == [
        "remove_tag_from_lists",
        "create_tag",
        "clone_template",
        "tag_lists",
        "create_template",
    ]
    assert [burst_limit(task.first_operation) for task in tasks] == [3, 3, 75, 3, 75]

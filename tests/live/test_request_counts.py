"""The reader's request counts, exact: the lower bound for every sequential walk, the documented bound otherwise."""

from __future__ import annotations

import pytest

from klaviyo_sync.partitions import AUTO, SEQUENTIAL, Partitioning
from klaviyo_sync.resources import Kind
from tests.client.conftest import MakeClient, MakeEmulator, seed_account
from tests.live.support import SteppingClock, lower_bound, read
from tests.support.canary import CANARY_KEY

SHAPES = [  # templates, lists, tags, tag groups (the default group included)
    (0, 0, 0, 1),
    (1, 1, 1, 1),
    (10, 10, 50, 25),
    (11, 11, 51, 26),
    (20, 20, 100, 50),
    (95, 23, 120, 7),
    (100, 100, 500, 50),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "-".join(map(str, shape)))
@pytest.mark.parametrize("steps", [(0.0,), (0.0, 0.0, 3.0)], ids=["same-second", "bursts"])
@pytest.mark.parametrize("partitioning", [AUTO, SEQUENTIAL], ids=["auto", "sequential"])
def test_accounts_of_up_to_ten_pages_per_kind_are_read_with_exactly_the_lower_bound(
    make_emulator: MakeEmulator, shape: tuple[int, int, int, int], steps: tuple[float, ...], partitioning: Partitioning
) -> None:
    templates, lists, tags, groups = shape
    emulator = make_emulator(clock=SteppingClock(steps))
    emulator.seed(
        CANARY_KEY, seed_account(tag_groups=groups, tags=tags, lists=lists, templates=templates, tags_per_list=min(3, tags))
    )

    state, report = read(emulator, partitioning)

    bound = lower_bound(templates, lists, tags, groups)
    assert emulator.request_counts(CANARY_KEY) == bound
    assert report.requests() == bound
    assert all(stats.walks == 1 and stats.duplicates == 0 for stats in report.collections.values())
    assert [len(state.of_kind(kind)) for kind in (Kind.TEMPLATE, Kind.LIST, Kind.TAG, Kind.TAG_GROUP)] == list(shape)


@pytest.mark.parametrize(
    ("templates", "lists", "steps"),
    [(1000, 150, (1.0,)), (300, 60, (0.0, 0.0, 0.0, 7.0)), (300, 60, (0.0, 3600.0))],
    ids=["largest-one-per-second", "bursts", "hourly-pairs"],
)
def test_a_partitioned_read_stays_within_one_extra_request_per_walk_and_reads_what_a_sequential_one_reads(
    make_emulator: MakeEmulator, make_client: MakeClient, templates: int, lists: int, steps: tuple[float, ...]
) -> None:
    """The largest case is the performance target's account: 1,000 templates, 150 lists, 500 tags in 50 groups."""
    emulator = make_emulator(clock=SteppingClock(steps))
    emulator.seed(CANARY_KEY, seed_account(tag_groups=50, tags=500, lists=lists, templates=templates))
    bound = lower_bound(templates, lists, 500, 50)

    sequential, sequential_report = read(emulator, SEQUENTIAL, make_client=make_client)
    assert emulator.request_counts(CANARY_KEY) == bound == sequential_report.requests()
    emulator.request_log.clear()
    state, report = read(emulator, AUTO, make_client=make_client)

    assert report.requests() == emulator.request_counts(CANARY_KEY)
    assert report.collections["get_templates"].walks > 2  # the template collection was split
    for operation_id, stats in report.collections.items():
        assert bound[operation_id] <= stats.requests <= bound[operation_id] + stats.max_extra_requests, operation_id
        assert stats.duplicates == 0
    assert list(state) == list(sequential)
    assert len(state.of_kind(Kind.TEMPLATE)) == templates and len(state.of_kind(Kind.LIST)) == lists


def test_a_kind_without_created_is_always_one_sequential_walk(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator(clock=SteppingClock())
    emulator.seed(CANARY_KEY, seed_account(tag_groups=50, tags=500, lists=0, templates=0))

    _, report = read(emulator, Partitioning(prefix_pages=1, pages_per_walk=1))

    assert (report.collections["get_tags"].requests, report.collections["get_tags"].walks) == (10, 1)
    assert (report.collections["get_tag_groups"].requests, report.collections["get_tag_groups"].walks) == (2, 1)


def test_partitioning_settings_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Partitioning(prefix_pages=0)

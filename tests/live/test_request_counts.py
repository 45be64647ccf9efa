"""The reader's request counts, exact: the lower bound for every sequential walk, the documented bound otherwise."""

from __future__ import annotations

import asyncio

import pytest

from klaviyo_sync.partitions import AUTO, SEQUENTIAL, Horizon, Partitioning, WalkStats, walk_collection
from klaviyo_sync.resources import Kind
from tests.client.conftest import MakeClient, MakeEmulator, seed_account
from tests.live.support import SteppingClock, lower_bound, read
from tests.support.canary import CANARY_KEY
from tests.support.clients import emulator_client

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
    assert report.collections["get_templates"].walks >= 2  # the template collection was split
    for operation_id, stats in report.collections.items():
        assert bound[operation_id] <= stats.requests <= bound[operation_id] + stats.max_extra_requests, operation_id
        # Each walk may cost a request over the bound, so a collection has at most 4 % of its pages in walks.
        assert stats.walks <= max(2, AUTO.extra_fraction * bound[operation_id]), operation_id
        assert stats.duplicates == 0
    assert sum(report.requests().values()) <= 1.05 * sum(bound.values())
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
    for fraction in (0.0, 1.5):
        with pytest.raises(ValueError, match="extra_fraction"):
            Partitioning(extra_fraction=fraction)


@pytest.mark.parametrize(
    ("others_need_s", "walks"), [(0.0, (9, 10)), (600.0, (1, 1))], ids=["nothing-beside", "slow-read-beside"]
)
def test_a_collection_is_split_only_as_far_as_the_slowest_other_read_calls_for(
    make_emulator: MakeEmulator, others_need_s: float, walks: tuple[int, int]
) -> None:
    """1,000 templates: 100 pages, so 10 walks allowed, one of them held back for rebalancing. With no other read
    still going, they are used; beside a read expected to take ten minutes more, reading on alone ends in time, so
    not even the top walk's request is spent and the read is exact."""
    emulator = make_emulator(clock=SteppingClock((1.0,)))
    emulator.seed(CANARY_KEY, seed_account(tag_groups=1, tags=0, lists=0, templates=1000))
    horizon = Horizon()
    horizon.expect("another read", horizon.clock() + others_need_s)

    async def scenario() -> WalkStats:
        async with emulator_client(emulator, pacing=False) as client:
            return (await walk_collection(client, "get_templates", {}, AUTO, horizon)).stats

    stats = asyncio.run(scenario())

    assert walks[0] <= stats.walks <= walks[1]
    assert 100 <= stats.requests <= 100 + stats.max_extra_requests

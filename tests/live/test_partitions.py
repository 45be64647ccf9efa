"""Partitioned walks read exactly what a sequential walk reads, even while objects come and go mid-read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.messages import EmuRequest, EmuResponse
from klaviyo_sync.partitions import SEQUENTIAL, Partitioning, created_second
from klaviyo_sync.resources import Kind
from tests.client.conftest import MakeEmulator
from tests.live.support import SteppingClock, api, lower_bound, read, templates_and_lists
from tests.support.canary import CANARY_KEY
from tests.support.conformance import Conformance
from tests.support.fixtures import ServedEmulator

COLLECTIONS = {"get_templates": ("templates", Kind.TEMPLATE), "get_lists": ("lists", Kind.LIST)}
# Splits even small collections, into as many walks as their pages, however soon the other reads end.
EAGER = Partitioning(prefix_pages=1, pages_per_walk=1, max_walks=4, extra_fraction=1.0, pace_to_slowest=False)

# Mostly dense seconds (ties, and slice boundaries that fall on occupied seconds), sometimes long gaps.
clock_steps = st.lists(st.sampled_from([0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 3600.0]), min_size=1, max_size=5)
partitionings = st.builds(
    Partitioning,
    prefix_pages=st.integers(1, 2),
    pages_per_walk=st.integers(1, 2),
    max_walks=st.integers(1, 5),
    extra_fraction=st.sampled_from([0.04, 0.5, 1.0]),
    pace_to_slowest=st.booleans(),
)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _emulator(steps: list[float]) -> tuple[Emulator, Conformance]:
    """An emulator checked against the spec (the fixture's checker is per test; these run per example)."""
    emulator = Emulator(EmulatorConfig(clock=SteppingClock(steps)))
    checker = Conformance(validate_requests=True)
    emulator.add_observer(checker.observe)
    return emulator, checker


@SETTINGS
@given(
    templates=st.integers(0, 80),
    lists=st.integers(0, 80),
    steps=clock_steps,
    partitioning=partitionings,
)
def test_partitioned_and_sequential_walks_read_the_same_objects(
    templates: int, lists: int, steps: list[float], partitioning: Partitioning
) -> None:
    emulator, checker = _emulator(steps)
    emulator.seed(CANARY_KEY, templates_and_lists(templates, lists))
    bound = lower_bound(templates, lists, 0, 1)

    sequential, sequential_report = read(emulator, SEQUENTIAL)
    partitioned, report = read(emulator, partitioning)

    assert sequential_report.requests() == bound
    assert list(partitioned) == list(sequential)
    for operation_id, stats in report.collections.items():
        assert bound[operation_id] <= stats.requests <= bound[operation_id] + stats.max_extra_requests
        assert stats.duplicates == 0
    checker.assert_clean()


@dataclass
class Churn:
    """Creates and deletes objects between the pages of a read, as other users of the account would."""

    emulator: Emulator
    plan: list[tuple[str, int]]  # per page answered: ("create" | "delete" | "none", a number to pick with)
    ids: dict[str, list[str]]  # live ids per kind ("templates", "lists")
    ever: dict[str, set[str]] = field(default_factory=dict)
    deleted: dict[str, set[str]] = field(default_factory=dict)
    created: int = 0

    def __post_init__(self) -> None:
        self.ever = {kind: set(ids) for kind, ids in self.ids.items()}
        self.deleted = {kind: set() for kind in self.ids}

    def __call__(self, request: EmuRequest, response: EmuResponse) -> None:
        if response.operation_id not in COLLECTIONS or response.status != 200 or not self.plan:
            return
        action, pick = self.plan.pop(0)
        kind = COLLECTIONS[response.operation_id][0]
        if action == "create":
            self.created += 1
            name = f"Mid-read {self.created}"
            seed = templates_and_lists(1, 0)["templates"][0] | {"name": name} if kind == "templates" else None
            data = {"templates": [seed]} if seed else {"lists": [{"name": name, "opt_in_process": "single_opt_in", "tags": []}]}
            new_id = self.emulator.seed(CANARY_KEY, data)[kind][0]
            self.ids[kind].append(new_id)
            self.ever[kind].add(new_id)
        elif action == "delete" and self.ids[kind]:
            victim = self.ids[kind].pop(pick % len(self.ids[kind]))
            with api(self.emulator) as client:
                assert client.delete(f"/api/{kind}/{victim}").status_code == 204
            self.deleted[kind].add(victim)


@SETTINGS
@given(
    templates=st.integers(0, 70),
    lists=st.integers(0, 70),
    steps=clock_steps,
    partitioning=st.one_of(st.just(SEQUENTIAL), st.just(EAGER), partitionings),
    plan=st.lists(st.tuples(st.sampled_from(["create", "delete", "delete", "none"]), st.integers(0, 1000)), max_size=30),
)
def test_objects_present_for_the_whole_read_are_read_exactly_once_while_others_come_and_go(
    templates: int, lists: int, steps: list[float], partitioning: Partitioning, plan: list[tuple[str, int]]
) -> None:
    emulator, checker = _emulator(steps)
    seeded = emulator.seed(CANARY_KEY, templates_and_lists(templates, lists))
    churn = Churn(emulator, list(plan), {"templates": list(seeded["templates"]), "lists": list(seeded["lists"])})
    emulator.add_observer(churn)

    state, report = read(emulator, partitioning)

    for kind_name, kind in (("templates", Kind.TEMPLATE), ("lists", Kind.LIST)):
        read_ids = [resource.id for resource in state.of_kind(kind)]
        assert len(read_ids) == len(set(read_ids)), "an object was read twice"
        present_throughout = set(seeded[kind_name]) - churn.deleted[kind_name]
        assert present_throughout <= set(read_ids), "an object present for the whole read was missed"
        assert set(read_ids) <= churn.ever[kind_name], "an object that never existed was read"
    assert all(stats.duplicates == 0 for stats in report.collections.values())
    checker.assert_clean()


def test_lists_are_split_with_greater_than_alone_and_keep_their_tags(make_emulator: MakeEmulator) -> None:
    """Lists allow only `greater-than(created, ...)`: slices end where their walk reads past the boundary."""
    emulator = make_emulator(clock=SteppingClock((0.0, 1.0)))  # two lists a second: every boundary splits a tie
    emulator.seed(CANARY_KEY, templates_and_lists(0, 0) | {"tag_groups": [{"name": "Topic"}], "tags": []})
    tags = [{"group": "Topic", "name": f"T{index}"} for index in range(5)]
    lists = [
        {"name": f"List {index:03d}", "opt_in_process": "double_opt_in", "tags": [["Topic", f"T{index % 5}"]]}
        for index in range(97)
    ]
    emulator.seed(CANARY_KEY, {"tags": tags, "lists": lists})
    filters: list[str] = []
    emulator.add_observer(
        lambda request, response: filters.append(request.query_string) if response.operation_id == "get_lists" else None
    )

    sequential, _ = read(emulator, SEQUENTIAL)
    partitioned, report = read(emulator, EAGER)

    assert report.collections["get_lists"].walks > 2
    assert any("greater-than" in query for query in filters) and not any("less-than" in query for query in filters)
    assert list(partitioned) == list(sequential)
    assert len(partitioned.of_kind(Kind.LIST_TAG)) == 97


def test_templates_are_split_by_disjoint_created_ranges(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator(clock=SteppingClock((1.0, 0.0)))
    emulator.seed(CANARY_KEY, templates_and_lists(120, 0))
    queries: list[str] = []
    emulator.add_observer(
        lambda request, response: queries.append(request.query_string) if response.operation_id == "get_templates" else None
    )

    _, report = read(emulator, EAGER)

    stats = report.collections["get_templates"]
    assert stats.walks == 2 + 2  # prefix and top walks, two slices between them: four walks over the middle
    first_pages = [query for query in queries if "page" not in query]
    assert len(first_pages) == stats.walks
    assert sum("greater-or-equal" in query and "less-than" in query for query in first_pages) == 2
    assert sum("sort=-created" in query for query in queries) > 1  # the top walk went on from its first page


def test_reading_partitioned_over_loopback_matches_reading_in_process(
    make_emulator: MakeEmulator, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    emulator = make_emulator(clock=SteppingClock((0.0, 2.0, 1.0)))
    emulator.seed(CANARY_KEY, templates_and_lists(250, 130))
    in_process, _ = read(emulator, SEQUENTIAL)
    served = serve_emulator(emulator)

    def over_loopback(_: Emulator) -> KlaviyoClient:
        return KlaviyoClient(CANARY_KEY, base_url=served.base_url, time_scale=0.001)

    over_http, report = read(emulator, Partitioning(extra_fraction=1.0, pace_to_slowest=False), make_client=over_loopback)

    assert report.collections["get_templates"].walks > 2 and report.collections["get_lists"].walks >= 2
    assert list(over_http) == list(in_process)


@pytest.mark.parametrize(
    ("shown", "second"),
    [
        ("2026-07-20T12:00:00+00:00", 1784548800),
        ("2026-07-20T12:00:00Z", 1784548800),
        ("2026-07-20T12:00:00.999999+00:00", 1784548800),
        ("2026-07-20T14:00:00+02:00", 1784548800),
        ("2026-07-20T12:00:00", 1784548800),
        ("yesterday", None),
        (None, None),
    ],
)
def test_created_is_read_to_the_whole_second_whatever_its_form(shown: str | None, second: int | None) -> None:
    assert created_second({"attributes": {"created": shown}}) == second


@pytest.mark.parametrize("undated", ["oldest", "newest"])
def test_templates_without_created_make_the_walk_sequential_and_are_all_read(
    make_emulator: MakeEmulator, tmp_path: Path, undated: str
) -> None:
    """Klaviyo's schema lets `created` be null. Such objects sort to one end, where the prefix or the top walk sees them."""
    source = make_emulator(clock=SteppingClock())
    source.seed(CANARY_KEY, templates_and_lists(60, 0))
    saved = source.dump()
    templates = next(iter(saved["accounts"].values()))["templates"]
    ordered = sorted(templates.values(), key=lambda template: template["seq"])
    for template in ordered[:3] if undated == "oldest" else ordered[-3:]:
        template["created"] = None
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(saved), encoding="utf-8")
    emulator = make_emulator(state_file=state_file)

    sequential, _ = read(emulator, SEQUENTIAL)
    partitioned, report = read(emulator, EAGER)

    assert len(partitioned.of_kind(Kind.TEMPLATE)) == 60
    assert list(partitioned) == list(sequential)
    assert report.collections["get_templates"].walks == 2  # prefix and top, then the prefix walked to the end


def test_a_walk_that_finishes_early_takes_over_half_of_the_busiest_range(
    make_emulator: MakeEmulator, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    """Objects are rarely created evenly: here most of them sit in one part of the time line. Slices cut evenly in
    time finish at very different moments; each time one does, the busiest range is split in two."""
    steps = [0.1] * 100 + [2.0] * 10 + [0.05] * 300 + [1.0] * 10  # dense prefix, sparse middle, dense block, top
    emulator = make_emulator(clock=SteppingClock(steps), latency_ms=20)
    emulator.seed(CANARY_KEY, templates_and_lists(len(steps), 0))
    served = serve_emulator(emulator)

    def over_loopback(_: Emulator) -> KlaviyoClient:  # real concurrency: walks progress side by side
        return KlaviyoClient(CANARY_KEY, base_url=served.base_url, pacing=False)

    sequential, _ = read(emulator, SEQUENTIAL)
    eager = Partitioning(prefix_pages=10, pages_per_walk=1, max_walks=4, extra_fraction=1.0, pace_to_slowest=False)
    partitioned, report = read(emulator, eager, make_client=over_loopback)

    stats = report.collections["get_templates"]
    assert stats.walks > 2 + 2  # prefix, top and two slices to start with; splits added more
    assert list(partitioned) == list(sequential)
    assert stats.duplicates == 0
    assert 42 <= stats.requests <= 42 + stats.max_extra_requests

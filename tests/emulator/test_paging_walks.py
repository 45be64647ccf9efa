"""Keyset paging stays exact while objects come and go: the walks a concurrent, partitioned reader makes.

A stateful test interleaves page fetches of several walks at once with creates and deletes. Each walk pages a
collection (templates or lists) with a `sort` on `created` and a datetime filter written in one of the forms
RFC 3339 allows (Z, +00:00, other offsets, fractions, lower case). When a walk ends, every object that existed
for the whole walk and matches the filter was returned exactly once, nothing was returned twice, everything
returned matched the filter, and the order followed the sort. Timestamps collide on purpose (several objects
per second), so ties in `created` are crossed by page boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.emulator.helpers import client
from tests.support.canary import CANARY_KEY
from tests.support.conformance import Conformance

START = 1_800_000_000  # 2027-01-15T08:00:00Z
KLAVIYO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "greater-than": lambda value, bound: value > bound,
    "greater-or-equal": lambda value, bound: value >= bound,
    "less-than": lambda value, bound: value < bound,
    "less-or-equal": lambda value, bound: value <= bound,
    "equals": lambda value, bound: value == bound,
}
STYLES = ("Z", "+00:00", "+02:00", "-04:30", "lower", "fraction")


def rfc3339(epoch: float, style: str) -> str:
    """The same instant in one of the forms a filter may use."""
    offset = {"+02:00": timedelta(hours=2), "-04:30": -timedelta(hours=4, minutes=30)}.get(style, timedelta(0))
    moment = datetime.fromtimestamp(epoch, UTC).astimezone(timezone(offset))
    text = moment.isoformat(timespec="microseconds" if style == "fraction" or epoch % 1 else "seconds")
    if style in ("Z", "fraction"):
        return text.replace("+00:00", "Z")
    if style == "lower":
        return text.replace("+00:00", "z").replace("T", "t")
    return text


@dataclass
class Walk:
    kind: str  # "templates" or "lists"
    params: dict[str, str]
    conditions: list[tuple[str, float]]  # (operator, bound as epoch seconds)
    descending: bool | None  # None: the default order
    survivors: set[str]  # matching objects alive when the walk started and not deleted since
    seen: list[str] = field(default_factory=list)
    created_seen: list[int] = field(default_factory=list)
    next_url: str | None = None
    pages: int = 0
    done: bool = False

    def wants(self, created: int) -> bool:
        return all(COMPARE[operator](created, bound) for operator, bound in self.conditions)


class PagingWalks(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = float(START)
        self.conformance = Conformance()
        self.emulator = Emulator(EmulatorConfig(clock=lambda: self.now))
        self.emulator.add_observer(self.conformance.observe)
        self.http: httpx.Client = client(self.emulator, CANARY_KEY)
        self.objects: dict[str, tuple[str, int]] = {}  # id -> (kind, created epoch)
        self.ever_alive: set[str] = set()
        self.deleted: dict[str, int] = {}
        self.walks: list[Walk] = []

    # -- the account changes --------------------------------------------------------------------

    @rule(kind=st.sampled_from(["templates", "lists"]), count=st.integers(1, 4), gap=st.sampled_from([0, 0, 1, 2]))
    def create(self, kind: str, count: int, gap: int) -> None:
        # Created through the store's rules without HTTP: the exchanges worth checking here are the page fetches.
        self.now += gap
        items = [{"name": "T", "html": "<p/>"} if kind == "templates" else {"name": "L"} for _ in range(count)]
        for object_id in self.emulator.seed(CANARY_KEY, {kind: items})[kind]:
            self.objects[object_id] = (kind, int(self.now))
            self.ever_alive.add(object_id)

    @precondition(lambda self: bool(self.objects))
    @rule(pick=st.integers(0, 10_000))
    def delete(self, pick: int) -> None:
        object_id = sorted(self.objects)[pick % len(self.objects)]
        kind, created = self.objects.pop(object_id)
        self.deleted[object_id] = created
        assert self.http.delete(f"/api/{kind}/{object_id}").status_code == 204
        for walk in self.walks:
            walk.survivors.discard(object_id)

    # -- readers ------------------------------------------------------------------------------------

    @precondition(lambda self: len([w for w in self.walks if not w.done]) < 3)
    @rule(
        sort=st.sampled_from(["created", "-created", None]),
        shape=st.sampled_from(["range-and", "range-comma", "greater-than", "greater-or-equal", "less-than", "less-or-equal"]),
        low=st.integers(-2, 40),
        width=st.integers(0, 20),
        half=st.booleans(),
        style=st.sampled_from(STYLES),
        size=st.integers(1, 4),
    )
    def start_template_walk(self, sort: str | None, shape: str, low: int, width: int, half: bool, style: str, size: int) -> None:
        lower = START + low + (0.5 if half else 0.0)
        upper = lower + width
        conditions = {
            "range-and": [("greater-or-equal", lower), ("less-than", upper)],
            "range-comma": [("greater-or-equal", lower), ("less-than", upper)],
            "greater-than": [("greater-than", lower)],
            "greater-or-equal": [("greater-or-equal", lower)],
            "less-than": [("less-than", upper)],
            "less-or-equal": [("less-or-equal", upper)],
        }[shape]
        terms = [f"{operator}(created,{rfc3339(bound, style)})" for operator, bound in conditions]
        text = f"and({','.join(terms)})" if shape == "range-and" else ",".join(terms)
        self._start("templates", text, conditions, sort, size)

    @precondition(lambda self: len([w for w in self.walks if not w.done]) < 3)
    @rule(
        sort=st.sampled_from(["created", "-created"]),
        low=st.one_of(st.none(), st.integers(-2, 40)),
        style=st.sampled_from(STYLES),
        size=st.integers(1, 4),
    )
    def start_list_walk(self, sort: str, low: int | None, style: str, size: int) -> None:
        conditions = [] if low is None else [("greater-than", float(START + low))]
        text = f"greater-than(created,{rfc3339(START + low, style)})" if low is not None else None
        self._start("lists", text, conditions, sort, size)

    @precondition(lambda self: any(not w.done for w in self.walks))
    @rule(pick=st.integers(0, 2))
    def next_page(self, pick: int) -> None:
        active = [w for w in self.walks if not w.done]
        self._fetch(active[pick % len(active)])

    @invariant()
    def finished_walks_were_exact(self) -> None:
        for walk in self.walks:
            if walk.done:
                self._check(walk)
        self.walks = [w for w in self.walks if not w.done]

    def teardown(self) -> None:
        try:
            for walk in self.walks:
                while not walk.done:
                    self._fetch(walk)
                self._check(walk)
        finally:
            self.http.close()
        self.conformance.assert_clean()

    # -- helpers ------------------------------------------------------------------------------------

    def _start(self, kind: str, text: str | None, conditions: list[tuple[str, float]], sort: str | None, size: int) -> None:
        params = {"page[size]": str(size)}
        if text is not None:
            params["filter"] = text
        if sort is not None:
            params["sort"] = sort
        descending = None if sort is None else sort.startswith("-")
        walk = Walk(kind, params, conditions, descending, set())
        walk.survivors = {i for i, (k, created) in self.objects.items() if k == kind and walk.wants(created)}
        self.walks.append(walk)
        self._fetch(walk)

    def _fetch(self, walk: Walk) -> None:
        walk.pages += 1
        assert walk.pages <= len(self.ever_alive) + 1, f"{walk.kind} {walk.params}: the walk does not end"
        if walk.next_url is None:
            response = self.http.get(f"/api/{walk.kind}", params=walk.params)
        else:
            response = self.http.get(walk.next_url)
        assert response.status_code == 200, response.text
        document = response.json()
        for item in document["data"]:
            created = item["attributes"]["created"]
            assert KLAVIYO_DATETIME.match(created), created
            assert datetime.fromisoformat(created).timestamp() == self.created_of(item["id"])
            walk.seen.append(item["id"])
            walk.created_seen.append(int(datetime.fromisoformat(created).timestamp()))
        walk.next_url = document["links"].get("next")
        walk.done = walk.next_url is None

    def created_of(self, object_id: str) -> int:
        return self.objects[object_id][1] if object_id in self.objects else self.deleted[object_id]

    def _check(self, walk: Walk) -> None:
        label = f"{walk.kind} {walk.params}"
        assert len(walk.seen) == len(set(walk.seen)), f"{label}: an object was returned twice"
        missing = walk.survivors - set(walk.seen)
        assert not missing, f"{label}: objects present for the whole walk were skipped: {sorted(missing)}"
        assert set(walk.seen) <= self.ever_alive
        assert all(walk.wants(created) for created in walk.created_seen), f"{label}: an object outside the filter"
        if walk.descending is not None:
            expected = sorted(walk.created_seen, reverse=walk.descending)
            assert walk.created_seen == expected, f"{label}: not in {walk.params['sort']} order"


def test_paging_walks_are_exact_while_objects_are_created_and_deleted() -> None:
    run_state_machine_as_test(
        PagingWalks,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )


def test_rfc3339_forms_name_the_same_instant() -> None:
    forms = {style: rfc3339(START + 0.5, style) for style in STYLES}
    assert forms["Z"] == "2027-01-15T08:00:00.500000Z"
    assert forms["-04:30"] == "2027-01-15T03:30:00.500000-04:30"
    assert forms["lower"] == "2027-01-15t08:00:00.500000z"
    assert {datetime.fromisoformat(text.upper().replace("Z", "+00:00")).timestamp() for text in forms.values()} == {START + 0.5}

"""Walking one collection with the fewest requests, and a large one in concurrent slices of its `created` range.

The tension. No response says how many objects remain, so two concurrent requests on one collection issued while the
remainder could fit on one page waste one of them: only a sequential walk is exact (ceil(n / page size) requests).
A large collection walked sequentially costs one latency per page, though (100 pages of templates: 10 s at 100 ms).
So, for operations whose spec allows a `created` filter and `sort=created` (templates, lists):

1. Prefix: walk ascending by `created`, one page after another. A collection of up to `prefix_pages` pages ends
   here, read with exactly the lower bound of requests.
2. Top: still more pages, so start a second walk from the newest end (`sort=-created`). Let lo be the `created`
   second of the last object the prefix read and s that of the oldest object on the top walk's first page. If
   s < lo, both ends met: done. Otherwise the seconds [lo, s] are the unread middle.
3. Slices: the middle is split at whole seconds into ranges walked concurrently, each following `links.next`
   verbatim. How many: no more than the read needs, and no more than the requests allow (see "How many walks"):
   - the prefix walk continues ascending from its cursor through the first range;
   - the top walk continues descending from its cursor through the last range;
   - each range between starts a walk with a server-side filter on its lower boundary (`greater-or-equal`, or on
     lists, which allow only `greater-than`, `greater-than` one second earlier) and, where the spec allows
     `less-than`, its upper boundary; it also stops by itself once it reads an object at or past its upper boundary.
4. Rebalancing: objects are rarely created evenly over time, so ranges cut evenly in time hold very different
   numbers of objects. Whenever a walk finishes, the range with the most pages left (estimated from its own walk's
   density) is split at a whole second, if the walks still allowed and the time left call for it: its walk stops at
   the split and a new walk takes the rest.

How many walks. A plan reads every collection at once, so it takes as long as its slowest read; a walk that makes
one collection end sooner than that costs a request and saves nothing. The slowest read is usually one that cannot
be split: tags (no `created`) at 3 requests a second, 10 pages for an account's 500 tags. Every walk of a read
reports to a shared `Horizon` when it expects to end: a single walk with more to read, at its own pace so far, after
as many pages again as it has read (no page says how many remain); a split collection, when its longest range is
through. A collection is split into just enough walks to end by the latest of the others' ends, and never into more
than `extra_fraction` of its estimated pages (at least the two that met there). Each walk may cost one request
beyond the bound, half of one on average (its last page is partly filled): a tenth of the pages in walks keeps the
requests within about 5 % of the bound, and lets 1,000 templates (100 pages at about 120 ms each, the first 10 read
in sequence) end with the tags' 10 pages at 3/s. While a prefix walk, reading on alone as far again as so far,
would still end in time with the others, it does not even spend the top walk's request. One walk of the allowed is
held back for rebalancing.

Exactness. Every walk keeps only the objects whose `created` second lies in its own range: (-inf, b1) for the
prefix walk, [b_i, b_i+1) for a slice, [b_last, +inf) for the top walk. The ranges partition the time line, so no
object is kept twice (ids are deduplicated as well, and the duplicates counted, which should stay 0). A walk sorted
by `created` over keyset cursors (Klaviyo's cursors are keyset tuples; the emulator's too) has read every object on
its side of the last one it read, so an object present for the whole read is in exactly one range and read by that
range's walk. Boundaries are whole seconds: `created` is shown to the second, and for a whole second b, "shown >= b"
and "is >= b" agree even if Klaviyo keeps fractions. `created` never changes. An object with no `created` would sort
to one end; seen on the prefix's pages or the top walk's first page, the walk falls back to sequential. Objects
created or deleted during the read may or may not be read; never twice.

Cost. A sequential walk makes exactly ceil(n / page size) requests. A partitioned one makes at most one more per
walk (each walk's last page may hold objects of the next range): at most lower bound + walks, reported in
`WalkStats`, and the walks are capped as above. Because the prefix and top walks continue from their cursors,
neither re-reads what it already has.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from klaviyo_sync.api_spec import operation
from klaviyo_sync.client import KlaviyoClient


@dataclass(frozen=True)
class Partitioning:
    """How a collection may be split. `sequential`: one walk, exactly the lower bound of requests, always."""

    mode: Literal["auto", "sequential"] = "auto"
    prefix_pages: int = 10  # collections up to this many pages are always read sequentially (exactly)
    pages_per_walk: int = 2  # split only when each walk is expected to read at least this many pages
    max_walks: int = 16  # concurrent walks over the middle; the pacer keeps them within the 75/s burst limit
    extra_fraction: float = 0.10  # walks (each may cost a request over the bound) per estimated page, at most
    pace_to_slowest: bool = True  # no more walks than it takes to end with the slowest other read of the plan

    def __post_init__(self) -> None:
        if self.prefix_pages < 1 or self.pages_per_walk < 1 or self.max_walks < 1:
            raise ValueError("prefix_pages, pages_per_walk and max_walks must be at least 1")
        if not 0 < self.extra_fraction <= 1:
            raise ValueError("extra_fraction must be more than 0 and at most 1")


AUTO = Partitioning()
SEQUENTIAL = Partitioning(mode="sequential")


@dataclass
class WalkStats:
    """What reading one collection cost."""

    requests: int = 0  # pages fetched (answered requests; the client's request_counts also counts retries)
    walks: int = 1  # 1 = one sequential walk; more = prefix, top and slices
    duplicates: int = 0  # objects kept by more than one walk and dropped (the ranges make this 0)

    @property
    def max_extra_requests(self) -> int:
        """Requests allowed above ceil(n / page size): none for a sequential walk, one per walk otherwise."""
        return 0 if self.walks == 1 else self.walks


@dataclass
class Walked:
    """The objects of one collection (each once) and the `included` resources that came with them."""

    data: list[dict[str, Any]] = field(default_factory=list)
    included: list[dict[str, Any]] = field(default_factory=list)
    stats: WalkStats = field(default_factory=WalkStats)


class Horizon:
    """When the reads of one plan expect to end, each as it last said: a collection split to end sooner than the
    others spends requests and saves nothing. Share one among the collections read at once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._ends: dict[int, float] = {}

    def expect(self, reader: object, end: float) -> None:
        self._ends[id(reader)] = end

    def time_left_beside(self, reader: object) -> float:
        """Seconds until the other readers expect to be done (0 when none is still reading)."""
        now = self.clock()
        return max([end - now for key, end in self._ends.items() if key != id(reader)] + [0.0])


async def walk_collection(
    client: KlaviyoClient,
    operation_id: str,
    params: dict[str, str],
    partitioning: Partitioning = AUTO,
    horizon: Horizon | None = None,
) -> Walked:
    """Every object of a collection, with the fewest requests (see the module docstring). `horizon`: shared by the
    collections read at once, so that none is split into more walks than it takes to end with the others."""
    params = {**operation(operation_id).page_size_params(), **params}
    stats = WalkStats()
    progress = _Progress(horizon or Horizon(), stats)
    bounds = _Bounds.of(operation_id)
    try:
        if bounds is None:  # tags and tag groups: no `created`, nothing to split on
            walk = _Walk(client, operation_id, params, stats, progress)
            async with walk:
                await walk.run()
            return _merge([(walk, None, None)], stats)

        prefix = _Walk(client, operation_id, {**params, "sort": "created"}, stats, progress)
        async with prefix:
            while await prefix.step() and (partitioning.mode == "sequential" or prefix.pages < partitioning.prefix_pages):
                pass
            # Reading on alone, as far again as so far, still ends in time with the other reads: no split is worth
            # the top walk's request yet.
            while partitioning.pace_to_slowest and prefix.has_next and progress.in_time(prefix.pages):
                await prefix.step()
            if not prefix.has_next:
                return _merge([(prefix, None, None)], stats)
            return await _partitioned(client, operation_id, params, partitioning, bounds, prefix, stats, progress)
    finally:
        progress.finished()


async def all_or_nothing(*coroutines: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run concurrently; on the first failure cancel the rest and raise that failure itself (not a group)."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            failure = task.exception() if task in done else None
            if failure is not None:
                raise failure
        return [task.result() for task in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class _Bounds:
    """The spec's operators for a slice's lower and upper `created` boundary on one operation."""

    lower: str  # "greater-or-equal", or "greater-than" (then given one second before the boundary)
    upper: str | None  # "less-than" where allowed; else the walk stops by itself

    @staticmethod
    def of(operation_id: str) -> _Bounds | None:
        op = operation(operation_id)
        sorts = (op.query.get("sort") or {}).get("enum") or []
        operators = ((op.filters.get("created") or {}).get("operators") or {}).get("single") or []
        if "created" not in sorts or "-created" not in sorts:
            return None
        lower = next((name for name in ("greater-or-equal", "greater-than") if name in operators), None)
        if lower is None:
            return None
        return _Bounds(lower, "less-than" if "less-than" in operators else None)

    def filter(self, low: int, high: int) -> str:
        if self.lower == "greater-or-equal":
            conditions = [f"greater-or-equal(created,{_rfc3339(low)})"]
        else:  # on whole seconds, "after the second before" is "at or after"
            conditions = [f"greater-than(created,{_rfc3339(low - 1)})"]
        if self.upper is not None:
            conditions.append(f"less-than(created,{_rfc3339(high)})")
        return ",".join(conditions)


class _Progress:
    """One collection's reports to the horizon: when it expects to end, after each page any of its walks reads."""

    def __init__(self, horizon: Horizon, stats: WalkStats) -> None:
        self.horizon, self._stats = horizon, stats
        self.started = horizon.clock()
        self.ranges: _Ranges | None = None  # set once the collection is split

    @property
    def seconds_per_page(self) -> float:
        """The collection's pace so far, waits for the rate limits included (its walks run side by side, so the
        elapsed time is divided among the pages of its longest walk)."""
        pages = self.ranges.longest_walk_pages() if self.ranges else self._stats.requests
        return (self.horizon.clock() - self.started) / max(1, pages)

    def page_read(self, walk: _Walk) -> None:
        now = self.horizon.clock()
        if self.ranges is not None:
            end = now + self.ranges.pages_left() * self.seconds_per_page
        elif walk.has_next:  # as many pages again as it read, at its pace so far
            end = now + walk.pages * self.seconds_per_page
        else:
            end = now
        self.horizon.expect(self, end)

    def time_left_beside(self) -> float:
        return self.horizon.time_left_beside(self)

    def in_time(self, pages: float) -> bool:
        """Whether `pages` more, at this collection's pace, end by the time the other reads expect to."""
        return pages * self.seconds_per_page <= self.time_left_beside()

    def finished(self) -> None:
        self.horizon.expect(self, self.horizon.clock())


class _Walk:
    """One page walk following `links.next`, step by step, remembering where it got to."""

    def __init__(
        self, client: KlaviyoClient, operation_id: str, params: dict[str, str], stats: WalkStats, progress: _Progress
    ) -> None:
        self._pages: AsyncGenerator[dict[str, Any], None] = client.paginate(operation_id, params)  # type: ignore[assignment]
        self._stats = stats
        self._progress = progress
        self.descending = params.get("sort", "").startswith("-")
        self.data: list[dict[str, Any]] = []
        self.included: list[dict[str, Any]] = []
        self.pages = 0
        self.has_next = True
        self.undated = False  # an object without a readable `created` was read
        self.stop: int | None = None  # the boundary this walk reads up to (down to, when descending)

    async def __aenter__(self) -> _Walk:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._pages.aclose()

    async def step(self) -> bool:
        """Fetch the next page; True while another follows."""
        page = await anext(self._pages, None)
        if page is None:
            self.has_next = False
            return False
        self._stats.requests += 1
        self.pages += 1
        items = page.get("data") or []
        self.data.extend(items)
        self.included.extend(page.get("included") or [])
        self.undated = self.undated or any(created_second(item) is None for item in items)
        links = page.get("links")
        self.has_next = bool(isinstance(links, dict) and links.get("next"))
        self._progress.page_read(self)
        return self.has_next

    async def run(self, stop: int | None = None) -> None:
        """Walk on until the end, or until an object past `stop` was read: created at or after it when ascending,
        before it when descending. `self.stop` may be moved closer while the walk runs (see `_Ranges.split`)."""
        self.stop = stop
        while self.has_next and not self.done:
            await self.step()

    @property
    def done(self) -> bool:
        """An object past `stop` was read."""
        last = self.last_second
        if self.stop is None or last is None:
            return False
        return last < self.stop if self.descending else last >= self.stop

    @property
    def last_second(self) -> int | None:
        return created_second(self.data[-1]) if self.data else None


async def _partitioned(
    client: KlaviyoClient,
    operation_id: str,
    params: dict[str, str],
    partitioning: Partitioning,
    bounds: _Bounds,
    prefix: _Walk,
    stats: WalkStats,
    progress: _Progress,
) -> Walked:
    stats.walks = 2
    top = _Walk(client, operation_id, {**params, "sort": "-created"}, stats, progress)
    async with top:
        await top.step()
        if not top.has_next:  # the whole collection fit on the top page (objects were deleted meanwhile)
            return _merge([(top, None, None)], stats)
        lo, oldest_on_top = prefix.last_second, top.last_second
        if prefix.undated or top.undated or lo is None or oldest_on_top is None:
            await prefix.run()  # objects without `created`: only a full walk is sure to see them
            return _merge([(prefix, None, None)], stats)
        if oldest_on_top < lo:  # the two ends met: the prefix holds everything before lo, the top everything after
            return _merge([(prefix, None, lo), (top, lo, None)], stats)

        end = oldest_on_top + 1  # the middle is [lo, end)
        walks, budget = _walks_worth(partitioning, operation_id, prefix, top, end - lo, progress)
        if walks == 1:  # too little to split: the top walk reads down to lo, the prefix keeps what lies before
            await top.run(stop=lo)
            return _merge([(prefix, None, lo), (top, lo, None)], stats)
        boundaries = _boundaries(lo, end, walks)
        ranges = _Ranges(client, operation_id, params, partitioning, bounds, stats, progress, budget)
        progress.ranges = ranges
        ranges.add(prefix, None, boundaries[1])
        for low, high in itertools.pairwise(boundaries[1:-1]):
            ranges.add(ranges.slice(low, high), low, high)
        ranges.add(top, boundaries[-2], None)
        try:
            await ranges.run()
        finally:
            await ranges.close()
    return _merge(ranges.final(), stats)


@dataclass
class _Range:
    """One walk and the `created` seconds [low, high) it keeps (None: open-ended)."""

    walk: _Walk
    low: int | None
    high: int | None


class _Ranges:
    """The concurrent walks over disjoint `created` ranges. Whenever one finishes, the range with the most left to
    read is split in two (whole seconds), so no walk is left on its own with a long tail: objects are rarely
    created evenly over time. A split costs at most one request, like any other walk, so there are at most `budget`
    walks in all, and none is split off that the others' time left does not call for."""

    def __init__(
        self,
        client: KlaviyoClient,
        operation_id: str,
        params: dict[str, str],
        partitioning: Partitioning,
        bounds: _Bounds,
        stats: WalkStats,
        progress: _Progress,
        budget: int,
    ) -> None:
        self._client, self._operation_id, self._params = client, operation_id, params
        self._partitioning, self._bounds, self._stats = partitioning, bounds, stats
        self._progress, self._budget = progress, budget
        self._page_size = operation(operation_id).page_size or 1
        self._ranges: list[_Range] = []
        self._opened: list[_Walk] = []  # slices this object started, closed by `close`

    def slice(self, low: int, high: int) -> _Walk:
        params = _slice_params(self._params, self._bounds, low, high)
        walk = _Walk(self._client, self._operation_id, params, self._stats, self._progress)
        self._opened.append(walk)
        self._stats.walks += 1
        return walk

    def add(self, walk: _Walk, low: int | None, high: int | None) -> None:
        self._ranges.append(_Range(walk, low, high))

    async def run(self) -> None:
        running = {asyncio.ensure_future(self._walk(entry)): entry for entry in self._ranges}
        try:
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a failed walk fails the read
                    del running[task]
                while len(running) < self._partitioning.max_walks and (entry := self._split()) is not None:
                    running[asyncio.ensure_future(self._walk(entry))] = entry
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _walk(self, entry: _Range) -> None:
        await entry.walk.run(stop=entry.low if entry.walk.descending else entry.high)

    def pages_left(self) -> float:
        """The most pages any range has left, estimated from its own walk's density."""
        return max([left[0] for left in map(self._left, self._ranges) if left is not None] + [0.0])

    def longest_walk_pages(self) -> int:
        return max(entry.walk.pages for entry in self._ranges)

    def _left(self, entry: _Range) -> tuple[float, int, int] | None:
        """The pages a range's walk has left, and the whole seconds nobody has read yet [first, end)."""
        walk, low, high = entry.walk, entry.low, entry.high
        last = walk.last_second
        if not walk.has_next or last is None or walk.done:
            return None
        # After the last second an ascending walk reached, before a descending one's.
        first, end = (low, last) if walk.descending else (last + 1, high)
        if first is None or end is None or end <= first:
            return None
        density = len(walk.data) / max(1, abs(last - created_second(walk.data[0])) + 1)  # type: ignore[operator]
        return density * (end - first) / self._page_size, first, end

    def _split(self) -> _Range | None:
        """Split the unfinished range with the most pages left to read; the new half gets its own walk. Not when
        the walks are spent, nor when that range ends in time with the others' reads anyway."""
        if self._stats.walks >= self._budget:
            return None
        best: tuple[float, _Range, int, int] | None = None
        for entry in self._ranges:
            left = self._left(entry)
            if left is None or left[2] - left[1] < 2:
                continue
            if left[0] >= 2 * self._partitioning.pages_per_walk and (best is None or left[0] > best[0]):
                best = (left[0], entry, left[1], left[2])
        if best is None:
            return None
        pages_left, entry, first, end = best
        if self._partitioning.pace_to_slowest and self._progress.in_time(pages_left):
            return None
        middle = (first + end) // 2
        if entry.walk.descending:  # it keeps [middle, +inf); the new walk reads [first, middle)
            entry.low = entry.walk.stop = middle
            low, high = first, middle
        else:  # it keeps [low, middle); the new walk reads [middle, end)
            entry.high = entry.walk.stop = middle
            low, high = middle, end
        new = _Range(self.slice(low, high), low, high)
        self._ranges.append(new)
        return new

    def final(self) -> list[tuple[_Walk, int | None, int | None]]:
        return [(entry.walk, entry.low, entry.high) for entry in self._ranges]

    async def close(self) -> None:
        for walk in self._opened:
            await walk.__aexit__()


def _slice_params(params: dict[str, str], bounds: _Bounds, low: int, high: int) -> dict[str, str]:
    return {**params, "sort": "created", "filter": bounds.filter(low, high)}


def _walks_worth(
    partitioning: Partitioning, operation_id: str, prefix: _Walk, top: _Walk, middle_seconds: int, progress: _Progress
) -> tuple[int, int]:
    """How many ranges to cut the middle into (at least 1), and the walks allowed in all (at least the 2 there are).

    From the density of the objects read so far: the middle's pages, each walk reading at least `pages_per_walk`;
    no more walks than `extra_fraction` of the collection's pages; no more than it takes to read the middle in the
    time the other reads still need (`pace_to_slowest`)."""
    first, newest = created_second(prefix.data[0]), created_second(top.data[0])
    seconds_seen = (prefix.last_second or 0) - (first or 0) + (newest or 0) - (top.last_second or 0) + 2
    density = (len(prefix.data) + len(top.data)) / max(1, seconds_seen)  # objects per second
    page_size = operation(operation_id).page_size or 1
    pages = density * middle_seconds / page_size
    budget = max(2, math.floor(partitioning.extra_fraction * (prefix.pages + top.pages + pages)))
    walks = min(budget, partitioning.max_walks, middle_seconds, math.floor(pages / partitioning.pages_per_walk))
    if partitioning.pace_to_slowest:
        per_page = progress.seconds_per_page
        walks = min(walks, math.ceil(pages * per_page / max(progress.time_left_beside(), per_page)))
    if walks >= 3 and walks == budget:  # one walk held back: the first range through takes over the busiest
        walks -= 1
    return max(1, walks), budget


def _boundaries(lo: int, hi: int, walks: int) -> list[int]:
    """lo = b0 < b1 < ... < b_walks = hi, whole seconds, evenly spaced."""
    return [lo + (hi - lo) * index // walks for index in range(walks + 1)]


def _merge(ranges: list[tuple[_Walk, int | None, int | None]], stats: WalkStats) -> Walked:
    """Each walk's objects within its own [low, high) of `created` seconds; each id once."""
    merged = Walked(stats=stats)
    seen: set[str] = set()
    for walk, low, high in ranges:
        merged.included.extend(walk.included)
        for item in walk.data:
            second = created_second(item)
            if second is not None and ((low is not None and second < low) or (high is not None and second >= high)):
                continue
            identifier = str(item.get("id"))
            if identifier in seen:
                stats.duplicates += 1
                continue
            seen.add(identifier)
            merged.data.append(item)
    return merged


def created_second(resource: dict[str, Any]) -> int | None:
    """The object's `created` as whole epoch seconds (what Klaviyo shows), or None if absent or unreadable."""
    value = (resource.get("attributes") or {}).get("created")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return math.floor((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def _rfc3339(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

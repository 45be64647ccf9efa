"""Execute a plan: dependency order, independent changes concurrently, stop cleanly, report everything.

The client paces each endpoint, so the executor only has to keep enough work in flight: every task whose
dependencies are done starts, up to as many at once per endpoint as the pacer lets out at once (the endpoint's
burst limit: 75 template creates, 10 list creates, 3 tag creates). So every endpoint runs at its own pace at the
same time (slow tag endpoints never hold back template or list work), and the client is never handed more than
it could send at once: the rest waits here, where a stop request still keeps it from starting.

On a failure that cannot be retried, or on a stop request (Ctrl-C, SIGTERM), no new task starts; tasks in flight
finish and are reported. A second interrupt abandons them: they are reported as "outcome unknown".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from klaviyo_sync.apply.ids import IdBook
from klaviyo_sync.apply.late import LATE_COMMIT_WINDOW, LateCommits, check_late_commits
from klaviyo_sync.apply.report import AppliedChange, ApplyReport, FailedChange
from klaviyo_sync.apply.schedule import LINK_ACTIONS, Task, build_tasks, burst_limit
from klaviyo_sync.apply.steps import Client, PartialChangeError, StepContext, run_change, run_link_batch
from klaviyo_sync.apply.verify import find_drift
from klaviyo_sync.errors import ApplyError
from klaviyo_sync.resources import Change, Kind, Plan, State


@dataclass(frozen=True)
class ApplyEvent:
    """Progress of one change: `started`, `applied` (with `id`), `failed` (with `error`); or, with no change,
    `settling` (waiting to check creates without a clear answer) and `verifying`."""

    type: str
    change: Change | None = None
    id: str | None = None
    error: BaseException | None = None


EventCallback = Callable[[ApplyEvent], None]


class Interruption:
    """Stop requests from signals: the first stops starting new work, the second abandons work in flight."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.abandon = asyncio.Event()

    def signal(self) -> None:
        if self.stop.is_set():
            self.abandon.set()
        self.stop.set()


async def apply_plan(
    plan: Plan,
    client: Client,
    *,
    live: State | None = None,
    on_event: EventCallback | None = None,
    interruption: Interruption | None = None,
    verify: bool = True,
    in_flight_limit: int | None = None,
    retry_delay: float = 0.2,
    late_commit_window: float = LATE_COMMIT_WINDOW,
) -> ApplyReport:
    """Apply `plan` through `client`; returns the report, or raises `ApplyError(report)` if anything is left undone.

    `live` is the account as read for the plan (or for the staleness check), used with the plan's `live_ids` to
    find the ids of objects the plan refers to but does not change. `in_flight_limit` caps the changes running
    at once per endpoint below its burst limit (1 runs them one at a time). `late_commit_window`: how long a create
    without a clear answer gets to commit before the run looks its name up again (`klaviyo_sync.apply.late`).
    """
    from klaviyo_sync.live import read_live_state  # the reader pulls in the HTTP stack; keep this module light

    report = ApplyReport()
    if plan.empty:
        return report
    emit = on_event or (lambda event: None)
    context = StepContext(client=client, ids=IdBook(live, plan.changes, plan.live_ids), retry_delay=retry_delay)
    interruption = interruption or Interruption()
    runner = _Runner(build_tasks(plan.changes), context, report, emit, interruption, in_flight_limit)
    await runner.run()
    if context.unclear:
        emit(ApplyEvent("settling"))
        stop = interruption.abandon if report.interrupted else interruption.stop
        found = await check_late_commits(client, context.unclear, plan.fingerprint, window=late_commit_window, stop=stop)
        _take_in(report, found)
    order = {id(change): index for index, change in enumerate(plan.changes)}
    report.applied.sort(key=lambda item: order[id(item.change)])
    report.failed.sort(key=lambda item: order[id(item.change)])
    report.not_attempted.sort(key=lambda change: order[id(change)])
    if report.ok and verify:
        emit(ApplyEvent("verifying"))
        changed_templates = {change.key[0] for change in plan.changes if change.kind is Kind.TEMPLATE}
        changed_emails = {change.key for change in plan.changes if change.kind is Kind.FLOW_EMAIL}
        after = await read_live_state(client, managed_templates=changed_templates, flow_emails=changed_emails)
        report.drift = find_drift(report.applied, after)
        report.verified = True
    if not report.ok:
        raise ApplyError(_failure_message(report), report)
    return report


def _take_in(report: ApplyReport, found: LateCommits) -> None:
    """The late-commit check's findings; a create that stopped as unknown and committed late counts as applied."""
    report.late_commits.extend(found.notes)
    report.duplicates.extend(found.duplicates)
    for failure in list(report.failed):
        desired = failure.change.desired
        if desired is not None and desired.rid in found.committed:
            report.failed.remove(failure)
            report.applied.append(AppliedChange(failure.change, found.committed[desired.rid]))


def _failure_message(report: ApplyReport) -> str:
    if report.duplicates:
        return f"Apply left {len(report.duplicates)} duplicate(s) it caused in the account: " + "; ".join(report.duplicates[:5])
    if report.interrupted:
        return "Apply interrupted: " + _remaining(report)
    if report.drift:
        return f"Apply finished but {len(report.drift)} change(s) did not take effect: " + "; ".join(report.drift[:5])
    return f"Apply stopped after {len(report.failed)} failure(s): " + _remaining(report)


def _remaining(report: ApplyReport) -> str:
    return (
        f"{len(report.applied)} change(s) applied, {len(report.failed)} failed, "
        f"{len(report.abandoned)} with unknown outcome, {len(report.not_attempted)} not attempted"
    )


class _Runner:
    def __init__(
        self,
        tasks: list[Task],
        context: StepContext,
        report: ApplyReport,
        emit: EventCallback,
        interruption: Interruption,
        in_flight_limit: int | None,
    ) -> None:
        self.tasks = tasks
        self.context = context
        self.report = report
        self.emit = emit
        self.interruption = interruption
        self.in_flight_limit = in_flight_limit
        self.succeeded: set[int] = set()
        self.started: set[int] = set()
        self.pending: list[Task] = list(tasks)  # not started yet, in plan order
        self.unfinished_per_phase: dict[int, int] = {}
        for task in tasks:
            self.unfinished_per_phase[task.phase] = self.unfinished_per_phase.get(task.phase, 0) + 1
        self.stopping = False

    def _ready(self, running: dict[asyncio.Task[list[str | None]], Task]) -> list[Task]:
        busy: dict[str, int] = {}
        for task in running.values():
            busy[task.first_operation] = busy.get(task.first_operation, 0) + 1
        open_phase = min((phase for phase, count in self.unfinished_per_phase.items() if count), default=None)
        ready = []
        for task in self.pending:
            if task.phase != open_phase or not task.deps <= self.succeeded:
                continue
            endpoint = task.first_operation
            if busy.get(endpoint, 0) >= self._limit(endpoint):
                continue
            busy[endpoint] = busy.get(endpoint, 0) + 1
            ready.append(task)
        if ready:
            chosen = {task.index for task in ready}
            self.pending = [task for task in self.pending if task.index not in chosen]
        return ready

    def _limit(self, endpoint: str) -> int:
        limit = burst_limit(endpoint)
        return limit if self.in_flight_limit is None else min(limit, self.in_flight_limit)

    async def run(self) -> None:
        running: dict[asyncio.Task[list[str | None]], Task] = {}
        stop_wait = asyncio.ensure_future(self.interruption.stop.wait())
        abandon_wait = asyncio.ensure_future(self.interruption.abandon.wait())
        try:
            while True:
                if self.interruption.stop.is_set() and not self.stopping:
                    self.stopping = True
                    self.report.interrupted = True
                if not self.stopping:
                    for task in self._ready(running):
                        self.started.add(task.index)
                        for change in task.changes:
                            self.emit(ApplyEvent("started", change))
                        running[asyncio.ensure_future(self._execute(task))] = task
                if not running:
                    break
                waiters: set[asyncio.Future[object]] = set(running)  # type: ignore[arg-type]
                waiters.add(abandon_wait if self.stopping else stop_wait)
                done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if abandon_wait in done:
                    await self._abandon(running)
                    break
                for future in done:
                    if future in running:
                        self._finish(running.pop(future), future)  # type: ignore[arg-type]
        finally:
            stop_wait.cancel()
            abandon_wait.cancel()
        for task in self.pending:
            self.report.not_attempted.extend(task.changes)

    async def _execute(self, task: Task) -> list[str | None]:
        if task.action in LINK_ACTIONS:
            return list(await run_link_batch(self.context, task.changes))
        return [await run_change(self.context, task.changes[0])]

    def _finish(self, task: Task, future: asyncio.Task[list[str | None]]) -> None:
        self.unfinished_per_phase[task.phase] -= 1
        error = future.exception()
        if error is None:
            self.succeeded.add(task.index)
            for change, object_id in zip(task.changes, future.result(), strict=True):
                self.report.applied.append(AppliedChange(change, object_id))
                self.emit(ApplyEvent("applied", change, id=object_id))
            return
        self.stopping = True
        note = ""
        if isinstance(error, PartialChangeError):
            error, note = error.error, error.note
        for change in task.changes:
            self.report.failed.append(FailedChange(change, error, note))
            self.emit(ApplyEvent("failed", change, error=error))

    async def _abandon(self, running: dict[asyncio.Task[list[str | None]], Task]) -> None:
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for future, task in running.items():
            if future.cancelled():
                self.report.abandoned.extend(task.changes)
            else:
                self._finish(task, future)
        running.clear()

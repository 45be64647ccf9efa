"""Lower bounds: the fewest read requests, and the wall time latency and the rate limits force.

Wall-time bounds come from a schedule: every request is sent the moment its dependencies and the emulator's fixed
windows (burst, steady, daily per operation, `scale` times their length, aligned to the start) allow, and takes
`latency` to answer. Concurrency is unlimited, so only latency, the windows and the dependency order hold it back.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.api_spec import bucket_limits
from klaviyo_sync.resources import Action, Change

# The read walk of each kind: (operation, page size).
READ_WALKS = {
    "templates": ("get_templates", 10),
    "lists": ("get_lists", 10),
    "tags": ("get_tags", 50),
    "tag_groups": ("get_tag_groups", 25),
    "universal_content": ("get_all_universal_content", 100),
    "flows": ("get_flows", 50),  # read only when the project declares flow emails
}


# Before it reads anything else, a plan learns which account the key opens: one request, a latency of its own.
IDENTIFY = {"get_accounts": 1}


def identified(bound: dict[str, Any], latency: float) -> dict[str, Any]:
    """A plan's read bound with the account's identity read first."""
    return {**bound, "requests": bound["requests"] + sum(IDENTIFY.values()), "wall_s": bound["wall_s"] + latency}


def read_requests(counts: dict[str, int]) -> dict[str, int]:
    """ceil(n/page) per read walk; an empty collection still takes one request to learn it is empty. Flows are
    walked only when `counts` has `flow_emails` (the managed ones), each of whose copies is then read by id."""
    reads = {op: max(1, math.ceil(counts.get(kind, 0) / page)) for kind, (op, page) in READ_WALKS.items() if kind != "flows"}
    if counts.get("flow_emails"):
        reads["get_flows"] = max(1, math.ceil(counts.get("flows", 0) / READ_WALKS["flows"][1]))
        reads["get_template"] = reads.get("get_template", 0) + counts["flow_emails"]
    return reads


@dataclass
class WindowModel:
    """The emulator's fixed windows, counted per rate-limit bucket: an operation, or a query value with limits of its
    own (`get_list:additional-fields[list]=profile_count`)."""

    scale: float
    used: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))

    def admit(self, operation_id: str, ready: float) -> float:
        """The earliest moment >= ready a request of this operation fits every window; counts it there."""
        limits = bucket_limits(operation_id)
        start = ready
        while True:
            blocked_until = start
            for limit in limits:
                length = limit.seconds * self.scale
                index = math.floor(start / length + 1e-9)
                if self.used[(operation_id, limit.name, index)] >= limit.count:
                    blocked_until = max(blocked_until, (index + 1) * length)
            if blocked_until == start:
                break
            start = blocked_until
        for limit in limits:
            index = math.floor(start / (limit.seconds * self.scale) + 1e-9)
            self.used[(operation_id, limit.name, index)] += 1
        return start


def read_time(
    requests: dict[str, int], latency: float, scale: float, start: float = 0.0, model: WindowModel | None = None
) -> float:
    """Each walk's requests sent as soon as the windows allow (as if split into independent partitions); kinds in parallel."""
    model = model or WindowModel(scale)
    finish = start
    for operation_id, count in requests.items():
        for _ in range(count):
            finish = max(finish, model.admit(operation_id, start) + latency)
    return finish


# What each change sends (apart from look-ups after a lost answer): the operations, in order.
def change_operations(change: Change) -> list[str]:
    """From the kind's registered requests (`KindSpec.requests`)."""
    requests = change.kind.spec.requests
    if requests is None:
        raise ValueError(f"no request model for {change.action} of {change.kind}")
    operations = requests.operations
    if change.action is Action.CLONE:  # the copy, then the manifest's content
        return [operations[Action.CLONE], operations[Action.UPDATE]]
    if change.action is Action.REPLACE:
        return [operations[Action.DELETE], operations[Action.CREATE]]
    if change.action is Action.UPDATE and requests.run_update is not None:
        return [operations[Action.UPDATE], *requests.update_then]
    return [operations[change.action]]


@dataclass
class ApplyBound:
    seconds: float
    writes_seconds: float
    requests: Counter[str]


def apply_time(changes: list[Change], latency: float, scale: float, verify_reads: dict[str, int] | None = None) -> ApplyBound:
    """The apply's writes in the executor's task graph (phases, dependencies, link batches), then the verifying read."""
    from klaviyo_sync.apply.schedule import build_tasks

    tasks = build_tasks(changes)
    model = WindowModel(scale)
    requests: Counter[str] = Counter()
    operations = [change_operations(task.changes[0]) for task in tasks]
    for ops in operations:
        requests.update(ops)
    dependents: dict[int, list[int]] = defaultdict(list)
    waiting = {task.index: len(task.deps) for task in tasks}
    for task in tasks:
        for dep in task.deps:
            dependents[dep].append(task.index)
    finished: dict[int, float] = {}
    phase_end = 0.0
    for phase in sorted({task.phase for task in tasks}):
        members = {task.index for task in tasks if task.phase == phase}
        queue = [(phase_end, index, 0) for index in members if waiting[index] == 0]
        heapq.heapify(queue)
        ready_at: dict[int, float] = {}
        while queue:
            ready, index, step = heapq.heappop(queue)
            done = model.admit(operations[index][step], ready) + latency
            if step + 1 < len(operations[index]):
                heapq.heappush(queue, (done, index, step + 1))
                continue
            finished[index] = done
            for later in dependents[index]:
                waiting[later] -= 1
                ready_at[later] = max(ready_at.get(later, phase_end), done)
                if waiting[later] == 0 and later in members:
                    heapq.heappush(queue, (ready_at[later], later, 0))
        phase_end = max([phase_end] + [finished[index] for index in members if index in finished])
    writes = phase_end
    total = read_time(verify_reads, latency, scale, start=writes, model=model) if verify_reads else writes
    if verify_reads:
        requests.update(verify_reads)
    return ApplyBound(total, writes, requests)

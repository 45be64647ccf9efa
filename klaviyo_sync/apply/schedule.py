"""Turn a plan's ordered changes into tasks with dependencies, so independent work runs concurrently.

Two rules keep concurrency safe:
- Phases: every delete and unlink (phase 0) finishes before any create, update or link (phase 1) starts, as the
  plan's order says. Deleting first frees Klaviyo's capacity limits (1,000 templates, 500 tags, 50 groups, 100 tags
  per list) and an exclusive group's slot on a list before anything is added.
- Relations: within the plan's order, a change waits for every earlier change that touches an object it touches or
  refers to (a tag refers to its group; a link to its list, tag and group; a clone to its source template).

Links and unlinks are batched per tag, because one `tag_lists` request carries many lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from klaviyo_sync.api_spec import operation
from klaviyo_sync.resources import Action, Change, ReplaceMode, ResourceId

DESTRUCTIVE = frozenset({Action.DELETE, Action.UNLINK})
LINK_ACTIONS = frozenset({Action.LINK, Action.UNLINK})
# Lists per tag_lists / remove_tag_from_lists request; a list holds at most 100 tags, so 100 is a safe batch.
LINK_BATCH_SIZE = 100


@dataclass
class Task:
    index: int
    changes: list[Change]
    phase: int
    deps: set[int] = field(default_factory=set)

    @property
    def action(self) -> Action:
        return self.changes[0].action

    @property
    def first_operation(self) -> str:
        """The endpoint this task's first request goes to: the one whose pacing decides when it can start."""
        change = self.changes[0]
        requests = change.kind.spec.requests
        assert requests is not None, f"{change.kind.spec.label}s are never changed on their own"
        action = change.action
        if action is Action.REPLACE:  # starts with its delete, or with its create when both can exist at once
            action = Action.CREATE if change.replace_mode is ReplaceMode.CREATE_FIRST else Action.DELETE
        return requests.operations[action]


def burst_limit(operation_id: str) -> int:
    """Requests of an operation the client's pacer lets out at once: its burst (per second) limit."""
    return min(limit.count for limit in operation(operation_id).rate_limits)


def own_rids(change: Change) -> set[ResourceId]:
    """The objects a change creates, changes or removes (a rename or replace: under both names)."""
    rids = {change.rid}
    if change.live is not None:
        rids.add(change.live.rid)
    return rids


def referenced_rids(change: Change) -> set[ResourceId]:
    """The objects a change needs to exist (or to be settled) before it runs."""
    refs = change.kind.spec.needs(change.key, change.desired)
    if change.live is not None:
        refs |= change.kind.spec.needs(change.live.key, None)
    pending = list(refs)
    while pending:  # what those need in turn (a link: its tag's group too)
        kind, key = pending.pop()
        more = kind.spec.needs(key, None) - refs
        refs |= more
        pending.extend(more)
    return refs


def _group_changes(changes: Iterable[Change]) -> list[list[Change]]:
    """One group per change, except links/unlinks: one group per (action, tag), in chunks.

    A batch takes the place of its last member in the plan's order, so everything any member waits for comes before it.
    """
    placed: list[tuple[int, list[Change]]] = []
    open_batches: dict[tuple[Action, tuple[str, str]], list[Change]] = {}
    batch_position: dict[int, int] = {}
    for position, change in enumerate(changes):
        if change.action not in LINK_ACTIONS:
            placed.append((position, [change]))
            continue
        batch_key = (change.action, (change.key[1], change.key[2]))
        batch = open_batches.get(batch_key)
        if batch is None or len(batch) >= LINK_BATCH_SIZE:
            batch = open_batches[batch_key] = []
            placed.append((-1, batch))
        batch.append(change)
        batch_position[id(batch)] = position
    ordered = sorted(
        ((batch_position.get(id(group), position), group) for position, group in placed),
        key=lambda item: item[0],
    )
    return [group for _, group in ordered]


def build_tasks(changes: list[Change]) -> list[Task]:
    tasks: list[Task] = []
    owners: dict[ResourceId, set[int]] = defaultdict(set)
    referrers: dict[ResourceId, set[int]] = defaultdict(set)
    for index, group in enumerate(_group_changes(changes)):
        phase = 0 if group[0].action in DESTRUCTIVE else 1
        task = Task(index=index, changes=group, phase=phase)
        own: set[ResourceId] = set().union(*(own_rids(c) for c in group))
        refs: set[ResourceId] = set().union(*(referenced_rids(c) for c in group))
        for rid in own | refs:
            task.deps |= owners[rid]
        for rid in own:
            task.deps |= referrers[rid]
        for rid in own:
            owners[rid].add(index)
        for rid in refs:
            referrers[rid].add(index)
        task.deps.discard(index)
        tasks.append(task)
    return tasks

"""The order a plan runs in.

Deletes first, most dependent kind first (unlinks, then templates and lists, tags, tag groups); then creates,
clones, renames, updates and replaces, least dependent first (tag groups, tags, lists, templates, links), each
object created from another of its kind (a clone) after every change of that one. Within a step, objects sort
by key, so the same inputs give the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from klaviyo_sync.kinds import DELETE_ORDER
from klaviyo_sync.resources import Action, Change, ResourceId

DELETE_ACTIONS = (Action.UNLINK, Action.DELETE)
UPDATE_ACTIONS = (Action.UPDATE, Action.RENAME)
CREATE_ACTIONS = (Action.CREATE, Action.CLONE)


def order_changes(changes: Iterable[Change]) -> list[Change]:
    """Deletes (most dependent kind first), then everything else (least dependent first, copies after sources)."""
    changes = list(changes)
    deletes = [c for c in changes if c.action in DELETE_ACTIONS]
    others = [c for c in changes if c.action not in DELETE_ACTIONS]
    depth = _source_depths(others)
    deletes.sort(key=lambda c: (DELETE_ORDER.index(c.kind), c.key, c.live.id if c.live else ""))
    others.sort(key=lambda c: (c.kind.spec.rank, depth.get(c.rid, 0), c.key))
    return deletes + others


def _source_depths(changes: list[Change]) -> dict[ResourceId, int]:
    """How many objects changed in this plan stand between a new object and an unchanged one of its kind it is
    made from: a clone copies its source as it is at that moment, so it runs after every change of its source."""
    sources: dict[ResourceId, set[ResourceId]] = {}
    for c in changes:
        if c.action in CREATE_ACTIONS and c.desired is not None:
            same_kind = {rid for rid in c.kind.spec.needs(c.key, c.desired) if rid[0] is c.kind}
            if same_kind:
                sources[c.rid] = same_kind
    changed = {c.rid for c in changes}

    def depth(rid: ResourceId, seen: frozenset[ResourceId] = frozenset()) -> int:
        if rid in seen:
            return 0
        below = [depth(source, seen | {rid}) for source in sources.get(rid, ()) if source in changed]
        return 1 + max(below) if below else 0

    return {rid: depth(rid) for rid in sources}

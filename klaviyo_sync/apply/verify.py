"""After an apply, read the account once and confirm every applied change took effect (no drift left)."""

from __future__ import annotations

from klaviyo_sync.apply.report import AppliedChange
from klaviyo_sync.diff import values_equal
from klaviyo_sync.resources import Action, Kind, State


def find_drift(applied: list[AppliedChange], live_after: State) -> list[str]:
    """What is still different about the objects this apply changed; empty when they all match the plan."""
    live_ids: dict[Kind, set[str]] = {kind: {r.id for r in live_after.of_kind(kind) if r.id} for kind in Kind}
    drift: list[str] = []
    for item in applied:
        change = item.change
        if change.action in (Action.DELETE, Action.UNLINK):
            assert change.live is not None
            if change.live.id and change.live.id in live_ids[change.kind]:
                drift.append(f"{change.address} (id {change.live.id}) still exists")
            continue
        if change.action is Action.REPLACE and change.live is not None and change.live.id in live_ids[change.kind]:
            drift.append(f"{change.address}: the replaced object (id {change.live.id}) still exists")
        desired = change.desired
        assert desired is not None
        duplicates = live_after.conflicts.get(change.rid)
        if duplicates:
            drift.append(f"{change.address} exists {len(duplicates)} times (ids {', '.join(r.id or '?' for r in duplicates)})")
        found = live_after.get(change.kind, change.key)
        if found is None:
            drift.append(f"{change.address} is not in the account")
            continue
        for name in change.kind.spec.fields:
            if name in desired.attrs and not values_equal(name, desired.attrs[name], found.attrs.get(name)):
                drift.append(f"{change.address}: {name} differs from the manifests")
    return drift

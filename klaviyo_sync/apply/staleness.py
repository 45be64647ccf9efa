"""Is a saved plan still the plan? Compare it with the manifests and the account as they are now, before any write.

A saved plan is stale when:
- a manifest or a file it references was edited, added or removed (compared by SHA-256);
- a live object the plan read was edited (its `updated` time or its content differs) or deleted;
- a live object appeared under a name the plan creates, changes or refers to (applying would create a duplicate
  or act on the wrong object).
"""

from __future__ import annotations

from klaviyo_sync.apply.schedule import own_rids, referenced_rids
from klaviyo_sync.errors import StalePlanError
from klaviyo_sync.plan.fingerprint import fingerprint_value
from klaviyo_sync.resources import Kind, Plan, Resource, ResourceId, State

MAX_LISTED = 20  # differences named in the message; the rest are counted


def fingerprint_key(resource: Resource) -> str:
    return f"{resource.kind.value}:{resource.id}"


def manifest_differences(saved: dict[str, str], current: dict[str, str]) -> list[str]:
    differences = []
    for path in sorted(saved.keys() | current.keys()):
        if path not in current:
            differences.append(f"{path} was removed")
        elif path not in saved:
            differences.append(f"{path} was added")
        elif saved[path] != current[path]:
            differences.append(f"{path} was edited")
    return differences


def live_differences(plan: Plan, live: State) -> list[str]:
    current: dict[str, Resource] = {}
    for resource in _all(live):
        if resource.id:
            current[fingerprint_key(resource)] = resource
    known_names = _names_in_plan(plan)
    differences = []
    gone = {key.partition(":")[2] for key in plan.fingerprint if key not in current}
    for key, version in sorted(plan.fingerprint.items()):
        resource = current.get(key)
        kind, _, object_id = key.partition(":")
        if resource is None and kind == Kind.LIST_TAG.value and gone & set(object_id.split(":")):
            continue  # a link removed along with its deleted list or tag: that deletion is reported
        if resource is None:
            differences.append(f"{known_names.get(key, f'{_label(kind)} (id {object_id})')} was deleted from the account")
        elif fingerprint_value(resource) != version:
            differences.append(f"{resource.address} (id {resource.id}) was changed in the account")
    watched: set[ResourceId] = set()
    for change in plan.changes:
        watched |= own_rids(change) | referenced_rids(change)
    watched |= {resource.rid for key, resource in current.items() if key in plan.fingerprint}
    for key, resource in sorted(current.items()):
        if key not in plan.fingerprint and resource.rid in watched:
            differences.append(f"{resource.address} (id {resource.id}) was created in the account")
    return differences


def check_staleness(plan: Plan, *, current_hashes: dict[str, str], live: State) -> None:
    """Raise `StalePlanError` naming what changed since the plan was made; return quietly if nothing did."""
    differences = manifest_differences(plan.manifest_hashes, current_hashes) + live_differences(plan, live)
    if differences:
        shown = differences[:MAX_LISTED]
        if len(differences) > MAX_LISTED:
            shown.append(f"and {len(differences) - MAX_LISTED} more")
        raise StalePlanError(shown)


def _label(kind: str) -> str:
    try:
        return Kind(kind).spec.label
    except ValueError:
        return kind


def _all(state: State) -> list[Resource]:
    """Every live object, duplicates included (a duplicate that appeared is a difference too)."""
    resources = list(state)
    for (_kind, _key), duplicates in state.conflicts.items():
        resources.extend(r for r in duplicates if r is not state.get(r.kind, r.key))
    return resources


def _names_in_plan(plan: Plan) -> dict[str, str]:
    """Fingerprint key -> address, for the live objects the plan names (so a deleted one is named, not just numbered)."""
    names: dict[str, str] = {}
    for resource in plan.unmanaged:
        if resource.id:
            names[fingerprint_key(resource)] = f"{resource.address} (id {resource.id})"
    for change in plan.changes:
        if change.live is not None and change.live.id:
            names[fingerprint_key(change.live)] = f"{change.live.address} (id {change.live.id})"
    return names

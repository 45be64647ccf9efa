"""After an apply: did a create whose outcome was unclear commit late? One look-up per such create, never a full read.

A create that got no answer (a timeout, a dropped connection) or a 5xx may still be running on Klaviyo's side and
commit later: a gateway answers 504 or 524 while the origin goes on, and a create held 36 s committed after the
client's 30 s timeout. `create_exactly_once` then either found nothing and sent the create again (after a 5xx),
or found nothing and stopped with an unknown outcome (after no answer); either way a copy may land after the
run's look-up. So once the run is over, and once each such create has had `window` seconds to commit, its name is
looked up once more:

- one object, the one the run kept: nothing to say;
- copies besides the one the run kept (or, when the create stopped as unknown, several): the duplicates this run
  caused. A copy is certainly this run's own when the plan's read of the account did not see it (under the
  account lock no other apply creates) and it is identical to what the run sent (every managed field the
  manifests set). Those are deleted, keeping the one the run kept (later steps used its id), and the report says
  so. Any other copy stays, and the apply fails naming it: it is never reported as a success;
- one object where the create stopped as unknown: it committed late. If it is certainly the run's own, the
  change counts as applied after all (said so); otherwise it stays failed, with what was found;
- nothing where the create stopped as unknown: it never committed; the change stays failed, and says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from klaviyo_sync.diff import values_equal
from klaviyo_sync.resources import Kind, Resource

# Seconds a create whose outcome was unclear gets to commit, from the moment its last attempt failed, before its
# name is looked up again. The one late commit measured came 6 s after the client's 30 s timeout.
LATE_COMMIT_WINDOW = 30.0


class LookupClient(Protocol):
    async def find_named(self, kind: Kind, name: str, group_id: str | None = None) -> list[dict[str, Any]]: ...


@dataclass
class UnclearCreate:
    """A create some attempt of which failed without saying whether it committed."""

    desired: Resource
    scope: str | None  # the id the look-up is narrowed to (a tag's group)
    existing: tuple[str, ...]  # ids that held the name before (the old half of a create-first replace)
    failed_at: float  # time.monotonic() of the last such failure
    attempts: int = 0  # attempts that failed that way
    kept: str | None = None  # the id the create ended with; None when it stopped with an unknown outcome


@dataclass
class LateCommits:
    """What the check found: `notes` for the report, `duplicates` still in the account (the apply fails),
    `committed` the creates that stopped as unknown but committed late and are certainly the run's own."""

    notes: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    committed: dict[tuple[Kind, tuple[str, ...]], str] = field(default_factory=dict)  # desired rid -> id


async def check_late_commits(
    client: Any,
    unclear: Iterable[UnclearCreate],
    seen: Collection[str],
    *,
    window: float = LATE_COMMIT_WINDOW,
    stop: asyncio.Event | None = None,
) -> LateCommits:
    """`seen`: "kind:id" of every object the plan's read of the account saw (`Plan.fingerprint`). `stop`: an
    interrupt ends the wait early; what was not given its window is then reported as unchecked."""
    found = LateCommits()
    creates = list(unclear)
    if not creates:
        return found
    wait = max(create.failed_at for create in creates) + window - time.monotonic()
    if wait > 0 and not await _waited(wait, stop):
        found.duplicates.extend(
            f"{create.desired.address}: not checked for a copy committed late (interrupted); run `klaviyo-sync plan`"
            for create in creates
        )
        return found
    for create in creates:
        await _check(client, create, seen, found, window)
    return found


async def _waited(seconds: float, stop: asyncio.Event | None) -> bool:
    if stop is None:
        await asyncio.sleep(seconds)
        return True
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return True
    return False


async def _check(client: Any, create: UnclearCreate, seen: Collection[str], found: LateCommits, window: float) -> None:
    desired = create.desired
    kind, address = desired.kind, desired.address
    items = [item for item in await client.find_named(kind, desired.name, create.scope) if item["id"] not in create.existing]
    kept = create.kept
    if kept is None and not items:
        found.notes.append(
            f"{address}: nothing of that name {window:g} s after its create got no clear answer, so it has not committed; "
            "`klaviyo-sync plan` shows whether it does later"
        )
        return
    if kept is None:
        items.sort(key=lambda item: (str((item.get("attributes") or {}).get("created") or ""), item["id"]))
        first = items[0]
        if _ours(first, desired, seen):
            kept = first["id"]
            found.committed[desired.rid] = kept
            found.notes.append(f"{address}: the create that got no clear answer committed late (id {kept}); it counts as applied")
        elif len(items) == 1:
            found.notes.append(
                f"{address}: an object of that name appeared after the create got no clear answer (id {first['id']}), "
                "but it differs from the manifests or was there before; run `klaviyo-sync plan`"
            )
            return
        else:
            ids = ", ".join(item["id"] for item in items)
            found.duplicates.append(
                f"{address} exists {len(items)} times (ids {ids}) after creates without a clear answer committed late, and "
                "none is certainly an identical copy made by this apply: delete the ones not wanted in Klaviyo, then run "
                "`klaviyo-sync plan`"
            )
            return
    extras = [item for item in items if item["id"] != kept]
    if not extras:
        return
    doubtful = [item["id"] for item in extras if not _ours(item, desired, seen)]
    removable = [item["id"] for item in extras if item["id"] not in doubtful]
    if kept is not None and kept not in {item["id"] for item in items}:
        doubtful += removable  # the copy the run kept is gone: which one to keep is not this run's call
        removable = []
    for extra in removable:
        await _delete(client, kind, extra)
        found.notes.append(
            f"{address}: a create without a clear answer committed late and left a second copy (id {extra}), identical "
            f"to the one kept (id {kept}) and made by this apply; the copy was deleted"
        )
    if doubtful:
        ids = ", ".join([kept or "?", *doubtful])
        found.duplicates.append(
            f"{address} exists {1 + len(doubtful)} times (ids {ids}) after a create without a clear answer committed late; "
            f"id {kept} is the one this apply kept, and the others are not certainly identical copies of it: delete the "
            "ones not wanted in Klaviyo, then run `klaviyo-sync plan`"
        )


def _ours(item: Mapping[str, Any], desired: Resource, seen: Collection[str]) -> bool:
    """Made by this apply and identical to what it sent: not in the plan's read, every managed field the same."""
    if f"{desired.kind.value}:{item['id']}" in seen:
        return False
    live = _resource(desired.kind, item)
    if live is None:
        return False
    for name in desired.kind.spec.fields:
        if name not in desired.attrs:
            continue
        if name not in live.attrs or not values_equal(name, desired.attrs[name], live.attrs[name]):
            return False
    return True


def _resource(kind: Kind, item: Mapping[str, Any]) -> Resource | None:
    """The listed object as the model has it: through the kind's own reader where it has one, else its attributes."""
    read = kind.spec.read
    if read is not None:
        return read.build(item)
    attributes = item.get("attributes") or {}
    attrs = {name: attributes[name] for name in kind.spec.fields if name in attributes}
    return Resource(kind, (str(attributes.get("name") or ""),), attrs, id=str(item["id"]))


async def _delete(client: Any, kind: Kind, object_id: str) -> None:
    from klaviyo_sync.apply.steps import delete_idempotently  # steps records the creates this module checks

    requests = kind.spec.requests
    assert requests is not None and requests.delete is not None
    delete = requests.delete
    await delete_idempotently(lambda: delete(client, object_id))

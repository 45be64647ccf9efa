"""The shared model: resources, the State that holds them, and the Changes and Plan built from two States.

Desired state (from the manifests) and live state (from the API) are the same `State` type, so the diff is
set arithmetic on natural keys plus a per-pair comparison of managed attributes.

Kinds and their natural keys (each kind's facts live in its module under `klaviyo_sync.kinds`):

    kind        key                  managed attributes                  replaced when
    tag_group   (name,)              exclusive                           exclusive changes
    tag         (group, name)        -                                   its group changes (a "move")
    list        (name,)              opt_in_process                      -
    template    (name,)              editor_type, html, text, definition  editor_type changes
    list_tag    (list, group, tag)   -                                   -   (a link: created or removed)
    universal_content (name,)        html, definition                    -
    flow_email  (flow, email)        html, text, message fields, status  never (only updated: flows are built in Klaviyo)

Live objects also carry their Klaviyo `id` and a `version` (the `updated` timestamp where Klaviyo has one,
else a hash of what was read) so a saved plan can later tell whether they changed.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds import Action, Kind, ReplaceMode

if TYPE_CHECKING:
    from klaviyo_sync.account import Account
    from klaviyo_sync.blast import Reach
    from klaviyo_sync.plan.safety import Refusal, Safety


Key = tuple[str, ...]
ResourceId = tuple[Kind, Key]


@dataclass(frozen=True)
class Origin:
    """Where a desired object was declared: `file` is relative to the project root."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, eq=False)
class Resource:
    """One object of a kind. Desired objects carry manifest metadata; live objects carry `id` and `version`."""

    kind: Kind
    key: Key
    attrs: Mapping[str, Any] = field(default_factory=dict)
    # Manifest-only
    origin: Origin | None = None
    renamed_from: tuple[str, ...] = ()  # earlier names (the last key element) this object may be found under
    prevent_destroy: bool = False
    clone_from: str | None = None  # templates: name of the template to clone when creating
    # Live-only
    id: str | None = None
    version: str | None = None

    @property
    def rid(self) -> ResourceId:
        return (self.kind, self.key)

    @property
    def name(self) -> str:
        return self.key[-1]

    @property
    def address(self) -> str:
        """A stable, human-readable address: `template["Welcome Email"]`, `tag["Lifecycle"/"VIP"]`."""
        return f"{self.kind.value}[{'/'.join(json.dumps(part, ensure_ascii=False) for part in self.key)}]"

    def managed(self) -> dict[str, Any]:
        """The attributes the diff compares (absent ones are None)."""
        return {name: self.attrs.get(name) for name in self.kind.spec.fields}

    def with_(self, **changes: Any) -> Resource:
        return replace(self, **changes)

    def __repr__(self) -> str:
        # Bounded: a template's HTML can be 100 KB, and reprs end up in logs, debuggers and asyncio's task reprs.
        extras = "".join(f", {name}={short_repr(getattr(self, name))}" for name in ("id", "clone_from") if getattr(self, name))
        return f"Resource({self.address}, attrs={short_repr(dict(self.attrs))}{extras})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Resource)
            and self.rid == other.rid
            and dict(self.attrs) == dict(other.attrs)
            and self.id == other.id
        )

    def __hash__(self) -> int:
        return hash(self.rid)


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlevel = 60, 60, 3


def short_repr(value: Any) -> str:
    """A repr cut to a readable size (long strings and deep or long containers are elided with ...)."""
    return _SHORT.repr(value)


def address(kind: Kind, key: Key) -> str:
    return Resource(kind, key).address


def content_hash(value: Any) -> str:
    """A stable SHA-256 of any JSON-able value (used for staleness fingerprints and fast equality)."""
    if isinstance(value, str):
        data = value.encode("utf-8")
    else:
        data = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


class State:
    """Resources by (kind, key). Live state may hold several objects under one key: those are `conflicts`."""

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self._by_rid: dict[ResourceId, Resource] = {}
        self.conflicts: dict[ResourceId, list[Resource]] = {}
        # Live only. Flows are not managed objects, but their emails are found through them: every flow read,
        # name -> ids (two ids: two flows share the name).
        self.flows: dict[str, list[str]] = {}
        # Templates klaviyo-sync made for a moment (`klaviyo_sync.scratch`), kept apart from the account's own.
        self.scratch: list[Resource] = []
        for resource in resources:
            self.add(resource)

    def add(self, resource: Resource) -> None:
        """Add a resource; a second one under the same key is recorded as a conflict, not overwritten."""
        existing = self._by_rid.get(resource.rid)
        if existing is None:
            self._by_rid[resource.rid] = resource
            return
        self.conflicts.setdefault(resource.rid, [existing]).append(resource)

    def get(self, kind: Kind, key: Key) -> Resource | None:
        return self._by_rid.get((kind, key))

    def of_kind(self, kind: Kind) -> list[Resource]:
        """Resources of one kind in key order (deterministic)."""
        return sorted((r for r in self._by_rid.values() if r.kind is kind), key=lambda r: r.key)

    def all_of_kind(self, kind: Kind) -> list[Resource]:
        """Every object of a kind, duplicates under one key included, in key then id order."""
        found = self.of_kind(kind)
        for (conflict_kind, _), group in self.conflicts.items():
            if conflict_kind is kind:
                found.extend(r for r in group if r is not self._by_rid.get(r.rid))
        return sorted(found, key=lambda r: (r.key, r.id or ""))

    def everything(self) -> list[Resource]:
        """Every object, duplicates under one key included, ordered by kind rank, key, then id."""
        found = list(self._by_rid.values())
        for group in self.conflicts.values():
            found.extend(r for r in group if r is not self._by_rid.get(r.rid))
        return sorted(found, key=lambda r: (r.kind.spec.rank, r.key, r.id or ""))

    def __iter__(self) -> Iterator[Resource]:
        """All resources, ordered by kind rank then key."""
        return iter(sorted(self._by_rid.values(), key=lambda r: (r.kind.spec.rank, r.key)))

    def __len__(self) -> int:
        return len(self._by_rid)

    def __contains__(self, rid: object) -> bool:
        return rid in self._by_rid


# How each action counts in "Plan: X to create, Y to update, Z to delete."
SUMMARY_BUCKET: dict[Action, str] = {
    Action.CREATE: "create",
    Action.CLONE: "create",
    Action.LINK: "create",
    Action.UPDATE: "update",
    Action.RENAME: "update",
    Action.REPLACE: "replace",
    Action.DELETE: "delete",
    Action.UNLINK: "delete",
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    forces_replacement: bool = False

    def __repr__(self) -> str:
        replacing = ", forces_replacement" if self.forces_replacement else ""
        return f"FieldChange({self.field}: {short_repr(self.old)} -> {short_repr(self.new)}{replacing})"


@dataclass(frozen=True)
class Change:
    """One step of a plan. `desired` is None for deletes/unlinks; `live` is None for creates/clones/links."""

    action: Action
    kind: Kind
    key: Key  # the desired key, or the live key for a delete/unlink
    desired: Resource | None
    live: Resource | None
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""
    replace_mode: ReplaceMode | None = None

    @property
    def address(self) -> str:
        return address(self.kind, self.key)

    @property
    def rid(self) -> ResourceId:
        return (self.kind, self.key)


@dataclass
class Plan:
    """An ordered list of changes plus everything needed to check and apply it later."""

    changes: list[Change]
    unmanaged: list[Resource] = field(default_factory=list)  # live objects outside the managed scope
    manifest_hashes: dict[str, str] = field(default_factory=dict)  # project-relative file -> sha256
    fingerprint: dict[str, str] = field(default_factory=dict)  # "kind:id" -> version of every live object read
    warnings: list[str] = field(default_factory=list)
    # Address of a declared object -> id of the live object it keeps using, so apply can fill in the ids of
    # unchanged lists and tags in links and of clone sources without reading the account again.
    live_ids: dict[str, str] = field(default_factory=dict)
    # What the plan's safety checks need besides its changes (`klaviyo_sync.plan.safety`); None in a read plan file.
    safety: Safety | None = None
    # How it was asked for: a saved plan is derived again with the same --target and --force.
    targets: tuple[str, ...] = ()
    force: bool = False
    # What removing each list or tag reaches, by the address of the change removing it (`klaviyo_sync.blast`): read
    # at plan time and carried by a saved plan; informational, so neither in the fingerprint nor in the contract.
    reach: dict[str, Reach] = field(default_factory=dict)
    # Why the safety checks refused this plan; a refused plan is shown in full, never applied.
    refusal: Refusal | None = None
    # The account it was made against, and the project it came from (as a saved plan records it: relative to the
    # plan file's folder).
    account: Account | None = None
    project: str | None = None

    def check(self, *, force: bool = False) -> list[str]:
        """Run the safety checks on this plan: raise PlanError when refused, return the warnings."""
        return [] if self.safety is None else self.safety.check(self.changes, force=force, reach=self.reach)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        """Counts for the summary line; a replace counts as one create and one delete."""
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            bucket = SUMMARY_BUCKET[change.action]
            if bucket == "replace":
                counts["create"] += 1
                counts["delete"] += 1
            else:
                counts[bucket] += 1
        return counts

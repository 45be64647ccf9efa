"""What a kind is: the facts every stage of the pipeline reads, declared once per kind (`KindSpec`).

The pipeline (manifest -> live -> diff -> plan -> render -> apply) asks a kind's spec instead of naming the kind:
its key, managed and content fields, replace rules, where the manifest declares and prunes it, its account limits,
what it depends on, and which requests each action sends. Each kind's module (`klaviyo_sync.kinds.<kind>`) builds
its spec and registers it; `klaviyo_sync.kinds` imports them all, in dependency order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Key, Resource


class Kind(StrEnum):
    TAG_GROUP = "tag_group"
    TAG = "tag"
    LIST = "list"
    TEMPLATE = "template"
    LIST_TAG = "list_tag"
    UNIVERSAL_CONTENT = "universal_content"
    FLOW_EMAIL = "flow_email"

    @property
    def spec(self) -> KindSpec:
        return REGISTRY[self]


class Action(StrEnum):
    CREATE = "create"
    CLONE = "clone"
    UPDATE = "update"
    RENAME = "rename"  # an update whose name changes (matched through renamed_from); may change fields too
    REPLACE = "replace"
    DELETE = "delete"
    LINK = "link"
    UNLINK = "unlink"


class ReplaceMode(StrEnum):
    DELETE_FIRST = "delete_first"  # the old object must go before the new one can exist
    CREATE_FIRST = "create_first"  # both can exist at once: create, re-point, then delete


@dataclass(frozen=True)
class Limit:
    """An account limit on how many objects of a kind exist (klaviyo-api.md §3, §6.1)."""

    maximum: int
    live_label: str  # what the plan counts: "tag groups (the default group included)"
    declared_label: str  # what the manifest check counts: "templates created through the API"


@dataclass(frozen=True)
class PerParent:
    """A limit on how many objects of a kind one parent holds (100 tags on a list); the parent is keyed by the
    first element of the object's key."""

    parent: Kind
    maximum: int
    what: str  # what the parent holds: "tags"


@dataclass(frozen=True)
class DailyCap:
    """A cap on creations per day (create_list: 150/d)."""

    maximum: int
    # Objects created this long ago or later are assumed to still count. Klaviyo does not say whether its day is
    # rolling or a calendar day; a rolling day counts at least as many, so the check errs safe.
    window: timedelta = timedelta(days=1)


class Ids(Protocol):
    """The ids apply knows so far (`klaviyo_sync.apply.ids.IdBook`)."""

    def require(self, kind: Kind, key: Key) -> str: ...


# The client calls of one kind's actions; `client` is the apply `Client` protocol.
Create = Callable[[Any, "Resource", Ids], Awaitable[str]]
Update = Callable[[Any, str, "Change", Mapping[str, Any]], Awaitable[None]]
Delete = Callable[[Any, str], Awaitable[None]]
Scope = Callable[["Resource", Ids], "str | None"]
Needs = Callable[["Key", "Resource | None"], "set[tuple[Kind, Key]]"]
# A change that is a procedure of its own rather than one request (a flow email's repoint): returns the object's id.
Run = Callable[[Any, "Change", Ids], Awaitable[str]]
# Loud lines for reviewers about one change, from its JSON form (an email that starts sending to real people).
Alerts = Callable[[Mapping[str, Any]], list[str]]


def _no_needs(key: Key, desired: Resource | None) -> set[tuple[Kind, Key]]:
    return set()


def _no_scope(desired: Resource, ids: Ids) -> str | None:
    return None


@dataclass(frozen=True)
class Lookup:
    """How to find objects by name after an ambiguous create: the collection, and whether the spec allows only
    the list-valued filter on its name (`any`) rather than `equals`; `params`: more query parameters."""

    operation: str
    list_filter: bool = False
    params: Mapping[str, str] = field(default_factory=dict)
    scope_relationship: str | None = None  # the to-one relationship the scope id is checked against


@dataclass(frozen=True)
class Requests:
    """Which requests each action sends: the operation ids (for pacing) and the calls that send them."""

    operations: Mapping[Action, str]  # the endpoint of each action's first request
    create: Create | None = None
    update: Update | None = None
    delete: Delete | None = None
    lookup: Lookup | None = None
    # The id a look-up by name is narrowed to after an ambiguous create (a tag: its group's).
    lookup_scope: Scope = _no_scope
    # Updates that are more than one request (a flow email: repoint, verify, delete the replaced copy) run this
    # instead of `update`; `update_then` names the requests it sends after the first, in order (for the bounds).
    run_update: Run | None = None
    update_then: tuple[str, ...] = ()


@dataclass(frozen=True)
class Read:
    """How the live objects of a kind are read on their own: one collection walk (with its `include` and other
    parameters), each item of it turned into a Resource (None: not one of ours to model)."""

    operation: str
    build: Callable[[Mapping[str, Any]], Resource | None]
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: str  # how people call it: "tag group"
    key_fields: tuple[str, ...]
    fields: tuple[str, ...] = ()  # managed attributes, compared by the diff
    content_fields: tuple[str, ...] = ()  # large managed values, kept once in a saved plan
    text_fields: tuple[str, ...] = ()  # compared after normalising line endings and trailing blanks
    replace_on: tuple[str, ...] = ()  # attributes Klaviyo cannot change in place
    replace_mode: ReplaceMode = ReplaceMode.DELETE_FIRST  # CREATE_FIRST where two can share a name
    rank: int = 0  # dependency rank: creates run in ascending rank, deletes in descending
    actions: frozenset[Action] = frozenset()
    # The manifest's section for this kind, also its key under `prune:`, `ignore:` and in an export; None for
    # kinds declared inside another (tags in their group, links in their list) and never pruned on their own.
    section: str | None = None
    limit: Limit | None = None
    per_parent: PerParent | None = None
    daily_cap: DailyCap | None = None
    # What an object needs to exist before it is created, and goes with when removed (a tag: its group).
    needs: Needs = _no_needs
    # Kinds a `--target` of this kind brings along: those keyed under it (a group's tags), and whether their live
    # objects come too (a list's links, for the unlinks).
    brings: tuple[tuple[Kind, bool], ...] = ()
    # Declared by a flat entry under `section` (None: the manifest loader builds it, e.g. with its children):
    # the managed attributes the entry sets besides its files, and the keys that name files to read.
    declare: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    file_fields: tuple[str, ...] = ()
    # Problems (message, hint) of a `definition:` file's content, once parsed.
    check_definition: Callable[[Any], list[tuple[str, str]]] | None = None
    requests: Requests | None = None
    # None for the kinds `klaviyo_sync.live` reads together (tag groups, tags, lists with links, templates).
    read: Read | None = None
    # A note for reviewers on every change of this kind (what it reaches beyond itself), shown with the plan.
    review_note: str | None = None
    # Loud lines about one change (shown on the change and at the head of the plan).
    alerts: Alerts | None = None

    @property
    def plural(self) -> str:
        return f"{self.label}s"


REGISTRY: dict[Kind, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    REGISTRY[spec.kind] = spec
    return spec

"""Build a Plan from a project and the live state: order the changes, check their safety, fingerprint what was read.

Order: deletes first, most dependent first (unlinks, then templates and lists, tags, tag groups); then creates,
clones, renames, updates and replaces, least dependent first (tag groups, tags, lists, templates with each clone
after its source, then links). Within a step, objects sort by key, so the same inputs give the same plan.

Safety, each a PlanError naming the object and where it is declared:
- `prevent_destroy` on an object the plan deletes or replaces (directly or through a cascade);
- thresholds as in octoDNS: updates or deletes over a fraction of a kind's managed live objects, once enough
  exist, are refused unless forced;
- Klaviyo's limits: 1,000 templates, 500 tags, 50 tag groups, 100 tags per list, and the list creations left
  of the 150 a day (less the lists the account shows were created in the last 24 hours).

The JSON form (`plan_to_json`) is what `--out` saves and what every renderer draws from. It holds the desired
content, the manifest hashes, the revision and the live fingerprint, and never a secret.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from klaviyo_sync import __version__
from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.diff import ROOT_MANIFEST, Comparison, ProjectLike, compare
from klaviyo_sync.errors import ConfigError, PlanError, Problem
from klaviyo_sync.resources import (
    Action,
    Change,
    FieldChange,
    Key,
    Kind,
    Origin,
    Plan,
    ReplaceMode,
    Resource,
    State,
    content_hash,
)

PLAN_FORMAT_VERSION = 1
CONTENT_FIELDS = frozenset({"html", "text", "definition"})

# Klaviyo's account limits (klaviyo-api.md §3, §6.1) and the daily cap on list creation (create_list: 150/d).
MAX_TEMPLATES = 1000
MAX_TAGS = 500
MAX_TAG_GROUPS = 50
MAX_TAGS_PER_LIST = 100
MAX_LIST_CREATIONS = 150
# Lists created this long ago or later are assumed to still count against the daily cap. Klaviyo does not say
# whether its day is rolling or a calendar day; a rolling day counts at least as many, so the check errs safe.
LIST_CREATION_WINDOW = timedelta(days=1)

DELETE_ACTIONS = (Action.UNLINK, Action.DELETE)
UPDATE_ACTIONS = (Action.UPDATE, Action.RENAME)
# Kinds in the order deletes run: most dependent first. Lists and templates do not depend on each other.
DELETE_ORDER = (Kind.LIST_TAG, Kind.TEMPLATE, Kind.LIST, Kind.TAG, Kind.TAG_GROUP)

KIND_ALIASES = {
    "tag_group": Kind.TAG_GROUP,
    "tag-group": Kind.TAG_GROUP,
    "group": Kind.TAG_GROUP,
    "tag": Kind.TAG,
    "list": Kind.LIST,
    "template": Kind.TEMPLATE,
    "list_tag": Kind.LIST_TAG,
    "list-tag": Kind.LIST_TAG,
}


class ThresholdsLike(Protocol):
    update_fraction: float
    delete_fraction: float
    min_existing: int


class PlanProject(ProjectLike, Protocol):
    thresholds: ThresholdsLike
    file_hashes: Mapping[str, str]


def build_plan(
    project: PlanProject, live: State, *, targets: Sequence[str] = (), force: bool = False, now: datetime | None = None
) -> Plan:
    """The ordered, checked plan that makes the account match the project. Raises PlanError when refused.

    `now` (default: the current time) dates the live lists' `created` for the daily list-creation cap."""
    comparison = compare(project, live)
    changes = comparison.changes
    if targets:
        changes = _select_targets(changes, project.state, live, targets)
    ordered = order_changes(changes)
    problems = _prevent_destroy(ordered, comparison) + _limit_problems(ordered, comparison, live, project.state)
    problems += _list_creation_problems(ordered, live, now or datetime.now(UTC))
    threshold_problems = _threshold_problems(ordered, comparison, project.thresholds)
    warnings = []
    if threshold_problems and force:
        warnings = [f"--force: {problem.message}" for problem in threshold_problems]
    else:
        problems += threshold_problems
    if problems:
        raise PlanError("The plan was refused; nothing will be applied.", problems)
    cascade_notes = _cascade_notes(comparison, ordered)
    return Plan(
        changes=ordered,
        unmanaged=sorted(comparison.unmanaged, key=lambda r: (r.kind.spec.rank, r.key, r.id or "")),
        manifest_hashes=dict(sorted(project.file_hashes.items())),
        fingerprint=fingerprint(live),
        warnings=warnings + cascade_notes,
        live_ids=dict(sorted(comparison.live_ids.items())),
    )


# -- order ------------------------------------------------------------------------------------------------------


def order_changes(changes: Iterable[Change]) -> list[Change]:
    """Deletes (most dependent kind first), then everything else (least dependent first, clones after sources)."""
    changes = list(changes)
    deletes = [c for c in changes if c.action in DELETE_ACTIONS]
    others = [c for c in changes if c.action not in DELETE_ACTIONS]
    depth = _clone_depths(others)
    deletes.sort(key=lambda c: (DELETE_ORDER.index(c.kind), c.key, c.live.id if c.live else ""))
    others.sort(key=lambda c: (c.kind.spec.rank, depth.get(c.key, 0) if c.kind is Kind.TEMPLATE else 0, c.key))
    return deletes + others


def _clone_depths(changes: list[Change]) -> dict[Key, int]:
    """How many templates changed in this plan stand between a clone and an unchanged template: a clone copies
    its source as it is at that moment, so it runs after every change of its source (create, update, rename)."""
    sources = {c.key: c.desired.clone_from for c in changes if c.action is Action.CLONE and c.desired is not None}
    changed = {c.key for c in changes if c.kind is Kind.TEMPLATE and c.action not in DELETE_ACTIONS}

    def depth(key: Key, seen: frozenset[Key] = frozenset()) -> int:
        source = sources.get(key)
        if source is None or (source,) not in changed or key in seen:
            return 0
        return 1 + depth((source,), seen | {key})

    return {key: depth(key) for key in sources}


# -- targets ------------------------------------------------------------------------------------------------------


def parse_target(target: str, desired: State, live: State) -> tuple[Kind, Key]:
    """`KIND:NAME`; a tag is `tag:GROUP/TAG`, a link `list_tag:LIST/GROUP/TAG` (a `/` inside a name is matched too)."""
    kind_text, sep, name = target.partition(":")
    kind = KIND_ALIASES.get(kind_text.strip().lower())
    if not sep or kind is None or not name:
        raise ConfigError(
            f"--target {target!r} is not KIND:NAME",
            hint="use e.g. template:Welcome Email, list:Newsletter, tag_group:Lifecycle, tag:Lifecycle/VIP",
        )
    parts = len(kind.spec.key_fields)
    candidates = [r.key for state in (desired, live) for r in state.of_kind(kind)]
    for key in candidates:
        if len(key) == parts and "/".join(key) == name:
            return kind, key
    raise ConfigError(
        f"--target {target!r} matches no declared or live {kind.spec.label}",
        hint="check the name (tags are GROUP/TAG); `klaviyo-sync plan -v` lists what exists",
    )


def _select_targets(changes: list[Change], desired: State, live: State, targets: Sequence[str]) -> list[Change]:
    """Changes of the targeted objects and of what they depend on (a list brings its links and their tags)."""
    wanted: set[tuple[Kind, Key]] = set()
    for target in targets:
        kind, key = parse_target(target, desired, live)
        wanted.add((kind, key))
        if kind is Kind.TAG_GROUP:  # the tags declared inside it
            wanted |= {(Kind.TAG, r.key) for r in desired.of_kind(Kind.TAG) if r.key[0] == key[0]}
        if kind is Kind.LIST:  # the links declared under it, live ones too (for unlinks)
            wanted |= {(Kind.LIST_TAG, r.key) for s in (desired, live) for r in s.of_kind(Kind.LIST_TAG) if r.key[0] == key[0]}
    # Dependencies, to a fixed point: a tag needs its group, a link its list and tag, a clone its source.
    pending = list(wanted)
    while pending:
        kind, key = pending.pop()
        needs: set[tuple[Kind, Key]] = set()
        if kind is Kind.TAG:
            needs = {(Kind.TAG_GROUP, key[:1])}
        elif kind is Kind.LIST_TAG:
            needs = {(Kind.LIST, key[:1]), (Kind.TAG, key[1:])}
        elif kind is Kind.TEMPLATE and (resource := desired.get(kind, key)) and resource.clone_from:
            needs = {(Kind.TEMPLATE, (resource.clone_from,))}
        pending.extend(needs - wanted)
        wanted |= needs
    return [change for change in changes if change.rid in wanted]


# -- safety ------------------------------------------------------------------------------------------------------


def _problem(resource: Resource | None, message: str, hint: str) -> Problem:
    origin = (resource.origin if resource else None) or Origin(ROOT_MANIFEST, 1, 1)
    return Problem(origin.file, origin.line, origin.column, message, hint)


def _prevent_destroy(changes: list[Change], comparison: Comparison) -> list[Problem]:
    problems = []
    for change in changes:
        if change.action is Action.REPLACE and change.desired is not None and change.desired.prevent_destroy:
            problems.append(
                _problem(
                    change.desired,
                    f"{change.address} has prevent_destroy, but this plan replaces it ({change.reason})",
                    "undo the change that forces the replacement, or remove prevent_destroy if it really must go",
                )
            )
    planned = {change.rid for change in changes}
    for desired, reason in comparison.cascaded_desired:
        if desired.prevent_destroy and desired.rid in planned:
            problems.append(
                _problem(
                    desired,
                    f"{desired.address} has prevent_destroy, but this plan destroys it: {reason}",
                    "undo the change to its group, or remove prevent_destroy if it really must go",
                )
            )
    return problems


def _threshold_problems(changes: list[Change], comparison: Comparison, thresholds: ThresholdsLike) -> list[Problem]:
    """octoDNS's rule: too large a share of a kind's managed objects updated or deleted at once is refused."""
    updates: Counter[Kind] = Counter()
    deletes: Counter[Kind] = Counter()
    for change in changes:
        if change.action in UPDATE_ACTIONS:
            updates[change.kind] += 1
        elif change.action in DELETE_ACTIONS or change.action is Action.REPLACE:
            deletes[change.kind] += 1
    for resource, _ in comparison.cascaded:
        if _cascade_planned(resource, changes):
            deletes[resource.kind] += 1
    problems = []
    for kind in Kind:
        existing = comparison.managed_counts.get(kind, 0)
        if existing < thresholds.min_existing:
            continue
        for verb, count, fraction, key in (
            ("update", updates[kind], thresholds.update_fraction, "update_fraction"),
            ("delete", deletes[kind], thresholds.delete_fraction, "delete_fraction"),
        ):
            if count > existing * fraction:
                problems.append(
                    _problem(
                        None,
                        f"this plan would {verb} {count} of {existing} managed {kind.spec.label}s "
                        f"({count / existing:.0%}), over the {verb} threshold of {fraction:.0%}",
                        f"review the plan and run again with --force if it is intended, or raise safety.max_{key} "
                        f"in {ROOT_MANIFEST}",
                    )
                )
    return problems


def _cascade_planned(resource: Resource, changes: list[Change]) -> bool:
    """Whether a cascaded removal happens under this (possibly targeted) plan: the change causing it is in it."""
    if resource.kind is Kind.TAG:
        causes = {(Kind.TAG_GROUP, resource.key[:1])}
    else:  # a link goes with its list, its tag, or its tag's group
        causes = {(Kind.LIST, resource.key[:1]), (Kind.TAG, resource.key[1:]), (Kind.TAG_GROUP, resource.key[1:2])}
    return any(
        change.live is not None and change.action in (Action.DELETE, Action.REPLACE) and change.live.rid in causes
        for change in changes
    )


def _limit_problems(changes: list[Change], comparison: Comparison, live: State, desired: State) -> list[Problem]:
    """Klaviyo's account limits, checked on the count after the plan (creates of a replace counted before its delete)."""
    created: Counter[Kind] = Counter()
    removed: Counter[Kind] = Counter()
    for change in changes:
        if change.action in (Action.CREATE, Action.CLONE, Action.LINK, Action.REPLACE):
            created[change.kind] += 1
        if change.action in DELETE_ACTIONS or (
            change.action is Action.REPLACE and change.replace_mode is ReplaceMode.DELETE_FIRST
        ):
            removed[change.kind] += 1
    for resource, _ in comparison.cascaded:
        if _cascade_planned(resource, changes):
            removed[resource.kind] += 1
    problems = []
    for kind, limit, label in (
        (Kind.TEMPLATE, MAX_TEMPLATES, "templates"),
        (Kind.TAG, MAX_TAGS, "tags"),
        (Kind.TAG_GROUP, MAX_TAG_GROUPS, "tag groups (the default group included)"),
    ):
        existing = len(_all_of_kind(live, kind))
        after = existing - removed[kind] + created[kind]
        if created[kind] and after > limit:
            problems.append(
                _problem(
                    None,
                    f"this plan would leave {after} {label} in the account ({existing} now, {created[kind]} created, "
                    f"{removed[kind]} removed); Klaviyo allows at most {limit}",
                    f"delete unused {kind.spec.label}s (or prune them) before adding more",
                )
            )
    links: Counter[str] = Counter(resource.key[0] for resource in desired.of_kind(Kind.LIST_TAG))
    for list_name, count in sorted(links.items()):
        if count > MAX_TAGS_PER_LIST:
            problems.append(
                _problem(
                    desired.get(Kind.LIST, (list_name,)),
                    f'list "{list_name}" would have {count} tags; Klaviyo allows at most {MAX_TAGS_PER_LIST} per list',
                    "remove some tags from the list",
                )
            )
    return problems


def _list_creation_problems(changes: list[Change], live: State, now: datetime) -> list[Problem]:
    """Klaviyo's daily cap on list creation, less the lists the account shows were created within the last day
    (lists created and deleted again since cannot be seen, so what is left may be less still)."""
    creations = sum(1 for c in changes if c.kind is Kind.LIST and c.action is Action.CREATE)
    if not creations:
        return []
    used = sum(1 for resource in _all_of_kind(live, Kind.LIST) if _created_since(resource, now - LIST_CREATION_WINDOW))
    left = max(MAX_LIST_CREATIONS - used, 0)
    if creations <= left:
        return []
    recent = f", as {used} lists in the account were created in the last 24 hours" if used else ""
    return [
        _problem(
            None,
            f"this plan creates {creations} lists, but only {left} of Klaviyo's {MAX_LIST_CREATIONS} list creations a day "
            f"are left{recent}",
            "create the lists over several days: apply some each day with --target list:NAME",
        )
    ]


def _created_since(resource: Resource, since: datetime) -> bool:
    created = resource.attrs.get("created")
    if not isinstance(created, str):
        return False
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) >= since


def _all_of_kind(live: State, kind: Kind) -> list[Resource]:
    """Every live object of a kind, duplicates under one name included."""
    found = live.of_kind(kind)
    for (conflict_kind, _), group in live.conflicts.items():
        if conflict_kind is kind:
            found.extend(r for r in group if r is not live.get(kind, r.key))
    return found


def _cascade_notes(comparison: Comparison, changes: list[Change]) -> list[str]:
    """Say what Klaviyo removes along with a deleted or replaced object, so nothing disappears silently."""
    by_reason: dict[str, list[str]] = {}
    for resource, reason in comparison.cascaded:
        if _cascade_planned(resource, changes):
            by_reason.setdefault(reason, []).append(resource.address)
    return [f"also removed by Klaviyo because {reason}: {', '.join(sorted(items))}" for reason, items in by_reason.items()]


# -- fingerprint --------------------------------------------------------------------------------------------------


def fingerprint(live: State) -> dict[str, str]:
    """ "kind:id" -> version for every live object read (duplicates included), to detect a stale saved plan."""
    resources = list(live)
    for group in live.conflicts.values():
        resources.extend(r for r in group if r is not live.get(r.kind, r.key))
    return {
        f"{r.kind.value}:{r.id}": r.version or content_hash(dict(r.attrs))
        for r in sorted(resources, key=lambda r: (r.kind.spec.rank, r.id or ""))
        if r.id
    }


# -- JSON form ------------------------------------------------------------------------------------------------------


def resource_to_json(resource: Resource, *, content: bool = True) -> dict[str, Any]:
    """`content=False` leaves out template content (html, text, definition): a change's `fields` carry the old
    values that changed, and repeating 100 KB templates would only bloat a saved plan."""
    data: dict[str, Any] = {"kind": resource.kind.value, "key": list(resource.key), "address": resource.address}
    data["attrs"] = {name: resource.attrs[name] for name in sorted(resource.attrs) if content or name not in CONTENT_FIELDS}
    if resource.origin is not None:
        data["origin"] = {"file": resource.origin.file, "line": resource.origin.line, "column": resource.origin.column}
    if resource.renamed_from:
        data["renamed_from"] = list(resource.renamed_from)
    if resource.prevent_destroy:
        data["prevent_destroy"] = True
    if resource.clone_from is not None:
        data["clone_from"] = resource.clone_from
    if resource.id is not None:
        data["id"] = resource.id
    if resource.version is not None:
        data["version"] = resource.version
    return data


def _reference_to_json(resource: Resource) -> dict[str, Any]:
    """An unmanaged object is only named, never described: its content is not the plan's business."""
    data: dict[str, Any] = {"kind": resource.kind.value, "key": list(resource.key), "address": resource.address}
    if resource.id is not None:
        data["id"] = resource.id
    return data


def resource_from_json(data: Mapping[str, Any]) -> Resource:
    origin = data.get("origin")
    return Resource(
        kind=Kind(data["kind"]),
        key=tuple(data["key"]),
        attrs=dict(data.get("attrs", {})),
        origin=Origin(origin["file"], origin["line"], origin.get("column", 1)) if origin else None,
        renamed_from=tuple(data.get("renamed_from", ())),
        prevent_destroy=bool(data.get("prevent_destroy", False)),
        clone_from=data.get("clone_from"),
        id=data.get("id"),
        version=data.get("version"),
    )


def change_to_json(change: Change) -> dict[str, Any]:
    return {
        "address": change.address,
        "action": change.action.value,
        "kind": change.kind.value,
        "key": list(change.key),
        "reason": change.reason,
        "replace_mode": change.replace_mode.value if change.replace_mode else None,
        "fields": [
            {"field": f.field, "old": f.old, "new": f.new, "forces_replacement": f.forces_replacement} for f in change.fields
        ],
        "desired": resource_to_json(change.desired) if change.desired else None,
        "live": resource_to_json(change.live, content=False) if change.live else None,
    }


def change_from_json(data: Mapping[str, Any]) -> Change:
    return Change(
        action=Action(data["action"]),
        kind=Kind(data["kind"]),
        key=tuple(data["key"]),
        desired=resource_from_json(data["desired"]) if data.get("desired") else None,
        live=resource_from_json(data["live"]) if data.get("live") else None,
        fields=tuple(FieldChange(f["field"], f["old"], f["new"], bool(f.get("forces_replacement"))) for f in data["fields"]),
        reason=data.get("reason", ""),
        replace_mode=ReplaceMode(data["replace_mode"]) if data.get("replace_mode") else None,
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The versioned JSON form, documented by schemas/plan.schema.json."""
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "tool": {"name": "klaviyo-sync", "version": __version__},
        "revision": REVISION,
        "summary": plan.counts(),
        "changes": [change_to_json(change) for change in plan.changes],
        "unmanaged": [_reference_to_json(resource) for resource in plan.unmanaged],
        "warnings": list(plan.warnings),
        "manifest_hashes": dict(plan.manifest_hashes),
        "fingerprint": dict(plan.fingerprint),
        "live_ids": dict(plan.live_ids),
    }


_TOP_LEVEL_TYPES = {"changes": list, "unmanaged": list, "warnings": list, "manifest_hashes": dict, "fingerprint": dict}


def plan_from_json(data: Any) -> Plan:
    """Read a saved plan; a file of another format version or API revision is refused with a clear error."""
    if not isinstance(data, dict) or "format_version" not in data:
        raise ConfigError("this is not a klaviyo-sync plan file", hint="write one with `klaviyo-sync plan --out FILE`")
    if data["format_version"] != PLAN_FORMAT_VERSION:
        raise ConfigError(
            f"the plan file has format version {data['format_version']!r}; this klaviyo-sync reads version {PLAN_FORMAT_VERSION}",
            hint="plan again with this version of klaviyo-sync",
        )
    if data.get("revision") != REVISION:
        raise ConfigError(
            f"the plan was made for API revision {data.get('revision')!r}; this klaviyo-sync uses {REVISION}",
            hint="plan again with this version of klaviyo-sync",
        )
    for key, expected in _TOP_LEVEL_TYPES.items():
        if not isinstance(data.get(key), expected):
            raise ConfigError(f"the plan file is damaged: {key!r} is missing or malformed", hint="plan again")
    try:
        return Plan(
            changes=[change_from_json(item) for item in data["changes"]],
            unmanaged=[resource_from_json(item) for item in data["unmanaged"]],
            manifest_hashes=dict(data["manifest_hashes"]),
            fingerprint=dict(data["fingerprint"]),
            warnings=list(data["warnings"]),
            live_ids=dict(data.get("live_ids", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the plan file is damaged: {type(exc).__name__} {exc}", hint="plan again") from None

"""Safety: the checks a plan runs on itself before anything is applied, each a Problem naming the object.

- `prevent_destroy` on an object the plan deletes or replaces (directly or through a cascade);
- thresholds as in octoDNS: updates or deletes over a fraction of a kind's managed live objects, once enough
  exist, are refused unless forced;
- each kind's account limit (`KindSpec.limit`), counted after the plan, and its daily creation cap
  (`KindSpec.daily_cap`), less what the account shows was created within the cap's window;
- `max_profiles_affected`: the profiles on the lists a plan deletes or replaces, as read at plan time
  (`klaviyo_sync.blast`), refused over the limit unless forced, like the thresholds.

`Safety` holds everything the checks need besides the changes (the thresholds, and counts of what was read), so
the same checks can run again on a saved plan. `Safety.review` returns the `Refusal` (every problem, and each
threshold gone over with the objects it counted) beside the warnings, so a refused plan can still be shown in full;
`Safety.check` raises it as a PlanError.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from klaviyo_sync.blast.reach import ListReach, Reach
from klaviyo_sync.diff import ROOT_MANIFEST, Comparison
from klaviyo_sync.errors import PlanError, Problem
from klaviyo_sync.kinds import KINDS
from klaviyo_sync.plan.order import DELETE_ACTIONS, UPDATE_ACTIONS
from klaviyo_sync.resources import Action, Change, Kind, Origin, ReplaceMode, Resource, ResourceId, State

REFUSED = "The plan was refused; nothing will be applied."
CREATING = (Action.CREATE, Action.CLONE, Action.LINK, Action.REPLACE)
# Objects a threshold's message names; the JSON form and the plan itself list them all.
OBJECTS_NAMED = 10


class ThresholdsLike(Protocol):
    update_fraction: float
    delete_fraction: float
    min_existing: int
    max_profiles_affected: int | None
    # Where klaviyo.yaml sets them: "safety" (the section) and each setting it names ("max_update_fraction", ...).
    origins: Mapping[str, Origin]


@dataclass(frozen=True)
class Breach:
    """A threshold the plan goes over: what it counted, of how many, the limit and the setting that holds it."""

    kind: Kind
    action: str  # "update" or "delete"
    count: int
    existing: int
    limit: float
    setting: str  # the key under `safety:`, e.g. "max_update_fraction"
    objects: tuple[str, ...]  # the addresses counted, in plan order

    def message(self) -> str:
        named = ", ".join(self.objects[:OBJECTS_NAMED])
        more = f" and {len(self.objects) - OBJECTS_NAMED} more" if len(self.objects) > OBJECTS_NAMED else ""
        return (
            f"this plan would {self.action} {self.count} of {self.existing} managed {self.kind.spec.plural} "
            f"({self.count / self.existing:.0%}), over the {self.action} threshold of {self.limit:.0%} "
            f"(safety.{self.setting}): {named}{more}"
        )

    def problem(self, origins: Mapping[str, Origin]) -> Problem:
        """Located at the setting in klaviyo.yaml, else at its `safety:` section, else at the file alone."""
        advice = "review the plan; if it is intended, run again with --force"
        if origins.get(self.setting) or origins.get("safety"):
            hint = f"{advice}, or raise safety.{self.setting} (now {self.limit:g})"
        else:
            hint = f"{advice}, or set safety.{self.setting} in {ROOT_MANIFEST} (default {self.limit:g})"
        return _at_setting(origins, self.setting, self.message(), hint)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "action": self.action,
            "count": self.count,
            "existing": self.existing,
            "threshold": self.limit,
            "setting": f"safety.{self.setting}",
            "objects": list(self.objects),
        }


@dataclass(frozen=True)
class Refusal:
    """Why a plan is refused: every problem found (file:line, message, hint), and the thresholds gone over (each is
    one of the problems too, with what it counted)."""

    problems: tuple[Problem, ...]
    thresholds: tuple[Breach, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "message": REFUSED,
            "problems": [problem.to_json() for problem in self.problems],
            "thresholds": [breach.to_json() for breach in self.thresholds],
        }

    def error(self, plan: Any = None) -> PlanError:
        return PlanError(REFUSED, list(self.problems), plan=plan)


@dataclass
class Safety:
    thresholds: ThresholdsLike
    # Per kind: live objects in the managed scope (for the thresholds), and all live objects (for the limits).
    managed_counts: dict[Kind, int] = field(default_factory=dict)
    live_counts: dict[Kind, int] = field(default_factory=dict)
    # Per kind with a daily cap: live objects created within the cap's window.
    recent_creations: dict[Kind, int] = field(default_factory=dict)
    # Live objects Klaviyo removes with another change, and declared ones destroyed that way, with the reason.
    cascaded: list[tuple[Resource, str]] = field(default_factory=list)
    cascaded_desired: list[tuple[Resource, str]] = field(default_factory=list)
    # Declared parents over a kind's per-parent limit (the loader checks this too): (parent, kind, count).
    crowded: list[tuple[Resource | None, Kind, str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, comparison: Comparison, desired: State, live: State, thresholds: ThresholdsLike, now: datetime) -> Safety:
        recent = {}
        for spec in KINDS:
            if spec.daily_cap is not None:
                since = now - spec.daily_cap.window
                recent[spec.kind] = sum(1 for r in live.all_of_kind(spec.kind) if _created_since(r, since))
        return cls(
            thresholds=thresholds,
            managed_counts=dict(comparison.managed_counts),
            live_counts={spec.kind: len(live.all_of_kind(spec.kind)) for spec in KINDS},
            recent_creations=recent,
            cascaded=list(comparison.cascaded),
            cascaded_desired=list(comparison.cascaded_desired),
            crowded=_crowded(desired),
        )

    def review(
        self, changes: list[Change], *, force: bool = False, reach: Mapping[str, Reach] | None = None
    ) -> tuple[Refusal | None, list[str]]:
        """The refusal (None when the plan may be applied) and the warnings (a forced threshold, what cascades).
        `reach`: what the plan's removals reach, by change address (`Plan.reach`)."""
        problems = self._prevent_destroy(changes) + self._limits(changes) + self._per_parent() + self._daily_caps(changes)
        breaches = self._thresholds(changes)
        profiles = self._profiles(changes, reach or {})
        if force:
            warnings = [f"--force: {breach.message()}" for breach in breaches] + [f"--force: {p.message}" for p in profiles]
        else:
            warnings = []
            problems += [breach.problem(self.thresholds.origins) for breach in breaches] + profiles
        warnings += self._cascade_notes(changes)
        if not problems:
            return None, warnings
        return Refusal(tuple(problems), () if force else tuple(breaches)), warnings

    def check(self, changes: list[Change], *, force: bool = False, reach: Mapping[str, Reach] | None = None) -> list[str]:
        """Raise PlanError listing every problem; return the warnings (a forced threshold, what cascades)."""
        refusal, warnings = self.review(changes, force=force, reach=reach)
        if refusal is not None:
            raise refusal.error()
        return warnings

    def planned_cascades(self, changes: list[Change]) -> list[tuple[Resource, str]]:
        """The cascaded removals that happen under this (possibly targeted) plan: the change causing them is in it."""
        causes = {
            change.live.rid for change in changes if change.live is not None and change.action in (Action.DELETE, Action.REPLACE)
        }
        return [(resource, reason) for resource, reason in self.cascaded if _removed_with(resource) & causes]

    def _prevent_destroy(self, changes: list[Change]) -> list[Problem]:
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
        for desired, reason in self.cascaded_desired:
            if desired.prevent_destroy and desired.rid in planned:
                problems.append(
                    _problem(
                        desired,
                        f"{desired.address} has prevent_destroy, but this plan destroys it: {reason}",
                        "undo the change to its group, or remove prevent_destroy if it really must go",
                    )
                )
        return problems

    def _thresholds(self, changes: list[Change]) -> list[Breach]:
        """octoDNS's rule: too large a share of a kind's managed objects updated or deleted at once is refused."""
        updates: dict[Kind, list[str]] = {}
        deletes: dict[Kind, list[str]] = {}
        for change in changes:
            if change.action in UPDATE_ACTIONS:
                updates.setdefault(change.kind, []).append(change.address)
            elif change.action in DELETE_ACTIONS or change.action is Action.REPLACE:
                deletes.setdefault(change.kind, []).append(change.address)
        for resource, _ in self.planned_cascades(changes):
            deletes.setdefault(resource.kind, []).append(resource.address)
        thresholds = self.thresholds
        breaches = []
        for spec in KINDS:
            existing = self.managed_counts.get(spec.kind, 0)
            if existing < thresholds.min_existing:
                continue
            for action, counted, fraction, setting in (
                ("update", updates.get(spec.kind, []), thresholds.update_fraction, "max_update_fraction"),
                ("delete", deletes.get(spec.kind, []), thresholds.delete_fraction, "max_delete_fraction"),
            ):
                if len(counted) > existing * fraction:
                    breaches.append(Breach(spec.kind, action, len(counted), existing, fraction, setting, tuple(counted)))
        return breaches

    def _profiles(self, changes: list[Change], reach: Mapping[str, Reach]) -> list[Problem]:
        """`max_profiles_affected`: the profiles on the lists this plan deletes or replaces (a profile on two of them
        counts twice), as Klaviyo counted them at plan time; a count that could not be read cannot pass."""
        limit = self.thresholds.max_profiles_affected
        removed = [c.address for c in changes if c.kind is Kind.LIST and c.action in (Action.DELETE, Action.REPLACE)]
        if limit is None or not removed:
            return []
        counts = {address: _profile_count(reach.get(address)) for address in removed}
        known = sorted(((n, a) for a, n in counts.items() if n is not None), reverse=True)
        total = sum(n for n, _ in known)
        problems = []
        if total > limit:
            shown = ", ".join(f"{address} {count:,}" for count, address in known[:10] if count)
            more = f" and {len(known) - 10} more" if len(known) > 10 else ""
            problems.append(
                _at_setting(
                    self.thresholds.origins,
                    "max_profiles_affected",
                    f"this plan removes {len(removed)} list{'s' if len(removed) != 1 else ''} holding {total:,} profiles "
                    f"({shown}{more}), over safety.max_profiles_affected of {limit:,}",
                    "review the plan; if it is intended, run again with --force, or raise safety.max_profiles_affected",
                )
            )
        unknown = [address for address, count in counts.items() if count is None]
        if unknown:
            problems.append(
                _problem(
                    None,
                    f"the profile count of {', '.join(unknown)} is unknown, so safety.max_profiles_affected ({limit:,}) "
                    "cannot be checked",
                    "plan again with a key that reads lists (lists:read), or check the lists in Klaviyo and run again "
                    "with --force",
                )
            )
        return problems

    def _limits(self, changes: list[Change]) -> list[Problem]:
        """Account limits, checked on the count after the plan (creates of a replace counted before its delete)."""
        created: Counter[Kind] = Counter()
        removed: Counter[Kind] = Counter()
        for change in changes:
            if change.action in CREATING:
                created[change.kind] += 1
            if change.action in DELETE_ACTIONS or (
                change.action is Action.REPLACE and change.replace_mode is ReplaceMode.DELETE_FIRST
            ):
                removed[change.kind] += 1
        for resource, _ in self.planned_cascades(changes):
            removed[resource.kind] += 1
        problems = []
        for spec in KINDS:
            if spec.limit is None:
                continue
            kind, limit = spec.kind, spec.limit
            existing = self.live_counts.get(kind, 0)
            after = existing - removed[kind] + created[kind]
            if created[kind] and after > limit.maximum:
                problems.append(
                    _problem(
                        None,
                        f"this plan would leave {after} {limit.live_label} in the account ({existing} now, "
                        f"{created[kind]} created, {removed[kind]} removed); Klaviyo allows at most {limit.maximum}",
                        f"delete unused {spec.plural} (or prune them) before adding more",
                    )
                )
        return problems

    def _per_parent(self) -> list[Problem]:
        problems = []
        for parent, kind, parent_name, count in self.crowded:
            per_parent = kind.spec.per_parent
            assert per_parent is not None
            label = per_parent.parent.spec.label
            problems.append(
                _problem(
                    parent,
                    f'{label} "{parent_name}" would have {count} {per_parent.what}; Klaviyo allows at most '
                    f"{per_parent.maximum} per {label}",
                    f"remove some {per_parent.what} from the {label}",
                )
            )
        return problems

    def _daily_caps(self, changes: list[Change]) -> list[Problem]:
        """A daily creation cap, less what the account shows was created within the last day (objects created and
        deleted again since cannot be seen, so what is left may be less still)."""
        problems = []
        for spec in KINDS:
            if spec.daily_cap is None:
                continue
            creations = sum(1 for c in changes if c.kind is spec.kind and c.action is Action.CREATE)
            if not creations:
                continue
            cap = spec.daily_cap.maximum
            used = self.recent_creations.get(spec.kind, 0)
            left = max(cap - used, 0)
            if creations <= left:
                continue
            recent = f", as {used} {spec.plural} in the account were created in the last 24 hours" if used else ""
            problems.append(
                _problem(
                    None,
                    f"this plan creates {creations} {spec.plural}, but only {left} of Klaviyo's {cap} {spec.label} "
                    f"creations a day are left{recent}",
                    f"create the {spec.plural} over several days: apply some each day with --target {spec.kind.value}:NAME",
                )
            )
        return problems

    def _cascade_notes(self, changes: list[Change]) -> list[str]:
        """Say what Klaviyo removes along with a deleted or replaced object, so nothing disappears silently."""
        by_reason: dict[str, list[str]] = {}
        for resource, reason in self.planned_cascades(changes):
            by_reason.setdefault(reason, []).append(resource.address)
        return [f"also removed by Klaviyo because {reason}: {', '.join(sorted(items))}" for reason, items in by_reason.items()]


def _profile_count(reach: Reach | None) -> int | None:
    return reach.profile_count if isinstance(reach, ListReach) else None


def _crowded(desired: State) -> list[tuple[Resource | None, Kind, str, int]]:
    found = []
    for spec in KINDS:
        if spec.per_parent is None:
            continue
        counts = Counter(resource.key[0] for resource in desired.of_kind(spec.kind))
        for parent_name, count in sorted(counts.items()):
            if count > spec.per_parent.maximum:
                parent = desired.get(spec.per_parent.parent, (parent_name,))
                found.append((parent, spec.kind, parent_name, count))
    return found


def _removed_with(resource: Resource) -> set[ResourceId]:
    """What an object goes with when Klaviyo removes it: what it needs, transitively (a link: its list, its tag
    and its tag's group)."""
    found: set[ResourceId] = set()
    pending = list(resource.kind.spec.needs(resource.key, None))
    while pending:
        rid = pending.pop()
        if rid not in found:
            found.add(rid)
            pending.extend(rid[0].spec.needs(rid[1], None))
    return found


def _at_setting(origins: Mapping[str, Origin], setting: str, message: str, hint: str) -> Problem:
    """Located at a `safety:` setting in klaviyo.yaml, else at the section, else at the file alone."""
    origin = origins.get(setting) or origins.get("safety") or Origin(ROOT_MANIFEST, 0, 0)
    return Problem(origin.file, origin.line, origin.column, message, hint)


def _problem(resource: Resource | None, message: str, hint: str) -> Problem:
    """Located at the object's declaration; an account-wide problem names the root manifest alone (line 0)."""
    origin = (resource.origin if resource else None) or Origin(ROOT_MANIFEST, 0, 0)
    return Problem(origin.file, origin.line, origin.column, message, hint)


def _created_since(resource: Resource, since: datetime) -> bool:
    created = resource.attrs.get("created")
    if not isinstance(created, str):
        return False
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) >= since

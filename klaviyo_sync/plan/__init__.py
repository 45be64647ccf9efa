"""Build a Plan from a project and the live state: diff, keep the targeted changes, order them, let the plan check
its own safety, fingerprint what was read.

Each concern has its module: `targets` (--target), `order`, `safety`, `fingerprint`, `lint` (the template lint
warnings it shows) and `codec` (the JSON form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from klaviyo_sync.diff import ProjectLike, compare
from klaviyo_sync.plan.codec import PLAN_FORMAT_VERSION, plan_from_json, plan_to_json, same_changes
from klaviyo_sync.plan.fingerprint import fingerprint
from klaviyo_sync.plan.lint import lint_notes
from klaviyo_sync.plan.order import DELETE_ACTIONS, UPDATE_ACTIONS, order_changes
from klaviyo_sync.plan.safety import Safety, ThresholdsLike
from klaviyo_sync.plan.targets import parse_target, select_targets
from klaviyo_sync.resources import Plan, State

__all__ = [
    "DELETE_ACTIONS",
    "PLAN_FORMAT_VERSION",
    "UPDATE_ACTIONS",
    "PlanProject",
    "Safety",
    "build_plan",
    "fingerprint",
    "order_changes",
    "parse_target",
    "plan_from_json",
    "plan_to_json",
    "same_changes",
]


class PlanProject(ProjectLike, Protocol):
    thresholds: ThresholdsLike
    file_hashes: Mapping[str, str]


def build_plan(
    project: PlanProject, live: State, *, targets: Sequence[str] = (), force: bool = False, now: datetime | None = None
) -> Plan:
    """The ordered, checked plan that makes the account match the project. Raises PlanError when refused.

    `now` (default: the current time) dates the live objects' `created` for the daily creation caps."""
    comparison = compare(project, live)
    changes = comparison.changes
    if targets:
        changes = select_targets(changes, project.state, live, targets)
    plan = Plan(
        changes=order_changes(changes),
        unmanaged=sorted(comparison.unmanaged, key=lambda r: (r.kind.spec.rank, r.key, r.id or "")),
        manifest_hashes=dict(sorted(project.file_hashes.items())),
        fingerprint=fingerprint(live),
        live_ids=dict(sorted(comparison.live_ids.items())),
        safety=Safety.of(comparison, project.state, live, project.thresholds, now or datetime.now(UTC)),
        targets=tuple(targets),
        force=force,
    )
    plan.warnings = plan.check(force=force) + lint_notes(project, plan.changes)
    return plan

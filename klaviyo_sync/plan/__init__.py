"""Build a Plan from a project and the live state: diff, keep the targeted changes, order them, let the plan check
its own safety, fingerprint what was read.

`build_plan` does it all at once. A command that also reads what the plan's removals reach (`klaviyo_sync.blast`)
does it in two steps: `draft_plan`, then the reads, then `check_plan`, since those reads depend on the changes and
`safety.max_profiles_affected` on the reads.

Each concern has its module: `targets` (--target), `order`, `safety`, `fingerprint`, `lint` (the template lint
warnings it shows) and `codec` (the JSON form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from klaviyo_sync.account import Account
from klaviyo_sync.blast.reach import Reach
from klaviyo_sync.diff import ProjectLike, compare
from klaviyo_sync.plan.codec import PLAN_FORMAT_VERSION, plan_from_json, plan_to_json, same_changes
from klaviyo_sync.plan.fingerprint import fingerprint
from klaviyo_sync.plan.lint import lint_notes
from klaviyo_sync.plan.order import DELETE_ACTIONS, UPDATE_ACTIONS, order_changes
from klaviyo_sync.plan.safety import Breach, Refusal, Safety, ThresholdsLike
from klaviyo_sync.plan.targets import parse_target, select_targets
from klaviyo_sync.resources import Plan, State

__all__ = [
    "DELETE_ACTIONS",
    "PLAN_FORMAT_VERSION",
    "UPDATE_ACTIONS",
    "Breach",
    "PlanProject",
    "Refusal",
    "Safety",
    "build_plan",
    "check_plan",
    "draft_plan",
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
    project: PlanProject,
    live: State,
    *,
    targets: Sequence[str] = (),
    force: bool = False,
    now: datetime | None = None,
    reach: Mapping[str, Reach] | None = None,
    account: Account | None = None,
) -> Plan:
    """The ordered, checked plan that makes the account match the project. Raises PlanError when refused: by its
    safety checks, with the plan (`error.plan`, its `refusal` set); by an ambiguity in the account, without.

    `now` (default: the current time) dates the live objects' `created` for the daily creation caps. `reach`: what
    the plan's removals reach, as read for the plan shown or saved (`Plan.reach`). `account`: the account `live`
    was read from, which the plan names."""
    plan = draft_plan(project, live, targets=targets, force=force, now=now, account=account)
    plan.reach = dict(reach or {})
    return check_plan(plan, project)


def draft_plan(
    project: PlanProject,
    live: State,
    *,
    targets: Sequence[str] = (),
    force: bool = False,
    now: datetime | None = None,
    account: Account | None = None,
) -> Plan:
    """The ordered plan, not yet checked (`check_plan`)."""
    comparison = compare(project, live)
    changes = comparison.changes
    if targets:
        changes = select_targets(changes, project.state, live, targets)
    return Plan(
        changes=order_changes(changes),
        unmanaged=sorted(comparison.unmanaged, key=lambda r: (r.kind.spec.rank, r.key, r.id or "")),
        manifest_hashes=dict(sorted(project.file_hashes.items())),
        fingerprint=fingerprint(live),
        live_ids=dict(sorted(comparison.live_ids.items())),
        safety=Safety.of(comparison, project.state, live, project.thresholds, now or datetime.now(UTC)),
        targets=tuple(targets),
        force=force,
        account=account,
    )


def check_plan(plan: Plan, project: PlanProject) -> Plan:
    """Run the plan's safety checks and gather its warnings. Raises PlanError when refused, carrying the plan
    (`error.plan`, its `refusal` set) so it can still be shown in full."""
    refusal, warnings = None, []
    if plan.safety is not None:
        refusal, warnings = plan.safety.review(plan.changes, force=plan.force, reach=plan.reach)
    plan.warnings = warnings + lint_notes(project, plan.changes)
    if refusal is not None:
        plan.refusal = refusal
        raise refusal.error(plan)
    return plan

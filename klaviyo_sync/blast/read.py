"""Reading the reach of what a plan removes, at plan time, and only of that.

Removed are the lists a plan deletes or replaces, the tags it deletes or replaces (a tag moving between groups is
deleted), and the tags Klaviyo deletes with a group the plan deletes or replaces; a group's tags are read one by one
and shown together on the group's change. Per list: its profile count (get_list with
`additional-fields[list]=profile_count`, 1/s and 15/m) and the flows it triggers (3/s, 60/m); per tag: the flows,
campaigns and segments carrying it (3/s, 60/m each). The reads run at once and the client paces each under its own
limits. A fact the key may not read (a plan-only key without flows:read, say) is shown as unknown, with the reason;
any other failure fails the plan, as a failed read of the account does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from klaviyo_sync.api_spec import operation
from klaviyo_sync.blast.reach import CARRIERS, FlowTrigger, ListReach, Reach, TagReach
from klaviyo_sync.errors import NotFoundError, PermissionDeniedError
from klaviyo_sync.resources import Action, Kind, Plan, State

if TYPE_CHECKING:
    from klaviyo_sync.account import Account
    from klaviyo_sync.plan import PlanProject

REMOVING = (Action.DELETE, Action.REPLACE)
_OPERATIONS = {
    "profile_count": "get_list",
    "flows_triggered": "get_flows_triggered_by_list",
    "flows": "get_flow_ids_for_tag",
    "campaigns": "get_campaign_ids_for_tag",
    "segments": "get_segment_ids_for_tag",
}
T = TypeVar("T")


class ReachClient(Protocol):
    """The part of `KlaviyoClient` these reads use."""

    async def list_profile_count(self, list_id: str) -> int | None: ...
    async def flows_triggered_by_list(self, list_id: str) -> list[dict[str, Any]]: ...
    async def tag_carrier_ids(self, tag_id: str, carriers: str) -> list[str]: ...


@dataclass(frozen=True)
class Removals:
    """What a plan removes that has a reach, by the address of the change removing it."""

    lists: dict[str, str]  # address -> list id
    tags: dict[str, tuple[str, ...]]  # address (a tag's, or a group's) -> ids of the tags it removes


def removals(plan: Plan) -> Removals:
    lists: dict[str, str] = {}
    tags: dict[str, list[str]] = {}
    groups: dict[str, str] = {}  # live group name -> address of the change removing it
    for change in plan.changes:
        live = change.live
        if change.action not in REMOVING or live is None or not live.id:
            continue
        if change.kind is Kind.LIST:
            lists[change.address] = live.id
        elif change.kind is Kind.TAG:
            tags.setdefault(change.address, []).append(live.id)
        elif change.kind is Kind.TAG_GROUP:
            groups[live.name] = change.address
    for resource, _ in plan.safety.planned_cascades(plan.changes) if plan.safety is not None else []:
        if resource.kind is Kind.TAG and resource.id and resource.key[0] in groups:
            tags.setdefault(groups[resource.key[0]], []).append(resource.id)
    return Removals(lists, {address: tuple(dict.fromkeys(ids)) for address, ids in tags.items()})


async def plan_with_reach(
    project: PlanProject,
    live: State,
    client: ReachClient,
    *,
    targets: tuple[str, ...] = (),
    force: bool = False,
    account: Account | None = None,
) -> Plan:
    """`build_plan`, with the reach of its removals read in between: the draft says what is removed, the reads say
    what that reaches, and the checks (`safety.max_profiles_affected`) need both. Raises PlanError when refused."""
    from klaviyo_sync.plan import check_plan, draft_plan  # the plan package imports this one's facts

    plan = draft_plan(project, live, targets=targets, force=force, account=account)
    plan.reach = await read_reach(client, plan)
    return check_plan(plan, project)


async def read_reach(client: ReachClient, plan: Plan) -> dict[str, Reach]:
    """The reach of every list and tag the plan removes, by the address of the change removing it."""
    removed = removals(plan)
    tag_ids = sorted({tag_id for ids in removed.tags.values() for tag_id in ids})
    async with asyncio.TaskGroup() as group:  # a failed read cancels the others
        lists = {address: group.create_task(_list_reach(client, list_id)) for address, list_id in removed.lists.items()}
        carried = {tag_id: group.create_task(_carriers(client, tag_id)) for tag_id in tag_ids}
    found: dict[str, Reach] = {address: task.result() for address, task in lists.items()}
    for address, ids in removed.tags.items():
        found[address] = _together(ids, [carried[tag_id].result() for tag_id in ids])
    return dict(sorted(found.items()))


async def _list_reach(client: ReachClient, list_id: str) -> ListReach:
    unread: dict[str, str] = {}
    count, flows = await asyncio.gather(
        _fact(lambda: client.list_profile_count(list_id), "profile_count", unread),
        _fact(lambda: client.flows_triggered_by_list(list_id), "flows_triggered", unread),
    )
    if "flows_triggered" in unread:
        unread["flows"] = unread.pop("flows_triggered")
    if count is None and "profile_count" not in unread:
        unread["profile_count"] = "Klaviyo's answer did not give it"
    triggers = None if flows is None else tuple(_trigger(flow) for flow in flows)
    return ListReach(list_id, count, triggers, unread)


async def _carriers(client: ReachClient, tag_id: str) -> tuple[dict[str, list[str] | None], dict[str, str]]:
    unread: dict[str, str] = {}
    reads = (_fact(lambda name=name: client.tag_carrier_ids(tag_id, name), name, unread) for name in CARRIERS)
    found = await asyncio.gather(*reads)
    return dict(zip(CARRIERS, found, strict=True)), unread


def _together(tag_ids: tuple[str, ...], each: list[tuple[dict[str, list[str] | None], dict[str, str]]]) -> TagReach:
    """The tags' carriers joined, each counted once; unknown for all when unknown for one."""
    carriers: dict[str, tuple[str, ...] | None] = {}
    unread: dict[str, str] = {}
    for name in CARRIERS:
        reasons = [why[name] for _, why in each if name in why]
        if reasons:
            carriers[name], unread[name] = None, reasons[0]
        else:
            carriers[name] = tuple(dict.fromkeys(i for found, _ in each for i in found[name] or ()))
    return TagReach(tag_ids, carriers, unread)


async def _fact(read: Callable[[], Awaitable[T]], name: str, unread: dict[str, str]) -> T | None:
    """One read; None, with the reason in `unread`, when the key may not read it or the object is gone."""
    try:
        return await read()
    except PermissionDeniedError:
        scopes = ", ".join(operation(_OPERATIONS[name]).scopes)
        unread[name] = f"the API key lacks a scope it needs: {scopes}"
    except NotFoundError:
        unread[name] = "the object is no longer in the account"
    return None


def _trigger(flow: dict[str, Any]) -> FlowTrigger:
    attributes = flow.get("attributes") or {}
    status = attributes.get("status")
    return FlowTrigger(str(flow["id"]), str(attributes.get("name") or ""), status if isinstance(status, str) else None)

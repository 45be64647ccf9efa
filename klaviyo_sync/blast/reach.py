"""What removing a list or tag reaches, as the plan carries it: the facts, their JSON form and how they read.

A list's reach is its profile count and the flows it triggers; a tag's, the flows, campaigns and segments that carry
it (a tag group's: those of all its tags, each counted once). A fact that could not be read is None, with the reason
in `unread`. The renderers see only the JSON form, so `describe` reads that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CARRIERS = ("flows", "campaigns", "segments")  # what carries a tag besides lists, in the order plans name them


@dataclass(frozen=True)
class FlowTrigger:
    """A flow the list triggers."""

    id: str
    name: str
    status: str | None = None


@dataclass(frozen=True)
class ListReach:
    """`profile_count`: profiles on the list; `flows`: the flows whose trigger it is (not those testing membership
    in a filter or split, which no endpoint lists)."""

    list_id: str
    profile_count: int | None = None
    flows: tuple[FlowTrigger, ...] | None = None
    unread: Mapping[str, str] = field(default_factory=dict)  # "profile_count" or "flows" -> why it is not known


@dataclass(frozen=True)
class TagReach:
    """`carriers`: per kind of carrier (`CARRIERS`), the ids of those carrying any of the tags."""

    tag_ids: tuple[str, ...]
    carriers: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    unread: Mapping[str, str] = field(default_factory=dict)  # a carrier kind -> why it is not known


Reach = ListReach | TagReach


def reach_to_json(reach: Reach) -> dict[str, Any]:
    if isinstance(reach, ListReach):
        flows = None if reach.flows is None else [{"id": f.id, "name": f.name, "status": f.status} for f in reach.flows]
        return {
            "kind": "list",
            "id": reach.list_id,
            "profile_count": reach.profile_count,
            "flows": flows,
            "unread": dict(reach.unread),
        }
    carriers = {name: None if ids is None else list(ids) for name, ids in reach.carriers.items()}
    return {"kind": "tags", "ids": list(reach.tag_ids), **carriers, "unread": dict(reach.unread)}


def reach_from_json(data: Mapping[str, Any]) -> Reach:
    """A reach as a saved plan holds it; raises KeyError, TypeError or ValueError on damage."""
    unread = {str(name): str(why) for name, why in dict(data.get("unread") or {}).items()}
    if data["kind"] == "list":
        count = data.get("profile_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ValueError(f"profile_count {count!r} is not a whole number")
        flows = data.get("flows")
        triggers = None if flows is None else tuple(FlowTrigger(str(f["id"]), str(f["name"]), f.get("status")) for f in flows)
        return ListReach(str(data["id"]), count, triggers, unread)
    if data["kind"] != "tags":
        raise ValueError(f"unknown reach kind {data['kind']!r}")
    carriers = {name: None if data.get(name) is None else tuple(str(i) for i in data[name]) for name in CARRIERS}
    return TagReach(tuple(str(i) for i in data["ids"]), carriers, unread)


def describe(data: Mapping[str, Any], kind: str = "") -> list[str]:
    """The facts of one reach (its JSON form) as plans show them on the change of `kind` (a tag group's change
    speaks of its tags), one line each."""
    unread = dict(data.get("unread") or {})
    if data.get("kind") == "list":
        lines = []
        count = data.get("profile_count")
        lines.append(f"{_count(count, 'profile')} on this list" if count is not None else _unread("profile count", unread))
        flows = data.get("flows")
        if flows is None:
            lines.append(_unread("flows it triggers", unread))
        elif flows:
            named = ", ".join(_flow(flow) for flow in flows)
            lines.append(f"it triggers {_count(len(flows), 'flow')}: {named}")
        else:
            lines.append("it triggers no flow")
        return lines
    tags = len(data.get("ids") or ())
    known = [_count(len(data[name]), name[:-1]) for name in CARRIERS if data.get(name) is not None]
    if kind == "tag_group":
        subject = f"its {_count(tags, 'tag')} {'is' if tags == 1 else 'are'}"
    else:
        subject = "this tag is" if tags == 1 else f"these {_count(tags, 'tag')} are"
    lines = [f"{subject} on {_join(known)}"] if known else []
    lines += [_unread(name, unread) for name in CARRIERS if data.get(name) is None]
    return lines


def _flow(flow: Mapping[str, Any]) -> str:
    status = f", {flow['status']}" if flow.get("status") else ""
    return f'"{flow.get("name", "")}" (id {flow.get("id")}{status})'


def _unread(what: str, unread: Mapping[str, str]) -> str:
    reasons = {"profile count": "profile_count", "flows it triggers": "flows"}
    why = unread.get(reasons.get(what, what)) or "not read"
    return f"{what}: unknown ({why})"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

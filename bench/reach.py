"""The blast-radius scenario: a plan that deletes lists and a tag group reads what they reach, at those reads' limits.

The account holds `lists` lists, each with a profile count and a flow it triggers, and a tag group of `tags` tags,
each carried by a flow, a campaign and a segment. The project prunes lists and tag groups and declares none, so
the plan deletes every list and the group (its tags with it), and reads, for each list, its profile count (get_list
with `additional-fields[list]=profile_count`: 1/s and 15/m, its own bucket) and the flows it triggers (3/s, 60/m),
and for each tag the flows, campaigns and segments carrying it (3/s and 60/m each).

Row: `prune` plan. Bound: the account's identity and read (one page of each kind here), then the reach reads, each sent the
moment its bucket's fixed windows allow. With 20 lists the 16th profile count waits for the next minute, so the
profile counts set the bound. The SDK baseline reads the same facts one request at a time, with its default retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench import bounds

PROFILE_COUNT = "get_list:additional-fields[list]=profile_count"
GROUP = "Retired"
TAG_READS = ("get_flow_ids_for_tag", "get_campaign_ids_for_tag", "get_segment_ids_for_tag")


@dataclass(frozen=True)
class ReachSize:
    name: str
    lists: int
    tags: int


FULL = ReachSize("reach", lists=20, tags=10)
QUICK = ReachSize("reach-s", lists=3, tags=2)


def seed(size: ReachSize) -> dict[str, Any]:
    """The account: the lists with their profile counts, a tag group of tags and one template the flows send."""
    return {
        "lists": [{"name": f"Retired {index:02}", "profile_count": 1000 + index} for index in range(size.lists)],
        "tag_groups": [{"name": GROUP}],
        "tags": [{"group": GROUP, "name": f"Tag {index:02}"} for index in range(size.tags)],
        "templates": [{"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi {% unsubscribe %}</p>"}],
    }


def flows(size: ReachSize, list_ids: list[str], template_id: str) -> dict[str, Any]:
    """A flow triggered by each list, and what carries each tag (seeded once the flows have ids)."""
    entries = []
    for index, list_id in enumerate(list_ids):
        action = {"temporary_id": "email", "type": "send-email", "links": {"next": None}}
        action["data"] = {"message": {"name": "Email #1", "template_id": template_id}}
        definition = {"triggers": [{"type": "list", "id": list_id}], "entry_action_id": "email", "actions": [action]}
        entries.append({"name": f"Welcome {index:02}", "definition": definition})
    return {"flows": entries}


def carriers(size: ReachSize, flow_ids: list[str]) -> dict[str, Any]:
    return {
        "tag_associations": [
            {"group": GROUP, "name": f"Tag {index:02}", "flows": [flow_ids[index % len(flow_ids)]], "campaigns": [f"C{index}"]}
            | {"segments": [f"S{index}"]}
            for index in range(size.tags)
        ]
    }


def write_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    # Every list and the group go at once, on purpose: past the default 30 % delete threshold.
    manifest = {"version": 1, "prune": {"lists": True, "tag_groups": True}, "safety": {"max_delete_fraction": 1.0}}
    (root / "klaviyo.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root


def reach_requests(size: ReachSize) -> dict[str, int]:
    """The reach reads, by the bucket they are paced in (a profile count: its own)."""
    return {PROFILE_COUNT: size.lists, "get_flows_triggered_by_list": size.lists, **dict.fromkeys(TAG_READS, size.tags)}


def plan_bound(size: ReachSize, latency: float, scale: float) -> dict[str, Any]:
    """The account's identity, its read (every kind one page), then the reach reads as their windows allow."""
    reads = bounds.read_requests({"templates": 1, "lists": size.lists, "tags": size.tags, "tag_groups": 2})
    model = bounds.WindowModel(scale)
    read = bounds.read_time(reads, latency, scale, start=latency, model=model)  # after the identity's round trip
    reach = reach_requests(size)
    wall = bounds.read_time(reach, latency, scale, start=read, model=model)
    profiles = bounds.read_time({PROFILE_COUNT: size.lists}, latency, scale, start=read, model=bounds.WindowModel(scale))
    return {
        "requests": sum(bounds.IDENTIFY.values()) + sum(reads.values()) + sum(reach.values()),
        "wall_s": wall,
        "reach_wall_s": wall - read,
        "profile_counts_wall_s": profiles - read,
        "lists": size.lists,
        "tags": size.tags,
        "throttled": 0,
    }


# -- the SDK baseline -------------------------------------------------------------------------------


def sdk_read(sdk: Any, list_ids: list[str], tag_ids: list[str]) -> dict[str, Any]:
    """The same facts as a script reads them: one request at a time, the SDK's retry handling every 429."""
    found: dict[str, Any] = {"lists": {}, "tags": {}}
    for list_id in list_ids:
        counted = sdk.Lists.get_list(list_id, additional_fields_list=["profile_count"])
        flow_ids = sdk.Lists.get_ids_for_flows_triggered_by_list(list_id)
        found["lists"][list_id] = (_dict(counted)["data"]["attributes"]["profile_count"], len(_dict(flow_ids)["data"]))
    for tag_id in tag_ids:
        found["tags"][tag_id] = [
            len(_dict(read(tag_id))["data"])
            for read in (sdk.Tags.get_flow_ids_for_tag, sdk.Tags.get_campaign_ids_for_tag, sdk.Tags.get_segment_ids_for_tag)
        ]
    return found


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.to_dict()

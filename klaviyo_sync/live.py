"""Reading an account into the shared model, with the fewest requests the API allows.

One paginated collection walk per kind, all at once: tag groups, tags (`include=tag-group`), lists
(`include=tags`, which also yields every list↔tag link), templates, and each kind read on its own
(`KindSpec.read`: universal content blocks), and, when the project declares flow emails, the flows with their
actions and the copies those emails send (`klaviyo_sync.flows.read`). Large template and list collections are
walked in concurrent slices of their `created` range (`klaviyo_sync.partitions`: how, and what it costs). Nothing
is fetched per object, except the `definition` of drag-and-drop (SYSTEM_DRAGGABLE) templates, which Klaviyo does
not reliably serve in bulk.

Template HTML is read for every template: a collection page cannot carry `html` for some objects and not for
others, and leaving it out would take a second walk or one request per managed template.

The Resources built here are shaped exactly like the manifest loader's, so the diff can compare them directly.
Each carries its Klaviyo `id` and a `version` (`updated` where Klaviyo has one, else a hash of what was read) so
a saved plan can later tell whether the object changed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Collection
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.client import KlaviyoClient, related_id
from klaviyo_sync.errors import NotFoundError, ServerError
from klaviyo_sync.flows.read import FlowsRead, read_flow_emails
from klaviyo_sync.kinds import KINDS
from klaviyo_sync.lock import LOCK_NAME
from klaviyo_sync.partitions import AUTO, Horizon, Partitioning, Walked, WalkStats, all_or_nothing, walk_collection
from klaviyo_sync.resources import Key, Kind, Resource, State, content_hash
from klaviyo_sync.scratch import is_scratch

logger = logging.getLogger("klaviyo_sync.live")

DRAG_AND_DROP = "SYSTEM_DRAGGABLE"


@dataclass
class ReadReport:
    """What a read cost: per collection operation, its walk statistics; `definitions`: per-template fetches."""

    collections: dict[str, WalkStats] = field(default_factory=dict)
    definitions: int = 0
    flows: dict[str, int] = field(default_factory=dict)  # the flow emails' reads, per operation

    def requests(self) -> dict[str, int]:
        """Answered requests per operation, as the emulator's `request_counts` names them."""
        counts = {operation_id: stats.requests for operation_id, stats in self.collections.items()}
        if self.definitions:
            counts["get_template"] = self.definitions
        for operation_id, count in self.flows.items():
            counts[operation_id] = counts.get(operation_id, 0) + count
        return counts


async def read_live_state(
    client: KlaviyoClient,
    *,
    managed_templates: Collection[str] | Awaitable[Collection[str]] | None = None,
    flow_emails: Collection[Key] | Awaitable[Collection[Key]] | None = (),
    partitioning: Partitioning = AUTO,
    report: ReadReport | None = None,
) -> State:
    """The live State of the account.

    `managed_templates`, when given, limits the per-template `definition` fetches to drag-and-drop templates with
    those names (the others are outside the plan's scope). It may be an awaitable (the manifests still loading):
    it is awaited only if the account has drag-and-drop templates, once the template walk is done.
    `flow_emails`: the flow emails the plan manages, keyed (flow, email), or an awaitable of them; their flows are
    walked and their copies read only when there are any. None: every email of every flow (an export).
    `partitioning`: AUTO splits large template and list collections into concurrent walks; SEQUENTIAL always reads
    with exactly the lower bound of requests.
    `report`, when given, receives what the read cost.
    """
    report = report if report is not None else ReadReport()
    own_reads = [spec.read for spec in KINDS if spec.read is not None]
    reading = _Reading(client, partitioning, report, Horizon())  # one horizon: the collections are read at once
    groups, tags, lists, templates, *walked = await all_or_nothing(
        reading.walk("get_tag_groups", {}),
        reading.walk("get_tags", {"include": "tag-group"}),
        reading.walk("get_lists", {"include": "tags"}),
        _read_templates(reading, managed_templates),
        _read_flows(client, flow_emails, report),
        *(reading.walk(read.operation, dict(read.params)) for read in own_reads),
    )
    flows, *walked = walked
    state = State()
    state.flows = flows.flows
    for email in flows.emails:
        state.add(email)
    for read, collected in zip(own_reads, walked, strict=True):
        for item in collected.data:
            resource = read.build(item)
            # An apply's lock marker (a block) is not part of the account as the tool sees it.
            if resource is not None and not (resource.kind is Kind.UNIVERSAL_CONTENT and resource.name == LOCK_NAME):
                state.add(resource)
    group_names = _add_tag_groups(state, groups.data, tags.included)
    tag_keys = _add_tags(state, tags.data, group_names)
    _add_lists(state, lists, group_names, tag_keys)
    for template in templates:
        (state.scratch.append if is_scratch(template.name) else state.add)(template)
    return state


async def _read_flows(
    client: KlaviyoClient, wanted: Collection[Key] | Awaitable[Collection[Key]] | None, report: ReadReport
) -> FlowsRead:
    if inspect.isawaitable(wanted):
        wanted = await wanted
    if wanted is not None and not wanted:
        return FlowsRead()  # no flow emails declared: flows are not read at all (nor is flows:read needed)
    read = await read_flow_emails(client, wanted)
    for operation_id, count in read.requests.items():
        report.flows[operation_id] = report.flows.get(operation_id, 0) + count
    return read


@dataclass
class _Reading:
    """What every collection walk of one read shares."""

    client: KlaviyoClient
    partitioning: Partitioning
    report: ReadReport
    horizon: Horizon

    async def walk(self, operation_id: str, params: dict[str, str]) -> Walked:
        walked = await walk_collection(self.client, operation_id, params, self.partitioning, self.horizon)
        self.report.collections[operation_id] = walked.stats
        if walked.stats.duplicates:
            logger.warning("%s: %d objects were read by two walks; each is kept once", operation_id, walked.stats.duplicates)
        return walked


def _attributes(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("attributes") or {}


def _name(resource: dict[str, Any]) -> str:
    return _attributes(resource).get("name") or ""


def _add_tag_groups(state: State, groups: list[dict[str, Any]], included: list[dict[str, Any]]) -> dict[str, str]:
    """Add the groups; return every group name by id (also from `included`, should a group appear mid-read)."""
    names = {group["id"]: _name(group) for group in included if group.get("type") == "tag-group"}
    for group in groups:
        attributes = _attributes(group)
        names[group["id"]] = _name(group)
        state.add(
            Resource(
                Kind.TAG_GROUP,
                (_name(group),),
                {"exclusive": bool(attributes.get("exclusive")), "default": bool(attributes.get("default"))},
                id=group["id"],
                version=content_hash({key: attributes.get(key) for key in ("name", "exclusive", "default")}),
            )
        )
    return names


def _add_tags(state: State, tags: list[dict[str, Any]], group_names: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Add the tags; return each tag's key (group name, tag name) by id."""
    keys: dict[str, tuple[str, str]] = {}
    for tag in tags:
        group_id = related_id(tag, "tag-group")
        if group_id not in group_names:
            logger.warning("tag %s (%r) names a tag group that was not read; skipping it", tag["id"], _name(tag))
            continue
        key = (group_names[group_id], _name(tag))
        keys[tag["id"]] = key
        state.add(Resource(Kind.TAG, key, {}, id=tag["id"], version=content_hash({"name": key[1], "group": group_id})))
    return keys


def _add_lists(state: State, lists: Walked, group_names: dict[str, str], tag_keys: dict[str, tuple[str, str]]) -> None:
    """Add the lists and, from their included tags, the list↔tag links."""
    tag_keys = dict(tag_keys)
    for tag in lists.included:  # tags created after the tag walk passed them still resolve
        group_id = related_id(tag, "tag-group")
        if tag.get("type") == "tag" and tag["id"] not in tag_keys and group_id in group_names:
            tag_keys[tag["id"]] = (group_names[group_id], _name(tag))
    for item in lists.data:
        attributes = _attributes(item)
        list_name = _name(item)
        state.add(
            Resource(
                Kind.LIST,
                (list_name,),
                # `created` is never compared: it dates the list for the daily list-creation cap.
                {"opt_in_process": attributes.get("opt_in_process"), "created": attributes.get("created")},
                id=item["id"],
                version=attributes.get("updated") or content_hash(attributes),
            )
        )
        linked = ((item.get("relationships") or {}).get("tags") or {}).get("data") or []
        for identifier in linked:
            tag_key = tag_keys.get(identifier.get("id"))
            if tag_key is None:
                logger.warning("list %r links tag %s, which was not read; skipping the link", list_name, identifier.get("id"))
                continue
            link_id = f"{item['id']}:{identifier['id']}"
            state.add(Resource(Kind.LIST_TAG, (list_name, *tag_key), {}, id=link_id, version=content_hash(link_id)))


async def _read_templates(reading: _Reading, managed: Collection[str] | Awaitable[Collection[str]] | None) -> list[Resource]:
    client, report = reading.client, reading.report
    collected = await reading.walk("get_templates", {})
    drag_and_drop = [item for item in collected.data if _attributes(item).get("editor_type") == DRAG_AND_DROP]
    if drag_and_drop and inspect.isawaitable(managed):
        managed = await managed
    names = managed if managed is None or isinstance(managed, Collection) else ()
    wanted = [item for item in drag_and_drop if names is None or _name(item) in names]
    report.definitions += len(wanted)
    definitions = dict(
        zip([item["id"] for item in wanted], await asyncio.gather(*(_definition(client, item) for item in wanted)), strict=True)
    )
    templates = []
    for item in collected.data:
        attributes = _attributes(item)
        attrs: dict[str, Any] = {key: attributes.get(key) for key in ("editor_type", "html", "text")}
        if item["id"] in definitions and definitions[item["id"]] is not None:
            attrs["definition"] = definitions[item["id"]]
        templates.append(
            Resource(
                Kind.TEMPLATE,
                (_name(item),),
                attrs,
                id=item["id"],
                version=attributes.get("updated") or content_hash(attrs),
            )
        )
    return templates


async def _definition(client: KlaviyoClient, template: dict[str, Any]) -> dict[str, Any] | None:
    """A drag-and-drop template's definition; None when Klaviyo cannot serve it (a known server-side failure)."""
    try:
        document = await client.request(
            "get_template", path_params={"id": template["id"]}, params={"additional-fields[template]": "definition"}
        )
    except (ServerError, NotFoundError) as exc:
        logger.warning("could not read the definition of template %r: %s", _name(template), exc.message)
        return None
    definition = _attributes((document or {}).get("data") or {}).get("definition")
    return definition if isinstance(definition, dict) else None

"""Reading flow emails (klaviyo-api-more.md §2.1, §3): the flows walk, then each managed email's copy by id.

1. `GET /api/flows?include=flow-actions` (`KlaviyoClient.walk_flows`): every flow with its actions, whole (an
   action's `definition` is the node a later PATCH sends back), 50 flows a page at 3/s, 60/m.
2. `GET /api/templates/{id}` for the copy each managed email sends: copies are readable by id but absent from the
   template list. Templates allow 75/s, 750/m, so this is fast even for hundreds of emails.

Only the flows the project declares become resources; the others cost nothing beyond the walk. Every email of a
declared flow does (so a misspelt email name gets a suggestion, and two emails of one name are an error), but only
the declared ones have their copy read. Archived flows send nothing and are left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sync.errors import NotFoundError
from klaviyo_sync.kinds.flow_emails import CONTENT_FIELDS, MESSAGE_FIELDS, SEND_EMAIL
from klaviyo_sync.resources import Key, Kind, Resource, content_hash

AB_TEST = "ab-test"


@dataclass
class FlowsRead:
    flows: dict[str, list[str]] = field(default_factory=dict)  # every flow read: name -> ids
    emails: list[Resource] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)  # answered requests per operation

    def count(self, operation_id: str) -> None:
        self.requests[operation_id] = self.requests.get(operation_id, 0) + 1


async def read_flow_emails(client: Any, wanted: Collection[Key] | None) -> FlowsRead:
    """The emails of the flows `wanted` names (None: of every flow), with the content of the `wanted` ones."""
    read = FlowsRead()
    wanted_flows = None if wanted is None else {key[0] for key in wanted}
    async for flow, actions in client.walk_flows(read.count):
        attributes = flow.get("attributes") or {}
        if attributes.get("archived"):
            continue
        name = str(attributes.get("name") or "")
        read.flows.setdefault(name, []).append(flow["id"])
        if wanted_flows is None or name in wanted_flows:
            read.emails.extend(_emails(flow["id"], name, actions))
    unique = _unique([email.key for email in read.emails])
    to_read = [
        email
        for email in read.emails
        if email.key in unique
        and (wanted is None or email.key in wanted)
        and email.attrs["action_type"] == SEND_EMAIL
        and email.attrs.get("copy_id")
    ]
    contents = await asyncio.gather(*(_copy(client, email.attrs["copy_id"], read) for email in to_read))
    by_id = {id(email): content for email, content in zip(to_read, contents, strict=True)}
    read.emails = [
        email.with_(attrs={**email.attrs, **by_id[id(email)]}) if id(email) in by_id else email for email in read.emails
    ]
    return read


def _unique(keys: list[Key]) -> set[Key]:
    seen: set[Key] = set()
    repeated: set[Key] = set()
    for key in keys:
        (repeated if key in seen else seen).add(key)
    return seen - repeated


def _emails(flow_id: str, flow_name: str, actions: list[dict[str, Any]]) -> Iterator[Resource]:
    for action in actions:
        attributes = action.get("attributes") or {}
        node = attributes.get("definition")
        if not isinstance(node, dict):
            continue
        version = attributes.get("updated") or content_hash(node)  # the fingerprint adds the content to it
        if node.get("type") == SEND_EMAIL:
            yield _email(flow_id, flow_name, action["id"], node, node, SEND_EMAIL, version)
        elif node.get("type") == AB_TEST:  # its variants' messages are named too, but are not plain emails
            for variant in _variants(node):
                yield _email(flow_id, flow_name, action["id"], node, variant, AB_TEST, version)


def _variants(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    data = node.get("data") or {}
    main = data.get("main_action")
    if isinstance(main, dict):
        yield main
    experiment = data.get("current_experiment") or {}
    for variation in experiment.get("variations") or []:
        if isinstance(variation, dict):
            yield variation


def _email(
    flow_id: str,
    flow_name: str,
    action_id: str,
    node: Mapping[str, Any],
    send: Mapping[str, Any],
    action_type: str,
    version: str,
) -> Resource:
    data = send.get("data") if isinstance(send.get("data"), dict) else {}
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    attrs: dict[str, Any] = {name: message.get(name) for name in MESSAGE_FIELDS}
    attrs.update(
        status=data.get("status"),
        flow_id=flow_id,
        action_id=action_id,
        action_type=action_type,
        copy_id=message.get("template_id"),
        node=dict(node),
    )
    return Resource(Kind.FLOW_EMAIL, (flow_name, str(message.get("name") or "")), attrs, id=message.get("id"), version=version)


async def _copy(client: Any, copy_id: str, read: FlowsRead) -> dict[str, Any]:
    """The copy's content; a copy that is gone reads as empty, so the plan points the email at its content again."""
    try:
        template = await client.get_template(copy_id)
    except NotFoundError:
        return dict.fromkeys(CONTENT_FIELDS)
    finally:
        read.count("get_template")
    attributes = template.get("attributes") or {}
    return {name: attributes.get(name) for name in CONTENT_FIELDS}

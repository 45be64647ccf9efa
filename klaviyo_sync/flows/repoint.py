"""Changing what a flow email sends (klaviyo-api-more.md §2.8, §3).

Klaviyo refuses a PATCH of a flow-owned copy (404) and HTML in a FlowEmail (400): content moves only by pointing
the send-email action at a template, which Klaviyo snapshots into a new copy. One change is therefore:

1. the source: the library template the email follows, or, for content from files, a scratch template made for the
   occasion (`klaviyo_sync.scratch.FLOW_PREFIX`, so one left by a killed run is found and deleted by the next apply);
2. one `PATCH /api/flow-actions/{id}` carrying the whole node as read, with the changed members only: whatever the
   PATCH leaves out Klaviyo may reset to its default, and a live email's status defaults to draft;
3. verification through `GET /api/flow-messages/{id}/template`, the message's own read, since the PATCH answer can
   still show the old copy for a while: the message must serve a new copy with the declared content;
4. deleting the copy it replaced, by the id this plan read; never a sweep of "copies nothing uses";
5. deleting the scratch template, whatever happened.

A PATCH is never sent twice blindly: each one that names a library template mints a copy. When one gets no answer,
the message's template read tells whether it committed. The copy the email sends is never deleted, so an email is
never left pointing at nothing.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from typing import Any

from klaviyo_sync.diff import values_equal
from klaviyo_sync.errors import ApiError, KlaviyoSyncError, NotFoundError, TransportError
from klaviyo_sync.kinds.base import Ids
from klaviyo_sync.kinds.flow_emails import CONTENT_FIELDS, MESSAGE_FIELDS
from klaviyo_sync.resources import Change, Kind, Resource, State
from klaviyo_sync.scratch import FLOW_PREFIX, scratch_name

logger = logging.getLogger(__name__)

# The message's template read may lag a repoint ([OBS] waits about 2 s): read again after 0.25 s, doubling, for
# about 8 s in all before calling the repoint unconfirmed.
VERIFY_ATTEMPTS = 6
VERIFY_FIRST_WAIT_S = 0.25
PATCH_ATTEMPTS = 4


class RepointError(KlaviyoSyncError):
    """A flow email's repoint did not end as planned; the message says what the email sends now."""


async def update_flow_email(client: Any, change: Change, ids: Ids) -> str:
    """Apply one flow email change; returns its message id (stable across repoints)."""
    live, desired = change.live, change.desired
    assert live is not None and live.id and desired is not None
    changed = {item.field: item.new for item in change.fields}
    node = copy.deepcopy(dict(live.attrs["node"]))
    data = node.setdefault("data", {})
    message = data.setdefault("message", {})
    for name in MESSAGE_FIELDS:
        if name in changed:
            message[name] = changed[name]
    if "status" in changed:
        data["status"] = changed["status"]
    repoint = any(name in changed for name in CONTENT_FIELDS)
    old_copy = live.attrs.get("copy_id")
    scratch_id: str | None = None
    try:
        if repoint:
            template = desired.attrs.get("template")
            if isinstance(template, str):
                message["template_id"] = ids.require(Kind.TEMPLATE, (template,))
            else:
                scratch_id = await _create_scratch(client, desired)
                message["template_id"] = scratch_id
        await _patch(client, change, node, old_copy)
        new_copy = await _verified_copy(client, change, old_copy, repoint)
    finally:
        if scratch_id is not None:
            await _delete_quietly(client, scratch_id, "scratch template")
    if old_copy and new_copy != old_copy:
        await _delete_quietly(client, old_copy, "replaced copy")
    return live.id


async def _create_scratch(client: Any, desired: Resource) -> str:
    attributes = {"name": scratch_name(FLOW_PREFIX), "editor_type": "CODE", "html": desired.attrs.get("html") or ""}
    if desired.attrs.get("text") is not None:
        attributes["text"] = desired.attrs["text"]
    return str(await client.create_template(attributes))


async def _patch(client: Any, change: Change, node: Mapping[str, Any], old_copy: str | None) -> None:
    """The one PATCH. When it fails, the message's template read tells whether it committed: after an answer (a
    5xx) it did not if the email still sends its old copy, so it is sent again; after no answer at all it may still
    commit later, and a second one would make a second copy, so it is not."""
    assert change.live is not None and change.live.id
    content = any(item.field in CONTENT_FIELDS for item in change.fields)
    for attempt in range(PATCH_ATTEMPTS):
        try:
            await client.update_flow_action(change.live.attrs["action_id"], node)
            return
        except TransportError as exc:
            if not exc.ambiguous:
                raise
            if not content:
                # Message fields only: a second PATCH sets them the same way and makes no copy.
                if attempt == PATCH_ATTEMPTS - 1:
                    raise
                continue
            # After no answer, read for as long as a read may lag; a 5xx answered, so one read tells.
            if await _repointed(client, change.live.id, old_copy, patient=exc.status is None):
                return  # it committed: verification reads what the email sends now
            if exc.status is None or attempt == PATCH_ATTEMPTS - 1:
                raise TransportError(
                    f"{change.address}: the change got no answer and the email still sends its old copy; it is not "
                    f"sent again, since each repoint makes a new copy ({exc.message})",
                    operation=exc.operation,
                    ambiguous=True,
                    hint="run `klaviyo-sync plan` in a minute: it shows whether the change landed; apply again finishes it",
                ) from exc


async def _verified_copy(client: Any, change: Change, old_copy: str | None, repoint: bool) -> str | None:
    """The copy the message serves once Klaviyo shows the change; raises when it never does."""
    assert change.live is not None and change.live.id and change.desired is not None
    if not repoint and old_copy is None:
        return None  # message fields only, on an email that sends no template yet: nothing to read
    served = await _moved_off(client, change.live.id, old_copy, VERIFY_ATTEMPTS if repoint else 1)
    served_id = served.get("id")
    if served_id == old_copy:
        if not repoint:
            return old_copy  # message fields only: the email keeps its copy
        raise RepointError(
            f"{change.address}: Klaviyo accepted the change, but the email still sends its old copy ({old_copy}) after "
            f"{VERIFY_ATTEMPTS} reads; that copy is kept",
            hint="Klaviyo may still be applying it: run `klaviyo-sync plan` in a minute, and apply again if it still differs",
        )
    wanted = change.desired if repoint else change.live  # without a repoint the content must stay as it was
    attributes = served.get("attributes") or {}
    different = [
        name
        for name in CONTENT_FIELDS
        if name in wanted.attrs and not values_equal(name, wanted.attrs[name], attributes.get(name))
    ]
    if different:
        raise RepointError(
            f"{change.address}: Klaviyo now sends copy {served_id}, whose {' and '.join(different)} differ from "
            f"what was sent; the copy it replaced ({old_copy}) is kept",
            hint="run `klaviyo-sync plan` to see the email as Klaviyo serves it, then apply again",
        )
    return str(served_id)


async def _repointed(client: Any, message_id: str, old_copy: str | None, *, patient: bool) -> bool:
    """Whether the message has moved off `old_copy`; `patient`: read again for as long as a read may lag a repoint."""
    return (await _moved_off(client, message_id, old_copy, VERIFY_ATTEMPTS if patient else 1)).get("id") != old_copy


async def _moved_off(client: Any, message_id: str, old_copy: str | None, attempts: int) -> dict[str, Any]:
    """The copy the message serves, read until it is another than `old_copy` (waiting longer after each read), at
    most `attempts` times; the last read when it never moves."""
    wait = VERIFY_FIRST_WAIT_S
    for attempt in range(attempts):
        served = await _served(client, message_id)
        if served.get("id") != old_copy or attempt == attempts - 1:
            return served
        await asyncio.sleep(wait)
        wait *= 2
    raise AssertionError("attempts must be at least 1")


async def _served(client: Any, message_id: str) -> dict[str, Any]:
    """The copy the message sends now, as its template read serves it; {} for an email that sends none yet."""
    try:
        return dict(await client.get_flow_message_template(message_id))
    except NotFoundError:
        return {}


async def _delete_quietly(client: Any, template_id: str, what: str) -> None:
    """Delete a template this change made or replaced; a failure leaves an invisible copy or a scratch template the
    next apply deletes, never a broken email, so it is logged, not raised."""
    try:
        await client.delete_template(template_id)
    except NotFoundError:
        return
    except ApiError as exc:
        logger.warning("could not delete the %s %s: %s", what, template_id, exc.message)


async def delete_leftover_scratch(client: Any, live: State) -> int:
    """Delete the scratch templates of earlier applies (killed between a repoint and its clean-up); returns how many.
    Only an apply holding the account's lock makes them, so under the lock every one found is a leftover."""
    leftovers = [template.id for template in live.scratch if template.name.startswith(FLOW_PREFIX) and template.id]
    for template_id in leftovers:
        await _delete_quietly(client, template_id, "leftover scratch template")
    return len(leftovers)

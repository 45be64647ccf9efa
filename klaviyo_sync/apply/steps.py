"""One small function per action, turning a Change into client calls through its kind's `Requests`.

Each step returns the Klaviyo id of the object it leaves in place (None for a delete) and records new ids in the
`IdBook` so later steps can use them. Creates are never blindly repeated: when a create's response is lost the step
looks the object up by name first, and only creates again if it is not there (`create_exactly_once`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from klaviyo_sync.apply.ids import IdBook
from klaviyo_sync.apply.late import UnclearCreate
from klaviyo_sync.errors import ApiError, KlaviyoSyncError, NotFoundError, ServerError, TransportError
from klaviyo_sync.resources import Action, Change, Kind, ReplaceMode, Resource

CREATE_ATTEMPTS = 5
LINK_ATTEMPTS = 5


class Client(Protocol):
    """The part of `KlaviyoClient` that apply uses (a Protocol keeps this module free of httpx)."""

    async def create_tag_group(self, name: str, exclusive: bool) -> str: ...
    async def update_tag_group(self, tag_group_id: str, name: str) -> None: ...
    async def delete_tag_group(self, tag_group_id: str) -> None: ...
    async def create_tag(self, group_id: str, name: str) -> str: ...
    async def update_tag(self, tag_id: str, name: str) -> None: ...
    async def delete_tag(self, tag_id: str) -> None: ...
    async def create_list(self, name: str, opt_in_process: str | None = None) -> str: ...
    async def update_list(self, list_id: str, attributes: Mapping[str, Any]) -> None: ...
    async def delete_list(self, list_id: str) -> None: ...
    async def create_template(self, attributes: Mapping[str, Any]) -> str: ...
    async def update_template(self, template_id: str, attributes: Mapping[str, Any]) -> None: ...
    async def delete_template(self, template_id: str) -> None: ...
    async def clone_template(self, source_id: str, name: str) -> str: ...
    async def tag_lists(self, tag_id: str, list_ids: Iterable[str]) -> None: ...
    async def untag_lists(self, tag_id: str, list_ids: Iterable[str]) -> None: ...
    async def find_ids_by_name(self, kind: Kind, name: str, group_id: str | None = None) -> list[str]: ...
    async def find_named(self, kind: Kind, name: str, group_id: str | None = None) -> list[dict[str, Any]]: ...


class PartialChangeError(KlaviyoSyncError):
    """A change of several requests failed part-way; `note` says which part already happened."""

    def __init__(self, error: BaseException, note: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.note = note


class DuplicateAfterCreateError(KlaviyoSyncError):
    pass


@dataclass
class StepContext:
    client: Client
    ids: IdBook
    # Pause between attempts of a create whose outcome was unknown and which turned out not to exist.
    retry_delay: float = 0.2
    # Creates some attempt of which failed without saying whether it committed: checked once the run is over
    # (`klaviyo_sync.apply.late`), since such a request can still commit after the look-up that followed it.
    unclear: list[UnclearCreate] = field(default_factory=list)


async def create_exactly_once(
    ctx: StepContext,
    kind: Kind,
    name: str,
    create: Callable[[], Awaitable[str]],
    group_id: str | None = None,
    existing: Collection[str] = (),
    desired: Resource | None = None,
) -> str:
    """Create an object the plan says does not exist yet, never twice.

    After a failure that may have been committed, read back by name: if the object is there, it is ours (the
    saved plan's staleness check, or the fresh plan, saw no object of that name, and the account lock keeps other
    applies out). If it is not there, what happens next depends on whether the look-up can be trusted:
    - after a 5xx, Klaviyo answered: the request is over, and an object not found was not created, so the create
      is sent again;
    - after no answer at all (a timeout, a dropped connection), the request may still be running on Klaviyo's side
      and commit later (a create held 36 s committed after a 30 s timeout). Not finding it proves nothing, and
      sending it again could make a second copy, so it is not repeated in this run: the change fails with an
      unknown outcome, the apply does not report success, and the next plan shows whether it landed.
    `existing`: ids that already held the name before this create (the old half of a create-first replace), so
    never taken for the new object. `desired`: what is created. A create that may still have a request in flight
    when it returns or fails (more than one unclear attempt, or none found) goes to `ctx.unclear`, to be looked up
    again once the run is over: such a request can commit after the look-up here.
    """
    last_error: ApiError | None = None
    unclear = None if desired is None else UnclearCreate(desired, group_id, tuple(existing), 0.0)
    for attempt in range(CREATE_ATTEMPTS):
        try:
            new_id = await create()
        except TransportError as exc:
            if exc.ambiguous:
                last_error = exc
            else:
                last_error = exc  # never reached Klaviyo: sending again cannot duplicate
                await _pause(ctx, attempt)
                continue
        except ServerError as exc:
            last_error = exc
        else:
            _still_unclear(ctx, unclear, new_id)  # an earlier attempt may commit yet
            return new_id
        if unclear is not None:
            unclear.attempts += 1
            unclear.failed_at = time.monotonic()
        found = [object_id for object_id in await ctx.client.find_ids_by_name(kind, name, group_id) if object_id not in existing]
        if len(found) == 1:
            if unclear is not None and unclear.attempts > 1:  # one request is accounted for, not every one
                _still_unclear(ctx, unclear, found[0])
            return found[0]
        _still_unclear(ctx, unclear, None)
        if len(found) > 1:
            raise DuplicateAfterCreateError(
                f"{kind.spec.label} {name!r} now exists {len(found)} times (ids {', '.join(found)}) after an interrupted create",
                hint="another process is creating objects in this account; delete the extras, then run plan again",
            )
        if isinstance(last_error, TransportError) and last_error.status is None:  # no answer: see above
            raise TransportError(
                f"{kind.spec.label} {name!r}: the create got no answer and may still commit later, so it is not sent again"
                f" ({last_error.message})",
                operation=last_error.operation,
                ambiguous=True,
                hint="run `klaviyo-sync plan` in a minute: it shows whether the object was created; apply again finishes",
            ) from last_error
        await _pause(ctx, attempt)
    assert last_error is not None
    raise last_error


def _still_unclear(ctx: StepContext, unclear: UnclearCreate | None, kept: str | None) -> None:
    """Record a create for the look-up after the run, with the id it ended with (None: it stopped unknown)."""
    if unclear is None or not unclear.attempts:
        return
    unclear.kept = kept
    if all(recorded is not unclear for recorded in ctx.unclear):
        ctx.unclear.append(unclear)


async def _pause(ctx: StepContext, attempt: int) -> None:
    if ctx.retry_delay > 0:
        await asyncio.sleep(min(ctx.retry_delay * 2**attempt, 5.0) * (0.5 + random.random() / 2))


async def delete_idempotently(delete: Callable[[], Awaitable[None]]) -> None:
    """Delete; an object already gone (a cascade, or a retried request that had succeeded) is what we wanted."""
    try:
        await delete()
    except NotFoundError:
        return


# --- per kind: create, update (incl. rename), delete -------------------------------------------------------------


async def create_object(ctx: StepContext, desired: Resource, existing: Collection[str] = ()) -> str:
    """Create `desired`; `existing`: ids of objects that hold its name already (see `create_exactly_once`)."""
    requests = desired.kind.spec.requests
    if requests is None or requests.create is None:
        raise ValueError(f"cannot create a {desired.kind.spec.label} on its own")
    scope = requests.lookup_scope(desired, ctx.ids)
    create = partial(requests.create, ctx.client, desired, ctx.ids)
    new_id = await create_exactly_once(ctx, desired.kind, desired.name, create, scope, existing, desired)
    ctx.ids.record(desired.kind, desired.key, new_id)
    return new_id


async def update_object(ctx: StepContext, change: Change) -> str:
    """An update or a rename: send only what changed (and the new name for a rename)."""
    assert change.live is not None and change.live.id and change.desired is not None
    object_id = change.live.id
    requests = change.kind.spec.requests
    if requests is not None and requests.run_update is not None:  # a procedure of several requests
        object_id = await requests.run_update(ctx.client, change, ctx.ids)
        ctx.ids.record(change.kind, change.key, object_id)
        return object_id
    attributes = {fc.field: fc.new for fc in change.fields if not fc.forces_replacement}
    if change.desired.name != change.live.name:
        attributes["name"] = change.desired.name
    if requests is None or requests.update is None:
        raise ValueError(f"cannot update a {change.kind.spec.label}")
    await requests.update(ctx.client, object_id, change, attributes)
    ctx.ids.record(change.kind, change.key, object_id)
    return object_id


async def delete_object(ctx: StepContext, live: Resource) -> None:
    assert live.id
    object_id = live.id
    requests = live.kind.spec.requests
    if requests is None or requests.delete is None:
        raise ValueError(f"cannot delete a {live.kind.spec.label} on its own")
    delete = requests.delete
    await delete_idempotently(lambda: delete(ctx.client, object_id))
    ctx.ids.forget(live.kind, live.key)


# --- per action ----------------------------------------------------------------------------------------------------


async def clone_template(ctx: StepContext, change: Change) -> str:
    """Clone the source under the new name, then apply the manifest's content, if it gives any."""
    desired = change.desired
    assert desired is not None and desired.clone_from
    source_id = ctx.ids.require(Kind.TEMPLATE, (desired.clone_from,))
    name = desired.name
    client = ctx.client
    new_id = await create_exactly_once(ctx, Kind.TEMPLATE, name, lambda: client.clone_template(source_id, name), desired=desired)
    ctx.ids.record(Kind.TEMPLATE, desired.key, new_id)
    content = {k: desired.attrs[k] for k in desired.kind.spec.content_fields if desired.attrs.get(k) is not None}
    if content:
        try:
            await client.update_template(new_id, content)
        except ApiError as exc:
            raise PartialChangeError(exc, f"the clone was created (id {new_id}) but its content was not updated") from exc
    return new_id


async def replace_object(ctx: StepContext, change: Change) -> str:
    """Delete then create, or create then delete when both can exist at once (the plan says which)."""
    assert change.live is not None and change.desired is not None
    live, desired = change.live, change.desired
    if change.replace_mode is ReplaceMode.CREATE_FIRST:
        # The old object still holds the name while the new one is created: a read-back must not take it for the new one.
        new_id = await create_object(ctx, desired, existing=(live.id,) if live.id else ())
        try:
            await delete_object(ctx, live)
        except ApiError as exc:
            note = f"the new object was created (id {new_id}); the old one (id {live.id}) remains"
            raise PartialChangeError(exc, note) from exc
        ctx.ids.record(desired.kind, desired.key, new_id)
        return new_id
    await delete_object(ctx, live)
    try:
        return await create_object(ctx, desired)
    except (ApiError, KlaviyoSyncError) as exc:
        raise PartialChangeError(exc, f"the old object (id {live.id}) was deleted; the new one was not created") from exc


async def run_change(ctx: StepContext, change: Change) -> str | None:
    """Execute one non-link change; returns the id of the object it leaves in place."""
    action = change.action
    if action is Action.CREATE:
        assert change.desired is not None
        return await create_object(ctx, change.desired)
    if action is Action.CLONE:
        return await clone_template(ctx, change)
    if action in (Action.UPDATE, Action.RENAME):
        return await update_object(ctx, change)
    if action is Action.REPLACE:
        return await replace_object(ctx, change)
    if action is Action.DELETE:
        assert change.live is not None
        await delete_object(ctx, change.live)
        return change.live.id
    raise ValueError(f"{action.value} is run in batches by run_link_batch")


async def run_link_batch(ctx: StepContext, changes: list[Change]) -> list[str]:
    """Link (or unlink) one tag to several lists in one request; returns "LISTID:TAGID" per change."""
    action = changes[0].action
    _, group, tag = changes[0].key
    tag_id = ctx.ids.require(Kind.TAG, (group, tag))
    list_ids = [ctx.ids.require(Kind.LIST, (change.key[0],)) for change in changes]
    client = ctx.client
    for attempt in range(LINK_ATTEMPTS):
        try:
            if action is Action.LINK:
                await client.tag_lists(tag_id, list_ids)
            else:
                await client.untag_lists(tag_id, list_ids)
            break
        except NotFoundError:
            if action is Action.UNLINK:
                break  # the tag is gone, and its links with it
            raise
        except (TransportError, ServerError):
            # Adding or removing an association is idempotent, so sending it again is safe.
            if attempt == LINK_ATTEMPTS - 1:
                raise
            await _pause(ctx, attempt)
    return [f"{list_id}:{tag_id}" for list_id in list_ids]

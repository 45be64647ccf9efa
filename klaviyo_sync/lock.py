"""One apply at a time per account: a lock built from what the API offers, since Klaviyo has none.

The lock is a marker: a universal content block named `LOCK_NAME`, whose HTML says who holds it (a block, not a
template: an account at Klaviyo's cap of 1,000 API templates has no room for one more, and would never be applied).
Every apply that wants the account creates its own marker and then lists them all; the oldest live marker (by
Klaviyo's `created`) holds the lock. `created` has a resolution of one second, so two markers can share the oldest
second: then nobody holds it, and each contender that sees the tie deletes its marker and queues again after a
random pause. Two contenders can never both go ahead: each lists after its own marker committed, so of two markers
of one second at least the later one's listing shows both. A loser deletes its marker and refuses (or, with a wait,
keeps its place and polls). It has written nothing else.

The holder renews its marker every `ttl / 4` (Klaviyo bumps `updated`); a marker not renewed for `ttl` is
expired and ignored, so a killed holder blocks the account for `ttl` at most. `klaviyo-sync unlock LOCK_ID`
breaks a lock at once. Time is always Klaviyo's: a marker's age is measured against the `updated` of the
contender's own freshly written marker, never against the local clock.

The marker is never part of the account as the tool sees it: the live reader skips it, manifests may not
declare its name, and export never writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import html
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from klaviyo_sync.errors import KlaviyoSyncError
from klaviyo_sync.kinds.universal_content import html_block

LOCK_NAME = "klaviyo-sync apply lock"
DEFAULT_TTL = timedelta(minutes=10)
SETTLE_S = 1.5  # the mean pause before queueing again after a tie: more than the resolution of `created`
POLL_S = 5.0
MAX_TIES = 8
TIE = object()  # two markers share the oldest second: nobody holds the lock yet
_MARK = "klaviyo-sync-lock:"


class LockClient(Protocol):
    async def create_universal_content(self, name: str, definition: dict[str, Any]) -> str: ...
    async def update_universal_content(self, block_id: str, attributes: dict[str, Any]) -> None: ...
    async def delete_universal_content(self, block_id: str) -> None: ...
    async def blocks_named(self, name: str) -> list[dict[str, Any]]: ...


class LockedError(KlaviyoSyncError):
    """Another apply holds the account."""


@dataclass(frozen=True)
class Marker:
    id: str
    created: datetime
    updated: datetime
    token: str
    holder: str
    started: str

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.created, self.id)

    def expired(self, now: datetime, ttl: timedelta) -> bool:
        return self.updated + ttl < now

    def describe(self) -> str:
        return f"{self.holder}, since {self.started} (lock id {self.id})"


def marker_html(token: str, holder: str, started: str, renewed: str) -> str:
    facts = json.dumps({"token": token, "holder": holder, "started": started, "renewed": renewed}, sort_keys=True)
    return (
        "<p>An apply by klaviyo-sync is changing this account. Do not edit or delete this block;"
        " it goes away when the apply ends.</p><!-- " + _MARK + html.escape(facts, quote=False) + " -->"
    )


def parse_marker(item: dict[str, Any]) -> Marker | None:
    """A marker from a block as listed; None when the block is not one (or is damaged)."""
    attributes = item.get("attributes") or {}
    definition = attributes.get("definition") if isinstance(attributes.get("definition"), dict) else {}
    data = definition.get("data") if isinstance(definition.get("data"), dict) else {}
    text = data.get("content") if isinstance(data.get("content"), str) else ""
    start = text.find(_MARK)
    end = text.find(" -->", start)
    try:
        facts = json.loads(html.unescape(text[start + len(_MARK) : end])) if start >= 0 and end > start else {}
        created = _parse_time(attributes["created"])
        updated = _parse_time(attributes.get("updated") or attributes["created"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(facts, dict):
        facts = {}
    return Marker(
        id=str(item.get("id")),
        created=created,
        updated=updated,
        token=str(facts.get("token", "")),
        holder=str(facts.get("holder", "someone unknown")),
        started=str(facts.get("started", "an unknown time")),
    )


def _parse_time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def holder_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    ci = " in CI" if os.environ.get("CI") else ""
    return f"{user}@{socket.gethostname()} (pid {os.getpid()}){ci}"


@dataclass
class AccountLock:
    """Take with `async with AccountLock(client).held(): ...`; the block runs only while this apply holds it."""

    client: LockClient
    ttl: timedelta = DEFAULT_TTL
    wait: float = 0.0  # seconds to wait for a busy lock; 0 refuses at once
    settle: float = SETTLE_S
    poll: float = POLL_S
    on_wait: Callable[[Marker], None] | None = None

    def __post_init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.holder = holder_name()
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.marker_id: str | None = None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self._acquire()
        renewing = asyncio.create_task(self._renew_forever())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self._release()

    async def _acquire(self) -> None:
        self.marker_id = await self._create_marker()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        ties = 0
        try:
            while True:
                holder = await self._holder()
                if holder is None:
                    return
                if holder is TIE:
                    # Nobody holds it: every contender that sees the tie steps back and queues again, after a
                    # random pause; one that saw no tie (its marker was listed alone) already holds the lock.
                    ties += 1
                    if ties > MAX_TIES:
                        raise LockedError(
                            "the apply lock could not be taken: other applies keep starting at the same moment",
                            hint="apply again in a minute",
                        )
                    await self._release()
                    await asyncio.sleep(self.settle * (0.5 + secrets.randbelow(1000) / 1000))
                    self.marker_id = await self._create_marker()
                    continue
                assert isinstance(holder, Marker)
                if loop.time() >= deadline:
                    raise LockedError(
                        f"another apply is changing this account: {holder.describe()}",
                        hint=f"wait for it to finish, retry with --lock-timeout SECONDS to wait, or, if it was killed,"
                        f" `klaviyo-sync unlock {holder.id}` (the lock also expires {int(self.ttl.total_seconds())} s"
                        " after its holder stops renewing it)",
                    )
                if self.on_wait is not None:
                    self.on_wait(holder)
                await asyncio.sleep(min(self.poll, max(0.0, deadline - loop.time())))
                await self._renew()
        except BaseException:
            await self._release()
            raise

    async def _holder(self, *, again: bool = True) -> Marker | object | None:
        """None when our marker holds the lock; TIE when ours shares the oldest second with another; else the
        marker that holds it."""
        markers = [m for m in (parse_marker(item) for item in await self.client.blocks_named(LOCK_NAME)) if m]
        mine = next((m for m in markers if m.id == self.marker_id), None)
        if mine is None:
            if not again:
                raise LockedError(
                    "the apply lock could not be taken: its marker vanished as soon as it was written",
                    hint="someone is breaking locks on this account (`klaviyo-sync unlock`); apply again when they stop",
                )
            self.marker_id = await self._create_marker()  # broken by `unlock` while we waited: queue again
            return await self._holder(again=False)
        now = mine.updated  # Klaviyo's time, as of our latest write
        live = [m for m in markers if not m.expired(now, self.ttl) or m.id == mine.id]
        oldest = min(m.created for m in live)
        first = [m for m in live if m.created == oldest]
        if len(first) > 1:
            return TIE if mine in first else min(first, key=lambda m: m.order)
        return None if first[0].id == mine.id else first[0]

    async def _create_marker(self) -> str:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        marker = marker_html(self.token, self.holder, self.started, now)
        return await self.client.create_universal_content(LOCK_NAME, html_block(marker))

    async def _renew(self) -> None:
        if self.marker_id is None:
            return
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        marker = marker_html(self.token, self.holder, self.started, now)
        await self.client.update_universal_content(self.marker_id, {"definition": html_block(marker)})

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl.total_seconds() / 4)
            with contextlib.suppress(KlaviyoSyncError):  # one missed renewal is no reason to stop an apply
                await self._renew()

    async def _release(self) -> None:
        marker_id, self.marker_id = self.marker_id, None
        if marker_id is not None:
            with contextlib.suppress(KlaviyoSyncError):  # an unreleased marker expires by itself
                await self.client.delete_universal_content(marker_id)


async def break_lock(client: LockClient, lock_id: str) -> Marker:
    """Delete the marker `lock_id`; raises LockedError naming the markers there are when it is not one of them."""
    markers = [m for m in (parse_marker(item) for item in await client.blocks_named(LOCK_NAME)) if m]
    marker = next((m for m in markers if m.id == lock_id), None)
    if marker is None:
        held = "; ".join(m.describe() for m in sorted(markers, key=lambda m: m.order)) or "none"
        raise LockedError(f"there is no apply lock with id {lock_id!r}", hint=f"the locks there are now: {held}")
    await client.delete_universal_content(marker.id)
    return marker

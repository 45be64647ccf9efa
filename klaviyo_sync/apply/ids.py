"""Klaviyo ids by natural key during an apply: those created by earlier steps, those read from the account, and
those the plan recorded for the live objects it keeps using (so a saved plan needs no second read to find them)."""

from __future__ import annotations

from collections.abc import Mapping

from klaviyo_sync.errors import KlaviyoSyncError
from klaviyo_sync.resources import Action, Change, Key, Kind, ResourceId, State, address


class UnknownIdError(KlaviyoSyncError):
    """A step needs the id of an object that neither exists in the account nor was created by this apply."""


class IdBook:
    def __init__(self, live: State | None, changes: list[Change], plan_ids: Mapping[str, str] | None = None) -> None:
        self._live = live or State()
        self._plan_ids = dict(plan_ids or {})  # address -> id, from `Plan.live_ids`
        self._ids: dict[ResourceId, str] = {}
        # A renamed group keeps its tags: a tag addressed under the new group name is found under the old one.
        self._group_old_names: dict[str, str] = {}
        for change in changes:
            if change.action is Action.RENAME and change.live is not None and change.live.id:
                self._ids[change.rid] = change.live.id
                if change.kind is Kind.TAG_GROUP:
                    self._group_old_names[change.key[0]] = change.live.key[0]

    def record(self, kind: Kind, key: Key, resource_id: str) -> None:
        self._ids[(kind, key)] = resource_id

    def forget(self, kind: Kind, key: Key) -> None:
        """The object under this key was deleted (e.g. the old half of a replace)."""
        self._ids.pop((kind, key), None)

    def find(self, kind: Kind, key: Key) -> str | None:
        if (kind, key) in self._ids:
            return self._ids[(kind, key)]
        live = self._live.get(kind, key)
        if live is not None and live.id:
            return live.id
        if address(kind, key) in self._plan_ids:
            return self._plan_ids[address(kind, key)]
        if kind is Kind.TAG and key[0] in self._group_old_names:
            live = self._live.get(kind, (self._group_old_names[key[0]], key[1]))
            if live is not None and live.id:
                return live.id
        return None

    def require(self, kind: Kind, key: Key) -> str:
        found = self.find(kind, key)
        if found is None:
            raise UnknownIdError(
                f"{address(kind, key)} has no Klaviyo id: it is not in the account and this apply did not create it",
                hint="the account changed during the apply; run `klaviyo-sync plan` again",
            )
        return found

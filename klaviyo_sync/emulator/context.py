"""What every operation handler works with: the checked request (`Context`) and its answer (`Result`).

A resource registers its handlers as a `Resource` (see `klaviyo_sync.emulator.resources`); the pipeline finds a
handler by the spec's operationId, which is the function's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from klaviyo_sync.emulator.documents import Links, Serializer
from klaviyo_sync.emulator.flowstore import FlowOptions
from klaviyo_sync.emulator.query import Query, matches
from klaviyo_sync.emulator.store import Account, Store

Result = tuple[int, dict[str, Any] | None]


Handler = Callable[["Context"], "Result"]


@dataclass
class Context:
    store: Store
    acct: Account
    query: Query
    path: str  # the request path without a trailing slash
    path_id: str | None
    body: Any
    links: Links
    quirks: bool
    daily_list_cap: bool = True  # False while the rate limiter applies create_list's daily window itself
    flow_options: FlowOptions = field(default_factory=FlowOptions)

    @property
    def serializer(self) -> Serializer:
        return Serializer(self.links, self.query, self.acct)

    def self_link(self) -> str:
        query = urlencode(self.query.raw)
        return self.links.url(self.path) + (f"?{query}" if query else "")

    def document(self, data: Any) -> dict[str, Any]:
        """A single-resource document; its `links.self` is the resource's own URL when it has one."""
        own = data.get("links", {}).get("self") if isinstance(data, dict) else None
        return {"data": data, "links": {"self": own or self.self_link()}}

    def collection(self, data: list[Any], next_cursor: str | None = None, prev_cursor: str | None = None) -> dict[str, Any]:
        links: dict[str, Any] = {"self": self.self_link()}
        for name, cursor in (("next", next_cursor), ("prev", prev_cursor)):
            if cursor is not None:
                pairs = [(k, v) for k, v in self.query.raw if k != "page[cursor]"] + [("page[cursor]", cursor)]
                links[name] = f"{self.links.url(self.path)}?{urlencode(pairs)}"
            elif self.quirks:
                links[name] = None  # real Klaviyo writes the key with null; the spec has it optional, not nullable
        return {"data": data, "links": links}


def filtered(records: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    return [r for r in records if all(matches(r.get(c.field), c) for c in query.filters)]


def with_included(document: dict[str, Any], included: list[dict[str, Any]] | None) -> dict[str, Any]:
    if included is not None:
        document["included"] = included
    return document


def path_id(ctx: Context) -> str:
    """The `{id}` of the request path."""
    assert ctx.path_id is not None, "routes with {id} always carry it"
    return ctx.path_id


@dataclass(frozen=True)
class Resource:
    """One emulated resource: its operations' handlers, named by operationId, and how test data seeds it.

    `seed(store, account, entries)` creates the entries of the resource's seed key (`name`) through the same rules
    as the API and returns their ids in order; None when the store's own seeding covers the resource.
    """

    name: str
    handlers: tuple[Handler, ...]
    seed: Callable[[Store, Account, list[dict[str, Any]]], list[str]] | None = field(default=None)

    def handler_table(self) -> Mapping[str, Handler]:
        return {handler.__name__: handler for handler in self.handlers}

"""What the tool and the emulator know of Klaviyo's API, taken from the official spec.

`REVISION` is the one place the API revision is pinned. The per-operation facts (method, path,
scopes, rate limits, query parameters, filters) come from `data/operations.json`, which
`scripts/gen_operations.py` extracts from the spec; a test keeps the two in step.

This module is plain data: both the engine and the emulator may import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

REVISION = "2026-07-15"
BASE_URL = "https://a.klaviyo.com"  # where Klaviyo serves the API (the spec's server)

# Reading an included type needs read scope on it too: `get_lists?include=tags` needs tags:read as well.
INCLUDE_SCOPES = {"tags": "tags:read", "tag-group": "tags:read", "flow-triggers": "flows:read"}


@dataclass(frozen=True)
class RateLimit:
    """One window of an operation's limit: `count` requests per `seconds`."""

    name: str  # "burst", "steady" or "daily"
    count: int
    seconds: int


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # templated, e.g. "/api/tags/{id}/relationships/lists"
    scopes: tuple[str, ...]
    rate_limits: tuple[RateLimit, ...]
    query: dict[str, dict[str, Any]]  # parameter name -> {type, enum?, minimum?, maximum?, default?}
    filters: dict[str, Any]  # the spec's x-klaviyo-filters
    success_status: int
    # A query value with stricter limits of its own, "additional-fields[list]=profile_count" -> its windows: a
    # request carrying it counts against the operation's bucket and that one ("one call can consume several").
    query_rate_limits: dict[str, tuple[RateLimit, ...]] = field(default_factory=dict)

    def rate_buckets(self, query: Mapping[str, str] | None) -> tuple[str, ...]:
        """The rate-limit buckets a request with this (encoded) query counts against, strictest first: one per query
        value with limits of its own (`get_list:additional-fields[list]=profile_count`), then the operation's."""
        extra = []
        for condition in self.query_rate_limits:
            name, _, value = condition.partition("=")
            if query and value in str(query.get(name, "")).split(","):
                extra.append(f"{self.operation_id}:{condition}")
        return (*extra, self.operation_id)

    @property
    def page_size(self) -> int | None:
        """The largest page size of a paginated collection (what every walk asks for), else None."""
        param = self.query.get("page[size]")
        return int(param["maximum"]) if param else None

    def page_size_params(self) -> dict[str, str]:
        """`page[size]` at its maximum where that is not the default already (universal content: 20 by default,
        100 at most), so a walk takes the fewest pages; nothing where the default is the maximum."""
        param = self.query.get("page[size]")
        if not param or param.get("default") == param["maximum"]:
            return {}
        return {"page[size]": str(param["maximum"])}


@cache
def operations() -> dict[str, Operation]:
    raw = json.loads(resources.files("klaviyo_sync").joinpath("data/operations.json").read_text("utf-8"))
    if raw["revision"] != REVISION:
        raise RuntimeError(f"operations.json is for revision {raw['revision']}, expected {REVISION}")
    return {
        op_id: Operation(
            operation_id=op_id,
            method=op["method"],
            path=op["path"],
            scopes=tuple(op["scopes"]),
            rate_limits=_limits(op["rate_limits"]),
            query=op["query"],
            filters=op["filters"],
            success_status=op["success_status"],
            query_rate_limits={condition: _limits(windows) for condition, windows in op.get("query_rate_limits", {}).items()},
        )
        for op_id, op in raw["operations"].items()
    }


def _limits(windows: Mapping[str, list[int]]) -> tuple[RateLimit, ...]:
    return tuple(RateLimit(name, count, seconds) for name, (count, seconds) in windows.items())


def operation(operation_id: str) -> Operation:
    return operations()[operation_id]


def bucket_limits(bucket: str) -> tuple[RateLimit, ...]:
    """The windows of a rate-limit bucket as `Operation.rate_buckets` names it: an operation, or one of its query
    values with limits of their own."""
    operation_id, _, condition = bucket.partition(":")
    op = operation(operation_id)
    return op.query_rate_limits[condition] if condition else op.rate_limits

"""What the tool and the emulator know of Klaviyo's API, taken from the official spec.

`REVISION` is the one place the API revision is pinned. The per-operation facts (method, path,
scopes, rate limits, query parameters, filters) come from `data/operations.json`, which
`scripts/gen_operations.py` extracts from the spec; a test keeps the two in step.

This module is plain data: both the engine and the emulator may import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
            rate_limits=tuple(RateLimit(name, count, seconds) for name, (count, seconds) in op["rate_limits"].items()),
            query=op["query"],
            filters=op["filters"],
            success_status=op["success_status"],
        )
        for op_id, op in raw["operations"].items()
    }


def operation(operation_id: str) -> Operation:
    return operations()[operation_id]

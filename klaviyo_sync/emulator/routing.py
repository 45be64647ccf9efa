"""Routes built from the spec's operations: a path template becomes a pattern, `{id}` one path segment."""

from __future__ import annotations

import re
from dataclasses import dataclass

from klaviyo_sync.api_spec import operations


@dataclass(frozen=True)
class Route:
    operation_id: str | None  # None when the path is known but the method is not
    path_id: str | None
    allowed: tuple[str, ...]  # the methods this path serves


def _compile() -> list[tuple[re.Pattern[str], dict[str, str]]]:
    table: dict[str, dict[str, str]] = {}
    for op in operations().values():
        table.setdefault(op.path, {})[op.method] = op.operation_id
    compiled = []
    for template, methods in table.items():
        pattern = re.escape(template).replace(re.escape("{id}"), r"(?P<id>[^/]+)")
        compiled.append((re.compile(f"^{pattern}$"), methods))
    return compiled


_ROUTES = _compile()


def match(method: str, path: str) -> Route | None:
    """The route for a request path (with or without one trailing slash), or None for an unknown path."""
    if path.endswith("/") and len(path) > 1:
        path = path[:-1]
    for pattern, methods in _ROUTES:
        found = pattern.match(path)
        if found is not None:
            path_id = found.groupdict().get("id")
            return Route(methods.get(method.upper()), path_id, tuple(sorted(methods)))
    return None

"""Klaviyo filter expressions, with string literals escaped so any name round-trips.

Grammar (Klaviyo's "Filtering" guide): `equals(name,'X')`, `any(name,["X","Y"])`; a quote of the literal's own kind
is escaped with a backslash, and so is the backslash itself.
"""

from __future__ import annotations

from collections.abc import Iterable


def quoted(value: str, quote: str = "'") -> str:
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


def equals(field: str, value: str) -> str:
    return f"equals({field},{quoted(value)})"


def any_of(field: str, values: Iterable[str]) -> str:
    items = ",".join(quoted(value, '"') for value in values)
    return f"any({field},[{items}])"

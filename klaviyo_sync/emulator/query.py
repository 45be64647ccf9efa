"""Query parameters as Klaviyo reads them, driven by each operation's facts in `klaviyo_sync.api_spec`.

- every parameter must be one the operation declares (else 400 with `source.parameter`), given once;
- array parameters (`fields[...]`, `include`, `additional-fields[...]`) are one comma-joined value, checked against the enum;
- `page[size]` within the spec's bounds; `sort` within its enum;
- `filter` parsed by a real grammar (quoted strings with escapes, arrays, unquoted datetimes, booleans, numbers,
  `and(...)` and comma-AND) and checked against the operation's `x-klaviyo-filters`;
- `page[cursor]` is an opaque keyset cursor (sort key + id), so paging stays exact while objects come and go. It
  also records the sort and a digest of the filter it was issued under: replayed with another query it is a 400,
  as Klaviyo's cursors are tied to their query, never a silent walk through a different collection.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from klaviyo_sync.api_spec import Operation
from klaviyo_sync.emulator.errors import invalid

# Klaviyo accepts a scalar equals on list names too, although the spec lists only the list-valued form.
EXTRA_FILTER_OPERATORS: dict[tuple[str, str], dict[str, list[str]]] = {("get_lists", "name"): {"single": ["equals"]}}


@dataclass(frozen=True)
class Condition:
    operator: str
    field: str
    value: Any  # a scalar, a list of scalars, or None for `has`


@dataclass
class Query:
    """The checked query of one request."""

    fields: dict[str, list[str]] = field(default_factory=dict)  # type -> attribute paths
    additional_fields: dict[str, list[str]] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    filters: list[Condition] = field(default_factory=list)
    sort: str | None = None
    page_size: int | None = None
    cursor: dict[str, Any] | None = None
    raw: list[tuple[str, str]] = field(default_factory=list)


def parse_query(operation: Operation, pairs: list[tuple[str, str]]) -> Query:
    query = Query(raw=pairs)
    seen: set[str] = set()
    for name, value in pairs:
        spec = operation.query.get(name)
        if spec is None:
            allowed = ", ".join(sorted(operation.query)) or "none"
            raise invalid(f"'{name}' is not a valid query parameter for this endpoint (allowed: {allowed}).", parameter=name)
        if name in seen:
            raise invalid(f"'{name}' may be given only once; join several values with commas.", parameter=name)
        seen.add(name)
        if spec["type"] == "array":
            values = _array_values(name, value, spec)
            if name == "include":
                query.include = values
            elif name.startswith("fields["):
                query.fields[name[len("fields[") : -1]] = values
            else:
                query.additional_fields[name[len("additional-fields[") : -1]] = values
        elif name == "page[size]":
            query.page_size = _page_size(value, spec)
        elif name == "sort":
            if value not in spec["enum"]:
                raise invalid(f"'{value}' is not a valid sort; use one of {', '.join(spec['enum'])}.", parameter="sort")
            query.sort = value
        elif name == "filter":
            query.filters = parse_filter(operation, value)
        elif name == "page[cursor]":
            query.cursor = decode_cursor(value)
    if query.page_size is None and "page[size]" in operation.query:
        query.page_size = int(operation.query["page[size]"]["default"])
    return query


def _array_values(name: str, value: str, spec: dict[str, Any]) -> list[str]:
    values = value.split(",")
    for item in values:
        if item not in spec.get("enum", [item]):
            if name == "include":
                raise invalid(f"'{item}' is not an allowed include parameter for this resource.", parameter=name)
            raise invalid(f"'{item}' is not a valid value for {name}; use {', '.join(spec['enum'])}.", parameter=name)
    return values


def _page_size(value: str, spec: dict[str, Any]) -> int:
    low, high = int(spec.get("minimum", 1)), int(spec["maximum"])
    try:
        size = int(value)
    except ValueError:
        raise invalid(f"page[size] must be an integer from {low} to {high}, not '{value}'.", parameter="page[size]") from None
    if not low <= size <= high:
        raise invalid(f"page[size] must be between {low} and {high}, got {size}.", parameter="page[size]")
    return size


# -- filter grammar ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<datetime>\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+\- ]\d{2}:?\d{2})?)?)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
    | (?P<punct>[(),\[\]])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise invalid(
                f"Invalid filter: unexpected character at position {position}: {text[position : position + 10]!r}.",
                parameter="filter",
            )
        kind = match.lastgroup or "punct"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def fail(self, message: str) -> Exception:
        return invalid(f"Invalid filter '{self.text}': {message}.", parameter="filter")

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            found = "the end" if token is None else repr(token.text)
            raise self.fail(f"expected {text or kind} but found {found}")
        self.index += 1
        return token

    def conditions(self) -> list[Condition]:
        result = self.call()
        while (token := self.peek()) is not None and token.text == ",":
            self.index += 1
            result += self.call()
        return result

    def call(self) -> list[Condition]:
        operator = self.take("word").text
        self.take("punct", "(")
        if operator == "and":
            inner = self.conditions()
            self.take("punct", ")")
            return inner
        if operator in ("or", "not"):
            raise self.fail(f"'{operator}' is not supported; only and() and comma-separated conditions are")
        field_name = self.take("word").text
        value: Any = None
        if operator != "has":
            self.take("punct", ",")
            value = self.value()
        self.take("punct", ")")
        return [Condition(operator, field_name, value)]

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.fail("a value is missing")
        if token.text == "[":
            self.index += 1
            items = [self.scalar()]
            while (nxt := self.peek()) is not None and nxt.text == ",":
                self.index += 1
                items.append(self.scalar())
            self.take("punct", "]")
            return items
        return self.scalar()

    def scalar(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.fail("a value is missing")
        self.index += 1
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "datetime":
            return _parse_datetime(token.text) or token.text
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "word" and token.text in ("true", "false"):
            return token.text == "true"
        if token.kind == "word" and token.text == "null":
            return None
        raise self.fail(f"unexpected {token.text!r}; quote strings")


@functools.lru_cache(maxsize=65536)  # every filtered page compares each record's stored `created` string
def _parse_datetime(text: str) -> datetime | None:
    text = text.upper()  # RFC 3339 allows a lower-case 't' and 'z'
    cleaned = text.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} \d", text) else text
    # A '+' in an offset arrives as a space when the client did not percent-encode it.
    cleaned = re.sub(r" (\d{2}:?\d{2})$", r"+\1", cleaned).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_filter(operation: Operation, text: str) -> list[Condition]:
    parser = _Parser(text)
    if not parser.tokens:
        raise invalid("Invalid filter: it is empty.", parameter="filter")
    conditions = parser.conditions()
    if parser.peek() is not None:
        raise parser.fail(f"unexpected {parser.peek().text!r} after the last condition")  # type: ignore[union-attr]
    return [_checked(operation, condition) for condition in conditions]


def _checked(operation: Operation, condition: Condition) -> Condition:
    allowed = operation.filters.get(condition.field)
    if allowed is None:
        fields = ", ".join(sorted(operation.filters)) or "none"
        raise invalid(f"'{condition.field}' is not a filterable field for this endpoint (allowed: {fields}).", parameter="filter")
    operators = {kind: list(ops) for kind, ops in allowed["operators"].items()}
    for kind, extra in EXTRA_FILTER_OPERATORS.get((operation.operation_id, condition.field), {}).items():
        operators.setdefault(kind, []).extend(extra)
    shape = "list" if isinstance(condition.value, list) else "single"
    if condition.operator not in operators.get(shape, []):
        forms = "; ".join(f"{kind}: {', '.join(ops)}" for kind, ops in operators.items())
        raise invalid(
            f"'{condition.operator}' with a {'list' if shape == 'list' else 'single'} value is not allowed on "
            f"'{condition.field}' (allowed operators, by value kind: {forms}).",
            parameter="filter",
        )
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    wanted = allowed["value"].get("format") or allowed["value"].get("type")
    for value in values:
        if wanted == "date-time":
            parsed = value if isinstance(value, datetime) else _parse_datetime(value) if isinstance(value, str) else None
            if parsed is None:
                raise invalid(f"'{condition.field}' takes an RFC 3339 datetime, e.g. 2024-01-01T00:00:00Z.", parameter="filter")
        elif wanted == "boolean" and not isinstance(value, bool):
            raise invalid(f"'{condition.field}' takes true or false.", parameter="filter")
        elif wanted == "string" and not isinstance(value, str):
            raise invalid(f"'{condition.field}' takes a quoted string.", parameter="filter")
    if wanted == "date-time":
        converted = [v if isinstance(v, datetime) else _parse_datetime(v) for v in values]
        return Condition(condition.operator, condition.field, converted if isinstance(condition.value, list) else converted[0])
    return condition


def matches(record_value: Any, condition: Condition) -> bool:
    """Case-sensitive comparison, list-valued equals/any as set membership."""
    value, op = condition.value, condition.operator
    if isinstance(record_value, str) and isinstance(value, datetime | list) and _is_datetime_condition(condition):
        record_value = _parse_datetime(record_value)
    if op == "has":
        return record_value is not None
    if isinstance(value, list):
        return record_value in value
    if record_value is None:
        return False
    tests: dict[str, Callable[[], bool]] = {
        "equals": lambda: record_value == value,
        "contains": lambda: isinstance(record_value, str) and value in record_value,
        "starts-with": lambda: isinstance(record_value, str) and record_value.startswith(value),
        "ends-with": lambda: isinstance(record_value, str) and record_value.endswith(value),
        "greater-than": lambda: record_value > value,
        "greater-or-equal": lambda: record_value >= value,
        "less-than": lambda: record_value < value,
        "less-or-equal": lambda: record_value <= value,
    }
    return tests[op]() if op in tests else False


def _is_datetime_condition(condition: Condition) -> bool:
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    return any(isinstance(v, datetime) for v in values)


# -- cursors -------------------------------------------------------------------------------------


def encode_cursor(sort: str, key: list[Any], direction: str, filter_digest: str | None = None) -> str:
    """`filter_digest` (from `filter_digest()`) is left out for an unfiltered query, keeping such cursors short."""
    fields: dict[str, Any] = {"s": sort, "k": key, "d": direction}
    if filter_digest is not None:
        fields["f"] = filter_digest
    payload = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def filter_digest(filters: list[Condition]) -> str | None:
    """A short digest of a parsed filter, None when there is none.

    Taken over the parsed conditions in a canonical order, so the same filter spelt with other spacing, quotes or
    condition order (all ANDed) gives the same digest; 48 bits tell filters apart without bloating the cursor.
    """
    if not filters:
        return None
    canonical = sorted(json.dumps([c.operator, c.field, c.value], default=_canonical_value) for c in filters)
    digest = hashlib.blake2b("\n".join(canonical).encode("utf-8"), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _canonical_value(value: Any) -> str:
    """Datetimes as one instant in UTC (the filter's own zone does not change what it selects)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    return repr(value)


def decode_cursor(text: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8"))
        if not (isinstance(data, dict) and isinstance(data.get("s"), str) and data.get("d") in ("next", "prev")):
            raise ValueError
        key = data.get("k")
        # A keyset mark: (sort value, id). Checked here so a forged cursor is a 400, never a failed comparison.
        if not (isinstance(key, list) and len(key) == 2 and isinstance(key[1], str)):
            raise ValueError
        if key[0] is not None and (isinstance(key[0], bool) or not isinstance(key[0], int | str)):
            raise ValueError
        if "f" in data and not isinstance(data["f"], str):
            raise ValueError
        return data
    except (ValueError, RecursionError, binascii.Error, UnicodeDecodeError):
        raise invalid(
            "page[cursor] is not a cursor this endpoint issued; follow links.next as given.", parameter="page[cursor]"
        ) from None


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None


def paginate(records: list[dict[str, Any]], query: Query) -> Page:
    """Keyset paging over `records` (already filtered) in the requested order.

    Each record's key is computed once and the cursor's position found by bisection: a page of a 1,000-object
    collection costs one sort, not one comparison chain per object per page."""
    sort = query.sort or "seq"
    descending = sort.startswith("-")
    field_name = sort.lstrip("-")

    def key(record: dict[str, Any]) -> list[Any]:
        return [record.get(field_name) if field_name != "seq" else record["seq"], record["id"]]

    keyed = sorted(((_order(key(record)), record) for record in records), key=lambda pair: pair[0], reverse=descending)
    orders = [order for order, _ in keyed]
    ordered = [record for _, record in keyed]
    size = query.page_size or len(ordered) or 1
    cursor = query.cursor
    if cursor is not None and cursor.get("s") != sort:
        raise invalid("page[cursor] belongs to a different sort order; follow links.next as given.", parameter="page[cursor]")
    if cursor is not None and cursor["k"][0] is not None and not isinstance(cursor["k"][0], int if sort == "seq" else str):
        raise invalid("page[cursor] is not a cursor this endpoint issued; follow links.next as given.", parameter="page[cursor]")
    digest = filter_digest(query.filters)
    if cursor is not None and cursor.get("f") != digest:
        raise invalid("page[cursor] belongs to a different filter; follow links.next as given.", parameter="page[cursor]")
    if cursor is None:
        return _page(ordered, 0, size, sort, key, digest)
    mark = _order(cursor["k"])
    if descending:  # bisect needs ascending order: search the negated position
        after_mark = len(orders) - bisect.bisect_left(orders[::-1], mark)  # first index strictly below the mark
        before_mark = len(orders) - bisect.bisect_right(orders[::-1], mark)  # first index at or below the mark
    else:
        after_mark = bisect.bisect_right(orders, mark)  # first index strictly above the mark
        before_mark = bisect.bisect_left(orders, mark)  # first index at or above the mark
    if cursor["d"] == "next":
        return _page(ordered, after_mark, after_mark + size, sort, key, digest)
    start = max(0, before_mark - size)
    return _page(ordered, start, before_mark, sort, key, digest)


def _page(
    ordered: list[dict[str, Any]],
    start: int,
    end: int,
    sort: str,
    key: Callable[[dict[str, Any]], list[Any]],
    digest: str | None,
) -> Page:
    end = min(end, len(ordered))
    items = ordered[start:end]
    next_cursor = encode_cursor(sort, key(items[-1]), "next", digest) if items and end < len(ordered) else None
    prev_cursor = encode_cursor(sort, key(items[0]), "prev", digest) if items and start > 0 else None
    return Page(items, next_cursor, prev_cursor)


def _order(key: list[Any]) -> tuple[tuple[int, Any], Any]:
    """A keyset mark as a comparable tuple: (sort value, nulls first; id)."""
    return (_sortable(key[0]), key[1])


def _sortable(value: Any) -> tuple[int, Any]:
    """Nulls first, then values of one type; keeps mixed `None`/str comparisons from failing."""
    return (0, "") if value is None else (1, value)

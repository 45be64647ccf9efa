"""Klaviyo's filters that Django lacks (klaviyo-api-more.md §9.3, kind "K"), as a Django template library.

Klaviyo documents what each filter does, not every corner: where it says what an error gives ("" or 0.0) that is
what these give; elsewhere a filter that cannot apply to its value renders as nothing rather than failing the email.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import math
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.template import Library
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe

register = Library()
_FAILURES = (TypeError, ValueError, ArithmeticError, KeyError, IndexError, AttributeError, InvalidOperation)


def guarded(func: Callable[..., Any], on_error: Any = "") -> Callable[..., Any]:
    """The filter, rendering `on_error` where its value or argument does not suit it. functools.wraps keeps the
    flags Django reads from the function (is_safe, needs_autoescape, …) and the signature it checks arguments by."""

    @functools.wraps(func)
    def filter_or_nothing(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _FAILURES:
            return on_error

    return filter_or_nothing


def _filter(name: str, *, on_error: Any = "", is_safe: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        register.filter(name, guarded(func, on_error), is_safe=is_safe)
        return func

    return wrap


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)


def _items(value: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError("not a list")
    return list(value.values() if isinstance(value, Mapping) else value)


def _prop(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def _pair(arg: Any) -> tuple[str, str]:
    old, _, new = str(arg).partition("|")
    return old, new


_filter("abs")(lambda value: abs(_number(value)))
_filter("append")(lambda value, arg: f"{value}{arg}")
_filter("prepend")(lambda value, arg: f"{arg}{value}")
_filter("at_least")(lambda value, arg: max(_number(value), _number(arg)))
_filter("at_most")(lambda value, arg: min(_number(value), _number(arg)))
_filter("base64_encode")(lambda value: base64.b64encode(str(value).encode()).decode())
_filter("base64_decode")(lambda value: base64.b64decode(str(value)).decode())
_filter("base64_url_safe_encode")(lambda value: base64.urlsafe_b64encode(str(value).encode()).decode())
_filter("base64_url_safe_decode")(lambda value: base64.urlsafe_b64decode(str(value)).decode())
_filter("capitalize")(lambda value: str(value)[:1].upper() + str(value)[1:])
_filter("ceil")(lambda value: math.ceil(_number(value)))
_filter("floor")(lambda value: math.floor(_number(value)))
_filter("compact")(lambda value: [item for item in _items(value) if item is not None])
_filter("count")(lambda value: len(value))
_filter("size")(lambda value: len(value))
_filter("downcase")(lambda value: str(value).lower())
_filter("upcase")(lambda value: str(value).upper())
_filter("divide", on_error=0.0)(lambda value, arg: _number(value) / _number(arg))
_filter("multiply", on_error=0.0)(lambda value, arg: _number(value) * _number(arg))
_filter("floatadd")(lambda value, arg: float(value) + float(arg))
_filter("floatsub")(lambda value, arg: float(value) - float(arg))
_filter("plus")(lambda value, arg: _number(value) + _number(arg))
_filter("minus")(lambda value, arg: _number(value) - _number(arg))
_filter("modulo")(lambda value, arg: _number(value) % _number(arg))
_filter("remainder")(lambda value, arg: _number(value) % _number(arg))
_filter("httpize")(lambda value: value if re.match(r"[a-z][a-z0-9+.-]*://", str(value), re.I) else f"http://{value}")
_filter("httpsize")(lambda value: value if re.match(r"[a-z][a-z0-9+.-]*://", str(value), re.I) else f"https://{value}")
_filter("lstrip")(lambda value: str(value).lstrip())
_filter("rstrip")(lambda value: str(value).rstrip())
_filter("strip")(lambda value: str(value).strip())
_filter("strip_html")(lambda value: strip_tags(str(value)))
_filter("strip_newlines")(lambda value: re.sub(r"\r?\n", "", str(value)))
_filter("md5_hash")(lambda value: hashlib.md5(str(value).encode()).hexdigest())
_filter("sha_1")(lambda value: hashlib.sha1(str(value).encode()).hexdigest())
_filter("sha_256")(lambda value: hashlib.sha256(str(value).encode()).hexdigest())
_filter("map")(lambda value, arg: [_prop(item, str(arg)) for item in _items(value)])
_filter("remove")(lambda value, arg: str(value).replace(str(arg), ""))
_filter("remove_first")(lambda value, arg: str(value).replace(str(arg), "", 1))
_filter("remove_last")(lambda value, arg: "".join(str(value).rsplit(str(arg), 1)))
_filter("replace")(lambda value, arg: str(value).replace(*_pair(arg)))
_filter("find_replace")(lambda value, arg: str(value).replace(*_pair(arg)))
_filter("replace_first")(lambda value, arg: str(value).replace(*_pair(arg), 1))
_filter("replace_last")(lambda value, arg: _pair(arg)[1].join(str(value).rsplit(_pair(arg)[0], 1)))
_filter("resplit")(lambda value, arg: re.split(str(arg), str(value)))
_filter("split")(lambda value, arg=" ": str(value).split(str(arg)))
_filter("reverse")(lambda value: str(value)[::-1] if isinstance(value, str) else list(reversed(_items(value))))
_filter("sum_list")(lambda value: sum(_number(item) for item in _items(value)))
_filter("trim_slash")(lambda value: str(value)[:-1] if str(value).endswith("/") else str(value))
_filter("urldecode")(lambda value: urllib.parse.unquote(str(value)))
_filter("urldecodeplus")(lambda value: urllib.parse.unquote_plus(str(value)))
_filter("urlencodeplus")(lambda value: urllib.parse.quote_plus(str(value)))
_filter("escape_once", is_safe=True)(lambda value: mark_safe(html.escape(html.unescape(str(value)))))
_filter("newline_to_br", is_safe=True)(
    lambda value: mark_safe("<br>".join(html.escape(line, quote=False) for line in str(value).split("\n")))
)
_filter("percentize")(lambda value, arg=0: f"{_number(value) * 100:.{int(arg)}f}%")
_filter("currency_format")(lambda value: format_currency(value))


def format_currency(value: Any, symbol: str = "$") -> str:
    """Money as the account shows it; the account's currency is not known offline, so dollars [ASSUMED]."""
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


@_filter("concat")
def _concat(value: Any, arg: Any) -> Any:
    if isinstance(value, list | tuple):
        return [*value, *(arg if isinstance(arg, list | tuple) else [arg])]
    return f"{value}{arg}"


@_filter("lookup")
def _lookup(value: Any, arg: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get(arg, value.get(str(arg), ""))
    if isinstance(value, list | tuple):
        return value[int(arg)]
    return getattr(value, str(arg), "")


@_filter("list_to_string")
def _list_to_string(value: Any) -> str:
    items = [str(item) for item in _items(value)]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + (f" and {items[-1]}" if items else "")


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "!=": lambda a, b: a != b,
    "==": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def _compare(item: Any, test: str) -> bool:
    for symbol, compare in _COMPARISONS.items():
        name, found, expected = test.partition(symbol)
        if found:
            actual = _prop(item, name.strip())
            expected = expected.strip().strip("'\"")
            try:
                return compare(_number(actual), _number(expected))
            except _FAILURES:
                return compare(str(actual), expected)
    return bool(_prop(item, test.strip()))


_filter("dictfilter")(lambda value, arg: [item for item in _items(value) if _compare(item, str(arg))])


@_filter("list_where")
def _list_where(value: Any, arg: Any) -> list[Any]:
    name, _, expected = str(arg).partition("=" if "=" in str(arg) else ":")
    return [item for item in _items(value) if str(_prop(item, name.strip())) == expected.strip()]


@_filter("sort")
def _sort(value: Any, arg: Any = None) -> list[Any]:
    return sorted(_items(value), key=(lambda item: _prop(item, str(arg))) if arg else None)


@_filter("sort_natural")
def _sort_natural(value: Any, arg: Any = None) -> list[Any]:
    return sorted(_items(value), key=lambda item: str(_prop(item, str(arg)) if arg else item).lower())


@_filter("uniq")
def _uniq(value: Any, arg: Any = None) -> list[Any]:
    seen: list[Any] = []
    result = []
    for item in _items(value):
        key = _prop(item, str(arg)) if arg else item
        if key not in seen:
            seen.append(key)
            result.append(item)
    return result


@_filter("round")
def _round(value: Any, arg: Any = 0) -> float | int:
    places = int(arg)
    rounded = Decimal(str(_number(value))).quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")
    return int(rounded) if places == 0 else float(rounded)


@_filter("round_up")
def _round_up(value: Any, arg: Any = 0) -> float | int:
    factor = 10 ** int(arg)
    result = math.ceil(_number(value) * factor) / factor
    return int(result) if int(arg) == 0 else result


@_filter("round_down")
def _round_down(value: Any, arg: Any = 0) -> float | int:
    factor = 10 ** int(arg)
    result = math.floor(_number(value) * factor) / factor
    return int(result) if int(arg) == 0 else result


@_filter("truncate")
def _truncate(value: Any, arg: Any = 50) -> str:
    text, length = str(value), int(arg)
    return text if len(text) <= length else text[: max(length - 3, 0)] + "..."


@_filter("datetime_from_string")
def _datetime_from_string(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@_filter("format_date_string")
def _format_date_string(value: Any) -> str:
    from django.utils.dateformat import format as date_format

    moment = value if isinstance(value, datetime) else _datetime_from_string(value)
    return date_format(moment, "N j, Y, P")


# A transparent 1x1 GIF where an image URL is missing: the layout keeps its shape, and nothing is fetched.
_BLANK_IMAGE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
_filter("missing_image")(lambda value: value if str(value or "").startswith(("http://", "https://")) else _BLANK_IMAGE)
_filter("missing_product_image")(lambda value: value or _BLANK_IMAGE)

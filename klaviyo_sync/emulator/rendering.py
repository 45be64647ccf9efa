"""Klaviyo's Django-like template variables, well enough for previews.

`{{ var }}`, `{{ a.b }}` (dot notation into objects, and numeric indexes into arrays), the `default` filter
(`{{ first_name|default:'there' }}`); a missing value renders as nothing; other filters pass the value through;
`{% ... %}` tags and anything unparseable render as the original text. Rendering never raises.
"""

from __future__ import annotations

import re
from typing import Any

_VARIABLE = re.compile(r"{{\s*(.*?)\s*}}", re.DOTALL)
_FILTER = re.compile(r"""\|\s*([A-Za-z_]+)\s*(?::\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^|]+))?""")
_MISSING = object()


def render(source: str | None, context: dict[str, Any]) -> str | None:
    if source is None:
        return None
    return _VARIABLE.sub(lambda match: _expression(match.group(1), context, match.group(0)), source)


def _expression(expression: str, context: dict[str, Any], original: str) -> str:
    path, _, filters = expression.partition("|")
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[\w]+)*", path.strip()):
        return original
    value = _lookup(path.strip(), context)
    for name, argument in _FILTER.findall("|" + filters if filters else ""):
        if name == "default" and (value is _MISSING or value in (None, "", False)):
            value = _literal(argument.strip())
    if value is _MISSING or value is None or value is False:
        return ""
    return str(value)


def _lookup(path: str, context: Any) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _literal(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text

"""`${NAME}` substitution in manifest string values: `--var` first, then the environment, then `vars:` defaults.

`$${NAME}` writes a literal `${NAME}`. A variable with no value is a problem naming it and where it is used,
never an empty string. The API key's variable is refused so it cannot end up in a template or a plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from klaviyo_sync.errors import Problem
from klaviyo_sync.manifest.yamlfile import YamlDocument, YamlPath

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FORBIDDEN = frozenset({"KLAVIYO_API_KEY"})


def resolve_values(cli: Mapping[str, str], environ: Mapping[str, str], defaults: Mapping[str, Any]) -> dict[str, str]:
    """All known values, highest precedence last applied."""
    values = {name: _as_text(value) for name, value in defaults.items()}
    values.update({name: value for name, value in environ.items() if _NAME.fullmatch(name)})
    values.update(cli)
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(doc: YamlDocument, values: Mapping[str, str], *, skip: tuple[str, ...] = ()) -> list[Problem]:
    """Replace variables in every string value of `doc` in place (top-level keys in `skip` are left alone)."""
    problems: list[Problem] = []

    def walk(value: Any, path: YamlPath) -> Any:
        if isinstance(value, str):
            return _expand(value, path) if "$" in value else value
        if isinstance(value, list):
            return [walk(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: item if path == () and key in skip else walk(item, (*path, key)) for key, item in value.items()}
        return value

    def _expand(text: str, path: YamlPath) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "$${":
                return "${"
            name = match.group(1)
            if name is None:
                problems.append(doc.problem(path, "`${` is not closed", "write `${NAME}`, or `$${` for a literal `${`"))
                return token
            if not _NAME.fullmatch(name):
                problems.append(
                    doc.problem(
                        path, f"`${{{name}}}` is not a valid variable name", "names are letters, digits and _, e.g. ${ENV}"
                    )
                )
                return token
            if name in FORBIDDEN:
                problems.append(
                    doc.problem(
                        path, f"`${{{name}}}` cannot be used in manifests", "the API key must never be written into the account"
                    )
                )
                return token
            if name not in values:
                problems.append(
                    doc.problem(
                        path,
                        f"variable `{name}` has no value",
                        f"pass --var {name}=VALUE, set the environment variable {name}, or add a default under `vars:`",
                    )
                )
                return token
            return values[name]

        return _REFERENCE.sub(replace, text)

    doc.data = walk(doc.data, ())
    return problems

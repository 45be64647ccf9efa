"""`${NAME}` substitution in manifest string values: `--var` first, then the environment, then `vars:` defaults.

`$${NAME}` writes a literal `${NAME}`. A variable with no value is a problem naming it and where it is used,
never an empty string. The API key's variable is refused so it cannot end up in a template or a plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from klaviyo_sync.errors import ConfigError, Problem
from klaviyo_sync.manifest.yamlfile import YamlDocument, YamlPath

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FORBIDDEN = frozenset({"KLAVIYO_API_KEY"})


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """`--var NAME=VALUE` options as a mapping (the last one of a name wins); a malformed one is a ConfigError."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--var {pair!r} is not NAME=VALUE", hint="e.g. --var ENV=production")
        if not VARIABLE_NAME.fullmatch(name):
            # The value is not repeated: it may be a secret meant for a template.
            raise ConfigError(f"--var {name!r} is not a variable name", hint="names are letters, digits and _, e.g. ENV")
        parsed[name] = value
    return parsed


def resolve_values(cli: Mapping[str, str], environ: Mapping[str, str], defaults: Mapping[str, Any]) -> dict[str, str]:
    """All known values, highest precedence last applied."""
    values = {name: _as_text(value) for name, value in defaults.items()}
    values.update({name: value for name, value in environ.items() if VARIABLE_NAME.fullmatch(name)})
    values.update(cli)
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def default_problems(doc: YamlDocument) -> list[Problem]:
    """`vars:` defaults are plain values: one that refers to a variable would be used with `${...}` left in it."""
    defaults = doc.data.get("vars") if isinstance(doc.data, dict) else None
    if not isinstance(defaults, dict):
        return []
    return [
        doc.problem(
            ("vars", name),
            f"the default of `{name}` uses `${{`; defaults cannot refer to variables",
            "write the value itself; --var and the environment can still override it",
        )
        for name, value in defaults.items()
        if isinstance(value, str) and "${" in value
    ]


def substitute(doc: YamlDocument, values: Mapping[str, str], *, skip: tuple[str, ...] = ()) -> list[Problem]:
    """Replace variables in every string value of `doc` in place (top-level keys in `skip` are left alone)."""
    problems: list[Problem] = []

    def walk(value: Any, path: YamlPath) -> Any:
        if isinstance(value, str):
            return _expand(value, path) if "$" in value else value
        if isinstance(value, list):
            return [walk(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, dict):
            result: dict[str, Any] = {}
            for key, item in value.items():
                if path == () and key in skip:
                    result[key] = item
                    continue
                # Keys name things too (a list's tags are keyed by tag group name), so they are substituted as well.
                new_key = _expand(key, (*path, key), key=True) if "$" in key else key
                if new_key != key:
                    if new_key in value or new_key in result:
                        problems.append(
                            doc.problem(
                                (*path, key),
                                f"key `{key}` becomes `{new_key}`, which is already a key of this mapping",
                                "merge the two entries",
                                key=True,
                            )
                        )
                        continue
                    _move_marks(doc, (*path, key), (*path, new_key))
                result[new_key] = walk(item, (*path, new_key))
            return result
        return value

    def _expand(text: str, path: YamlPath, *, key: bool = False) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "$${":
                return "${"
            name = match.group(1)
            if name is None:
                problems.append(doc.problem(path, "`${` is not closed", "write `${NAME}`, or `$${` for a literal `${`", key=key))
                return token
            if not VARIABLE_NAME.fullmatch(name):
                problems.append(
                    doc.problem(
                        path,
                        f"`${{{name}}}` is not a valid variable name",
                        "names are letters, digits and _, e.g. ${ENV}",
                        key=key,
                    )
                )
                return token
            if name in FORBIDDEN:
                problems.append(
                    doc.problem(
                        path,
                        f"`${{{name}}}` cannot be used in manifests",
                        "the API key must never be written into the account",
                        key=key,
                    )
                )
                return token
            if name not in values:
                problems.append(
                    doc.problem(
                        path,
                        f"variable `{name}` has no value",
                        f"pass --var {name}=VALUE, set the environment variable {name}, or add a default under `vars:`",
                        key=key,
                    )
                )
                return token
            return values[name]

        return _REFERENCE.sub(replace, text)

    doc.data = walk(doc.data, ())
    return problems


def _move_marks(doc: YamlDocument, old: YamlPath, new: YamlPath) -> None:
    """Keep locations findable under a key's substituted name."""
    for marks in (doc.marks, doc.key_marks):
        for path in [path for path in marks if path[: len(old)] == old]:
            marks[new + path[len(old) :]] = marks.pop(path)

"""Validation against `schemas/klaviyo.schema.json` (the single source of truth), with located, readable problems."""

from __future__ import annotations

import difflib
import functools
import json
import math
from importlib.resources import files
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from klaviyo_sync.errors import Problem
from klaviyo_sync.kinds import SECTIONS
from klaviyo_sync.manifest.yamlfile import YamlDocument, YamlPath, lone_surrogates, shown_text

# `version` may also appear in included files (so each file states its format); these may not.
ROOT_ONLY_KEYS = ("include", "vars", "account", "prune", "ignore", "safety", "lint", "preview")

_TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "integer": "a whole number",
    "number": "a number",
    "null": "empty",
}

_SURROGATE_HINT = "write the character itself, or a `\\U0001F600`-style escape for characters beyond U+FFFF"

_SECTION_NAMES = ", ".join(list(SECTIONS)[:-1]) + " and " + list(SECTIONS)[-1]
_KIND_WORDS = {section: kind.spec.label for section, kind in SECTIONS.items()}

# Hints by key, or by (section, key) where a kind says it differently.
_MISSING_HINTS: dict[str | tuple[str, str], str] = {
    ("flows", "html"): "add `template: NAME` (a template declared under templates:) or `html: <file>.html` with what it sends",
    ("flows", "emails"): "add `emails:` with the flow's emails this project manages, each by its name in the flow editor",
    ("universal_content", "html"): "add `html: <file>.html` for an html block, or `definition: <file>.json` for another type",
    "name": "add `name:`; it is the object's identity",
    "html": "add `html: <file>.html` (relative to this manifest), or `clone_from:` to copy another template",
    "definition": "drag-and-drop (SYSTEM_DRAGGABLE) templates need `definition: <file>.json` with the editor's definition",
}

_EMPTY_HINTS = {
    "html": "write the file's path, relative to this manifest",
    "text": "write the file's path, relative to this manifest",
    "definition": "write the file's path, relative to this manifest",
    "include": "write a glob pattern such as manifests/*.yaml",
    "templates": 'write a glob pattern such as "Draft *"',
    "lists": 'write a glob pattern such as "Test *"',
    "tag_groups": 'write a glob pattern such as "Legacy *"',
}

_NOT_ALLOWED_HINTS: dict[str | tuple[str, str], str] = {
    ("flows", "html"): "an email that follows a template sends the template's HTML and text; remove `html:` or `template:`",
    ("flows", "text"): "an email that follows a template sends the template's HTML and text; remove `text:` or `template:`",
    ("universal_content", "html"): "a block takes `html:` or `definition:`, not both; remove one",
    "html": "SYSTEM_DRAGGABLE templates take their content from `definition:`; remove `html:` or use editor_type CODE",
    "definition": "`definition:` is only for editor_type SYSTEM_DRAGGABLE; CODE and USER_DRAGGABLE templates use `html:`",
}


@functools.cache
def manifest_schema() -> dict[str, Any]:
    """The manifest JSON Schema, read from the installed package."""
    text = files("klaviyo_sync.schemas").joinpath("klaviyo.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _is_finite_number(checker: Any, instance: Any) -> bool:
    # YAML reads `.nan` and `.inf` as floats; no comparison with NaN is ever true, so a NaN threshold would pass
    # `minimum`/`maximum` and switch the check off. A manifest number is a finite one.
    return isinstance(instance, int | float) and not isinstance(instance, bool) and math.isfinite(instance)


_FiniteValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", _is_finite_number),
)


@functools.cache
def _validator() -> Draft202012Validator:
    validator: Draft202012Validator = _FiniteValidator(manifest_schema())
    return validator


@functools.cache
def _fast_validator() -> Any:
    return jsonschema_rs.validator_for(manifest_schema())


def _surely_valid(data: Any) -> bool:
    """Whether the compiled validator accepts `data`: its "valid" is trusted, since it is at least as strict as
    jsonschema (NaN and infinities are not numbers to it, `$` does not match before a final newline, and the name
    pattern spells out U+001C-U+001F, U+0085 and U+FEFF, whose class `\\s` the two regex engines, and editors'
    JavaScript, disagree on); anything else, and values JSON has no type for (a YAML date), go to jsonschema, which
    locates and explains each problem. A large manifest is checked in milliseconds instead of a few hundred."""
    try:
        return bool(_fast_validator().is_valid(data))
    except (ValueError, TypeError, OverflowError):
        return False


def schema_problems(doc: YamlDocument, *, is_root: bool) -> list[Problem]:
    """Every schema violation in one file. Included files may not use the root-only keys."""
    problems: list[Problem] = []
    data = doc.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return [doc.problem((), f"a manifest must be a mapping of keys, not {_describe_type(data)}", "start with `version: 1`")]
    bad_text = lone_surrogates(data)
    if bad_text:
        # Reported alone: every later step (printing a name, sending it) would fail on such text.
        return [
            doc.problem(path, f"`{shown_text(text)}` is not valid Unicode (a lone surrogate)", _SURROGATE_HINT)
            for path, text in bad_text
        ]
    if is_root and "version" not in data:
        problems.append(doc.problem((), f"{doc.file} is missing `version`", "add `version: 1` at the top"))
    if not is_root:
        for key in ROOT_ONLY_KEYS:
            if key in data:
                problems.append(
                    doc.problem(
                        (key,),
                        f"`{key}` is only allowed in klaviyo.yaml, not in an included file",
                        f"move `{key}:` to klaviyo.yaml; included files hold {_SECTION_NAMES}",
                        key=True,
                    )
                )
        data = {key: value for key, value in data.items() if key not in ROOT_ONLY_KEYS}
    if not _surely_valid(data):
        for error in _validator().iter_errors(data):
            problems.extend(_explain(doc, error))
    return problems


def _describe_type(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return "a number"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 42 else text[:40] + '…"'
    if isinstance(value, dict | list):
        return _describe_type(value)
    return json.dumps(value)


def _hint(table: dict[str | tuple[str, str], str], path: YamlPath, key: str) -> str | None:
    section = str(path[0]) if path else ""
    return table.get((section, key)) or table.get(key)


def _subject(doc: YamlDocument, path: YamlPath) -> str:
    """How people name the thing at `path`: `template "Welcome"`, `tags of list "Newsletter"`, `prune`."""
    if not path:
        return "the file"
    if len(path) >= 2 and path[0] == "flows" and isinstance(path[1], int):
        owner, rest = _named(doc, path[:2], "flow"), path[2:]
        if len(rest) >= 2 and rest[0] == "emails" and isinstance(rest[1], int):
            owner, rest = f"{_named(doc, path[:4], 'email')} of {owner}", rest[2:]
        field = next((part for part in reversed(rest) if isinstance(part, str)), None)
        if not rest or field is None:
            return owner
        return f"item {rest[-1] + 1} of `{field}` in {owner}" if isinstance(rest[-1], int) else f"`{field}` in {owner}"
    if len(path) >= 2 and path[0] in _KIND_WORDS and isinstance(path[1], int):
        label = _KIND_WORDS[str(path[0])]
        item = _at(doc.data, path[:2])
        name = item.get("name") if isinstance(item, dict) else None
        owner = f'{label} "{name}"' if isinstance(name, str) and name else f"{label} #{path[1] + 1}"
        rest = path[2:]
        if not rest:
            return owner
        field = next((part for part in reversed(rest) if isinstance(part, str)), None)
        if isinstance(rest[-1], int):
            return f"item {rest[-1] + 1} of `{field}` in {owner}" if field else owner
        return f"`{field}` in {owner}"
    last = path[-1]
    if isinstance(last, int):
        field = next((part for part in reversed(path) if isinstance(part, str)), "list")
        return f"item {last + 1} of `{field}`"
    return f"`{'.'.join(str(part) for part in path)}`"


def _named(doc: YamlDocument, path: YamlPath, label: str) -> str:
    """`flow "Welcome"`, or `flow #2` for an entry without a usable name."""
    item = _at(doc.data, path)
    name = item.get("name") if isinstance(item, dict) else None
    return f'{label} "{name}"' if isinstance(name, str) and name else f"{label} #{int(path[-1]) + 1}"


def _at(data: Any, path: YamlPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _expected(schema: Any) -> str:
    """A short description of what a schema accepts."""
    if not isinstance(schema, dict):
        return "something else"
    if "$ref" in schema:
        target = _at(manifest_schema(), tuple(schema["$ref"].removeprefix("#/").split("/")))
        return _expected(target)
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return " or ".join(dict.fromkeys(_expected(option) for option in alternatives))
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " or ".join(_TYPE_WORDS[kind] for kind in kinds)
    if kinds == "array" and isinstance(schema.get("items"), dict):
        return f"a list of {_expected(schema['items']).removeprefix('a ')}"
    if kinds:
        return _TYPE_WORDS[kinds]
    return "something else"


def _explain(doc: YamlDocument, error: ValidationError) -> list[Problem]:
    path: YamlPath = tuple(error.absolute_path)
    subject = _subject(doc, path)
    validator, value, instance = error.validator, error.validator_value, error.instance
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        problems = []
        for key in instance:
            if key in allowed or not allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else "allowed keys: " + ", ".join(allowed)
            where = f" in {subject}" if path else ""
            problems.append(doc.problem((*path, key), f"unknown key `{key}`{where}", hint, key=True))
        if not allowed:  # a free-form mapping with typed values, e.g. a list's tags by group
            return []
        return problems
    if validator == "required":
        missing = next((name for name in value if name not in instance), value[0])
        hint = _hint(_MISSING_HINTS, path, missing) or f"add `{missing}:`"
        return [doc.problem(path, f"{subject} is missing `{missing}`", hint)]
    if validator is None:  # a `false` schema: the key is forbidden in this context
        # jsonschema reports these at the parent object, so find the key by its value.
        parent = _at(doc.data, path)
        keys = [key for key, item in parent.items() if item == instance] if isinstance(parent, dict) else []
        key = next((k for k in keys if _hint(_NOT_ALLOWED_HINTS, path, k)), keys[0] if keys else "")
        hint = _hint(_NOT_ALLOWED_HINTS, path, key) or f"remove `{key}:`"
        return [doc.problem((*path, key), f"`{key}` is not allowed in {subject}", hint, key=True)]
    if validator == "type":
        expected = _expected({"type": value})
        if isinstance(instance, float) and not math.isfinite(instance):
            shown = ".nan" if math.isnan(instance) else ("-.inf" if instance < 0 else ".inf")
            return [doc.problem(path, f"{subject} must be a finite number, not {shown}", _type_hint(0, expected))]
        return [doc.problem(path, f"{subject} must be {expected}, not {_found(instance)}", _type_hint(instance, expected))]
    if validator in ("oneOf", "anyOf") and isinstance(instance, str) and not instance.strip():
        return [doc.problem(path, f"{subject} must not be empty or blank", _EMPTY_HINTS.get(_field(path), "write a name"))]
    if validator in ("oneOf", "anyOf"):
        # When the value has the right shape for one alternative, explain what is wrong inside that one.
        deeper = [sub for sub in error.context or [] if sub.validator not in ("type", "oneOf", "anyOf", "minLength", "pattern")]
        if deeper:
            return [problem for sub in deeper for problem in _explain(doc, sub)]
        expected = _expected(error.schema)
        return [doc.problem(path, f"{subject} must be {expected}, not {_found(instance)}", _type_hint(instance, expected))]
    if validator == "enum":
        options = [str(option) for option in value]
        written = instance.upper() if isinstance(instance, str) else ""
        close = difflib.get_close_matches(written, [o.upper() for o in options], n=1, cutoff=0.5) if written else []
        hint = f"did you mean `{options[[o.upper() for o in options].index(close[0])]}`?" if close else ""
        return [
            doc.problem(
                path,
                f"{subject} must be one of {', '.join(options)}, not {_found(instance)}",
                hint or ("give it one of them, or remove the key" if instance is None else "use one of the values listed"),
            )
        ]
    if validator == "const":
        return [
            doc.problem(
                path,
                f"{subject} must be {_show(value)}, not {_show(instance)}",
                "this version of klaviyo-sync reads manifest format version 1",
            )
        ]
    if validator == "pattern" and "propertyNames" in error.absolute_schema_path:
        # jsonschema reports a bad key at its mapping; point at the key itself.
        return [
            doc.problem(
                (*path, instance),
                f"{_show(instance)} in {subject} is not a valid variable name",
                "names are letters, digits and _ and do not start with a digit, e.g. ENV",
                key=True,
            )
        ]
    if validator == "pattern" and path == ("account",):  # the value is not shown: it may be a pasted private key
        return [
            doc.problem(
                path,
                "`account` must be the account's id: 6 letters and digits, as GET /api/accounts gives it (e.g. AbC123)",
                "it is the public API key (site ID) of Klaviyo's Settings > API keys, never the private key",
            )
        ]
    if validator in ("minLength", "pattern"):
        return [doc.problem(path, f"{subject} must not be empty or blank", _EMPTY_HINTS.get(_field(path), "write a name"))]
    if validator == "maxItems":
        return [
            doc.problem(
                path, f"{subject} has {len(instance)} items; at most {value} are allowed", "Klaviyo's limit; split or remove some"
            )
        ]
    if validator == "minItems":
        return [doc.problem(path, f"{subject} must have at least {value} item", "add an item or remove the key")]
    if validator == "uniqueItems":
        seen: set[str] = set()
        repeated = next(
            (item for item in instance if json.dumps(item, sort_keys=True) in seen or seen.add(json.dumps(item, sort_keys=True))),
            None,
        )
        return [doc.problem(path, f"{subject} lists {_show(repeated)} more than once", "remove the repetition")]
    if validator in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else f"at least {low}"
            if low is not None
            else f"at most {high}"
        )
        return [
            doc.problem(
                path,
                f"{subject} must be {bounds}, not {_show(instance)}",
                "fractions are written 0.3 for 30%" if high == 1 else f"write a number {bounds}",
            )
        ]
    return [doc.problem(path, f"{subject}: {error.message}", "see the description of this key in schemas/klaviyo.schema.json")]


def _type_hint(instance: Any, expected: str) -> str:
    """How to write the value so it has the expected type; YAML's own typing is the usual culprit."""
    if instance is None:
        return "give it a value, or remove the key"
    if expected == "true or false":
        return "write true or false"
    if isinstance(instance, str) and instance.strip() and expected.startswith("a list"):
        return f"write it as a list: [{instance}]"
    if expected.startswith("text") and isinstance(instance, int | float | bool):
        return f'put it in quotes ("{_show(instance)}") so YAML reads it as text'
    if "whole number" in expected:
        return "write a whole number, e.g. 10"
    if "a number" in expected:
        return "write a number, e.g. 0.3"
    if expected.startswith("a list"):
        return "write a list: [a, b], or one `- item` per line"
    if expected.startswith("a mapping"):
        return "write `key: value` lines indented below it"
    return f"write {expected}"


def _field(path: YamlPath) -> str:
    return next((str(part) for part in reversed(path) if isinstance(part, str)), "")


def _found(value: Any) -> str:
    """What was written instead: the value itself when it is short, else its kind."""
    if value is None or isinstance(value, dict | list):
        return _describe_type(value)
    return _show(value)

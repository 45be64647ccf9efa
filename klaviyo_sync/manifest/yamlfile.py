"""Safe YAML loading that remembers where every value came from.

PyYAML composes the file into nodes (which carry marks); we build plain Python values from them ourselves so
that every value and every mapping key keeps its file:line:column, duplicate keys become problems instead of
silently winning, unknown tags are refused, and alias expansion is bounded (a "billion laughs" file stops
after `MAX_VALUES` values, long before it could exhaust memory).

Plain scalars follow the YAML 1.2 core schema: only true/false are booleans, so `No`, `on` or `yes` stay text
(a tag named "No" is not silently turned into False).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from klaviyo_sync.errors import Problem

MAX_FILE_BYTES = 2 * 1024 * 1024  # a manifest is hand-written; anything larger is a mistake or an attack
MAX_VALUES = 200_000  # values built per file after alias expansion
MAX_DEPTH = 64

YamlPath = tuple[str | int, ...]

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
MERGE = "tag:yaml.org,2002:merge"


class CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader whose implicit typing is the YAML 1.2 core schema (plus `<<` merge keys)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


for _tag, _pattern, _first in (
    (BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    (MERGE, r"^<<$", "<"),
):
    CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
CoreSchemaLoader.add_implicit_resolver(NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), [*"~nN", ""])


if yaml.__with_libyaml__:

    class _LibyamlLoader(yaml.CSafeLoader):
        """libyaml's composer (ten times faster) with the same core-schema typing."""

        yaml_implicit_resolvers = CoreSchemaLoader.yaml_implicit_resolvers


# libyaml composes recursively in C, where a document nested deep enough would exhaust the stack instead of
# raising RecursionError; it is used only where a cheap count bounds the nesting far below that.
_LIBYAML_MAX_NESTING = 1000
# libyaml and PyYAML part ways at the edges (tabs, a byte-order mark inside the text, the non-specific tag `!`,
# a comment right after a block scalar's indicator, escapes of code points past Unicode, `?` inside a flow
# collection, where an empty value is placed): libyaml is used only for documents made of plain and quoted
# scalars in block and flow collections, which manifests are. The indicators of anything else (tags, anchors,
# aliases, block scalars, directives, reserved characters) where they could start a token, `?` and `\` anywhere,
# the characters above and line breaks other than `\n` leave the document to PyYAML.
_LIBYAML_DIFFERS = re.compile(r"[\t\r\x85\ufeff\u2028\u2029?\\]|(?:^|(?<=[\s\[\]{},:-]))[!&*|>%@`]|^(?:---|\.\.\.)", re.M)


def _compose(text: str) -> Node | None:
    """The document's node tree, exactly as PyYAML composes it (its errors included), by libyaml where it can.

    libyaml is used where it reads the text, nothing in the text is read differently by the two (above), the text
    cannot nest deeply, and no value is left empty (libyaml places an empty value elsewhere). Block nesting takes a
    new column at least every second level (a sequence may sit at its key's indentation, never two), flow nesting a
    bracket: twice the longest line (lines cut at newlines alone, which can only overestimate) plus the brackets
    bounds the depth."""
    if yaml.__with_libyaml__ and not _LIBYAML_DIFFERS.search(text):
        longest_line = max(map(len, text.split("\n")))
        if 2 * longest_line + text.count("[") + text.count("{") <= _LIBYAML_MAX_NESTING:
            node = _libyaml_node(text)
            if node is not _UNREAD and not _has_empty_value(node):
                return node
    loader = CoreSchemaLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


_UNREAD = ScalarNode("", "")


def _libyaml_node(text: str) -> Node | None:
    """libyaml's node tree, or `_UNREAD` when libyaml refuses the text (PyYAML then says why)."""
    try:
        loader = _LibyamlLoader(text)
    except Exception:  # text that is not valid Unicode
        return _UNREAD
    try:
        return loader.get_single_node()
    except Exception:
        return _UNREAD
    finally:
        loader.dispose()


def _has_empty_value(node: Node | None) -> bool:
    pending, seen = [node], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ScalarNode):
            if not current.value and not current.style:
                return True
        elif isinstance(current, SequenceNode):
            pending.extend(current.value)
        else:
            pending.extend(item for pair in current.value for item in pair)
    return False


@dataclass
class YamlDocument:
    """One parsed file: plain data plus the location of every value (`marks`) and mapping key (`key_marks`)."""

    file: str  # project-relative posix path
    data: Any
    marks: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Iterable[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value at `path` (or of its key), falling back to the nearest enclosing value."""
        current = tuple(path)
        if key and current in self.key_marks:
            return self.key_marks[current]
        while current:
            if current in self.marks:
                return self.marks[current]
            current = current[:-1]
        return self.marks.get((), (1, 1))

    def problem(self, path: Iterable[str | int], message: str, hint: str = "", *, key: bool = False) -> Problem:
        line, column = self.locate(path, key=key)
        return Problem(self.file, line, column, message, hint)


class _Refused(Exception):
    """The file cannot be read safely any further."""

    def __init__(self, node: Node, message: str, hint: str) -> None:
        super().__init__(message)
        self.node, self.message, self.hint = node, message, hint


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Builder:
    def __init__(self, file: str) -> None:
        self.doc = YamlDocument(file, None)
        self.problems: list[Problem] = []
        self.values = 0
        self.open_nodes: set[int] = set()

    def report(self, node: Node, message: str, hint: str = "") -> None:
        line, column = _mark(node)
        self.problems.append(Problem(self.doc.file, line, column, message, hint))

    def build(self, node: Node, path: YamlPath, depth: int) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Refused(
                node,
                f"the file expands to more than {MAX_VALUES:,} values (anchors and aliases multiply them)",
                "write the values out instead of nesting aliases; manifests are refused above this size",
            )
        if depth > MAX_DEPTH:
            raise _Refused(node, f"values are nested more than {MAX_DEPTH} levels deep", "flatten the structure")
        self.doc.marks[path] = _mark(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if id(node) in self.open_nodes:
            raise _Refused(node, "an alias refers to the mapping or list that contains it", "YAML aliases cannot be recursive")
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != SEQ:
                    self.report(node, f"unsupported YAML tag {_tag_name(node.tag)}", "remove the tag")
                return [self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            if node.tag != MAP:
                self.report(node, f"unsupported YAML tag {_tag_name(node.tag)}", "remove the tag")
            return self.mapping(node, path, depth)
        finally:
            self.open_nodes.discard(id(node))

    def mapping(self, node: MappingNode, path: YamlPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[tuple[ScalarNode, Node]] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == MERGE:
                merged.extend(self.merge_sources(value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.report(key_node, "a mapping key must be plain text, not a list or mapping", "write the key as text")
                continue
            key = key_node.value
            if key in result:
                first_line, _ = self.doc.key_marks[(*path, key)]
                self.report(
                    key_node,
                    f"duplicate key `{_short(key)}` (first set on line {first_line})",
                    "remove one of them; YAML would otherwise silently keep only the last",
                )
                continue
            self.doc.key_marks[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        # `<<: *defaults` fills in keys the mapping does not set itself (the first source wins).
        for key_node, value_node in merged:
            key = key_node.value
            if key not in result:
                self.doc.key_marks[(*path, key)] = _mark(key_node)
                result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def merge_sources(self, node: Node) -> list[tuple[ScalarNode, Node]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: list[tuple[ScalarNode, Node]] = []
        for source in sources:
            if not isinstance(source, MappingNode) or source.tag != MAP:
                self.report(source, "`<<` merges mappings only", "point `<<:` at an anchored mapping, e.g. `<<: *defaults`")
                continue
            for key_node, value_node in source.value:
                if isinstance(key_node, ScalarNode) and key_node.tag != MERGE:
                    pairs.append((key_node, value_node))
        return pairs

    def scalar(self, node: ScalarNode) -> Any:
        text, tag = node.value, node.tag
        if tag == STR:
            return text
        if tag == NULL:
            return None
        if tag == BOOL:
            return text.lower() == "true"
        if tag == INT:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        if tag == FLOAT:
            lowered = text.lower()
            if lowered.endswith(".inf"):
                return -math.inf if lowered.startswith("-") else math.inf
            if lowered == ".nan":
                return math.nan
            return float(text)
        self.report(
            node,
            f"unsupported YAML tag {_tag_name(tag)}",
            "remove the tag; manifests hold text, numbers, booleans, lists and mappings",
        )
        return text


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode_utf8(raw: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """Decode a file's bytes as UTF-8 (a leading byte-order mark is dropped); a bad byte is a located problem."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line, column = _line_column(raw[: exc.start].decode("utf-8", "replace"), exc.start)
        return None, [
            Problem(
                file,
                line,
                column,
                f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                "save the file as UTF-8",
            )
        ]


_LONG_ESCAPE = re.compile(r"\\U([0-9A-Fa-f]{8})")
_ESCAPE_HINT = "write a code point of at most \\U0010FFFF, or the character itself"


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document. Returns the document (None when it could not be read) and every problem found."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        hint = (
            "a manifest file holds one YAML document; remove the extra `---`"
            if "single document" in what
            else "check the indentation: the keys of one mapping must start in the same column"
            if "<block end>" in what
            else ""
        )
        return None, [Problem(file, line, column, f"YAML syntax error: {what}", hint or "fix the YAML syntax at this position")]
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", 0) or 0
        line, column = _line_column(text, position)
        reason = getattr(exc, "reason", "") or "invalid YAML"
        return None, [
            Problem(file, line, column, f"YAML syntax error: {reason}", "remove the control character at this position")
        ]
    except RecursionError:
        return None, [Problem(file, 1, 1, "YAML is nested too deeply to read", "flatten the structure")]
    except ValueError:  # PyYAML's scanner turns an escape beyond U+10FFFF into chr()'s ValueError
        escape = next((m for m in _LONG_ESCAPE.finditer(text) if int(m.group(1), 16) > 0x10FFFF), None)
        line, column = _line_column(text, escape.start()) if escape else (1, 1)
        shown = escape.group(0) if escape else "an escape"
        return None, [
            Problem(file, line, column, f"YAML syntax error: {shown} is beyond U+10FFFF, the last code point", _ESCAPE_HINT)
        ]
    builder = _Builder(file)
    if node is None:
        return builder.doc, []
    try:
        builder.doc.data = builder.build(node, (), 0)
    except _Refused as refused:
        builder.report(refused.node, refused.message, refused.hint)
        return None, builder.problems
    except RecursionError:
        return None, [Problem(file, 1, 1, "YAML is nested too deeply to read", "flatten the structure")]
    return builder.doc, builder.problems


def json_nesting_problem(text: str, file: str) -> Problem | None:
    """A JSON text nested more than MAX_DEPTH levels, located at the bracket that goes too deep.

    The same limit the YAML reader holds; checked by one linear scan before parsing, since Python's JSON parser
    recurses and would fail on deep input with a RecursionError instead of a position.
    """
    depth = 0
    in_string = escaped = False
    line, line_start = 1, 0
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                message = f"values are nested more than {MAX_DEPTH} levels deep"
                return Problem(file, line, index - line_start + 1, message, "flatten the structure")
        elif char in "]}":
            depth -= 1
        if char == "\n":
            line, line_start = line + 1, index + 1
    return None


def lone_surrogates(data: Any) -> list[tuple[YamlPath, str]]:
    """(path, text) of every key or string value that is not valid Unicode: a lone surrogate, written as a
    `\\ud800` escape or coming from a variable. Such text cannot be encoded as UTF-8, so it could be neither
    printed nor sent to Klaviyo. The path of a bad key ends with that key."""
    found: list[tuple[YamlPath, str]] = []
    pending: list[tuple[YamlPath, Any]] = [((), data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if not _encodable(value):
                found.append((path, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not _encodable(key):
                    found.append(((*path, key), key))
                pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend(((*path, index), item) for index, item in enumerate(value))
    return sorted(found, key=lambda entry: [str(part) for part in entry[0]])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_text(text: str) -> str:
    """Text safe to print: each lone surrogate as its `\\uXXXX` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

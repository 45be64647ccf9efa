"""Files that templates reference: reading them safely, and checking their template language, HTML and definitions.

The template language and the HTML rules are klaviyo_sync.language's lint; the element-structure check is
klaviyo_sync.manifest.structure's. Where Klaviyo tags choose between branches (`{% if %}...{% else %}...{% endif %}`)
only the first branch is checked, so markup that opens a tag differently in each branch is not reported.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klaviyo_sync.errors import Problem
from klaviyo_sync.language import LintOptions
from klaviyo_sync.language import check as check_template
from klaviyo_sync.manifest.paths import RefusedPath, relative, resolve_inside
from klaviyo_sync.manifest.structure import structure_problems
from klaviyo_sync.manifest.yamlfile import (
    YamlDocument,
    YamlPath,
    decode_utf8,
    json_nesting_problem,
    lone_surrogates,
    parse_yaml,
    shown_text,
)

MAX_TEMPLATE_FILE_BYTES = 5 * 1024 * 1024  # Klaviyo's request payload limit
MAX_PROBLEMS_PER_FILE = 10


@dataclass(frozen=True)
class ReferencedFile:
    path: Path
    rel: str  # project-relative posix path
    sha256: str  # of the bytes on disk: the bytes themselves are not kept (1,000 templates of 100 KB are 100 MB)
    text: str = field(repr=False)


def read_referenced(
    root: Path, doc: YamlDocument, field_path: YamlPath, reference: str, what: str
) -> tuple[ReferencedFile | None, list[Problem]]:
    """Read a file named in a manifest; problems about the reference point at the manifest, about content at the file."""
    base_dir = (root / doc.file).parent
    try:
        path = resolve_inside(root, base_dir, reference)
    except RefusedPath as exc:
        return None, [doc.problem(field_path, f"{what} {exc.message}", exc.hint)]
    rel = relative(root, path)
    shown = reference if reference == rel else f"{reference}` (project path `{rel}"
    try:
        status = path.stat()  # one call tells whether it exists, is a file, and its size
        if not stat.S_ISREG(status.st_mode):
            return None, [doc.problem(field_path, f"{what} `{reference}` is not a file", "name a file, not a directory")]
        if status.st_size > MAX_TEMPLATE_FILE_BYTES:
            return None, [
                doc.problem(
                    field_path,
                    f"{what} `{reference}` is {status.st_size:,} bytes; the limit is {MAX_TEMPLATE_FILE_BYTES:,}",
                    "Klaviyo refuses requests over 5 MB; host large images instead of inlining them",
                )
            ]
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None, [doc.problem(field_path, f"{what} `{shown}` does not exist", _missing_hint(path))]
    except OSError as exc:
        return None, [
            doc.problem(field_path, f"{what} `{reference}` cannot be read: {exc.strerror}", "check the file's permissions")
        ]
    text, problems = decode_utf8(raw, rel)
    if text is None:
        return None, problems
    return ReferencedFile(path, rel, hashlib.sha256(raw).hexdigest(), text), []


def _missing_hint(path: Path) -> str:
    siblings = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
    close = difflib.get_close_matches(path.name, siblings, n=1)
    if close:
        return f"did you mean `{close[0]}`? Paths are relative to the manifest that names them"
    return "check the path; it is relative to the manifest that names it"


@dataclass(frozen=True)
class TemplateCheck:
    """A template file's lint: errors fail validation, warnings are shown; `first_branch` feeds the HTML
    structure check (template tags blanked, later conditional branches blanked, positions kept)."""

    errors: list[Problem]
    warnings: list[Problem]
    first_branch: str = field(default="", repr=False)


def lint_file(file: ReferencedFile, options: LintOptions) -> TemplateCheck:
    """Klaviyo's template language and the HTML rules (klaviyo_sync.language), at file:line:column."""
    if options.html and not file.text.strip():
        return TemplateCheck(
            [Problem(file.rel, 1, 1, "the HTML file is empty", "write the template's HTML, or remove the template")], []
        )
    checked = check_template(file.text, options)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for finding in checked.findings:
        problem = Problem(file.rel, finding.line, finding.column, finding.message, finding.hint, rule=finding.rule)
        (errors if finding.severity == "error" else warnings).append(problem)
    return TemplateCheck(_capped(errors), _capped(warnings), checked.first_branch)


def check_structure(file: ReferencedFile, first_branch: str) -> list[Problem]:
    """Element structure of the HTML's first branch: end tags without a start, elements never closed."""
    return _capped(structure_problems(file.rel, first_branch))


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS_PER_FILE:
        return problems
    last = problems[MAX_PROBLEMS_PER_FILE - 1]
    more = len(problems) - MAX_PROBLEMS_PER_FILE
    note = Problem(
        last.file, last.line, last.column, f"… and {more:,} more like these in this file", "fix these first", rule=last.rule
    )
    return [*problems[: MAX_PROBLEMS_PER_FILE - 1], note]


def load_definition(
    file: ReferencedFile, check: Callable[[Any], list[tuple[str, str]]]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A definition from a .json or .yaml file, checked by its kind (`KindSpec.check_definition`)."""
    suffix = file.path.suffix.lower()
    if suffix == ".json":
        too_deep = json_nesting_problem(file.text, file.rel)
        if too_deep is not None:
            return None, [too_deep]
        try:
            data = json.loads(file.text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            return None, [Problem(file.rel, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}", "fix the JSON syntax")]
        except _DuplicateKey as exc:
            # JSON is YAML: the YAML reader locates the repeated key exactly (and says where it was first set).
            hint = "remove one of them; JSON readers would silently keep only the last"
            _, problems = parse_yaml(file.text, file.rel)
            located = [p for p in problems if p.message.startswith(f"duplicate key `{exc.key}`")]
            where = located[0] if located else Problem(file.rel, 1, 1, f"duplicate key `{exc.key}`")
            return None, [Problem(where.file, where.line, where.column, where.message, hint)]
    elif suffix in (".yaml", ".yml"):
        doc, problems = parse_yaml(file.text, file.rel)
        if doc is None or problems:
            return None, problems
        data = doc.data
    else:
        return None, [Problem(file.rel, 1, 1, "a definition file must end in .json, .yaml or .yml", "rename the file")]
    problems = [Problem(file.rel, 1, 1, message, hint) for message, hint in check(data)]
    if problems:
        return None, problems
    bad_text = lone_surrogates(data)
    if bad_text:
        path, text = bad_text[0]
        message = f"`{shown_text(text)}` is not valid Unicode (a lone surrogate)"
        doc, _ = parse_yaml(file.text, file.rel)
        hint = "write the character itself, not half of a \\uD83D\\uDE00-style escape pair"
        return None, [doc.problem(path, message, hint) if doc is not None else Problem(file.rel, 1, 1, message, hint)]
    # A drag-and-drop template definition (the one kind with `body` and `styles`) has a shape Klaviyo enforces.
    shape = _definition_shape_problem(data) if "body" in data and "styles" in data else None
    if shape is not None:
        # JSON is YAML: the YAML reader locates the member (only read again on this error path).
        doc, _ = parse_yaml(file.text, file.rel)
        path, message = shape
        hint = "export the definition from Klaviyo again; Klaviyo refuses any other shape"
        return None, [doc.problem(path, message, hint) if doc is not None else Problem(file.rel, 1, 1, message, hint)]
    return data, []


def _definition_shape_problem(data: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
    """The first member of a definition whose type is not the one Klaviyo's `TemplateDefinition` requires."""
    if not isinstance(data["body"], dict):
        return ("body",), "the definition's `body` must be a mapping"
    sections = data["body"].get("sections")
    if sections is not None and not isinstance(sections, list):
        return ("body", "sections"), "the definition's `body.sections` must be a list"
    return None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result

"""Preview profiles: JSON files of template variables that `preview` renders templates with.

Declared for the whole project (`preview: {profiles: [glob, ...]}` in klaviyo.yaml) or per template (`profiles:`);
checked by `validate` like any referenced file: present, inside the project, UTF-8, a JSON object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klaviyo_sync.errors import Problem
from klaviyo_sync.manifest.paths import relative
from klaviyo_sync.manifest.templates import ReferencedFile, read_referenced
from klaviyo_sync.manifest.yamlfile import YamlDocument, YamlPath


@dataclass(frozen=True)
class Profile:
    name: str  # the file's stem
    file: str  # project-relative
    context: dict[str, Any] = field(repr=False)


def load_profiles(
    root: Path, doc: YamlDocument, field_path: YamlPath, references: tuple[str, ...]
) -> tuple[list[Profile], list[Problem]]:
    profiles: list[Profile] = []
    problems: list[Problem] = []
    for index, reference in enumerate(references):
        file, found = read_referenced(root, doc, (*field_path, index), reference, "profile")
        problems += found
        if file is not None:
            profile, found = parse_profile(file)
            problems += found
            if profile is not None:
                profiles.append(profile)
    return profiles, problems


def project_profiles(root: Path, doc: YamlDocument, patterns: list[Any]) -> tuple[list[Profile], list[Problem]]:
    """The root file's `preview.profiles` globs, each expanded in sorted order; a pattern matching nothing is an error."""
    references: list[str] = []
    problems: list[Problem] = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            continue
        matches = sorted(path for path in root.glob(pattern) if path.is_file())
        if not matches:
            problems.append(
                doc.problem(
                    ("preview", "profiles", index),
                    f"`{pattern}` matches no file",
                    "check the pattern; it is relative to klaviyo.yaml",
                )
            )
        references += [relative(root, path) for path in matches]
    profiles, found = load_profiles(root, doc, ("preview", "profiles"), tuple(references))
    return profiles, problems + found


def parse_profile(file: ReferencedFile) -> tuple[Profile | None, list[Problem]]:
    try:
        data = json.loads(file.text)
    except json.JSONDecodeError as exc:
        return None, [Problem(file.rel, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}", "fix the JSON syntax")]
    if not isinstance(data, dict):
        return None, [
            Problem(file.rel, 1, 1, "a profile must be a JSON object of template variables", 'e.g. {"first_name": "Ada"}')
        ]
    return Profile(file.path.stem, file.rel, data), []

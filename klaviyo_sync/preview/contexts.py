"""The sample contexts a template is previewed with: `--context FILE.json`, else the template's own profiles,
else the project's, else one sensible default. A context is what Klaviyo's template-render takes: an object of
template variables. Variables a context lacks render as Klaviyo renders them: as nothing, with `default` applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klaviyo_sync.errors import ConfigError

# Profile data for the variables emails use most (klaviyo-api-more.md §9.1); example.com is reserved for examples.
DEFAULT_CONTEXT: dict[str, Any] = {
    "first_name": "Alex",
    "last_name": "Sample",
    "email": "alex.sample@example.com",
    "person": {"first_name": "Alex", "last_name": "Sample", "email": "alex.sample@example.com", "city": "Springfield"},
    "organization": {"name": "Your organization", "full_address": "1 Example Street, Springfield"},
}


@dataclass(frozen=True)
class Sample:
    name: str
    source: str  # where it came from: a project-relative file, the --context file, or "default"
    context: dict[str, Any] = field(repr=False)


DEFAULT = Sample("default", "default", DEFAULT_CONTEXT)


def context_file(path: Path) -> Sample:
    """`--context FILE.json`: a JSON object of template variables; a clear error (with line and column) otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8"
        raise ConfigError(f"cannot read --context {path}: {reason}", hint="pass a JSON file of template variables") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}", hint="fix the JSON syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: --context must be a JSON object of template variables", hint='e.g. {"first_name": "Ada"}')
    return Sample(path.stem, str(path), data)


def samples_for(project: Any, template: str, override: Sample | None) -> list[Sample]:
    if override is not None:
        return [override]
    own = project.template_profiles.get(template) or project.profiles
    return [Sample(profile.name, profile.file, profile.context) for profile in own] or [DEFAULT]

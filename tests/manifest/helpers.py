"""Writing small projects for manifest tests."""

from __future__ import annotations

from pathlib import Path


def write_project(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (project-relative path -> content) under root and return root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


HTML = "<!DOCTYPE html>\n<html><body><p>Hello {{ first_name|default:'there' }}</p><p>{% unsubscribe %}</p></body></html>\n"

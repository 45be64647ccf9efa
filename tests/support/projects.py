"""Projects on disk for tests: a klaviyo.yaml and the files it names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_project(root: Path, manifest: str, files: Mapping[str, str]) -> Path:
    """Write `manifest` as root/klaviyo.yaml and each of `files` (project-relative path -> text); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "klaviyo.yaml").write_text(manifest, encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root

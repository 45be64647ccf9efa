"""The source tree as a clone holds it, for tests that build or install klaviyo-sync from source."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".git", "node_modules", "build", "dist", ".klaviyo-sync", ".pytest_cache", ".ruff_cache", ".hypothesis"}


def copy_source(destination: Path) -> None:
    """Copy the tree without what a clone lacks, so a build never writes into the working tree (build/, *.egg-info)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_DIRS or n.endswith(".egg-info") or n == "__pycache__"}

    shutil.copytree(REPO, destination, ignore=ignore)

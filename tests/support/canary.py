"""The canary API key: used by the whole suite, and it must never show up anywhere we can look."""

from __future__ import annotations

from pathlib import Path

# Distinctive, never a real key, and shaped so secret scanners do not mistake it for one.
CANARY_KEY = "pk_canary_never_print_me_4f9c"


def find_canary(text: str | bytes | None) -> bool:
    if not text:
        return False
    if isinstance(text, bytes):
        return CANARY_KEY.encode() in text
    return CANARY_KEY in text


def files_with_canary(root: Path) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if find_canary(path.read_bytes()):
                    hits.append(path)
            except OSError:
                continue
    return hits

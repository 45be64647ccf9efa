"""The emulator's state file: JSON, written atomically (temp file + rename) so a crash never leaves half a file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


class EmulatorStateError(ValueError):
    """The state file exists but cannot be used."""


def load_state(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EmulatorStateError(f"cannot read the emulator state file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EmulatorStateError(
            f"the emulator state file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}); "
            "delete it to start from an empty account"
        ) from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise EmulatorStateError(f"the emulator state file {path} is not a version 1 emulator state; delete it to start afresh")
    return data


def save_state(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"), ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise

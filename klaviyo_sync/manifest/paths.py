"""Resolving paths written in manifests, and keeping them inside the project directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

# Bytes in one path part on the file systems a project is checked out to (ext4, APFS, NTFS all allow 255).
NAME_MAX = 255


class RefusedPath(Exception):
    """A path written in a manifest that is never opened; `message` and `hint` become the problem."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class OutsideProject(RefusedPath):
    """A path that is absolute, climbs out with `..`, or resolves (through a symlink) outside the project."""


def check_usable(reference: str) -> None:
    """Refuse a path no file system can hold, before the operating system is asked about it."""
    if "\0" in reference:
        shown = reference.replace("\0", "\\0")
        raise RefusedPath(f"`{shown}` contains a NUL character", "remove it; no file name can hold one")
    for part in reference.replace("\\", "/").split("/"):
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > NAME_MAX:
            raise RefusedPath(
                f"`{part[:40]}…` has a part of {size} bytes; file systems allow at most {NAME_MAX}",
                "shorten that file or folder name",
            )


def relative(root: Path, path: Path) -> str:
    """The project-relative posix form of a path inside the project (as used in problems and origins)."""
    return path.relative_to(root).as_posix()


def resolve_inside(root: Path, base_dir: Path, reference: str) -> Path:
    """Resolve `reference` (relative to `base_dir`) and prove it stays inside the resolved `root`.

    `root` must already be resolved. `..` is fine while the path stays inside the project. The returned path is
    the lexical one (normalised base_dir / reference), so names in problems read as the user wrote them; the
    containment check also follows symlinks.
    """
    check_usable(reference)
    written = PurePosixPath(reference.replace("\\", "/"))
    if written.is_absolute() or (len(reference) > 1 and reference[1] == ":"):
        raise OutsideProject(
            f"`{reference}` is an absolute path",
            "write paths relative to the manifest that names them, inside the project",
        )
    lexical = Path(os.path.normpath(base_dir / Path(*written.parts))) if written.parts else base_dir
    if not lexical.is_relative_to(root):
        raise OutsideProject(
            f"`{reference}` climbs out of the project with `..`",
            "keep referenced files inside the project directory",
        )
    try:
        real = lexical.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise RefusedPath(f"`{reference}` cannot be resolved ({exc})", "fix or remove the symlink") from None
    if not real.is_relative_to(root):
        raise OutsideProject(
            f"`{reference}` points outside the project (through a symlink)",
            "copy the file into the project instead of linking to it",
        )
    return lexical

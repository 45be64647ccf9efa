"""`include:` globs of the root file, resolved relative to the project root and kept inside it."""

from __future__ import annotations

import fnmatch
from pathlib import Path, PurePosixPath

from klaviyo_sync.errors import Problem
from klaviyo_sync.manifest.paths import RefusedPath, check_usable, resolve_inside
from klaviyo_sync.manifest.yamlfile import YamlDocument

MANIFEST_SUFFIXES = (".yaml", ".yml")
MAX_INCLUDED_FILES = 1000


def include_patterns(doc: YamlDocument) -> list[tuple[int | None, str]]:
    """(index in the include list, pattern) for every well-formed pattern; index is None for a lone string."""
    value = doc.data.get("include") if isinstance(doc.data, dict) else None
    if isinstance(value, str):
        return [(None, value)] if value else []
    if isinstance(value, list):
        return [(index, item) for index, item in enumerate(value) if isinstance(item, str) and item]
    return []


def expand_includes(root: Path, root_file: Path, doc: YamlDocument) -> tuple[list[Path], list[Problem]]:
    """The included manifest files in a stable order (pattern order, then name), each once."""
    problems: list[Problem] = []
    found: dict[Path, Path] = {}  # real path -> the first path that reached it (a file linked twice is read once)
    for index, pattern in include_patterns(doc):
        where = ("include",) if index is None else ("include", index)
        try:
            check_usable(pattern)
        except RefusedPath as exc:
            problems.append(doc.problem(where, f"include pattern {exc.message}", exc.hint))
            continue
        written = PurePosixPath(pattern)
        if written.is_absolute() or ".." in written.parts:
            problems.append(
                doc.problem(
                    where,
                    f"include pattern `{pattern}` must be relative to klaviyo.yaml without `..`",
                    "keep manifests inside the project",
                )
            )
            continue
        matches, escapes = _glob_inside(root, written.parts)
        if escapes:
            problems.append(
                doc.problem(
                    where,
                    f"include pattern `{pattern}` reaches outside the project through the symlink"
                    f" `{escapes[0].relative_to(root).as_posix()}`",
                    "copy the manifests into the project instead of linking to them",
                )
            )
            continue
        manifests = [
            path
            for path in matches
            if path.suffix in MANIFEST_SUFFIXES and path.is_file() and path.resolve() != root_file.resolve()
        ]
        if not manifests:
            problems.append(
                doc.problem(
                    where,
                    f"include pattern `{pattern}` matches no .yaml or .yml file",
                    "check the pattern (relative to klaviyo.yaml); an include that silently matched nothing could make"
                    " prune delete what those files declare",
                )
            )
        for path in manifests:
            try:
                resolve_inside(root, root, path.relative_to(root).as_posix())
            except RefusedPath as exc:
                problems.append(doc.problem(where, f"include {exc.message}", exc.hint))
                continue
            found.setdefault(path.resolve(), path)
    files = list(found.values())
    if len(files) > MAX_INCLUDED_FILES:
        problems.append(
            doc.problem(
                ("include",), f"include matches {len(files)} files; at most {MAX_INCLUDED_FILES} are read", "narrow the patterns"
            )
        )
        files = files[:MAX_INCLUDED_FILES]
    return files, problems


def _glob_inside(root: Path, parts: tuple[str, ...]) -> tuple[list[Path], list[Path]]:
    """Glob `parts` under `root` without ever listing a directory outside it.

    pathlib's glob follows symlinked directories wherever they lead, which would list (and so read) folders
    outside the project; this walk refuses to enter them and returns them as escapes instead.
    """
    escapes: list[Path] = []

    def inside(directory: Path) -> bool:
        try:
            real = directory.resolve()
        except (OSError, RuntimeError):
            return False
        if real.is_relative_to(root):
            return True
        escapes.append(directory)
        return False

    def subdirectories(directory: Path) -> list[Path]:
        try:
            return sorted(entry for entry in directory.iterdir() if entry.is_dir())
        except OSError:
            return []

    current = [root]
    for part in parts:
        following: dict[Path, None] = {}
        for directory in current:
            if not directory.is_dir() or not inside(directory):
                continue
            if part == "**":  # this directory and every directory below it that stays inside
                walked: set[Path] = set()  # real directories: a symlink back up (a loop) is walked once
                pending = [directory]
                while pending:
                    below = pending.pop()
                    real = below.resolve()
                    if real in walked:
                        continue
                    walked.add(real)
                    following.setdefault(below, None)
                    pending.extend(sub for sub in subdirectories(below) if not sub.is_symlink() or inside(sub))
            elif any(char in part for char in "*?["):
                try:
                    names = sorted(entry.name for entry in directory.iterdir())
                except OSError:
                    continue
                for name in fnmatch.filter(names, part):
                    following.setdefault(directory / name, None)
            else:
                following.setdefault(directory / part, None)
        current = list(following)
    return sorted(path for path in current if path.exists()), escapes

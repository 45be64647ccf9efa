"""Pull back: bring the live state of selected objects into an existing project (`klaviyo-sync export --into`).

A change made in Klaviyo's UI (a template edited, a list renamed) becomes an edit of the project's files that can
be reviewed as a pull request: the referenced HTML, text and definition files are rewritten, declarations are
changed in place, and everything not selected stays byte for byte, comments, key order and layout included.

declarations  the project's manifest files loaded for editing, and where each declared object is written
merge         pairing each exported object with its declaration (or a rename made in Klaviyo), and the edits
roundtrip     ruamel.yaml's comment-preserving round trip, held to the lines an edit changes
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.export import export_state, symlinks_on_the_way
from klaviyo_sync.manifest import load_project
from klaviyo_sync.pullback.declarations import Declarations
from klaviyo_sync.pullback.merge import Merge
from klaviyo_sync.pullback.roundtrip import Respelled
from klaviyo_sync.redaction import write_text
from klaviyo_sync.resources import Kind, State


@dataclass
class PullBack:
    done: list[str]  # one line per object changed or added, with where
    warnings: list[str]  # objects left as they are, and why
    written: list[str]  # project-relative paths of the files written
    selected: int  # live objects selected


def pull_back(
    project_dir: Path,
    live: State,
    *,
    kinds: Sequence[Kind] = (),
    names: Sequence[str] = (),
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PullBack:
    """Update the project in `project_dir` with the live state of the selected objects; return what was done.

    The project must load (so every declaration is known); nothing is written unless every edit can be made.
    """
    environ = dict(os.environ if environ is None else environ)
    project = load_project(project_dir, variables, environ=environ)
    exported = export_state(live, kinds=kinds, names=names)
    declarations = Declarations(project.root, project.manifest_files, variables or {}, environ)
    merged = Merge(project, declarations, live, exported).run(kinds, names)

    writes: dict[Path, str] = dict(merged.writes)
    for rel in sorted(merged.edited):
        manifest = declarations.files[rel]
        try:
            writes[manifest.path] = manifest.edited_text()
        except Respelled as exc:
            raise ConfigError(
                f"cannot edit {rel} without rewriting lines the edit does not touch (near {exc})",
                hint="ruamel.yaml spells those lines differently (unusual indentation or spacing): make that part "
                "of the file read like the rest, or make the change by hand",
            ) from None
    changed = {path: text for path, text in writes.items() if _current(path) != text}
    _write(project.root, changed)
    return PullBack(
        merged.done,
        merged.warnings,
        sorted(path.relative_to(project.root).as_posix() for path in changed),
        selected=sum(exported.counts.values()),
    )


def _current(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write(root: Path, writes: Mapping[Path, str]) -> None:
    """Write every file, refusing before the first write if any would go through a symlink."""
    relative = {path: path.relative_to(root).as_posix() for path in writes}
    linked = sorted({link for rel in relative.values() for link in symlinks_on_the_way(root, rel)})
    if linked:
        shown = ", ".join(link.relative_to(root).as_posix() for link in linked[:5])
        raise ConfigError(
            f"export --into would write through {len(linked)} symlink(s): {shown}",
            hint="nothing was written; export never writes through a symlink: replace the link with the file itself",
        )
    for path in sorted(writes):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, writes[path], follow_symlinks=False)
        except OSError as exc:
            raise ConfigError(f"cannot write {relative[path]}: {exc.strerror}", hint="check the project directory") from None

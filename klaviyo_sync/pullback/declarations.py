"""Where each declared object is written: its entry in a manifest file, as ruamel.yaml loaded it for editing.

The loader (klaviyo_sync.manifest) records every declared object's origin (file, line, column); ruamel.yaml
records the same position for each entry, so the two are joined on it rather than by reading names again.
Variables are not expanded here: an entry's text is kept as written, `${NAME}` and all, so an edit can tell
a value the manifest spells out from one that comes from a variable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.kinds import SECTIONS
from klaviyo_sync.manifest.paths import RefusedPath, resolve_inside
from klaviyo_sync.manifest.variables import resolve_values, substitute
from klaviyo_sync.manifest.yamlfile import YamlDocument
from klaviyo_sync.pullback.roundtrip import ManifestFile
from klaviyo_sync.resources import Resource

# Read left to right as the loader reads it (klaviyo_sync.manifest.variables): `$${` is a literal `${`.
_REFERENCE = re.compile(r"\$\$\{|\$\{")


def uses_variable(value: Any) -> bool:
    """Whether text as written in a manifest (or any text inside a value) takes part of itself from a `${NAME}`."""
    if isinstance(value, str):
        return any(match.group(0) == "${" for match in _REFERENCE.finditer(value))
    if isinstance(value, Mapping):
        return any(uses_variable(k) or uses_variable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(uses_variable(item) for item in value)
    return False


def escaped(text: str) -> str:
    """Live text written into a manifest: a `${` in it is literal."""
    return text.replace("${", "$${")


def unescaped(text: str) -> str:
    return text.replace("$${", "${")


@dataclass
class Entry:
    """One declared object's entry: the sequence holding it and its index there."""

    file: ManifestFile
    seq: CommentedSeq
    index: int

    @property
    def node(self) -> Any:
        return self.seq[self.index]

    @property
    def line(self) -> int:
        return int(self.seq.lc.item(self.index)[0]) + 1

    @property
    def where(self) -> str:
        return f"{self.file.rel}:{self.line}"


class Declarations:
    """The project's manifest files, loaded for editing, and the entry of every declared object."""

    def __init__(self, root: Path, manifest_files: tuple[str, ...], cli: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self.root = root
        self.files = {rel: ManifestFile.load(root / rel, rel) for rel in manifest_files}  # the root file first
        defaults = next(iter(self.files.values())).doc.get("vars") if manifest_files else None
        # The values the loader resolved, from the same sources in the same order.
        self.values = resolve_values(
            cli, environ, {k: v for k, v in (defaults or {}).items() if isinstance(v, str | int | float)}
        )
        self._at: dict[tuple[str, int, int], Entry] = {}
        for manifest in self.files.values():
            for seq, index in _entries(manifest.doc):
                line, column = seq.lc.item(index)
                self._at[(manifest.rel, line + 1, column + 1)] = Entry(manifest, seq, index)

    def entry(self, resource: Resource) -> Entry:
        origin = resource.origin
        found = self._at.get((origin.file, origin.line, origin.column)) if origin is not None else None
        if found is None:
            where = f" at {origin.file}:{origin.line}" if origin is not None else ""
            raise ConfigError(
                f"cannot find the declaration of {resource.address}{where} to edit it",
                hint="declarations built with YAML anchors or merge keys are not edited; update it by hand",
            )
        return found

    def expand(self, text: str) -> str | None:
        """Text as the loader reads it (variables substituted); None when that fails (the loader said why)."""
        doc = YamlDocument("", text)
        return None if substitute(doc, self.values) else str(doc.data)

    def referenced(self, entry: Entry, field: str) -> Path | None:
        """The file an entry's `field` names (html, text, definition), inside the project; None if it names none."""
        written = entry.node.get(field) if isinstance(entry.node, CommentedMap) else None
        reference = self.expand(written) if isinstance(written, str) else None
        if not reference:
            return None
        try:
            return resolve_inside(self.root, (self.root / entry.file.rel).parent, reference)
        except RefusedPath:
            return None  # the loader refused it already


def _entries(doc: Any) -> Iterator[tuple[CommentedSeq, int]]:
    """Every entry of every section a manifest declares objects in (a group's tags are edited with their group)."""
    if not isinstance(doc, CommentedMap):
        return
    for section in SECTIONS:
        items = doc.get(section)
        if isinstance(items, CommentedSeq):
            yield from ((items, index) for index in range(len(items)))

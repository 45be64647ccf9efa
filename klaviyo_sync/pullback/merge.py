"""Merging exported objects into a project's declarations: what to change, and where, for each selected object.

The export of the selected live objects (`klaviyo_sync.export.export_state`) says how each one is declared; the
project says how it is declared today. Each exported object is paired with its declaration:

1. by name, or through the declaration's `renamed_from` (a rename the manifests still have to apply: the
   declared name is kept);
2. failing that, as a rename made in Klaviyo: a declared object no longer in the account whose every managed
   attribute (a list's tags too, a template's content) equals one selected live object's that nothing declares,
   each the only match of the other. Its name becomes the live one, and the old name goes into `renamed_from`,
   so an account that still has the old name is renamed the same way;
3. otherwise it is new, and appended after the last declaration of its kind, its files beside theirs.

A paired declaration changes only where the diff finds it differs from the live object (`field_changes`, the
links of a list, the tags of a group), so `plan` is empty for it afterwards; everything else stays as written.
An object whose change would overwrite a value taken from a `${VAR}`, or rewrite a file another declaration
also uses, is left alone with a warning. Nothing is changed on disk here: the result lists the edits.
"""

from __future__ import annotations

import copy
import fnmatch
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from klaviyo_sync.diff import field_changes
from klaviyo_sync.errors import ConfigError
from klaviyo_sync.export import BLOCK_DIR, ROOT_FILE, TEMPLATE_DIR, ExportResult
from klaviyo_sync.kinds import SECTIONS
from klaviyo_sync.manifest import Project
from klaviyo_sync.pullback.declarations import Declarations, Entry, escaped, unescaped, uses_variable
from klaviyo_sync.pullback.roundtrip import append_entry
from klaviyo_sync.resources import Kind, Resource, State, content_hash

FILE_DIRS = {Kind.TEMPLATE: TEMPLATE_DIR, Kind.UNIVERSAL_CONTENT: BLOCK_DIR}


class Refused(Exception):
    """This object is left as it is; the message says why and what to do instead."""


@dataclass
class Merged:
    done: list[str] = field(default_factory=list)  # one line per object changed or added
    warnings: list[str] = field(default_factory=list)  # objects left alone, and why
    writes: dict[Path, str] = field(default_factory=dict)  # referenced files to write: path -> text
    edited: set[str] = field(default_factory=set)  # manifest files edited (project-relative)


@dataclass
class _Pair:
    exported: CommentedMap  # the entry export writes for the live object
    live: Resource
    desired: Resource | None = None  # None: new
    renamed: bool = False  # renamed in Klaviyo: the declaration takes the live name


Edit = Callable[[], None]


class Merge:
    def __init__(self, project: Project, declarations: Declarations, live: State, exported: ExportResult) -> None:
        self.project = project
        self.declarations = declarations
        self.live = live
        self.exported = exported
        self.result = Merged(warnings=list(exported.warnings))
        self.users = self._file_users()
        self.new_files: set[Path] = set()

    def run(self, kinds: Sequence[Kind], names: Sequence[str]) -> Merged:
        document = YAML(typ="rt").load(self.exported.files[ROOT_FILE])
        pairs: list[_Pair] = []
        for section, kind in sorted(SECTIONS.items(), key=lambda item: item[1].spec.rank):
            for entry in document.get(section) or []:
                resource = self.live.get(kind, (unescaped(str(entry["name"])),))
                if resource is not None:
                    pairs.append(_Pair(entry, resource))
        self._pair(pairs)
        for pair in pairs:
            try:
                edits = self._edits(pair)
            except Refused as refused:
                self.result.warnings.append(f"{pair.live.address} left as it is: {refused}")
                continue
            for edit in edits:
                edit()
        self._missing(kinds, names, pairs)
        return self.result

    # --- pairing ---------------------------------------------------------------------------------------

    def _pair(self, pairs: list[_Pair]) -> None:
        claimed: set[tuple[Kind, tuple[str, ...]]] = set()
        for pair in pairs:
            kind, name = pair.live.kind, pair.live.name
            desired = self.project.state.get(kind, (name,))
            if desired is None:  # a rename the manifests have yet to apply
                desired = next(
                    (d for d in self.project.state.of_kind(kind) if name in d.renamed_from and not self._is_live(d)), None
                )
            if desired is not None:
                pair.desired = desired
                claimed.add(desired.rid)
        unpaired = [pair for pair in pairs if pair.desired is None]
        gone = [
            d
            for kind in {pair.live.kind for pair in unpaired}
            for d in self.project.state.of_kind(kind)
            if d.rid not in claimed and self._absent(d)
        ]
        matches = {id(pair): [d for d in gone if d.kind is pair.live.kind and self._same(d, pair.live)] for pair in unpaired}
        for pair in unpaired:
            candidates = matches[id(pair)]
            if len(candidates) == 1 and sum(any(d is candidates[0] for d in found) for found in matches.values()) == 1:
                pair.desired, pair.renamed = candidates[0], True

    def _is_live(self, desired: Resource, name: str | None = None) -> bool:
        return self.live.get(desired.kind, (name or desired.name,)) is not None

    def _absent(self, desired: Resource) -> bool:
        """Neither its name nor any earlier one is in the account."""
        return not self._is_live(desired) and not any(self._is_live(desired, old) for old in desired.renamed_from)

    def _same(self, desired: Resource, live: Resource) -> bool:
        """Everything the declaration manages equals the live object's, but the name."""
        if field_changes(desired, live):
            return False
        if desired.kind is Kind.LIST:
            return _links(self.project.state, desired.name) == _links(self.live, live.name)
        if desired.kind is Kind.TAG_GROUP:
            return _tags(self.project.state, desired.name) == _tags(self.live, live.name)
        return True

    # --- one object's edits: all checked before any is made ----------------------------------------------

    def _edits(self, pair: _Pair) -> list[Edit]:
        if pair.desired is None:
            return self._addition(pair)
        try:
            entry = self.declarations.entry(pair.desired)
        except ConfigError as exc:
            raise Refused(str(exc)) from None
        desired, spec = pair.desired, pair.live.kind.spec
        edits: list[Edit] = []
        said: list[str] = []
        if pair.renamed:
            edits.append(self._rename(entry, pair))
            said.append(f"renamed from {_quoted(desired.name)} in Klaviyo (the old name is kept in renamed_from)")
        for change in field_changes(desired, pair.live):
            edits.append(self._field(entry, pair, desired, change.field))
            file = self.declarations.referenced(entry, change.field) if change.field in spec.file_fields else None
            said.append(_field_said(change.field, pair.exported, file and self._rel(file)))
        if pair.live.kind is Kind.LIST and _links(self.project.state, desired.name) != _links(self.live, pair.live.name):
            edits.append(self._list_tags(entry, pair))
            said.append("tags")
        if pair.live.kind is Kind.TAG_GROUP and _tags(self.project.state, desired.name) != _tags(self.live, pair.live.name):
            edits.append(self._group_tags(entry, pair))
            said.append("tags")
        if edits:
            self.result.done.append(f"{pair.live.address} ({entry.where}): {'; '.join(said)}")
            edits.append(lambda: self.result.edited.add(entry.file.rel))
        return edits

    def _rename(self, entry: Entry, pair: _Pair) -> Edit:
        node = entry.node
        written = node["name"]
        if uses_variable(written):
            raise Refused(
                f"it was renamed in Klaviyo, but its name in {entry.where} comes from a variable ({written}); "
                "writing the new name would replace the variable: rename it there by hand"
            )
        earlier = node.get("renamed_from")
        if uses_variable(earlier):
            raise Refused(f"its renamed_from in {entry.where} uses a variable; rename it there by hand")

        def edit() -> None:
            node["name"] = pair.exported["name"]
            if isinstance(earlier, CommentedSeq):
                earlier.append(written)
            elif isinstance(earlier, str):
                node["renamed_from"] = _flow([earlier, written])
            else:
                node.insert(list(node).index("name") + 1, "renamed_from", _flow([written]))

        return edit

    def _field(self, entry: Entry, pair: _Pair, desired: Resource, name: str) -> Edit:
        node, exported = entry.node, pair.exported
        spec = pair.live.kind.spec
        if name == "editor_type":
            raise Refused(
                f"its editor type changed in Klaviyo ({desired.attrs.get(name)} to {pair.live.attrs.get(name)}): "
                "declare it again from an `export --out` of it"
            )
        if name in spec.file_fields and name in exported:
            path = self.declarations.referenced(entry, name)
            if path is None:
                raise Refused(f"its {name} file in {entry.where} cannot be resolved")
            sharing = [user for user in self.users.get(path.resolve(), []) if user != desired.address]
            if sharing:
                raise Refused(
                    f"its {name} file {self._rel(path)} is also used by {', '.join(sharing)}; writing it would change "
                    "them too: give it a file of its own, then run export --into again"
                )
            text = self.exported.files[str(exported[name])]
            return lambda: self.result.writes.__setitem__(path, text)
        if uses_variable(node.get(name)):
            raise Refused(
                f"its {name} in {entry.where} comes from a variable ({node.get(name)}) and is "
                f"{_shown(pair.live.attrs.get(name))} in Klaviyo: change it there by hand"
            )
        if name in exported:
            return lambda: node.__setitem__(name, exported[name])
        return lambda: node.__delitem__(name)  # Klaviyo has no value for it (a template without a text version)

    def _list_tags(self, entry: Entry, pair: _Pair) -> Edit:
        """The list's `tags:` made equal to its live links, keeping the written order and spelling of what stays."""
        node = entry.node
        written = node.get("tags")
        if uses_variable(written):
            raise Refused(f"its tags in {entry.where} use a variable; change them there by hand")
        wanted: dict[str, list[str]] = {}
        for group, tag in sorted(_links(self.live, pair.live.name)):
            wanted.setdefault(group, []).append(tag)

        def edit() -> None:
            tags = written if isinstance(written, CommentedMap) else _flow_map()
            for group in list(tags):
                value = tags[group]
                current = [value] if isinstance(value, str) else list(value or [])
                keep = wanted.pop(unescaped(str(group)), [])
                if {unescaped(str(t)) for t in current} == set(keep):
                    continue
                if not keep:
                    del tags[group]
                    continue
                seq = value if isinstance(value, CommentedSeq) else _flow([])
                _set_names(seq, keep)
                tags[group] = seq
            for group, names in sorted(wanted.items()):
                tags[escaped(group)] = _flow([escaped(n) for n in names])
            if not tags:
                node.pop("tags", None)
            elif "tags" not in node:
                node.insert(_after(node, ("name", "opt_in_process")), "tags", tags)

        return edit

    def _group_tags(self, entry: Entry, pair: _Pair) -> Edit:
        node = entry.node
        written = node.get("tags")
        if uses_variable(written):
            raise Refused(f"its tags in {entry.where} use a variable; change them there by hand")
        live_tags = sorted(_tags(self.live, pair.live.name))

        def edit() -> None:
            seq = written if isinstance(written, CommentedSeq) else _flow([])
            _set_names(seq, live_tags)
            node["tags"] = seq

        return edit

    def _addition(self, pair: _Pair) -> list[Edit]:
        kind, name = pair.live.kind, pair.live.name
        if any(fnmatch.fnmatchcase(name, glob) for glob in self.project.ignore.get(kind, ())):
            raise Refused("the project's `ignore` matches its name, so it is never managed: not added")
        last = self._last_declared(kind)
        if last is not None:
            seq, manifest = last.seq, last.file
        else:  # the kind's first declaration goes into the root file
            manifest = next(iter(self.declarations.files.values()))
            seq = manifest.doc.get(kind.spec.section)
            if not isinstance(seq, CommentedSeq) or (not seq and seq.fa.flow_style()):
                seq = None
        entry = copy.deepcopy(pair.exported)
        base_dir = (self.declarations.root / manifest.rel).parent
        files = []
        for field_name in kind.spec.file_fields:
            if field_name in entry:
                target = self._new_file(kind, field_name, Path(str(entry[field_name])).name, last)
                files.append((target, self.exported.files[str(entry[field_name])]))
                entry[field_name] = Path(os.path.relpath(target, base_dir)).as_posix()

        def edit() -> None:
            section = seq
            if section is None:
                section = CommentedSeq()
                manifest.doc[kind.spec.section] = section
            append_entry(section, entry)
            for target, text in files:
                self.result.writes[target] = text
            self.result.edited.add(manifest.rel)

        shown = f" ({', '.join(self._rel(t) for t, _ in files)})" if files else ""
        self.result.done.append(f"{pair.live.address}: added to {manifest.rel}{shown}")
        return [edit]

    # --- helpers -------------------------------------------------------------------------------------------

    def _missing(self, kinds: Sequence[Kind], names: Sequence[str], pairs: list[_Pair]) -> None:
        """Declared, selected, and not in the account: said, never deleted from the manifests."""
        paired = {pair.desired.rid for pair in pairs if pair.desired is not None}
        for kind in kinds or SECTIONS.values():
            for desired in self.project.state.of_kind(kind):
                if desired.rid in paired or not self._absent(desired):
                    continue
                if names and not any(fnmatch.fnmatchcase(desired.name, glob) for glob in names):
                    continue
                where = f" ({desired.origin.file}:{desired.origin.line})" if desired.origin else ""
                self.result.warnings.append(
                    f"{desired.address}{where} is declared but not in the account: left as it is (remove it from the "
                    "manifests if it was deleted in Klaviyo on purpose; `plan` would create it again)"
                )

    def _file_users(self) -> dict[Path, list[str]]:
        """Every referenced file, by real path, with the objects whose declarations name it."""
        users: dict[Path, list[str]] = {}
        for kind in SECTIONS.values():
            for desired in self.project.state.of_kind(kind):
                try:
                    entry = self.declarations.entry(desired)
                except ConfigError:
                    continue
                for field_name in kind.spec.file_fields:
                    path = self.declarations.referenced(entry, field_name)
                    if path is not None:
                        users.setdefault(path.resolve(), []).append(desired.address)
        return users

    def _last_declared(self, kind: Kind) -> Entry | None:
        order = {rel: index for index, rel in enumerate(self.declarations.files)}
        declared = [d for d in self.project.state.of_kind(kind) if d.origin is not None]
        for desired in sorted(declared, key=lambda d: (order.get(d.origin.file, 0), d.origin.line), reverse=True):  # type: ignore[union-attr]
            try:
                return self.declarations.entry(desired)
            except ConfigError:
                continue
        return None

    def _new_file(self, kind: Kind, field_name: str, file_name: str, beside: Entry | None) -> Path:
        """A path for a new object's file: beside its kind's last declared file of that field, never an existing one."""
        existing = self.declarations.referenced(beside, field_name) if beside is not None else None
        directory = existing.parent if existing is not None else self.declarations.root / FILE_DIRS.get(kind, TEMPLATE_DIR)
        stem, suffix = os.path.splitext(file_name)
        candidate = directory / file_name
        counter = 1
        while candidate.exists() or candidate.is_symlink() or candidate in self.new_files:
            tail = content_hash(f"{kind.value}:{file_name}:{counter}")[:6]
            candidate = directory / f"{stem}-{tail}{suffix}"
            counter += 1
        self.new_files.add(candidate)
        return candidate

    def _rel(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.declarations.root)).as_posix()


def _links(state: State, list_name: str) -> set[tuple[str, str]]:
    return {(link.key[1], link.key[2]) for link in state.of_kind(Kind.LIST_TAG) if link.key[0] == list_name}


def _tags(state: State, group_name: str) -> set[str]:
    return {tag.name for tag in state.of_kind(Kind.TAG) if tag.key[0] == group_name}


def _set_names(seq: CommentedSeq, names: list[str]) -> None:
    """Make a sequence of names (bare, or `{name: ...}` entries) hold exactly `names`: what stays keeps its place
    and spelling, what goes is removed, what is new is appended."""
    wanted = list(names)
    for index in reversed(range(len(seq))):
        item = seq[index]
        item_name = unescaped(str(item.get("name") if isinstance(item, CommentedMap) else item))
        earlier = item.get("renamed_from") if isinstance(item, CommentedMap) else None
        known = [item_name, *([earlier] if isinstance(earlier, str) else list(earlier or []))]
        match = next((n for n in known if n in wanted), None)
        if match is None:
            del seq[index]
        else:
            wanted.remove(match)
    seq.extend(escaped(n) for n in wanted)


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flow_map() -> CommentedMap:
    mapping = CommentedMap()
    mapping.fa.set_flow_style()
    return mapping


def _after(node: CommentedMap, keys: tuple[str, ...]) -> int:
    """The position just after the last of `keys` the mapping has."""
    positions = [index for index, key in enumerate(node) if key in keys]
    return (positions[-1] + 1) if positions else len(node)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _shown(value: Any) -> str:
    return "not set" if value is None else repr(value)


def _field_said(name: str, exported: CommentedMap, file: str | None) -> str:
    if name in exported:
        return f"{name} written to {file}" if file else f"{name} set to {exported[name]}"
    return f"{name} removed, as Klaviyo has none" + (f" ({file} is left in place)" if file else "")

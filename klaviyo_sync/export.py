"""Adopt an existing account: turn a live `State` into a project (`klaviyo.yaml` plus template, block and flow
email files).

The result is built so that `plan` on it is immediately empty: every exported object is declared with exactly
the attributes it has live, tags sit under their groups, each list names its tags as `{Group: [tag]}`, and
`prune` is off for every kind so nothing outside the export is ever deleted.

`export_state` is pure (State in, file texts out); `write_export` puts the files on disk and refuses to
overwrite anything unless asked to.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.kinds.flow_emails import MESSAGE_FIELDS, SEND_EMAIL
from klaviyo_sync.kinds.universal_content import WRITABLE_TYPES
from klaviyo_sync.manifest.yamlfile import CoreSchemaLoader
from klaviyo_sync.redaction import write_text
from klaviyo_sync.resources import Kind, Resource, State

# The kinds a user can select, by the names the manifest format uses for them.
EXPORTABLE_KINDS: dict[str, Kind] = {
    "templates": Kind.TEMPLATE,
    "lists": Kind.LIST,
    "tag_groups": Kind.TAG_GROUP,
    "universal_content": Kind.UNIVERSAL_CONTENT,
    "flows": Kind.FLOW_EMAIL,
}

ROOT_FILE = "klaviyo.yaml"
TEMPLATE_DIR = "templates"
BLOCK_DIR = "blocks"
FLOW_DIR = "flows"
# Message fields a manifest may set to null (none); any other field that is null live is left undeclared.
_NULLABLE_FIELDS = ("preview_text", "reply_to_email", "cc_email", "bcc_email")
MAX_STEM_LENGTH = 60
# Names Windows refuses as file names whatever the extension.
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)})

HEADER = """\
# Exported from a live Klaviyo account by `klaviyo-sync export`.
# `klaviyo-sync plan` on this directory shows no changes until you edit it.
"""
PRUNE_COMMENT = """\
# Nothing is deleted while prune is off: live objects not declared here are left alone.
# Set a kind to true once this directory declares everything of that kind you want to keep.
"""


@dataclass
class ExportResult:
    """The files to write (project-relative POSIX path -> text) and what a user should know about them."""

    files: dict[str, str]
    counts: dict[Kind, int]
    notes: list[str] = field(default_factory=list)  # informational: why something was included
    warnings: list[str] = field(default_factory=list)  # something was left out


def export_state(live: State, *, kinds: Iterable[Kind] = (), names: Sequence[str] = ()) -> ExportResult:
    """Build the project files for the selected kinds (all when empty) and names (fnmatch globs, all when empty).

    Lists need the groups of their tags to be declared, and a declared group is fully managed, so every group a
    selected list uses is exported whole even when tag groups are not selected.
    """
    selected = set(kinds) or set(EXPORTABLE_KINDS.values())
    warnings: list[str] = []
    notes: list[str] = []
    skipped = _conflicted_keys(live, warnings)

    def wanted(resource: Resource) -> bool:
        name = resource.key[0] if resource.kind is Kind.FLOW_EMAIL else resource.name  # flows are selected by name
        return resource.kind in selected and (not names or any(fnmatch.fnmatchcase(name, g) for g in names))

    lists = [r for r in live.of_kind(Kind.LIST) if wanted(r) and r.rid not in skipped]
    links = _links_by_list(live, {r.name for r in lists}, skipped)
    groups = {r.name: r for r in live.of_kind(Kind.TAG_GROUP) if r.rid not in skipped}
    groups_with_tags = {t.key[0] for t in live.of_kind(Kind.TAG)}
    # A declared group manages all its tags, so the default group (always there) is declared only when it has
    # tags: declaring it empty would delete tags added to it later in Klaviyo.
    group_names = {
        name for name, group in groups.items() if wanted(group) and (name in groups_with_tags or not group.attrs.get("default"))
    }
    for list_name, by_group in links.items():
        for group_name in by_group:
            if group_name not in group_names:
                notes.append(f"tag group {group_name!r} exported whole because list {list_name!r} uses its tags")
                group_names.add(group_name)

    tags_by_group: dict[str, list[str]] = {}
    for tag in live.of_kind(Kind.TAG):
        group_name, tag_name = tag.key
        if group_name in group_names and tag.rid not in skipped:
            tags_by_group.setdefault(group_name, []).append(tag_name)

    templates = [r for r in live.of_kind(Kind.TEMPLATE) if wanted(r) and r.rid not in skipped]
    templates = [t for t in templates if _has_content(t, warnings)]
    files: dict[str, str] = {}
    template_entries = _template_entries(templates, files)

    document: dict[str, Any] = {"version": 1}
    document["tag_groups"] = [
        _group_entry(groups[name], tags_by_group.get(name, [])) for name in sorted(group_names) if name in groups
    ]
    document["lists"] = [_list_entry(r, links.get(r.name, {})) for r in lists]
    document["templates"] = template_entries
    blocks = [r for r in live.of_kind(Kind.UNIVERSAL_CONTENT) if wanted(r) and r.rid not in skipped]
    document["universal_content"] = _block_entries([b for b in blocks if _block_exportable(b, warnings)], files)
    emails = [r for r in live.of_kind(Kind.FLOW_EMAIL) if wanted(r) and r.rid not in skipped]
    document["flows"] = _flow_entries(live, [e for e in emails if _email_exportable(live, e, warnings)], files)
    files[ROOT_FILE] = _render_root(document)
    counts = {
        Kind.TAG_GROUP: len(document["tag_groups"]),
        Kind.TAG: sum(len(tags_by_group.get(name, [])) for name in group_names),
        Kind.LIST: len(lists),
        Kind.TEMPLATE: len(template_entries),
        Kind.UNIVERSAL_CONTENT: len(document["universal_content"]),
        Kind.FLOW_EMAIL: sum(len(flow["emails"]) for flow in document["flows"]),
    }
    return ExportResult(files=files, counts=counts, notes=notes, warnings=warnings)


def write_export(result: ExportResult, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write every file under `out_dir`; refuse before writing anything if a file exists and `force` is off.

    Nothing is ever written through a symlink: a linked file or folder under `out_dir` could point anywhere
    (`--force` means "overwrite my files", not "follow links out of the directory"), so one is refused.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} exists and is not a directory", hint="choose another --out")
    targets = [out_dir / relative for relative in sorted(result.files)]
    linked = sorted({link for relative in sorted(result.files) for link in symlinks_on_the_way(out_dir, relative)})
    if linked:
        shown = ", ".join(str(p) for p in linked[:5]) + (f" and {len(linked) - 5} more" if len(linked) > 5 else "")
        raise ConfigError(
            f"export would write through {len(linked)} symlink(s): {shown}",
            hint="remove the links or choose another --out directory; export never writes through a symlink",
        )
    existing = [path for path in targets if path.exists()]
    if existing and not force:
        shown = ", ".join(str(p) for p in existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise ConfigError(
            f"export would overwrite {len(existing)} existing file(s): {shown}",
            hint="pass --force to overwrite them, or choose an empty --out directory",
        )
    for path, relative in zip(targets, sorted(result.files), strict=True):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Byte for byte (Klaviyo's HTML is written exactly as it was read), never following a link made meanwhile.
            write_text(path, result.files[relative], follow_symlinks=False, exclusive=not force)
        except OSError as exc:
            raise ConfigError(
                f"cannot write {path}: {exc.strerror}", hint="check the --out directory; nothing is written through a symlink"
            ) from None
    return targets


def symlinks_on_the_way(out_dir: Path, relative: str) -> list[Path]:
    """The symlinks among the folders and file that `relative` names below `out_dir`."""
    found: list[Path] = []
    path = out_dir
    for part in Path(relative).parts:
        path = path / part
        if path.is_symlink():
            found.append(path)
            break
    return found


# --- file names ------------------------------------------------------------------------------------------


def slugify(name: str) -> str:
    """A portable file stem for a name: ASCII letters, digits and dashes, never empty, dot-only or reserved."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:MAX_STEM_LENGTH].rstrip("-")
    if not slug:
        return f"template-{_short_hash(name)}"
    if slug in WINDOWS_RESERVED:
        return f"{slug}-template"
    return slug


def file_stems(names: Iterable[str]) -> dict[str, str]:
    """A unique stem per name. Names are taken in sorted order; a stem already taken gets a suffix from a hash
    of the full name, so the same account always exports to the same file names."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names)):
        stem = slugify(name)
        if stem in taken:
            stem = f"{stem[: MAX_STEM_LENGTH - 7].rstrip('-')}-{_short_hash(name)}"
        counter = 2
        base = stem
        while stem in taken:  # two hashes agreeing on 6 hex digits: still never overwrite
            stem = f"{base}-{counter}"
            counter += 1
        taken.add(stem)
        stems[name] = stem
    return stems


def _short_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]


# --- building the document -------------------------------------------------------------------------------


def _conflicted_keys(live: State, warnings: list[str]) -> set[tuple[Kind, tuple[str, ...]]]:
    """Names that several live objects share cannot be declared once each: leave them out and say so."""
    skipped: set[tuple[Kind, tuple[str, ...]]] = set()
    for (kind, key), resources in sorted(live.conflicts.items(), key=lambda item: (item[0][0].spec.rank, item[0][1])):
        if kind is Kind.LIST_TAG:
            continue
        ids = ", ".join(sorted(r.id or "?" for r in resources))
        label = "/".join(key)
        warnings.append(
            f"{len(resources)} live {kind.spec.label}s are named {label!r} (ids {ids}): left out of the export; "
            "rename all but one in Klaviyo and export again to manage them"
        )
        skipped.add((kind, key))
        if kind is Kind.TAG_GROUP:  # tags are known by group name, so the group's tags are ambiguous too
            skipped.update(t.rid for t in live.of_kind(Kind.TAG) if t.key[0] == key[0])
    return skipped


def _links_by_list(
    live: State, list_names: set[str], skipped: set[tuple[Kind, tuple[str, ...]]]
) -> dict[str, dict[str, list[str]]]:
    links: dict[str, dict[str, list[str]]] = {}
    for link in live.of_kind(Kind.LIST_TAG):
        list_name, group_name, tag_name = link.key
        if list_name in list_names and (Kind.TAG, (group_name, tag_name)) not in skipped:
            links.setdefault(list_name, {}).setdefault(group_name, []).append(tag_name)
    return links


def _has_content(template: Resource, warnings: list[str]) -> bool:
    editor_type = template.attrs.get("editor_type") or "CODE"
    if editor_type == "SYSTEM_DRAGGABLE":
        if template.attrs.get("definition"):
            return True
        warnings.append(f"template {template.name!r} is drag-and-drop but its definition could not be read: left out")
        return False
    if (template.attrs.get("html") or "").strip():
        return True
    warnings.append(f"template {template.name!r} has no HTML: left out (a manifest template needs content)")
    return False


def _template_entries(templates: list[Resource], files: dict[str, str]) -> list[dict[str, Any]]:
    stems = file_stems(t.name for t in templates)
    entries = []
    for template in templates:
        stem = f"{TEMPLATE_DIR}/{stems[template.name]}"
        entry: dict[str, Any] = {"name": template.name}
        editor_type = template.attrs.get("editor_type") or "CODE"
        if editor_type != "CODE":
            entry["editor_type"] = editor_type
        if editor_type == "SYSTEM_DRAGGABLE":
            files[f"{stem}.json"] = json.dumps(template.attrs["definition"], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            entry["definition"] = f"{stem}.json"
        else:
            files[f"{stem}.html"] = template.attrs["html"]
            entry["html"] = f"{stem}.html"
        text = template.attrs.get("text")
        if text:
            files[f"{stem}.txt"] = text
            entry["text"] = f"{stem}.txt"
        entries.append(entry)
    return entries


def _block_exportable(block: Resource, warnings: list[str]) -> bool:
    """A block the manifest can declare: an html block, or one of a type the API writes."""
    definition = block.attrs.get("definition")
    block_type = definition.get("type") if isinstance(definition, dict) else None
    if block.attrs.get("html") is not None or block_type in WRITABLE_TYPES:
        return True
    warnings.append(
        f"universal content block {block.name!r} is a {block_type or 'unreadable'} block, which the API cannot write: left out"
    )
    return False


def _block_entries(blocks: list[Resource], files: dict[str, str]) -> list[dict[str, Any]]:
    """An html block as its HTML file; any other block as its definition in JSON."""
    stems = file_stems(b.name for b in blocks)
    entries = []
    for block in blocks:
        stem = f"{BLOCK_DIR}/{stems[block.name]}"
        if block.attrs.get("html") is not None:
            files[f"{stem}.html"] = block.attrs["html"]
            entries.append({"name": block.name, "html": f"{stem}.html"})
        else:
            text = json.dumps(block.attrs["definition"], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            files[f"{stem}.json"] = text
            entries.append({"name": block.name, "definition": f"{stem}.json"})
    return entries


def _email_exportable(live: State, email: Resource, warnings: list[str]) -> bool:
    """A plain send-email of a flow whose name is its own, with content to write."""
    flow, name = email.key
    if len(live.flows.get(flow, [])) > 1:
        warnings.append(f"{len(live.flows[flow])} live flows are named {flow!r}: their emails are left out")
        return False
    if email.attrs.get("action_type") != SEND_EMAIL:
        warnings.append(f"email {name!r} of flow {flow!r} is an A/B test variant, which klaviyo-sync does not manage: left out")
        return False
    if not (email.attrs.get("html") or "").strip():
        warnings.append(f"email {name!r} of flow {flow!r} sends no HTML: left out (a declared email needs content)")
        return False
    return True


def _flow_entries(live: State, emails: list[Resource], files: dict[str, str]) -> list[dict[str, Any]]:
    """Each flow with its emails: content as files under flows/FLOW/, message fields as declared values. The
    status is left undeclared (so unmanaged): putting an email live or off is a decision, not part of adopting."""
    by_flow: dict[str, list[Resource]] = {}
    for email in emails:
        by_flow.setdefault(email.key[0], []).append(email)
    flow_stems = file_stems(by_flow)
    entries = []
    for flow, flow_emails in sorted(by_flow.items()):
        stems = file_stems(email.name for email in flow_emails)
        declared = []
        for email in flow_emails:
            stem = f"{FLOW_DIR}/{flow_stems[flow]}/{stems[email.name]}"
            entry: dict[str, Any] = {"name": email.name, "html": f"{stem}.html"}
            files[f"{stem}.html"] = email.attrs["html"]
            if email.attrs.get("text"):
                files[f"{stem}.txt"] = email.attrs["text"]
                entry["text"] = f"{stem}.txt"
            for name in MESSAGE_FIELDS:
                if email.attrs.get(name) is not None or name in _NULLABLE_FIELDS:
                    entry[name] = email.attrs.get(name)
            declared.append(entry)
        entries.append({"name": flow, "emails": declared})
    return entries


def _group_entry(group: Resource, tags: list[str]) -> dict[str, Any]:
    return {"name": group.name, "exclusive": bool(group.attrs.get("exclusive")), "tags": _Flow(sorted(tags))}


def _list_entry(resource: Resource, tags: dict[str, list[str]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": resource.name}
    if resource.attrs.get("opt_in_process") is not None:
        entry["opt_in_process"] = resource.attrs["opt_in_process"]
    if tags:
        entry["tags"] = _FlowMap({group: _Flow(sorted(names)) for group, names in sorted(tags.items())})
    return entry


# --- YAML ------------------------------------------------------------------------------------------------


class _Flow(list[str]):
    """A list written inline: `tags: [Welcome, VIP]`."""


class _FlowMap(dict[str, _Flow]):
    """A mapping written inline: `tags: {Lifecycle: [Welcome]}`."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent block sequences under their key (`templates:\n  - name: ...`), as people write them.
        super().increase_indent(flow, False)


# The dumper quotes a string when a YAML 1.1 reader would type it; manifests are read with the YAML 1.2 core
# schema, which types some strings 1.1 does not (`1e3`, `0o17`). Knowing both schemas, it quotes those too, so a
# live name always reads back as the same text.
for _first, _resolvers in CoreSchemaLoader.yaml_implicit_resolvers.items():
    for _tag, _pattern in _resolvers:
        _Dumper.add_implicit_resolver(_tag, _pattern, [_first])

_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))
_Dumper.add_representer(_FlowMap, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))


def _escape_variables(value: Any) -> Any:
    """Live names are literal: `$${` keeps a `${` in a name from being read back as a variable."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return type(value)({_escape_variables(k): _escape_variables(v) for k, v in value.items()})
    if isinstance(value, list):
        return type(value)(_escape_variables(v) for v in value)
    return value


def _dump(value: Any) -> str:
    return yaml.dump(_escape_variables(value), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000, indent=2)


def _render_root(document: dict[str, Any]) -> str:
    sections = [HEADER, _dump({"version": document["version"]}), "\n", PRUNE_COMMENT]
    prune = {"templates": False, "lists": False, "tag_groups": False}
    # Universal content appears only in an export that has blocks, so exports of accounts without any stay as they were.
    optional = ("universal_content",) if document["universal_content"] else ()
    prune.update(dict.fromkeys(optional, False))
    sections.append(_dump({"prune": prune}))
    flows = ("flows",) if document["flows"] else ()  # flows are never pruned: klaviyo-sync only updates their emails
    for section in ("tag_groups", "lists", *optional, "templates", *flows):
        sections.append("\n")
        sections.append(_dump({section: document[section]}) if document[section] else f"{section}: []\n")
    return "".join(sections)

"""Desired vs live: match objects by identity, choose each one's action, decide what is in scope.

Matching is by natural key (a tag by group and name, a link by list, group and tag), then by `renamed_from`.
Only attributes the manifest sets are compared, after normalising what Klaviyo normalises (line endings,
trailing whitespace, key order, numeric types), so a plan right after an apply is always empty.

Scope rules:
- tag groups, lists and templates missing from the manifests are deleted only when their kind is pruned, never
  when an ignore glob matches their name, and the default tag group never;
- tags inside a declared group, and links of a declared list, are fully managed;
- deleting a tag group removes its tags and their links, and deleting a tag or list removes its links (Klaviyo
  cascades), so those removals are stated in the reason instead of being separate changes.

This module is the only user of deepdiff. Equality is decided on exact or normalised values first; deepdiff
only runs on structured values (drag-and-drop definitions) whose digests differ.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from klaviyo_sync.errors import PlanError, Problem
from klaviyo_sync.kinds import KINDS, SECTIONS, TEXT_FIELDS
from klaviyo_sync.kinds.flow_emails import SEND_EMAIL
from klaviyo_sync.resources import (
    Action,
    Change,
    FieldChange,
    Key,
    Kind,
    Origin,
    Resource,
    State,
    content_hash,
)

# Kinds the manifest can prune or ignore by name; tags and links follow their group or list.
SCOPED_KINDS = tuple(SECTIONS.values())
ROOT_MANIFEST = "klaviyo.yaml"

_BLANKS = " \t\f\v"


class ProjectLike(Protocol):
    """What the diff needs from a loaded project (`klaviyo_sync.manifest.Project`)."""

    state: State
    prune: Mapping[Kind, bool]
    ignore: Mapping[Kind, tuple[str, ...]]


def normalise_text(value: str | None) -> str:
    """HTML/text as Klaviyo keeps it for comparison: LF line endings, no trailing whitespace per line or at the end."""
    if not value:
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
    # Per-line rstrip of ASCII blanks only: a trailing no-break space is content, not layout.
    return "\n".join([line.rstrip(_BLANKS) for line in text.split("\n")]).rstrip(_BLANKS + "\n")


def values_equal(name: str, desired: Any, live: Any) -> bool:
    """Equality of one managed attribute, the way Klaviyo would see it."""
    if desired == live:  # the common case after an apply: identical strings, no normalising needed
        return True
    if name in TEXT_FIELDS:
        return normalise_text(desired) == normalise_text(live)
    if isinstance(desired, Mapping | list) and isinstance(live, Mapping | list):
        if content_hash(desired) == content_hash(live):  # same content in another key order
            return True
        from deepdiff import DeepDiff  # imported late: it is slow to import and rarely needed

        return not DeepDiff(live, desired, ignore_numeric_type_changes=True, ignore_string_type_changes=True)
    return False


def field_changes(desired: Resource, live: Resource | None) -> tuple[FieldChange, ...]:
    """Changes of the managed attributes the manifest sets (all of them when nothing is live)."""
    spec = desired.kind.spec
    changes = []
    for name in spec.fields:
        if name not in desired.attrs:
            continue
        new = desired.attrs[name]
        old = None if live is None else live.attrs.get(name)
        if live is not None and values_equal(name, new, old):
            continue
        changes.append(FieldChange(name, old, new, forces_replacement=live is not None and name in spec.replace_on))
    return tuple(changes)


def choose_action(desired: Resource, live: Resource | None, *, renamed: bool = False) -> Change | None:
    """Terraform's rule: nothing live -> create (or clone); an immutable field changed -> replace;
    equal -> no change (None); otherwise update, or rename when found under an earlier name."""
    fields = field_changes(desired, live)
    if live is None:
        if desired.clone_from is not None:
            reason = f"not in the account; created as a copy of template {_quote(desired.clone_from)}"
            return Change(Action.CLONE, desired.kind, desired.key, desired, None, fields, reason)
        return Change(Action.CREATE, desired.kind, desired.key, desired, None, fields, "not in the account")
    if renamed:
        fields = (FieldChange("name", live.name, desired.name), *fields)
    forcing = [change.field for change in fields if change.forces_replacement]
    if forcing:
        reason = f"{', '.join(forcing)} cannot change in place"
        mode = desired.kind.spec.replace_mode
        return Change(Action.REPLACE, desired.kind, desired.key, desired, live, fields, reason, mode)
    if not fields:
        return None
    if renamed:
        return Change(
            Action.RENAME, desired.kind, desired.key, desired, live, fields, f"found under its earlier name {_quote(live.name)}"
        )
    return Change(Action.UPDATE, desired.kind, desired.key, desired, live, fields, f"{_names(f.field for f in fields)} changed")


@dataclass
class Comparison:
    """Everything the diff found: the unordered changes and what the plan needs to check and explain them."""

    changes: list[Change] = field(default_factory=list)
    unmanaged: list[Resource] = field(default_factory=list)
    # Address of a desired object -> id of the live object it keeps using (for links and clones at apply time).
    live_ids: dict[str, str] = field(default_factory=dict)
    # Live objects that Klaviyo removes as a consequence of another change (a group's tags, a tag's links).
    cascaded: list[tuple[Resource, str]] = field(default_factory=list)
    # Declared objects destroyed as a consequence of another change (checked against prevent_destroy).
    cascaded_desired: list[tuple[Resource, str]] = field(default_factory=list)
    # Per kind: how many live objects are in the managed scope (for the thresholds).
    managed_counts: dict[Kind, int] = field(default_factory=dict)


def diff(project: ProjectLike, live: State) -> list[Change]:
    """The changes that make `live` match the project, unordered (`build_plan` orders and checks them)."""
    return compare(project, live).changes


def compare(project: ProjectLike, live: State) -> Comparison:
    """Match, choose actions and scope; raises PlanError listing every ambiguity found."""
    return _Differ(project, live).run()


class _Differ:
    def __init__(self, project: ProjectLike, live: State) -> None:
        self.project = project
        self.desired = project.state
        self.live = live
        self.result = Comparison()
        self.problems: list[Problem] = []
        self.claimed: set[int] = set()  # id() of live resources matched to a desired one
        self.removed: set[int] = set()  # id() of live resources deleted, replaced or cascaded
        # desired name (or tag key) -> the live object it keeps using; None when it is (re)created
        self.groups: dict[str, Resource | None] = {}
        self.tags: dict[Key, Resource | None] = {}
        self.lists: dict[str, Resource | None] = {}
        # Why a declared group or tag has no live object to keep: "is new", "is replaced", ...
        self.fates: dict[tuple[Kind, Key], str] = {}
        # Indexes for the cascades, so a large account is not scanned once per removed object.
        self.tags_by_group: dict[str, list[Resource]] = {}
        for tag in self._all_live(Kind.TAG):
            self.tags_by_group.setdefault(tag.key[0], []).append(tag)
        self.links_by_tag: dict[Key, list[Resource]] = {}
        self.links_by_list: dict[str, list[Resource]] = {}
        for link in self._all_live(Kind.LIST_TAG):
            self.links_by_tag.setdefault(link.key[1:], []).append(link)
            self.links_by_list.setdefault(link.key[0], []).append(link)

    def run(self) -> Comparison:
        # Kinds with cascades or references of their own have their own step; every other kind is matched by
        # name, claimed and pruned the same way (`_flat`).
        steps = {
            Kind.TAG_GROUP: self._tag_groups,
            Kind.TAG: self._tags,
            Kind.LIST: self._lists,
            Kind.TEMPLATE: self._templates,
            Kind.LIST_TAG: self._links,
            Kind.FLOW_EMAIL: self._flow_emails,
        }
        for spec in KINDS:
            steps.get(spec.kind, partial(self._flat, spec.kind))()
        if self.problems:
            raise PlanError("The plan was refused; nothing will be applied.", self.problems)
        return self.result

    # -- shared steps ---------------------------------------------------------------------------------------

    def _all_live(self, kind: Kind) -> list[Resource]:
        """Every live object of a kind, duplicates included, in key then id order."""
        return self.live.all_of_kind(kind)

    def _unique_live(self, kind: Kind, key: Key, desired: Resource) -> Resource | None:
        """The live object under `key`, or None; two or more is an ambiguity problem."""
        duplicates = self.live.conflicts.get((kind, key))
        if duplicates:
            ids = ", ".join(r.id or "?" for r in duplicates)
            self._problem(
                desired,
                f"{len(duplicates)} live {kind.spec.label}s are named {_quote(key[-1])} (ids {ids}); cannot tell which one "
                f"{desired.address} means",
                f"rename or delete all but one of them in Klaviyo, or give {desired.address} another name",
            )
            return None
        return self.live.get(kind, key)

    def _match(self, desired: Resource, live_key: Callable[[str], Key]) -> tuple[Resource | None, bool]:
        """Find the live object for `desired`: under its name, else under one of its earlier names (renamed)."""
        current = self._unique_live(desired.kind, live_key(desired.name), desired)
        earlier = [r for name in desired.renamed_from if (r := self._unique_live(desired.kind, live_key(name), desired))]
        earlier = [r for r in earlier if id(r) not in self.claimed]
        if current is not None and earlier:
            self._problem(
                desired,
                f"both {_quote(desired.name)} and its earlier name {_quote(earlier[0].name)} exist live "
                f"(ids {current.id}, {earlier[0].id}); cannot tell which one to keep",
                f"delete one of them in Klaviyo, or remove {_quote(earlier[0].name)} from renamed_from",
            )
            return current, False
        if current is not None:
            return current, False
        if len(earlier) > 1:
            self._problem(
                desired,
                f"several earlier names of {desired.address} exist live: {_names(r.name for r in earlier)}",
                "keep only the name that should be renamed in renamed_from",
            )
            return None, False
        return (earlier[0], True) if earlier else (None, False)

    def _claim(self, desired: Resource, live: Resource | None, renamed: bool = False) -> Change | None:
        if live is not None:
            self.claimed.add(id(live))
        change = choose_action(desired, live, renamed=renamed)
        if change is not None:
            self.result.changes.append(change)
        if live is not None and live.id and (change is None or change.action is not Action.REPLACE):
            self.result.live_ids[desired.address] = live.id
        if change is not None and change.action is Action.REPLACE and live is not None:
            self.removed.add(id(live))
        return change

    def _delete(self, live: Resource, reason: str) -> None:
        self.removed.add(id(live))
        action = Action.UNLINK if live.kind is Kind.LIST_TAG else Action.DELETE
        self.result.changes.append(Change(action, live.kind, live.key, None, live, (), reason))

    def _cascade(self, live: Resource, reason: str) -> None:
        if id(live) in self.removed:  # a link of a deleted list and a deleted tag goes once
            return
        self.removed.add(id(live))
        self.result.cascaded.append((live, reason))

    def _ignored(self, kind: Kind, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, glob) for glob in self.project.ignore.get(kind, ()))

    def _prune_or_keep(self, kind: Kind, live: Resource, managed: list[Resource]) -> None:
        """A live top-level object no declaration claimed: delete it when pruned, else leave it unmanaged."""
        if self._ignored(kind, live.name):
            self.result.unmanaged.append(live)
        elif kind is Kind.TAG_GROUP and live.attrs.get("default"):
            self.result.unmanaged.append(live)  # the default group always exists and cannot be deleted
        elif self.project.prune.get(kind, False):
            managed.append(live)
            self._delete(live, f"not in the manifests, and {kind.spec.section} are pruned")
        else:
            self.result.unmanaged.append(live)

    def _problem(self, desired: Resource | None, message: str, hint: str) -> None:
        origin = (desired.origin if desired else None) or Origin(ROOT_MANIFEST, 1, 1)
        self.problems.append(Problem(origin.file, origin.line, origin.column, message, hint))

    # -- kinds, least dependent first -----------------------------------------------------------------------

    def _tag_groups(self) -> None:
        managed: list[Resource] = []
        for desired in self.desired.of_kind(Kind.TAG_GROUP):
            live, renamed = self._match(desired, lambda name: (name,))
            if live is not None:
                managed.append(live)
            change = self._claim(desired, live, renamed)
            replaced = change is not None and change.action is Action.REPLACE
            if replaced and live is not None and live.attrs.get("default"):
                self._problem(
                    desired,
                    f"{desired.address} is Klaviyo's default tag group, which cannot be deleted, so its exclusive "
                    "setting cannot change",
                    "keep `exclusive` as it is in Klaviyo, or declare a new group under another name",
                )
            self.groups[desired.name] = None if replaced else live
            if live is None or replaced:
                self.fates[desired.rid] = "is replaced (Klaviyo deletes its tags with it)" if replaced else "is new"
            if replaced and live is not None:
                self._cascade_group(live, f"its tag group {_quote(live.name)} is replaced", desired.name)
        for live in self._all_live(Kind.TAG_GROUP):
            if id(live) not in self.claimed:
                self._prune_or_keep(Kind.TAG_GROUP, live, managed)
                if id(live) in self.removed:
                    self._cascade_group(live, f"its tag group {_quote(live.name)} is deleted")
        self.result.managed_counts[Kind.TAG_GROUP] = len(managed)

    def _cascade_group(self, group: Resource, reason: str, desired_group: str | None = None) -> None:
        """Klaviyo deletes a group's tags and their links with it; declared tags of a replaced group go too."""
        declared = [d for d in self.desired.of_kind(Kind.TAG) if d.key[0] == desired_group]
        for tag in self.tags_by_group.get(group.name, []):
            self._cascade(tag, reason)
            self._cascade_tag_links(tag, reason)
            for desired in declared:
                if desired.name == tag.name or tag.name in desired.renamed_from:
                    self.result.cascaded_desired.append((desired, reason))

    def _cascade_tag_links(self, tag: Resource, reason: str) -> None:
        for link in self.links_by_tag.get(tag.key, []):
            self._cascade(link, reason)

    def _tags(self) -> None:
        managed: list[Resource] = []
        live_group_names = {group.name: name for name, group in self.groups.items() if group is not None}
        declared_tags = {desired.key for desired in self.desired.of_kind(Kind.TAG)}
        for desired in self.desired.of_kind(Kind.TAG):
            group_name = desired.key[0]
            group = self.groups.get(group_name)
            if group is None:
                self.tags[desired.key] = None
                group_fate = self.fates[(Kind.TAG_GROUP, (group_name,))]
                self.fates[desired.rid] = "is new" if group_fate == "is new" else "is created again in its replaced group"
                reason = f"its tag group {_quote(group_name)} {group_fate}"
                self.result.changes.append(Change(Action.CREATE, Kind.TAG, desired.key, desired, None, (), reason))
                continue
            live, renamed = self._match(desired, lambda name, group=group: (group.name, name))
            if live is None and (moved := self._moved_tag(desired, live_group_names, declared_tags)) is not None:
                managed.append(moved)
                self.claimed.add(id(moved))
                self.removed.add(id(moved))
                self._cascade_tag_links(moved, f"its tag {_quote(moved.name)} moves to another group")
                old_group = live_group_names[moved.key[0]]
                reason = (
                    f"group changed: a tag cannot move between groups, so it is deleted from {_quote(old_group)} "
                    f"and created in {_quote(group_name)}"
                )
                fields = (FieldChange("group", old_group, group_name, forces_replacement=True),)
                self.result.changes.append(
                    Change(Action.REPLACE, Kind.TAG, desired.key, desired, moved, fields, reason, Kind.TAG.spec.replace_mode)
                )
                self.tags[desired.key] = None
                self.fates[desired.rid] = "moves to another group"
                continue
            if live is not None:
                managed.append(live)
            self._claim(desired, live, renamed)
            self.tags[desired.key] = live
            if live is None:
                self.fates[desired.rid] = "is new"
        kept_groups = {group.name for group in self.groups.values() if group is not None}
        for live in self._all_live(Kind.TAG):
            if id(live) in self.claimed or id(live) in self.removed:
                continue
            if live.key[0] in kept_groups:
                managed.append(live)
                self._delete(
                    live, f"not declared in tag group {_quote(live_group_names[live.key[0]])}, whose tags are fully managed"
                )
                self._cascade_tag_links(live, f"its tag {_quote(live.name)} is deleted")
            else:
                self.result.unmanaged.append(live)
        self.result.managed_counts[Kind.TAG] = len(managed) + sum(1 for r, _ in self.result.cascaded if r.kind is Kind.TAG)

    def _moved_tag(self, desired: Resource, live_group_names: dict[str, str], declared: set[Key]) -> Resource | None:
        """A live tag of the same name in another declared group, no longer declared there: a move."""
        for live_group, desired_group in sorted(live_group_names.items()):
            if desired_group == desired.key[0] or (desired_group, desired.name) in declared:
                continue
            candidate = self.live.get(Kind.TAG, (live_group, desired.name))
            if candidate is not None and id(candidate) not in self.claimed:
                return candidate
        return None

    def _flat(self, kind: Kind) -> dict[str, Resource | None]:
        """A kind keyed by name alone: match (or find under an earlier name), claim, then prune or keep the rest.
        Returns the live object each declared name keeps using (None: created)."""
        managed: list[Resource] = []
        kept: dict[str, Resource | None] = {}
        for desired in self.desired.of_kind(kind):
            live, renamed = self._match(desired, lambda name: (name,))
            if live is not None:
                managed.append(live)
            self._claim(desired, live, renamed)
            kept[desired.name] = live
        for live in self._all_live(kind):
            if id(live) not in self.claimed:
                self._prune_or_keep(kind, live, managed)
        self.result.managed_counts[kind] = len(managed)
        return kept

    def _lists(self) -> None:
        self.lists = self._flat(Kind.LIST)
        for live in self._all_live(Kind.LIST):
            if id(live) in self.removed:
                for link in self.links_by_list.get(live.name, []):
                    self._cascade(link, f"its list {_quote(live.name)} is deleted")

    def _templates(self) -> None:
        self._flat(Kind.TEMPLATE)
        for change in list(self.result.changes):
            if change.action is Action.CLONE and change.desired is not None:
                self._check_clone_source(change.desired)

    def _check_clone_source(self, desired: Resource) -> None:
        source_name = desired.clone_from or ""
        declared_source = self.desired.get(Kind.TEMPLATE, (source_name,))
        source = declared_source or self._unique_live(Kind.TEMPLATE, (source_name,), desired)
        editor = desired.attrs.get("editor_type")
        if source is not None and editor is not None and source.attrs.get("editor_type") not in (None, editor):
            # A copy keeps its source's editor; a different one would show as a replace on every plan after.
            self._problem(
                desired,
                f"{desired.address} has editor_type {editor}, but a clone keeps the editor of its source "
                f"{_quote(source_name)}, which is {source.attrs['editor_type']}",
                f"set editor_type: {source.attrs['editor_type']} on {desired.address}, or create it without clone_from",
            )
        if declared_source is not None:
            return  # created or kept by this plan; apply clones after it
        if source is None and (Kind.TEMPLATE, (source_name,)) not in self.live.conflicts:
            self._problem(
                desired,
                f"{desired.address} is cloned from template {_quote(source_name)}, which is neither declared nor in the account",
                "declare the source template, fix the clone_from name, or create the source in Klaviyo first",
            )
        elif source is not None and id(source) in self.removed:
            self._problem(
                desired,
                f"{desired.address} is cloned from template {_quote(source_name)}, which this plan deletes "
                "(templates are pruned)",
                f"declare {_quote(source_name)} in the manifests or add it to ignore.templates",
            )
        elif source is not None and source.id:
            self.result.live_ids[source.address] = source.id

    def _links(self) -> None:
        managed: list[Resource] = []
        for desired in self.desired.of_kind(Kind.LIST_TAG):
            list_name, group_name, tag_name = desired.key
            live_list = self.lists.get(list_name)
            live_tag = self.tags.get((group_name, tag_name))
            live = None
            if live_list is not None and live_tag is not None:
                live = self.live.get(Kind.LIST_TAG, (live_list.name, *live_tag.key))
            if live is not None and id(live) not in self.removed:
                managed.append(live)
                self.claimed.add(id(live))
                continue
            if live_list is None:
                reason = f"its list {_quote(list_name)} is new"
            elif live_tag is None:
                fate = self.fates.get((Kind.TAG, (group_name, tag_name)), "is new")
                reason = f"its tag {_quote(group_name + '/' + tag_name)} {fate}"
            else:
                reason = "declared in the list's tags, not linked in the account"
            self.result.changes.append(Change(Action.LINK, Kind.LIST_TAG, desired.key, desired, None, (), reason))
        kept_lists = {live.name for live in self.lists.values() if live is not None}
        for live in self._all_live(Kind.LIST_TAG):
            if id(live) in self.claimed or id(live) in self.removed:
                continue
            if live.key[0] in kept_lists:
                managed.append(live)
                self._delete(live, "not declared in the list's tags (the tags of a declared list are fully managed)")
        cascaded = sum(1 for r, _ in self.result.cascaded if r.kind is Kind.LIST_TAG and r.key[0] in kept_lists)
        self.result.managed_counts[Kind.LIST_TAG] = len(managed) + cascaded

    def _flow_emails(self) -> None:
        """Flow emails are only ever updated: each declared one must be exactly one plain send-email of exactly one
        live flow. Emails nobody declared are out of scope (flows are built in Klaviyo, never pruned)."""
        changed_templates = {c.key[0]: c for c in self.result.changes if c.kind is Kind.TEMPLATE and c.desired is not None}
        managed = 0
        for desired in self.desired.of_kind(Kind.FLOW_EMAIL):
            live = self._live_flow_email(desired)
            if live is None:
                continue
            managed += 1
            self.claimed.add(id(live))
            change = choose_action(desired, live)
            if live.id:
                self.result.live_ids[desired.address] = live.id
            if change is None:
                continue
            template = desired.attrs.get("template")
            if isinstance(template, str) and any(f.field in ("html", "text") for f in change.fields):
                source = changed_templates.get(template)
                follows = f"follows template {_quote(template)}"
                reason = f"{follows}, which this plan changes" if source is not None else f"{change.reason}; it {follows}"
                change = Change(change.action, change.kind, change.key, desired, live, change.fields, reason)
            self.result.changes.append(change)
        self.result.managed_counts[Kind.FLOW_EMAIL] = managed

    def _live_flow_email(self, desired: Resource) -> Resource | None:
        """The one live email `desired` names, or None with the problem recorded."""
        flow_name, email_name = desired.key
        flow_ids = self.live.flows.get(flow_name, [])
        if not flow_ids:
            close = difflib.get_close_matches(flow_name, list(self.live.flows), n=1, cutoff=0.6)
            suggestion = f'did you mean "{close[0]}"? ' if close else ""
            self._problem(
                desired,
                f"no flow named {_quote(flow_name)} in the account",
                f"{suggestion}flows are built in Klaviyo's flow editor; declare one by its exact name there",
            )
            return None
        if len(flow_ids) > 1:
            self._problem(
                desired,
                f"{len(flow_ids)} live flows are named {_quote(flow_name)} (ids {', '.join(flow_ids)}); cannot tell which "
                f"one {desired.address} means",
                "rename or archive all but one of them in Klaviyo",
            )
            return None
        duplicates = self.live.conflicts.get(desired.rid)
        if duplicates:
            ids = ", ".join(f"{r.id} (action {r.attrs.get('action_id')})" for r in duplicates)
            self._problem(
                desired,
                f"flow {_quote(flow_name)} has {len(duplicates)} emails named {_quote(email_name)} (messages {ids}); "
                "cannot tell which one is meant",
                "give each email in the flow its own name in Klaviyo's flow editor",
            )
            return None
        live = self.live.get(Kind.FLOW_EMAIL, desired.key)
        if live is None:
            names = sorted({r.key[1] for r in self.live.of_kind(Kind.FLOW_EMAIL) if r.key[0] == flow_name})
            close = difflib.get_close_matches(email_name, names, n=1, cutoff=0.6)
            listed = f"its emails are {_names(_quote(n) for n in names)}" if names else "it has no emails"
            self._problem(
                desired,
                f"flow {_quote(flow_name)} has no email named {_quote(email_name)}; {listed}",
                f'did you mean "{close[0]}"?' if close else "use the email's name as the flow editor shows it",
            )
            return None
        if live.attrs.get("action_type") != SEND_EMAIL:
            self._problem(
                desired,
                f"{_quote(email_name)} in flow {_quote(flow_name)} is a variant of an A/B test (action "
                f"{live.attrs.get('action_id')}, message {live.id}), not a plain send-email action",
                "end the A/B test in Klaviyo's flow editor first; klaviyo-sync manages plain send-email actions only",
            )
            return None
        return live


def _quote(name: str) -> str:
    return f'"{name}"'


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)

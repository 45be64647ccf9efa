"""Checks across all manifest files: duplicates, references, clone chains, renames, ignore globs and limits."""

from __future__ import annotations

import difflib
import fnmatch
from collections import defaultdict
from collections.abc import Mapping

from klaviyo_sync.errors import Problem
from klaviyo_sync.kinds import KINDS
from klaviyo_sync.lock import LOCK_NAME
from klaviyo_sync.manifest.declarations import Declared
from klaviyo_sync.resources import Kind, ResourceId
from klaviyo_sync.scratch import PREFIXES

# Klaviyo's account limits are each kind's (`KindSpec.limit`); the per-file parts are in the schema, these count
# across files.


def _label(declared: Declared) -> str:
    resource = declared.resource
    if resource.kind is Kind.TAG:
        return f'tag "{resource.key[1]}" in group "{resource.key[0]}"'
    if resource.kind is Kind.FLOW_EMAIL:
        return f'email "{resource.key[1]}" of flow "{resource.key[0]}"'
    return f'{resource.kind.spec.label} "{resource.name}"'


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else ""


def check_all(declared: list[Declared], ignore: Mapping[Kind, tuple[str, ...]]) -> list[Problem]:
    first: dict[ResourceId, Declared] = {}
    problems = check_duplicates(declared, first)
    problems += check_list_tags(declared, first)
    problems += check_clones(declared, first)
    problems += check_renames(declared, first)
    problems += check_ignored(declared, ignore)
    problems += check_limits(declared)
    problems += check_reserved(declared)
    return problems


def check_reserved(declared: list[Declared]) -> list[Problem]:
    """The apply lock's marker block has a name of its own, and scratch templates a prefix (`klaviyo_sync.scratch`):
    a declared template may not take them (the live reader leaves such templates out of the account it shows)."""
    return [
        item.problem(
            ("name",),
            f'the universal content block name "{LOCK_NAME}" is reserved: apply uses a block of that name as its lock',
            "choose another name",
        )
        for item in declared
        if item.resource.kind is Kind.UNIVERSAL_CONTENT and item.resource.name == LOCK_NAME
    ] + [
        item.problem(
            ("name",),
            f'template names starting with "{item.resource.name[: len(prefix)]}" are reserved for templates '
            "klaviyo-sync makes for a moment and deletes",
            "choose another name",
        )
        for item in declared
        if item.resource.kind is Kind.TEMPLATE
        for prefix in PREFIXES
        if item.resource.name.startswith(prefix)
    ]


def check_duplicates(declared: list[Declared], first: dict[ResourceId, Declared]) -> list[Problem]:
    """Fills `first` (the first declaration of every key) and reports later ones."""
    problems = []
    repeated_groups: set[tuple[int, object]] = set()  # (file, node) of tag groups declared a second time
    for item in declared:
        rid = item.resource.rid
        if rid not in first:
            first[rid] = item
            continue
        if item.resource.kind is Kind.LIST_TAG:
            continue  # a repeated list already reports itself
        if item.resource.kind is Kind.TAG and (id(item.doc), item.path[:2]) in repeated_groups:
            continue  # the repeated group already reports itself
        if item.resource.kind is Kind.TAG_GROUP:
            repeated_groups.add((id(item.doc), item.path))
        earlier = first[rid]
        problems.append(
            item.problem(
                ("name",) if item.resource.kind is not Kind.TAG or isinstance(_node(item), dict) else (),
                f"duplicate {_label(item)}: also declared at {earlier.resource.origin}",
                "names identify objects; rename or remove one of them",
            )
        )
    return problems


def _node(item: Declared) -> object:
    data: object = item.doc.data
    for part in item.path:
        data = data[part]  # type: ignore[index]
    return data


def check_list_tags(declared: list[Declared], first: dict[ResourceId, Declared]) -> list[Problem]:
    problems = []
    groups = {item.resource.name: item for item in declared if item.resource.kind is Kind.TAG_GROUP}
    tags_of: dict[str, list[str]] = defaultdict(list)
    for item in declared:
        if item.resource.kind is Kind.TAG:
            tags_of[item.resource.key[0]].append(item.resource.key[1])
    used: dict[tuple[str, str], list[Declared]] = defaultdict(list)
    reported_groups: set[tuple[int, str]] = set()
    for item in declared:
        if item.resource.kind is not Kind.LIST_TAG or first.get(item.resource.rid) is not item:
            continue
        list_name, group, tag = item.resource.key
        group_path = item.path[:4]
        if group not in groups:
            marker = (id(item.doc), str(group_path))
            if marker not in reported_groups:
                reported_groups.add(marker)
                problems.append(
                    item.doc.problem(
                        group_path,
                        f'list "{list_name}" uses tag group "{group}", which is not declared',
                        _suggest(group, list(groups)) or f"declare it under tag_groups: with - name: {group}",
                        key=True,
                    )
                )
            continue
        if tag not in tags_of[group]:
            problems.append(
                item.problem(
                    (),
                    f'list "{list_name}" uses tag "{tag}", which is not declared in tag group "{group}"',
                    _suggest(tag, tags_of[group]) or f'add "{tag}" to the tags of tag group "{group}"',
                )
            )
            continue
        used[(list_name, group)].append(item)
    for (list_name, group), links in used.items():
        if groups[group].resource.attrs.get("exclusive") and len(links) > 1:
            names = ", ".join(f'"{link.resource.key[2]}"' for link in links)
            problems.append(
                links[1].doc.problem(
                    links[1].path[:4],
                    f'list "{list_name}" has {len(links)} tags of exclusive tag group "{group}" ({names})',
                    "a list can carry only one tag of an exclusive group; keep one",
                    key=True,
                )
            )
    return problems


def check_clones(declared: list[Declared], first: dict[ResourceId, Declared]) -> list[Problem]:
    problems = []
    templates = {item.resource.name: item for item in declared if item.resource.kind is Kind.TEMPLATE}
    reported: set[str] = set()
    for name, item in sorted(templates.items()):
        source = item.resource.clone_from
        if source is None:
            continue
        if source == name:
            problems.append(item.problem(("clone_from",), f'template "{name}" is cloned from itself', "name another template"))
            continue
        chain = [name]
        while source in templates and source not in chain:
            chain.append(source)
            source = templates[source].resource.clone_from
        if source is not None and source in chain and name not in reported:
            cycle = chain[chain.index(source) :]
            reported.update(cycle)
            path = " → ".join(f'"{step}"' for step in [*cycle, source])
            problems.append(
                templates[cycle[0]].problem(
                    ("clone_from",),
                    f"templates are cloned from each other in a cycle: {path}",
                    "one of them must not use clone_from",
                )
            )
    return problems


def check_renames(declared: list[Declared], first: dict[ResourceId, Declared]) -> list[Problem]:
    problems = []
    claimed: dict[ResourceId, Declared] = {}
    for item in declared:
        resource = item.resource
        if first.get(resource.rid) is not item:
            continue
        for index, old in enumerate(resource.renamed_from):
            field = ("renamed_from",) if isinstance(_renamed_node(item), str) else ("renamed_from", index)
            old_rid = (resource.kind, (*resource.key[:-1], old))
            if old == resource.name:
                problems.append(item.problem(field, f"{_label(item)} lists its own name in renamed_from", "remove it"))
            elif old_rid in first:
                problems.append(
                    item.problem(
                        field,
                        f'renamed_from "{old}" names a {resource.kind.spec.label} that is still declared at '
                        f"{first[old_rid].resource.origin}",
                        "an object cannot be renamed and still exist: remove the old declaration or the renamed_from entry",
                    )
                )
            elif old_rid in claimed:
                problems.append(
                    item.problem(
                        field,
                        f'renamed_from "{old}" is also claimed by {_label(claimed[old_rid])} '
                        f"at {claimed[old_rid].resource.origin}",
                        "only one object can take over an old name",
                    )
                )
            else:
                claimed[old_rid] = item
    return problems


def _renamed_node(item: Declared) -> object:
    node = _node(item)
    return node.get("renamed_from") if isinstance(node, dict) else None


def check_ignored(declared: list[Declared], ignore: Mapping[Kind, tuple[str, ...]]) -> list[Problem]:
    problems = []
    for item in declared:
        patterns = ignore.get(item.resource.kind, ())
        match = next((pattern for pattern in patterns if fnmatch.fnmatchcase(item.resource.name, pattern)), None)
        if match is not None:
            problems.append(
                item.problem(
                    ("name",),
                    f'{_label(item)} is declared but matches the ignore pattern "{match}"',
                    "ignored names are never touched; rename the object or narrow the pattern",
                )
            )
    return problems


def check_limits(declared: list[Declared]) -> list[Problem]:
    problems = []
    by_kind: dict[Kind, list[Declared]] = defaultdict(list)
    for item in declared:
        by_kind[item.resource.kind].append(item)
    for spec in KINDS:
        items = by_kind[spec.kind]
        if spec.limit is not None and len(items) > spec.limit.maximum:
            kind, limit, what = spec.kind, spec.limit.maximum, spec.limit.declared_label
            problems.append(
                items[limit].problem(
                    (), f"{len(items)} {kind.spec.label}s are declared; Klaviyo allows at most {limit} {what}", "remove some"
                )
            )
        per_parent = spec.per_parent
        if per_parent is None:
            continue
        children: dict[str, list[Declared]] = defaultdict(list)
        for item in items:
            children[item.resource.key[0]].append(item)
        parent = per_parent.parent.spec.label
        for parent_name, held in children.items():
            if len(held) > per_parent.maximum:
                problems.append(
                    held[per_parent.maximum].problem(
                        (),
                        f'{parent} "{parent_name}" has {len(held)} {per_parent.what}; Klaviyo allows at most '
                        f"{per_parent.maximum} per {parent}",
                        "remove some",
                    )
                )
    return problems

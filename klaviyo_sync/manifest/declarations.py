"""Turning parsed manifest files into declared resources, each remembering where it was written.

Building is defensive: a file with schema problems still yields the objects that are well-formed, so the
cross-file checks can report everything in one run; malformed parts are skipped (the schema already said why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from klaviyo_sync.errors import Problem
from klaviyo_sync.kinds import KINDS
from klaviyo_sync.manifest.yamlfile import YamlDocument, YamlPath
from klaviyo_sync.resources import Kind, Origin, Resource


@dataclass
class Declared:
    """A desired resource plus the file and node it came from (for precise problems)."""

    resource: Resource
    doc: YamlDocument
    path: YamlPath  # the node of the object (for a list_tag: the tag name)
    files: dict[str, str]  # field -> path as written (a template's html, text, definition)
    transactional: bool = False  # templates: sent for an order or an account, so no unsubscribe link is needed
    profiles: tuple[str, ...] = ()  # templates: preview profiles, paths as written

    def problem(self, field: YamlPath, message: str, hint: str = "", *, key: bool = False) -> Problem:
        return self.doc.problem((*self.path, *field), message, hint, key=key)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str) and item.strip())
    return ()


def _origin(doc: YamlDocument, path: YamlPath) -> Origin:
    line, column = doc.locate(path)
    return Origin(doc.file, line, column)


def _items(doc: YamlDocument, section: str) -> list[tuple[YamlPath, dict[str, Any]]]:
    data = doc.data if isinstance(doc.data, dict) else {}
    items = data.get(section)
    if not isinstance(items, list):
        return []
    return [((section, index), item) for index, item in enumerate(items) if isinstance(item, dict) and _text(item.get("name"))]


def declare(doc: YamlDocument) -> list[Declared]:
    """Every resource a file declares, in file order."""
    declared: list[Declared] = []

    def add(
        resource: Resource,
        path: YamlPath,
        files: dict[str, str] | None = None,
        *,
        transactional: bool = False,
        profiles: tuple[str, ...] = (),
    ) -> None:
        declared.append(Declared(resource, doc, path, files or {}, transactional, profiles))

    for path, item in _items(doc, "tag_groups"):
        group = item["name"]
        exclusive = item.get("exclusive") if isinstance(item.get("exclusive"), bool) else False
        add(
            Resource(
                Kind.TAG_GROUP,
                (group,),
                {"exclusive": exclusive},
                origin=_origin(doc, path),
                renamed_from=_names(item.get("renamed_from")),
                prevent_destroy=item.get("prevent_destroy") is True,
            ),
            path,
        )
        tags = item.get("tags") if isinstance(item.get("tags"), list) else []
        for index, tag in enumerate(tags):
            tag_path = (*path, "tags", index)
            spec = tag if isinstance(tag, dict) else {"name": tag}
            name = _text(spec.get("name"))
            if name is None:
                continue
            add(
                Resource(
                    Kind.TAG,
                    (group, name),
                    {},
                    origin=_origin(doc, tag_path),
                    renamed_from=_names(spec.get("renamed_from")),
                    prevent_destroy=spec.get("prevent_destroy") is True,
                ),
                tag_path,
            )

    for path, item in _items(doc, "lists"):
        name = item["name"]
        attrs = {"opt_in_process": item["opt_in_process"]} if isinstance(item.get("opt_in_process"), str) else {}
        add(
            Resource(
                Kind.LIST,
                (name,),
                attrs,
                origin=_origin(doc, path),
                renamed_from=_names(item.get("renamed_from")),
                prevent_destroy=item.get("prevent_destroy") is True,
            ),
            path,
        )
        tags_by_group = item.get("tags") if isinstance(item.get("tags"), dict) else {}
        for group, tags in tags_by_group.items():
            group_path = (*path, "tags", group)
            located = [(group_path, tags)] if isinstance(tags, str) else list(_indexed(group_path, tags))
            for tag_path, tag in located:
                if _text(tag):
                    add(Resource(Kind.LIST_TAG, (name, group, tag), {}, origin=_origin(doc, tag_path)), tag_path)

    for path, item in _items(doc, "flows"):
        emails = item.get("emails") if isinstance(item.get("emails"), list) else []
        for index, email in enumerate(emails):
            email_path = (*path, "emails", index)
            if not isinstance(email, dict) or _text(email.get("name")) is None:
                continue
            from klaviyo_sync.manifest.flows import email_attrs  # flows.py builds on this module

            add(
                Resource(Kind.FLOW_EMAIL, (item["name"], email["name"]), email_attrs(email), origin=_origin(doc, email_path)),
                email_path,
                {field: email[field] for field in ("html", "text") if _text(email.get(field))},
                transactional=email.get("transactional") is True,
                profiles=_names(email.get("profiles")),
            )

    for spec in KINDS:  # kinds declared by flat entries (templates, universal content blocks)
        if spec.declare is None or spec.section is None:
            continue
        for path, item in _items(doc, spec.section):
            files = {field: item[field] for field in spec.file_fields if _text(item.get(field))}
            add(
                Resource(
                    spec.kind,
                    (item["name"],),
                    spec.declare(item),
                    origin=_origin(doc, path),
                    renamed_from=_names(item.get("renamed_from")),
                    prevent_destroy=item.get("prevent_destroy") is True,
                    clone_from=_text(item.get("clone_from")),
                ),
                path,
                files,
                transactional=item.get("transactional") is True,
                profiles=_names(item.get("profiles")),
            )
    return declared


def _indexed(path: YamlPath, values: Any) -> list[tuple[YamlPath, Any]]:
    if not isinstance(values, list):
        return []
    return [((*path, index), value) for index, value in enumerate(values)]

"""Flow emails in the manifests: declared under `flows:` → `emails:`, and bound to the library templates they follow.

An email that follows a template (`template: NAME`) sends that template's HTML and text: its desired content is
the declared template's, so a change to the template shows as a change to every email that follows it. Only a
template declared in the project can be followed, since only then does the plan know its content; and only one
with HTML (a drag-and-drop template's HTML is Klaviyo's to generate).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from klaviyo_sync.errors import Problem
from klaviyo_sync.kinds.flow_emails import CONTENT_FIELDS, MESSAGE_FIELDS
from klaviyo_sync.manifest.declarations import Declared
from klaviyo_sync.resources import Kind

SECTION = "flows"


def email_attrs(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The managed attributes an `emails:` entry sets besides its files: message fields, status, the template."""
    attrs = {name: entry[name] for name in (*MESSAGE_FIELDS, "status") if name in entry}
    if isinstance(entry.get("template"), str):
        attrs["template"] = entry["template"]
    return attrs


def bind_templates(declared: list[Declared]) -> list[Problem]:
    """Give each email that follows a template that template's content; the problems of those that cannot."""
    templates = {item.resource.name: item.resource for item in declared if item.resource.kind is Kind.TEMPLATE}
    problems = []
    for item in declared:
        resource = item.resource
        name = resource.attrs.get("template") if resource.kind is Kind.FLOW_EMAIL else None
        if not isinstance(name, str):
            continue
        template = templates.get(name)
        if template is None:
            close = difflib.get_close_matches(name, list(templates), n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"?' if close else "declare the template under `templates:`, or use `html:` here"
            problems.append(
                item.problem(("template",), f'{resource.address} follows template "{name}", which is not declared', hint)
            )
            continue
        if template.attrs.get("html") is None:
            problems.append(
                item.problem(
                    ("template",),
                    f'{resource.address} follows template "{name}", which has no HTML of its own (a drag-and-drop or '
                    "cloned template)",
                    "follow a template with `html:`, or give the email `html:` directly",
                )
            )
            continue
        content = {field: template.attrs[field] for field in CONTENT_FIELDS if template.attrs.get(field) is not None}
        item.resource = resource.with_(attrs={**resource.attrs, **content})
    return problems

"""What a preview renders: the templates, flow emails and universal content (html) blocks the plan would create or
change, or every declared one (`--all`), narrowed by `--target`.

A flow email is previewed as what it sends: before, the copy Klaviyo sends now (which may differ from its library
template: a copy is frozen when the email is pointed at it); after, the content the manifests give it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from klaviyo_sync.diff import compare
from klaviyo_sync.errors import ConfigError
from klaviyo_sync.plan.lint import CONTENT_WRITES
from klaviyo_sync.plan.targets import parse_target
from klaviyo_sync.resources import Change, Key, Kind, Resource, State

PREVIEWED = (Kind.TEMPLATE, Kind.FLOW_EMAIL, Kind.UNIVERSAL_CONTENT)


def preview_name(resource: Resource) -> str:
    """How a page names what it shows: a template by its name, a flow email as `Flow / Email`, a block as
    `Block: Name`."""
    if resource.kind is Kind.UNIVERSAL_CONTENT:
        return f"Block: {resource.name}"
    return " / ".join(resource.key)


def choose(project: Any, live: State | None, *, every: bool, targets: Sequence[str]) -> tuple[list[Any], list[str]]:
    """The targets to render, and notes about objects that cannot be previewed here."""
    from klaviyo_sync.preview.pages import Target

    wanted = [_target(target, project.state) for target in targets]
    changed: dict[tuple[Kind, Key], Change] = {}
    if live is not None:
        for change in compare(project, live).changes:
            content = change.kind is Kind.TEMPLATE or any(f.field in change.kind.spec.content_fields for f in change.fields)
            if change.kind in PREVIEWED and change.action in CONTENT_WRITES and change.desired is not None and content:
                changed[change.rid] = change
    if wanted:
        chosen = wanted
    elif every or live is None:
        chosen = [r.rid for kind in PREVIEWED for r in project.state.of_kind(kind) if kind is Kind.TEMPLATE or every]
    else:
        chosen = sorted(changed, key=lambda rid: (PREVIEWED.index(rid[0]), rid[1]))
    live_by_key = _unique_live(live)
    result, notes = [], []
    for rid in chosen:
        desired = project.state.get(*rid)
        if desired.attrs.get("html") is None:
            why = "a drag-and-drop template; Klaviyo renders its definition, so it is not previewed here"
            notes.append(
                f"{desired.name}: {why}"
                if desired.kind is Kind.TEMPLATE
                else f"block {desired.name}: only html blocks are previewed"
            )
            continue
        change = changed.get(rid)
        new = change is not None and change.live is None
        before = None if new else (change.live if change is not None else live_by_key.get(rid))
        if new or (change is None and before is None and live is not None):
            status = "new"
        else:
            status = "changed" if change is not None else "unchanged"
        name = preview_name(desired)
        warnings_key = desired.name if desired.kind is Kind.TEMPLATE else desired.address
        warnings = len(getattr(project, "template_warnings", {}).get(warnings_key, ()))
        result.append(Target(name, status, _attrs(before), _attrs(desired), warnings, desired.kind.spec.label))
    return result, notes


def _target(target: str, desired: State) -> tuple[Kind, Key]:
    """`template:NAME` or `flow_email:FLOW/EMAIL` (a bare name is a template), declared in the manifests."""
    if ":" not in target:
        target = f"template:{target}"
    try:
        kind, key = parse_target(target, desired, State())
    except ConfigError:
        raise ConfigError(
            f"--target {target!r} is not a declared template, flow email or universal content block",
            hint="name one of the manifests: --target template:NAME, flow_email:FLOW/EMAIL or universal_content:NAME",
        ) from None
    if kind not in PREVIEWED:
        raise ConfigError(
            f"--target {target!r}: only templates, flow emails and universal content blocks are previewed",
            hint="use --target template:NAME",
        )
    return kind, key


def _unique_live(live: State | None) -> dict[tuple[Kind, Key], Resource]:
    if live is None:
        return {}
    return {r.rid: r for kind in PREVIEWED for r in live.of_kind(kind) if r.rid not in live.conflicts}


def _attrs(resource: Resource | None) -> dict[str, Any] | None:
    if resource is None or resource.attrs.get("html") is None:
        return None
    return {"html": resource.attrs.get("html"), "text": resource.attrs.get("text"), "id": resource.id}

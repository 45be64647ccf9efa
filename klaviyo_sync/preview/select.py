"""Which templates a preview renders: those the plan would create or change, or every declared one (`--all`),
narrowed by `--target`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from klaviyo_sync.diff import compare
from klaviyo_sync.errors import ConfigError
from klaviyo_sync.plan.lint import CONTENT_WRITES
from klaviyo_sync.resources import Kind, Resource, State


def choose(project: Any, live: State | None, *, every: bool, targets: Sequence[str]) -> tuple[list[Any], list[str]]:
    """The targets to render, and notes about templates that cannot be previewed here."""
    from klaviyo_sync.preview.pages import Target

    names = [_target_name(target) for target in targets]
    declared = {template.name: template for template in project.state.of_kind(Kind.TEMPLATE)}
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise ConfigError(
            f"--target {unknown[0]!r} is not a declared template", hint="name a template of the manifests: --target template:NAME"
        )
    live_by_name = _live_by_name(live)
    changed: dict[str, str] = {}
    if live is not None:
        for change in compare(project, live).changes:
            if change.kind is Kind.TEMPLATE and change.action in CONTENT_WRITES and change.desired is not None:
                changed[change.desired.name] = "changed" if change.live is not None else "new"
    chosen = names or (sorted(declared) if every or live is None else sorted(changed))
    result, notes = [], []
    for name in chosen:
        desired = declared[name]
        if desired.attrs.get("html") is None:
            notes.append(f"{name}: a drag-and-drop template; Klaviyo renders its definition, so it is not previewed here")
            continue
        before = live_by_name.get(name) if changed.get(name) != "new" else None
        status = changed.get(name, "unchanged" if before is not None or live is None else "new")
        warnings = len(getattr(project, "template_warnings", {}).get(name, ()))
        result.append(Target(name, status, _attrs(before), _attrs(desired), warnings))
    return result, notes


def _target_name(target: str) -> str:
    kind, sep, name = target.partition(":")
    if sep and kind.strip().lower() == "template":
        return name
    if sep and kind.strip().lower() in ("list", "tag", "tag_group", "tag-group", "group", "list_tag"):
        raise ConfigError(f"--target {target!r}: only templates are previewed", hint="use --target template:NAME")
    return target


def _live_by_name(live: State | None) -> dict[str, Resource]:
    if live is None:
        return {}
    counts: dict[str, int] = {}
    for template in live.of_kind(Kind.TEMPLATE):
        counts[template.name] = counts.get(template.name, 0) + 1
    return {t.name: t for t in live.of_kind(Kind.TEMPLATE) if counts[t.name] == 1}


def _attrs(resource: Resource | None) -> dict[str, Any] | None:
    if resource is None or resource.attrs.get("html") is None:
        return None
    return {"html": resource.attrs.get("html"), "text": resource.attrs.get("text"), "id": resource.id}

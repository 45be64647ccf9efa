"""Hand-built States and projects for the pure diff/plan tests (no manifest files, no emulator)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klaviyo_sync.resources import Kind, Origin, Resource, State, content_hash


@dataclass
class Thresholds:
    update_fraction: float = 0.30
    delete_fraction: float = 0.30
    min_existing: int = 10
    max_profiles_affected: int | None = None
    origins: dict[str, Origin] = field(default_factory=dict)


@dataclass
class Project:
    """The fields of `klaviyo_sync.manifest.Project` that diff and plan read."""

    state: State
    prune: dict[Kind, bool] = field(default_factory=dict)
    ignore: dict[Kind, tuple[str, ...]] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    file_hashes: dict[str, str] = field(default_factory=lambda: {"klaviyo.yaml": "0" * 64})
    root: Path = Path(".")


_line = iter(range(1, 100_000))


def desired(kind: Kind, *key: str, attrs: Mapping[str, Any] | None = None, **meta: Any) -> Resource:
    defaults: dict[Kind, dict[str, Any]] = {Kind.TAG_GROUP: {"exclusive": False}, Kind.TEMPLATE: {"editor_type": "CODE"}}
    merged = {**defaults.get(kind, {}), **(attrs or {})}
    origin = meta.pop("origin", Origin("klaviyo.yaml", next(_line), 3))
    return Resource(kind, tuple(key), merged, origin=origin, **meta)


_ids = iter(range(1, 100_000))


def live(kind: Kind, *key: str, attrs: Mapping[str, Any] | None = None, id: str | None = None) -> Resource:
    defaults: dict[Kind, dict[str, Any]] = {
        Kind.TAG_GROUP: {"exclusive": False, "default": False},
        Kind.LIST: {"opt_in_process": "single_opt_in"},
        Kind.TEMPLATE: {"editor_type": "CODE", "html": "<p>x</p>", "text": None},
    }
    merged = {**defaults.get(kind, {}), **(attrs or {})}
    ident = id or f"{kind.value[:2].upper()}{next(_ids):04d}"
    return Resource(kind, tuple(key), merged, id=ident, version=content_hash(merged))


def link(list_res: Resource, tag_res: Resource) -> Resource:
    """A live list↔tag link between two live resources."""
    return Resource(Kind.LIST_TAG, (list_res.name, *tag_res.key), {}, id=f"{list_res.id}:{tag_res.id}", version=content_hash({}))


def state(resources: Iterable[Resource]) -> State:
    return State(resources)


def default_group() -> Resource:
    return live(Kind.TAG_GROUP, "Default", attrs={"default": True}, id="default-group")

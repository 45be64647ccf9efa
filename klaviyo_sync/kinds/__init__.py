"""The kind registry: every kind's spec, in dependency order (see `klaviyo_sync.kinds.base`).

Adding a kind: a `Kind` member and a module here that registers its `KindSpec`, imported below in rank order.
"""

from __future__ import annotations

from klaviyo_sync.kinds import (  # noqa: F401  (each registers its spec)
    flow_emails,
    list_tags,
    lists,
    tag_groups,
    tags,
    templates,
    universal_content,
)
from klaviyo_sync.kinds.base import REGISTRY, Action, Kind, KindSpec, ReplaceMode

KINDS: tuple[KindSpec, ...] = tuple(sorted(REGISTRY.values(), key=lambda spec: spec.rank))
# Kinds in the order deletes run: most dependent first.
DELETE_ORDER: tuple[Kind, ...] = tuple(spec.kind for spec in reversed(KINDS))
# Kinds the manifest declares in a section of their own, which can be pruned and ignored by name, by section.
SECTIONS: dict[str, Kind] = {spec.section: spec.kind for spec in KINDS if spec.section}
TEXT_FIELDS: frozenset[str] = frozenset(name for spec in KINDS for name in spec.text_fields)
CONTENT_FIELDS: frozenset[str] = frozenset(name for spec in KINDS for name in spec.content_fields)

__all__ = ["CONTENT_FIELDS", "DELETE_ORDER", "KINDS", "SECTIONS", "TEXT_FIELDS", "Action", "Kind", "KindSpec", "ReplaceMode"]

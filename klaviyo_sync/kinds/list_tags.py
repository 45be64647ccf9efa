"""List-tag links: declared in a list's `tags:`, keyed (list, group, tag); only linked or unlinked, in batches
per tag (one `tag_lists` request carries many lists); at most 100 tags on a list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_sync.kinds.base import Action, Kind, KindSpec, PerParent, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Key, Resource


def _needs(key: Key, desired: Resource | None) -> set[tuple[Kind, Key]]:
    return {(Kind.LIST, key[:1]), (Kind.TAG, key[1:])}


SPEC = register(
    KindSpec(
        Kind.LIST_TAG,
        "list tag",
        ("list", "group", "tag"),
        rank=5,
        actions=frozenset({Action.LINK, Action.UNLINK}),
        per_parent=PerParent(Kind.LIST, 100, "tags"),
        needs=_needs,
        # The calls go in batches per tag (`klaviyo_sync.apply.steps.run_link_batch`).
        requests=Requests({Action.LINK: "tag_lists", Action.UNLINK: "remove_tag_from_lists"}),
    )
)

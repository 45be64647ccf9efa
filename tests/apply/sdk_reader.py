"""Read an account with Klaviyo's official Python SDK (klaviyo-api 24.0.0): an independent check of what apply did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_api import KlaviyoAPI


def _all_pages(fetch: Callable[..., Any], **params: Any) -> tuple[list[Any], list[Any]]:
    data: list[Any] = []
    included: list[Any] = []
    cursor = None
    while True:
        page = fetch(**params, **({"page_cursor": cursor} if cursor else {}))
        data.extend(page.data or [])
        included.extend(getattr(page, "included", None) or [])
        cursor = page.links.next if page.links is not None else None
        if not cursor:
            return data, included


def read_account(base_url: str, api_key: str) -> dict[str, Any]:
    """{tag_groups: {name: exclusive}, tags: {(group, tag)}, lists: {name: (opt_in, {(group, tag)})},
    templates: {name: (editor_type, html, text)}}"""
    sdk = KlaviyoAPI(api_key, max_delay=0, max_retries=0, test_host=base_url)
    groups, _ = _all_pages(sdk.Tags.get_tag_groups)
    group_names = {g.id: g.attributes.name for g in groups}
    tags, _ = _all_pages(sdk.Tags.get_tags, include=["tag-group"])
    tag_keys = {t.id: (group_names[t.relationships.tag_group.data.id], t.attributes.name) for t in tags}
    lists, _ = _all_pages(sdk.Lists.get_lists, include=["tags"])
    templates, _ = _all_pages(sdk.Templates.get_templates)
    return {
        "counts": {"tag_groups": len(groups), "tags": len(tags), "lists": len(lists), "templates": len(templates)},
        "tag_groups": {g.attributes.name: g.attributes.exclusive for g in groups},
        "tags": set(tag_keys.values()),
        "lists": {
            item.attributes.name: (
                item.attributes.opt_in_process,
                {tag_keys[ref.id] for ref in (item.relationships.tags.data or [])},
            )
            for item in lists
        },
        "templates": {t.attributes.name: (t.attributes.editor_type, t.attributes.html, t.attributes.text) for t in templates},
    }

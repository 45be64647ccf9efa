"""The baseline: the same reads and writes with Klaviyo's official SDK (klaviyo-api 24.0.0), as a user writes them.

A straightforward script: walk every collection page by page, read each list's tags with one request per list,
compare with the data it holds, then create, update and link one object per request, in dependency order, with
the SDK's default retry on 429 (3 attempts, its own backoff and `Retry-After`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from bench.accounts import OPT_IN, AccountSpec


@dataclass
class LiveAccount:
    groups: dict[str, str] = field(default_factory=dict)  # name -> id
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (group, tag) -> id
    lists: dict[str, str] = field(default_factory=dict)  # name -> id
    list_tags: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # list name -> {(group, tag)}
    templates: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, html)
    blocks: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (id, html of an html block)


@dataclass
class Writes:
    groups: list[str] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    links: list[tuple[str, tuple[str, str]]] = field(default_factory=list)
    template_creates: list[str] = field(default_factory=list)
    template_updates: list[str] = field(default_factory=list)
    block_creates: list[str] = field(default_factory=list)
    block_updates: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(items) for items in vars(self).values())


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.to_dict()


def _pages(fetch: Callable[..., Any], **params: Any) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = _as_dict(fetch(**params, **({"page_cursor": cursor} if cursor else {})))
        data.extend(page.get("data") or [])
        next_link = (page.get("links") or {}).get("next")
        if not next_link:
            return data
        # The SDK extracts the cursor from https links only; the emulator serves plain http on loopback.
        cursor = parse_qs(urlparse(next_link).query)["page[cursor]"][0]


def read(sdk: Any) -> LiveAccount:
    live = LiveAccount()
    group_names = {}
    for group in _pages(sdk.Tags.get_tag_groups):
        group_names[group["id"]] = group["attributes"]["name"]
        live.groups[group["attributes"]["name"]] = group["id"]
    tag_keys = {}
    for tag in _pages(sdk.Tags.get_tags, include=["tag-group"]):
        key = (group_names[tag["relationships"]["tag-group"]["data"]["id"]], tag["attributes"]["name"])
        tag_keys[tag["id"]] = key
        live.tags[key] = tag["id"]
    for item in _pages(sdk.Lists.get_lists):
        name = item["attributes"]["name"]
        live.lists[name] = item["id"]
        tags = _as_dict(sdk.Lists.get_tags_for_list(item["id"])).get("data") or []
        live.list_tags[name] = {tag_keys[tag["id"]] for tag in tags if tag["id"] in tag_keys}
    for template in _pages(sdk.Templates.get_templates):
        live.templates[template["attributes"]["name"]] = (template["id"], template["attributes"]["html"])
    for block in _pages(sdk.Templates.get_all_universal_content, page_size=100):
        definition = block["attributes"].get("definition") or {}
        html = (definition.get("data") or {}).get("content") if definition.get("type") == "html" else None
        live.blocks[block["attributes"]["name"]] = (block["id"], html)
    return live


def compare(spec: AccountSpec, live: LiveAccount) -> Writes:
    writes = Writes()
    for group, tags in spec.tag_groups.items():
        if group not in live.groups:
            writes.groups.append(group)
        writes.tags.extend((group, tag) for tag in tags if (group, tag) not in live.tags)
    for name, tags in spec.lists:
        if name not in live.lists:
            writes.lists.append(name)
        have = live.list_tags.get(name, set())
        writes.links.extend((name, key) for key in tags if key not in have)
    for name, html in spec.templates.items():
        if name not in live.templates:
            writes.template_creates.append(name)
        elif live.templates[name][1] != html:
            writes.template_updates.append(name)
    for name, html in spec.blocks.items():
        if name not in live.blocks:
            writes.block_creates.append(name)
        elif live.blocks[name][1] != html:
            writes.block_updates.append(name)
    return writes


def write(sdk: Any, spec: AccountSpec, live: LiveAccount, writes: Writes) -> None:
    for group in writes.groups:
        body = {"data": {"type": "tag-group", "attributes": {"name": group, "exclusive": False}}}
        live.groups[group] = _as_dict(sdk.Tags.create_tag_group(body))["data"]["id"]
    for group, tag in writes.tags:
        relationship = {"tag-group": {"data": {"type": "tag-group", "id": live.groups[group]}}}
        body = {"data": {"type": "tag", "attributes": {"name": tag}, "relationships": relationship}}
        live.tags[(group, tag)] = _as_dict(sdk.Tags.create_tag(body))["data"]["id"]
    for name in writes.lists:
        body = {"data": {"type": "list", "attributes": {"name": name, "opt_in_process": OPT_IN}}}
        live.lists[name] = _as_dict(sdk.Lists.create_list(body))["data"]["id"]
    for list_name, key in writes.links:
        sdk.Tags.tag_lists(live.tags[key], {"data": [{"type": "list", "id": live.lists[list_name]}]})
    for name in writes.template_creates:
        body = {"data": {"type": "template", "attributes": {"name": name, "editor_type": "CODE", "html": spec.templates[name]}}}
        sdk.Templates.create_template(body)
    for name in writes.template_updates:
        template_id = live.templates[name][0]
        body = {"data": {"type": "template", "id": template_id, "attributes": {"html": spec.templates[name]}}}
        sdk.Templates.update_template(template_id, body)
    for name in writes.block_creates:
        attributes = {"name": name, "definition": _html_block(spec.blocks[name])}
        sdk.Templates.create_universal_content({"data": {"type": "template-universal-content", "attributes": attributes}})
    for name in writes.block_updates:
        block_id = live.blocks[name][0]
        attributes = {"definition": _html_block(spec.blocks[name])}
        body = {"data": {"type": "template-universal-content", "id": block_id, "attributes": attributes}}
        sdk.Templates.update_universal_content(block_id, body)


def _html_block(html: str) -> dict[str, Any]:
    return {"content_type": "block", "type": "html", "data": {"content": html, "display_options": {}}}


def client(base_url: str, api_key: str) -> Any:
    """The SDK with its defaults (retry on 429: 3 attempts, up to 60 s), pointed at the emulator."""
    from klaviyo_api import KlaviyoAPI

    return KlaviyoAPI(api_key, test_host=base_url)

"""Account sizes and the project (manifests + template files) generated for each, deterministically.

The same `AccountSpec` drives both sides: klaviyo-sync reads the manifests written from it, the SDK baseline
reads the spec itself (as a user's script would hold its own data).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Size:
    name: str
    templates: int
    lists: int
    tags: int
    tag_groups: int  # declared groups; the account's default group comes on top
    tags_per_list: int = 3
    blocks: int = 0  # universal content blocks (html blocks: shared headers, footers, legal text)
    min_kb: int = 20
    max_kb: int = 100


SIZES = {
    "small": Size("small", templates=20, lists=5, tags=10, tag_groups=2, blocks=5),
    "medium": Size("medium", templates=200, lists=40, tags=100, tag_groups=10, blocks=30),
    # Klaviyo's limits: 1,000 templates, 500 tags, 50 groups counting the default one.
    "large": Size("large", templates=1000, lists=150, tags=500, tag_groups=49, blocks=150),
}

OPT_IN = "single_opt_in"
WORDS = [
    "spring",
    "sale",
    "free",
    "shipping",
    "new",
    "arrivals",
    "bestsellers",
    "members",
    "only",
    "last",
    "chance",
    "thank",
    "you",
    "order",
]


@dataclass
class AccountSpec:
    """What the account should hold: {group: [tags]}, [(list, [(group, tag)])], {template name: html},
    {universal content block name: html}."""

    tag_groups: dict[str, list[str]]
    lists: list[tuple[str, list[tuple[str, str]]]]
    templates: dict[str, str]
    blocks: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> AccountSpec:
        lists = [(name, [(group, tag) for group, tag in tags]) for name, tags in data["lists"]]
        return AccountSpec(data["tag_groups"], lists, data["templates"], data.get("blocks", {}))


def generate(size: Size, seed: int = 7) -> AccountSpec:
    rng = random.Random(f"{seed}:{size.name}")
    groups: dict[str, list[str]] = {f"Group {g:02}": [] for g in range(size.tag_groups)}
    names = list(groups)
    for index in range(size.tags):
        groups[names[index % len(names)]].append(f"Tag {index:03}")
    # Each list takes one of the first ten tags of a few groups, so a tag sits on many lists (one request links
    # a tag to many lists; one request per link is what a naive script does).
    lists = []
    for index in range(size.lists):
        tags = []
        for offset in range(min(size.tags_per_list, len(names))):
            group = names[offset]
            members = groups[group]
            if members:
                tags.append((group, members[index % min(10, len(members))]))
        lists.append((f"List {index:03}", tags))
    templates = {
        f"Template {index:04}": _html(rng, index, rng.randint(size.min_kb, size.max_kb) * 1024) for index in range(size.templates)
    }
    blocks = {
        f"Block {index:03}": f"<p>Shared block {index}: " + " ".join(rng.choice(WORDS) for _ in range(30)) + "</p>\n"
        for index in range(size.blocks)
    }
    return AccountSpec(groups, lists, templates, blocks)


def _html(rng: random.Random, index: int, length: int) -> str:
    head = f"<!DOCTYPE html>\n<html>\n<head><title>Template {index}</title></head>\n<body>\n"
    tail = "</body>\n</html>\n"
    parts = [head]
    used = len(head) + len(tail)
    while used < length:
        paragraph = "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + "</p>\n"
        parts.append(paragraph)
        used += len(paragraph)
    parts.append(tail)
    return "".join(parts)


def update_templates(spec: AccountSpec, fraction: float = 0.10) -> list[str]:
    """Change the HTML of every 1/fraction-th template and block (10 %: one in ten); returns their names."""
    step = max(1, round(1 / fraction))
    changed = [name for index, name in enumerate(sorted(spec.templates)) if index % step == 0]
    for name in changed:
        spec.templates[name] = spec.templates[name].replace("<body>\n", "<body>\n<p>Updated for the benchmark.</p>\n", 1)
    blocks = [name for index, name in enumerate(sorted(spec.blocks)) if index % step == 0]
    for name in blocks:
        spec.blocks[name] = spec.blocks[name].replace("<p>", "<p>Updated: ", 1)
    return changed + blocks


def write_project(spec: AccountSpec, root: Path) -> Path:
    """Write klaviyo.yaml and one HTML file per template and block under `root`; returns `root`."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    templates = []
    for index, (name, html) in enumerate(sorted(spec.templates.items())):
        path = root / "templates" / f"t{index:04}.html"
        if not path.exists() or path.read_text(encoding="utf-8") != html:
            path.write_text(html, encoding="utf-8")
        templates.append({"name": name, "html": f"templates/{path.name}"})
    (root / "blocks").mkdir(exist_ok=True)
    blocks = []
    for index, (name, html) in enumerate(sorted(spec.blocks.items())):
        path = root / "blocks" / f"b{index:03}.html"
        if not path.exists() or path.read_text(encoding="utf-8") != html:
            path.write_text(html, encoding="utf-8")
        blocks.append({"name": name, "html": f"blocks/{path.name}"})
    manifest: dict[str, Any] = {
        "version": 1,
        "tag_groups": [{"name": group, "exclusive": False, "tags": tags} for group, tags in spec.tag_groups.items()],
        "lists": [
            {"name": name, "opt_in_process": OPT_IN, **({"tags": _tags_by_group(tags)} if tags else {})}
            for name, tags in spec.lists
        ],
        "universal_content": blocks,
        "templates": templates,
    }
    (root / "klaviyo.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (root / "account.json").write_text(json.dumps(spec.to_json()), encoding="utf-8")
    return root


def _tags_by_group(tags: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for group, tag in tags:
        grouped.setdefault(group, []).append(tag)
    return grouped

"""The preview scenario: `klaviyo-sync preview` of a project's templates, offline and through Klaviyo's template-render.

The project declares `templates` CODE templates of about `kb` KiB in Klaviyo's template language (variables with
filters, conditions, a loop, the unsubscribe tag); the account holds them all, `changed` of them with other HTML.
Rows:
- `offline`: `preview --offline`, every declared template rendered by klaviyo-sync's own renderer of the language
  (`klaviyo_sync.language`). No request: its bound is 0 requests and it has no wall-time bound (it is CPU time);
  the official SDK cannot render without an account, so it has no baseline.
- `klaviyo`: `preview --with-klaviyo`, the templates the plan changes, before and after, for each sample (one here:
  the default context). Each render creates a scratch template, renders it (template-render: 3/s, 60/m) and deletes
  it. Bound: the account's identity and read (`bounds.read_requests`), then every render's create, render and
  delete chained, each sent as soon as its operation's fixed windows allow (concurrency unlimited), each answered
  after the latency. The SDK baseline reads the templates page by page, then for each changed template and side
  creates, renders and deletes a template, one request at a time, with its default retry on 429.

Screenshots are left out: the measured command runs with `KLAVIYO_SYNC_CHROMIUM` naming a file that does not exist,
so `find_chromium()` finds none and the figures are the rendering's, not Chromium's.
"""

from __future__ import annotations

import heapq
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from bench import bounds
from bench.accounts import WORDS

# A path no Chromium is at: `find_chromium()` returns None when the variable names a file that does not exist.
NO_CHROMIUM = "/nonexistent/klaviyo-sync-bench/chromium"
RENDER = ("create_template", "render_template", "delete_template")


@dataclass(frozen=True)
class PreviewSize:
    name: str
    templates: int  # declared: `preview --offline` renders them all
    changed: int  # with other HTML in the account: `preview --with-klaviyo` renders these, before and after
    kb: int = 20

    @property
    def renders(self) -> int:
        """Through Klaviyo: before and after of each changed template, with one sample."""
        return 2 * self.changed


FULL = PreviewSize("preview", templates=100, changed=10)
QUICK = PreviewSize("preview-s", templates=4, changed=2)


def template_name(index: int) -> str:
    return f"Newsletter {index:03}"


def _html(seed: str, kb: int) -> str:
    """An email in Klaviyo's template language: every paragraph has variables, filters and a condition."""
    rng = random.Random(seed)
    parts = [
        "<!DOCTYPE html>\n<html>\n<body>\n",
        "<h1>Hello {{ first_name|default:'there'|title }}</h1>\n",
        "{% if person.city %}<p>News from {{ person.city|upper }}</p>{% endif %}\n",
    ]
    size = sum(map(len, parts))
    while size < kb * 1024:
        words = " ".join(rng.choice(WORDS) for _ in range(30))
        part = (
            f"<p>{words}, {{{{ person.first_name|default:'friend' }}}}.</p>\n"
            "{% if organization.name %}<p>{{ organization.name }} &middot; {{ organization.full_address }}</p>"
            "{% else %}<p>-</p>{% endif %}\n"
            "<ul>{% for word in 'abc' %}<li>{{ word|upper }}{{ forloop.counter }}</li>{% endfor %}</ul>\n"
        )
        parts.append(part)
        size += len(part)
    parts.append("<p>{% unsubscribe %}</p>\n</body>\n</html>\n")
    return "".join(parts)


def _templates(size: PreviewSize, version: str) -> dict[str, str]:
    """The templates' HTML: the first `changed` differ between the account (`old`) and the project (`new`)."""
    return {template_name(t): _html(f"{version if t < size.changed else 'same'} {t}", size.kb) for t in range(size.templates)}


def seed(size: PreviewSize) -> dict[str, Any]:
    """The account before the project: every template, the first `changed` with their old HTML."""
    return {"templates": [{"name": name, "editor_type": "CODE", "html": html} for name, html in _templates(size, "old").items()]}


def write_project(size: PreviewSize, root: Path) -> Path:
    """The declared templates; `desired.json` is what the SDK script holds."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    html = _templates(size, "new")
    for index, text in enumerate(html.values()):
        (root / "templates" / f"newsletter-{index:03}.html").write_text(text, encoding="utf-8")
    manifest = {
        "version": 1,
        "safety": {"max_update_fraction": 1.0},  # the quick path changes half of its templates
        "templates": [{"name": name, "html": f"templates/newsletter-{i:03}.html"} for i, name in enumerate(html)],
    }
    (root / "klaviyo.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    (root / "desired.json").write_text(json.dumps(html), encoding="utf-8")
    return root


def klaviyo_bound(reads: dict[str, int], renders: int, latency: float, scale: float) -> dict[str, Any]:
    """The account's identity and read, then each render's create, render and delete, chained, each request sent the
    moment its operation's fixed windows allow (concurrency unlimited), answered after the latency."""
    model = bounds.WindowModel(scale)
    read = bounds.read_time(reads, latency, scale, start=latency, model=model)  # after the identity's round trip
    queue = [(read, index, 0) for index in range(renders)]
    heapq.heapify(queue)
    finish = read
    while queue:
        ready, index, step = heapq.heappop(queue)
        done = model.admit(RENDER[step], ready) + latency
        if step + 1 < len(RENDER):
            heapq.heappush(queue, (done, index, step + 1))
        finish = max(finish, done)
    return {
        "requests": sum(bounds.IDENTIFY.values()) + sum(reads.values()) + len(RENDER) * renders,
        "wall_s": finish,
        "renders_wall_s": finish - read,
        "renders": renders,
        "throttled": 0,
    }


# -- the SDK baseline -------------------------------------------------------------------------------


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.to_dict()


def sdk_preview(sdk: Any, desired: dict[str, str], context: dict[str, Any], out: Path) -> int:
    """The templates read page by page; then for each changed one, before and after: create a template, render it,
    delete it, one request at a time. The rendered HTML is written to `out`. Returns the number of renders."""
    live: dict[str, str] = {}
    cursor = None
    while True:
        page = _as_dict(sdk.Templates.get_templates(**({"page_cursor": cursor} if cursor else {})))
        live.update({t["attributes"]["name"]: t["attributes"]["html"] for t in page["data"]})
        next_link = (page.get("links") or {}).get("next")
        if not next_link:
            break
        # The SDK extracts the cursor from https links only; the emulator serves plain http on loopback.
        cursor = parse_qs(urlparse(next_link).query)["page[cursor]"][0]
    out.mkdir(parents=True, exist_ok=True)
    renders = 0
    for index, (name, html) in enumerate(desired.items()):
        if live.get(name) == html:
            continue
        for side, source in (("before", live.get(name)), ("after", html)):
            if source is None:
                continue
            attributes = {"name": f"Preview {index} {side}", "editor_type": "CODE", "html": source}
            template_id = _as_dict(sdk.Templates.create_template({"data": {"type": "template", "attributes": attributes}}))
            template_id = template_id["data"]["id"]
            body = {"data": {"type": "template", "id": template_id, "attributes": {"context": context}}}
            rendered = _as_dict(sdk.Templates.render_template(body))["data"]["attributes"]
            sdk.Templates.delete_template(template_id)
            (out / f"{index:03}-{side}.html").write_text(rendered.get("html") or "", encoding="utf-8")
            renders += 1
    return renders

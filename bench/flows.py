"""The flow email scenario: an account with live flows whose emails follow library templates the project changes.

The account holds `flows` live flows of `per_flow` emails each (200 managed emails in the full run), built from
four library templates. The project declares the four templates with new HTML and every email following one of
them, so a plan has 4 template updates and one update per email: each email is repointed (the PATCH at the flow
actions' 3/s and 60/m), verified through its message's template and its replaced copy deleted.

Rows: `repoint` plan and apply, then `noop` plan. Bounds:
- plan requests: the reads of the other kinds (one page each here), the flows walk (ceil(flows / 50) pages) and
  one read per managed copy; plan time: the flows walk, then the copies, each at its endpoint's rate limits;
- apply: the executor's task graph (`bounds.apply_time`, with the flow email's three requests), then the
  verifying read.
The SDK baseline does the same work as a script would (`sdk_read`, `sdk_write`): walk the flows with their actions
page by page, read each managed email's copy, update the templates, then for each email PATCH its action, read
its message's template and delete the replaced copy, one request at a time.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from bench import bounds
from bench.accounts import WORDS

TEMPLATES = 4


@dataclass(frozen=True)
class FlowSize:
    name: str
    flows: int
    per_flow: int
    kb: int = 20

    @property
    def emails(self) -> int:
        return self.flows * self.per_flow


FULL = FlowSize("flows", flows=50, per_flow=4)
QUICK = FlowSize("flows-s", flows=5, per_flow=2)


def template_name(index: int) -> str:
    return f"Welcome {index + 1}"


def _html(seed: str, kb: int) -> str:
    rng = random.Random(seed)
    parts = ["<!DOCTYPE html>\n<html>\n<body>\n"]
    while sum(map(len, parts)) < kb * 1024:
        parts.append("<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + "</p>\n")
    parts.append("<p>{% unsubscribe %}</p>\n</body>\n</html>\n")
    return "".join(parts)


def seed(size: FlowSize) -> dict[str, Any]:
    """The account before the project: the old templates and the flows built from them."""
    templates = [{"name": template_name(t), "editor_type": "CODE", "html": _html(f"old {t}", size.kb)} for t in range(TEMPLATES)]
    flows = [
        {
            "name": f"Flow {f:02}",
            "status": "live",
            "emails": [
                {"name": f"Email #{e + 1}", "template": template_name(e % TEMPLATES), "subject_line": f"Hello {e + 1}"}
                for e in range(size.per_flow)
            ],
        }
        for f in range(size.flows)
    ]
    return {"lists": [{"name": "Newsletter"}], "templates": templates, "flows": flows}


def write_project(size: FlowSize, root: Path) -> Path:
    """The templates with new HTML, every email following one; `desired.json` is what the SDK script holds."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    html = {template_name(t): _html(f"new {t}", size.kb) for t in range(TEMPLATES)}
    for index, name in enumerate(html):
        (root / "templates" / f"welcome-{index + 1}.html").write_text(html[name], encoding="utf-8")
    emails = {
        f"Flow {f:02}": {f"Email #{e + 1}": template_name(e % TEMPLATES) for e in range(size.per_flow)} for f in range(size.flows)
    }
    manifest = {
        "version": 1,
        # Every email of the account changes at once, on purpose: past the default 30 % update threshold.
        "safety": {"max_update_fraction": 1.0},
        "templates": [{"name": name, "html": f"templates/welcome-{i + 1}.html"} for i, name in enumerate(html)],
        "flows": [
            {"name": flow, "emails": [{"name": email, "template": template} for email, template in flow_emails.items()]}
            for flow, flow_emails in emails.items()
        ],
    }
    (root / "klaviyo.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    (root / "desired.json").write_text(json.dumps({"templates": html, "emails": emails}), encoding="utf-8")
    return root


def plan_bound(size: FlowSize, latency: float, scale: float) -> dict[str, Any]:
    """The other kinds' reads (one page each) beside the flows walk, then one read per copy."""
    others = bounds.read_requests({"templates": TEMPLATES, "lists": 1, "tags": 0, "tag_groups": 1})
    walk = {"get_flows": math.ceil(size.flows / 50)}
    model = bounds.WindowModel(scale)
    walked = bounds.read_time(walk, latency, scale, model=model)
    copies = bounds.read_time({"get_template": size.emails}, latency, scale, start=walked, model=model)
    wall = max(bounds.read_time(others, latency, scale, model=model), copies)
    return {"requests": sum(others.values()) + walk["get_flows"] + size.emails, "wall_s": wall, "throttled": 0}


# -- the SDK baseline -------------------------------------------------------------------------------


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.to_dict()


def sdk_read(sdk: Any, desired: dict[str, Any]) -> dict[str, Any]:
    """Templates by name, and each declared email's action node and current copy."""
    templates = {}
    cursor = None
    while True:
        page = _as_dict(sdk.Templates.get_templates(**({"page_cursor": cursor} if cursor else {})))
        templates.update({t["attributes"]["name"]: (t["id"], t["attributes"]["html"]) for t in page["data"]})
        cursor = _cursor(page)
        if not cursor:
            break
    emails: dict[tuple[str, str], dict[str, Any]] = {}
    cursor = None
    while True:
        page = _as_dict(sdk.Flows.get_flows(include=["flow-actions"], **({"page_cursor": cursor} if cursor else {})))
        actions = {a["id"]: a for a in page.get("included") or []}
        for flow in page["data"]:
            flow_name = flow["attributes"]["name"]
            for ref in flow["relationships"]["flow-actions"]["data"]:
                node = actions[ref["id"]]["attributes"]["definition"]
                name = node["data"]["message"]["name"] if node["type"] == "send-email" else None
                if name in desired["emails"].get(flow_name, {}):
                    emails[(flow_name, name)] = {"node": node}
        cursor = _cursor(page)
        if not cursor:
            break
    for email in emails.values():
        copy = _as_dict(sdk.Templates.get_template(email["node"]["data"]["message"]["template_id"]))
        email["html"] = copy["data"]["attributes"]["html"]
    return {"templates": templates, "emails": emails}


@dataclass
class FlowWrites:
    templates: list[str]
    emails: list[tuple[str, str]]

    def count(self) -> int:
        return len(self.templates) + len(self.emails)


def sdk_compare(desired: dict[str, Any], live: dict[str, Any]) -> FlowWrites:
    templates = [name for name, html in desired["templates"].items() if live["templates"][name][1] != html]
    emails = [
        key for key, email in live["emails"].items() if email["html"] != desired["templates"][desired["emails"][key[0]][key[1]]]
    ]
    return FlowWrites(templates, emails)


def sdk_write(sdk: Any, desired: dict[str, Any], live: dict[str, Any], writes: FlowWrites) -> None:
    for name in writes.templates:
        template_id = live["templates"][name][0]
        body = {"data": {"type": "template", "id": template_id, "attributes": {"html": desired["templates"][name]}}}
        sdk.Templates.update_template(template_id, body)
    for key in writes.emails:
        node = live["emails"][key]["node"]
        old_copy = node["data"]["message"]["template_id"]
        node["data"]["message"]["template_id"] = live["templates"][desired["emails"][key[0]][key[1]]][0]
        sdk.Flows.update_flow_action(
            node["id"], {"data": {"type": "flow-action", "id": node["id"], "attributes": {"definition": node}}}
        )
        sdk.Flows.get_template_for_flow_message(node["data"]["message"]["id"])
        sdk.Templates.delete_template(old_copy)


def _cursor(page: dict[str, Any]) -> str | None:
    next_link = (page.get("links") or {}).get("next")
    return parse_qs(urlparse(next_link).query)["page[cursor]"][0] if next_link else None

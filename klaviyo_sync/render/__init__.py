"""Renderers of a plan: text for terminals, markdown for pull requests, JSON for machines.

All three start from the JSON form (`klaviyo_sync.plan.plan_to_json`), so they cannot disagree; text and
markdown from its full-content variant, since they show content diffs.
"""

from __future__ import annotations

import json
from typing import Any

from klaviyo_sync.plan import plan_to_json
from klaviyo_sync.resources import Plan


def _as_json(plan: Plan | dict[str, Any]) -> dict[str, Any]:
    return plan if isinstance(plan, dict) else plan_to_json(plan, full_content=True)


def render_json(plan: Plan | dict[str, Any]) -> str:
    """The JSON form as `plan --format json` prints it and `--out` saves it: content as digests."""
    data = plan if isinstance(plan, dict) else plan_to_json(plan)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_text(plan: Plan | dict[str, Any], color: bool = False, verbose: bool = False) -> str:
    from klaviyo_sync.render.text import render_text as render

    return render(_as_json(plan), color=color, verbose=verbose)


def render_markdown(plan: Plan | dict[str, Any]) -> str:
    from klaviyo_sync.render.markdown import render_markdown as render

    return render(_as_json(plan))


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}

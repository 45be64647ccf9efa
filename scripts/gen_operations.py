"""Regenerate klaviyo_sync/data/operations.json from the slice of Klaviyo's OpenAPI spec in spec/.

The tool and the emulator need a few facts per operation at run time (method, path, scopes,
rate limits, allowed query parameters and filters). Shipping the 3 MB spec for that would be
wasteful, so this script extracts them once; a test checks the extract is still current.

Usage: python scripts/gen_operations.py [SPEC_FILE]   (default spec/klaviyo-openapi.json)

To take in a new spec or a new operation: add it to OPERATIONS, run scripts/gen_spec_slice.py (which reads the
full spec), then this script.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "klaviyo_sync" / "data" / "operations.json"

# The operations the tool and the emulator serve; everything else is out of scope.
OPERATIONS = (
    "get_templates",
    "create_template",
    "get_template",
    "update_template",
    "delete_template",
    "clone_template",
    "render_template",
    "get_lists",
    "create_list",
    "get_list",
    "update_list",
    "delete_list",
    "get_tags_for_list",
    "get_tag_ids_for_list",
    "get_flows_triggered_by_list",
    "get_ids_for_flows_triggered_by_list",
    "get_tags",
    "create_tag",
    "get_tag",
    "update_tag",
    "delete_tag",
    "tag_lists",
    "remove_tag_from_lists",
    "get_list_ids_for_tag",
    "get_flow_ids_for_tag",
    "get_campaign_ids_for_tag",
    "get_segment_ids_for_tag",
    "get_tag_group_for_tag",
    "get_tag_group_id_for_tag",
    "get_tag_groups",
    "create_tag_group",
    "get_tag_group",
    "update_tag_group",
    "delete_tag_group",
    "get_tags_for_tag_group",
    "get_tag_ids_for_tag_group",
    "get_flows",
    "get_flow",
    "create_flow",
    "update_flow",
    "delete_flow",
    "get_actions_for_flow",
    "get_flow_action",
    "update_flow_action",
    "get_flow_action_messages",
    "get_flow_message",
    "get_template_for_flow_message",
    "get_all_universal_content",
    "create_universal_content",
    "get_universal_content",
    "update_universal_content",
    "delete_universal_content",
    "get_accounts",
    "get_account",
)

_UNIT_SECONDS = {"s": 1, "m": 60, "d": 86400}
# A query value with stricter limits of its own is stated only in the operation's description (get_list:
# "Rate limits when using the `additional-fields[list]=profile_count` parameter ...: Burst: `1/s` Steady: `15/m`").
_QUERY_LIMITS = re.compile(
    r"Rate limits when using the `(?P<param>[^`=]+)=(?P<value>[^`]+)` parameter in your API request:"
    r"<br>Burst: `(?P<burst>\d+/[smd])`<br>Steady: `(?P<steady>\d+/[smd])`"
)


def _rate(value: str) -> list[int]:
    match = re.fullmatch(r"(\d+)/([smd])", value)
    if not match:
        raise ValueError(f"unexpected rate limit {value!r}")
    return [int(match.group(1)), _UNIT_SECONDS[match.group(2)]]


def _query_param(param: dict) -> dict:
    schema = param.get("schema", {})
    out: dict = {"type": schema.get("type", "string")}
    items = schema.get("items", {})
    if "enum" in schema:
        out["enum"] = schema["enum"]
    elif "enum" in items:
        out["enum"] = items["enum"]
    for bound in ("minimum", "maximum", "default"):
        if bound in schema:
            out[bound] = schema[bound]
    return out


def extract(spec: dict) -> dict:
    found: dict[str, dict] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or op.get("operationId") not in OPERATIONS:
                continue
            limits = op["x-klaviyo-ratelimit"]
            query_limits = {
                f"{m['param']}={m['value']}": {"burst": _rate(m["burst"]), "steady": _rate(m["steady"])}
                for m in _QUERY_LIMITS.finditer(op.get("description", ""))
            }
            found[op["operationId"]] = {
                "method": method.upper(),
                "path": path,
                "scopes": op.get("x-klaviyo-scopes", []),
                "rate_limits": {name: _rate(value) for name, value in sorted(limits.items())},
                "query": {p["name"]: _query_param(p) for p in op.get("parameters", []) if p["in"] == "query"},
                "filters": op.get("x-klaviyo-filters", {}),
                "success_status": int(next(code for code in op["responses"] if code.startswith("2"))),
            }
            if query_limits:
                found[op["operationId"]]["query_rate_limits"] = query_limits
    missing = set(OPERATIONS) - set(found)
    if missing:
        raise SystemExit(f"operations missing from the spec: {sorted(missing)}")
    return {
        "revision": spec["info"]["version"],
        "operations": {name: found[name] for name in OPERATIONS},
    }


SPEC_FILE = Path(__file__).resolve().parent.parent / "spec" / "klaviyo-openapi.json"


def render(spec_file: Path = SPEC_FILE) -> str:
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    return json.dumps(extract(spec), indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(Path(sys.argv[1]) if len(sys.argv) > 1 else SPEC_FILE), encoding="utf-8")
    print(f"wrote {OUT}")

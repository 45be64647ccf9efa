"""Regenerate spec/klaviyo-openapi.json: the slice of Klaviyo's official OpenAPI spec this project checks against.

The conformance gate (every emulator exchange in the suite, the official SDK through Prism) and
`scripts/gen_operations.py` read this slice, so a fresh clone runs them with nothing beside it. The slice keeps
the spec's header, security and error responses, the operations below and every component they reach, unchanged.
The spec is MIT-licensed; its licence is spec/LICENSE.

Usage: python scripts/gen_spec_slice.py [SPEC_DIR]           (default ../shared/klaviyo-openapi, holding stable.json)
       python scripts/gen_spec_slice.py --check [SPEC_DIR]   exit 1 when the shipped slice differs from the spec's
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

try:
    from scripts.gen_operations import OPERATIONS
except ModuleNotFoundError:  # run as a script
    from gen_operations import OPERATIONS  # type: ignore[no-redef]

OUT = Path(__file__).resolve().parent.parent / "spec" / "klaviyo-openapi.json"
DEFAULT_SPEC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "klaviyo-openapi"

# Operations beyond those the emulator serves (OPERATIONS): the kinds being added validate against them.
UPCOMING = (
    # universal content blocks
    "get_all_universal_content",
    "create_universal_content",
    "get_universal_content",
    "update_universal_content",
    "delete_universal_content",
)
SLICED = (*OPERATIONS, *UPCOMING)
ALWAYS = ("#/components/responses/ClientError", "#/components/responses/ServerError")  # the error shapes


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return found


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SystemExit(f"only local references are supported, found {ref!r}")
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def extract(spec: dict[str, Any], wanted: tuple[str, ...] = SLICED) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    found: set[str] = set()
    for path, item in spec["paths"].items():
        for key, value in item.items():
            if isinstance(value, dict) and value.get("operationId") in wanted:
                kept = paths.setdefault(path, {k: v for k, v in item.items() if k in ("parameters", "summary", "description")})
                kept[key] = value
                found.add(value["operationId"])
    missing = sorted(set(wanted) - found)
    if missing:
        raise SystemExit(f"operations missing from the spec: {missing}")
    # Every component the kept paths reach, transitively.
    components: dict[str, dict[str, Any]] = {}
    pending = sorted(_refs(paths) | set(ALWAYS))
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, section, name = ref.split("/", 3)
        target = _resolve(spec, ref)
        components.setdefault(section, {})[name] = target
        pending += sorted(_refs(target) - seen)
    components["securitySchemes"] = spec["components"]["securitySchemes"]
    used_tags = {tag for item in paths.values() for op in item.values() if isinstance(op, dict) for tag in op.get("tags", [])}
    return {
        **{key: spec[key] for key in ("openapi", "info", "servers") if key in spec},
        "paths": paths,
        "components": {
            section: dict(sorted(entries.items())) for section, entries in sorted(components.items(), key=lambda kv: kv[0])
        },
        "tags": [tag for tag in spec.get("tags", []) if tag.get("name") in used_tags],
        **({"security": spec["security"]} if "security" in spec else {}),
    }


def render(spec_dir: Path) -> str:
    spec = json.loads((spec_dir / "stable.json").read_text(encoding="utf-8"))
    return json.dumps(extract(spec), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    args = [arg for arg in sys.argv[1:] if arg != "--check"]
    spec_dir = Path(args[0]) if args else DEFAULT_SPEC_DIR
    if "--check" in sys.argv[1:]:  # a maintainer's freshness check: is the shipped slice the full spec's?
        current = json.loads(OUT.read_text(encoding="utf-8")) == json.loads(render(spec_dir))
        print(f"{OUT} is {'current' if current else 'out of date: run python scripts/gen_spec_slice.py'}")
        sys.exit(0 if current else 1)
    OUT.write_text(render(spec_dir), encoding="utf-8")
    (OUT.parent / "LICENSE").write_bytes((spec_dir / "LICENSE").read_bytes())
    print(f"wrote {OUT} and {OUT.parent / 'LICENSE'}")

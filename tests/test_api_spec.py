"""The spec slice shipped in spec/ and the extract the package ships from it are current and consistent."""

from __future__ import annotations

import json
from pathlib import Path

from klaviyo_sync import api_spec


def test_operations_extract_matches_the_shipped_slice() -> None:
    from scripts.gen_operations import render

    shipped = (Path(api_spec.__file__).parent / "data" / "operations.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == json.loads(render()), "run: python scripts/gen_operations.py"


def test_the_slice_carries_its_licence_and_every_operation() -> None:
    from scripts.gen_spec_slice import OUT, SLICED

    assert "MIT License" in (OUT.parent / "LICENSE").read_text(encoding="utf-8")
    slice_ = json.loads(OUT.read_text(encoding="utf-8"))
    found = {op["operationId"] for item in slice_["paths"].values() for op in item.values() if isinstance(op, dict)}
    assert set(SLICED) <= found


def test_revision_is_pinned_once() -> None:
    assert api_spec.REVISION == "2026-07-15"
    assert all(op.rate_limits for op in api_spec.operations().values())


def test_page_sizes_follow_the_spec() -> None:
    names = ("get_templates", "get_lists", "get_tags", "get_tag_groups")
    sizes = {name: api_spec.operation(name).page_size for name in names}
    assert sizes == {"get_templates": 10, "get_lists": 10, "get_tags": 50, "get_tag_groups": 25}


def test_create_list_has_a_daily_limit() -> None:
    limits = {limit.name: (limit.count, limit.seconds) for limit in api_spec.operation("create_list").rate_limits}
    assert limits == {"burst": (10, 1), "steady": (150, 60), "daily": (150, 86400)}

"""The extract of the official spec that ships with the package is current and consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from klaviyo_sync import api_spec

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "klaviyo-openapi"


@pytest.mark.skipif(not (SPEC_DIR / "stable.json").exists(), reason="the official spec is not beside the project")
def test_operations_extract_matches_the_spec() -> None:
    from scripts.gen_operations import render

    shipped = (Path(api_spec.__file__).parent / "data" / "operations.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == json.loads(render(SPEC_DIR)), "run: python scripts/gen_operations.py"


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

"""The manifest JSON Schema: valid 2020-12, shipped in the package, documented, and carrying Klaviyo's limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from klaviyo_sync.manifest.schema import manifest_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "schemas" / "klaviyo.schema.json"


def test_schema_is_valid_against_the_2020_12_meta_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["$id"]


def test_the_packaged_schema_is_the_one_in_schemas() -> None:
    packaged = files("klaviyo_sync.schemas").joinpath("klaviyo.schema.json").read_text(encoding="utf-8")
    assert json.loads(packaged) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == manifest_schema()


def _properties(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", sub
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _properties(value, f"{where}/{index}")


def _resolve(schema: dict[str, Any], sub: Any) -> Any:
    while isinstance(sub, dict) and "$ref" in sub and "description" not in sub:
        target: Any = schema
        for part in sub["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        sub = target
    return sub


def test_every_property_has_a_description() -> None:
    schema = manifest_schema()
    undocumented = [
        where
        for where, sub in _properties(schema)
        if sub is not False and "/then/" not in where and "/if/" not in where and "/else/" not in where
        if "description" not in _resolve(schema, sub)
    ]
    assert undocumented == []


def test_enums_and_limits() -> None:
    schema = manifest_schema()
    defs = schema["$defs"]
    assert defs["list"]["properties"]["opt_in_process"]["enum"] == ["double_opt_in", "single_opt_in"]
    assert defs["template"]["properties"]["editor_type"]["enum"] == ["CODE", "USER_DRAGGABLE", "SYSTEM_DRAGGABLE"]
    assert schema["properties"]["tag_groups"]["maxItems"] == 50
    assert schema["properties"]["templates"]["maxItems"] == 1000
    assert defs["tagGroup"]["properties"]["tags"]["maxItems"] == 500
    per_group = defs["list"]["properties"]["tags"]["additionalProperties"]["oneOf"][1]
    assert per_group["maxItems"] == 100


def test_editor_schema_comments_in_examples_point_at_the_schema() -> None:
    """The `# yaml-language-server: $schema=...` comments resolve to the schema, and the raw files validate with it
    (what an editor does, without our loader)."""
    validator = Draft202012Validator(manifest_schema())
    checked = 0
    for manifest in sorted((REPO / "examples").rglob("*.yaml")):
        first_line = manifest.read_text(encoding="utf-8").splitlines()[0]
        if "$schema=" not in first_line:
            continue
        target = first_line.split("$schema=", 1)[1].strip()
        if not target.startswith("http"):
            assert (manifest.parent / target).resolve() == SCHEMA_FILE, manifest
        errors = list(validator.iter_errors(yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}))
        assert errors == [], (manifest, errors[0].message if errors else "")
        checked += 1
    assert checked > 0


def _annotated(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema that carries `examples` or `default`, with its location."""
    if isinstance(node, dict):
        if "examples" in node or "default" in node:
            yield where, node
        for key, value in node.items():
            yield from _annotated(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _annotated(value, f"{where}/{index}")


def test_examples_and_defaults_are_valid_values() -> None:
    """What editors offer as completions must itself pass validation."""
    validator = Draft202012Validator(manifest_schema())
    annotated = list(_annotated(manifest_schema()))
    assert len(annotated) >= 20
    invalid = [
        (where, value, error.message)
        for where, sub in annotated
        for value in [*sub.get("examples", []), *([sub["default"]] if "default" in sub else [])]
        for error in validator.descend(value, {key: item for key, item in sub.items() if key not in ("examples", "default")})
    ]
    assert invalid == []
    rejected = list(validator.descend(["not a list of mappings"], manifest_schema()["properties"]["templates"]))
    assert rejected, "descend really validates"

"""The compiled validator's "valid" is trusted without jsonschema: it must never accept what jsonschema refuses.

Checked on every manifest of the examples and the error cases, and on each of them with every value and key
replaced, one at a time, by values where validators tend to differ (blank-looking text, NaN, a trailing newline,
huge numbers, values JSON has no type for)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from klaviyo_sync.errors import ManifestError
from klaviyo_sync.manifest import load_project
from klaviyo_sync.manifest.schema import _surely_valid, _validator
from klaviyo_sync.manifest.yamlfile import lone_surrogates, parse_yaml
from tests.manifest.helpers import HTML, write_project

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "examples").rglob("*.yaml")) + sorted((REPO / "tests" / "manifest" / "cases").rglob("*.yaml"))

AWKWARD: list[Any] = [
    None, "", " ", "\x1c", "\x1f", "\x85", "\ufeff", "\u3000", "a\n", "AbC123\n", "x",
    0, 1, -1, 1.0, 0.5, 2**70, -(2**70), True, False,
    float("nan"), float("inf"), float("-inf"), [], [None], ["x", "x"], {}, {"x": 1}, dt.date(2026, 1, 1),
]  # fmt: skip


def _documents() -> Iterator[tuple[str, Any]]:
    for path in MANIFESTS:
        doc, _ = parse_yaml(path.read_text(encoding="utf-8", errors="replace"), path.name)
        if doc is not None and isinstance(doc.data, dict):  # what the loader would hand to the schema check
            yield str(path.relative_to(REPO)), doc.data


def _variants(data: Any) -> Iterator[Any]:
    """`data` with one value, or one mapping key, replaced by each awkward value."""
    if isinstance(data, dict):
        for key, value in data.items():
            for other in AWKWARD:
                yield {**data, key: other}
            for replaced in _variants(value):
                yield {**data, key: replaced}
        for other in ("a\n", "1x", "", "\x1c"):
            yield {**data, other: "x"}
    elif isinstance(data, list):
        for index, value in enumerate(data[:3]):
            for replaced in [*AWKWARD, *_variants(value)]:
                yield [*data[:index], replaced, *data[index + 1 :]]


def _jsonschema_valid(data: Any) -> bool:
    return next(iter(_validator().iter_errors(data)), None) is None


@pytest.mark.parametrize(("where", "data"), list(_documents()), ids=lambda value: value if isinstance(value, str) else "")
def test_the_compiled_validator_accepts_nothing_jsonschema_refuses(where: str, data: Any) -> None:
    accepted_wrongly = []
    checked = 0
    for variant in _variants(data):
        checked += 1
        if _surely_valid(variant) and not _jsonschema_valid(variant):
            accepted_wrongly.append(variant)
    assert checked
    assert accepted_wrongly == []


def test_it_accepts_every_valid_example_so_the_fast_path_is_taken() -> None:
    # (a lone surrogate is reported before the schema is consulted; such text is not even JSON)
    valid = [where for where, data in _documents() if _jsonschema_valid(data) and not lone_surrogates(data)]
    assert valid and [where for where, data in _documents() if where in valid and not _surely_valid(data)] == []


@pytest.mark.parametrize("name", ["\x1c", "\x85", "\ufeff", " \ufeff\u3000"])
def test_a_name_of_separators_alone_is_blank(tmp_path: Path, name: str) -> None:
    root = write_project(tmp_path, {"t.html": HTML})
    quoted = name.encode("unicode_escape").decode("ascii")
    (root / "klaviyo.yaml").write_text(f'version: 1\ntemplates:\n  - name: "{quoted}"\n    html: t.html\n', encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        load_project(root, {})
    assert "klaviyo.yaml:3" in str(raised.value) and "must not be empty or blank" in str(raised.value)

"""One small project per mistake under cases/: loading it must report exactly the lines in its expected.txt.

Each line is `file:line:column: what is wrong — how to fix it`, with the file relative to the project.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from klaviyo_sync.errors import ManifestError
from klaviyo_sync.manifest import load_project

CASES = Path(__file__).parent / "cases"


def case_dirs() -> list[Path]:
    return sorted(path for path in CASES.iterdir() if path.is_dir())


@pytest.mark.parametrize("case", case_dirs(), ids=lambda path: path.name)
def test_case_reports_exactly_the_expected_problems(case: Path) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert expected, f"{case.name}/expected.txt is empty"
    with pytest.raises(ManifestError) as raised:
        load_project(case, environ={})
    assert [str(problem) for problem in raised.value.problems] == expected


def test_every_case_reports_through_the_error_text() -> None:
    """The error's own text (what any command prints) carries every problem line."""
    case = CASES / "clone_cycle"
    with pytest.raises(ManifestError) as raised:
        load_project(case, environ={})
    text = str(raised.value)
    assert text.startswith("the manifests have 1 problem\n")
    assert (case / "expected.txt").read_text(encoding="utf-8").strip() in text


def test_problems_are_sorted_by_file_and_line() -> None:
    with pytest.raises(ManifestError) as raised:
        load_project(CASES / "klaviyo_tags_unbalanced", environ={})
    keys = [(p.file, p.line, p.column) for p in raised.value.problems]
    assert keys == sorted(keys)

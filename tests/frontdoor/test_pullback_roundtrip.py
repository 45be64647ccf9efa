"""Manifest edits change the lines they touch and no other, however the file is laid out."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap

from klaviyo_sync.pullback.declarations import uses_variable
from klaviyo_sync.pullback.roundtrip import ManifestFile, Respelled, append_entry

# Spacing ruamel.yaml does not keep: its dump of this file respells lines 1, 3, 4 and 5.
UNUSUAL = """\
version:   1
lists:
  - name:    Newsletter      # spaced out
    opt_in_process:   double_opt_in
  - {name: VIP,   opt_in_process: single_opt_in}
  - name: "Quoted"
    opt_in_process: 'single_opt_in'
"""


def _load(tmp_path: Path, text: str, *, raw: bytes | None = None) -> ManifestFile:
    path = tmp_path / "klaviyo.yaml"
    path.write_bytes(raw if raw is not None else text.encode("utf-8"))
    return ManifestFile.load(path, "klaviyo.yaml")


def test_an_edit_among_respelled_lines_changes_only_its_own_line(tmp_path: Path) -> None:
    manifest = _load(tmp_path, UNUSUAL)
    assert manifest.pristine != UNUSUAL  # the premise: a plain round trip would rewrite other lines
    manifest.doc["lists"][2]["opt_in_process"] = "double_opt_in"
    assert manifest.edited_text() == UNUSUAL.replace("'single_opt_in'", "'double_opt_in'")


def test_an_edit_of_a_respelled_line_is_refused(tmp_path: Path) -> None:
    manifest = _load(tmp_path, UNUSUAL)
    manifest.doc["lists"][0]["opt_in_process"] = "single_opt_in"
    with pytest.raises(Respelled):
        manifest.edited_text()


def test_line_endings_and_byte_order_mark_are_kept(tmp_path: Path) -> None:
    text = "version: 1\r\nlists:\r\n  - name: A   # list A\r\n    opt_in_process: single_opt_in\r\n"
    manifest = _load(tmp_path, text, raw=b"\xef\xbb\xbf" + text.encode("utf-8"))
    manifest.doc["lists"][0]["name"] = "B"
    assert manifest.edited_text() == "\ufeff" + text.replace("name: A", "name: B")


@pytest.mark.parametrize(
    ("text", "added"),
    [
        # entries separated by blank lines, the section followed by another: the blank line stays before it
        (
            "templates:\n  - name: A\n    html: a.html\n\n  - name: B\n    html: b.html\n\nlists: []\n",
            "templates:\n  - name: A\n    html: a.html\n\n  - name: B\n    html: b.html\n\n  - name: C\n    html: c.html\n\nlists: []\n",
        ),
        # entries back to back, at the end of the file
        (
            "templates:\n- name: A\n  html: a.html\n- name: B\n  html: b.html\n",
            "templates:\n- name: A\n  html: a.html\n- name: B\n  html: b.html\n- name: C\n  html: c.html\n",
        ),
    ],
)
def test_an_appended_entry_follows_its_neighbours_layout(tmp_path: Path, text: str, added: str) -> None:
    manifest = _load(tmp_path, text)
    append_entry(manifest.doc["templates"], CommentedMap([("name", "C"), ("html", "c.html")]))
    assert manifest.edited_text() == added


@pytest.mark.parametrize(
    ("written", "uses"),
    [
        ("QA (${KLAVIYO_ENV})", True),
        ("Price $${PRICE}", False),
        ("$$${A}", False),
        ("$$$${A}", False),
        ("a$${b} ${C}", True),
        ("{{ first_name }}", False),
        (["x", {"${G}": []}], True),
    ],
)
def test_values_from_variables_are_told_apart_from_literal_text(written: object, uses: bool) -> None:
    assert uses_variable(written) is uses

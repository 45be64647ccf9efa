"""The safe YAML layer: core-schema scalars, marks, duplicate keys, tags, alias bombs and nesting."""

from __future__ import annotations

from klaviyo_sync.manifest.yamlfile import MAX_VALUES, decode_utf8, parse_yaml


def test_core_schema_scalars() -> None:
    doc, problems = parse_yaml("a: [No, yes, on, true, False, ~, 12, 0x1f, 0o17, 1.5, '3', 2024-01-01]\n", "f.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data == {"a": ["No", "yes", "on", True, False, None, 12, 31, 15, 1.5, "3", "2024-01-01"]}


def test_marks_for_values_and_keys() -> None:
    doc, _ = parse_yaml("top:\n  - name: A\n    tags: [x, y]\n", "f.yaml")
    assert doc is not None
    assert doc.locate(("top", 0)) == (2, 5)
    assert doc.locate(("top", 0, "tags", 1)) == (3, 15)
    assert doc.locate(("top", 0, "tags"), key=True) == (3, 5)
    assert doc.locate(("top", 0, "missing")) == (2, 5)  # the nearest enclosing value


def test_duplicate_keys_are_problems_and_the_first_value_is_kept() -> None:
    doc, problems = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert doc is not None and doc.data == {"a": 1, "b": 2}
    assert [str(p) for p in problems] == [
        "f.yaml:3:1: duplicate key `a` (first set on line 1) — remove one of them; YAML would otherwise silently keep only the last"
    ]


def test_python_tags_are_refused_not_executed() -> None:
    _doc, problems = parse_yaml("a: !!python/object/apply:os.system ['touch /tmp/pwned']\n", "f.yaml")
    assert [p.message for p in problems] == ["unsupported YAML tag !!python/object/apply:os.system"]


def test_billion_laughs_is_refused() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(9)]
    doc, problems = parse_yaml("\n".join(lines), "f.yaml")
    assert doc is None
    assert [p.message for p in problems] == [
        f"the file expands to more than {MAX_VALUES:,} values (anchors and aliases multiply them)"
    ]


def test_recursive_alias_is_refused() -> None:
    doc, problems = parse_yaml("a: &a [1, *a]\n", "f.yaml")
    assert doc is None
    assert [p.message for p in problems] == ["an alias refers to the mapping or list that contains it"]


def test_deep_nesting_is_refused() -> None:
    doc, problems = parse_yaml("[" * 100 + "]" * 100, "f.yaml")
    assert doc is None
    assert [p.message for p in problems] == ["values are nested more than 64 levels deep"]
    doc, problems = parse_yaml("[" * 20000, "f.yaml")
    assert doc is None and len(problems) == 1


def test_control_characters_and_bad_utf8_are_located() -> None:
    _, problems = parse_yaml("a: 1\nb: \x07\n", "f.yaml")
    assert [(p.line, p.column) for p in problems] == [(2, 4)]
    text, problems = decode_utf8(b"ok\nab\xffcd", "f.txt")
    assert text is None
    assert [str(p) for p in problems] == [
        "f.txt:2:3: the file is not valid UTF-8 (byte 0xff at offset 5) — save the file as UTF-8"
    ]


def test_mapping_keys_must_be_text() -> None:
    _, problems = parse_yaml("? [a, b]\n: 1\n", "f.yaml")
    assert [p.message for p in problems] == ["a mapping key must be plain text, not a list or mapping"]

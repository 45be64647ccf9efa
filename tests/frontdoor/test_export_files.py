"""`export_state` and `write_export`: the files an export writes, their names, and the refusal to overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.export import WINDOWS_RESERVED, export_state, file_stems, slugify, write_export
from klaviyo_sync.manifest import load_project
from klaviyo_sync.resources import Kind, Resource, State


def _account() -> State:
    return State(
        [
            Resource(Kind.TAG_GROUP, ("Default",), {"exclusive": False, "default": True}, id="g0"),
            Resource(Kind.TAG_GROUP, ("Lifecycle",), {"exclusive": False, "default": False}, id="g1"),
            Resource(Kind.TAG_GROUP, ("Channel",), {"exclusive": True, "default": False}, id="g2"),
            Resource(Kind.TAG, ("Lifecycle", "Welcome"), id="t1"),
            Resource(Kind.TAG, ("Lifecycle", "VIP"), id="t2"),
            Resource(Kind.TAG, ("Channel", "Email"), id="t3"),
            Resource(Kind.TAG, ("Default", "imported: 2024"), id="t4"),
            Resource(Kind.LIST, ("Newsletter",), {"opt_in_process": "double_opt_in"}, id="L1"),
            Resource(Kind.LIST, ("Promo ${ENV}",), {"opt_in_process": None}, id="L2"),
            Resource(Kind.LIST_TAG, ("Newsletter", "Lifecycle", "Welcome"), id="L1:t1"),
            Resource(Kind.LIST_TAG, ("Newsletter", "Channel", "Email"), id="L1:t3"),
            Resource(Kind.TEMPLATE, ("Welcome Email",), {"editor_type": "CODE", "html": "<p>Hi</p>\r\n", "text": "Hi"}, id="T1"),
            Resource(Kind.TEMPLATE, ("welcome email",), {"editor_type": "CODE", "html": "<p>hi</p>", "text": None}, id="T2"),
            Resource(Kind.TEMPLATE, ("Empty",), {"editor_type": "CODE", "html": "  ", "text": None}, id="T3"),
            Resource(
                Kind.TEMPLATE,
                ("Drag & Drop",),
                {"editor_type": "SYSTEM_DRAGGABLE", "html": "<p>rendered</p>", "text": None, "definition": {"body": {"id": "b"}}},
                id="T4",
            ),
        ]
    )


def test_export_declares_exactly_what_is_live() -> None:
    result = export_state(_account())
    root = yaml.safe_load(result.files["klaviyo.yaml"])

    assert root["version"] == 1
    assert root["prune"] == {"templates": False, "lists": False, "tag_groups": False}
    assert root["tag_groups"] == [
        {"name": "Channel", "exclusive": True, "tags": ["Email"]},
        {"name": "Default", "exclusive": False, "tags": ["imported: 2024"]},
        {"name": "Lifecycle", "exclusive": False, "tags": ["VIP", "Welcome"]},
    ]
    assert root["lists"] == [
        {"name": "Newsletter", "opt_in_process": "double_opt_in", "tags": {"Channel": ["Email"], "Lifecycle": ["Welcome"]}},
        {"name": "Promo $${ENV}"},  # a literal `${` in a live name must not be read back as a variable
    ]
    assert root["templates"] == [
        {"name": "Drag & Drop", "editor_type": "SYSTEM_DRAGGABLE", "definition": "templates/drag-drop.json"},
        {"name": "Welcome Email", "html": "templates/welcome-email.html", "text": "templates/welcome-email.txt"},
        {"name": "welcome email", "html": "templates/welcome-email-77aa6d.html"},
    ]
    assert result.files["templates/welcome-email.html"] == "<p>Hi</p>\r\n"  # byte for byte, CRLF kept
    assert result.files["templates/welcome-email.txt"] == "Hi"
    assert yaml.safe_load(result.files["templates/drag-drop.json"]) == {"body": {"id": "b"}}
    assert result.warnings == ["template 'Empty' has no HTML: left out (a manifest template needs content)"]
    assert result.counts == {
        Kind.TAG_GROUP: 3,
        Kind.TAG: 4,
        Kind.LIST: 2,
        Kind.TEMPLATE: 3,
        Kind.UNIVERSAL_CONTENT: 0,
        Kind.FLOW_EMAIL: 0,
    }


def test_export_is_deterministic() -> None:
    assert export_state(_account()).files == export_state(_account()).files


def test_selecting_lists_brings_their_tag_groups_whole() -> None:
    result = export_state(_account(), kinds=[Kind.LIST], names=["News*"])
    root = yaml.safe_load(result.files["klaviyo.yaml"])

    assert [entry["name"] for entry in root["lists"]] == ["Newsletter"]
    # Lifecycle is exported with VIP too: a declared group manages all its tags, so a partial one would delete VIP.
    assert root["tag_groups"] == [
        {"name": "Channel", "exclusive": True, "tags": ["Email"]},
        {"name": "Lifecycle", "exclusive": False, "tags": ["VIP", "Welcome"]},
    ]
    assert root["templates"] == []
    assert list(result.files) == ["klaviyo.yaml"]
    assert result.notes == [
        "tag group 'Channel' exported whole because list 'Newsletter' uses its tags",
        "tag group 'Lifecycle' exported whole because list 'Newsletter' uses its tags",
    ]


def test_name_globs_select_templates() -> None:
    result = export_state(_account(), kinds=[Kind.TEMPLATE], names=["Welcome*"])
    root = yaml.safe_load(result.files["klaviyo.yaml"])
    assert [entry["name"] for entry in root["templates"]] == ["Welcome Email"]  # globs are case-sensitive
    assert root["tag_groups"] == [] and root["lists"] == []


def test_duplicate_live_names_are_left_out_with_a_warning() -> None:
    live = State(
        [
            Resource(Kind.TEMPLATE, ("Promo",), {"editor_type": "CODE", "html": "<p>a</p>"}, id="AAAAAA"),
            Resource(Kind.TEMPLATE, ("Promo",), {"editor_type": "CODE", "html": "<p>b</p>"}, id="BBBBBB"),
            Resource(Kind.TEMPLATE, ("Other",), {"editor_type": "CODE", "html": "<p>c</p>"}, id="CCCCCC"),
        ]
    )
    result = export_state(live)
    root = yaml.safe_load(result.files["klaviyo.yaml"])
    assert [entry["name"] for entry in root["templates"]] == ["Other"]
    assert result.warnings == [
        "2 live templates are named 'Promo' (ids AAAAAA, BBBBBB): left out of the export; "
        "rename all but one in Klaviyo and export again to manage them"
    ]


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Welcome Email", "welcome-email"),
        ("Promo/Sale 50%", "promo-sale-50"),
        ("../../etc/passwd", "etc-passwd"),
        ("Ünïcode façade", "unicode-facade"),
        ("CON", "con-template"),
        ("lpt1", "lpt1-template"),
        ("  --Spaces--  ", "spaces"),
    ],
)
def test_slugify(name: str, stem: str) -> None:
    assert slugify(name) == stem


@pytest.mark.parametrize("name", ["..", ".", "🎉🎉", "日本語のテンプレート", "", "/", "\\", "\x00"])
def test_slugify_never_gives_an_empty_or_dot_name(name: str) -> None:
    stem = slugify(name)
    assert stem.startswith("template-") and len(stem) == len("template-") + 6
    assert stem == slugify(name)  # stable


def test_slugify_bounds_length_and_reserved_names() -> None:
    assert len(slugify("x" * 500)) <= 60
    assert all(slugify(name) not in WINDOWS_RESERVED for name in ["nul", "NUL", "Aux", "com9", "prn"])


def test_file_stems_resolve_collisions_deterministically() -> None:
    names = ["Welcome", "welcome", "WELCOME!", "welcome?", "🎉", "🎊"]
    stems = file_stems(names)
    assert len(set(stems.values())) == len(names)
    assert stems == file_stems(reversed(names))  # the order names arrive in does not matter
    assert stems["WELCOME!"] == "welcome"  # first in sorted order keeps the plain stem
    assert all(stems[n].startswith("welcome-") for n in ["Welcome", "welcome", "welcome?"])


def test_write_export_refuses_to_overwrite(tmp_path: Path) -> None:
    result = export_state(_account())
    write_export(result, tmp_path)
    (tmp_path / "templates" / "welcome-email.html").write_text("edited by hand", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        write_export(result, tmp_path)
    assert "would overwrite" in str(caught.value) and "--force" in caught.value.hint
    assert (tmp_path / "templates" / "welcome-email.html").read_text(encoding="utf-8") == "edited by hand"

    write_export(result, tmp_path, force=True)
    assert (tmp_path / "templates" / "welcome-email.html").read_bytes() == b"<p>Hi</p>\r\n"


def test_write_export_refuses_a_file_as_directory(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a directory"):
        write_export(export_state(_account()), target)


def test_default_group_is_declared_only_when_it_has_tags() -> None:
    live = State(
        [
            Resource(Kind.TAG_GROUP, ("Default",), {"exclusive": False, "default": True}, id="g0"),
            Resource(Kind.TAG_GROUP, ("Empty",), {"exclusive": True, "default": False}, id="g1"),
        ]
    )
    root = yaml.safe_load(export_state(live).files["klaviyo.yaml"])
    # Declaring it empty would make every tag later added to it in Klaviyo a planned delete.
    assert root["tag_groups"] == [{"name": "Empty", "exclusive": True, "tags": []}]


# Names a YAML reader could take for something other than text: YAML 1.1 types (`yes`, `0x1F`), YAML 1.2 core
# types the manifest reader uses (`1e3`, `0o17`), and YAML punctuation.
YAML_LOOKALIKES = [
    "1e3", "0o17", "yes", "No", "on", "null", "~", "123", "-1", "+1", ".5", ".inf", "0x1F", "1_000", "1:20",
    "2024-01-01", "true", "<<", "@at", "*star", "&anchor", "!bang", "%pct", "`tick", "key: value", "#hash",
    "a #b", "? q", "'quoted'", '"dq"', "[x]", "{y}", "|", ">", "-", " padded ", "tab\there",
]  # fmt: skip


def test_names_that_look_like_other_yaml_types_read_back_as_the_same_text(tmp_path: Path) -> None:
    live = State(
        [Resource(Kind.TAG_GROUP, ("1e3",), {"exclusive": False, "default": False}, id="g1")]
        + [Resource(Kind.TAG, ("1e3", "0o17"), id="t1")]
        + [Resource(Kind.LIST, (name,), {"opt_in_process": None}, id=f"L{i}") for i, name in enumerate(YAML_LOOKALIKES)]
        + [Resource(Kind.LIST_TAG, ("yes", "1e3", "0o17"), id="L2:t1")]
        + [
            Resource(Kind.TEMPLATE, (name,), {"editor_type": "CODE", "html": "<p>Hi</p>", "text": None}, id=f"T{i}")
            for i, name in enumerate(YAML_LOOKALIKES)
        ]
    )
    write_export(export_state(live), tmp_path)

    state = load_project(tmp_path).state
    assert {r.name for r in state.of_kind(Kind.LIST)} == set(YAML_LOOKALIKES)
    assert {r.name for r in state.of_kind(Kind.TEMPLATE)} == set(YAML_LOOKALIKES)
    assert {r.key for r in state.of_kind(Kind.TAG)} == {("1e3", "0o17")}
    assert {r.key for r in state.of_kind(Kind.LIST_TAG)} == {("yes", "1e3", "0o17")}


def test_a_hash_suffix_never_follows_a_dash() -> None:
    # The plain stem is cut to make room for the suffix; a cut that ends on a dash must not leave `--`.
    cut_on_a_dash = "a" * 52 + " b" + "c" * 20
    stems = file_stems([cut_on_a_dash, cut_on_a_dash.upper()])
    assert len(set(stems.values())) == 2
    assert all("--" not in stem and len(stem) <= 60 for stem in stems.values()), stems


@pytest.mark.parametrize("force", [False, True])
def test_write_export_never_writes_through_a_symlinked_file(tmp_path: Path, force: bool) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "klaviyo.yaml").symlink_to(outside)
    with pytest.raises(ConfigError, match="through 1 symlink") as caught:
        write_export(export_state(_account()), out, force=force)
    assert str(out / "klaviyo.yaml") in str(caught.value)
    assert outside.read_text(encoding="utf-8") == "not yours"
    assert sorted(p.name for p in out.iterdir()) == ["klaviyo.yaml"]  # nothing else was written either


def test_write_export_never_writes_into_a_symlinked_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "templates").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ConfigError, match="symlink"):
        write_export(export_state(_account()), out)
    assert list(elsewhere.iterdir()) == []
    assert not (out / "klaviyo.yaml").exists()


def test_write_export_refuses_a_link_made_after_the_check(tmp_path: Path) -> None:
    # The final open refuses a symlink itself (O_NOFOLLOW), so a link slipped in after the check is no way out.
    from klaviyo_sync.redaction import write_text

    outside = tmp_path / "outside.txt"
    outside.write_text("not yours", encoding="utf-8")
    (tmp_path / "link.html").symlink_to(outside)
    with pytest.raises(OSError):
        write_text(tmp_path / "link.html", "x", follow_symlinks=False)
    assert outside.read_text(encoding="utf-8") == "not yours"

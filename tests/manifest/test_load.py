"""load_project on valid projects: the desired State it builds, variables, includes and file hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from klaviyo_sync.errors import ManifestError
from klaviyo_sync.kinds import SECTIONS
from klaviyo_sync.manifest import Project, Thresholds, load_project
from klaviyo_sync.resources import Kind, Origin
from tests.manifest.helpers import HTML, write_project

ROOT = """\
# yaml-language-server: $schema=../schemas/klaviyo.schema.json
version: 1
include: [manifests/*.yaml]
vars: {ENV: staging}
prune: {templates: true, tag_groups: true}
ignore: {templates: ["Draft *", "[UI] *"], lists: "Test *"}
safety: {max_update_fraction: 0.5, max_delete_fraction: 0.1, min_existing: 3}
tag_groups:
  - name: Lifecycle
    tags:
      - Welcome
      - name: VIP
        renamed_from: [Top]
        prevent_destroy: true
  - name: Channel
    exclusive: true
    tags: [Email, SMS, No]
"""

LISTS = """\
lists:
  - name: Newsletter ${ENV}
    opt_in_process: double_opt_in
    tags: {Lifecycle: [Welcome, VIP], Channel: Email}
    prevent_destroy: true
  - name: VIP Customers
    renamed_from: Top Customers
"""

TEMPLATES = """\
version: 1
templates:
  - name: Welcome Email
    html: ../templates/welcome.html
    text: ../templates/welcome.txt
  - name: Welcome Email (FR)
    clone_from: Welcome Email
  - name: Drag
    editor_type: SYSTEM_DRAGGABLE
    definition: ../templates/drag.yaml
    text: ../templates/welcome.txt
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": ROOT,
            "manifests/lists.yaml": LISTS,
            "manifests/templates.yaml": TEMPLATES,
            "templates/welcome.html": HTML,
            "templates/welcome.txt": "Hello {{ first_name }}\r\n",
            "templates/drag.yaml": "body: {sections: []}\nstyles: {background_color: '#fff'}\n",
        },
    )
    return load_project(tmp_path, environ={})


def test_resources_have_the_shared_shapes(project: Project) -> None:
    state = project.state
    assert state.get(Kind.TAG_GROUP, ("Lifecycle",)).attrs == {"exclusive": False}
    assert state.get(Kind.TAG_GROUP, ("Channel",)).attrs == {"exclusive": True}
    assert [r.key for r in state.of_kind(Kind.TAG)] == [
        ("Channel", "Email"),
        ("Channel", "No"),  # YAML 1.2: `No` is text, not false
        ("Channel", "SMS"),
        ("Lifecycle", "VIP"),
        ("Lifecycle", "Welcome"),
    ]
    assert all(r.attrs == {} for r in state.of_kind(Kind.TAG))
    assert state.get(Kind.LIST, ("Newsletter staging",)).attrs == {"opt_in_process": "double_opt_in"}
    assert state.get(Kind.LIST, ("VIP Customers",)).attrs == {}
    assert [r.key for r in state.of_kind(Kind.LIST_TAG)] == [
        ("Newsletter staging", "Channel", "Email"),
        ("Newsletter staging", "Lifecycle", "VIP"),
        ("Newsletter staging", "Lifecycle", "Welcome"),
    ]
    welcome = state.get(Kind.TEMPLATE, ("Welcome Email",))
    assert welcome.attrs == {"editor_type": "CODE", "html": HTML, "text": "Hello {{ first_name }}\r\n"}
    clone = state.get(Kind.TEMPLATE, ("Welcome Email (FR)",))
    assert clone.attrs == {"editor_type": "CODE"}  # no html of its own: the plan clones the source's content
    assert clone.clone_from == "Welcome Email"
    drag = state.get(Kind.TEMPLATE, ("Drag",))
    assert drag.attrs["definition"] == {"body": {"sections": []}, "styles": {"background_color": "#fff"}}
    assert drag.attrs["editor_type"] == "SYSTEM_DRAGGABLE"
    assert "html" not in drag.attrs
    assert all(r.id is None and r.version is None for r in state)


def test_manifest_metadata(project: Project) -> None:
    state = project.state
    vip = state.get(Kind.TAG, ("Lifecycle", "VIP"))
    assert vip.renamed_from == ("Top",) and vip.prevent_destroy
    assert state.get(Kind.LIST, ("VIP Customers",)).renamed_from == ("Top Customers",)
    assert state.get(Kind.LIST, ("Newsletter staging",)).prevent_destroy
    assert not state.get(Kind.LIST, ("VIP Customers",)).prevent_destroy


def test_origins_point_at_each_object(project: Project) -> None:
    state = project.state
    assert state.get(Kind.TAG_GROUP, ("Lifecycle",)).origin == Origin("klaviyo.yaml", 9, 5)
    assert state.get(Kind.TAG, ("Lifecycle", "Welcome")).origin == Origin("klaviyo.yaml", 11, 9)
    assert state.get(Kind.TAG, ("Lifecycle", "VIP")).origin == Origin("klaviyo.yaml", 12, 9)
    assert state.get(Kind.LIST, ("VIP Customers",)).origin == Origin("manifests/lists.yaml", 6, 5)
    assert state.get(Kind.LIST_TAG, ("Newsletter staging", "Channel", "Email")).origin == Origin("manifests/lists.yaml", 4, 48)
    assert state.get(Kind.TEMPLATE, ("Drag",)).origin == Origin("manifests/templates.yaml", 8, 5)


def test_project_settings(project: Project, tmp_path: Path) -> None:
    assert project.root == tmp_path.resolve()
    assert project.prune == {Kind.TEMPLATE: True, Kind.LIST: False, Kind.TAG_GROUP: True, Kind.UNIVERSAL_CONTENT: False}
    assert project.ignore == {
        Kind.TEMPLATE: ("Draft *", "[UI] *"),
        Kind.LIST: ("Test *",),
        Kind.TAG_GROUP: (),
        Kind.UNIVERSAL_CONTENT: (),
    }
    assert project.thresholds == Thresholds(update_fraction=0.5, delete_fraction=0.1, min_existing=3)
    assert project.manifest_files == ("klaviyo.yaml", "manifests/lists.yaml", "manifests/templates.yaml")


def test_file_hashes_cover_every_manifest_and_referenced_file(project: Project, tmp_path: Path) -> None:
    expected = {
        rel: hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest()
        for rel in (
            "klaviyo.yaml",
            "manifests/lists.yaml",
            "manifests/templates.yaml",
            "templates/drag.yaml",
            "templates/welcome.html",
            "templates/welcome.txt",
        )
    }
    assert project.file_hashes == expected


def test_defaults_without_optional_sections(tmp_path: Path) -> None:
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\n"})
    project = load_project(tmp_path / "klaviyo.yaml", environ={})
    assert len(project.state) == 0
    # Every kind the manifest declares in a section of its own can be pruned and ignored; none is by default.
    assert project.prune == dict.fromkeys(SECTIONS.values(), False)
    assert project.ignore == dict.fromkeys(SECTIONS.values(), ())
    assert set(SECTIONS.values()) == {Kind.TEMPLATE, Kind.LIST, Kind.TAG_GROUP, Kind.UNIVERSAL_CONTENT}
    assert project.thresholds == Thresholds(update_fraction=0.30, delete_fraction=0.30, min_existing=10)


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        ({}, {}, "Newsletter staging"),
        ({}, {"ENV": "production"}, "Newsletter production"),
        ({"ENV": "eu"}, {"ENV": "production"}, "Newsletter eu"),
    ],
)
def test_variable_precedence(tmp_path: Path, cli: dict[str, str], environ: dict[str, str], expected: str) -> None:
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\nvars: {ENV: staging}\nlists:\n  - name: Newsletter ${ENV}\n"})
    project = load_project(tmp_path, cli, environ=environ)
    assert [r.name for r in project.state.of_kind(Kind.LIST)] == [expected]


def test_variables_in_includes_and_escapes(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\nvars: {ENV: staging, N: 2}\ninclude: ['accounts/${ENV}/*.yaml']\n",
            "accounts/staging/lists.yaml": "lists:\n  - name: Cost $${PRICE} $5 ${N}\n",
        },
    )
    project = load_project(tmp_path, environ={})
    assert [r.name for r in project.state.of_kind(Kind.LIST)] == ["Cost ${PRICE} $5 2"]


def test_merge_keys_and_anchors(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\nlists:\n  - &base {name: A, opt_in_process: single_opt_in}\n  - <<: *base\n    name: B\n",
        },
    )
    project = load_project(tmp_path, environ={})
    assert {r.name: dict(r.attrs) for r in project.state.of_kind(Kind.LIST)} == {
        "A": {"opt_in_process": "single_opt_in"},
        "B": {"opt_in_process": "single_opt_in"},
    }


def test_definition_from_json(tmp_path: Path) -> None:
    definition = {"body": {"sections": []}, "styles": {}}
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\ntemplates:\n  - name: D\n    editor_type: SYSTEM_DRAGGABLE\n    definition: d.json\n",
            "d.json": json.dumps(definition),
        },
    )
    assert load_project(tmp_path, environ={}).state.get(Kind.TEMPLATE, ("D",)).attrs["definition"] == definition


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"klaviyo.yaml": "\ufeffversion: 1\ntemplates:\n  - name: T\n    html: t.html\n", "t.html": "\ufeff" + HTML},
    )
    assert load_project(tmp_path, environ={}).state.get(Kind.TEMPLATE, ("T",)).attrs["html"] == HTML


def test_valid_email_html_is_not_flagged(tmp_path: Path) -> None:
    html = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>@media (max-width:600px){.c{width:100%}}</style>
<!--[if mso]><style>td{font-family:Arial}</style><![endif]--></head>
<body><table role="presentation"><tr><td>
<!--[if !mso]><!--><p>Hi {{ person.first_name|default:"friend" }}<br><img src="{{ logo }}" alt=""><!--<![endif]-->
{% if person|lookup:'VIP' %}<div class="vip">{% else %}<div class="std">{% endif %}Thanks</div>
<ul>{% for item in event.items %}<li>{{ item.name }}{% empty %}<li>Nothing{% endfor %}</ul>
{% unsubscribe 'Unsubscribe' %} {% web_view %}
</td></tr></table></body></html>
"""
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\ntemplates:\n  - name: T\n    html: t.html\n", "t.html": html})
    assert load_project(tmp_path, environ={}).state.get(Kind.TEMPLATE, ("T",)).attrs["html"] == html


def test_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_project(outside, {"secret.html": HTML})
    project_dir = write_project(tmp_path / "project", {"klaviyo.yaml": "version: 1\ntemplates:\n  - name: T\n    html: t.html\n"})
    (project_dir / "t.html").symlink_to(outside / "secret.html")
    with pytest.raises(ManifestError) as raised:
        load_project(project_dir, environ={})
    assert [str(p) for p in raised.value.problems] == [
        "klaviyo.yaml:4:11: html file `t.html` points outside the project (through a symlink)"
        " — copy the file into the project instead of linking to it"
    ]


def test_included_directory_symlinked_out_is_refused(tmp_path: Path) -> None:
    outside = write_project(tmp_path / "outside", {"lists.yaml": "lists:\n  - name: Sneaky\n"})
    project_dir = write_project(tmp_path / "project", {"klaviyo.yaml": "version: 1\ninclude: [manifests/*.yaml]\n"})
    (project_dir / "manifests").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ManifestError) as raised:
        load_project(project_dir, environ={})
    assert [p.message for p in raised.value.problems] == [
        "include pattern `manifests/*.yaml` reaches outside the project through the symlink `manifests`"
    ]


def test_oversized_manifest_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\n" + "# padding\n" * 300_000})
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path, environ={})
    assert [str(p) for p in raised.value.problems] == [
        "klaviyo.yaml:1:1: the file is 3,000,011 bytes; manifests are limited to 2,097,152 — split it with include:"
    ]


def test_missing_project(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path)
    assert raised.value.problems[0].message == f"no klaviyo.yaml in {tmp_path}"
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path / "nowhere")
    assert raised.value.problems[0].message == f"{tmp_path / 'nowhere'} does not exist"


def test_empty_included_file_and_version_in_included_file(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\ninclude: [m/*.yaml]\n",
            "m/a.yaml": "",
            "m/b.yaml": "version: 1\nlists: [{name: B}]\n",
        },
    )
    project = load_project(tmp_path, environ={})
    assert [r.name for r in project.state.of_kind(Kind.LIST)] == ["B"]
    assert project.manifest_files == ("klaviyo.yaml", "m/a.yaml", "m/b.yaml")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\ninclude: [m.yaml]\nlists:\n  - name: A\n    opt_in_process: maybe\n",
            "m.yaml": "lists:\n  - name: A\ntemplates:\n  - name: T\n    html: missing.html\n",
        },
    )
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path, environ={})
    assert [(p.file, p.line) for p in raised.value.problems] == [("klaviyo.yaml", 5), ("m.yaml", 2), ("m.yaml", 5)]


def test_root_file_symlinked_out_of_its_directory_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path / "shared", {"klaviyo.yaml": "version: 1\nlists: [{name: A}]\n"})
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "klaviyo.yaml").symlink_to(tmp_path / "shared" / "klaviyo.yaml")
    with pytest.raises(ManifestError) as raised:
        load_project(project_dir, environ={})
    assert [str(p) for p in raised.value.problems] == [
        f"klaviyo.yaml:1:1: klaviyo.yaml is a symlink to a file outside its directory ({tmp_path.resolve()}/shared/klaviyo.yaml)"
        " — run on the directory that holds the real file, or copy it here: file paths and includes are relative to it"
    ]


def test_root_file_symlinked_inside_the_project_is_read_once(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "config/main.yaml": "version: 1\ninclude: ['config/*.yaml']\nlists: [{name: A}]\n",
            "config/more.yaml": "lists: [{name: B}]\n",
        },
    )
    (tmp_path / "klaviyo.yaml").symlink_to(tmp_path / "config" / "main.yaml")
    project = load_project(tmp_path, environ={})
    assert [r.name for r in project.state.of_kind(Kind.LIST)] == ["A", "B"]
    assert project.manifest_files == ("klaviyo.yaml", "config/more.yaml")


def test_included_file_symlinked_out_is_refused(tmp_path: Path) -> None:
    outside = write_project(tmp_path / "outside", {"evil.yaml": "lists:\n  - name: Sneaky\n"})
    project_dir = write_project(
        tmp_path / "project", {"klaviyo.yaml": "version: 1\ninclude: [m/*.yaml]\n", "m/ok.yaml": "lists: []\n"}
    )
    (project_dir / "m" / "evil.yaml").symlink_to(outside / "evil.yaml")
    with pytest.raises(ManifestError) as raised:
        load_project(project_dir, environ={})
    assert [str(p) for p in raised.value.problems] == [
        "klaviyo.yaml:2:11: include `m/evil.yaml` points outside the project (through a symlink)"
        " — copy the file into the project instead of linking to it"
    ]


def test_recursive_include_glob_stays_inside(tmp_path: Path) -> None:
    outside = write_project(tmp_path / "outside", {"evil.yaml": "lists: [{name: Sneaky}]\n"})
    project_dir = write_project(
        tmp_path / "project",
        {
            "klaviyo.yaml": "version: 1\ninclude: ['teams/**/*.yaml']\n",
            "teams/a.yaml": "lists: [{name: A}]\n",
            "teams/growth/b.yaml": "lists: [{name: B}]\n",
            "teams/growth/deep/c.yaml": "lists: [{name: C}]\n",
            "teams/growth/notes.txt": "not a manifest",
        },
    )
    project = load_project(project_dir, environ={})
    assert [r.name for r in project.state.of_kind(Kind.LIST)] == ["A", "B", "C"]
    assert project.manifest_files == ("klaviyo.yaml", "teams/a.yaml", "teams/growth/b.yaml", "teams/growth/deep/c.yaml")
    # A directory below that links out is an error, not silently skipped: prune could delete what it declares.
    (project_dir / "teams" / "growth" / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ManifestError) as raised:
        load_project(project_dir, environ={})
    assert [p.message for p in raised.value.problems] == [
        "include pattern `teams/**/*.yaml` reaches outside the project through the symlink `teams/growth/linked`"
    ]


def test_variables_in_keys_name_tag_groups(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\nvars: {REGION: EU}\ntag_groups:\n  - name: Region ${REGION}\n    tags: [Paris]\n"
            "lists:\n  - name: L\n    tags:\n      Region ${REGION}: [Paris]\n",
        },
    )
    project = load_project(tmp_path, environ={})
    link = project.state.get(Kind.LIST_TAG, ("L", "Region EU", "Paris"))
    assert link.origin == Origin("klaviyo.yaml", 9, 26)
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\nlists:\n  - name: L\n    tags:\n      Zone ${ZONE}: [Paris]\n"})
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path, environ={})
    assert [str(p) for p in raised.value.problems] == [
        'klaviyo.yaml:5:7: list "L" uses tag group "Zone ${ZONE}", which is not declared'
        " — declare it under tag_groups: with - name: Zone ${ZONE}",
        "klaviyo.yaml:5:7: variable `ZONE` has no value"
        " — pass --var ZONE=VALUE, set the environment variable ZONE, or add a default under `vars:`",
    ]


def test_oversized_template_file_is_refused(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"klaviyo.yaml": "version: 1\ntemplates:\n  - name: T\n    html: t.html\n", "t.html": "<p>" + "x" * (5 * 1024 * 1024)},
    )
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path, environ={})
    assert [str(p) for p in raised.value.problems] == [
        "klaviyo.yaml:4:11: html file `t.html` is 5,242,883 bytes; the limit is 5,242,880"
        " — Klaviyo refuses requests over 5 MB; host large images instead of inlining them"
    ]


def test_unreadable_files_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Permissions do not stop root (which runs CI here), so the refusal of the read itself is simulated.
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\ninclude: [m.yaml]\ntemplates:\n  - name: T\n    html: t.html\n",
            "t.html": HTML,
            "m.yaml": "",
        },
    )
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name in ("t.html", "m.yaml"):
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(ManifestError) as raised:
        load_project(tmp_path, environ={})
    assert [str(p) for p in raised.value.problems] == [
        "klaviyo.yaml:5:11: html file `t.html` cannot be read: Permission denied — check the file's permissions",
        "m.yaml:1:1: cannot read the file: Permission denied — check its permissions",
    ]


def test_symlink_loops_under_a_recursive_include_are_walked_once(tmp_path: Path) -> None:
    write_project(
        tmp_path, {"klaviyo.yaml": "version: 1\ninclude: ['teams/**/*.yaml']\n", "teams/a.yaml": "lists: [{name: A}]\n"}
    )
    for name in ("up", "again"):
        (tmp_path / "teams" / name).symlink_to(tmp_path / "teams", target_is_directory=True)
    (tmp_path / "teams" / "b.yaml").symlink_to(tmp_path / "teams" / "a.yaml")
    project = load_project(tmp_path, environ={})
    assert [r.name for r in project.state.of_kind(Kind.LIST)] == ["A"]
    assert project.manifest_files == ("klaviyo.yaml", "teams/a.yaml")


@pytest.mark.parametrize("fraction", [float("nan"), float("inf"), -0.1, 1.5])
def test_thresholds_refuse_a_fraction_that_would_switch_the_check_off(fraction: float) -> None:
    with pytest.raises(ValueError, match="finite number between 0 and 1"):
        Thresholds(delete_fraction=fraction)


@pytest.mark.parametrize("count", [-1, 1.5, True, float("inf"), "1000"])
def test_thresholds_refuse_a_profile_limit_that_is_not_a_whole_number(count: object) -> None:
    with pytest.raises(ValueError, match="max_profiles_affected must be a whole number of at least 0"):
        Thresholds(max_profiles_affected=count)  # type: ignore[arg-type]


def test_the_profile_limit_is_read_from_safety(tmp_path: Path) -> None:
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\nsafety: {max_profiles_affected: 1000}\n"})
    assert load_project(tmp_path, environ={}).thresholds.max_profiles_affected == 1000
    assert Thresholds().max_profiles_affected is None  # no limit unless set

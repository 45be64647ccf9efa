"""`klaviyo-sync export` against a running emulator: the export of a varied account plans empty.

The account is full of names that are awkward as file names (slashes, `..`, emoji, Windows device names,
very long names, names that slug the same) and as manifest strings (`${...}`, YAML punctuation, text a YAML
reader would take for a number or a boolean).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.server import serve_in_background
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli

HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><table role="presentation"><tr><td>
<p>Hi {{{{ first_name|default:'there' }}}},</p>
{{% if person.vip %}}<p>Thanks for being a VIP.</p>{{% endif %}}
<p>{body}</p>
</td></tr></table></body></html>
"""

DEFINITION = {
    "body": {"sections": [{"type": "text", "content": "<p>Spring sale: 20% off</p>"}]},
    "styles": {"background_color": "#ffffff", "width": 600},
}

TEMPLATE_NAMES = [
    "Welcome Email",
    "welcome email",  # same file name as the one above
    "WELCOME EMAIL!",  # and again
    "Promo/Sale: 50% off",
    "..",
    ".",
    "../../etc/passwd",
    "C:\\Windows\\evil",
    "🎉 Launch",
    "🎊 Launch",  # same file name as the one above
    "🎉",
    "日本語のテンプレート",
    "Ünïcode façade",
    "CON",
    "nul.txt",
    "Price ${PRICE} & {{ not a variable }}",
    "- dash: yes # not a comment",
    "1e3",  # text, though YAML 1.2 reads it as a number unless quoted
    "0o17",
    "L" + "o" * 140 + "ng name",
]


def _seed() -> dict[str, object]:
    templates: list[dict[str, object]] = []
    for index, name in enumerate(TEMPLATE_NAMES):
        # A name is shown in the body, except where it reads as template syntax that Klaviyo could not render.
        body = f"Body of {name}" if "{{" not in name else f"Body of template {index}"
        template: dict[str, object] = {"name": name, "html": HTML.format(title=f"Template {index}", body=body)}
        if index % 3 == 0:
            template["text"] = f"Hi {{{{ first_name|default:'there' }}}},\r\nPlain text of template {index}.\r\n"
        templates.append(template)
    templates[1]["html"] = str(templates[1]["html"]).replace("\n", "\r\n")  # CRLF content, kept byte for byte
    templates.append({"name": "Drag/Drop: Spring Sale", "editor_type": "SYSTEM_DRAGGABLE", "definition": DEFINITION})
    templates.append({"name": "Built in the editor", "editor_type": "USER_DRAGGABLE", "html": HTML.format(title="UI", body="UI")})
    return {
        "tag_groups": [
            {"name": "Lifecycle", "exclusive": False},
            {"name": "Channel: Email/SMS", "exclusive": True},
            {"name": "yes", "exclusive": False},
        ],
        "tags": [
            {"group": "Lifecycle", "name": "Welcome"},
            {"group": "Lifecycle", "name": "VIP ⭐"},
            {"group": "Lifecycle", "name": "Unused"},
            {"group": "Channel: Email/SMS", "name": "Email"},
            {"group": "Channel: Email/SMS", "name": "SMS"},
            {"group": "Default", "name": "imported 2024"},
            {"group": "yes", "name": "0o17"},
        ],
        "lists": [
            {
                "name": "Newsletter",
                "opt_in_process": "double_opt_in",
                "tags": [["Lifecycle", "Welcome"], ["Channel: Email/SMS", "Email"]],
            },
            {
                "name": "VIP/Gold ⭐",
                "opt_in_process": "single_opt_in",
                "tags": [["Lifecycle", "VIP ⭐"], ["Default", "imported 2024"]],
            },
            {"name": "Beta ${KLAVIYO_ENV}", "tags": []},
            {"name": "Ключ", "tags": [["Channel: Email/SMS", "SMS"]]},
            {"name": "1e3", "tags": [["yes", "0o17"]]},
        ],
        "templates": templates,
    }


@pytest.fixture
def account() -> Iterator[tuple[str, Emulator]]:
    emulator = Emulator()
    emulator.seed(CANARY_KEY, _seed())
    with serve_in_background(emulator=emulator) as base_url:
        yield base_url, emulator


def _plan(project: Path, base_url: str) -> tuple[int, str]:
    result = run_cli(["plan", str(project), "--base-url", base_url, "--detailed-exitcode", "--no-color"])
    return result.exit_code, result.output


def test_export_of_a_varied_account_plans_empty(account: tuple[str, Emulator], tmp_path: Path) -> None:
    base_url, emulator = account
    out = tmp_path / "adopted"

    result = run_cli(["export", "--out", str(out), "--base-url", base_url])
    assert result.exit_code == 0, result.output
    assert f"to {out}/" in result.output and f"klaviyo-sync plan {out}" in result.output

    root = yaml.safe_load((out / "klaviyo.yaml").read_text(encoding="utf-8"))
    assert root["prune"] == {"templates": False, "lists": False, "tag_groups": False}
    assert len(root["templates"]) == len(TEMPLATE_NAMES) + 2
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert all(p == "klaviyo.yaml" or p.startswith("templates/") for p in files), files
    stems = [Path(p).stem for p in files if p.endswith(".html")]
    assert len(stems) == len(set(stems)) == len(TEMPLATE_NAMES) + 1  # the drag-and-drop one is a .json definition
    assert all(stem.isascii() and stem not in {"con", "nul", ".", ".."} and len(stem) <= 60 for stem in stems)

    # Content is kept exactly, CRLF included.
    by_name = {entry["name"]: entry for entry in root["templates"]}
    assert b"\r\n" in (out / by_name["welcome email"]["html"]).read_bytes()
    assert by_name["Built in the editor"]["editor_type"] == "USER_DRAGGABLE"
    drag_and_drop = by_name["Drag/Drop: Spring Sale"]
    assert drag_and_drop["editor_type"] == "SYSTEM_DRAGGABLE" and "html" not in drag_and_drop
    assert yaml.safe_load((out / drag_and_drop["definition"]).read_text(encoding="utf-8")) == DEFINITION

    before = sum(emulator.request_counts(CANARY_KEY).values())
    status, output = _plan(out, base_url)
    assert status == 0, output
    assert "No changes." in output
    writes = {op: n for op, n in emulator.request_counts(CANARY_KEY).items() if not op.startswith("get_")}
    assert not writes, f"plan wrote to the account: {writes}"
    assert sum(emulator.request_counts(CANARY_KEY).values()) > before


def test_export_never_overwrites_without_force(account: tuple[str, Emulator], tmp_path: Path) -> None:
    base_url, _ = account
    out = tmp_path / "adopted"
    assert run_cli(["export", "--out", str(out), "--base-url", base_url]).exit_code == 0
    root_file = out / "klaviyo.yaml"
    root_file.write_text(root_file.read_text(encoding="utf-8") + "# my notes\n", encoding="utf-8")

    again = run_cli(["export", "--out", str(out), "--base-url", base_url])
    assert again.exit_code == 1
    assert "would overwrite" in again.output and "--force" in again.output
    assert "Traceback" not in again.output
    assert root_file.read_text(encoding="utf-8").endswith("# my notes\n")

    forced = run_cli(["export", "--out", str(out), "--base-url", base_url, "--force"])
    assert forced.exit_code == 0, forced.output
    assert not root_file.read_text(encoding="utf-8").endswith("# my notes\n")


def test_export_of_some_lists_brings_their_groups_and_still_plans_empty(account: tuple[str, Emulator], tmp_path: Path) -> None:
    base_url, _ = account
    out = tmp_path / "lists"
    result = run_cli(
        ["export", "--out", str(out), "--base-url", base_url, "--kind", "lists", "--name", "VIP*", "--name", "Beta*"]
    )
    assert result.exit_code == 0, result.output
    assert "Note: tag group 'Default' exported whole because list 'VIP/Gold ⭐' uses its tags" in result.output

    root = yaml.safe_load((out / "klaviyo.yaml").read_text(encoding="utf-8"))
    assert [entry["name"] for entry in root["lists"]] == ["Beta $${KLAVIYO_ENV}", "VIP/Gold ⭐"]
    assert [group["name"] for group in root["tag_groups"]] == ["Default", "Lifecycle"]
    assert root["tag_groups"][1]["tags"] == ["Unused", "VIP ⭐", "Welcome"]  # whole group: a declared group owns its tags
    assert root["templates"] == []

    status, output = _plan(out, base_url)
    assert status == 0, output


def test_export_with_a_glob_matching_nothing_is_an_error(account: tuple[str, Emulator], tmp_path: Path) -> None:
    base_url, _ = account
    result = run_cli(["export", "--out", str(tmp_path / "none"), "--base-url", base_url, "--name", "Weekly*"])
    assert result.exit_code == 1
    assert "no live object matches --name Weekly*" in result.output
    assert not (tmp_path / "none").exists()


def test_export_refuses_an_unknown_kind(tmp_path: Path) -> None:
    result = run_cli(["export", "--out", str(tmp_path), "--kind", "campaigns", "--emulator"])
    assert result.exit_code == 1
    assert "'campaigns' is not one of 'templates', 'lists', 'tag_groups', 'universal_content', 'flows'" in result.output


def test_export_says_when_live_content_breaks_the_manifest_rules(tmp_path: Path) -> None:
    emulator = Emulator()
    emulator.seed(CANARY_KEY, {"templates": [{"name": "Broken", "html": "<p>{% if person.vip %}VIP only</p>"}]})
    with serve_in_background(emulator=emulator) as base_url:
        result = run_cli(["export", "--out", str(tmp_path / "out"), "--base-url", base_url])
    assert result.exit_code == 1
    assert "the export was written, but 1 problem must be fixed before `plan` can use it" in result.output
    assert "templates/broken.html" in result.output
    assert (tmp_path / "out" / "templates" / "broken.html").read_text(encoding="utf-8") == "<p>{% if person.vip %}VIP only</p>"

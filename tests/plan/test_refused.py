"""A plan refused by its safety checks is shown in full, in every format, with the refusal first, and exits 1.

The refusal names the kind, the counts and the threshold, lists the objects counted, and points at the `safety:`
setting of klaviyo.yaml when there is one (the file alone when there is none, never `klaviyo.yaml:1:1`).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

TEMPLATES = [f"Promo {index:02d}" for index in range(12)]
FOOTER_OLD = "<p>Hi</p><footer>Acme, 1 Main St {% unsubscribe %}</footer>"
FOOTER_NEW = "<p>Hi</p><footer>Acme, 2 Main St {% unsubscribe %}</footer>"


def footer_change(tmp_path: Path, server: ServedEmulator, safety: str = "") -> Path:
    """Twelve live templates and a project that changes the footer of every one: routine work over the threshold."""
    server.emulator.seed(CANARY_KEY, {"templates": [{"name": name, "html": FOOTER_OLD} for name in TEMPLATES]})
    (tmp_path / "footer.html").write_text(FOOTER_NEW, encoding="utf-8")
    declared = "".join(f"  - {{name: {name}, html: footer.html}}\n" for name in TEMPLATES)
    (tmp_path / "klaviyo.yaml").write_text(f"version: 1\n{safety}templates:\n{declared}", encoding="utf-8")
    return tmp_path


def account_id(server: ServedEmulator) -> str:
    return server.emulator.seed(CANARY_KEY, {"accounts": [{}]})["accounts"][0]


def plan(server: ServedEmulator, *args: str) -> tuple[int, str, str]:
    result = run_cli(["plan", *args, "--base-url", server.base_url])
    return result.exit_code, result.stdout, result.stderr


THRESHOLD = (
    "this plan would update 12 of 12 managed templates (100%), over the update threshold of 30% (safety.max_update_fraction)"
)
NAMED = ", ".join(f'template["{name}"]' for name in TEMPLATES[:10]) + " and 2 more"


def test_text_shows_the_refusal_then_the_whole_plan(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = footer_change(tmp_path, emulator_server)
    code, out, err = plan(emulator_server, str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "The plan was refused by its safety checks; nothing will be applied:"
    # No `safety:` in klaviyo.yaml: the file itself, not a made-up line 1.
    assert lines[1] == f"  {path}/klaviyo.yaml: {THRESHOLD}: {NAMED}"
    assert (
        lines[2]
        == "    hint: review the plan; if it is intended, run again with --force, or set safety.max_update_fraction in klaviyo.yaml (default 0.3)"
    )
    assert "klaviyo.yaml:1:1" not in out
    for name in TEMPLATES:  # every change is shown, with its diff
        assert f'~ template["{name}"]' in out
    assert out.count(f"+{FOOTER_NEW}") == 12
    assert lines[-1] == "Refused plan: 0 to create, 12 to update, 0 to delete. Nothing will be applied."
    assert err.startswith("Error: the plan was refused (1 problem, listed at its top)")
    assert {record.method for record in emulator_server.emulator.request_log} == {"GET"}


def test_the_refusal_points_at_the_safety_setting(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = footer_change(tmp_path, emulator_server, safety="safety:\n  min_existing: 5\n")
    code, out, _ = plan(emulator_server, str(path))
    assert code == 1 and out.splitlines()[1] == f"  {path}/klaviyo.yaml:2:1: {THRESHOLD}: {NAMED}"
    assert "or raise safety.max_update_fraction (now 0.3)" in out

    (path / "klaviyo.yaml").write_text(
        (path / "klaviyo.yaml")
        .read_text(encoding="utf-8")
        .replace("  min_existing: 5\n", "  min_existing: 5\n  max_update_fraction: 0.5\n"),
        encoding="utf-8",
    )
    code, out, _ = plan(emulator_server, str(path))
    problem = out.splitlines()[1]
    assert code == 1 and problem.startswith(f"  {path}/klaviyo.yaml:4:3: this plan would update 12 of 12 managed templates")
    assert "over the update threshold of 50% (safety.max_update_fraction)" in problem


def test_markdown_puts_the_refusal_first_in_the_pr_comment(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = footer_change(tmp_path, emulator_server, safety="safety: {min_existing: 5}\n")
    code, out, err = plan(emulator_server, str(path), "--format", "markdown", "--detailed-exitcode")
    assert code == 1 and err.startswith("Error: the plan was refused")
    head = out.split("**Refused plan:")[0]
    title = f"### klaviyo-sync plan for Emulated account (`{account_id(emulator_server)}`)\n\n"
    assert head.startswith(f"{title}> [!CAUTION]\n> **The plan was refused by its safety checks; nothing will be applied.**\n")
    assert "klaviyo.yaml:2:1: this plan would update 12 of 12 managed templates (100%), over the update threshold of 30%" in head
    assert "safety.max\\_update\\_fraction" in head and 'template\\["Promo 00"\\]' in head
    assert "**Refused plan: 0 to create, 12 to update, 0 to delete. Nothing will be applied.**" in out
    assert out.count("| `~` | update |") == 12 and out.count("<details>") == 12


def test_json_carries_the_refusal_and_every_change(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = footer_change(tmp_path, emulator_server)
    out_file = tmp_path / "plan.json"
    code, out, err = plan(emulator_server, str(path), "--format", "json", "--out", str(out_file))
    assert code == 1
    data = json.loads(out)
    schema = json.loads(resources.files("klaviyo_sync.schemas").joinpath("plan.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert list(data)[:9] == [
        "format_version",
        "tool",
        "revision",
        "account",
        "project",
        "targets",
        "force",
        "summary",
        "refusal",
    ]
    [problem] = data["refusal"]["problems"]
    assert (problem["file"], problem["line"]) == (f"{path}/klaviyo.yaml", 0)
    assert data["refusal"]["thresholds"] == [
        {
            "kind": "template",
            "action": "update",
            "count": 12,
            "existing": 12,
            "threshold": 0.3,
            "setting": "safety.max_update_fraction",
            "objects": [f'template["{name}"]' for name in TEMPLATES],
        }
    ]
    assert len(data["changes"]) == 12
    assert not out_file.exists()  # a refused plan is never saved for apply
    assert f"it was not saved to {out_file}" in err


def test_forced_the_plan_is_not_refused(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    path = footer_change(tmp_path, emulator_server)
    code, out, _ = plan(emulator_server, str(path), "--force", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["refusal"] is None
    assert data["warnings"][0].startswith(f"--force: {THRESHOLD}")


def test_a_tag_group_exclusive_flip_lists_the_tags_it_takes_with_it(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    tags = [f"Tag {index:02d}" for index in range(10)]
    emulator_server.emulator.seed(
        CANARY_KEY,
        {"tag_groups": [{"name": "Channel", "exclusive": False}], "tags": [{"group": "Channel", "name": tag} for tag in tags]},
    )
    (tmp_path / "klaviyo.yaml").write_text(
        f"version: 1\ntag_groups:\n  - name: Channel\n    exclusive: true\n    tags: [{', '.join(tags)}]\n", encoding="utf-8"
    )
    code, out, _ = plan(emulator_server, str(tmp_path))
    assert code == 1
    problem = out.splitlines()[1]
    assert (
        "this plan would delete 10 of 10 managed tags (100%), over the delete threshold of 30% (safety.max_delete_fraction)"
        in problem
    )
    assert 'tag["Channel"/"Tag 00"]' in problem
    assert '-/+ tag_group["Channel"]' in out  # the replace itself is shown below


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_apply_shows_the_refused_plan_and_changes_nothing(
    tmp_path: Path, emulator_server: ServedEmulator, output_format: str
) -> None:
    path = footer_change(tmp_path, emulator_server)
    result = run_cli(["apply", str(path), "--auto-approve", "--format", output_format, "--base-url", emulator_server.base_url])
    assert result.exit_code == 1
    shown = result.stdout if output_format == "text" else result.stderr
    assert shown.startswith("The plan was refused by its safety checks; nothing will be applied:\n")
    assert THRESHOLD in shown and '~ template["Promo 11"]' in shown
    assert {record.method for record in emulator_server.emulator.request_log} == {"GET"}

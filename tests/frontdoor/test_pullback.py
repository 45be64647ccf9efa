"""`klaviyo-sync export --into`: edits made in Klaviyo's UI come back into an existing project, and only those.

The account is the emulator, changed through Klaviyo's official SDK (klaviyo-api) as a UI user would change it;
the project is examples/shop (includes, variables, comments, flow-style tags, renamed_from).
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from klaviyo_api import KlaviyoAPI

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.frontdoor.ci_files import REPO
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.shop import shop_account

SHOP = REPO / "examples" / "shop"
EDITED = "Still thinking it over?"


@pytest.fixture
def shop(
    tmp_path: Path,
    emulator_factory: Callable[[EmulatorConfig | None], Emulator],
    serve_emulator: Callable[[Emulator], ServedEmulator],
) -> tuple[Path, ServedEmulator]:
    """examples/shop, applied to an emulator account that holds the shop's welcome flow, as its editor left it."""
    server = serve_emulator(shop_account(emulator_factory(None)))
    project = tmp_path / "klaviyo"
    shutil.copytree(SHOP, project)
    applied = run_cli(["apply", str(project), "--auto-approve", "--base-url", server.base_url])
    assert applied.exit_code == 0, applied.output
    return project, server


def _sdk(server: ServedEmulator) -> KlaviyoAPI:
    return KlaviyoAPI(CANARY_KEY, max_delay=0, max_retries=0, test_host=server.base_url)


def _id(sdk: KlaviyoAPI, kind: str, name: str) -> str:
    escaped = name.replace("'", "\\'")
    (item,) = getattr(getattr(sdk, kind), f"get_{kind.lower()}")(filter=f"equals(name,'{escaped}')").data
    return str(item.id)


def _edit_template(sdk: KlaviyoAPI, name: str, edit: Callable[[str], str]) -> str:
    template_id = _id(sdk, "Templates", name)
    html = edit(sdk.Templates.get_template(template_id).data.attributes.html)
    sdk.Templates.update_template(template_id, {"data": {"type": "template", "id": template_id, "attributes": {"html": html}}})
    return html


def _rename_list(sdk: KlaviyoAPI, old: str, new: str) -> None:
    list_id = _id(sdk, "Lists", old)
    sdk.Lists.update_list(list_id, {"data": {"type": "list", "id": list_id, "attributes": {"name": new}}})


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def _changed_lines(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """Per file: the lines removed (-) and added (+)."""
    changed: dict[str, list[str]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, "").splitlines(), after.get(name, "").splitlines()
        lines = [
            line
            for line in difflib.unified_diff(old, new, lineterm="", n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")
        ]
        if lines:
            changed[name] = lines
    return changed


def _export_into(project: Path, server: ServedEmulator, *args: str) -> tuple[int, str]:
    result = run_cli(["export", "--into", str(project), "--base-url", server.base_url, *args])
    return result.exit_code, result.output


def _plan(project: Path, server: ServedEmulator, *args: str) -> dict[str, object]:
    result = run_cli(["plan", str(project), "--format", "json", "--base-url", server.base_url, *args])
    assert result.exit_code == 0, result.output
    plan: dict[str, object] = json.loads(result.output)
    return plan


# --- the proof --------------------------------------------------------------------------------------------


def test_a_template_edit_and_a_list_rename_come_back_as_exactly_those_two_changes(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    before = _files(project)
    sdk = _sdk(server)
    live_html = _edit_template(sdk, "Abandoned Cart", lambda html: html.replace("You left something behind", EDITED))
    _rename_list(sdk, "Newsletter", "Monthly Newsletter")

    code, output = _export_into(project, server)

    assert code == 0, output
    after = _files(project)
    assert _changed_lines(before, after) == {
        "manifests/lists.yaml": ["-  - name: Newsletter", "+  - name: Monthly Newsletter", "+    renamed_from: [Newsletter]"],
        "templates/abandoned-cart.html": [
            "-  <title>You left something behind</title>",
            f"+  <title>{EDITED}</title>",
        ],
    }
    assert after["templates/abandoned-cart.html"] == live_html
    # Every comment of every manifest is still there, where it was.
    for name in ("klaviyo.yaml", "manifests/lists.yaml", "manifests/templates.yaml"):
        comments = [line for line in before[name].splitlines() if "#" in line]
        assert comments and all(line in after[name].splitlines() for line in comments if "Newsletter" not in line), name
    assert _plan(project, server)["changes"] == []
    assert 'list["Monthly Newsletter"] (manifests/lists.yaml:7): renamed from "Newsletter" in Klaviyo' in output
    assert "Updated 2 files in" in output and "templates/abandoned-cart.html" in output

    again_code, again = _export_into(project, server)
    assert again_code == 0 and "already matches the account" in again, again
    assert _files(project) == after


def test_a_filter_selects_what_comes_back(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    before = _files(project)
    sdk = _sdk(server)
    _edit_template(sdk, "Abandoned Cart", lambda html: html.replace("You left something behind", EDITED))
    _edit_template(sdk, "Order Confirmation", lambda html: html.replace("</body>", "<p>P.S.</p></body>"))

    code, output = _export_into(project, server, "--kind", "templates", "--name", "Abandoned*")

    assert code == 0, output
    assert set(_changed_lines(before, _files(project))) == {"templates/abandoned-cart.html"}
    plan = _plan(project, server)
    assert [c["address"] for c in plan["changes"]] == ['template["Order Confirmation"]']  # type: ignore[index]


def test_a_template_made_in_klaviyo_is_added_beside_the_others(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    before = _files(project)
    html = "<p>Spring sale, {{ first_name|default:'friend' }}. {% unsubscribe %}</p>\n"
    _sdk(server).Templates.create_template(
        {"data": {"type": "template", "attributes": {"name": "Spring Promo", "editor_type": "CODE", "html": html}}}
    )

    code, output = _export_into(project, server, "--kind", "templates", "--name", "Spring*")

    assert code == 0, output
    after = _files(project)
    assert _changed_lines(before, after) == {
        "manifests/templates.yaml": [
            "+",
            "+  - name: Spring Promo",
            "+    html: ../templates/spring-promo.html",
        ],
        "templates/spring-promo.html": [f"+{html.rstrip()}"],
    }
    assert _plan(project, server)["changes"] == []


def test_tags_added_in_klaviyo_reach_the_group_and_the_list(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    sdk = _sdk(server)
    (group,) = [g for g in sdk.Tags.get_tag_groups().data if g.attributes.name == "Lifecycle"]
    tag = sdk.Tags.create_tag(
        {
            "data": {
                "type": "tag",
                "attributes": {"name": "Loyal"},
                "relationships": {"tag-group": {"data": {"type": "tag-group", "id": group.id}}},
            }
        }
    )
    list_id = _id(sdk, "Lists", "SMS Subscribers")
    sdk.Tags.create_tag_relationships_lists(tag.data.id, {"data": [{"type": "list", "id": list_id}]})
    before = _files(project)

    code, output = _export_into(project, server, "--kind", "lists", "--name", "SMS*")

    assert code == 0, output
    assert _changed_lines(before, _files(project)) == {
        "klaviyo.yaml": ["-    tags: [Welcome, Engaged, VIP, Winback]", "+    tags: [Welcome, Engaged, VIP, Winback, Loyal]"],
        "manifests/lists.yaml": ["-    tags: {Channel: [SMS]}", "+    tags: {Channel: [SMS], Lifecycle: [Loyal]}"],
    }
    assert _plan(project, server)["changes"] == []


def test_a_rename_the_manifests_have_yet_to_apply_is_kept(shop: tuple[Path, ServedEmulator]) -> None:
    """`VIP Customers` has `renamed_from: [Top Customers]`: an account still holding the old name gets its other
    changes pulled back, and the pending rename stays the plan's only change."""
    project, server = shop
    sdk = _sdk(server)
    _rename_list(sdk, "VIP Customers", "Top Customers")
    list_id = _id(sdk, "Lists", "Top Customers")
    sdk.Lists.update_list(list_id, {"data": {"type": "list", "id": list_id, "attributes": {"opt_in_process": "double_opt_in"}}})
    before = _files(project)

    code, output = _export_into(project, server, "--kind", "lists")

    assert code == 0, output
    assert _changed_lines(before, _files(project)) == {
        "manifests/lists.yaml": ["-    opt_in_process: single_opt_in", "+    opt_in_process: double_opt_in"],
    }
    plan = _plan(project, server)
    assert [(c["action"], c["address"]) for c in plan["changes"]] == [("rename", 'list["VIP Customers"]')]  # type: ignore[index]


def test_a_universal_content_block_comes_back(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    project = tmp_path / "blocks-project"
    (project / "blocks").mkdir(parents=True)
    (project / "klaviyo.yaml").write_text(
        "version: 1\n\nuniversal_content:\n  - name: Footer   # on every email\n    html: blocks/footer.html\n", encoding="utf-8"
    )
    (project / "blocks" / "footer.html").write_text("<p>Acme</p>\n", encoding="utf-8")
    applied = run_cli(["apply", str(project), "--auto-approve", "--base-url", emulator_server.base_url])
    assert applied.exit_code == 0, applied.output
    sdk = _sdk(emulator_server)
    (block,) = sdk.Templates.get_all_universal_content().data
    definition = {
        "content_type": "block",
        "type": "html",
        "data": {"content": "<p>Acme, since 1999</p>\n", "display_options": {}},
    }
    sdk.Templates.update_universal_content(
        block.id, {"data": {"type": "template-universal-content", "id": block.id, "attributes": {"definition": definition}}}
    )
    before = _files(project)

    code, output = _export_into(project, emulator_server, "--kind", "universal_content")

    assert code == 0, output
    assert _changed_lines(before, _files(project)) == {"blocks/footer.html": ["-<p>Acme</p>", "+<p>Acme, since 1999</p>"]}
    assert _plan(project, emulator_server)["changes"] == []


# --- what is never overwritten ----------------------------------------------------------------------------


def test_a_filtered_export_never_replaces_a_project(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    before = _files(project)
    for force in ([], ["--force"]):
        result = run_cli(["export", "--out", str(project), "--kind", "templates", "--base-url", server.base_url, *force])
        assert result.exit_code == 1
        assert "already holds a project" in result.output and f"klaviyo-sync export --into {project}" in result.output
    assert _files(project) == before


def test_a_name_from_a_variable_is_not_overwritten(shop: tuple[Path, ServedEmulator]) -> None:
    """`QA Seed List (${KLAVIYO_ENV})` renamed in Klaviyo: writing the new name would lose the variable."""
    project, server = shop
    before = _files(project)
    sdk = _sdk(server)
    _rename_list(sdk, "QA Seed List (staging)", "QA Seeds (staging)")
    _edit_template(sdk, "Win-back - We Miss You", lambda html: html.replace("</body>", "<p>.</p></body>"))

    code, output = _export_into(project, server)

    assert code == 0, output
    assert (
        'Warning: list["QA Seeds (staging)"] left as it is: it was renamed in Klaviyo, but its name in '
        "manifests/lists.yaml:25 comes from a variable (QA Seed List (${KLAVIYO_ENV}))"
    ) in output
    assert set(_changed_lines(before, _files(project))) == {"templates/winback.html"}  # the rest still comes back


def test_a_value_from_a_variable_is_not_overwritten(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    lists = project / "manifests" / "lists.yaml"
    lists.write_text(
        lists.read_text(encoding="utf-8").replace("opt_in_process: single_opt_in\n", "opt_in_process: ${OPT_IN}\n", 1)
    )
    (project / "klaviyo.yaml").write_text(
        (project / "klaviyo.yaml")
        .read_text(encoding="utf-8")
        .replace("  KLAVIYO_ENV: staging\n", "  KLAVIYO_ENV: staging\n  OPT_IN: single_opt_in\n")
    )
    sdk = _sdk(server)
    list_id = _id(sdk, "Lists", "VIP Customers")
    sdk.Lists.update_list(list_id, {"data": {"type": "list", "id": list_id, "attributes": {"opt_in_process": "double_opt_in"}}})
    before = _files(project)

    code, output = _export_into(project, server, "--kind", "lists")

    assert code == 0, output
    assert "its opt_in_process in manifests/lists.yaml:12 comes from a variable (${OPT_IN})" in output
    assert _files(project) == before


def test_a_file_two_templates_share_is_not_rewritten_for_one(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    manifest = project / "manifests" / "templates.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("../templates/welcome-2.html", "../templates/welcome-1.html")
    )
    applied = run_cli(["apply", str(project), "--auto-approve", "--base-url", server.base_url])
    assert applied.exit_code == 0, applied.output
    _edit_template(_sdk(server), "Welcome 2 - Bestsellers", lambda html: html.replace("</body>", "<p>.</p></body>"))
    before = _files(project)

    code, output = _export_into(project, server)

    assert code == 0, output
    assert 'templates/welcome-1.html is also used by template["Welcome 1 - Hello"]' in output
    assert _files(project) == before


def test_nothing_is_written_through_a_symlink(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    target = project / "templates" / "abandoned-cart.html"
    shutil.move(target, project / "templates" / "real.html")
    os.symlink("real.html", target)
    _edit_template(_sdk(server), "Abandoned Cart", lambda html: html.replace("You left something behind", EDITED))
    _rename_list(_sdk(server), "Newsletter", "Monthly Newsletter")
    before = _files(project)

    code, output = _export_into(project, server)

    assert code == 1
    assert "export --into would write through 1 symlink(s): templates/abandoned-cart.html" in output
    assert "nothing was written" in output
    assert _files(project) == before and target.is_symlink()


def test_a_template_deleted_in_klaviyo_is_named_not_removed(shop: tuple[Path, ServedEmulator]) -> None:
    project, server = shop
    sdk = _sdk(server)
    sdk.Templates.delete_template(_id(sdk, "Templates", "Order Confirmation"))
    before = _files(project)

    code, output = _export_into(project, server, "--kind", "templates", "--name", "Order*")

    assert code == 1  # nothing selected is in the account
    assert "no live object matches --name Order*" in output
    code, output = _export_into(project, server, "--kind", "templates")
    assert code == 0, output
    assert 'template["Order Confirmation"] (manifests/templates.yaml:26) is declared but not in the account' in output
    assert _files(project) == before


def test_into_needs_a_project(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    code, output = _export_into(tmp_path / "nowhere", emulator_server)
    assert code == 1 and "does not exist" in output
    both = run_cli(["export", "--out", str(tmp_path), "--into", str(tmp_path)])
    assert both.exit_code == 1 and "either --out DIR" in both.output

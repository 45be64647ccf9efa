"""Universal content blocks end to end, with Klaviyo's official SDK (klaviyo-api 24.0.0) as the independent
client: it seeds the blocks and reads back what the real CLI's plan, saved plan and apply did on the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from klaviyo_api import KlaviyoAPI

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.projects import write_project as write

TYPE = "template-universal-content"
FOOTER = "<p>Footer, {{ organization.name }}</p>\n"
HEADER = "<p>Header</p>\n"
LEGAL = {"content_type": "block", "type": "text", "data": {"content": "<p>Terms</p>", "display_options": {}, "styles": {}}}


def html_block(html: str) -> dict[str, Any]:
    return {"content_type": "block", "type": "html", "data": {"content": html, "display_options": {}}}


def sdk_for(server: ServedEmulator) -> KlaviyoAPI:
    return KlaviyoAPI(CANARY_KEY, max_delay=0, max_retries=0, test_host=server.base_url)


def blocks(sdk: KlaviyoAPI) -> dict[str, Any]:
    """Every block's definition by name, all pages (page size 20 by default)."""
    found: dict[str, Any] = {}
    cursor = None
    while True:
        page = sdk.Templates.get_all_universal_content(**({"page_cursor": cursor} if cursor else {}))
        for block in page.data:
            definition = block.attributes.definition
            found[block.attributes.name] = definition if isinstance(definition, dict) else definition.to_dict()
        cursor = page.links.next if page.links is not None else None
        if not cursor:
            return found


def plan(root: Path, server: ServedEmulator, *extra: str) -> list[str]:
    result = run_cli(["plan", str(root), "--format", "json", "--base-url", server.base_url, *extra])
    assert result.exit_code == 0, result.output
    return [f"{c['action']} {c['address']}" for c in json.loads(result.output)["changes"]]


def apply_saved(root: Path, server: ServedEmulator, tmp_path: Path) -> str:
    saved = tmp_path / "plan.json"
    assert run_cli(["plan", str(root), "--out", str(saved), "--base-url", server.base_url]).exit_code == 0
    # Each new value is in the saved plan once: in the change's fields, not again in its desired object.
    for change in json.loads(saved.read_text(encoding="utf-8"))["changes"]:
        assert not set(change["desired"]["attrs"] if change["desired"] else ()) & {f["field"] for f in change["fields"]}
    result = run_cli(["apply", str(saved), "--project", str(root), "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    return result.output


MANIFEST = """\
version: 1
universal_content:
  - name: Footer
    html: blocks/footer.html
  - name: Header
    html: blocks/header.html
"""


def test_blocks_round_trip_through_plan_apply_and_the_official_sdk(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    sdk = sdk_for(emulator_server)
    for name, definition in (("Footer", html_block(FOOTER)), ("Legal", LEGAL)):
        sdk.Templates.create_universal_content({"data": {"type": TYPE, "attributes": {"name": name, "definition": definition}}})
    root = write(tmp_path / "project", MANIFEST, {"blocks/footer.html": FOOTER, "blocks/header.html": HEADER})

    assert plan(root, emulator_server) == ['create universal_content["Header"]']
    markdown = run_cli(["plan", str(root), "--format", "markdown", "--base-url", emulator_server.base_url]).output
    assert "a change of a universal content block into every template that uses it" in markdown
    assert "Apply complete: 1 created, 0 updated, 0 deleted." in apply_saved(root, emulator_server, tmp_path)
    assert blocks(sdk) == {"Footer": html_block(FOOTER), "Legal": LEGAL, "Header": html_block(HEADER)}
    assert plan(root, emulator_server) == []

    changed = "<p>New footer</p>\n"
    (root / "blocks/footer.html").write_text(changed, encoding="utf-8")
    assert plan(root, emulator_server) == ['update universal_content["Footer"]']
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in apply_saved(root, emulator_server, tmp_path)
    assert blocks(sdk)["Footer"] == html_block(changed)
    assert plan(root, emulator_server) == []

    write(root, MANIFEST.replace("version: 1\n", "version: 1\nprune: {universal_content: true}\n"), {})
    assert plan(root, emulator_server) == ['delete universal_content["Legal"]']
    assert "Apply complete: 0 created, 0 updated, 1 deleted." in apply_saved(root, emulator_server, tmp_path)
    assert set(blocks(sdk)) == {"Footer", "Header"}
    assert plan(root, emulator_server) == []


def test_export_writes_blocks_as_files_and_plans_empty(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    sdk = sdk_for(emulator_server)
    for name, definition in (("Footer", html_block(FOOTER)), ("Legal", LEGAL)):
        sdk.Templates.create_universal_content({"data": {"type": TYPE, "attributes": {"name": name, "definition": definition}}})
    out = tmp_path / "exported"
    result = run_cli(["export", "--out", str(out), "--base-url", emulator_server.base_url])
    assert result.exit_code == 0, result.output
    assert "2 universal content blocks" in result.output
    assert (out / "blocks/footer.html").read_text(encoding="utf-8") == FOOTER
    assert json.loads((out / "blocks/legal.json").read_text(encoding="utf-8")) == LEGAL
    assert plan(out, emulator_server) == []

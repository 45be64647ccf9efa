"""`klaviyo-sync preview`: the folder it writes, screenshots, samples, and rendering through the account."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.preview.chromium import find_chromium
from klaviyo_sync.scratch import PREVIEW_PREFIX
from tests.manifest.helpers import write_project
from tests.preview.png import distinct_colours, pixels
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
OLD = "<html><body style='margin:0'><h1 style='color:#0a0'>Spring sale, {{ first_name }}</h1>{% unsubscribe %}</body></html>"
NEW = "<html><body style='margin:0'><h1 style='color:#a00'>Summer sale, {{ first_name|default:'friend' }}</h1>{% unsubscribe %}</body></html>"
SAME = "<html><body><p>Unchanged {{ first_name }}</p>{% unsubscribe %}</body></html>"
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no Chromium here; .ci/run installs it, so CI runs this"
)


def _project(root: Path, **files: str) -> Path:
    manifest = "version: 1\ntemplates:\n  - {name: Sale, html: sale.html, text: sale.txt}\n  - {name: Same, html: same.html}\n"
    return write_project(
        root, {"klaviyo.yaml": manifest, "sale.html": NEW, "sale.txt": "Hi {{ first_name }}", "same.html": SAME, **files}
    )


def _seed(emulator: Emulator) -> None:
    emulator.seed(
        CANARY_KEY, {"templates": [{"name": "Sale", "html": OLD, "text": "Hi {{ first_name }}"}, {"name": "Same", "html": SAME}]}
    )


def _preview(server: ServedEmulator, project: Path, out: Path, *args: str) -> str:
    result = run_cli(["preview", str(project), "--out", str(out), "--base-url", server.base_url, *args])
    assert result.exit_code == 0, result.output
    return result.stderr


@needs_chromium
def test_changed_templates_are_rendered_before_and_after_with_screenshots(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    assert CHROMIUM is not None, "CI installs Chromium (.ci/run), so the screenshots are checked there"
    _seed(emulator_server.emulator)
    out = tmp_path / "preview"
    said = _preview(emulator_server, _project(tmp_path / "p"), out)
    assert "1 template(s), 1 render(s)" in said and "Screenshots at 600 and 375 px." in said
    folder = out / "sale" / "default"
    assert sorted(path.name for path in folder.iterdir()) == [
        "after-375.png",
        "after-600.png",
        "after.html",
        "after.txt",
        "before-375.png",
        "before-600.png",
        "before.html",
        "before.txt",
    ]
    assert (
        "Summer sale, Alex" in (folder / "after.html").read_text() and "Spring sale, Alex" in (folder / "before.html").read_text()
    )
    assert not (out / "same").exists(), "an unchanged template is not previewed unless --all"
    for width in (600, 375):
        before, after = folder / f"before-{width}.png", folder / f"after-{width}.png"
        assert pixels(after)[0] == width
        assert distinct_colours(after) > 2, f"{after} is blank"
        assert pixels(before)[2] != pixels(after)[2], "the heading changed colour and text: the screenshots must differ"
    index = (out / "index.html").read_text()
    assert "sale/default/before-600.png" in index and "sale/default/after-375.png" in index
    summary = (out / "summary.md").read_text()
    assert "| Sale | changed | default | `sale/default/before.html` (" in summary
    assert [record.method for record in emulator_server.emulator.request_log if record.method != "GET"] == []


def test_without_chromium_the_html_is_written_and_the_way_to_screenshots_is_said(
    tmp_path: Path, emulator_server: ServedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAVIYO_SYNC_CHROMIUM", str(tmp_path / "no-such-browser"))
    _seed(emulator_server.emulator)
    out = tmp_path / "preview"
    said = _preview(emulator_server, _project(tmp_path / "p"), out, "--all")
    assert "No screenshots: install Chromium for screenshots (Debian/Ubuntu: `apt-get install chromium`)" in said
    assert not list(out.rglob("*.png"))
    assert (out / "same" / "default" / "after.html").read_text() == (out / "same" / "default" / "before.html").read_text()
    assert "| Same | unchanged |" in (out / "summary.md").read_text()


def test_profiles_from_the_project_and_the_template_and_a_one_off_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAVIYO_SYNC_CHROMIUM", str(tmp_path / "none"))
    manifest = (
        "version: 1\npreview:\n  profiles: [profiles/*.json]\ntemplates:\n"
        "  - {name: Sale, html: sale.html}\n  - {name: VIP, html: sale.html, profiles: [vip.json]}\n"
    )
    project = write_project(
        tmp_path / "p",
        {
            "klaviyo.yaml": manifest,
            "sale.html": NEW,
            "profiles/ada.json": json.dumps({"first_name": "Ada"}),
            "profiles/nobody.json": "{}",
            "vip.json": json.dumps({"first_name": "Grace"}),
        },
    )
    out = tmp_path / "out"
    assert run_cli(["preview", str(project), "--offline", "--out", str(out)]).exit_code == 0
    assert "Summer sale, Ada" in (out / "sale" / "ada" / "after.html").read_text()
    assert "Summer sale, friend" in (out / "sale" / "nobody" / "after.html").read_text()  # missing: default applies
    assert "Summer sale, Grace" in (out / "vip" / "vip" / "after.html").read_text()
    assert not (out / "vip" / "ada").exists()
    (tmp_path / "once.json").write_text(json.dumps({"first_name": "Linus"}))
    assert (
        run_cli(["preview", str(project), "--offline", "--out", str(out), "--context", str(tmp_path / "once.json")]).exit_code
        == 0
    )
    assert sorted(p.name for p in (out / "sale").iterdir()) == ["once"]
    assert "Summer sale, Linus" in (out / "vip" / "once" / "after.html").read_text()


def test_a_broken_profile_is_a_validate_error(tmp_path: Path) -> None:
    manifest = "version: 1\ntemplates:\n  - {name: Sale, html: sale.html, profiles: [vip.json, gone.json]}\n"
    project = write_project(tmp_path, {"klaviyo.yaml": manifest, "sale.html": NEW, "vip.json": '{"first_name": "Ada",}'})
    result = run_cli(["validate", str(project)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'vip.json'}:1:22: invalid JSON: Expecting property name enclosed in double quotes" in result.stdout
    assert "`gone.json` does not exist" in result.stdout


def test_a_bad_context_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("[1, 2]")
    result = run_cli(["preview", str(EXAMPLE), "--offline", "--out", str(tmp_path / "o"), "--context", str(tmp_path / "c.json")])
    assert result.exit_code == 1
    assert "--context must be a JSON object of template variables" in result.output


def test_the_shop_example_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAVIYO_SYNC_CHROMIUM", str(tmp_path / "none"))
    out = tmp_path / "out"
    result = run_cli(["preview", str(EXAMPLE), "--offline", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pages = sorted(path.parent.parent.name for path in out.glob("*/default/after.html"))
    assert pages == [
        "abandoned-cart",
        "order-confirmation",
        "welcome-1-hello",
        "welcome-1-hello-fr",
        "welcome-2-bestsellers",
        "win-back-we-miss-you",
    ]
    welcome = (out / "welcome-1-hello" / "default" / "after.html").read_text()
    assert "{%" not in welcome and "{{" not in welcome
    assert '<a href="https://preview.klaviyo-sync.invalid/unsubscribe">Unsubscribe</a>' in welcome


def test_with_klaviyo_renders_through_the_account_and_leaves_nothing(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator = emulator_server.emulator
    _seed(emulator)
    # A scratch template left by an earlier run that was killed between its create and its delete.
    emulator.seed(CANARY_KEY, {"templates": [{"name": f"{PREVIEW_PREFIX}killed0run0", "html": "<p>x</p>"}]})
    before = len(emulator.request_log)
    out = tmp_path / "preview"
    said = _preview(emulator_server, _project(tmp_path / "p"), out, "--with-klaviyo", "--all")
    assert "Rendered by Klaviyo's template-render." in said
    names = _live_template_names(emulator_server)
    assert names == ["Sale", "Same"], "the scratch templates, the earlier run's too, are gone"
    assert (
        '<a href="https://emulator.invalid/unsubscribe">Unsubscribe</a>' in (out / "sale" / "default" / "after.html").read_text()
    )
    renders = [r for r in emulator.request_log[before:] if r.path.rstrip("/").endswith("/template-render")]
    assert len(renders) == 4  # two templates, before and after


def test_with_klaviyo_a_failed_render_leaves_nothing(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    _seed(emulator_server.emulator)
    project = _project(tmp_path / "p", **{"sale.html": "<p>{% if %}{% endif %}</p>{% unsubscribe %}"})
    (project / "klaviyo.yaml").write_text((project / "klaviyo.yaml").read_text() + "lint:\n  syntax: off\n")
    out = tmp_path / "preview"
    _preview(emulator_server, project, out, "--with-klaviyo")
    assert _live_template_names(emulator_server) == ["Sale", "Same"]
    assert "Klaviyo could not render it" in (out / "sale" / "default" / "after.html").read_text()
    assert "cannot render: Klaviyo could not render it" in (out / "summary.md").read_text()


def _live_template_names(server: ServedEmulator) -> list[str]:
    import httpx

    from tests.emulator.helpers import headers

    with httpx.Client(base_url=server.base_url, headers=headers(CANARY_KEY)) as http:
        return sorted(item["attributes"]["name"] for item in http.get("/api/templates").json()["data"])


def test_plan_markdown_includes_the_preview_summary(
    tmp_path: Path, emulator_server: ServedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAVIYO_SYNC_CHROMIUM", str(tmp_path / "none"))
    _seed(emulator_server.emulator)
    project, out = _project(tmp_path / "p"), tmp_path / "preview"
    _preview(emulator_server, project, out, "--link", "https://ci.example/artifacts/42")
    result = run_cli(
        [
            "plan",
            str(project),
            "--format",
            "markdown",
            "--base-url",
            emulator_server.base_url,
            "--preview-summary",
            str(out / "summary.md"),
        ]
    )
    assert result.exit_code == 0, result.output
    plan, _, preview = result.stdout.partition("\n### klaviyo-sync preview\n")
    assert (
        plan.startswith("### klaviyo-sync plan for Emulated account (`")
        and "Plan: 0 to create, 1 to update, 0 to delete." in plan
    )
    assert "| Sale | changed | default | [HTML](https://ci.example/artifacts/42/sale/default/before.html)" in preview
    assert "Screenshots and the gallery: [https://ci.example/artifacts/42](https://ci.example/artifacts/42/index.html)" in preview


def test_a_long_preview_summary_is_cut_to_fit_the_comment() -> None:
    from klaviyo_sync.plan import plan_to_json
    from klaviyo_sync.render.markdown import COMMENT_LIMIT, with_preview
    from klaviyo_sync.resources import Plan

    summary = "### klaviyo-sync preview\n\n" + "| a | b |\n" * 20_000
    comment = with_preview(plan_to_json(Plan(changes=[], unmanaged=[], manifest_hashes={}, fingerprint={})), summary)
    assert len(comment) < COMMENT_LIMIT and comment.startswith("### klaviyo-sync plan")
    assert comment.endswith("… preview summary cut to fit the comment; the gallery has every render.\n")


def test_the_output_folder_is_replaced_only_if_preview_wrote_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAVIYO_SYNC_CHROMIUM", str(tmp_path / "none"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    result = run_cli(["preview", str(EXAMPLE), "--offline", "--out", str(mine)])
    assert result.exit_code == 1
    assert "holds files that klaviyo-sync preview did not write" in result.output
    assert (mine / "thesis.txt").read_text() == "precious"
    out = tmp_path / "out"
    assert run_cli(["preview", str(EXAMPLE), "--offline", "--out", str(out)]).exit_code == 0
    (out / "stale").mkdir()
    assert (
        run_cli(["preview", str(EXAMPLE), "--offline", "--out", str(out), "--target", "template:Abandoned Cart"]).exit_code == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [".klaviyo-sync-preview", "abandoned-cart", "index.html", "summary.md"]


@needs_chromium
def test_the_shop_example_gets_screenshots_one_can_look_at(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI installs Chromium (.ci/run), so the screenshots are checked there"
    out = tmp_path / "out"
    result = run_cli(["preview", str(EXAMPLE), "--offline", "--out", str(out), "--target", "template:Welcome 1 - Hello"])
    assert result.exit_code == 0, result.output
    for width in (600, 375):
        shot = out / "welcome-1-hello" / "default" / f"after-{width}.png"
        got_width, height, _ = pixels(shot)
        assert (got_width, height > 400) == (width, True)
        assert distinct_colours(shot) > 10, f"{shot} looks blank"


def test_a_flow_email_is_previewed_as_what_it_sends_now_and_after(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    """Before: the copy the flow email sends now (frozen when it was pointed at its template, so not the library
    template's content); after: what the manifests give it."""
    emulator_server.emulator.seed(
        CANARY_KEY,
        {
            "lists": [{"name": "Newsletter"}],
            "templates": [{"name": "Sale", "html": OLD}],
            "flows": [
                {
                    "name": "Welcome Series",
                    "emails": [{"name": "Email #1", "template": "Sale"}, {"name": "Email #2", "template": "Sale"}],
                }
            ],
        },
    )
    manifest = (
        "version: 1\ntemplates:\n  - {name: Sale, html: sale.html}\nflows:\n  - name: Welcome Series\n    emails:\n"
        '      - {name: "Email #1", template: Sale}\n      - {name: "Email #2", html: same.html}\n'
    )
    project = write_project(tmp_path / "p", {"klaviyo.yaml": manifest, "sale.html": NEW, "same.html": SAME})
    out = tmp_path / "preview"
    said = _preview(emulator_server, project, out)
    assert "1 template(s), 2 flow email(s), 3 render(s)" in said
    first = out / "welcome-series-email-1" / "default"
    assert (
        "Spring sale, Alex" in (first / "before.html").read_text() and "Summer sale, Alex" in (first / "after.html").read_text()
    )
    second = out / "welcome-series-email-2" / "default"
    assert "Spring sale" in (second / "before.html").read_text() and "Unchanged Alex" in (second / "after.html").read_text()
    summary = (out / "summary.md").read_text()
    assert "| Welcome Series / Email #1 | changed | default |" in summary

    targeted = tmp_path / "one"
    said = _preview(emulator_server, project, targeted, "--target", "flow_email:Welcome Series/Email #2")
    assert "0 template(s), 1 flow email(s), 1 render(s)" in said
    assert sorted(path.name for path in targeted.iterdir() if path.is_dir()) == ["welcome-series-email-2"]


def test_a_changed_html_block_is_previewed_and_other_block_types_are_named(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    old_footer = {"content_type": "block", "type": "html", "data": {"content": OLD, "display_options": {}}}
    emulator_server.emulator.seed(CANARY_KEY, {"universal_content": [{"name": "Footer", "definition": old_footer}]})
    legal = {"content_type": "block", "type": "text", "data": {"content": "<p>Terms</p>", "display_options": {}, "styles": {}}}
    manifest = (
        "version: 1\nuniversal_content:\n  - {name: Footer, html: footer.html}\n  - {name: Legal, definition: legal.json}\n"
    )
    project = write_project(tmp_path / "p", {"klaviyo.yaml": manifest, "footer.html": NEW, "legal.json": json.dumps(legal)})
    out = tmp_path / "preview"
    said = _preview(emulator_server, project, out)
    assert (
        "0 template(s), 1 universal content block(s), 1 render(s)" in said
        and "block Legal: only html blocks are previewed" in said
    )
    footer = out / "block-footer" / "default"
    assert "Spring sale" in (footer / "before.html").read_text() and "Summer sale, Alex" in (footer / "after.html").read_text()

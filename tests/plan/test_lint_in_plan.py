"""Template lint warnings in a plan: for the templates the plan writes, in text, markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tests.manifest.helpers import write_project
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

UNCHANGED = "<p>Same {% unsubscribe %}</p>"
CHANGED = '<p>New</p><img src="https://x/a.png">{% unsubscribe %}'


def test_warnings_of_the_templates_the_plan_writes(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator_server.emulator.seed(
        CANARY_KEY,
        {"templates": [{"name": "Kept", "html": UNCHANGED + "<img src='y.png'>"}, {"name": "Changed", "html": "<p>Old</p>"}]},
    )
    write_project(
        tmp_path,
        {
            "klaviyo.yaml": "version: 1\ntemplates:\n  - {name: Kept, html: kept.html}\n  - {name: Changed, html: changed.html}\n",
            "kept.html": UNCHANGED + "<img src='y.png'>",
            "changed.html": CHANGED,
        },
    )
    base = ["plan", str(tmp_path), "--base-url", emulator_server.base_url]
    expected = "lint: changed.html:1:11: `<img>` without `alt` — add alt="
    text = run_cli([*base, "--no-color"])
    assert text.exit_code == 0, text.output
    assert f"  ! {expected}" in text.stdout
    assert "kept.html" not in text.stdout  # unchanged in the account: `validate` lists it
    data = json.loads(run_cli([*base, "--format", "json"]).stdout)
    assert [w for w in data["warnings"] if w.startswith("lint: ")] == [
        f'{expected}"…" describing the image (alt="" for a decorative one): many clients block images by default [img-alt]'
    ]
    markdown = run_cli([*base, "--format", "markdown"]).stdout
    assert "> [!WARNING]\n> lint: changed.html:1:11: \\`&lt;img&gt;\\` without \\`alt\\`" in markdown
    validate = run_cli(["validate", str(tmp_path)])
    assert validate.exit_code == 0 and "kept.html:1:30: warning: `<img>` without `alt`" in validate.stdout

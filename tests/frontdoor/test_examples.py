"""examples/: valid, showing what they claim to show, and the quickstart round trip on the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from klaviyo_sync.manifest import load_project
from klaviyo_sync.resources import Kind
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PROJECTS = sorted(path.parent for path in EXAMPLES.rglob("klaviyo.yaml"))
SCHEMA = REPO / "schemas" / "klaviyo.schema.json"


def test_there_are_examples() -> None:
    assert EXAMPLES / "shop" in PROJECTS


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_example_validates(project: Path) -> None:
    result = run_cli(["validate", str(project)])
    assert result.exit_code == 0, result.output
    assert (project / "README.md").is_file(), f"{project.name} has no README"


# Every YAML file of an example is a manifest, except the emulator seed (the account as Klaviyo holds it).
MANIFESTS = sorted(path for project in PROJECTS for path in project.rglob("*.yaml") if path.name != "emulator-seed.yaml")


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_manifests_point_editors_at_the_schema(manifest: Path) -> None:
    first = manifest.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), f"{manifest}: first line should be the schema modeline"
    assert (manifest.parent / first[len(prefix) :]).resolve() == SCHEMA


def test_shop_example_shows_every_feature() -> None:
    project = load_project(EXAMPLES / "shop")
    state = project.state
    templates = {r.name: r for r in state.of_kind(Kind.TEMPLATE)}
    assert templates["Welcome 1 - Hello (FR)"].clone_from == "Welcome 1 - Hello"
    for name in ("Welcome 1 - Hello", "Abandoned Cart", "Order Confirmation", "Win-back - We Miss You"):
        html, text = templates[name].attrs["html"], templates[name].attrs["text"]
        assert "@media" in html and "<table" in html and "{{ first_name|default:" in html
        assert "{% if" in html and "{% endif %}" in html
        assert text.strip() and "<" not in text
    assert "{% for item in event.extra.line_items %}" in templates["Abandoned Cart"].attrs["html"]
    lists = {r.name for r in state.of_kind(Kind.LIST)}
    assert {"Newsletter", "VIP Customers", "QA Seed List (staging)"} <= lists
    assert {r.name for r in state.of_kind(Kind.TAG_GROUP)} == {"Lifecycle", "Channel"}
    assert state.of_kind(Kind.LIST_TAG)
    emails = {r.key: r for r in state.of_kind(Kind.FLOW_EMAIL)}
    assert emails[("Welcome Series", "Welcome 1")].attrs["template"] == "Welcome 1 - Hello"
    assert emails[("Welcome Series", "Welcome 1")].attrs["html"] == templates["Welcome 1 - Hello"].attrs["html"]
    assert len({r.origin.file for r in state if r.origin}) == 4  # split over several files
    assert state.get(Kind.LIST, ("Newsletter",)).prevent_destroy  # type: ignore[union-attr]

    production = load_project(EXAMPLES / "shop", {"KLAVIYO_ENV": "production"})
    assert production.state.get(Kind.LIST, ("QA Seed List (production)",)) is not None


def test_quickstart_round_trip_on_the_emulator(tmp_path: Path) -> None:
    shop = str(EXAMPLES / "shop")
    # The account starts as Klaviyo's flow editor left it: the welcome flow exists (flows are never created here).
    state = ["--emulator", "--emulator-state", str(tmp_path / "state.json"), "--emulator-seed", f"{shop}/emulator-seed.yaml"]

    first = run_cli(["plan", shop, *state, "--detailed-exitcode", "--no-color"])
    assert first.exit_code == 2, first.output
    assert "Plan:" in first.output

    applied = run_cli(["apply", shop, *state, "--auto-approve", "--no-color"])
    assert applied.exit_code == 0, applied.output
    assert "Apply complete:" in applied.output

    second = run_cli(["plan", shop, *state, "--detailed-exitcode", "--no-color"])
    assert second.exit_code == 0, second.output
    assert "No changes." in second.output

    # The state file keeps the account between runs: the production variant differs only by its QA list.
    production = run_cli(["plan", shop, *state, "--var", "KLAVIYO_ENV=production", "--detailed-exitcode", "--no-color"])
    assert production.exit_code == 2, production.output
    assert "QA Seed List (production)" in production.output

"""Loading the manifests while the account is read: the result is the same, manifest problems still come first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.errors import ManifestError, ServerError
from klaviyo_sync.inputs import loading_project, read_account
from klaviyo_sync.manifest.project import Project
from klaviyo_sync.resources import Kind, State
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.definitions import minimal_definition
from tests.support.fixtures import ServedEmulator

GOOD = """\
version: 1
templates:
  - name: Welcome
    html: welcome.html
"""
BROKEN = """\
version: 1
templates:
  - name: Welcome
    html: missing.html
"""


def write_project(root: Path, manifest: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "klaviyo.yaml").write_text(manifest, encoding="utf-8")
    (root / "welcome.html").write_text("<html><body><p>Hello</p></body></html>\n", encoding="utf-8")
    return root


def read(project: Path, base_url: str, **client_options: Any) -> tuple[Project, State]:
    async def scenario() -> tuple[Project, State]:
        async with KlaviyoClient(CANARY_KEY, base_url=base_url, **client_options) as client:
            project, live, _ = await read_account(loading, client)
            return project, live

    with loading_project(project, {}) as loading:
        return asyncio.run(scenario())


def test_the_project_and_the_account_arrive_together(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    definition = minimal_definition()
    emulator_server.emulator.seed(
        CANARY_KEY,
        {
            "templates": [
                {"name": "Welcome", "editor_type": "SYSTEM_DRAGGABLE", "definition": definition},
                {"name": "Someone else's", "editor_type": "SYSTEM_DRAGGABLE", "definition": definition},
            ]
        },
    )
    project, live = read(write_project(tmp_path, GOOD), emulator_server.base_url)
    assert [template.name for template in project.state.of_kind(Kind.TEMPLATE)] == ["Welcome"]
    # The reader waited for the manifests' template names: only the declared drag-and-drop template's definition.
    managed, other = live.get(Kind.TEMPLATE, ("Welcome",)), live.get(Kind.TEMPLATE, ("Someone else's",))
    assert managed is not None and other is not None
    assert "definition" in managed.attrs and "definition" not in other.attrs
    assert emulator_server.emulator.request_counts(CANARY_KEY)["get_template"] == 1


def test_a_manifest_problem_wins_over_a_failed_read(tmp_path: Path, serve_emulator: Callable[[Emulator], ServedEmulator]) -> None:
    failing = serve_emulator(Emulator(EmulatorConfig(faults="get_tags:error=500")))
    with pytest.raises(ServerError):
        read(write_project(tmp_path / "good", GOOD), failing.base_url, max_retries=0)
    with pytest.raises(ManifestError) as caught:
        read(write_project(tmp_path / "broken", BROKEN), failing.base_url, max_retries=0)
    assert "missing.html" in str(caught.value.problems[0])


def test_a_manifest_problem_stops_a_read_under_way(tmp_path: Path, serve_emulator: Callable[[Emulator], ServedEmulator]) -> None:
    slow = serve_emulator(Emulator(EmulatorConfig(latency_ms=300)))
    slow.emulator.seed(CANARY_KEY, {"templates": [{"name": f"T{index:03}", "html": "<p>x</p>"} for index in range(60)]})
    with pytest.raises(ManifestError):
        read(write_project(tmp_path, BROKEN), slow.base_url, pacing=False)
    # The template walk (six pages, one after another) was cancelled long before its end.
    assert slow.emulator.request_counts(CANARY_KEY).get("get_templates", 0) < 6


def test_cli_reports_the_manifest_problem_before_a_missing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    result = run_cli(["plan", str(write_project(tmp_path, BROKEN))])
    assert result.exit_code == 1
    output = result.output + result.stderr
    assert "missing.html" in output and "Traceback" not in output
    assert "API key" not in output


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_manifest_problems_name_their_files_from_the_working_directory(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path / "shop", BROKEN)
    monkeypatch.chdir(tmp_path)
    result = run_cli([command, "shop", "--emulator", "--emulator-state", str(tmp_path / "state.json")])
    output = result.output + result.stderr
    assert result.exit_code == 1
    assert "shop/klaviyo.yaml:4:" in output  # the line that names missing.html, as `validate` shows it


@pytest.mark.parametrize("exact", [True, False])
def test_exact_reads_walk_each_collection_once(
    exact: bool, tmp_path: Path, serve_emulator: Callable[[Emulator], ServedEmulator]
) -> None:
    """150 templates (15 pages) created over 150 seconds: by default split into concurrent walks, with
    --exact-reads one walk of exactly 15 requests."""
    clock = iter(range(1_780_000_000, 1_780_000_400))
    served = serve_emulator(Emulator(EmulatorConfig(clock=lambda: float(next(clock)), latency_ms=10)))
    served.emulator.seed(CANARY_KEY, {"templates": [{"name": f"T{index:03}", "html": "<p>x</p>"} for index in range(150)]})
    queries: list[str] = []
    served.emulator.add_observer(lambda request, response: queries.append(request.query_string))
    flags = ["--exact-reads"] if exact else []
    result = run_cli(["plan", str(write_project(tmp_path, GOOD)), "--base-url", served.base_url, *flags])
    assert result.exit_code == 0, result.output
    requests = served.emulator.request_counts(CANARY_KEY)["get_templates"]
    sorted_queries = [query for query in queries if "sort=-created" in query]
    if exact:
        assert requests == 15 and not sorted_queries
    else:
        assert requests >= 15 and sorted_queries  # a second walk came down from the newest end

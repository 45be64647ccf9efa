"""The emulator as a server: loopback, concurrency, persistence across restarts, and the CLI command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.persistence import EmulatorStateError
from klaviyo_sync.emulator.server import serve_in_background
from tests.emulator.helpers import headers
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_server_binds_loopback_and_serves_concurrently(emulator_server, api_key: str) -> None:
    assert emulator_server.base_url.startswith("http://127.0.0.1:")
    emulator = emulator_server.emulator
    emulator.config.latency_ms = 500  # every answer is held back after the change is made
    seen_when_answered: list[int] = []
    statuses: list[int] = []

    def create(index: int) -> None:
        with httpx.Client(base_url=emulator_server.base_url, headers=headers(api_key), timeout=30) as http:
            body = {"data": {"type": "template", "attributes": {"name": f"T{index}", "editor_type": "CODE", "html": "<p/>"}}}
            statuses.append(http.post("/api/templates", json=body).status_code)
            seen_when_answered.append(len(emulator.request_log))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 10
    # Served one at a time, the first answer would leave when only its own request had been handled.
    assert min(seen_when_answered) > 1
    (account,) = emulator.dump()["accounts"].values()
    assert sorted(t["name"] for t in account["templates"].values()) == sorted(f"T{i}" for i in range(10))


def test_state_survives_a_restart_and_keys_stay_isolated(tmp_path: Path, api_key: str) -> None:
    state = tmp_path / "state.json"
    with serve_in_background(state_file=state) as base_url:
        with httpx.Client(base_url=base_url, headers=headers(api_key)) as http:
            list_id = http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Kept"}}}).json()["data"][
                "id"
            ]
        with httpx.Client(base_url=base_url, headers=headers("pk_someone_else")) as http:
            http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Theirs"}}})
    assert api_key not in state.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with serve_in_background(state_file=state) as base_url, httpx.Client(base_url=base_url, headers=headers(api_key)) as http:
        names = [item["attributes"]["name"] for item in http.get("/api/lists").json()["data"]]
        assert http.get(f"/api/lists/{list_id}").status_code == 200
        new_id = http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "New"}}}).json()["data"]["id"]
    assert names == ["Kept"]
    assert new_id != list_id


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{ half written")
    with pytest.raises(EmulatorStateError, match="not valid JSON"):
        Emulator(EmulatorConfig(state_file=state))


def test_cli_reports_a_bad_fault_spec_without_traceback() -> None:
    result = run_cli(["emulator", "--faults", "create_tag:explode"])
    assert result.exit_code == 1
    assert "unknown fault kind 'explode'" in result.output and "Traceback" not in result.output


def test_cli_reports_a_bad_rate_limit_scale() -> None:
    result = run_cli(["emulator", "--rate-limits", "fast"])
    assert result.exit_code == 1 and "on, off or a positive number" in result.output


def start_cli_emulator(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`klaviyo-sync emulator ARGS` in a subprocess; returns it, its base URL and what it printed before listening."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from klaviyo_sync.cli import main; main()", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    lines = []
    while True:
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            raise AssertionError(f"the emulator exited early: {process.stderr.read()}")
        lines.append(line)
        if "listening on" in line:
            return process, line.split("listening on ")[1].split()[0], lines


def stop_cli_emulator(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[str, str]:
    try:
        process.send_signal(sig)
        return process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_emulator_serves_seeds_persists_and_stops_on_sigterm(tmp_path: Path, api_key: str) -> None:
    state = tmp_path / "state.json"
    seed = tmp_path / "seed.yaml"
    seed.write_text("tag_groups:\n  - {name: Channel, exclusive: true}\ntags:\n  - {group: Channel, name: Email}\n")
    args = ["--state", str(state), "--seed", str(seed), "--seed-account", "pk_local_emulator", "--rate-limits", "0.01"]
    process, base_url, lines = start_cli_emulator(args, tmp_path)
    try:
        assert base_url.startswith("http://127.0.0.1:")
        assert any("Seeded: 1 tag_groups, 1 tags" in item for item in lines)
        with httpx.Client(base_url=base_url, headers=headers("pk_local_emulator"), timeout=10) as http:
            tags = http.get("/api/tags", params={"include": "tag-group"}).json()
            assert [t["attributes"]["name"] for t in tags["data"]] == ["Email"]
            assert tags["included"][0]["attributes"] == {"name": "Channel", "exclusive": True, "default": False}
            assert "ratelimit-limit" in http.get("/api/tag-groups").headers
    finally:
        out, err = stop_cli_emulator(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert "Emulator stopped." in out
    assert "Traceback" not in err
    saved = json.loads(state.read_text())
    (account,) = saved["accounts"].values()
    assert [t["name"] for t in account["tags"].values()] == ["Email"]


def test_cli_emulator_quirks_latency_and_faults_then_ctrl_c(tmp_path: Path, api_key: str) -> None:
    args = ["--quirks", "--latency", "1", "--faults", "get_tags:error=503#1;create_list:drop#1", "--fault-seed", "3"]
    process, base_url, _ = start_cli_emulator(args, tmp_path)
    try:
        with httpx.Client(base_url=base_url, headers=headers(api_key), timeout=10) as http:
            failed = http.get("/api/tags/")
            assert failed.status_code == 503 and failed.json()["errors"][0]["status"] == 503  # quirks: integer status
            document = http.get("/api/tags/").json()
            assert document["links"]["next"] is None  # quirks: null links
            with pytest.raises(httpx.RemoteProtocolError):
                http.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Maybe"}}})
            (created,) = http.get("/api/lists").json()["data"]
            assert created["attributes"]["name"] == "Maybe" and created["links"]["self"].endswith("/")
    finally:
        out, err = stop_cli_emulator(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert "Emulator stopped." in out and "Traceback" not in err


@pytest.mark.parametrize("length", [17_000, 60_000])
def test_a_request_line_over_the_url_limit_is_a_414_not_a_reset(emulator_server, api_key: str, length: int) -> None:
    with httpx.Client(base_url=emulator_server.base_url, headers=headers(api_key), timeout=30) as http:
        response = http.get("/api/templates", params={"filter": "x" * length})
        assert response.status_code == 414
        assert response.json()["errors"][0]["code"] == "uri_too_long"
        assert http.get("/api/templates").status_code == 200  # the server goes on serving

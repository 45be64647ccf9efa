"""The GitLab CI example: its note script keeps ONE plan note per merge request, and its jobs run as written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from klaviyo_sync.emulator.server import serve_in_background
from tests.frontdoor import ci_files
from tests.frontdoor.loopback import JsonHandler, serving
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.shop import shop_account

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "ci" / "gitlab" / "klaviyo_plan_note.py"
NOTES_PATH = "/api/v4/projects/42/merge_requests/7/notes"


class _Notes(JsonHandler):
    """Just enough of GitLab's merge-request notes API: list (paged), create, update."""

    notes: list[dict[str, Any]]
    tokens: list[str]

    def _form(self) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self._body()).items()}

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        self.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        page, per_page = int(query["page"][0]), int(query["per_page"][0])
        self._reply(200, self.notes[(page - 1) * per_page : page * per_page])

    def do_POST(self) -> None:
        self.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        note = {"id": 1000 + len(self.notes), "body": self._form()["body"]}
        self.notes.append(note)
        self._reply(201, note)

    def do_PUT(self) -> None:
        self.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        note_id = int(self.path.rsplit("/", 1)[1])
        note = next(n for n in self.notes if n["id"] == note_id)
        note["body"] = self._form()["body"]
        self._reply(200, note)


@pytest.fixture
def gitlab() -> Iterator[tuple[str, type[_Notes]]]:
    handler = type("Notes", (_Notes,), {"notes": [{"id": i, "body": f"review comment {i}"} for i in range(150)], "tokens": []})
    with serving(handler) as base_url:
        yield f"{base_url}/api/v4", handler


def _post(plan: Path, api_url: str) -> None:
    env = {"CI_API_V4_URL": api_url, "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7", "GITLAB_NOTES_TOKEN": "glpat-test"}
    result = subprocess.run([sys.executable, str(SCRIPT), str(plan)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_plan_note_is_created_once_then_updated(gitlab: tuple[str, type[_Notes]], tmp_path: Path) -> None:
    api_url, notes = gitlab
    plan = tmp_path / "plan.md"
    plan.write_text("Plan: 1 to create, 0 to update, 0 to delete.\n", encoding="utf-8")
    _post(plan, api_url)
    plan.write_text("No changes. The account matches the manifests.\n", encoding="utf-8")
    _post(plan, api_url)

    ours = [n for n in notes.notes if n["body"].startswith("<!-- klaviyo-sync-plan -->")]
    assert len(ours) == 1, "the second run must update the note, not add one"
    assert ours[0]["body"].endswith("No changes. The account matches the manifests.\n")
    assert len(notes.notes) == 151  # the other 150 (two pages) untouched
    assert set(notes.tokens) == {"glpat-test"}


def _run_job(job: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a job's `script:` as GitLab's shell executor does: one bash, stopping at the first failing line."""
    pipeline = ci_files.load(ci_files.GITLAB)
    script = "\n".join(pipeline[job]["script"])
    cli_dir = Path(sys.executable).parent
    job_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        **{k: str(v) for k, v in pipeline["variables"].items()},
        **env,
        "PATH": f"{cli_dir}{os.pathsep}{os.environ['PATH']}",
        "KLAVIYO_API_KEY": CANARY_KEY,
    }
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=job_env, capture_output=True, text=True, timeout=120
    )
    assert not find_canary(result.stdout + result.stderr)
    return result


def test_gitlab_jobs_plan_note_and_apply(gitlab: tuple[str, type[_Notes]], tmp_path: Path) -> None:
    api_url, notes = gitlab
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    (tmp_path / ".gitlab").mkdir()
    shutil.copy(SCRIPT, tmp_path / ".gitlab" / "klaviyo_plan_note.py")
    mr = {"CI_API_V4_URL": api_url, "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7", "GITLAB_NOTES_TOKEN": "glpat-test"}

    with serve_in_background(emulator=shop_account()) as base_url:
        env = {**mr, "KLAVIYO_BASE_URL": base_url}
        assert _run_job("validate", tmp_path, env).returncode == 0
        plan = _run_job("plan", tmp_path, env)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        (note,) = [n for n in notes.notes if n["body"].startswith("<!-- klaviyo-sync-plan -->")]
        assert "QA Seed List (production)" in note["body"]

        apply = _run_job("apply", tmp_path, env)
        assert apply.returncode == 0, apply.stdout + apply.stderr
        assert "Apply complete:" in apply.stdout

        assert _run_job("plan", tmp_path, env).returncode == 0
        (note,) = [n for n in notes.notes if n["body"].startswith("<!-- klaviyo-sync-plan -->")]
        assert "No changes" in note["body"]


def test_gitlab_plan_job_fails_on_invalid_manifests_but_still_posts(gitlab: tuple[str, type[_Notes]], tmp_path: Path) -> None:
    api_url, notes = gitlab
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    (tmp_path / ".gitlab").mkdir()
    shutil.copy(SCRIPT, tmp_path / ".gitlab" / "klaviyo_plan_note.py")
    lists = tmp_path / "klaviyo" / "manifests" / "lists.yaml"
    lists.write_text(lists.read_text(encoding="utf-8").replace("opt_in_process: double_opt_in", "opt_in_proces: double_opt_in"))
    env = {"CI_API_V4_URL": api_url, "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7", "GITLAB_NOTES_TOKEN": "glpat-test"}

    with serve_in_background(emulator=shop_account()) as base_url:
        plan = _run_job("plan", tmp_path, {**env, "KLAVIYO_BASE_URL": base_url})
    assert plan.returncode != 0
    (note,) = [n for n in notes.notes if n["body"].startswith("<!-- klaviyo-sync-plan -->")]
    assert "klaviyo-sync plan failed" in note["body"] and "manifests/lists.yaml" in note["body"]

"""The drift check: the scheduled workflows plan `main` and keep ONE issue saying what was changed in Klaviyo.

The emulator is the account, edited through Klaviyo's official SDK as a UI user would; GitHub's and GitLab's
issue APIs cannot be had in a test, so a loopback server stands in for the few calls the script makes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from klaviyo_api import KlaviyoAPI

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.frontdoor import ci_files
from tests.frontdoor.loopback import JsonHandler, serving
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator
from tests.support.shop import shop_account

MARKER = "<!-- klaviyo-sync-drift -->"
GITHUB_TOKEN = "ghs_drift_test"
GITLAB_TOKEN = "glpat-drift-test"


def _drift_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("klaviyo_drift", ci_files.DRIFT_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


drift = _drift_module()


# --- a stand-in for the forges' issue APIs ----------------------------------------------------------------


class _Forge(JsonHandler):
    """GitHub's (/repos/acme/shop/...) and GitLab's (/api/v4/projects/42/...) issue calls, paged as they page."""

    issues: list[dict[str, Any]]
    last_apply: str  # when the apply workflow (GitHub) or job (GitLab) last succeeded
    tokens: list[str]

    def _payload(self) -> dict[str, str]:
        raw = self._body()
        if self.path.startswith("/api/v4/"):
            return {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        return json.loads(raw)

    def _record_token(self) -> None:
        self.tokens.append(self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN") or "")

    def do_GET(self) -> None:
        self._record_token()
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path.endswith("/actions/workflows/klaviyo-apply.yml/runs"):
            assert query["status"] == ["success"] and query["branch"] == ["main"]
            self._reply(200, {"total_count": 1, "workflow_runs": [{"updated_at": self.last_apply}]})
            return
        page, per_page = int(query["page"][0]), int(query["per_page"][0])
        if url.path.endswith("/jobs"):
            jobs = [{"name": "plan", "ref": "feature", "finished_at": "2020-01-01T00:00:00Z"}] * 130
            jobs += [{"name": "apply", "ref": "main", "finished_at": self.last_apply}]
            self._reply(200, jobs[(page - 1) * per_page : page * per_page])
            return
        state = "open" if url.path.startswith("/repos/") else "opened"
        assert query["state"] == [state]
        shown = [issue for issue in self.issues if issue["state"] == state]
        self._reply(200, shown[(page - 1) * per_page : page * per_page])

    def do_POST(self) -> None:
        self._record_token()
        payload = self._payload()
        github = self.path.startswith("/repos/")
        issue = {"number" if github else "iid": 1000 + len(self.issues), "state": "open" if github else "opened", **payload}
        self.issues.append(issue)
        self._reply(201, issue)

    def _issue(self) -> dict[str, Any]:
        number = int(self.path.rsplit("/", 1)[1])
        return next(i for i in self.issues if i.get("number", i.get("iid")) == number)

    def do_PATCH(self) -> None:  # GitHub
        self._record_token()
        issue = self._issue()
        issue.update(self._payload())
        self._reply(200, issue)

    def do_PUT(self) -> None:  # GitLab
        self._record_token()
        issue = self._issue()
        payload = self._payload()
        if payload.pop("state_event", None) == "close":
            issue["state"] = "closed"
        issue.update(payload)
        self._reply(200, issue)


@pytest.fixture
def forge() -> Iterator[tuple[str, type[_Forge]]]:
    # 150 issues already open (two pages), and a pull request, which GitHub's issue list includes.
    others: list[dict[str, Any]] = [{"number": n, "iid": n, "state": "open", "body": f"issue {n}"} for n in range(150)]
    others.append({"number": 151, "state": "open", "body": f"{MARKER} quoted in a pull request", "pull_request": {}})
    handler = type("Forge", (_Forge,), {"issues": others, "last_apply": "", "tokens": []})
    with serving(handler) as base_url:
        yield base_url, handler


def _ours(handler: type[_Forge], body_key: str = "body") -> list[dict[str, Any]]:
    return [i for i in handler.issues if (i.get(body_key) or "").startswith(MARKER) and "pull_request" not in i]


# --- the account: the emulator on a clock the test moves, edited through the SDK -------------------------


@pytest.fixture
def account(
    emulator_factory: Callable[[EmulatorConfig | None], Emulator], serve_emulator: Callable[[Emulator], ServedEmulator]
) -> tuple[ServedEmulator, list[float]]:
    """An emulator whose `updated` times come from a clock the test can move forward (`shift[0]` seconds)."""
    shift = [0.0]
    emulator = emulator_factory(EmulatorConfig(clock=lambda: time.time() + shift[0]))
    return serve_emulator(shop_account(emulator)), shift  # the shop's welcome flow, as its editor left it


def _sdk(server: ServedEmulator) -> KlaviyoAPI:
    return KlaviyoAPI(CANARY_KEY, max_delay=0, max_retries=0, test_host=server.base_url)


def _template_id(sdk: KlaviyoAPI, name: str) -> str:
    escaped = name.replace("'", "\\'")
    (template,) = sdk.Templates.get_templates(filter=f"equals(name,'{escaped}')").data
    return str(template.id)


def _edit_in_ui(server: ServedEmulator, template: str) -> None:
    sdk = _sdk(server)
    template_id = _template_id(sdk, template)
    body = {"data": {"type": "template", "id": template_id, "attributes": {"html": "<p>Edited in Klaviyo</p>\n"}}}
    sdk.Templates.update_template(template_id, body)


def _apply(project: Path, server: ServedEmulator) -> None:
    result = run_cli(["apply", str(project), "--auto-approve", "--base-url", server.base_url, "--var", "KLAVIYO_ENV=production"])
    assert result.exit_code == 0, result.output


def _iso(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now, UTC).isoformat().replace("+00:00", "Z")


def _run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cli_dir = Path(sys.executable).parent
    run_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        **env,
        "PATH": f"{cli_dir}{os.pathsep}{os.environ['PATH']}",
        "KLAVIYO_API_KEY": CANARY_KEY,
    }
    result = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=run_env, capture_output=True, text=True, timeout=120)
    assert not find_canary(result.stdout + result.stderr)
    return result


def _project(tmp_path: Path, forge_dir: str) -> Path:
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    (tmp_path / forge_dir).mkdir()
    shutil.copy(ci_files.DRIFT_SCRIPT, tmp_path / forge_dir / "klaviyo_drift.py")
    return tmp_path / "klaviyo"


def _github_step(base_url: str, api_url: str) -> tuple[str, dict[str, str]]:
    """The drift workflow's step script, and its environment as the runner gives it, pointed at the stand-ins."""
    (step,) = [(s, env) for name, s, env in ci_files.github_steps(ci_files.GITHUB_DRIFT) if name.endswith("report drift")]
    script, workflow_env = step[0]["run"], step[1]
    env = {
        **{k: v for k, v in workflow_env.items() if "${{" not in v},
        "KLAVIYO_BASE_URL": base_url,
        "GITHUB_API_URL": api_url,
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }
    return script, env


# --- the workflows, run -----------------------------------------------------------------------------------


def test_github_drift_step_opens_one_issue_updates_it_and_closes_it(
    account: tuple[ServedEmulator, list[float]], forge: tuple[str, type[_Forge]], tmp_path: Path
) -> None:
    server, shift = account
    api_url, handler = forge
    project = _project(tmp_path, ".github")
    script, env = _github_step(server.base_url, api_url)

    _apply(project, server)
    handler.last_apply = _iso(10)  # the apply workflow finished just after
    in_sync = _run(script, tmp_path, env)
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr
    assert not _ours(handler), "no drift, no issue"

    shift[0] = 3600  # an hour later, someone edits a template in Klaviyo
    _edit_in_ui(server, "Abandoned Cart")
    opened = _run(script, tmp_path, env)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "opened the drift issue" in opened.stdout
    (issue,) = _ours(handler)
    assert issue["title"] == "Klaviyo account differs from main"
    text = issue["body"]
    assert "**Changed in Klaviyo since the last apply" in text
    row = next(line for line in text.splitlines() if line.startswith('| `template["Abandoned Cart"]`'))
    edited = datetime.fromtimestamp(time.time() + 3600, UTC).strftime("%Y-%m-%d %H:")
    assert edited in row and row.endswith("| update |"), row
    assert "### klaviyo-sync plan" in text and "1 to update" in text  # the markdown plan follows
    assert (tmp_path / "plan.json").is_file()

    shift[0] = 7200
    _edit_in_ui(server, "Win-back - We Miss You")
    again = _run(script, tmp_path, env)
    assert "updated the drift issue" in again.stdout, again.stdout + again.stderr
    (issue,) = _ours(handler)
    assert '`template["Win-back - We Miss You"]`' in issue["body"] and "2 to update" in issue["body"]
    assert len(handler.issues) == 152, "one issue, updated in place"

    _apply(project, server)
    closed = _run(script, tmp_path, env)
    assert closed.returncode == 0 and "closed the drift issue" in closed.stdout, closed.stdout + closed.stderr
    (issue,) = _ours(handler)
    assert issue["state"] == "closed"
    assert set(handler.tokens) == {f"Bearer {GITHUB_TOKEN}"}


def test_gitlab_drift_job_opens_and_closes_one_issue(
    account: tuple[ServedEmulator, list[float]], forge: tuple[str, type[_Forge]], tmp_path: Path
) -> None:
    server, shift = account
    api_url, handler = forge
    handler.issues[:] = [  # GitLab's shape; it has no pull requests among its issues
        {"iid": i["iid"], "state": "opened", "description": i["body"]} for i in handler.issues if "pull_request" not in i
    ]
    project = _project(tmp_path, ".gitlab")
    pipeline = ci_files.load(ci_files.GITLAB)
    script = "\n".join(pipeline["drift"]["script"])
    env = {
        **{k: str(v) for k, v in pipeline["variables"].items()},
        "KLAVIYO_BASE_URL": server.base_url,
        "CI_API_V4_URL": f"{api_url}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_DEFAULT_BRANCH": "main",
        "GITLAB_NOTES_TOKEN": GITLAB_TOKEN,
    }
    _apply(project, server)
    handler.last_apply = _iso(10)  # the apply job is found on the second page of successful jobs
    shift[0] = 3600
    _edit_in_ui(server, "Order Confirmation")
    opened = _run(script, tmp_path, env)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    (issue,) = _ours(handler, "description")
    assert '| `template["Order Confirmation"]` |' in issue["description"]

    _apply(project, server)
    closed = _run(script, tmp_path, env)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert issue["state"] == "closed"
    assert set(handler.tokens) == {GITLAB_TOKEN}


def test_drift_over_the_safety_thresholds_is_reported(
    account: tuple[ServedEmulator, list[float]], forge: tuple[str, type[_Forge]], tmp_path: Path
) -> None:
    """The thresholds guard apply; a drift check that applies nothing must not be silenced by them."""
    server, shift = account
    api_url, handler = forge
    project = _project(tmp_path, ".github")
    script, env = _github_step(server.base_url, api_url)
    _apply(project, server)
    root = project / "klaviyo.yaml"
    root.write_text(
        root.read_text(encoding="utf-8") + "\nsafety: {max_update_fraction: 0.1, min_existing: 2}\n", encoding="utf-8"
    )
    handler.last_apply = _iso(10)
    shift[0] = 3600
    for name in ("Abandoned Cart", "Order Confirmation"):
        _edit_in_ui(server, name)
    refused = run_cli(["plan", str(project), "--base-url", server.base_url, "--var", "KLAVIYO_ENV=production"])
    assert refused.exit_code == 1 and "refused" in refused.output  # what apply would meet

    reported = _run(script, tmp_path, env)

    assert reported.returncode == 0, reported.stdout + reported.stderr
    (issue,) = _ours(handler)
    assert '| `template["Abandoned Cart"]` |' in issue["body"] and '| `template["Order Confirmation"]` |' in issue["body"]


def test_a_plan_refused_all_the_same_is_reported_from_its_markdown(forge: tuple[str, type[_Forge]], tmp_path: Path) -> None:
    """A refusal --force does not lift (prevent_destroy, Klaviyo's limits) prints the plan but saves none."""
    api_url, handler = forge
    (tmp_path / "plan.md").write_text("### klaviyo-sync plan\n\n> [!CAUTION]\n> **Refused**\n", encoding="utf-8")
    env = {"GITHUB_API_URL": api_url, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_TOKEN": GITHUB_TOKEN}
    command = f"{sys.executable} {ci_files.DRIFT_SCRIPT} open github plan.json plan.md --since 2026-07-20T12:00:00Z"
    opened = _run(command, tmp_path, env)
    assert opened.returncode == 0, opened.stderr
    (issue,) = _ours(handler)
    assert "was refused by its safety checks" in issue["body"] and issue["body"].endswith("> **Refused**\n")


def test_a_failed_plan_fails_the_job_and_leaves_the_issue_alone(forge: tuple[str, type[_Forge]], tmp_path: Path) -> None:
    api_url, handler = forge
    lists = _project(tmp_path, ".github") / "manifests" / "lists.yaml"
    lists.write_text(lists.read_text(encoding="utf-8").replace("opt_in_process:", "opt_in_proces:", 1), encoding="utf-8")
    (step,) = [s for name, s, _ in ci_files.github_steps(ci_files.GITHUB_DRIFT) if name.endswith("report drift")]
    env = {"KLAVIYO_BASE_URL": "http://127.0.0.1:9", "KLAVIYO_PROJECT": "klaviyo", "GITHUB_API_URL": api_url}
    failed = _run(step["run"], tmp_path, {**env, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_TOKEN": GITHUB_TOKEN})
    assert failed.returncode == 1 and "klaviyo-sync plan failed (exit code 1)" in failed.stderr
    assert "manifests/lists.yaml:" in failed.stderr
    assert handler.tokens == []


# --- the issue's text -------------------------------------------------------------------------------------


def _change(action: str, address: str, version: str | None) -> dict[str, Any]:
    live = {"address": address, "version": version} if version is not None else None
    return {"action": action, "address": address, "live": live}


def test_body_dates_what_changed_in_klaviyo_since_the_last_apply() -> None:
    since = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
    plan = {
        "changes": [
            _change("update", 'template["Edited"]', "2026-07-20T13:30:00+00:00"),
            _change("update", 'template["Stale"]', "2026-07-19T08:00:00+00:00"),  # manifests changed, never applied
            _change("create", 'list["Deleted in Klaviyo"]', None),
            _change("delete", 'tag["Lifecycle"/"VIP"]', "3f2a9c"),  # tags have no `updated`; the version is a hash
        ]
    }
    text = drift.body(plan, "### klaviyo-sync plan\n", since, datetime(2026, 7, 21, 6, 17, tzinfo=UTC))
    assert text.startswith(MARKER + "\n")
    assert "**Changed in Klaviyo since the last apply (2026-07-20 12:00:00 UTC):**" in text
    assert '| `template["Edited"]` | 2026-07-20 13:30:00 UTC | update |' in text
    assert '- `template["Stale"]`: last updated in Klaviyo 2026-07-19 08:00:00 UTC; the plan would update it' in text
    assert '- `list["Deleted in Klaviyo"]`: not in Klaviyo (deleted there, or never applied); the plan would create it' in text
    assert '- `tag["Lifecycle"/"VIP"]`: Klaviyo keeps no `updated` time for it; the plan would delete it' in text
    assert text.endswith("### klaviyo-sync plan\n")


def test_body_fits_a_github_issue_however_long_the_plan() -> None:
    plan = {"changes": [_change("update", f'template["T{n}"]', "2026-07-20T13:30:00Z") for n in range(300)]}
    text = drift.body(plan, "x" * 70_000, None, datetime(2026, 7, 21, tzinfo=UTC))
    assert len(text) <= 65_536
    assert "(no successful apply was found)" in text and text.count("| update |") == 300
    assert text.endswith("_The plan is cut here to fit the issue: the job log has it whole._\n")

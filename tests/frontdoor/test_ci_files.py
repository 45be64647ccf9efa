"""The CI files users copy parse, and every klaviyo-sync call in them is one the CLI accepts."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.emulator.server import serve_in_background
from tests.frontdoor import ci_files
from tests.frontdoor.ci_files import parse_invocation
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.shop import shop_account


@pytest.mark.parametrize("path", ci_files.ALL_FILES, ids=lambda p: p.name)
def test_ci_file_is_yaml(path: ci_files.Path) -> None:
    assert ci_files.load(path), f"{path} is empty"


def test_every_call_is_accepted_by_the_cli(tmp_path: ci_files.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The calls name paths that exist in a user's checkout: the project directory and the saved plan.
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    (tmp_path / "plan.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    calls = ci_files.all_invocations()
    used = {call.args[0] for call in calls}
    assert used == {"validate", "preview", "plan", "apply"}, used
    for call in calls:
        parse_invocation(call)


def test_github_plan_workflow_runs_validate_and_a_markdown_plan_and_keeps_one_comment() -> None:
    calls = [c.args for c in ci_files.all_invocations() if c.source.startswith("plan.yml")]
    assert ("validate", "klaviyo", "--format", "github") in calls
    plan = next(args for args in calls if args[0] == "plan")
    assert {"--format", "markdown", "--detailed-exitcode"} <= set(plan)
    workflow = ci_files.load(ci_files.GITHUB_PLAN)
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads the key `on` as True
    script = next(step for step in workflow["jobs"]["plan"]["steps"] if step.get("uses", "").startswith("actions/github-script"))
    body = script["with"]["script"]
    assert "<!-- klaviyo-sync-plan -->" in body and "updateComment" in body and "createComment" in body
    assert workflow["permissions"]["pull-requests"] == "write"


def test_github_apply_workflow_never_overlaps_and_takes_the_key_from_secrets() -> None:
    workflow = ci_files.load(ci_files.GITHUB_APPLY)
    assert workflow[True]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False and workflow["concurrency"]["group"]
    keys = [
        step["env"]["KLAVIYO_API_KEY"]
        for _, step, _ in ci_files.github_steps(ci_files.GITHUB_APPLY)
        if "KLAVIYO_API_KEY" in step.get("env", {})
    ]
    assert keys and all(key == "${{ secrets.KLAVIYO_API_KEY }}" for key in keys)
    calls = [c.args for c in ci_files.all_invocations() if c.source.startswith("apply.yml")]
    assert ("plan", "klaviyo", "--out", "plan.json", "--no-color") in calls
    assert ("apply", "plan.json", "--project", "klaviyo", "--no-color") in calls


def test_gitlab_pipeline_serialises_applies_and_never_applies_on_a_schedule() -> None:
    pipeline = ci_files.load(ci_files.GITLAB)
    assert pipeline["apply"]["resource_group"]
    # The drift schedule runs on the default branch too; an apply there would undo the edits it reports.
    assert pipeline["apply"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"},
        {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"},
    ]
    assert pipeline["plan"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert pipeline["drift"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'}]


def test_github_drift_workflow_plans_main_on_a_schedule() -> None:
    workflow = ci_files.load(ci_files.GITHUB_DRIFT)
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"} and workflow[True]["schedule"][0]["cron"]
    checkout = next(step for step in workflow["jobs"]["drift"]["steps"] if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["ref"] == "main"
    assert workflow["permissions"] == {"contents": "read", "issues": "write", "actions": "read"}
    (plan,) = [c.args for c in ci_files.all_invocations() if c.source.startswith("drift.yml")]
    assert {"--format", "markdown", "--out", "plan.json", "--detailed-exitcode"} <= set(plan)


def test_pre_commit_hook_runs_validate() -> None:
    (hook,) = ci_files.load(ci_files.PRE_COMMIT_HOOKS)
    assert hook["id"] == "klaviyo-sync-validate"
    assert hook["entry"] == "klaviyo-sync validate" and hook["pass_filenames"] is False


# --- the workflows' own shell steps, run against an emulator -----------------------------------------------


def _github_step(path: ci_files.Path, name: str) -> tuple[str, dict[str, str]]:
    for step_name, step, env in ci_files.github_steps(path):
        if step_name.endswith(f"/{name}"):
            return step["run"], env
    raise AssertionError(f"{path.name} has no step {name!r}")


def _run_step(script: str, env: dict[str, str], cwd: ci_files.Path, base_url: str) -> subprocess.CompletedProcess[str]:
    """Run a step's `run:` script with bash as GitHub does (`bash -e {0}`), the API pointed at the emulator."""
    cli_dir = ci_files.Path(sys.executable).parent
    assert (cli_dir / "klaviyo-sync").exists(), "the klaviyo-sync console script is not installed next to this Python"
    step_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        **{k: v for k, v in env.items() if "${{" not in v},
        "PATH": f"{cli_dir}{os.pathsep}{os.environ['PATH']}",
        "KLAVIYO_BASE_URL": base_url,
        "KLAVIYO_API_KEY": CANARY_KEY,  # stands in for ${{ secrets.KLAVIYO_API_KEY }}
        "GITHUB_OUTPUT": str(cwd / "github-output.txt"),
    }
    result = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=step_env, capture_output=True, text=True, timeout=120)
    assert not find_canary(result.stdout + result.stderr)
    return result


def test_github_workflow_steps_plan_apply_and_plan_again(tmp_path: ci_files.Path) -> None:
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    with serve_in_background(emulator=shop_account()) as base_url:
        script, env = _github_step(ci_files.GITHUB_PLAN, "Validate manifests")
        validate = _run_step(script, env, tmp_path, base_url)
        assert validate.returncode == 0, validate.stdout + validate.stderr

        script, env = _github_step(ci_files.GITHUB_PLAN, "Plan")
        plan = _run_step(script, env, tmp_path, base_url)
        assert plan.returncode == 0, plan.stderr
        assert "exitcode=2" in (tmp_path / "github-output.txt").read_text()
        comment = (tmp_path / "plan.md").read_text(encoding="utf-8")
        assert "QA Seed List (production)" in comment  # KLAVIYO_ENV from the workflow's env

        for name in ("Plan", "Apply"):
            script, env = _github_step(ci_files.GITHUB_APPLY, name)
            step = _run_step(script, env, tmp_path, base_url)
            assert step.returncode == 0, f"apply.yml step {name}: {step.stdout}{step.stderr}"
        assert (tmp_path / "plan.json").is_file()

        (tmp_path / "github-output.txt").unlink()
        script, env = _github_step(ci_files.GITHUB_PLAN, "Plan")
        again = _run_step(script, env, tmp_path, base_url)
        assert again.returncode == 0, again.stderr
        assert "exitcode=0" in (tmp_path / "github-output.txt").read_text()


def test_plan_step_reports_an_invalid_project_in_the_comment_and_fails_the_job(tmp_path: ci_files.Path) -> None:
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    lists = tmp_path / "klaviyo" / "manifests" / "lists.yaml"
    lists.write_text(lists.read_text(encoding="utf-8").replace("opt_in_process: double_opt_in", "opt_in_proces: double_opt_in"))
    with serve_in_background(emulator=shop_account()) as base_url:
        script, env = _github_step(ci_files.GITHUB_PLAN, "Plan")
        step = _run_step(script, env, tmp_path, base_url)
    assert step.returncode == 0, step.stderr  # the comment step still runs; the last step fails the job
    assert "exitcode=1" in (tmp_path / "github-output.txt").read_text()
    comment = (tmp_path / "plan.md").read_text(encoding="utf-8")
    assert comment.startswith("### klaviyo-sync plan failed") and "manifests/lists.yaml:" in comment


def test_plan_step_posts_a_refused_plan_in_full_and_fails_the_job(tmp_path: ci_files.Path) -> None:
    """A plan its safety checks refuse is the comment (refusal first), not an error box; the job still fails."""
    project = tmp_path / "klaviyo"
    project.mkdir()
    lists = "".join(f"  - name: List {index:03d}\n" for index in range(151))  # over Klaviyo's 150 list creations a day
    (project / "klaviyo.yaml").write_text(f"version: 1\nlists:\n{lists}", encoding="utf-8")
    with serve_in_background(emulator=Emulator()) as base_url:
        script, env = _github_step(ci_files.GITHUB_PLAN, "Plan")
        step = _run_step(script, env, tmp_path, base_url)
    assert step.returncode == 0, step.stderr
    assert "exitcode=1" in (tmp_path / "github-output.txt").read_text()
    comment = (tmp_path / "plan.md").read_text(encoding="utf-8")
    assert comment.startswith("### klaviyo-sync plan for Emulated account (`")
    assert "`)\n\n> [!CAUTION]\n> **The plan was refused by its safety checks" in comment
    assert "this plan creates 151 lists, but only 150 of Klaviyo" in comment and "| `+` | create |" in comment


def test_plan_step_treats_any_exit_but_0_and_2_as_a_failure(tmp_path: ci_files.Path) -> None:
    """A missing or crashed klaviyo-sync (exit 127, 137, ...) must fail the job, not pass as "no changes"."""
    script, env = _github_step(ci_files.GITHUB_PLAN, "Plan")
    step_env = {**env, "PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(tmp_path / "github-output.txt")}
    step = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=step_env, capture_output=True, text=True, timeout=60)
    assert step.returncode == 0, step.stderr
    assert "exitcode=127" in (tmp_path / "github-output.txt").read_text()
    assert (tmp_path / "plan.md").read_text(encoding="utf-8").startswith("### klaviyo-sync plan failed")

    steps = {step.get("name"): step for step in ci_files.load(ci_files.GITHUB_PLAN)["jobs"]["plan"]["steps"]}
    fail_if = steps["Fail if the plan failed"]["if"]
    assert "exitcode != '0'" in fail_if and "exitcode != '2'" in fail_if and "exitcode == '1'" not in fail_if
    # Plan and comment run even after a failed validate, so the comment never shows an older plan.
    assert "!cancelled()" in steps["Plan"]["if"] and "!cancelled()" in steps["Post or update the plan comment"]["if"]


def test_the_api_key_is_a_secret_everywhere() -> None:
    """Only from secrets, only on the steps that call the API, never in an always-visible place."""
    for path in ci_files.GITHUB_WORKFLOWS:
        workflow = ci_files.load(path)
        assert "KLAVIYO_API_KEY" not in workflow.get("env", {}), f"{path.name}: workflow-level env reaches every action"
        for job in workflow["jobs"].values():
            assert "KLAVIYO_API_KEY" not in job.get("env", {}), f"{path.name}: job-level env reaches every action"
            for step in job["steps"]:
                key = step.get("env", {}).get("KLAVIYO_API_KEY")
                if key is not None:
                    assert key == "${{ secrets.KLAVIYO_API_KEY }}", f"{path.name}: {step.get('name')}"
                    assert any(f"klaviyo-sync {name}" in step["run"] for name in ("plan", "apply", "preview")), step.get("name")
                assert "KLAVIYO_API_KEY" not in step.get("run", ""), f"{path.name}: {step.get('name')} mentions the key"
                assert "KLAVIYO_API_KEY" not in json.dumps(step.get("with", {})), f"{path.name}: key given to an action"
    pipeline = ci_files.load(ci_files.GITLAB)
    assert "KLAVIYO_API_KEY" not in pipeline["variables"], "GitLab: the key belongs in a masked CI/CD variable"
    assert all("KLAVIYO_API_KEY" not in line for _, script, _ in ci_files.gitlab_scripts(ci_files.GITLAB) for line in script)
    for path in (ci_files.PRE_COMMIT_CONFIG, ci_files.PRE_COMMIT_HOOKS):
        assert "KLAVIYO_API_KEY" not in path.read_text(encoding="utf-8")


def test_gitlab_plan_runs_even_when_validate_fails() -> None:
    assert ci_files.load(ci_files.GITLAB)["plan"]["needs"] == []


def test_pre_commit_hook_entry_passes_a_valid_project_and_stops_a_broken_one(tmp_path: ci_files.Path) -> None:
    (repo,) = ci_files.load(ci_files.PRE_COMMIT_CONFIG)["repos"]
    (hook,) = repo["hooks"]
    shutil.copytree(ci_files.REPO / "examples" / "shop", tmp_path / "klaviyo")
    env = {**os.environ, "PATH": f"{ci_files.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run_hook() -> subprocess.CompletedProcess[str]:
        # pre-commit runs `entry` split like a shell would, with pass_filenames: false adding nothing.
        return subprocess.run(shlex.split(hook["entry"], comments=True), cwd=tmp_path, env=env, capture_output=True, text=True)

    assert hook["pass_filenames"] is False and ci_files.re.match(hook["files"], "klaviyo/templates/winback.html")
    ok = run_hook()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    winback = tmp_path / "klaviyo" / "templates" / "winback.html"
    winback.write_text(winback.read_text(encoding="utf-8").replace("{% endif %}", "", 1), encoding="utf-8")
    broken = run_hook()
    assert broken.returncode == 1
    assert "templates/winback.html:" in broken.stdout + broken.stderr

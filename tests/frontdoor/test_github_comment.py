"""The PR workflow's github-script step keeps ONE plan comment: run its JavaScript with node against a fake API.

actions/github-script runs the `script:` text as the body of an async function given `github` (an Octokit),
`context` and `require`; the fake below records what the script asks of GitHub's issues API.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.frontdoor import ci_files

MARKER = "<!-- klaviyo-sync-plan -->"
COMMENT_LIMIT = 65_536

HARNESS = r"""
const fs = require('fs');
const [script, statePath] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const where = { owner: 'acme', repo: 'klaviyo', issue_number: 7 };
function sameIssue(p) { return p.owner === where.owner && p.repo === where.repo; }
const github = {
  paginate: async (method, params) => method(params),
  rest: {
    issues: {
      listComments: (p) => {
        if (!sameIssue(p) || p.issue_number !== where.issue_number) throw new Error('wrong issue ' + JSON.stringify(p));
        return state.comments;
      },
      updateComment: async (p) => {
        if (!sameIssue(p)) throw new Error('wrong repo');
        const comment = state.comments.find((c) => c.id === p.comment_id);
        comment.body = p.body;
        state.updated.push(p.comment_id);
      },
      createComment: async (p) => {
        if (!sameIssue(p) || p.issue_number !== where.issue_number) throw new Error('wrong issue');
        if (p.body.length > 65536) throw new Error('Body is too long (maximum is 65536 characters)');
        state.comments.push({ id: 1000 + state.comments.length, user: { type: 'Bot' }, body: p.body });
      },
    },
  },
};
const context = { repo: { owner: where.owner, repo: where.repo }, issue: { number: where.issue_number } };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('github', 'context', 'require', fs.readFileSync(script, 'utf8'))(github, context, require)
  .then(() => fs.writeFileSync(statePath, JSON.stringify(state)))
  .catch((err) => { console.error(err); process.exit(1); });
"""


def _comment_script() -> str:
    workflow = ci_files.load(ci_files.GITHUB_PLAN)
    (step,) = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("uses", "").startswith("actions/github-script")]
    return step["with"]["script"]


def _post(tmp_path: Path, plan_text: str, comments: list[dict[str, Any]]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (./scripts/test installs the npm tools the suite uses)")
    (tmp_path / "plan.md").write_text(plan_text, encoding="utf-8")
    (tmp_path / "script.js").write_text(_comment_script(), encoding="utf-8")
    (tmp_path / "harness.js").write_text(HARNESS, encoding="utf-8")
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps({"comments": comments, "updated": []}), encoding="utf-8")
    result = subprocess.run(
        [node, "harness.js", "script.js", str(state_path)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(state_path.read_text(encoding="utf-8"))


def _others() -> list[dict[str, Any]]:
    return [
        {"id": 1, "user": {"type": "User"}, "body": "Looks good, but check the VIP list."},
        {"id": 2, "user": {"type": "User"}, "body": f"{MARKER}\nquoted by a person: not ours to edit"},
        {"id": 3, "user": {"type": "Bot"}, "body": "Coverage report"},
    ]


def test_first_push_creates_the_comment_and_later_pushes_update_it(tmp_path: Path) -> None:
    state = _post(tmp_path, "Plan: 1 to create, 0 to update, 0 to delete.\n", _others())
    ours = [c for c in state["comments"] if c["user"]["type"] == "Bot" and c["body"].startswith(MARKER)]
    assert len(ours) == 1 and ours[0]["body"] == f"{MARKER}\nPlan: 1 to create, 0 to update, 0 to delete.\n"
    assert state["updated"] == []

    state = _post(tmp_path, "No changes. The account matches the manifests.\n", state["comments"])
    ours = [c for c in state["comments"] if c["user"]["type"] == "Bot" and c["body"].startswith(MARKER)]
    assert len(ours) == 1, "a later push must update the comment, not add one"
    assert ours[0]["body"].endswith("No changes. The account matches the manifests.\n")
    assert state["updated"] == [ours[0]["id"]]
    assert state["comments"][:3] == _others()  # nobody else's comment is touched


def test_an_oversized_plan_is_cut_to_what_github_accepts(tmp_path: Path) -> None:
    state = _post(tmp_path, "### klaviyo-sync plan failed\n\n" + "x" * 100_000, [])
    (comment,) = state["comments"]
    assert len(comment["body"]) <= COMMENT_LIMIT
    assert comment["body"].startswith(f"{MARKER}\n### klaviyo-sync plan failed")
    assert "the job log has the rest" in comment["body"]

"""Report drift between the Klaviyo account and `main` as ONE issue, opened once and then updated in place.

The scheduled drift workflows (github/drift.yml, the `drift` job of gitlab/.gitlab-ci.yml) plan `main` with
`klaviyo-sync plan --format markdown --out plan.json --detailed-exitcode`. On exit 2 they run

    python3 klaviyo_drift.py open github|gitlab plan.json plan.md

which writes the issue: the objects the plan would change that were changed in Klaviyo since the last successful
apply (their `updated` times, read from the saved plan), then the markdown plan (a refused plan is not saved: then
the markdown alone). On exit 0 they run
`klaviyo_drift.py close github|gitlab`, which closes the issue if one is open. The issue is found by the marker
its body starts with. Standard library only, so it runs in any Python image.

GitHub: GITHUB_TOKEN (issues: write, actions: read), GITHUB_API_URL and GITHUB_REPOSITORY (set by Actions);
KLAVIYO_APPLY_WORKFLOW names the apply workflow's file (default klaviyo-apply.yml).
GitLab: GITLAB_NOTES_TOKEN (a project access token with the `api` scope), CI_API_V4_URL, CI_PROJECT_ID and
CI_DEFAULT_BRANCH (set by GitLab CI); KLAVIYO_APPLY_JOB names the apply job (default apply).
`--since ISO-TIME` gives the time of the last apply instead of asking the forge.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

MARKER = "<!-- klaviyo-sync-drift -->"
TITLE = "Klaviyo account differs from main"
BODY_LIMIT = 65_000  # GitHub refuses issue bodies over 65,536 characters (GitLab allows more)
PAGES = 10  # pages of 100 issues or jobs looked through


def _time(text: Any) -> datetime | None:
    """An ISO 8601 time, or None for anything else (a plan's version is a content hash where Klaviyo keeps no date)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def body(plan: dict[str, Any] | None, markdown: str, since: datetime | None, now: datetime) -> str:
    """The issue's text: what changed in Klaviyo since `since` among the plan's objects, then the plan.
    `plan` is None when the plan was refused (so not saved): the markdown, which shows it whole, is all there is."""
    if plan is None:
        head = (
            f"{MARKER}\n### {TITLE}\n\nChecked {_shown(now)}: the account differs from `main`, and the plan that would "
            "bring it back was refused by its safety checks (below), so it was not saved and the objects' `updated` "
            "times are not known.\n\n"
        )
        return head + _fitted(markdown, BODY_LIMIT - len(head))
    changed: list[tuple[datetime, str, str]] = []
    others: list[str] = []
    for change in plan.get("changes", []):
        live = change.get("live") or {}
        updated = _time(live.get("version"))
        address, action = live.get("address") or change["address"], change["action"]
        if updated is not None and (since is None or updated > since):
            changed.append((updated, address, action))
            continue
        if not live:
            why = "not in Klaviyo (deleted there, or never applied)"
        elif updated is None:
            why = "Klaviyo keeps no `updated` time for it"
        else:
            why = f"last updated in Klaviyo {_shown(updated)}"
        others.append(f"- {_code(address)}: {why}; the plan would {action} it")
    parts = [
        MARKER,
        f"### {TITLE}",
        "",
        f"Checked {_shown(now)}: applying `main` now would make {len(plan.get('changes', []))} change(s) to the account. "
        "Bring the edits made in Klaviyo into git with `klaviyo-sync export --into`, or apply `main` to undo them.",
        "",
    ]
    since_text = f"since the last apply ({_shown(since)})" if since is not None else "(no successful apply was found)"
    if changed:
        parts += [f"**Changed in Klaviyo {since_text}:**", "", "| Object | Updated in Klaviyo | The plan would |"]
        parts += [
            "|---|---|---|",
            *(f"| {_code(address)} | {_shown(updated)} | {action} |" for updated, address, action in sorted(changed)),
        ]
    else:
        parts.append(f"No object the plan changes was updated in Klaviyo {since_text}.")
    if others:
        parts += ["", "**Other planned changes:**", "", *others]
    head = "\n".join(parts) + "\n\n"
    return head + _fitted(markdown, BODY_LIMIT - len(head))


def _fitted(markdown: str, room: int) -> str:
    if len(markdown) <= room:
        return markdown
    note = "\n\n_The plan is cut here to fit the issue: the job log has it whole._\n"
    return markdown[: max(0, room - len(note))] + note


# --- the forges ------------------------------------------------------------------------------------------


class Forge:
    """What both forges share: finding the issue by its marker, and one JSON request."""

    body_key = "body"

    def open_issues(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def ours(self) -> dict[str, Any] | None:
        return next((issue for issue in self.open_issues() if (issue.get(self.body_key) or "").startswith(MARKER)), None)

    def _request(self, method: str, url: str, headers: dict[str, str], data: bytes | None) -> Any:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None


class GitHub(Forge):
    def __init__(self) -> None:
        self.api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        self.repo = f"{self.api}/repos/{os.environ['GITHUB_REPOSITORY']}"
        self.token = os.environ["GITHUB_TOKEN"]
        self.workflow = os.environ.get("KLAVIYO_APPLY_WORKFLOW", "klaviyo-apply.yml")

    def call(self, method: str, url: str, payload: dict[str, Any] | None = None) -> Any:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return self._request(method, url, headers, json.dumps(payload).encode() if payload is not None else None)

    def open_issues(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in range(1, PAGES + 1):
            issues = self.call("GET", f"{self.repo}/issues?state=open&per_page=100&page={page}")
            found += [issue for issue in issues if "pull_request" not in issue]  # the issues API lists pull requests too
            if len(issues) < 100:
                break
        return found

    def last_apply(self) -> datetime | None:
        query = urllib.parse.urlencode({"branch": "main", "status": "success", "per_page": 1})
        runs = self.call("GET", f"{self.repo}/actions/workflows/{urllib.parse.quote(self.workflow)}/runs?{query}")
        latest = (runs or {}).get("workflow_runs") or []
        return _time(latest[0].get("updated_at")) if latest else None

    def create(self, text: str) -> None:
        self.call("POST", f"{self.repo}/issues", {"title": TITLE, "body": text})

    def update(self, issue: dict[str, Any], text: str) -> None:
        self.call("PATCH", f"{self.repo}/issues/{issue['number']}", {"body": text})

    def close(self, issue: dict[str, Any]) -> None:
        self.call("PATCH", f"{self.repo}/issues/{issue['number']}", {"state": "closed", "state_reason": "completed"})


class GitLab(Forge):
    body_key = "description"

    def __init__(self) -> None:
        self.project = f"{os.environ['CI_API_V4_URL'].rstrip('/')}/projects/{os.environ['CI_PROJECT_ID']}"
        self.token = os.environ["GITLAB_NOTES_TOKEN"]
        self.job = os.environ.get("KLAVIYO_APPLY_JOB", "apply")
        self.branch = os.environ.get("CI_DEFAULT_BRANCH", "main")

    def call(self, method: str, url: str, payload: dict[str, Any] | None = None) -> Any:
        data = urllib.parse.urlencode(payload).encode() if payload is not None else None
        return self._request(method, url, {"PRIVATE-TOKEN": self.token}, data)

    def open_issues(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in range(1, PAGES + 1):
            issues = self.call("GET", f"{self.project}/issues?state=opened&per_page=100&page={page}")
            found += issues
            if len(issues) < 100:
                break
        return found

    def last_apply(self) -> datetime | None:
        for page in range(1, PAGES + 1):  # newest first
            jobs = self.call("GET", f"{self.project}/jobs?scope[]=success&per_page=100&page={page}")
            for job in jobs:
                if job.get("name") == self.job and job.get("ref") == self.branch:
                    return _time(job.get("finished_at"))
            if len(jobs) < 100:
                break
        return None

    def create(self, text: str) -> None:
        self.call("POST", f"{self.project}/issues", {"title": TITLE, "description": text})

    def update(self, issue: dict[str, Any], text: str) -> None:
        self.call("PUT", f"{self.project}/issues/{issue['iid']}", {"description": text})

    def close(self, issue: dict[str, Any]) -> None:
        self.call("PUT", f"{self.project}/issues/{issue['iid']}", {"state_event": "close"})


FORGES: dict[str, type[GitHub] | type[GitLab]] = {"github": GitHub, "gitlab": GitLab}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    opening = commands.add_parser("open", help="open or update the drift issue")
    opening.add_argument("forge", choices=FORGES)
    opening.add_argument("plan", help="the plan saved by `klaviyo-sync plan --out`")
    opening.add_argument("markdown", help="the plan as `klaviyo-sync plan --format markdown` printed it")
    opening.add_argument("--since", help="time of the last apply (ISO 8601); asked of the forge when left out")
    closing = commands.add_parser("close", help="close the drift issue, if one is open")
    closing.add_argument("forge", choices=FORGES)
    args = parser.parse_args(argv)

    forge = FORGES[args.forge]()
    issue = forge.ours()
    if args.command == "close":
        if issue is not None:
            forge.close(issue)
            print("The account matches main again: closed the drift issue.")
        return 0
    try:
        with open(args.plan, encoding="utf-8") as plan_file:
            plan = json.load(plan_file)
    except FileNotFoundError:
        plan = None  # a refused plan is shown in full but never saved
    with open(args.markdown, encoding="utf-8") as markdown_file:
        markdown = markdown_file.read()
    since = _time(args.since) if args.since else forge.last_apply()
    if args.since and since is None:
        parser.error(f"--since {args.since!r} is not an ISO 8601 time")
    text = body(plan, markdown, since, datetime.now(UTC))
    if issue is None:
        forge.create(text)
        print("The account differs from main: opened the drift issue.")
    else:
        forge.update(issue, text)
        print("The account differs from main: updated the drift issue.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

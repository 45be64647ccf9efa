"""Post a klaviyo-sync plan as ONE merge-request note, updating the previous one in place.

Usage (in a merge-request pipeline): python3 .gitlab/klaviyo_plan_note.py plan.md
Needs GITLAB_NOTES_TOKEN (a project access token with the `api` scope); the rest comes from GitLab CI.
Standard library only, so it runs in any Python image.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request

MARKER = "<!-- klaviyo-sync-plan -->"


def call(method: str, url: str, token: str, body: dict[str, str] | None = None) -> object:
    data = urllib.parse.urlencode(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"PRIVATE-TOKEN": token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as plan_file:
        text = plan_file.read()
    token = os.environ["GITLAB_NOTES_TOKEN"]
    notes_url = (
        f"{os.environ['CI_API_V4_URL']}/projects/{os.environ['CI_PROJECT_ID']}"
        f"/merge_requests/{os.environ['CI_MERGE_REQUEST_IID']}/notes"
    )
    body = f"{MARKER}\n{text}"
    page = 1
    while True:
        notes = call("GET", f"{notes_url}?per_page=100&page={page}", token)
        assert isinstance(notes, list)
        for note in notes:
            if note["body"].startswith(MARKER):
                call("PUT", f"{notes_url}/{note['id']}", token, {"body": body})
                return
        if len(notes) < 100:
            break
        page += 1
    call("POST", notes_url, token, {"body": body})


if __name__ == "__main__":
    main()

"""The apply report's views: counts, the summary line, the failure explanation, the JSON result."""

from __future__ import annotations

import json

from klaviyo_sync.apply.report import AppliedChange, ApplyReport, FailedChange, render_report_text, report_to_json
from klaviyo_sync.errors import BadRequestError, TransportError
from klaviyo_sync.resources import Action, Change, Kind, ReplaceMode, Resource


def change(action: Action, kind: Kind, *key: str) -> Change:
    live = None if action in (Action.CREATE, Action.CLONE, Action.LINK) else Resource(kind, key, id="old1")
    desired = None if action in (Action.DELETE, Action.UNLINK) else Resource(kind, key)
    mode = ReplaceMode.DELETE_FIRST if action is Action.REPLACE else None
    return Change(action, kind, key, desired, live, replace_mode=mode)


def test_counts_and_summary_line_of_a_complete_apply() -> None:
    report = ApplyReport(
        applied=[
            AppliedChange(change(Action.CREATE, Kind.TEMPLATE, "A"), "T1"),
            AppliedChange(change(Action.CLONE, Kind.TEMPLATE, "B"), "T2"),
            AppliedChange(change(Action.LINK, Kind.LIST_TAG, "L", "G", "t"), "L1:t1"),
            AppliedChange(change(Action.UPDATE, Kind.LIST, "L"), "L1"),
            AppliedChange(change(Action.REPLACE, Kind.TAG_GROUP, "G"), "g2"),
            AppliedChange(change(Action.DELETE, Kind.TEMPLATE, "C"), "old1"),
        ],
        verified=True,
    )
    assert report.ok
    assert render_report_text(report) == "Apply complete: 4 created, 1 updated, 2 deleted."
    data = report_to_json(report)
    assert data["status"] == "applied"
    assert data["summary"] == {"created": 4, "updated": 1, "deleted": 2}
    assert data["applied"][0] == {"action": "create", "kind": "template", "key": ["A"], "address": 'template["A"]', "id": "T1"}
    json.dumps(data)  # serialisable as is


def test_a_stopped_apply_lists_applied_failed_and_not_attempted_with_the_error_explained() -> None:
    error = BadRequestError(
        "rejected",
        operation="create_tag",
        status=400,
        code="invalid",
        detail="A list cannot have more than 100 tags.",
        source={"pointer": "/data"},
    )
    report = ApplyReport(
        applied=[AppliedChange(change(Action.CREATE, Kind.TAG_GROUP, "G"), "g1")],
        failed=[FailedChange(change(Action.CREATE, Kind.TAG, "G", "t"), error)],
        not_attempted=[change(Action.LINK, Kind.LIST_TAG, "L", "G", "t")],
    )
    text = render_report_text(report)
    assert text.splitlines() == [
        "Applied (1):",
        '  created tag_group["G"] (id g1)',
        "Failed (1):",
        '  create tag["G"/"t"]: Klaviyo answered HTTP 400 to create_tag, code invalid: A list cannot have more than 100 tags. '
        "(at /data)",
        "Not attempted (1):",
        '  link list_tag["L"/"G"/"t"]',
        "Apply stopped: 1 created, 0 updated, 0 deleted.",
    ]
    data = report_to_json(report)
    assert data["status"] == "failed"
    assert data["failed"][0]["error"]["code"] == "invalid"
    assert data["not_attempted"] == [
        {"action": "link", "kind": "list_tag", "key": ["L", "G", "t"], "address": 'list_tag["L"/"G"/"t"]'}
    ]


def test_a_lost_response_is_explained_as_such_and_partial_work_is_noted() -> None:
    error = TransportError(
        "create_template: the request may or may not have been applied", operation="create_template", ambiguous=True
    )
    report = ApplyReport(
        failed=[FailedChange(change(Action.REPLACE, Kind.TEMPLATE, "A"), error, "the old object (id old1) was deleted")],
        interrupted=True,
    )
    text = render_report_text(report)
    assert "no response from Klaviyo (create_template)" in text
    assert "    note: the old object (id old1) was deleted" in text
    assert text.endswith("Apply interrupted: 0 created, 0 updated, 0 deleted.")
    assert report_to_json(report)["failed"][0]["error"]["ambiguous"] is True

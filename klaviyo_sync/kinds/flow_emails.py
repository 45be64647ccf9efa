"""Flow emails (klaviyo-api-more.md §2–3): what a flow sends, declared under `flows:` → `emails:`.

Flows are built in Klaviyo's flow editor; klaviyo-sync never creates, deletes or re-wires them. It manages what
their send-email actions send: the content (a library template the project declares, or HTML and text files) and
the message fields a manifest sets, with Klaviyo's names, and optionally the email's status. Klaviyo sends a
flow-owned copy of a template, never the library template itself, so a content change is a repoint
(`klaviyo_sync.flows.repoint`): the action is pointed at the source, Klaviyo snapshots it into a new copy, and
the copy it replaced is deleted. An email is found by its flow's name and its message name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_sync.kinds.base import Action, Ids, Kind, KindSpec, Requests, register

if TYPE_CHECKING:
    from klaviyo_sync.resources import Change, Key, Resource

CONTENT_FIELDS = ("html", "text")
# FlowEmail members a manifest may set, with Klaviyo's names ([SPEC] FlowEmail).
MESSAGE_FIELDS = (
    "subject_line",
    "preview_text",
    "from_email",
    "from_label",
    "reply_to_email",
    "cc_email",
    "bcc_email",
    "smart_sending_enabled",
    "transactional",
    "add_tracking_params",
)
# The send-email action's `data.status`; a manifest sets one of these ([SPEC] also has `disabled`, set by Klaviyo).
STATUSES = ("draft", "manual", "live")
LIVE = "live"
SEND_EMAIL = "send-email"


def _needs(key: Key, desired: Resource | None) -> set[tuple[Kind, Key]]:
    """An email that follows a library template is repointed after that template's own change."""
    template = desired.attrs.get("template") if desired is not None else None
    return {(Kind.TEMPLATE, (template,))} if isinstance(template, str) else set()


def _alerts(change: Mapping[str, Any]) -> list[str]:
    """An email that starts or stops sending to real people, and a change to one that sends now."""
    address = change["address"]
    status = next((item for item in change.get("fields", []) if item["field"] == "status"), None)
    if status is not None and status["new"] == LIVE and status["old"] != LIVE:
        return [f"{address} goes live: it starts sending to everyone who reaches it in the flow"]
    if status is not None and status["old"] == LIVE and status["new"] != LIVE:
        return [f"{address} leaves live (becomes {json.dumps(status['new'])}): it stops sending"]
    live_status = ((change.get("live") or {}).get("attrs") or {}).get("status")
    if live_status == LIVE:
        return [f"{address} is live: this change reaches the inbox of everyone who reaches it from now on"]
    return []


async def _run_update(client: Any, change: Change, ids: Ids) -> str:
    from klaviyo_sync.flows.repoint import update_flow_email  # the procedure pulls in apply's helpers

    return await update_flow_email(client, change, ids)


SPEC = register(
    KindSpec(
        Kind.FLOW_EMAIL,
        "flow email",
        ("flow", "name"),
        fields=(*CONTENT_FIELDS, *MESSAGE_FIELDS, "status"),
        content_fields=CONTENT_FIELDS,
        text_fields=CONTENT_FIELDS,
        rank=6,
        actions=frozenset({Action.UPDATE}),
        needs=_needs,
        requests=Requests(
            {Action.UPDATE: "update_flow_action"},
            run_update=_run_update,
            # A repoint to a library template: the verifying read, then the replaced copy's delete.
            update_then=("get_template_for_flow_message", "delete_template"),
        ),
        alerts=_alerts,
    )
)

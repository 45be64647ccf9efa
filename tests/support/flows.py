"""A flow definition as create_flow takes it: a list trigger, a delay, then one send-email action per email."""

from __future__ import annotations

from typing import Any


def email_message(name: str, template_id: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "subject_line": f"{name}: hello",
        "preview_text": "",
        "from_email": "hello@example.com",
        "from_label": "Shop",
        "reply_to_email": "hello@example.com",
        "cc_email": None,
        "bcc_email": None,
        "template_id": template_id,
        "smart_sending_enabled": True,
        "transactional": False,
        "add_tracking_params": False,
        **fields,
    }


def welcome_definition(
    list_id: str, emails: list[tuple[str, str | None]], *, status: str = "draft", delays: bool = True
) -> dict[str, Any]:
    """`emails`: (message name, library template id) in send order, each after a one-day delay when `delays`."""
    actions: list[dict[str, Any]] = []
    for index, (name, template_id) in enumerate(emails):
        following = f"delay-{index + 1}" if delays else f"email-{index + 1}"
        if delays:
            actions.append(
                {
                    "temporary_id": f"delay-{index}",
                    "type": "time-delay",
                    "links": {"next": f"email-{index}"},
                    "data": {"unit": "days", "value": 1, "timezone": "profile"},
                }
            )
        actions.append(
            {
                "temporary_id": f"email-{index}",
                "type": "send-email",
                "links": {"next": None if index == len(emails) - 1 else following},
                "data": {"status": status, "message": email_message(name, template_id)},
            }
        )
    return {
        "triggers": [{"type": "list", "id": list_id}],
        "profile_filter": None,
        "entry_action_id": "delay-0" if delays else "email-0",
        "actions": actions,
    }

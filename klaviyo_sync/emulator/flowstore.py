"""Flows as Klaviyo keeps them: a flow, its action records, one message per send-email action, flow-owned copies.

No HTTP here; callers hold `Store.lock`. Facts and their sources: the project's Klaviyo API notes (more), §2–3.
- A flow is stored apart from its actions; `definition.actions[]` is rebuilt from the action records on a read.
- An action record keeps its node (`type`, `links`, `data`) without its id; a send-email node's
  `data.message` is the message's definition, holding the message id and `template_id` (the current copy).
- A template given to a send-email node is snapshotted into a new flow-owned copy (a template record with
  `owner = "flow-message:<id>"`); the copy it replaces stays readable by id but is no longer `bound`.
- Message ids and action ids survive every repoint; copy ids never do.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from klaviyo_sync.emulator.errors import EmulatorError, invalid, not_found
from klaviyo_sync.emulator.store import Account, Store

FLOWS, ACTIONS, MESSAGES = "flows", "flow_actions", "flow_messages"
FLOW_STATUSES = ("draft", "manual", "live")
ACTION_STATUSES = ("disabled", "draft", "live", "manual")
ACTION_TYPES = (
    "action-output-split",
    "back-in-stock-delay",
    "conditional-split",
    "content-experiment",
    "send-email",
    "send-mobile-push",
    "send-sms",
    "send-webhook",
    "send-internal-alert",
    "send-whatsapp",
    "time-delay",
    "trigger-split",
    "update-profile",
    "target-date",
    "countdown-delay",
    "ab-test",
    "internal-service",
    "code",
    "multi-branch-split",
    "list-update",
)
BRANCH_TYPES = ("conditional-split", "trigger-split", "action-output-split")
# [SPEC] FlowEmail; the defaults are the schema's.
EMAIL_STRINGS = (
    "from_email",
    "from_label",
    "reply_to_email",
    "cc_email",
    "bcc_email",
    "subject_line",
    "preview_text",
    "template_id",
    "name",
)
EMAIL_DEFAULTS: dict[str, Any] = {"smart_sending_enabled": True, "transactional": False, "add_tracking_params": False}
EMAIL_OTHER = ("custom_tracking_params", "additional_filters", "id")
# [ASSUMED] the trigger type a flow reports for each trigger of its definition.
TRIGGER_TYPES = {
    "list": "Added to List",
    "segment": "Added to List",
    "metric": "Metric",
    "date": "Date Based",
    "price-drop": "Price Drop",
    "low-inventory": "Low Inventory",
}


@dataclass(frozen=True)
class FlowOptions:
    """Switches for what Klaviyo's documents leave unknown (§12).

    `absent_members`: "reset" stores exactly the node a PATCH sent, schema defaults for absent members (an omitted
    `data.status` becomes `draft`); "merge" keeps the stored value of every absent member.
    `resnapshot_same_template`: a PATCH repeating the current copy's id mints another copy anyway.
    `delete_bound_copy`: DELETE of the copy a message is bound to succeeds instead of answering 400.
    `include_with_definition`: get_flow serves `include` beside `additional-fields[flow]` (else 400, as observed).
    `stale_patch_answer`: the PATCH answer shows the `template_id` from before the repoint ([OBS] "eventual
    consistency"); `stale_template_reads_s`: for that many seconds after a repoint the message's template read
    still serves the copy it replaced.
    `included_actions_cap`: get_flows includes at most this many actions per page ([UNKNOWN] whether Klaviyo caps
    them); the flows' relationships still name every action.
    """

    absent_members: str = "reset"
    resnapshot_same_template: bool = False
    delete_bound_copy: bool = False
    include_with_definition: bool = False
    stale_patch_answer: bool = False
    stale_template_reads_s: float = 0.0
    included_actions_cap: int | None = None


def is_copy(template: dict[str, Any]) -> bool:
    return str(template.get("owner", "library")) != "library"


class FlowStore:
    def __init__(self, store: Store, acct: Account, options: FlowOptions | None = None) -> None:
        self.store = store
        self.acct = acct
        self.options = options or FlowOptions()
        self.flows = acct.collection(FLOWS)
        self.actions = acct.collection(ACTIONS)
        self.messages = acct.collection(MESSAGES)

    # -- reads ------------------------------------------------------------------------------------

    def flow(self, flow_id: str) -> dict[str, Any]:
        flow = self.flows.get(flow_id)
        if flow is None:
            raise not_found("flow", flow_id)
        return flow

    def action(self, action_id: str) -> dict[str, Any]:
        action = self.actions.get(action_id)
        if action is None:
            raise not_found("flow action", action_id)
        return action

    def message(self, message_id: str) -> dict[str, Any]:
        message = self.messages.get(message_id)
        if message is None:
            raise not_found("flow message", message_id)
        return message

    def triggered_by_list(self, list_id: str) -> list[dict[str, Any]]:
        """Flows whose trigger is the list, in creation order: a list's `flow-triggers` ([SPEC] the trigger only; a
        profile filter or split testing membership, or a list-update action, does not count)."""
        found = [f for f in self.flows.values() if any(t.get("type") == "list" and t.get("id") == list_id for t in f["triggers"])]
        return sorted(found, key=lambda flow: flow["seq"])

    def actions_of(self, flow: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.actions[action_id] for action_id in flow["action_ids"]]

    def messages_of(self, action: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.messages[message_id] for message_id in action.get("message_ids", [])]

    def message_definition(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message's FlowEmail: it lives in its action's node, its one home."""
        node = self.actions[message["action_id"]]["node"]
        return dict(node["data"]["message"])

    def bound_copy(self, message: dict[str, Any]) -> dict[str, Any]:
        """The copy the message's template read serves: the bound one, or for a while the one it replaced."""
        previous = message.get("previous_template_id")
        lagging = self.store.clock() < float(message.get("repointed_at", 0)) + self.options.stale_template_reads_s
        if previous is not None and lagging and previous in self.acct.templates:
            return self.store.get_template(self.acct, previous)
        return self.store.get_template(self.acct, self.message_definition(message)["template_id"])

    def answered_node(self, action: dict[str, Any]) -> dict[str, Any]:
        """The node a PATCH answers with: as stored, or with the template id from before the repoint."""
        node = {"id": action["id"], **action["node"]}
        message_ids = action.get("message_ids") or []
        if self.options.stale_patch_answer and message_ids:
            previous = self.messages[message_ids[0]].get("previous_template_id")
            if previous is not None:
                message = {**node["data"]["message"], "template_id": previous}
                node["data"] = {**node["data"], "message": message}
        return node

    # -- create_flow ------------------------------------------------------------------------------

    def create_flow(self, name: str, definition: Any) -> dict[str, Any]:
        if not isinstance(definition, dict):
            raise invalid("'definition' is required and must be an object.", pointer="/data/attributes/definition")
        pointer = "/data/attributes/definition"
        triggers = definition.get("triggers")
        if not isinstance(triggers, list) or len(triggers) != 1 or not isinstance(triggers[0], dict):
            raise invalid("A flow needs exactly one trigger; only one trigger is supported.", pointer=f"{pointer}/triggers")
        trigger_type = TRIGGER_TYPES.get(str(triggers[0].get("type")))
        if trigger_type is None:
            raise invalid(f"'{triggers[0].get('type')}' is not a supported trigger type.", pointer=f"{pointer}/triggers/0/type")
        nodes = definition.get("actions")
        if not isinstance(nodes, list) or not nodes:
            raise invalid("'actions' is required and must be a non-empty array.", pointer=f"{pointer}/actions")
        temporary: dict[str, str] = {}
        for index, node in enumerate(nodes):
            where = f"{pointer}/actions/{index}"
            if not isinstance(node, dict):
                raise invalid("Each action must be an object.", pointer=where)
            if node.get("id") is not None:
                raise invalid("'id' is not allowed on create; use 'temporary_id'.", pointer=f"{where}/id")
            temp = node.get("temporary_id")
            if not isinstance(temp, str) or not temp:
                raise invalid("'temporary_id' is required", pointer=f"{where}/temporary_id")
            if temp in temporary:
                raise invalid(f"The temporary_id '{temp}' is used twice.", pointer=f"{where}/temporary_id")
            self._check_type(node.get("type"), f"{where}/type")
            temporary[temp] = self.store.ids.numeric()
        entry = definition.get("entry_action_id")
        if entry not in temporary:
            raise invalid(
                f"'entry_action_id' ({entry}) does not name an action's temporary_id.", pointer=f"{pointer}/entry_action_id"
            )
        now = self.store.now()
        flow = {
            "id": self.store.ids.short(),
            "name": name,
            "status": "draft",  # [OBS] new flows are created in draft
            "archived": False,
            "trigger_type": trigger_type,
            "triggers": copy.deepcopy(triggers),
            "profile_filter": copy.deepcopy(definition.get("profile_filter")),
            "reentry_criteria": copy.deepcopy(definition.get("reentry_criteria")),
            "entry_action_id": temporary[entry],
            "action_ids": [temporary[node["temporary_id"]] for node in nodes],
            "created": now,
            "updated": now,
            "seq": self.acct.next_seq(),
        }
        for index, node in enumerate(nodes):
            where = f"{pointer}/actions/{index}"
            links = self._links_on_create(node, temporary, f"{where}/links")
            action = {
                "id": temporary[node["temporary_id"]],
                "flow_id": flow["id"],
                "node": {"type": node["type"], "links": links, "data": copy.deepcopy(node.get("data"))},
                "message_ids": [],
                "created": now,
                "updated": now,
                "seq": self.acct.next_seq(),
            }
            if node["type"] == "send-email":
                self._create_email(action, node.get("data"), f"{where}/data")
            self.actions[action["id"]] = action
        self.flows[flow["id"]] = flow
        return flow

    def _check_type(self, type_name: Any, pointer: str) -> None:
        if type_name not in ACTION_TYPES:
            raise invalid(f"'{type_name}' is not a valid action type; use one of {', '.join(ACTION_TYPES)}.", pointer=pointer)

    def _links_on_create(self, node: dict[str, Any], temporary: dict[str, str], pointer: str) -> dict[str, Any] | None:
        links = node.get("links")
        if links is None:
            return None
        if not isinstance(links, dict):
            raise invalid("'links' must be an object.", pointer=pointer)
        resolved: dict[str, Any] = {}
        for name, target in links.items():
            if target is None:
                resolved[name] = None
            elif target in temporary:
                resolved[name] = temporary[target]
            else:
                raise invalid(f"links.{name} ({target}) does not name an action's temporary_id.", pointer=f"{pointer}/{name}")
        return resolved

    def _create_email(self, action: dict[str, Any], data: Any, pointer: str) -> None:
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise invalid("'data' must be an object.", pointer=pointer)
        status = data.get("status", "draft")
        if status not in ACTION_STATUSES:
            raise invalid(
                f"'{status}' is not a valid status; use one of {', '.join(ACTION_STATUSES)}.", pointer=f"{pointer}/status"
            )
        given = data.get("message") or {}
        message = self._email(given, f"{pointer}/message", base=None)
        if message.get("id") is not None:
            raise invalid("'id' is not allowed on create.", pointer=f"{pointer}/message/id")
        now = self.store.now()
        record = {
            "id": self.store.ids.short(),
            "action_id": action["id"],
            "created": now,
            "updated": now,
            "seq": self.acct.next_seq(),
        }
        message["id"] = record["id"]
        template_id = message.get("template_id")
        message["template_id"] = None
        if template_id is not None:
            message["template_id"] = self._snapshot(str(template_id), record["id"], None, f"{pointer}/message/template_id")
        action["node"]["data"] = {"status": status, "message": message}
        action["message_ids"] = [record["id"]]
        self.messages[record["id"]] = record

    # -- update_flow ------------------------------------------------------------------------------

    def update_flow_status(self, flow_id: str, status: Any) -> dict[str, Any]:
        flow = self.flow(flow_id)
        if status not in FLOW_STATUSES:
            raise invalid(
                f"'{status}' is not a valid status; use one of {', '.join(FLOW_STATUSES)}.", pointer="/data/attributes/status"
            )
        flow["status"] = status
        flow["updated"] = now = self.store.now()
        for action in self.actions_of(flow):  # [SPEC] "...and all actions in that flow"
            data = action["node"].get("data")
            if isinstance(data, dict) and "status" in data:
                data["status"] = status
                action["updated"] = now
        return flow

    def delete_flow(self, flow_id: str) -> None:
        """[UNKNOWN] what happens to copies: the actions and messages go, the copies stay readable by id, unbound."""
        flow = self.flow(flow_id)
        for action in self.actions_of(flow):
            for message in self.messages_of(action):
                self._unbind(self.message_definition(message).get("template_id"))
                del self.messages[message["id"]]
            del self.actions[action["id"]]
        del self.flows[flow_id]

    # -- update_flow_action -----------------------------------------------------------------------

    def update_action(self, action_id: str, node: Any) -> dict[str, Any]:
        action = self.action(action_id)
        pointer = "/data/attributes/definition"
        if not isinstance(node, dict):
            raise invalid("'definition' is required and must be an object.", pointer=pointer)
        if node.get("type") != action["node"]["type"]:
            raise invalid(
                f"'type' must be the action's type, '{action['node']['type']}'; an action's type cannot change.",
                pointer=f"{pointer}/type",
            )
        if node.get("id") is not None and node["id"] != action_id:
            raise invalid(f"'id' ({node['id']}) is not this action's id ({action_id}).", pointer=f"{pointer}/id")
        if node.get("temporary_id") is not None:
            raise invalid("'temporary_id' is only allowed on create.", pointer=f"{pointer}/temporary_id")
        if "links" in node and node["links"] != action["node"]["links"]:
            # [UNKNOWN] whether the graph can be re-wired here; refusing keeps a flow's shape as its editor made it
            raise invalid("An action's links cannot be changed through this endpoint.", pointer=f"{pointer}/links")
        if action["node"]["type"] == "send-email":
            self._update_email(action, node.get("data"), f"{pointer}/data")
        elif "data" in node:
            action["node"]["data"] = copy.deepcopy(node["data"])
        action["updated"] = self.store.now()
        return action

    def _update_email(self, action: dict[str, Any], data: Any, pointer: str) -> None:
        stored = action["node"]["data"]
        merge = self.options.absent_members == "merge"
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise invalid("'data' must be an object.", pointer=pointer)
        status = data.get("status", stored["status"] if merge else "draft")
        if status not in ACTION_STATUSES:
            raise invalid(
                f"'{status}' is not a valid status; use one of {', '.join(ACTION_STATUSES)}.", pointer=f"{pointer}/status"
            )
        given = data.get("message")
        if given is None:
            given = {}
        current = stored["message"]
        message = self._email(given, f"{pointer}/message", base=current if merge else None)
        message_id = current["id"]
        if given.get("id") is not None and given["id"] != message_id:
            raise invalid(f"'id' ({given['id']}) is not this action's message ({message_id}).", pointer=f"{pointer}/message/id")
        message["id"] = message_id  # the message id survives every update
        wanted = given.get("template_id", current["template_id"])
        if wanted is None:
            wanted = current["template_id"]
        if wanted != current["template_id"] or (self.options.resnapshot_same_template and "template_id" in given):
            wanted = self._snapshot(str(wanted), message_id, current["template_id"], f"{pointer}/message/template_id")
            self.messages[message_id].update(previous_template_id=current["template_id"], repointed_at=self.store.clock())
        message["template_id"] = wanted
        action["node"]["data"] = {"status": status, "message": message}
        self.messages[message_id]["updated"] = self.store.now()

    def _email(self, given: Any, pointer: str, *, base: dict[str, Any] | None) -> dict[str, Any]:
        """A FlowEmail checked member by member; absent members from `base` when merging, else the schema's defaults."""
        if not isinstance(given, dict):
            raise invalid("'message' must be an object.", pointer=pointer)
        for name in ("body", "html"):
            if name in given:
                raise invalid(f"'{name}' is not a valid field for the resource 'FlowEmail'", pointer=f"{pointer}/{name}")
        known = (*EMAIL_STRINGS, *EMAIL_DEFAULTS, *EMAIL_OTHER)
        for name, value in given.items():
            if name not in known:
                raise invalid(f"'{name}' is not a valid field for the resource 'FlowEmail'", pointer=f"{pointer}/{name}")
            if name in EMAIL_STRINGS and value is not None and not isinstance(value, str):
                raise invalid(f"'{name}' must be a string.", pointer=f"{pointer}/{name}")
            if name in EMAIL_DEFAULTS and not isinstance(value, bool):
                raise invalid(f"'{name}' must be a boolean.", pointer=f"{pointer}/{name}")
        message: dict[str, Any] = {}
        for name in (*EMAIL_STRINGS, *EMAIL_DEFAULTS, "custom_tracking_params", "additional_filters"):
            if name in given:
                message[name] = copy.deepcopy(given[name])
            elif base is not None and name in base:
                message[name] = copy.deepcopy(base[name])
            else:
                message[name] = EMAIL_DEFAULTS.get(name)
        message["id"] = given.get("id")
        return message

    # -- copies -----------------------------------------------------------------------------------

    def _snapshot(self, source_id: str, message_id: str, previous: str | None, pointer: str) -> str:
        """A new flow-owned copy of `source_id` bound to the message; the previous copy is stranded, the source untouched."""
        source = self.acct.templates.get(source_id)
        if source is None:
            raise invalid(f"The template {source_id} does not exist.", pointer=pointer)  # [ASSUMED] a 400
        now = self.store.now()
        copied = {
            **copy.deepcopy(source),
            "id": self.store.ids.short(),
            "owner": f"flow-message:{message_id}",
            "bound": True,
            "created": now,
            "updated": now,
            "seq": self.acct.next_seq(),
        }
        self.acct.templates[copied["id"]] = copied
        self._unbind(previous)
        return str(copied["id"])

    def _unbind(self, template_id: str | None) -> None:
        if template_id is not None and template_id in self.acct.templates:
            self.acct.templates[template_id]["bound"] = False

    def check_copy_delete(self, template: dict[str, Any]) -> None:
        """[UNKNOWN] DELETE of the copy a message sends: refused unless the switch allows it."""
        if is_copy(template) and template.get("bound") and not self.options.delete_bound_copy:
            raise invalid(f"The template {template['id']} is in use by a flow message and cannot be deleted.")

    # -- test hooks -------------------------------------------------------------------------------

    def stranded_copies(self, message_id: str) -> list[str]:
        owner = f"flow-message:{message_id}"
        return [t["id"] for t in self.acct.templates.values() if t.get("owner") == owner and not t.get("bound")]


def copy_not_patchable() -> EmulatorError:
    """[FIELD] PATCH on a flow-owned copy: 404, although GET serves it."""
    return EmulatorError(404, "not_found", "Template does not exist", pointer="/data/id")

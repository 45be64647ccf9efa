"""`KlaviyoClient`: the typed calls the engine makes, on top of the paced, retried HTTP layer.

Each write names its operation in the spec and builds the exact JSON:API body it documents. Creates return the new
object's id; if a create's answer is lost, `find_ids_by_name` tells whether it happened (names are the natural keys
of klaviyo-sync's model), so the caller never creates a duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from klaviyo_sync.api_spec import operation
from klaviyo_sync.client.filters import any_of, equals
from klaviyo_sync.client.http import KlaviyoHttp
from klaviyo_sync.errors import ServerError
from klaviyo_sync.resources import Kind

# What carries a tag besides lists, and the operation that reads each (3/s and 60/m each).
TAG_CARRIERS = {"flows": "get_flow_ids_for_tag", "campaigns": "get_campaign_ids_for_tag", "segments": "get_segment_ids_for_tag"}


class KlaviyoClient(KlaviyoHttp):
    async def __aenter__(self) -> KlaviyoClient:
        return self

    # Tag groups

    async def create_tag_group(self, name: str, exclusive: bool) -> str:
        body = {"data": {"type": "tag-group", "attributes": {"name": name, "exclusive": exclusive}}}
        return _created_id("create_tag_group", await self.request("create_tag_group", json=body))

    async def update_tag_group(self, tag_group_id: str, name: str) -> None:
        body = {"data": {"type": "tag-group", "id": tag_group_id, "attributes": {"name": name}}}
        await self.request("update_tag_group", path_params={"id": tag_group_id}, json=body)

    async def delete_tag_group(self, tag_group_id: str) -> None:
        await self.request("delete_tag_group", path_params={"id": tag_group_id})

    # Tags

    async def create_tag(self, group_id: str, name: str) -> str:
        body = {
            "data": {
                "type": "tag",
                "attributes": {"name": name},
                "relationships": {"tag-group": {"data": {"type": "tag-group", "id": group_id}}},
            }
        }
        return _created_id("create_tag", await self.request("create_tag", json=body))

    async def update_tag(self, tag_id: str, name: str) -> None:
        body = {"data": {"type": "tag", "id": tag_id, "attributes": {"name": name}}}
        await self.request("update_tag", path_params={"id": tag_id}, json=body)

    async def delete_tag(self, tag_id: str) -> None:
        await self.request("delete_tag", path_params={"id": tag_id})

    async def tag_lists(self, tag_id: str, list_ids: Iterable[str]) -> None:
        """Link a tag to lists (idempotent: an existing link is no error)."""
        await self._tag_relationship("tag_lists", tag_id, list_ids)

    async def untag_lists(self, tag_id: str, list_ids: Iterable[str]) -> None:
        """Remove a tag's links to lists: a DELETE with a body."""
        await self._tag_relationship("remove_tag_from_lists", tag_id, list_ids)

    async def _tag_relationship(self, operation_id: str, tag_id: str, list_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(list_ids))
        if ids:
            body = {"data": [{"type": "list", "id": list_id} for list_id in ids]}
            await self.request(operation_id, path_params={"id": tag_id}, json=body)

    # Lists

    async def create_list(self, name: str, opt_in_process: str | None = None) -> str:
        attributes: dict[str, Any] = {"name": name}
        if opt_in_process is not None:
            attributes["opt_in_process"] = opt_in_process
        body = {"data": {"type": "list", "attributes": attributes}}
        return _created_id("create_list", await self.request("create_list", json=body))

    async def update_list(self, list_id: str, attributes: Mapping[str, Any]) -> None:
        body = {"data": {"type": "list", "id": list_id, "attributes": dict(attributes)}}
        await self.request("update_list", path_params={"id": list_id}, json=body)

    async def delete_list(self, list_id: str) -> None:
        await self.request("delete_list", path_params={"id": list_id})

    # Templates

    async def create_template(self, attributes: Mapping[str, Any]) -> str:
        """`attributes`: name, editor_type and html (or definition for SYSTEM_DRAGGABLE), text optional."""
        body = {"data": {"type": "template", "attributes": dict(attributes)}}
        return _created_id("create_template", await self.request("create_template", json=body))

    async def update_template(self, template_id: str, attributes: Mapping[str, Any]) -> None:
        body = {"data": {"type": "template", "id": template_id, "attributes": dict(attributes)}}
        await self.request("update_template", path_params={"id": template_id}, json=body)

    async def delete_template(self, template_id: str) -> None:
        await self.request("delete_template", path_params={"id": template_id})

    async def clone_template(self, source_id: str, name: str) -> str:
        body = {"data": {"type": "template", "id": source_id, "attributes": {"name": name}}}
        return _created_id("clone_template", await self.request("clone_template", json=body))

    async def render_template(self, template_id: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """The template rendered with `context` by Klaviyo: its `html`, `text` and `amp` attributes."""
        body = {"data": {"type": "template", "id": template_id, "attributes": {"context": dict(context)}}}
        document = await self.request("render_template", json=body)
        data = (document or {}).get("data")
        return dict(data.get("attributes") or {}) if isinstance(data, dict) else {}

    async def get_template(self, template_id: str) -> dict[str, Any]:
        """One template by id, flow-owned copies included (they are readable by id, absent from the list)."""
        return _resource("get_template", await self.request("get_template", path_params={"id": template_id}))

    # Flows: built in Klaviyo's flow editor; klaviyo-sync reads them and points their emails at templates.
    # Every flow endpoint allows 3/s and 60/m; the pacer holds each operation under its own limits.

    async def walk_flows(
        self, on_page: Callable[[str], None] | None = None
    ) -> AsyncIterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Every flow with its actions, whole (`definition` is the node a later PATCH sends back), one page at a time.

        Should a page's `included` lack actions its flows name (Klaviyo does not say whether it caps them), those
        flows' actions are read on their own (`get_actions_for_flow`). `on_page` hears the operation of each page.
        """
        count = on_page or (lambda operation_id: None)
        async for page in self.paginate("get_flows", {"include": "flow-actions"}):
            count("get_flows")
            actions = {item["id"]: item for item in page.get("included") or [] if item.get("type") == "flow-action"}
            for flow in page.get("data") or []:
                linked = ((flow.get("relationships") or {}).get("flow-actions") or {}).get("data")
                if isinstance(linked, list) and all(ref.get("id") in actions for ref in linked):
                    yield flow, [actions[ref["id"]] for ref in linked]
                    continue
                own: list[dict[str, Any]] = []
                async for extra in self.paginate("get_actions_for_flow", path_params={"id": flow["id"]}):
                    count("get_actions_for_flow")
                    own.extend(item for item in extra.get("data") or [] if item.get("type") == "flow-action")
                yield flow, own

    async def get_flow_action(self, action_id: str) -> dict[str, Any]:
        """The action's node (`id`, `type`, `links`, `data`)."""
        document = await self.request("get_flow_action", path_params={"id": action_id})
        return dict(_resource("get_flow_action", document)["attributes"]["definition"])

    async def update_flow_action(self, action_id: str, node: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH the whole node: Klaviyo may reset what a PATCH leaves out (a live email's status to draft)."""
        body = {"data": {"type": "flow-action", "id": action_id, "attributes": {"definition": dict(node)}}}
        document = await self.request("update_flow_action", path_params={"id": action_id}, json=body)
        return dict(_resource("update_flow_action", document)["attributes"]["definition"])

    async def get_flow_message_template(self, message_id: str) -> dict[str, Any]:
        """The copy a flow message sends now: the read that verifies a repoint (the PATCH answer may lag)."""
        document = await self.request("get_template_for_flow_message", path_params={"id": message_id})
        return _resource("get_template_for_flow_message", document)

    # Universal content blocks

    async def create_universal_content(self, name: str, definition: Mapping[str, Any]) -> str:
        body = {"data": {"type": "template-universal-content", "attributes": {"name": name, "definition": dict(definition)}}}
        return _created_id("create_universal_content", await self.request("create_universal_content", json=body))

    async def update_universal_content(self, block_id: str, attributes: Mapping[str, Any]) -> None:
        body = {"data": {"type": "template-universal-content", "id": block_id, "attributes": dict(attributes)}}
        await self.request("update_universal_content", path_params={"id": block_id}, json=body)

    async def delete_universal_content(self, block_id: str) -> None:
        await self.request("delete_universal_content", path_params={"id": block_id})

    # What removing a list or tag reaches (klaviyo-api-more.md §7), read only for the objects a plan removes.

    async def list_profile_count(self, list_id: str) -> int | None:
        """How many profiles the list holds (None if Klaviyo leaves it out). `additional-fields[list]=profile_count`
        puts this get_list in a bucket of its own, 1/s and 15/m; the pacer holds it there."""
        params = {"additional-fields[list]": "profile_count"}
        document = await self.request("get_list", path_params={"id": list_id}, params=params)
        count = _resource("get_list", document)["attributes"].get("profile_count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    async def flows_triggered_by_list(self, list_id: str) -> list[dict[str, Any]]:
        """The flows whose trigger is the list (not those testing membership in a filter or split), with their
        attributes (name, status)."""
        return await self._collected("get_flows_triggered_by_list", list_id)

    async def tag_carrier_ids(self, tag_id: str, carriers: str) -> list[str]:
        """Ids of the `flows`, `campaigns` or `segments` that carry the tag."""
        return [item["id"] for item in await self._collected(TAG_CARRIERS[carriers], tag_id)]

    async def _collected(self, operation_id: str, object_id: str) -> list[dict[str, Any]]:
        """Every item of an unpaged relationship read; `links.next` is still followed should Klaviyo send one."""
        items: list[dict[str, Any]] = []
        async for page in self.paginate(operation_id, path_params={"id": object_id}):
            items.extend(item for item in page.get("data") or [] if isinstance(item, dict) and isinstance(item.get("id"), str))
        return items

    # Look-ups

    async def find_ids_by_name(self, kind: Kind, name: str, group_id: str | None = None) -> list[str]:
        """Ids of the live objects of `kind` named exactly `name` (tags: within `group_id` when given).

        Used after an ambiguous create to learn whether it happened. Filters narrow the search on Klaviyo's side;
        the exact name (and group) is checked here too, so a looser server-side match can never mislead. No sparse
        fieldsets: the spec's response schemas require attributes that `fields[...]` would drop.
        """
        return [item["id"] for item in await self.find_named(kind, name, group_id)]

    async def find_named(self, kind: Kind, name: str, group_id: str | None = None) -> list[dict[str, Any]]:
        """The live objects `find_ids_by_name` finds, as listed (id and attributes), to tell copies apart."""
        requests = kind.spec.requests
        lookup = requests.lookup if requests is not None else None
        if lookup is None:
            raise ValueError(f"{kind.spec.plural} have no name to look up")
        # Where the spec allows only list-valued operators on a name (lists), `any` with one name.
        condition = any_of("name", [name]) if lookup.list_filter else equals("name", name)
        params = {"filter": condition, **lookup.params}
        relationship = lookup.scope_relationship if group_id is not None else None
        return await self._named(lookup.operation, params, name, relationship, group_id)

    async def blocks_named(self, name: str) -> list[dict[str, Any]]:
        """Every universal content block named exactly `name`, as listed: id and attributes (created, updated,
        definition)."""
        found: list[dict[str, Any]] = []
        params = {"filter": equals("name", name), **operation("get_all_universal_content").page_size_params()}
        async for page in self.paginate("get_all_universal_content", params):
            found.extend(item for item in page.get("data") or [] if (item.get("attributes") or {}).get("name") == name)
        return found

    async def _named(
        self, operation_id: str, params: dict[str, str], name: str, relationship: str | None, scope_id: str | None
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for page in self.paginate(operation_id, params):
            for item in page.get("data") or []:
                if (item.get("attributes") or {}).get("name") != name:
                    continue
                if relationship is not None and related_id(item, relationship) != scope_id:
                    continue
                found.append(item)
        return found


def related_id(resource: Mapping[str, Any], relationship: str) -> str | None:
    """The id in a to-one relationship's `data`, if present."""
    data = ((resource.get("relationships") or {}).get(relationship) or {}).get("data")
    return data.get("id") if isinstance(data, dict) else None


def _resource(operation_id: str, document: dict[str, Any] | None) -> dict[str, Any]:
    data = (document or {}).get("data")
    if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
        raise ServerError(
            f"{operation_id}: Klaviyo's answer has no resource in it",
            operation=operation_id,
            hint="run the command again; if it persists, report it with the output of -v",
        )
    return data


def _created_id(operation_id: str, document: dict[str, Any] | None) -> str:
    data = (document or {}).get("data")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ServerError(
            f"{operation_id}: Klaviyo's answer has no id for the created object",
            operation=operation_id,
            hint="run `klaviyo-sync plan` to see whether the object exists now",
        )
    return data["id"]

"""Every emulated resource, one module each; adding one is its module plus a line in `RESOURCES`.

A resource module defines its handlers (each named by the spec's operationId) and a `RESOURCE`; the operation
must also be in `klaviyo_sync/data/operations.json` (`scripts/gen_operations.py`), which routing is built from.
"""

from __future__ import annotations

from collections.abc import Mapping

from klaviyo_sync.emulator.context import Handler, Resource
from klaviyo_sync.emulator.resources import accounts, flows, lists, tag_groups, tags, templates, universal_content

RESOURCES: tuple[Resource, ...] = (
    accounts.RESOURCE,
    templates.RESOURCE,
    lists.RESOURCE,
    tags.RESOURCE,
    tag_groups.RESOURCE,
    universal_content.RESOURCE,
    flows.RESOURCE,
    tags.CARRIED_BY,  # after flows: its seed names flows seeded in the same call
)


def _handlers(resources: tuple[Resource, ...]) -> Mapping[str, Handler]:
    table: dict[str, Handler] = {}
    for resource in resources:
        for op_id, handler in resource.handler_table().items():
            if op_id in table:
                raise RuntimeError(f"operation {op_id} is registered twice (again by {resource.name})")
            table[op_id] = handler
    return table


# operationId -> handler
HANDLERS: Mapping[str, Handler] = _handlers(RESOURCES)
SEEDERS: Mapping[str, Resource] = {resource.name: resource for resource in RESOURCES if resource.seed is not None}

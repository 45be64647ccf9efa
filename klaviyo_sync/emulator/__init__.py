"""A stateful, spec-faithful local Klaviyo for templates, lists, tags and tag groups (revision pinned in api_spec).

    emu = Emulator(EmulatorConfig(rate_limits=0.01, quirks=False))
    emu.seed("pk_test", {"tag_groups": [{"name": "Lifecycle", "exclusive": False}], ...})
    async with httpx.AsyncClient(transport=emu.transport(), base_url="https://a.klaviyo.com") as http: ...

Layout: `store` (Klaviyo's rules and state, no HTTP), `query` (filters, sort, fields, paging), `bodies` (request
documents), `documents` (JSON:API output), `handlers` (one per operation), `ratelimit`, `faults`, `scopes` (API key
scopes and the 403), `core` (the request pipeline), `app` (ASGI), `transport` (httpx, in process), `server`
(uvicorn on loopback), `control` (`/__emulator/...` routes), `persistence` (the state file). The emulator imports
nothing from the engine but the spec data in `klaviyo_sync.api_spec`.
"""

from klaviyo_sync.emulator.core import Emulator, EmulatorConfig, EmuRequest, EmuResponse, RequestRecord
from klaviyo_sync.emulator.faults import FaultRule, FaultSpecError

__all__ = ["EmuRequest", "EmuResponse", "Emulator", "EmulatorConfig", "FaultRule", "FaultSpecError", "RequestRecord"]

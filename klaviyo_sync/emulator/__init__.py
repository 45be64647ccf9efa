"""A stateful, spec-faithful local Klaviyo for templates, lists, tags and tag groups (revision pinned in api_spec).

    emu = Emulator(EmulatorConfig(rate_limits=0.01, quirks=False))
    emu.seed("pk_test", {"tag_groups": [{"name": "Lifecycle", "exclusive": False}], ...})
    async with httpx.AsyncClient(transport=EmulatorTransport(emu), base_url="https://a.klaviyo.com") as http: ...

Layout, leaves first: `messages` (requests, answers, log records), `store` (Klaviyo's rules and state, no HTTP),
`query` (filters, sort, fields, paging), `bodies` (request documents), `documents` (JSON:API output), `context`
(what a handler gets and returns, and `Resource`), `resources/` (one module per resource, its handlers named by
operationId, registered in `resources/__init__.py`), `ratelimit`, `faults`, `scopes` (API key scopes and the 403),
`control` (`/__emulator/...` routes), `persistence` (the state file), `core` (the request pipeline); then the ways
in, each built by its caller around an `Emulator`: `app` (ASGI, `EmulatorApp(emu)`), `transport` (httpx in
process, `EmulatorTransport(emu)` / `SyncEmulatorTransport(emu)`), `server` (uvicorn on loopback). The emulator imports
nothing from the engine but the spec data in `klaviyo_sync.api_spec`.
"""

from klaviyo_sync.emulator.core import Emulator, EmulatorConfig
from klaviyo_sync.emulator.faults import FaultRule, FaultSpecError
from klaviyo_sync.emulator.messages import EmuRequest, EmuResponse, RequestRecord

__all__ = ["EmuRequest", "EmuResponse", "Emulator", "EmulatorConfig", "FaultRule", "FaultSpecError", "RequestRecord"]

"""Control routes beside the API, for tests, benchmarks and demos (no revision header needed):

POST /__emulator/reset      forget every account, the request log, rate windows and fault counters (204)
GET  /__emulator/state      every account's objects, keyed by a hash of the key (200)
GET  /__emulator/requests   {"counts": {operation: n}, "throttled": {...}, "total": n}; only the caller's
                            account when an Authorization header is sent
POST /__emulator/seed       seed the caller's account (Authorization header) with the body; 201 {"ids": ...}
GET  /__emulator/scopes     the caller's scopes (Authorization header): 200 {"scopes": [...]}, null = full access
PUT  /__emulator/scopes     limit the caller's key to {"scopes": ["templates:read", ...]} ([] = none at all), or
                            {"scopes": null} for full access again; 200 with the new value. Keys not limited have
                            full access; `reset` drops the limits set here (those in EmulatorConfig stay).
PUT  /__emulator/profile-counts  set how many profiles lists of the caller's account hold: {"LIST_ID": 12430, ...};
                            200 {"profile_counts": {...}} (what get_list's `profile_count` then answers)

Routes acting on one account take its key from the Authorization header, as the API does, so no key is ever
part of a URL or a body.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from klaviyo_sync.emulator.errors import EmulatorError, invalid
from klaviyo_sync.emulator.messages import EmuRequest, EmuResponse, api_key_of, parse_json_body
from klaviyo_sync.emulator.scopes import KeyScopes, ScopeError

PREFIX = "/__emulator"


class Controlled(Protocol):
    """What the control routes act on: the emulator, seen only through these members."""

    key_scopes: KeyScopes

    def reset(self) -> None: ...
    def dump(self) -> dict[str, Any]: ...
    def seed(self, api_key: str, data: dict[str, Any]) -> dict[str, list[str]]: ...
    def set_profile_counts(self, api_key: str, counts: dict[str, Any]) -> dict[str, int]: ...
    def request_counts(self, api_key: str | None = None) -> dict[str, int]: ...
    def throttled_counts(self, api_key: str | None = None) -> dict[str, int]: ...
    def error_response(self, error: EmulatorError, op_id: str | None = None) -> EmuResponse: ...


def is_control(request: EmuRequest) -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def handle_control(emulator: Controlled, request: EmuRequest) -> EmuResponse:
    route = request.path.removeprefix(PREFIX).strip("/")
    api_key = api_key_of(request)
    try:
        if (request.method, route) == ("POST", "reset"):
            emulator.reset()
            return EmuResponse(204)
        if (request.method, route) == ("GET", "state"):
            return _json(200, emulator.dump())
        if (request.method, route) == ("GET", "requests"):
            counts = emulator.request_counts(api_key)
            return _json(200, {"counts": counts, "throttled": emulator.throttled_counts(api_key), "total": sum(counts.values())})
        if (request.method, route) == ("POST", "seed"):
            api_key = _require_key(api_key, "Seeding")
            data = parse_json_body(request.body or b"{}")
            if not isinstance(data, dict):
                raise invalid("The seed body must be a JSON object.", pointer="/")
            return _json(201, {"ids": emulator.seed(api_key, data)})
        if (request.method, route) == ("PUT", "profile-counts"):
            api_key = _require_key(api_key, "Setting profile counts")
            counts = parse_json_body(request.body or b"")
            if not isinstance(counts, dict):
                raise invalid('The body must be {"LIST_ID": PROFILE_COUNT, ...}.', pointer="/")
            return _json(200, {"profile_counts": emulator.set_profile_counts(api_key, counts)})
        if route == "scopes" and request.method in ("GET", "PUT"):
            api_key = _require_key(api_key, "Reading or setting scopes")
            if request.method == "PUT":
                emulator.key_scopes.set(api_key, _scopes_body(parse_json_body(request.body or b"")))
            return _json(200, {"scopes": _listed(emulator.key_scopes.get(api_key))})
        raise EmulatorError(404, "not_found", f"There is no control route {request.method} {request.path}.")
    except ScopeError as exc:
        return emulator.error_response(invalid(str(exc), pointer="/scopes"))
    except (KeyError, TypeError, ValueError) as exc:
        return emulator.error_response(invalid(f"The seed data is malformed: {exc!r}.", pointer="/"))
    except EmulatorError as error:
        return emulator.error_response(error)


def _require_key(api_key: str | None, what: str) -> str:
    if api_key is None or not api_key.startswith("pk_"):
        raise EmulatorError(401, "not_authenticated", f"{what} needs 'Authorization: Klaviyo-API-Key pk_...'.")
    return api_key


def _scopes_body(data: Any) -> list[str] | None:
    if not isinstance(data, dict) or set(data) != {"scopes"} or not isinstance(data["scopes"], list | None):
        raise invalid('The body must be {"scopes": ["templates:read", ...]} or {"scopes": null} for full access.', pointer="/")
    return data["scopes"]


def _listed(scopes: frozenset[str] | None) -> list[str] | None:
    return None if scopes is None else sorted(scopes)


def _json(status: int, document: Any) -> EmuResponse:
    return EmuResponse(status, {"Content-Type": "application/json"}, json.dumps(document).encode("utf-8"))

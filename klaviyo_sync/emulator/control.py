"""Control routes beside the API, for tests, benchmarks and demos (no revision header needed):

POST /__emulator/reset      forget every account, the request log, rate windows and fault counters (204)
GET  /__emulator/state      every account's objects, keyed by a hash of the key (200)
GET  /__emulator/requests   {"counts": {operation: n}, "throttled": {...}, "total": n}; only the caller's
                            account when an Authorization header is sent
POST /__emulator/seed       seed the caller's account (Authorization header) with the body; 201 {"ids": ...}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from klaviyo_sync.emulator.errors import EmulatorError, invalid

if TYPE_CHECKING:
    from klaviyo_sync.emulator.core import Emulator, EmuRequest, EmuResponse


def handle_control(emulator: Emulator, request: EmuRequest) -> EmuResponse:
    from klaviyo_sync.emulator.core import KEY_PREFIX, EmuResponse, parse_json_body

    route = request.path.removeprefix("/__emulator").strip("/")
    header = request.headers.get("authorization", "")
    api_key = header[len(KEY_PREFIX) :].strip() if header.startswith(KEY_PREFIX) else None
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
            if api_key is None or not api_key.startswith("pk_"):
                raise EmulatorError(401, "not_authenticated", "Seeding needs 'Authorization: Klaviyo-API-Key pk_...'.")
            data = parse_json_body(request.body or b"{}")
            if not isinstance(data, dict):
                raise invalid("The seed body must be a JSON object.", pointer="/")
            return _json(201, {"ids": emulator.seed(api_key, data)})
        raise EmulatorError(404, "not_found", f"There is no control route {request.method} {request.path}.")
    except (KeyError, TypeError, ValueError) as exc:
        return emulator.error_response(invalid(f"The seed data is malformed: {exc!r}.", pointer="/"))
    except EmulatorError as error:
        return emulator.error_response(error)


def _json(status: int, document: Any) -> EmuResponse:
    from klaviyo_sync.emulator.core import EmuResponse

    return EmuResponse(status, {"Content-Type": "application/json"}, json.dumps(document).encode("utf-8"))

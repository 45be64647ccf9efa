"""The emulator as an httpx transport: every request served in process, no sockets.

Faults keep their meaning: a dropped connection raises `httpx.RemoteProtocolError` and a timeout raises
`httpx.ReadTimeout`, both after the change was committed, as the client would see them over a network. A late
request without an answer raises `httpx.ReadTimeout` at once and commits later, in the background.
"""

from __future__ import annotations

import time

import httpx

from klaviyo_sync.emulator.core import Emulator
from klaviyo_sync.emulator.messages import MAX_BODY_BYTES, EmuRequest, EmuResponse


class EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.emulator.handle_async(_emu_request(request, await request.aread()), hold_late=False)
        return _httpx_response(request, response)


class SyncEmulatorTransport(httpx.BaseTransport):
    """The same for a synchronous `httpx.Client` (scripts and simple tests)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.emulator.process(_emu_request(request, request.read()))
        if response.late is not None:
            self.emulator.commit_later(response.late)
        delay = self.emulator.response_delay(response)
        if delay > 0:
            time.sleep(delay)
        return _httpx_response(request, response)


def _emu_request(request: httpx.Request, body: bytes) -> EmuRequest:
    url = request.url
    return EmuRequest(
        method=request.method,
        path=url.path,
        query_string=url.query.decode("ascii", "replace"),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body[: MAX_BODY_BYTES + 1],
        base_url=f"{url.scheme}://{url.netloc.decode('ascii')}",
        too_large=len(body) > MAX_BODY_BYTES,
    )


def _httpx_response(request: httpx.Request, response: EmuResponse) -> httpx.Response:
    if response.drop:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body", request=request)
    if response.timeout_s is not None or (response.late is not None and not response.late.answered):
        raise httpx.ReadTimeout("timed out waiting for the response", request=request)
    return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)

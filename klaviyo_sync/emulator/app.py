"""The emulator as an ASGI application (served by uvicorn, or mounted by any ASGI client).

Bodies are read up to 5 MB plus one byte and no further. Faults become real network events: a dropped
connection sends the status line, headers and half the body, then closes the socket; a timeout holds the
response back (cut short when the server shuts down).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from klaviyo_sync.emulator.core import Emulator
from klaviyo_sync.emulator.messages import MAX_BODY_BYTES, EmuRequest, EmuResponse

Scope = dict[str, Any]


class EmulatorApp:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        read = await _read_body(receive)
        if read is None:
            return  # the client went away mid-request (killed): a server never acts on a body it did not receive
        body, too_large = read
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        request = EmuRequest(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            base_url=f"{scope.get('scheme', 'http')}://{host}",
            too_large=too_large,
        )
        response = await self.emulator.handle_async(request)
        if response.timeout_s is not None:
            await self._hold(response.timeout_s)
        await _send(send, response)

    async def _hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.emulator.closing.is_set():
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Any) -> tuple[bytes, bool] | None:
    """The request body, and whether it was cut off for being too large; None when the client disconnected first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), True  # stop reading; the answer is 413
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


async def _send(send: Any, response: EmuResponse) -> None:
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.drop:
        # Half the body, then return without finishing: the server closes the socket mid-response.
        await send({"type": "http.response.body", "body": response.body[: len(response.body) // 2], "more_body": True})
        return
    await send({"type": "http.response.body", "body": response.body})

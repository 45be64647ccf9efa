"""Serve the emulator over HTTP on loopback: uvicorn in a background thread.

    with serve_in_background(state_file=path) as base_url:   # "http://127.0.0.1:PORT"
        ...

The server binds 127.0.0.1 (a free port unless one is given), serves requests concurrently, and is stopped
and joined when the block ends, whatever happens inside it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from klaviyo_sync.emulator.app import EmulatorApp
from klaviyo_sync.emulator.core import Emulator, EmulatorConfig

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 10.0
# How much of a request head the HTTP layer buffers; well above the emulator's URL limit, so a long URL reaches
# the emulator and gets its 414 instead of a connection closed by h11's 16 KB default.
MAX_HEAD_BYTES = 1024 * 1024


class EmulatorServer:
    """One uvicorn server for one emulator, run in a daemon thread."""

    def __init__(self, emulator: Emulator, *, host: str = LOOPBACK, port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            EmulatorApp(emulator),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"klaviyo-emulator-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self) -> None:
        self.emulator.closing.clear()
        self._thread.start()
        started = threading.Event()

        def wait() -> None:
            while not self._server.started and self._thread.is_alive():
                threading.Event().wait(0.01)
            started.set()

        wait()
        if not self._server.started:
            raise RuntimeError(f"the emulator server did not start on {self.base_url}: {self._error!r}")

    def stop(self) -> None:
        self.emulator.closing.set()
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self._socket.close()


@contextlib.contextmanager
def serve_in_background(state_file: Path | str | None = None, emulator: Emulator | None = None, port: int = 0) -> Iterator[str]:
    """Run an emulator on 127.0.0.1 for the duration of the block; yields its base URL."""
    if emulator is None:
        emulator = Emulator(EmulatorConfig(state_file=state_file))
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = EmulatorServer(emulator, port=port)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()

"""Screenshots of local HTML files through one headless Chromium, driven over its DevTools pipe.

`chromium --screenshot` captures a fixed window; an email is as tall as its content. The DevTools protocol
(`--remote-debugging-pipe`: commands on the child's fd 3, answers on fd 4, each a JSON message ended by NUL)
sets the width, measures the page and captures all of it, with one browser for every screenshot. The flags keep
Chromium from reaching out on its own (no background networking, updates or sync), and a fresh profile
directory is used and removed each run.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
ENV_VAR = "KLAVIYO_SYNC_CHROMIUM"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
)
MAX_HEIGHT = 16_000  # px: taller pages are cut (an email that long is a problem of its own)
LOAD_TIMEOUT_S = 20.0
INSTALL_HINT = (
    "install Chromium for screenshots (Debian/Ubuntu: `apt-get install chromium`),"
    " or set KLAVIYO_SYNC_CHROMIUM to a Chromium or Chrome binary"
)


class ChromiumError(Exception):
    pass


def find_chromium() -> str | None:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return configured if Path(configured).is_file() else None
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium; `screenshot` renders a file at a width and writes a PNG of the whole page."""

    def __init__(self, process: subprocess.Popen[bytes], commands: Any, answers: Any) -> None:
        self.process = process
        self.commands = commands
        self.answers = answers
        self.buffer = b""
        self.next_id = 0
        self.session = ""

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        self.commands.write(json.dumps(message).encode() + b"\0")
        self.commands.flush()
        while True:
            answer = self._read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise ChromiumError(f"{method}: {answer['error'].get('message')}")
                return dict(answer.get("result") or {})

    def wait_for(self, event: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._read(deadline - time.monotonic()).get("method") == event:
                return True
        return False

    def _read(self, timeout_s: float = 60.0) -> dict[str, Any]:
        import select

        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.answers], [], [], max(timeout_s, 0))
            if not ready:
                return {}
            chunk = os.read(self.answers.fileno(), 1 << 20)
            if not chunk:
                raise ChromiumError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return dict(json.loads(message))

    def screenshot(self, page: Path, width: int, out: Path) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride", {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 500}
        )
        self.call("Page.navigate", {"url": page.resolve().as_uri()})
        self.wait_for("Page.loadEventFired", LOAD_TIMEOUT_S)
        metrics = self.call("Page.getLayoutMetrics")
        height = min(
            max(int((metrics.get("cssContentSize") or metrics.get("contentSize") or {}).get("height", 800)), 1), MAX_HEIGHT
        )
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        out.write_bytes(base64.b64decode(shot["data"]))


@contextmanager
def browser(binary: str) -> Iterator[Browser]:
    profile = tempfile.mkdtemp(prefix="klaviyo-sync-chromium-")
    to_child_read, to_child_write = os.pipe()
    from_child_read, from_child_write = os.pipe()

    def child_fds() -> None:
        """In the child: the DevTools pipe as fd 3 (commands) and fd 4 (answers); moved above 10 first, so
        placing one cannot overwrite the other. dup2 leaves the copies inheritable; nothing else is (PEP 446)."""
        commands, answers = fcntl.fcntl(to_child_read, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_write, fcntl.F_DUPFD, 10)
        os.dup2(commands, 3)
        os.dup2(answers, 4)

    try:
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_fds,  # fcntl and dup2 only: no locks, no threads involved
            close_fds=False,  # Python's own descriptors are not inheritable; fds 3 and 4 must stay open
        )
    except OSError as exc:
        shutil.rmtree(profile, ignore_errors=True)
        raise ChromiumError(f"cannot start {binary}: {exc.strerror}") from None
    os.close(to_child_read)
    os.close(from_child_write)
    commands = os.fdopen(to_child_write, "wb")
    answers = os.fdopen(from_child_read, "rb")
    session = Browser(process, commands, answers)
    try:
        target = session.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        session.session = session.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        session.call("Page.enable")
        yield session
    finally:
        with contextlib.suppress(ChromiumError, OSError, ValueError):
            session.call("Browser.close", session=False)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        commands.close()
        answers.close()
        shutil.rmtree(profile, ignore_errors=True)

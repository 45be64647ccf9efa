"""Progress while applying: a bar on a terminal, one line per change otherwise, and rate-limit waits in both.

`Progress.on_event` takes the executor's events; `Progress.on_wait` is the client's `on_wait(operation, seconds)`
callback, called when pacing or a 429 holds a request back.
"""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from klaviyo_sync.apply.executor import ApplyEvent
from klaviyo_sync.apply.report import PAST_TENSE, describe_change, explain_error
from klaviyo_sync.resources import Action

SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.CLONE: "+",
    Action.LINK: "+",
    Action.UPDATE: "~",
    Action.RENAME: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.UNLINK: "-",
}
BAR_WIDTH = 24
# Waits shorter than this are routine pacing and not worth a line in a log.
LOGGED_WAIT_SECONDS = 1.0
WAIT_SHOWN_FOR = 2.0  # seconds a wait stays on the bar, or before the same operation's wait is logged again


class Progress:
    def __init__(self, total: int, stream: TextIO, *, tty: bool) -> None:
        self.total = total
        self.stream = stream
        self.tty = tty
        self.done = 0
        self.failed = 0
        self.current = ""
        self.wait_text = ""
        self.wait_until = 0.0
        self._last_logged_wait: dict[str, float] = {}
        self._drawn = False

    def on_event(self, event: ApplyEvent) -> None:
        change = event.change
        if event.type == "verifying":
            self._line("Reading the account back to confirm the changes took effect...")
            return
        if event.type == "settling":
            self._line("Waiting for creates without a clear answer to settle, then looking them up for copies committed late...")
            return
        if change is None:
            return
        if event.type == "started":
            self.current = describe_change(change)
            self._redraw()
        elif event.type == "applied":
            self.done += 1
            suffix = f" (id {event.id})" if event.id else ""
            text = f"{SYMBOLS[change.action]} {PAST_TENSE[change.action]} {describe_change(change)}{suffix}"
            if self.tty:
                self._redraw()
            else:
                self._line(text)
        elif event.type == "failed":
            self.done += 1
            self.failed += 1
            error = explain_error(event.error) if event.error is not None else "failed"
            self._line(f"! {change.action.value} {describe_change(change)} failed: {error}")

    def on_wait(self, operation_id: str, seconds: float) -> None:
        now = time.monotonic()
        if self.tty:
            self.wait_text = f"waiting {seconds:.1f} s for Klaviyo's {operation_id} rate limit"
            self.wait_until = now + max(seconds, WAIT_SHOWN_FOR)
            self._redraw()
            return
        if seconds < LOGGED_WAIT_SECONDS or now - self._last_logged_wait.get(operation_id, -1e9) < WAIT_SHOWN_FOR:
            return
        self._last_logged_wait[operation_id] = now
        self._line(f"… waiting {seconds:.1f} s for Klaviyo's {operation_id} rate limit")

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def _line(self, text: str) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = False
        if self.tty:
            self._redraw()

    def _redraw(self) -> None:
        if not self.tty:
            return
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        status = self.wait_text if self.wait_text and time.monotonic() < self.wait_until else self.current
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r\x1b[K" + f"[{bar}] {self.done}/{self.total} {status}"[:width])
        self.stream.flush()
        self._drawn = True

"""Keeping the API key out of every byte the tool writes, whatever put it there.

The key can reach text by many roads: a server echoing it in an error body, a header or `links.next`, a base
URL holding it (swapped environment variables), a template that contains it. Rather than guard each road, the
key is registered here as soon as it is known, and everything the tool writes passes one redacting layer:

- `redacted_output()` wraps `sys.stdout` and `sys.stderr` for the length of a command, so command output,
  log lines and tracebacks are all redacted on their way out;
- once a secret is registered, every log record made in the process (ours, httpx's and httpcore's, which log
  URLs and response headers) is redacted as it is made, whichever handler later receives it;
- `KlaviyoSyncError` redacts its message and hint, so exception text is clean for library callers too;
- `write_text()` is how the tool writes files (saved plans, exported manifests and templates).

Besides the registered secrets, any token shaped like a private key (`pk_` and at least six more characters)
is masked in streams, since a key that was never registered (say, one pasted into KLAVIYO_BASE_URL) is
still a key.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

MASK = "<redacted>"
PRIVATE_KEY_PATTERN = re.compile(r"pk_[A-Za-z0-9_]{6,}")
# Shorter values are not registered: masking every "abc" in the output would garble it, and no real key is that short.
MIN_SECRET_LENGTH = 8

_secrets: set[str] = set()  # process-wide, as the streams it protects are


def register_secret(value: str | None) -> None:
    """From now on, `value` is masked in everything redacted (streams, log records, files, exception text)."""
    if value and len(value.strip()) >= MIN_SECRET_LENGTH:
        _secrets.add(value.strip())
        _redact_log_records()


def _redact_log_records() -> None:
    """Wrap the process's log record factory (once) so each record's text is redacted when it is made."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left for logging itself to report
            return record
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def redact(text: str) -> str:
    """`text` without any registered secret and without anything shaped like a private key."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return PRIVATE_KEY_PATTERN.sub(MASK, text)


def redact_secrets(text: str) -> str:
    """`text` without any registered secret; other key-shaped tokens are kept (file content must stay exact)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what passes through it before the stream under it sees it.

    Text is held back until a line ends (or `flush`), so a key written in pieces is still seen whole. On flush,
    a tail that could be the start of a registered secret is kept back too. Text that cannot be encoded (a lone
    surrogate) is written as its escape instead of failing the whole write.
    """

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            ready, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self._emit(ready)
        return len(text)

    def flush(self) -> None:
        hold = _possible_secret_start(self._pending)
        ready = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(ready) :]
        if ready:
            self._emit(ready)
        self.inner.flush()

    def close_pending(self) -> None:
        """Write out whatever is held back, redacted as it is."""
        if self._pending:
            self._emit(self._pending)
            self._pending = ""
        self.inner.flush()

    def _emit(self, text: str) -> None:
        cleaned = redact(text)
        try:
            self.inner.write(cleaned)
        except UnicodeEncodeError:
            self.inner.write(cleaned.encode("utf-8", "backslashreplace").decode("utf-8"))

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "errors", None) or "strict"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _possible_secret_start(text: str) -> int:
    """How many characters at the end of `text` could begin a secret or a private key still being written."""
    longest = 0
    for secret in (*_secrets, "pk_"):
        for size in range(min(len(secret), len(text)), longest, -1):
            if secret.startswith(text[-size:]):
                longest = size
                break
    match = re.search(r"pk_[A-Za-z0-9_]*$", text)
    return max(longest, len(text) - match.start()) if match else longest


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """Redact `sys.stdout` and `sys.stderr` for the block. Nested blocks share the outer wrapping."""
    if isinstance(sys.stdout, RedactingStream) and isinstance(sys.stderr, RedactingStream):
        yield
        return
    original = sys.stdout, sys.stderr
    out, err = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        for stream in (out, err):
            with contextlib.suppress(Exception):
                stream.close_pending()
        sys.stdout, sys.stderr = original


def write_text(path: Path, text: str, *, atomic: bool = False, follow_symlinks: bool = True, exclusive: bool = False) -> None:
    """Write a file the tool produces, with registered secrets masked, byte for byte (no newline translation).

    `atomic`: write beside it and rename, so an interrupted run never leaves half a file. `follow_symlinks=False`
    refuses (ELOOP) a final path that is a symlink; `exclusive` refuses one that exists. Raises OSError.
    """
    cleaned = redact_secrets(text)
    if atomic:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as tmp:
            try:
                tmp.write(cleaned)
            except OSError:
                Path(tmp.name).unlink(missing_ok=True)
                raise
        os.replace(tmp.name, path)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    flags |= 0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)
    flags |= os.O_EXCL if exclusive else 0
    fd = os.open(path, flags, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(cleaned)

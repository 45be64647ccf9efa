"""Keeping the API key out of everything the client says: messages, logs and reprs.

The key only ever travels in the `Authorization` header. Anything built from a server's answer (an error detail,
an HTML page) goes through `Redactor.scrub` before it reaches an exception or a log line, in case a server or a
proxy echoes the header back.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger("klaviyo_sync.client")

MASK = "<redacted>"
# Private keys are `pk_` plus alphanumerics; scrub any such token even if it is not ours.
_PRIVATE_KEY_PATTERN = re.compile(r"pk_[A-Za-z0-9_]{6,}")


class Redactor:
    """Removes one specific secret (and anything shaped like a private key) from text."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, MASK)
        return _PRIVATE_KEY_PATTERN.sub(MASK, text)

    def __repr__(self) -> str:
        return f"Redactor({MASK})"

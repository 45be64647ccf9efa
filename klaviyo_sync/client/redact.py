"""Keeping the API key out of everything the client says: messages, logs and reprs.

The key only ever travels in the `Authorization` header. Anything built from a server's answer (an error detail,
an HTML page) goes through `Redactor.scrub` before it reaches an exception or a log line, in case a server or a
proxy echoes the header back. The masking itself is `klaviyo_sync.redaction`'s, which also guards every
stream and file the tool writes; a client registers its key there.
"""

from __future__ import annotations

import logging

from klaviyo_sync.redaction import MASK, redact, register_secret

logger = logging.getLogger("klaviyo_sync.client")

__all__ = ["MASK", "Redactor", "logger"]


class Redactor:
    """Removes the client's key (and anything shaped like a private key) from text."""

    def __init__(self, secret: str) -> None:
        register_secret(secret)

    def scrub(self, text: str) -> str:
        return redact(text)

    def __repr__(self) -> str:
        return f"Redactor({MASK})"

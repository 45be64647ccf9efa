"""The emulator's one error type: a Klaviyo-shaped failure that knows its HTTP status and wire shape.

The store and the query parser raise it; the HTTP layer only serializes it (see `documents.error_document`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TITLES = {
    400: "Invalid input.",
    401: "Incorrect authentication credentials.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    413: "Request entity too large.",
    415: "Unsupported media type.",
    429: "Request was throttled.",
    500: "A server error occurred.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
}


@dataclass
class EmulatorError(Exception):
    """A JSON:API error: `pointer` names a body member, `parameter` a query parameter or header."""

    status: int
    code: str
    detail: str
    pointer: str | None = None
    parameter: str | None = None
    title: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)
        if self.title is None:
            self.title = TITLES.get(self.status, "Error.")


def invalid(detail: str, *, pointer: str | None = None, parameter: str | None = None) -> EmulatorError:
    """400 `invalid`, Klaviyo's answer to any input it rejects."""
    if pointer is None and parameter is None:
        pointer = "/data"
    return EmulatorError(400, "invalid", detail, pointer=pointer, parameter=parameter)


def not_found(kind: str, object_id: str) -> EmulatorError:
    return EmulatorError(404, "not_found", f"A {kind} with id {object_id} does not exist.", pointer="/data/id")


def conflict(detail: str, *, pointer: str = "/data/attributes/name") -> EmulatorError:
    return EmulatorError(409, "conflict", detail, pointer=pointer)

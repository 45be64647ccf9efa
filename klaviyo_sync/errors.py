"""Every failure the tool expects, as one exception tree. The CLI maps it to messages and exit codes.

    KlaviyoSyncError                base: a message for people, an optional `hint` (how to fix)
    ├── ConfigError                 bad options or environment: no API key, plain http to a remote host, ...
    │   └── WrongAccountError       the key opens another account than klaviyo.yaml pins or a saved plan was made for
    ├── ProblemsError               located problems (`problems`, each with file:line:column), reported at once
    │   ├── ManifestError           the manifests are invalid
    │   └── PlanError               a plan was refused: ambiguity, prevent_destroy, thresholds, Klaviyo limits
    ├── StalePlanError              a saved plan no longer matches the manifests or the account
    │   └── PlanMismatchError       a saved plan is not the plan the manifests and the account call for (edited)
    ├── ApplyError                  apply stopped part-way: `report` says what was applied, failed, not attempted
    ├── UnknownIdError              (apply.ids) a step needs an id that is neither in the account nor created
    ├── PartialChangeError          (apply.steps) a change of several requests failed part-way; `note` says where
    ├── DuplicateAfterCreateError   (apply.steps) a create whose answer was lost left two objects of one name
    ├── RepointError                (flows.repoint) a flow email's repoint did not end as planned: says what it sends
    ├── LockedError                 (lock) another apply holds the account, or the lock could not be taken
    └── ApiError                    a request to Klaviyo failed: operation, status, code, detail, source, hint
        ├── TransportError          no usable answer, so the outcome is unknown: no response at all (timeout,
        │   │                       dropped connection) or an unreadable one; `ambiguous` for writes
        │   └── AmbiguousServerError  a write answered 5xx (`status`): Klaviyo may have applied it first; always
        │                           `ambiguous`, and a ServerError too
        ├── BadRequestError         400 / 422: Klaviyo rejected the input
        ├── AuthenticationError     401: the key is missing, invalid or revoked
        ├── PermissionDeniedError   403: the key lacks a scope (named from the spec)
        ├── NotFoundError           404
        ├── ConflictError           409
        ├── RateLimitError          429, still throttled after retries
        └── ServerError             5xx after retries, or a non-JSON error page

No exception ever holds the API key: request headers are never stored on an error, and every message and hint
is redacted (`klaviyo_sync.redaction`) when the error is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from klaviyo_sync.redaction import redact


@dataclass(frozen=True)
class Problem:
    """One finding about the input, located in a file. Rendered as `file:line:column: message — hint [rule]`;
    `rule` names the template lint rule that found it (the key `lint:` in klaviyo.yaml sets its severity). Line 0:
    the finding is about the file as a whole (`file: message`), e.g. an account limit a plan would exceed."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""
    rule: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.message}"
        text = f"{text} — {self.hint}" if self.hint else text
        return f"{text} [{self.rule}]" if self.rule else text

    def to_json(self) -> dict[str, Any]:
        data = {"file": self.file, "line": self.line, "column": self.column, "message": self.message, "hint": self.hint}
        return {**data, "rule": self.rule} if self.rule else data


class KlaviyoSyncError(Exception):
    """Base of every expected failure."""

    def __init__(self, message: str, hint: str = "") -> None:
        # Whatever built the message (a base URL, a server's answer), its text never carries the key.
        message, hint = redact(message), redact(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(KlaviyoSyncError):
    pass


class WrongAccountError(ConfigError):
    """Raised before anything but the account's identity was read: the manifests are not even loaded."""


class ProblemsError(KlaviyoSyncError):
    """An error made of located problems, all reported at once."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join([self.message, *(str(p) for p in self.problems)])


class ManifestError(ProblemsError):
    pass


class PlanError(ProblemsError):
    """`plan`: the refused plan, when the refusal came from its safety checks (it can still be shown in full)."""

    def __init__(self, message: str, problems: list[Problem], plan: Any = None) -> None:
        super().__init__(message, problems)
        self.plan = plan


class StalePlanError(KlaviyoSyncError):
    def __init__(self, differences: list[str]) -> None:
        super().__init__(
            "Saved plan is stale: " + "; ".join(differences),
            hint="run `klaviyo-sync plan --out FILE` again and review the new plan",
        )
        self.differences = differences


class PlanMismatchError(StalePlanError):
    """The file's changes differ from the plan derived again: it was edited, or made by another version."""

    def __init__(self, differences: list[str]) -> None:
        KlaviyoSyncError.__init__(
            self,
            "Saved plan is not the plan the manifests and the account call for, so nothing was changed: "
            + "; ".join(differences[:MAX_DIFFERENCES_SHOWN])
            + (f"; and {len(differences) - MAX_DIFFERENCES_SHOWN} more" if len(differences) > MAX_DIFFERENCES_SHOWN else ""),
            hint="a saved plan is applied only as it was written by `klaviyo-sync plan --out FILE`; plan again and review it",
        )
        self.differences = differences


MAX_DIFFERENCES_SHOWN = 20


class ApplyError(KlaviyoSyncError):
    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message, hint="run `klaviyo-sync plan` to see the remaining work; `apply` again finishes it")
        self.report = report


class ApiError(KlaviyoSyncError):
    """A failed request. `operation` is the spec's operationId (e.g. `create_tag`)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        source: dict[str, Any] | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.operation = operation
        self.status = status
        self.code = code
        self.detail = detail
        self.source = source or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(operation={self.operation!r}, status={self.status!r}, code={self.code!r})"


class TransportError(ApiError):
    """No usable answer arrived. For a write, `ambiguous` means the change may or may not have happened."""

    def __init__(self, message: str, *, operation: str, ambiguous: bool, hint: str = "") -> None:
        super().__init__(message, operation=operation, hint=hint)
        self.ambiguous = ambiguous


class BadRequestError(ApiError):
    pass


class AuthenticationError(ApiError):
    pass


class PermissionDeniedError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class RateLimitError(ApiError):
    pass


class ServerError(ApiError):
    pass


class AmbiguousServerError(TransportError, ServerError):
    """A write answered with a 5xx: an answer, but one that cannot say whether Klaviyo applied the change first.

    Never retried blindly: like a lost answer, the caller looks the object up before sending the write again.
    """

    def __init__(self, message: str, *, operation: str, status: int, hint: str = "") -> None:
        super().__init__(message, operation=operation, ambiguous=True, hint=hint)
        self.status = status

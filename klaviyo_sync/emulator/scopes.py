"""API key scopes: what a request needs, what a key holds, and the 403 when the two differ.

Every key has full access unless it was given a scope set: `EmulatorConfig(key_scopes={"pk_x": [...]})`, the
`/__emulator/scopes` control route, or `klaviyo-sync emulator --key-scopes pk_x=SCOPE,...`. Limits are kept per
account id (a hash of the key, as everywhere in the emulator), so nothing the emulator dumps or says carries a key.

Each scope stands on its own: `tags:write` does not grant `tags:read`. Klaviyo documents no such implication, and
the spec lists both where an operation needs both (update_tag: `tags:read` and `tags:write`), which it would not
need to if write implied read.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from functools import cache

from klaviyo_sync.api_spec import INCLUDE_SCOPES, operation, operations
from klaviyo_sync.emulator.errors import EmulatorError
from klaviyo_sync.emulator.store import account_id

_SCOPE = re.compile(r"[a-z][a-z0-9-]*:(read|write)")


class ScopeError(ValueError):
    """A scope set that cannot be used: a malformed scope, or a key that is not an emulator key."""


@cache
def _known_families() -> frozenset[str]:
    """The scope families this API speaks of, to catch `list:read` for `lists:read`."""
    scopes = {scope for op in operations().values() for scope in op.scopes} | set(INCLUDE_SCOPES.values())
    return frozenset(scope.split(":")[0] for scope in scopes)


def parse_scopes(values: Iterable[str]) -> frozenset[str]:
    """Validated scope names. Families beyond this API's (profiles:read, ...) are accepted: real keys carry them."""
    scopes = set()
    for value in values:
        if not isinstance(value, str) or not _SCOPE.fullmatch(value):
            raise ScopeError(f"{value!r} is not a scope: scopes look like templates:read or lists:write (lower case)")
        family = value.split(":")[0]
        if family + "s" in _known_families():
            raise ScopeError(f"{value!r} is not a scope: did you mean {family}s:{value.split(':')[1]}?")
        scopes.add(value)
    return frozenset(scopes)


def required_scopes(op_id: str, query_pairs: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The operation's own scopes and the read scopes of the types it includes (only those it does not need already)."""
    own = list(operation(op_id).scopes)
    included: list[str] = []
    for name, value in query_pairs:
        if name != "include":
            continue
        for item in value.split(","):
            scope = INCLUDE_SCOPES.get(item.strip())
            if scope is not None and scope not in own and scope not in included:
                included.append(scope)
    return own, included


def permission_denied(missing: list[str], *, only_include: bool) -> EmulatorError:
    """Klaviyo's 403 `permission_denied`, naming the missing scopes (never the key)."""
    plural = "s" if len(missing) > 1 else ""
    needs = ", ".join(missing)
    if only_include:
        detail = f"This API key lacks the read scope{plural} on the included resource type{plural}: {needs}."
        return EmulatorError(403, "permission_denied", detail, parameter="include")
    detail = f"This API key lacks the scope{plural} this request requires: {needs}."
    return EmulatorError(403, "permission_denied", detail, pointer="/data/")


class KeyScopes:
    """The scope sets of the keys that were limited; every other key has full access."""

    def __init__(self, configured: Mapping[str, Iterable[str]] | None = None) -> None:
        self._lock = threading.Lock()
        self._limited: dict[str, frozenset[str]] = {}
        for key, scopes in (configured or {}).items():
            self.set(key, scopes)

    def set(self, api_key: str, scopes: Iterable[str] | None) -> None:
        """Limit the key to `scopes`, or give it full access again with None."""
        if not isinstance(api_key, str) or not api_key.startswith("pk_") or len(api_key) < 4:
            raise ScopeError("emulator keys start with pk_")
        if isinstance(scopes, str):
            raise ScopeError("give the scopes as a list, not one string")
        parsed = None if scopes is None else parse_scopes(scopes)
        with self._lock:
            if parsed is None:
                self._limited.pop(account_id(api_key), None)
            else:
                self._limited[account_id(api_key)] = parsed

    def get(self, api_key: str) -> frozenset[str] | None:
        """The key's scopes, None for full access."""
        with self._lock:
            return self._limited.get(account_id(api_key))

    def check(self, api_key: str, op_id: str, query_pairs: Iterable[tuple[str, str]]) -> None:
        """Raise the 403 when the key lacks a scope the request needs."""
        granted = self.get(api_key)
        if granted is None:
            return
        own, included = required_scopes(op_id, query_pairs)
        missing_own = [scope for scope in own if scope not in granted]
        missing_included = [scope for scope in included if scope not in granted]
        if missing_own or missing_included:
            raise permission_denied(missing_own + missing_included, only_include=not missing_own)

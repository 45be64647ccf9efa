"""Which Klaviyo account a key opens: read once per run, named by every plan, and checked before anything else is read.

`identify` asks `GET /api/accounts` (paced by the operation's own 1/s, 15/m bucket, like every call) for the key's
one account: its id (the 6-character public API key) and its organization name. Two things can then refuse the run
before any other request is sent:

- `account:` in klaviyo.yaml pins the id (usually through a variable, one value per environment). `read_pin` reads
  it from the root manifest alone, so a key for another account is refused before the manifests are loaded and
  before the account's objects are read.
- A saved plan records the account it was made against; applying it with a key for another account is refused,
  naming both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from klaviyo_sync.errors import ServerError, WrongAccountError

if TYPE_CHECKING:
    from klaviyo_sync.client import KlaviyoClient

ACCOUNT_KEY = "account"  # the key of klaviyo.yaml that pins the account
ACCOUNT_ID = re.compile(r"[A-Za-z0-9]{6}")  # what Klaviyo's account ids (public API keys) look like


@dataclass(frozen=True)
class Account:
    """The account a key opens: its id (the public API key) and its organization name."""

    id: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    @classmethod
    def from_json(cls, data: Any) -> Account:
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not isinstance(data.get("name"), str):
            raise ValueError("'account' must be an object with a string id and name")
        return cls(data["id"], data["name"])


@dataclass(frozen=True)
class Pin:
    """`account:` in klaviyo.yaml: the id it pins, and where (`file:line:column` as the command names the file)."""

    id: str
    where: str


class PinUnreadable(Exception):
    """`account:` is there but gives no id (an undefined variable, a malformed value): the manifest error says why."""


async def identify(client: KlaviyoClient) -> Account:
    """The key's account, from `GET /api/accounts` (which answers the key's one account)."""
    document = await client.request("get_accounts")
    data = (document or {}).get("data")
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict) or not isinstance(data[0].get("id"), str):
        raise ServerError(
            "get_accounts: Klaviyo's answer does not name exactly one account for this key",
            operation="get_accounts",
            hint="run the command again; if it persists, report it with the output of -v",
        )
    attributes = data[0].get("attributes") or {}
    contact = attributes.get("contact_information") if isinstance(attributes, dict) else None
    name = contact.get("organization_name") if isinstance(contact, dict) else None
    return Account(data[0]["id"], name if isinstance(name, str) else "")


def check_pin(account: Account, pin: Pin | None) -> None:
    """Refuse a key for another account than the one klaviyo.yaml pins."""
    if pin is None or pin.id == account.id:
        return
    raise WrongAccountError(
        f"{pin.where}: the manifests are pinned to account {pin.id}, but this API key opens account {account.label}; "
        "nothing was read",
        hint=f"use the key of account {pin.id}, or set `{ACCOUNT_KEY}:` (or the variable it names) to {account.id} "
        "if this is the account you mean",
    )


def check_saved(account: Account, saved: Account | None, plan_file: Path) -> None:
    """Refuse to apply a saved plan with a key for another account than the one it was made against (or one that
    names none: it was not written by `plan --out`)."""
    if saved is None:
        raise WrongAccountError(
            f"the saved plan {plan_file} names no account it was made against", hint="save it with `klaviyo-sync plan --out FILE`"
        )
    if saved.id == account.id:
        return
    raise WrongAccountError(
        f"the saved plan {plan_file} was made against account {saved.label}, but this API key opens account "
        f"{account.label}; nothing was read or changed",
        hint=f"apply it with the key of account {saved.id}, or plan again against account {account.id}",
    )


def read_pin(path: Path, variables: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Pin | None:
    """The id `account:` pins in the project's root manifest, with its variables resolved as the loader resolves
    them; None when there is no such key, or when the root manifest cannot be read (the loader then says why).
    Raises PinUnreadable when the key is there but gives no usable id."""
    from klaviyo_sync.errors import ManifestError
    from klaviyo_sync.manifest import find_root_file
    from klaviyo_sync.manifest.variables import resolve_values, substitute
    from klaviyo_sync.manifest.yamlfile import YamlDocument, decode_utf8, parse_yaml

    try:
        root_file = find_root_file(path)
        text, _ = decode_utf8(root_file.read_bytes(), root_file.name)
    except (ManifestError, OSError):
        return None
    if text is None or (ACCOUNT_KEY not in text and "\\" not in text):
        # No key can spell `account` without those letters or an escape: the pin is read before anything else, on
        # the plan's critical path, and a large root manifest takes a while to parse (the loader parses it anyway).
        return None
    doc, _ = parse_yaml(text, root_file.name)
    data = doc.data if doc is not None else None
    if doc is None or not isinstance(data, dict) or ACCOUNT_KEY not in data:
        return None
    defaults = data.get("vars") if isinstance(data.get("vars"), dict) else {}
    defaults = {name: value for name, value in defaults.items() if isinstance(value, str | int | float)}
    values = resolve_values(variables, dict(os.environ if environ is None else environ), defaults)
    pinned = YamlDocument(doc.file, {ACCOUNT_KEY: data[ACCOUNT_KEY]}, dict(doc.marks), dict(doc.key_marks))
    problems = substitute(pinned, values)
    value = pinned.data[ACCOUNT_KEY]
    if problems or not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        raise PinUnreadable
    line, column = doc.locate((ACCOUNT_KEY,))
    return Pin(value, f"{root_file}:{line}:{column}")

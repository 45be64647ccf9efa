"""The account behind a key (klaviyo-api-more.md §6): `GET /api/accounts` and `GET /api/accounts/{id}`.

Rules: one account per key, and `get_accounts` answers it alone ("1 account object within the array"). Its id is
the account's 6-character public API key ([SPEC] examples; `id == public_api_key` is [ASSUMED]), derived from the
store's name for the account (`store.public_id`), so a key always meets the same id and two keys two accounts.
Another id is a 404 ([UNKNOWN]: Klaviyo may answer 403). The attributes are the ones the spec requires, with the
defaults below until the account is seeded: `{"accounts": [{"organization_name": "Acme Staging", ...}]}` sets any
of them (one entry: a key has one account). Scopes (`accounts:read`) and the 1/s, 15/m bucket come from the spec's
operation facts, like every other resource's.
"""

from __future__ import annotations

import copy
from typing import Any

from klaviyo_sync.emulator.context import Context, Resource, Result, path_id
from klaviyo_sync.emulator.documents import trim_attributes
from klaviyo_sync.emulator.errors import invalid, not_found
from klaviyo_sync.emulator.store import Account, Store, public_id

NAME = "accounts"
TYPE = "account"
ORGANIZATION = "Emulated account"
DEFAULTS: dict[str, Any] = {
    "test_account": False,
    "contact_information": {
        "default_sender_name": ORGANIZATION,
        "default_sender_email": "hello@example.com",
        "website_url": "",
        "organization_name": ORGANIZATION,
        # Strings, not the nulls the spec allows: the official SDK's models refuse a null city.
        "street_address": {"address1": "", "address2": "", "city": "", "region": "", "country": "US", "zip": ""},
    },
    "industry": None,
    "timezone": "UTC",
    "preferred_currency": "USD",
    "locale": "en-US",
}
SEEDED = frozenset(DEFAULTS) | {"organization_name"}


def account_record(acct: Account) -> dict[str, Any]:
    """The account's attributes: what was seeded over the defaults. Its id is the public API key."""
    ident = public_id(acct.name)
    seeded = acct.collection(NAME).get(ident, {})
    attributes = copy.deepcopy(DEFAULTS)
    for name, value in seeded.items():
        if name == "contact_information":
            attributes[name].update(value)
        elif name != "id":
            attributes[name] = value
    attributes["public_api_key"] = ident
    return {"id": ident, "attributes": attributes}


def _resource_object(ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": TYPE,
        "id": record["id"],
        "attributes": trim_attributes(record["attributes"], ctx.query.fields.get(TYPE)),
        "links": {"self": ctx.links.url(f"/api/accounts/{record['id']}")},
    }


def get_accounts(ctx: Context) -> Result:
    return 200, ctx.collection([_resource_object(ctx, account_record(ctx.acct))])


def get_account(ctx: Context) -> Result:
    record = account_record(ctx.acct)
    if path_id(ctx) != record["id"]:  # "You can only request the account by which the private API key was generated"
        raise not_found(TYPE, path_id(ctx))
    return 200, ctx.document(_resource_object(ctx, record))


def _seed(store: Store, acct: Account, entries: list[dict[str, Any]]) -> list[str]:
    """Seed the account's attributes (`organization_name` is short for contact_information's); returns its id."""
    if len(entries) != 1 or not isinstance(entries[0], dict):
        raise invalid("seed: 'accounts' takes one object: a key has one account", pointer="/accounts")
    entry = dict(entries[0])
    unknown = sorted(set(entry) - SEEDED)
    if unknown:
        raise invalid(f"seed: unknown account attributes: {', '.join(unknown)}", pointer="/accounts/0")
    if "organization_name" in entry:
        contact = {**entry.get("contact_information", {}), "organization_name": entry.pop("organization_name")}
        entry["contact_information"] = contact
    ident = public_id(acct.name)
    records = acct.collection(NAME)
    merged = {**records.get(ident, {}), **entry}
    if "contact_information" in entry:
        merged["contact_information"] = {**records.get(ident, {}).get("contact_information", {}), **entry["contact_information"]}
    records[ident] = merged
    return [ident]


RESOURCE = Resource(NAME, (get_accounts, get_account), seed=_seed)

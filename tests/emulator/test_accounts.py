"""The emulator's accounts (klaviyo-api-more.md §6): one per key, a stable 6-character id that is the public API key,
the organization name, 404 for another id, the 1/s and 15/m bucket; Klaviyo's official SDK reads them too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from klaviyo_api import KlaviyoAPI

from klaviyo_sync.api_spec import RateLimit, operation
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from tests.emulator.helpers import client
from tests.support.canary import CANARY_KEY
from tests.support.fixtures import ServedEmulator

OTHER_KEY = "pk_production_account_0002"


def the_account(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/api/accounts")
    assert response.status_code == 200, response.text
    [account] = response.json()["data"]
    return dict(account)


def test_each_key_has_one_account_with_a_stable_id(emulator: Emulator) -> None:
    first, second = the_account(client(emulator, CANARY_KEY)), the_account(client(emulator, OTHER_KEY))
    assert first["id"] != second["id"]
    for account in (first, second):
        assert account["type"] == "account" and len(account["id"]) == 6 and account["id"].isalnum()
        assert account["attributes"]["public_api_key"] == account["id"]
        assert account["attributes"]["contact_information"]["organization_name"] == "Emulated account"
    assert the_account(client(emulator, CANARY_KEY)) == first
    assert the_account(client(Emulator(), CANARY_KEY))["id"] == first["id"]  # the key's, in any emulator


def test_seeding_names_the_organization_and_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    [ident] = Emulator(EmulatorConfig(state_file=state)).seed(CANARY_KEY, {"accounts": [{"organization_name": "Acme Staging"}]})[
        "accounts"
    ]
    again = the_account(client(Emulator(EmulatorConfig(state_file=state)), CANARY_KEY))
    assert again["id"] == ident
    contact = again["attributes"]["contact_information"]
    assert contact["organization_name"] == "Acme Staging" and contact["default_sender_name"] == "Emulated account"


def test_an_account_is_read_by_its_own_id_only(emulator: Emulator) -> None:
    http = client(emulator, CANARY_KEY)
    own = the_account(http)["id"]
    assert http.get(f"/api/accounts/{own}").json()["data"]["id"] == own
    other = the_account(client(emulator, OTHER_KEY))["id"]
    refused = http.get(f"/api/accounts/{other}")
    assert refused.status_code == 404 and refused.json()["errors"][0]["code"] == "not_found"


def test_the_accounts_bucket_allows_one_a_second(emulator_factory) -> None:
    assert operation("get_accounts").rate_limits == (RateLimit("burst", 1, 1), RateLimit("steady", 15, 60))
    now = [0.0]
    emulator = emulator_factory(EmulatorConfig(rate_limits=1.0, monotonic=lambda: now[0]))
    http = client(emulator, CANARY_KEY)
    assert http.get("/api/accounts").status_code == 200
    assert http.get("/api/accounts").status_code == 429  # the same second
    now[0] = 1.0
    assert http.get("/api/accounts").status_code == 200


def test_the_official_sdk_reads_the_account(emulator_server: ServedEmulator) -> None:
    emulator_server.emulator.seed(CANARY_KEY, {"accounts": [{"organization_name": "Acme Staging"}]})
    sdk = KlaviyoAPI(CANARY_KEY, max_delay=0, max_retries=0, test_host=emulator_server.base_url)
    [account] = sdk.Accounts.get_accounts().data
    assert account.attributes.contact_information.organization_name == "Acme Staging"
    assert sdk.Accounts.get_account(account.id).data.attributes.public_api_key == account.id

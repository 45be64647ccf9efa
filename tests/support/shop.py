"""The example shop's account as Klaviyo holds it before the project is applied: its welcome flow, built in the
flow editor (examples/shop/emulator-seed.yaml), which the shop's manifests manage the emails of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from klaviyo_sync.emulator import Emulator
from tests.support.canary import CANARY_KEY

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
SHOP_SEED = SHOP / "emulator-seed.yaml"


def shop_seed() -> dict[str, Any]:
    seed: dict[str, Any] = yaml.safe_load(SHOP_SEED.read_text(encoding="utf-8"))
    return seed


def shop_account(emulator: Emulator | None = None, key: str = CANARY_KEY) -> Emulator:
    """`emulator` (a new one by default) with the shop's account seeded under `key`."""
    emulator = emulator or Emulator()
    emulator.seed(key, shop_seed())
    return emulator

"""What a render needs beyond the template and its variables: where placeholder links point, the date, samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.template.context import Context


@dataclass(frozen=True)
class RenderOptions:
    links_base: str = "https://preview.klaviyo-sync.invalid"  # .invalid: a placeholder link can never reach a host
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    currency_symbol: str = "$"
    catalog: dict[str, Any] = field(default_factory=dict)  # catalog item id -> the `catalog_item` it shows


DEFAULT_OPTIONS = RenderOptions()


def options_of(context: Context) -> RenderOptions:
    return getattr(context, "klaviyo_options", DEFAULT_OPTIONS)

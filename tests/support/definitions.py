"""The smallest drag-and-drop template `definition` the spec accepts, for tests that create such templates."""

from __future__ import annotations

from typing import Any


def minimal_definition() -> dict[str, Any]:
    styles = ["base-styles", "text-styles", *(f"heading-{n}-styles" for n in range(1, 5)), "link-styles", "mobile-styles"]
    return {
        "body": {"properties": {}, "styles": {"background_color": "#ffffff", "width": 600}, "sections": []},
        # The spec requires `styles` on every style and `properties` on the base and mobile ones.
        "styles": [
            {"style_type": style, "styles": {}, **({"properties": {}} if style in ("base-styles", "mobile-styles") else {})}
            for style in styles
        ],
    }

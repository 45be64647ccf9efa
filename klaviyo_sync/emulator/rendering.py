"""`template-render`: Klaviyo's template language through klaviyo_sync.language, the renderer `preview` uses.

The emulator imports nothing else from the engine: the language package is a leaf both share, so the renderer
a test checks against the emulator is the one users preview with. Klaviyo's tags that link to pages only a real
send knows (unsubscribe, preferences, web view) point at emulator.invalid, a host that cannot exist. What Klaviyo
answers for a template it cannot render is not documented [UNKNOWN]; the emulator answers 400 with the reason.
"""

from __future__ import annotations

from typing import Any

from klaviyo_sync.emulator.errors import invalid
from klaviyo_sync.language import RenderError, RenderOptions
from klaviyo_sync.language import render as render_template

OPTIONS = RenderOptions(links_base="https://emulator.invalid")


def render(source: str | None, context: dict[str, Any], *, html: bool = True) -> str | None:
    """Render one version of a template (html or amp: escaped; text: not). A broken template is a 400."""
    if source is None:
        return None
    try:
        return render_template(source, context, autoescape=html, options=OPTIONS)
    except RenderError as exc:
        raise invalid(f"The template cannot be rendered: {exc}", pointer="/data/id") from None

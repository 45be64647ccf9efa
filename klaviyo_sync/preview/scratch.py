"""`preview --with-klaviyo`: render through the account's own `POST /api/template-render`.

Klaviyo renders only stored templates (klaviyo-api-more.md §8), so each render creates a scratch CODE template,
renders it and deletes it, in that order, paced by the client at each operation's limits (template-render:
3/s, 60/m). Scratch templates are named with `klaviyo_sync.scratch.PREVIEW_PREFIX`, so a run that fails or is
killed between the create and the delete leaves nothing behind after the next run: each run first deletes every
template whose name starts with it.
"""

from __future__ import annotations

import logging
from typing import Any

from klaviyo_sync.errors import KlaviyoSyncError
from klaviyo_sync.preview.contexts import Sample
from klaviyo_sync.preview.pages import Rendered
from klaviyo_sync.resources import State
from klaviyo_sync.scratch import PREVIEW_PREFIX, scratch_name

logger = logging.getLogger(__name__)


class KlaviyoRenderer:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.swept = 0

    async def sweep(self, live: State) -> None:
        """Delete the scratch templates an earlier run left (it failed or was killed between create and delete)."""
        for template in live.scratch:
            if template.name.startswith(PREVIEW_PREFIX) and template.id:
                await self.client.delete_template(template.id)
                self.swept += 1
        if self.swept:
            logger.warning("deleted %d scratch template(s) left by an earlier preview", self.swept)

    async def render(self, attrs: dict[str, Any], sample: Sample) -> Rendered:
        fields = {"name": scratch_name(PREVIEW_PREFIX), "editor_type": "CODE", "html": attrs["html"]}
        if attrs.get("text"):
            fields["text"] = attrs["text"]
        try:
            template_id = await self.client.create_template(fields)
        except KlaviyoSyncError as exc:
            return Rendered(error=f"Klaviyo did not store the scratch template: {exc.message}")
        try:
            rendered = await self.client.render_template(template_id, sample.context)
            return Rendered(rendered.get("html"), rendered.get("text"))
        except KlaviyoSyncError as exc:
            return Rendered(error=f"Klaviyo could not render it: {exc.message}")
        finally:
            try:
                await self.client.delete_template(template_id)
            except KlaviyoSyncError as exc:  # the next run's sweep deletes it
                logger.warning("could not delete scratch template %s (the next preview deletes it): %s", template_id, exc.message)

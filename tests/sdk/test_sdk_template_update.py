"""The official SDK's natural template update, `name: null` included, keeps the name, as the spec allows."""

from __future__ import annotations

from klaviyo_api import KlaviyoAPI
from openapi_client.models.template_update_html_or_dnd_query import TemplateUpdateHtmlOrDndQuery
from openapi_client.models.template_update_html_or_dnd_query_resource_object import TemplateUpdateHtmlOrDndQueryResourceObject
from openapi_client.models.template_update_html_or_dnd_query_resource_object_attributes import (
    TemplateUpdateHtmlOrDndQueryResourceObjectAttributes,
)

from tests.support.fixtures import ServedEmulator

SDK_KEY = "pk_sdk_template_update_0001"


def test_a_null_name_on_update_keeps_the_name(emulator_server: ServedEmulator) -> None:
    sdk = KlaviyoAPI(SDK_KEY, max_delay=0, max_retries=0, test_host=emulator_server.base_url)
    created = sdk.Templates.create_template(
        {"data": {"type": "template", "attributes": {"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi</p>"}}}
    )
    template_id = created.data.id
    attributes = TemplateUpdateHtmlOrDndQueryResourceObjectAttributes(name=None, html="<p>Hello</p>")
    body = TemplateUpdateHtmlOrDndQuery(
        data=TemplateUpdateHtmlOrDndQueryResourceObject(type="template", id=template_id, attributes=attributes)
    )
    assert '"name": null' in body.to_json()  # what the SDK sends for an unset name it was given

    updated = sdk.Templates.update_template(template_id, body)

    assert (updated.data.attributes.name, updated.data.attributes.html) == ("Welcome", "<p>Hello</p>")
    read = sdk.Templates.get_template(template_id)
    assert (read.data.attributes.name, read.data.attributes.html) == ("Welcome", "<p>Hello</p>")

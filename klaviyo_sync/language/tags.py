"""Klaviyo's own tags (klaviyo-api-more.md §9.2) as a Django template library.

Links and codes that only a real send can know render as recognisable placeholders: the URLs come from the
render's `RenderOptions` (the emulator and `preview` each use their own host), a coupon code is `SAMPLE-<NAME>`.
"""

from __future__ import annotations

from typing import Any

from django.template import Library, Node, NodeList, TemplateSyntaxError, Variable, VariableDoesNotExist
from django.template.base import Parser, Token
from django.template.context import Context
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from klaviyo_sync.language.filters import format_currency
from klaviyo_sync.language.options import RenderOptions, options_of

register = Library()
MAX_RENDER_VARIABLE_DEPTH = 5


def _link(context: Context, page: str) -> str:
    return f"{options_of(context).links_base}/{page}"


def _anchor(context: Context, page: str, text: str) -> SafeString:
    return mark_safe(f'<a href="{escape(_link(context, page))}">{escape(text)}</a>')


@register.simple_tag(takes_context=True)
def unsubscribe(context: Context, text: str = "Unsubscribe") -> SafeString:
    return _anchor(context, "unsubscribe", text)


@register.simple_tag(takes_context=True)
def unsubscribe_link(context: Context) -> str:
    return _link(context, "unsubscribe")


@register.simple_tag(takes_context=True)
def manage_preferences(context: Context, text: str = "Manage preferences") -> SafeString:
    return _anchor(context, "preferences", text)


@register.simple_tag(takes_context=True)
def manage_preferences_link(context: Context) -> str:
    return _link(context, "preferences")


@register.simple_tag(takes_context=True)
def web_view(context: Context, text: str = "View in browser") -> SafeString:
    return _anchor(context, "web-view", text)


@register.simple_tag(takes_context=True)
def web_view_link(context: Context) -> str:
    return _link(context, "web-view")


def _sample_code(name: Any) -> str:
    return "SAMPLE-" + "".join(char if char.isalnum() else "-" for char in str(name).upper())


@register.simple_tag
def coupon_code(name: Any = "") -> str:
    return _sample_code(name)


@register.simple_tag
def barcode_code(name: Any = "") -> str:
    return _sample_code(name)


@register.simple_tag(name="currency_format", takes_context=True)
def currency_format_tag(context: Context, value: Any) -> str:
    try:
        return format_currency(value, options_of(context).currency_symbol)
    except (ArithmeticError, ValueError, TypeError):
        return ""


@register.simple_tag(takes_context=True)
def current_day(context: Context) -> str:
    return str(options_of(context).now.day)


@register.simple_tag(takes_context=True)
def current_weekday(context: Context) -> str:
    return options_of(context).now.strftime("%A")


@register.simple_tag(takes_context=True)
def current_month_name(context: Context) -> str:
    return options_of(context).now.strftime("%B")


@register.simple_tag(takes_context=True)
def current_year(context: Context) -> str:
    return str(options_of(context).now.year)


class RenderVariableNode(Node):
    """`{% render_variable var %}`: the variable's value is itself a template, rendered in the same context."""

    def __init__(self, variable: Variable) -> None:
        self.variable = variable

    def render(self, context: Context) -> str:
        from klaviyo_sync.language.engine import compile_template

        try:
            value = self.variable.resolve(context)
        except VariableDoesNotExist:
            return ""
        depth = context.render_context.get("render_variable_depth", 0)
        if not isinstance(value, str) or depth >= MAX_RENDER_VARIABLE_DEPTH:
            return escape(value) if context.autoescape and not isinstance(value, SafeString) else str(value)
        context.render_context["render_variable_depth"] = depth + 1
        try:
            return compile_template(value).nodelist.render(context)
        except TemplateSyntaxError:
            return ""
        finally:
            context.render_context["render_variable_depth"] = depth


@register.tag("render_variable")
def do_render_variable(parser: Parser, token: Token) -> RenderVariableNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise TemplateSyntaxError("`{% render_variable %}` takes one variable, e.g. `{% render_variable person.greeting %}`")
    return RenderVariableNode(Variable(bits[1]))


class CatalogNode(Node):
    """`{% catalog ID %}…{% endcatalog %}`: the catalog item, from the render's samples or a placeholder."""

    def __init__(self, item_id: Variable | str, nodelist: NodeList) -> None:
        self.item_id = item_id
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        item_id = self.item_id
        if isinstance(item_id, Variable):
            try:
                item_id = item_id.resolve(context)
            except VariableDoesNotExist:
                item_id = ""
        options: RenderOptions = options_of(context)
        item = options.catalog.get(str(item_id)) or _placeholder_item(str(item_id), options)
        with context.push(catalog_item=item):
            return self.nodelist.render(context)


def _placeholder_item(item_id: str, options: RenderOptions) -> dict[str, Any]:
    return {
        "id": item_id,
        "title": f"Catalog item {item_id}",
        "description": "",
        "url": f"{options.links_base}/catalog/{item_id}",
        "image_full_url": "",
        "image_thumbnail_url": "",
        "price": 0,
    }


@register.tag("catalog")
def do_catalog(parser: Parser, token: Token) -> CatalogNode:
    bits = token.split_contents()
    if len(bits) < 2:
        raise TemplateSyntaxError("`{% catalog %}` needs the item's id, e.g. `{% catalog event.ProductID %}`")
    raw = bits[1]
    item_id: Variable | str = raw[1:-1] if raw[:1] in "'\"" and raw[-1:] == raw[:1] else Variable(raw)
    nodelist = parser.parse(("endcatalog",))
    parser.delete_first_token()
    return CatalogNode(item_id, nodelist)

"""Renderer conformance: one table of templates, contexts and the output Klaviyo gives, run through the
language package and through the emulator's `POST /api/template-render` (which must use the same renderer)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.language import RenderOptions, render
from tests.emulator.helpers import client, create_template

ORDER = {
    "first_name": "Ada",
    "person": {"city": "Lyon", "First Name": "Ada", "orders": 3},
    "event": {"Items": [{"name": "Lamp", "price": 30}, {"name": "Rug", "price": 120.5}], "Total": 150.5, "Product Name": "Lamp"},
    "organization": {"name": "Acme Outfitters"},
    "tags": ["new", "vip"],
}

# (case id, template, context, expected output), HTML rendering; "{base}" is where the render's placeholder links go.
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("variable", "Hi {{ first_name }}!", ORDER, "Hi Ada!"),
    ("nested lookup", "{{ person.city }} / {{ organization.name }}", ORDER, "Lyon / Acme Outfitters"),
    ("list index", "{{ event.Items.1.name }}", ORDER, "Rug"),
    ("lookup filter with a space", "{{ person|lookup:'First Name' }} {{ event|lookup:'Product Name' }}", ORDER, "Ada Lamp"),
    ("missing renders nothing", "[{{ last_name }}][{{ person.zip.code }}]", ORDER, "[][]"),
    ("default on missing", "Hi {{ last_name|default:'friend' }}", ORDER, "Hi friend"),
    ("default on empty", "Hi {{ blank|default:'friend' }}", {"blank": ""}, "Hi friend"),
    ("default not on a value", "Hi {{ first_name|default:'friend' }}", ORDER, "Hi Ada"),
    ("if true", "{% if person.orders %}returning{% endif %}", ORDER, "returning"),
    ("if missing is false", "{% if person.vip %}vip{% else %}regular{% endif %}", ORDER, "regular"),
    (
        "elif with comparisons",
        "{% if event.Total > 200 %}big{% elif event.Total >= 150 %}medium{% else %}small{% endif %}",
        ORDER,
        "medium",
    ),
    ("comparison with and", "{% if person.orders == 3 and first_name != 'Bob' %}yes{% endif %}", ORDER, "yes"),
    ("in operator", "{% if 'vip' in tags %}VIP{% endif %}", ORDER, "VIP"),
    (
        "for over objects",
        "{% for item in event.Items %}{{ forloop.counter }}.{{ item.name }}={{ item.price }};{% endfor %}",
        ORDER,
        "1.Lamp=30;2.Rug=120.5;",
    ),
    ("for empty", "{% for item in nothing %}x{% empty %}none{% endfor %}", ORDER, "none"),
    ("with", "{% with total=event.Total %}{{ total }}{% endwith %}", ORDER, "150.5"),
    (
        "filter with an argument",
        "{{ first_name|truncatechars:2 }}|{{ tags|join:', ' }}|{{ 'x'|add:'y' }}",
        ORDER,
        "A…|new, vip|xy",
    ),
    ("chained filters", "{{ first_name|upper|slice:':2' }}", ORDER, "AD"),
    (
        "django built-ins",
        "{{ 3|pluralize }} {{ 1|yesno:'yes,no' }} {{ 'a b'|title }} {{ 1024|filesizeformat }}",
        ORDER,
        "s yes A B 1.0\xa0KB",
    ),
    (
        "klaviyo arithmetic",
        "{{ event.Total|minus:50 }} {{ 10|plus:5 }} {{ 7|divide:2 }} {{ 3|multiply:2 }} {{ 7|modulo:4 }}",
        ORDER,
        "100.5 15 3.5 6 3",
    ),
    ("arithmetic on bad input", "[{{ 'x'|minus:1 }}][{{ 'x'|divide:2 }}]", ORDER, "[][0.0]"),
    (
        "klaviyo strings",
        "{{ 'hi'|upcase }} {{ 'HI'|downcase }} {{ 'a-b-c'|replace:'-|+' }} {{ ' x '|strip }}.",
        ORDER,
        "HI hi a+b+c x.",
    ),
    (
        "klaviyo lists",
        "{{ event.Items|map:'name'|list_to_string }} {{ tags|size }} {{ event.Items|map:'price'|sum_list }}",
        ORDER,
        "Lamp and Rug 2 150.5",
    ),
    ("rounding", "{{ 2.5|round }} {{ 2.345|round:2 }} {{ 2.1|ceil }} {{ 2.9|floor }}", ORDER, "3 2.35 3 2"),
    ("currency", "{% currency_format 27 %} {{ event.Total|currency_format }}", ORDER, "$27.00 $150.50"),
    ("autoescape", "{{ html }}", {"html": "<b>&</b>"}, "&lt;b&gt;&amp;&lt;/b&gt;"),
    ("autoescape off", "{% autoescape off %}{{ html }}{% endautoescape %}", {"html": "<b>"}, "<b>"),
    ("unsubscribe tag", "{% unsubscribe %}", {}, '<a href="{base}/unsubscribe">Unsubscribe</a>'),
    ("unsubscribe with text", "{% unsubscribe 'Se désabonner' %}", {}, '<a href="{base}/unsubscribe">Se désabonner</a>'),
    ("unsubscribe link form", '<a href="{% unsubscribe_link %}">x</a>', {}, '<a href="{base}/unsubscribe">x</a>'),
    (
        "manage preferences",
        "{% manage_preferences %}|{% manage_preferences_link %}",
        {},
        '<a href="{base}/preferences">Manage preferences</a>|{base}/preferences',
    ),
    ("web view", "{% web_view 'Open' %}|{% web_view_link %}", {}, '<a href="{base}/web-view">Open</a>|{base}/web-view'),
    ("coupon code", "{% coupon_code 'Welcome 10' %}", {}, "SAMPLE-WELCOME-10"),
    (
        "send date",
        "{% current_day %} {% current_weekday %} {% current_month_name %} {% current_year %}",
        {},
        "15 Friday January 2027",
    ),
    ("catalog placeholder", "{% catalog 'SKU1' %}{{ catalog_item.title }}{% endcatalog %}", {}, "Catalog item SKU1"),
    ("render_variable", "{% render_variable greeting %}", {"greeting": "Hi {{ first_name }}"} | {"first_name": "Ada"}, "Hi Ada"),
    ("unknown tag and filter render as nothing", "[{% web_preview %}][{{ first_name|titel }}]", ORDER, "[][]"),
    ("comment", "a{# hidden #}b{% comment %}gone{% endcomment %}c", {}, "abc"),
]

NOW = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("source", "context", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_language_renders_as_klaviyo(source: str, context: dict[str, Any], expected: str) -> None:
    options = RenderOptions(links_base="https://links.invalid", now=NOW)
    assert render(source, context, options=options) == expected.replace("{base}", "https://links.invalid")


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [case[1:] for case in CASES if "current_" not in case[1]],
    ids=[case[0] for case in CASES if "current_" not in case[1]],
)
def test_emulator_renders_the_same(emulator: Emulator, api_key: str, source: str, context: dict[str, Any], expected: str) -> None:
    with client(emulator, api_key) as http:
        template = create_template(http, "T", html=source, text=source)
        body = {"data": {"type": "template", "id": template, "attributes": {"context": context}}}
        response = http.post("/api/template-render", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["data"]["attributes"]["html"] == expected.replace("{base}", "https://emulator.invalid")


def test_text_version_is_not_escaped() -> None:
    assert render("{{ html }} & {{ first_name }}", {"html": "<b>", "first_name": "Zoë"}, autoescape=False) == "<b> & Zoë"


def test_emulator_answers_400_for_a_template_that_cannot_render(emulator: Emulator, api_key: str) -> None:
    with client(emulator, api_key) as http:
        template = create_template(http, "T", html="<p>{% if %}</p>")
        body = {"data": {"type": "template", "id": template, "attributes": {"context": {}}}}
        response = http.post("/api/template-render", json=body)
        assert response.status_code == 400
        assert "cannot be rendered: line 1, column 4" in response.json()["errors"][0]["detail"]


# Every filter of Klaviyo's glossary (klaviyo-api-more.md §9.3) and every tag of §9.2.
GLOSSARY_FILTERS = [
    "abs",
    "add",
    "addslashes",
    "append",
    "at_least",
    "at_most",
    "base64_decode",
    "base64_encode",
    "base64_url_safe_decode",
    "base64_url_safe_encode",
    "capfirst",
    "capitalize",
    "ceil",
    "center",
    "compact",
    "concat",
    "count",
    "cut",
    "date",
    "datetime_from_string",
    "default",
    "default_if_none",
    "dictfilter",
    "dictsort",
    "dictsortreversed",
    "divide",
    "divisibleby",
    "downcase",
    "escape",
    "escape_once",
    "escapeseq",
    "filesizeformat",
    "find_replace",
    "first",
    "floatadd",
    "floatformat",
    "floatsub",
    "floor",
    "force_escape",
    "format_date_string",
    "get_digit",
    "httpize",
    "httpsize",
    "iriencode",
    "join",
    "last",
    "length",
    "linenumbers",
    "list_to_string",
    "list_where",
    "ljust",
    "lookup",
    "lower",
    "lstrip",
    "make_list",
    "map",
    "md5_hash",
    "minus",
    "missing_image",
    "missing_product_image",
    "modulo",
    "multiply",
    "newline_to_br",
    "percentize",
    "phone2numeric",
    "pluralize",
    "plus",
    "prepend",
    "random",
    "remainder",
    "remove",
    "remove_first",
    "remove_last",
    "replace",
    "replace_first",
    "replace_last",
    "resplit",
    "reverse",
    "rjust",
    "round",
    "round_down",
    "round_up",
    "rstrip",
    "safe",
    "safeseq",
    "sha_1",
    "sha_256",
    "size",
    "slice",
    "slugify",
    "sort",
    "sort_natural",
    "split",
    "stringformat",
    "strip",
    "strip_html",
    "strip_newlines",
    "striptags",
    "sum_list",
    "time",
    "timesince",
    "timeuntil",
    "title",
    "trim_slash",
    "truncate",
    "truncatechars",
    "truncatechars_html",
    "truncatewords",
    "truncatewords_html",
    "uniq",
    "upcase",
    "upper",
    "urldecode",
    "urldecodeplus",
    "urlencode",
    "urlencodeplus",
    "urlize",
    "urlizetrunc",
    "wordcount",
    "wordwrap",
    "yesno",
]
GLOSSARY_TAGS = [
    "unsubscribe",
    "unsubscribe_link",
    "manage_preferences",
    "manage_preferences_link",
    "web_view",
    "web_view_link",
    "coupon_code",
    "barcode_code",
    "catalog",
    "render_variable",
    "currency_format",
    "current_day",
    "current_weekday",
    "current_month_name",
    "current_year",
    "if",
    "for",
    "with",
    "autoescape",
]


def test_the_whole_glossary_is_known() -> None:
    from klaviyo_sync.language.engine import known_filters, known_tags

    assert len(GLOSSARY_FILTERS) == 121
    assert set(GLOSSARY_FILTERS) <= known_filters()
    assert set(GLOSSARY_TAGS) <= known_tags()
    assert not {"include", "extends", "url", "load", "csrf_token", "debug"} & known_tags()


@pytest.mark.parametrize("name", GLOSSARY_FILTERS)
def test_every_filter_renders_whatever_its_input(name: str) -> None:
    """A filter given a value it cannot use renders something (often nothing); it never fails the email."""
    for value in ("'text'", "3", "missing", "event.Items"):
        for argument in ("", ":'a|b'", ":2"):
            try:
                render(f"{{{{ {value}|{name}{argument} }}}}", ORDER)
            except Exception as exc:  # an argument count Django refuses at parse time is a lint error, not a crash
                assert "arguments" in str(exc) or "argument" in str(exc), (name, value, argument, exc)

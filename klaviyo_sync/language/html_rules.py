"""The rules that read a template's HTML: Klaviyo links inside attributes, images, URLs, size, unsubscribe.

Each rule is one search of the source with its template tags masked (same length, so every offset holds): a
regular expression's, or `str.find` for the URL attributes' names with their pattern tried there. It looks back at
most one tag's length to know whether a match sits inside a tag: linear in the template's size, whatever its markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from klaviyo_sync.language.source import Source
from klaviyo_sync.language.vocabulary import ELEMENT_TAGS, UNSUBSCRIBE_TAGS

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail cuts a message whose HTML is larger and shows "[Message clipped]"
MAX_TAG_LENGTH = 16_384  # a start tag longer than this is not looked into
_IMG = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")  # searched in the lowercased text
_ALT = re.compile(r"\salt\s*(=|\s|/|>|$)", re.IGNORECASE)
# One pattern per attribute, tried where `str.find` (faster than a regular expression's own search for a literal,
# which an alternation of names does not even get) finds the attribute's name.
_URL_ATTRIBUTES = {
    name: re.compile(rf"({name})\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))?") for name in ("href", "src", "background")
}


@dataclass(frozen=True)
class HtmlFinding:
    rule: str
    offset: int
    message: str
    hint: str


def check_html(source: Source, *, transactional: bool) -> Iterator[HtmlFinding]:
    text = source.masked
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lowercase to two: keep offsets, lose only mixed-case names
        lowered = text
    yield from _element_tags_in_attributes(source)
    for match in _IMG.finditer(lowered):
        if not _ALT.search(match.group()[4:]):
            yield HtmlFinding(
                "img-alt",
                match.start(),
                "`<img>` without `alt`",
                'add alt="…" describing the image (alt="" for a decorative one): many clients block images by default',
            )
    for match in _url_attributes(lowered):
        before = lowered[match.start() - 1 : match.start()]
        if before.isalnum() or before in ("-", "_") or not _inside_tag(text, match.start()):
            continue
        name = match.group(1).lower()
        group = next((index for index in (2, 3, 4) if match.group(index) is not None), 0)
        value = text[match.start(group) : match.end(group)] if group else ""
        if name == "href" and not value.strip():
            yield HtmlFinding("empty-href", match.start(), "empty `href`", "link somewhere, or remove the `<a>`'s href")
        elif value[:7].lower() == "http://":
            shown = source.text[match.start(group) : match.end(group)]
            yield HtmlFinding(
                "insecure-url",
                match.start(group),
                f"`{name}` uses http:// (`{_clip(shown)}`)",
                "use https://: clients warn on, block or rewrite plain-http links and images",
            )
    size = len(source.text) if source.text.isascii() else len(source.text.encode("utf-8", "surrogatepass"))
    if size > GMAIL_CLIP_BYTES:
        yield HtmlFinding(
            "html-size",
            0,
            f"the HTML is {size:,} bytes; Gmail clips messages over {GMAIL_CLIP_BYTES:,} bytes",
            "move inline CSS to a <style> block and drop unused markup: past the clip, readers see"
            " '[Message clipped]' and may never reach the unsubscribe link",
        )
    if not transactional and not source.has_tag(UNSUBSCRIBE_TAGS):
        yield HtmlFinding(
            "unsubscribe",
            0,
            "no unsubscribe link: Klaviyo appends a basic one of its own",
            'add `<a href="{% unsubscribe_link %}">Unsubscribe</a>` (or `{% unsubscribe %}`) to the footer,'
            " or declare the template `transactional: true`",
        )


def _url_attributes(lowered: str) -> Iterator[re.Match[str]]:
    """Each URL attribute's matches, as `finditer` would give them: attribute by attribute, left to right."""
    for name, pattern in _URL_ATTRIBUTES.items():
        at = lowered.find(name)
        while at >= 0:
            match = pattern.match(lowered, at)
            at = lowered.find(name, match.end() if match else at + 1)
            if match:
                yield match


def _inside_tag(text: str, offset: int) -> bool:
    """Whether `offset` is inside a start tag: the nearest `<` before it opens a tag and no `>` came since."""
    floor = max(0, offset - MAX_TAG_LENGTH)
    opened = text.rfind("<", floor, offset)
    if opened < 0 or text.rfind(">", opened, offset) >= 0:
        return False
    return text[opened + 1 : opened + 2].isalpha()


def _element_tags_in_attributes(source: Source) -> Iterator[HtmlFinding]:
    for tag in source.tags_named(ELEMENT_TAGS):
        if _inside_tag(source.masked, tag.start):
            yield HtmlFinding(
                "tag-in-attribute",
                tag.start,
                f"`{{% {tag.name} %}}` is inside an HTML tag, but it expands to a whole `<a>` element",
                f"use `{{% {ELEMENT_TAGS[tag.name]} %}}` there (the bare URL), or put `{{% {tag.name} %}}` outside the tag",
            )


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""The HTML element-structure check: end tags without a start tag, and elements left open.

It aims at mistakes that would reach subscribers (a `<table>` never closed, a stray `</div>`) without false alarms
on valid email HTML: elements whose end tag HTML makes optional (`<p>`, `<td>`, `<tr>`, ...) may stay open, void
elements need no end tag, and conditional comments are comments. Open elements are counted by name, so the check
stays linear however deep.

Tags are found exactly where the standard library's `html.parser.HTMLParser` (fed the whole text, then closed)
finds them, without its cost per token (text unescaped, attributes parsed, positions counted, a method call for
each): one regular expression takes the plain start and end tags that make up nearly all email HTML, and anything
else (comments, declarations, `<script>` and `<style>` content, unusual attribute syntax, a `<` that opens
nothing) is handed to the standard parser's own routine for that construct, at that position.
tests/manifest/test_structure.py holds both to the same tags at the same places. One difference: a marked section
the standard parser does not know (`<![foo ...`) makes it raise; here, as in HTML5, it is a bogus comment.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from klaviyo_sync.errors import Problem
from klaviyo_sync.language.source import Lines

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
    | {"basefont", "bgsound", "frame", "keygen"}
)
OPTIONAL_END_ELEMENTS = frozenset(
    {"p", "li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "option", "optgroup", "colgroup", "caption"}
    | {"rb", "rt", "rtc", "rp", "html", "head", "body"}
)

# Plain tags, which the standard parser reads as this pattern does: an end tag as its own `endtagfind` reads one;
# a start tag whose name ends at a tab, newline, form feed, space, `/` or `>` (where the parser's tag name ends),
# with attributes separated by those characters, unquoted values running to whitespace or `>` (as the parser's
# do), and `/>` (self-closing, which the check ignores) only right after the last attribute or whitespace. The
# empty last alternative matches any other `<`: the standard parser decides. Possessive quantifiers: no
# backtracking into a shorter value or name than the parser takes.
_TAG = re.compile(
    r"""<(?:
        /\s*+(?P<end>[a-zA-Z][-.a-zA-Z0-9:_]*+)\s*+>
      | (?P<start>[a-zA-Z][a-zA-Z0-9]*+)
        (?:[\t\n\r\f ]++[a-zA-Z_:][-a-zA-Z0-9_:.]*+
           (?:[\t\n\r\f ]*+=[\t\n\r\f ]*+(?:"[^"]*+"|'[^']*+'|[^\s"'>][^\s>]*+))?+
        )*+
        [\t\n\r\f ]*+(?P<closed>/?)>
      |
    )""",
    re.VERBOSE,
)
_CDATA_ELEMENTS = frozenset(HTMLParser.CDATA_CONTENT_ELEMENTS)
_START_TAG_OPEN = re.compile(r"<[a-zA-Z]")


def structure_problems(file: str, text: str) -> list[Problem]:
    """End tags without a matching start tag, and elements never closed (where HTML requires an end tag), in order."""
    stack: list[tuple[str, int]] = []
    open_count: dict[str, int] = {}
    found: list[tuple[int, str, str]] = []  # offset, message, hint
    lines = Lines(text)
    for is_end, tag, offset in tags(text):
        if not is_end:
            if tag not in VOID_ELEMENTS:
                stack.append((tag, offset))
                open_count[tag] = open_count.get(tag, 0) + 1
            continue
        if tag in VOID_ELEMENTS:
            continue
        if not open_count.get(tag):
            found.append((offset, f"`</{tag}>` has no matching `<{tag}>`", f"remove the `</{tag}>` or add the missing `<{tag}>`"))
            continue
        while stack[-1][0] != tag:
            inner, inner_offset = stack.pop()
            open_count[inner] -= 1
            if inner not in OPTIONAL_END_ELEMENTS:
                line = lines.where(offset)[0]
                message = f"`<{inner}>` is not closed before `</{tag}>` on line {line}"
                found.append((inner_offset, message, f"add `</{inner}>` before line {line}"))
        stack.pop()
        open_count[tag] -= 1
    unclosed = [(tag, offset) for tag, offset in stack if tag not in OPTIONAL_END_ELEMENTS]
    found += [(offset, f"`<{tag}>` is never closed", f"add `</{tag}>`") for tag, offset in unclosed]
    if not found:
        return []
    return [Problem(file, *lines.where(offset), message, hint) for offset, message, hint in found]


def tags(text: str) -> list[tuple[bool, str, int]]:
    """(is an end tag, lowercased name, offset of its `<`) for every start and end tag, as `HTMLParser` finds them
    (`goahead` with convert_charrefs, fed everything at once, then closed). Self-closing tags (`<br/>`) are left out,
    as the check ignores them."""
    found: list[tuple[bool, str, int]] = []
    add = found.append
    standard: _Standard | None = None
    position = 0
    while True:
        for match in _TAG.finditer(text, position):
            end, start, closed = match.groups()
            if start is not None:
                if closed:
                    continue
                start = start.lower()
                add((False, start, match.start()))
                if start in _CDATA_ELEMENTS:
                    standard = standard or _Standard(text)
                    standard.set_cdata_mode(start)
                    position = match.end()
                    break
            elif end is not None:
                add((True, end.lower(), match.start()))
            else:
                standard = standard or _Standard(text)
                position = standard.construct(match.start())
                if position < 0:
                    return found
                found += standard.take_events(match.start())
                break
        else:
            return found
        while standard is not None and standard.cdata_elem:  # <script>, <style>: raw text up to their own end tag
            end_tag = standard.interesting.search(text, position)
            if end_tag is None:
                return found
            position = standard.parse_endtag(end_tag.start())
            found += standard.take_events(end_tag.start())


class _Standard(HTMLParser):
    """The standard parser over the whole text, asked to read one construct at a time (its own routine for each)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rawdata = text
        self._events: list[tuple[bool, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._events.append((False, tag))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return  # <div/> is read as self-closed; browsers differ, but it is not a structural error worth failing

    def handle_endtag(self, tag: str) -> None:
        self._events.append((True, tag))

    def take_events(self, offset: int) -> list[tuple[bool, str, int]]:
        events, self._events = self._events, []
        return [(is_end, tag, offset) for is_end, tag in events]

    def construct(self, i: int) -> int:
        """Read what the `<` at i starts, as `goahead` does; where reading goes on (-1: nothing more to read)."""
        text = self.rawdata
        if _START_TAG_OPEN.match(text, i):
            k = self.parse_starttag(i)
        elif text.startswith("</", i):
            k = self.parse_endtag(i)
        elif text.startswith("<!--", i):
            k = self.parse_comment(i)
        elif text.startswith("<?", i):
            k = self.parse_pi(i)
        elif text.startswith("<!", i):
            try:
                k = self.parse_html_declaration(i)
            except AssertionError:  # a marked section it does not know: a bogus comment, as in HTML5
                k = self.parse_bogus_comment(i)
        elif i + 1 < len(text):
            k = i + 1  # a `<` that opens nothing is text
        else:
            return -1
        if k < 0:  # not terminated: text up to the next `>` (or `<`), as when the parser is closed
            k = text.find(">", i + 1)
            if k < 0:
                k = text.find("<", i + 1)
                k = i + 1 if k < 0 else k
            else:
                k += 1
        return k

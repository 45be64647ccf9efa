"""The HTML structure check finds the tags the standard library's HTMLParser finds, at the same lines and columns,
however odd the markup; and reports what it should on the templates that made it slow."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from klaviyo_sync.manifest.structure import structure_problems, tags
from klaviyo_sync.manifest.templates import ReferencedFile, check_structure

# Pieces of markup around every branch of the parser: plain tags, attribute syntax the fast path leaves to the
# standard parser (values glued to the next name, empty values, `=` runs, Unicode spaces), self-closing forms,
# comments closed and not, declarations, processing instructions, marked sections (Outlook's, CDATA, unknown),
# raw text elements and what ends them (including a long s, which `re.I` equates with s), stray `<` and `&`.
PIECES = [
    *("<p>", "</p>", "<P class=x>", "<div>", "</div >", "</ div>", "<div", ">", "<table>", "</table>", "<td>"),
    *("<br/>", "<br />", "<img src='a'/>", "<a href=x/>", "<a b=>", "<a b='1'c=2>", "<a b==c>", "<a\xa0b>"),
    *("<p\xa0>", "<td\x0b>", "<a b\u2003>", "<a b='1'\xa0/>", "<a b=1\xa0>", "<i\x1c/>", "<p\x00>", "<p.x>", "<h1>", "<o:p>"),
    *("<p/ >", "<x-y>", "<a:b>", "<p\n>", "</p\n>", "</>", '<span\tid="a>b">', "<a href='x", "<b c d=e f>"),
    *("<!--", "-->", "-- >", "<!-- <p> -->", "<!DOCTYPE html>", "<!x>", "<?xml?>", "<?", "<!"),
    *("<![if mso]>", "<![endif]>", "<![CDATA[x]]>", "<![foo]>", "<![ ", "<!["),
    *("<script>", "</script>", "</SCRIPT >", "</\u017fcript>", "<style>", "</style>", "<style/>", "<textarea>"),
    *("<", "</", "&amp;", "&", "&#", "\n", " ", "\t", "\x0b", "\xa0", "=", '"', "'", "/", "a", "\x00"),
]
markup = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map("".join)


class _Reference(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[bool, str, int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((False, tag, *self.getpos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return

    def handle_endtag(self, tag: str) -> None:
        self.found.append((True, tag, *self.getpos()))


def _reference(text: str) -> list[tuple[bool, str, int, int]] | None:
    parser = _Reference()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError:  # an unknown marked section: the standard parser gives up
        return None
    return parser.found


def _found(text: str) -> list[tuple[bool, str, int, int]]:
    def position(offset: int) -> tuple[int, int]:
        line_start = text.rfind("\n", 0, offset) + 1
        return text.count("\n", 0, offset) + 1, offset - line_start

    return [(is_end, tag, *position(offset)) for is_end, tag, offset in tags(text)]


@settings(max_examples=400, deadline=None)
@given(markup)
def test_tags_are_the_ones_the_standard_parser_finds_at_the_same_places(text: str) -> None:
    found = _found(text)
    reference = _reference(text)
    assume(reference is not None)
    assert found == reference


def test_an_unknown_marked_section_is_a_bogus_comment_not_a_crash() -> None:
    text = "<div>\n<![foo]><p>x</p>\n"
    assert _reference(text) is None  # the standard parser raises on it
    problems = structure_problems("t.html", text)
    assert [(p.line, p.column, p.message) for p in problems] == [(1, 1, "`<div>` is never closed")]


def test_problems_are_located_where_the_standard_parser_puts_them() -> None:
    text = (
        "<!DOCTYPE html>\n<html><body>\n<!--[if mso]><table><![endif]-->\n"
        '<table class="outer">\n  <tr><td><div>\n</td></tr>\n</table>\n</span>\n'
        "<style>p > a { color: red }</style><script>if (a < b) { '</div>' }</script>\n</body></html>\n"
    )
    file = ReferencedFile(Path("t.html"), "t.html", "", text)
    assert [(p.line, p.column, p.message, p.hint) for p in check_structure(file, text)] == [
        (5, 11, "`<div>` is not closed before `</td>` on line 6", "add `</div>` before line 6"),
        (8, 1, "`</span>` has no matching `<span>`", "remove the `</span>` or add the missing `<span>`"),
    ]


def test_a_large_template_of_plain_markup_is_checked_tag_by_tag() -> None:
    rows = "".join(f'<tr>\n<td class="c{i}" width=50%><p>Row {i}</td>\n' for i in range(20_000))
    text = f"<html><body><table>\n{rows}</table><div><span></div></body></html>\n"
    problems = structure_problems("big.html", text)
    assert [(p.line, p.column, p.message) for p in problems] == [
        (40_002, 14, "`<span>` is not closed before `</div>` on line 40002")
    ]

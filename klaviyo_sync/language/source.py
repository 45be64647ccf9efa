"""A template's source as spans of Django's tags, with offsets turned into 1-based lines and columns.

Django's own lexer builds an object for every token, text included; linting needs only the tags, and a
4 MB template holds hundreds of thousands of them. So the tags are found with Django's own pattern
(`tag_re`) in one pass, and only block tags become objects.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from django.template.base import tag_re

MASK = "\x01"  # a control character: never in an email, never markup or a delimiter; ASCII keeps str.lower fast
_LINE_BREAK = re.compile(r"\n")
_SPARSE = 64  # with fewer block tags than one per this many characters, reading each beats searching the text


class Lines:
    """Line and column (1-based) of character offsets in a text, lines ending at `\\n` alone. The first few are
    counted directly (most texts are asked for a handful, often near the start); after that an index of line
    starts answers each in O(log lines)."""

    DIRECT = 32

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None
        self._asked = 0

    def where(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            self._asked += 1
            if self._asked <= self.DIRECT:
                line_start = self._text.rfind("\n", 0, offset) + 1
                return self._text.count("\n", 0, offset) + 1, offset - line_start + 1
            self._starts = [0] + [match.end() for match in _LINE_BREAK.finditer(self._text)]
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


class Tag(NamedTuple):
    """A `{% … %}` tag: its stripped contents, its name, and where it starts and ends in the source."""

    contents: str
    name: str
    start: int
    end: int


class Source:
    """One pass of `tag_re` gives where the block tags are, each variable's text and offsets, and the masked
    source; a block tag becomes a `Tag` only when asked for, since a check may stop early."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.block_spans: list[tuple[int, int]] = []
        self.variables: dict[str, list[int]] = {}  # each distinct `{{ … }}` as written -> its start offsets
        masks: dict[int, str] = {}
        pieces: list[str] = []
        position = 0
        for match in tag_re.finditer(text):
            start, end = match.span()
            pieces.append(text[position:start])
            pieces.append(masks.get(end - start) or masks.setdefault(end - start, MASK * (end - start)))
            position = end
            kind = text[start + 1]
            if kind == "%":
                self.block_spans.append((start, end))
            elif kind == "{":
                self.variables.setdefault(match.group(), []).append(start)
        pieces.append(text[position:])
        self.masked = "".join(pieces)  # every template tag replaced by MASK characters, so every offset holds
        self._lines = Lines(text)

    def blocks(self) -> Iterator[Tag]:
        text = self.text
        for start, end in self.block_spans:
            contents = text[start + 2 : end - 2].strip()
            yield Tag(contents, contents.split(None, 1)[0] if contents else "", start, end)

    def tags_named(self, names: Iterable[str]) -> Iterator[Tag]:
        """The block tags with one of these names: each tag looked at where tags are few, else found by a search
        of the text (a match always starts a tag: no `{%` fits inside `{%`, spaces and a name)."""
        pattern = re.compile(r"\{%\s*(?:" + "|".join(re.escape(name) for name in names) + r")(?=\s|%\})")
        if len(self.block_spans) * _SPARSE < len(self.text):
            spans: Iterable[tuple[int, int]] = (span for span in self.block_spans if pattern.match(self.text, span[0]))
        else:
            tags = dict(self.block_spans)
            spans = ((match.start(), tags[match.start()]) for match in pattern.finditer(self.text) if match.start() in tags)
        for start, end in spans:
            contents = self.text[start + 2 : end - 2].strip()
            yield Tag(contents, contents.split(None, 1)[0], start, end)

    def has_tag(self, names: Iterable[str]) -> bool:
        return next(self.tags_named(names), None) is not None

    def where(self, offset: int) -> tuple[int, int]:
        """The line and column (1-based) of a character offset."""
        return self._lines.where(offset)

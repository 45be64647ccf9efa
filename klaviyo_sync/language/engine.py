"""Django's template engine, standalone, speaking Klaviyo's dialect: its tags and filters, and its leniency.

Klaviyo renders a missing variable as nothing and an unknown tag or filter as nothing too (klaviyo-api-more.md
§9); Django would refuse the template. `KlaviyoParser` keeps Django's grammar and records each unknown name
instead of failing, so `render` renders what Klaviyo would and `lint` reports every unknown name, not the first.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

if not settings.configured:
    # Only what rendering reads: no apps, no database, no translations; dates in UTC.
    settings.configure(USE_I18N=False, USE_TZ=True, TIME_ZONE="UTC", DEBUG=False)

from django.template import Context, Engine, Library, Node, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import DebugLexer, Parser, Token

from klaviyo_sync.language import filters, tags
from klaviyo_sync.language.options import DEFAULT_OPTIONS, RenderOptions
from klaviyo_sync.language.vocabulary import EXCLUDED_DJANGO_TAGS

__all__ = ["RenderError", "RenderOptions", "compile_template", "known_filters", "known_tags", "render"]


def _django_library() -> Library:
    library = Library()
    library.tags.update({name: func for name, func in defaulttags.register.tags.items() if name not in EXCLUDED_DJANGO_TAGS})
    # Django's filters raise on a value they cannot use; Klaviyo's email still goes out, so here they give nothing.
    library.filters.update({name: filters.guarded(func) for name, func in defaultfilters.register.filters.items()})
    return library


_LIBRARIES = (_django_library(), filters.register, tags.register)
_ENGINE = Engine(loaders=[], libraries={}, builtins=[], string_if_invalid="", autoescape=True)
_local = threading.local()


def known_tags() -> frozenset[str]:
    return frozenset(name for library in _LIBRARIES for name in library.tags)


def known_filters() -> frozenset[str]:
    return frozenset(name for library in _LIBRARIES for name in library.filters)


@dataclass(frozen=True)
class UnknownName:
    kind: str  # "tag" or "filter"
    name: str
    token: Token


@dataclass
class RenderError(Exception):
    """The template cannot be compiled: `message` at 1-based `line` and `column` of its source."""

    message: str
    line: int
    column: int
    offset: int = field(default=0, repr=False)

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class _Nothing(Node):
    def render(self, context: Context) -> str:
        return ""


def _nothing_filter(value: Any, arg: Any = None) -> str:
    return ""


class _Tags(dict[str, Any]):
    """The parser's tag table: an unknown tag compiles to nothing (and is recorded); a stray `{% end… %}` or
    branch tag still fails, as it would in Klaviyo, since it is a broken block rather than an unknown name."""

    def __init__(self, parser: KlaviyoParser, known: Mapping[str, Any]) -> None:
        super().__init__(known)
        self.parser = parser

    def __missing__(self, name: str) -> Any:
        if name.startswith("end") or name in ("else", "elif", "empty"):
            raise KeyError(name)

        def unknown(parser: Parser, token: Token) -> Node:
            self.parser.unknown.append(UnknownName("tag", name, token))
            return _Nothing()

        return unknown


class KlaviyoParser(Parser):
    def __init__(self, tokens: list[Token]) -> None:
        super().__init__(tokens, builtins=list(_LIBRARIES))
        self.tags = _Tags(self, self.tags)
        self.unknown: list[UnknownName] = []
        self.current: Token | None = None

    def next_token(self) -> Token:
        self.current = super().next_token()
        return self.current

    def find_filter(self, filter_name: str) -> Any:
        if filter_name in self.filters:
            return self.filters[filter_name]
        assert self.current is not None
        self.unknown.append(UnknownName("filter", filter_name, self.current))
        return _nothing_filter


class KlaviyoTemplate(Template):
    """A Django Template compiled by KlaviyoParser."""

    def compile_nodelist(self) -> Any:
        return _parse(self.source, KlaviyoParser(DebugLexer(self.source).tokenize()))


def _parse(source: str, parser: KlaviyoParser) -> Any:
    try:
        return parser.parse()
    except TemplateSyntaxError as exc:
        token = getattr(exc, "token", None) or parser.current
        raise _located(source, str(exc), token) from None
    except RecursionError:
        raise RenderError("the template's blocks are nested too deeply to render", 1, 1) from None


def parse_tokens(source: str, tokens: list[Token]) -> list[UnknownName]:
    """Parse tokens of `source` (for lint: only those that can be wrong); the unknown names, or RenderError."""
    parser = KlaviyoParser(tokens)
    _parse(source, parser)
    return parser.unknown


def _located(source: str, message: str, token: Token | None) -> RenderError:
    offset = token.position[0] if token is not None and token.position else 0
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return RenderError(message, line, column, offset)


def compile_template(source: str) -> KlaviyoTemplate:
    """Compile `source`; raise RenderError (with line and column) where Klaviyo could not render it either."""
    return KlaviyoTemplate(source, engine=_ENGINE)


def render(source: str, context: Mapping[str, Any], *, autoescape: bool = True, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """Render a template as Klaviyo would; `autoescape=False` for the plain-text version."""
    template = compile_template(source)
    ctx = Context(dict(context), autoescape=autoescape)
    ctx.klaviyo_options = options  # type: ignore[attr-defined]  # read by the tags through options_of
    try:
        return template.render(ctx)
    except RecursionError:
        raise RenderError("the template's blocks are nested too deeply to render", 1, 1) from None
    except Exception as exc:  # a tag's own failure at render time (e.g. widthratio of text): the template's fault
        raise RenderError(f"the template cannot be rendered with this context: {exc}", 1, 1) from None

"""Every problem in a Klaviyo template, each with its rule, severity, line, column and a hint.

Rules (the ids `lint:` in klaviyo.yaml sets to error, warning or off):
see RULES below; the README's table is drawn from the same facts. The whole check is linear in the template's
size: Django's lexer and parser are, and so are the block pass (blocks.py) and the HTML pass (html_rules.py).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.template.base import Lexer, Token, TokenType

from klaviyo_sync.language.blocks import check_blocks
from klaviyo_sync.language.engine import RenderError, known_filters, known_tags, parse_tokens
from klaviyo_sync.language.html_rules import check_html
from klaviyo_sync.language.source import Source

SEVERITIES = ("error", "warning", "off")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # the default
    summary: str
    html_only: bool = True


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "syntax", "error", "template syntax: tags closed, blocks balanced and in order, filters given their arguments", False
        ),
        Rule("unknown-tag", "error", "a tag Klaviyo does not know (it renders as nothing), with did-you-mean", False),
        Rule("unknown-filter", "error", "a filter Klaviyo does not know (it renders as nothing), with did-you-mean", False),
        Rule(
            "tag-in-attribute", "error", "`{% unsubscribe %}`, `{% manage_preferences %}` or `{% web_view %}` inside an attribute"
        ),
        Rule("unsubscribe", "warning", "no unsubscribe tag, in a template not declared `transactional: true`"),
        Rule("html-size", "warning", "HTML over 102 KB, where Gmail clips the message"),
        Rule("img-alt", "warning", "`<img>` without `alt`"),
        Rule("insecure-url", "warning", "an `http://` link or image"),
        Rule("empty-href", "warning", "an empty `href`"),
    )
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    line: int
    column: int
    message: str
    hint: str


@dataclass(frozen=True)
class LintOptions:
    html: bool = True  # False for a plain-text version: only the language rules apply
    transactional: bool = False
    severities: Mapping[str, str] = field(default_factory=dict)  # rule id -> error | warning | off


@dataclass(frozen=True)
class Checked:
    findings: list[Finding]
    first_branch: str  # the source with tags and later conditional branches blanked, for the HTML structure check


def lint(text: str, options: LintOptions = LintOptions()) -> list[Finding]:
    """All findings in `text`, ordered by position; rules switched off are not reported."""
    return check(text, options).findings


def check(text: str, options: LintOptions = LintOptions()) -> Checked:
    """The findings, and the text the HTML structure check reads, from one reading of the template."""
    source = Source(text)
    raw: list[tuple[str, int, str, str]] = []  # rule, offset, message, hint
    blocks = check_blocks(source)
    raw += [("syntax", problem.offset, problem.message, problem.hint) for problem in blocks.problems]
    if not any(problem.structural for problem in blocks.problems):
        raw += _compile_findings(source)
    if options.html:
        raw += [(f.rule, f.offset, f.message, f.hint) for f in check_html(source, transactional=options.transactional)]
    findings = []
    for rule, offset, message, hint in raw:
        severity = options.severities.get(rule, RULES[rule].severity)
        if severity == "off":
            continue
        line, column = source.where(offset)
        findings.append(Finding(rule, severity, line, column, message, hint))
    findings.sort(key=lambda finding: (finding.line, finding.column, finding.rule))
    return Checked(findings, blocks.first_branch(source) if options.html else "")


def _compile_findings(source: Source) -> list[tuple[str, int, str, str]]:
    """Django's parser over the template's tags: its syntax errors, and every unknown tag and filter."""
    tokens, repeats = _parser_tokens(source)
    try:
        unknown = parse_tokens(source.text, tokens)
    except RenderError as exc:
        hint = "fix the tag: Klaviyo's language is Django's, e.g. `{{ value|filter:'argument' }}`"
        return [("syntax", exc.offset, _django_message(exc.message), hint)]
    findings = []
    for name in unknown:
        start, end = name.token.position
        pattern = rf"\|\s*({re.escape(name.name)})\b" if name.kind == "filter" else rf"({re.escape(name.name)})"
        match = re.search(pattern, source.text[start:end])
        known = known_filters() if name.kind == "filter" else known_tags()
        close = _close_names(name.name, known)
        hint = (
            f"did you mean {' or '.join(f'`{option}`' for option in close)}?"
            if close
            else f"check the spelling; Klaviyo renders an unknown {name.kind} as nothing"
        )
        for occurrence in [start, *repeats.get(start, ())]:
            offset = occurrence + (match.start(1) if match else 0)
            findings.append((f"unknown-{name.kind}", offset, f"unknown {name.kind} `{name.name}`", hint))
    return findings


def _parser_tokens(source: Source) -> tuple[list[Token], dict[int, list[int]]]:
    """The tokens Django's parser needs to see every error: all block tags, and each distinct variable once
    (a repeat parses the same way; its offsets are kept so that its findings are reported too). Text cannot
    make a template invalid, so it is left out: a 4 MB template of 160,000 variables parses as one variable."""
    lexer = Lexer(source.text)
    spans = list(source.block_spans)
    if source.has_tag(["verbatim"]):
        # Inside {% verbatim %} tags are text: Django's lexer decides, tag by tag in source order, so all are kept.
        spans += [(start, start + len(raw)) for raw, starts in source.variables.items() for start in starts]
        repeats: dict[int, list[int]] = {}
    else:
        spans += [(starts[0], starts[0] + len(raw)) for raw, starts in source.variables.items()]
        repeats = {starts[0]: starts[1:] for starts in source.variables.values() if len(starts) > 1}
    tokens: list[Token] = []
    for start, end in sorted(spans):
        token = lexer.create_token(source.text[start:end], (start, end), source.where(start)[0], True)
        if token.token_type is not TokenType.TEXT:
            tokens.append(token)
    return tokens, repeats


def _close_names(name: str, known: frozenset[str]) -> list[str]:
    """The closest known name, and the next one too when it is nearly as close (`unsubscribe_url` could mean
    `unsubscribe` or `unsubscribe_link`)."""
    close = difflib.get_close_matches(name, sorted(known), n=2)
    ratios = [difflib.SequenceMatcher(None, name, option).ratio() for option in close]
    return [option for option, ratio in zip(close, ratios, strict=True) if ratio >= ratios[0] - 0.1]


def _django_message(message: str) -> str:
    return re.sub(r" on line \d+", "", message)

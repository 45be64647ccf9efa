"""Template lint: each rule at its exact line and column, severities from `lint:`, and validate's output."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from klaviyo_sync.language import RULES, LintOptions, lint
from klaviyo_sync.manifest.schema import manifest_schema
from tests.manifest.helpers import write_project
from tests.support.cli import run_cli

FOOTER = "<p>{% unsubscribe %}</p>"


def found(text: str, **options: object) -> list[tuple[str, int, int]]:
    return [(finding.rule, finding.line, finding.column) for finding in lint(text, LintOptions(**options))]  # type: ignore[arg-type]


def test_the_two_mistakes_of_the_issue_fail_validate_at_their_exact_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = (
        "<html><body>\n"
        "<p>Hello {{ first_name|titel }}</p>\n"
        '  <p><a href="{% unsubscribe %}">Unsubscribe</a></p>\n'
        "</body></html>\n"
    )
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\ntemplates:\n  - name: T\n    html: t.html\n", "t.html": html})
    monkeypatch.chdir(tmp_path)
    result = run_cli(["validate"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "t.html:2:24: unknown filter `titel` — did you mean `title`? [unknown-filter]",
        "t.html:3:15: `{% unsubscribe %}` is inside an HTML tag, but it expands to a whole `<a>` element"
        " — use `{% unsubscribe_link %}` there (the bare URL), or put `{% unsubscribe %}` outside the tag [tag-in-attribute]",
    ]
    result = run_cli(["validate", "--format", "github"])
    assert result.stdout.splitlines()[0] == (
        "::error file=t.html,line=2,col=24::unknown filter `titel` — did you mean `title`? [unknown-filter]"
    )


def test_each_rule_at_its_line_and_column() -> None:
    html = (
        "{% if a %}\n"  # 1
        "{{ x|nonesuch_filter_name }} {% frobnicate %}\n"  # 2
        '<img src="https://x/a.png"> <img alt="" src="http://x/b.png">\n'  # 3
        '<a href="">empty</a> <a HREF="http://x">plain</a> <a href="{% web_view %}">v</a>\n'  # 4
        "{% endif %}\n"
    )
    assert found(html) == [
        ("unsubscribe", 1, 1),
        ("unknown-filter", 2, 6),
        ("unknown-tag", 2, 33),
        ("img-alt", 3, 1),
        ("insecure-url", 3, 46),
        ("empty-href", 4, 4),
        ("insecure-url", 4, 31),
        ("tag-in-attribute", 4, 60),
    ]


def test_block_problems_name_the_blocks() -> None:
    text = "{% if a %}\n{% for x in y %}\n{% endif %}\n{% endfor %}\n{% else %}\n{{ a\n"
    findings = lint(text, LintOptions(html=False))
    assert [(f.line, f.column, f.message) for f in findings] == [
        (2, 1, "`{% for %}` is not closed before `{% endif %}` on line 3"),
        (4, 1, "`{% endfor %}` has no matching `{% for %}`"),
        (5, 1, "`{% else %}` outside `{% if %}`, `{% for %}` or `{% ifchanged %}`"),
        (6, 1, "`{{` is not closed on its line"),
    ]
    assert {f.rule for f in findings} == {"syntax"}


def test_django_syntax_errors_are_located() -> None:
    [finding] = lint("ok\n  {% if a == %}x{% endif %}", LintOptions(html=False))
    assert (finding.rule, finding.line, finding.column, finding.message) == (
        "syntax",
        2,
        3,
        "Unexpected end of expression in if tag.",
    )
    [finding] = lint("{{ a|default }}", LintOptions(html=False))
    assert (finding.rule, finding.message) == ("syntax", "default requires 2 arguments, 1 provided")


def test_did_you_mean_for_tags() -> None:
    [finding] = lint("{% web_preview %}", LintOptions(html=False))
    assert finding.hint == "did you mean `web_view`?"
    [finding] = lint("{% unsubscribe_url %}", LintOptions(html=False))
    assert finding.hint == "did you mean `unsubscribe` or `unsubscribe_link`?"


def test_a_repeated_unknown_filter_is_reported_where_each_one_is() -> None:
    assert found("{{ a|titel }}\n{{ a|titel }}", html=False) == [("unknown-filter", 1, 6), ("unknown-filter", 2, 6)]


def test_verbatim_and_comments_are_not_template_syntax() -> None:
    assert (
        found("{% verbatim %}{{ a|titel }} {% if %}{% endverbatim %}{% comment %}{{ x|y }} {{{% endcomment %}", html=False) == []
    )


def test_transactional_templates_need_no_unsubscribe_link() -> None:
    assert found("<p>Your order</p>") == [("unsubscribe", 1, 1)]
    assert found("<p>Your order</p>", transactional=True) == []
    assert found('<a href="{% unsubscribe_link %}">u</a>') == []


def test_gmail_clipping_size() -> None:
    body = FOOTER + "<p>" + "x" * (102 * 1024) + "</p>"
    assert found(body) == [("html-size", 1, 1)]
    assert found(body[: 102 * 1024]) == []


def test_severities_can_be_changed_or_switched_off() -> None:
    findings = lint("<img src='a.png'>" + FOOTER, LintOptions(severities={"img-alt": "error"}))
    assert [(f.rule, f.severity) for f in findings] == [("img-alt", "error")]
    assert lint("<img src='a.png'>", LintOptions(severities={"img-alt": "off", "unsubscribe": "off"})) == []


def test_the_schema_names_every_rule() -> None:
    properties = manifest_schema()["properties"]["lint"]["properties"]
    assert list(properties) == list(RULES)
    for rule in RULES.values():
        assert f"Default {rule.severity}." in properties[rule.id]["description"]


def test_lint_severities_in_klaviyo_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "klaviyo.yaml": "version: 1\nlint:\n  img-alt: error\n  insecure-url: off\ntemplates:\n  - name: T\n    html: t.html\n",
        "t.html": f'<img src="http://x/a.png">{FOOTER}\n<a href="">x</a>\n',
    }
    write_project(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["validate"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        't.html:1:1: `<img>` without `alt` — add alt="…" describing the image (alt="" for a decorative one):'
        " many clients block images by default [img-alt]"
    ]
    (tmp_path / "klaviyo.yaml").write_text(files["klaviyo.yaml"].replace("img-alt: error", "img-alt: warning"), encoding="utf-8")
    result = run_cli(["validate"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        't.html:1:1: warning: `<img>` without `alt` — add alt="…" describing the image (alt="" for a decorative one):'
        " many clients block images by default [img-alt]",
        "t.html:2:4: warning: empty `href` — link somewhere, or remove the `<a>`'s href [empty-href]",
        "Valid: 1 manifest file, 0 tag groups, 0 tags, 0 lists, 1 template; 2 warnings.",
    ]
    warnings = json.loads(run_cli(["validate", "--format", "json"]).stdout)
    assert [(w["rule"], w["severity"], w["line"]) for w in warnings] == [("img-alt", "warning", 1), ("empty-href", "warning", 2)]
    github = run_cli(["validate", "--format", "github"]).stdout.splitlines()
    assert (
        github[1] == "::warning file=t.html,line=2,col=4::empty `href` — link somewhere, or remove the `<a>`'s href [empty-href]"
    )


def test_an_unknown_rule_or_severity_in_klaviyo_yaml_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"klaviyo.yaml": "version: 1\nlint:\n  img-alts: error\n  empty-href: loud\n"})
    monkeypatch.chdir(tmp_path)
    result = run_cli(["validate"])
    assert result.exit_code == 1
    assert "klaviyo.yaml:3:3:" in result.stdout and "img-alts" in result.stdout
    assert "klaviyo.yaml:4:15:" in result.stdout and "loud" in result.stdout


@pytest.mark.timeout(60)  # a hang guard only: the time itself is measured by the benchmark
def test_lint_of_huge_templates_finishes() -> None:
    assert found("<p>Hi {{ first_name }}</p>\n" * 160_000, severities={"html-size": "off", "unsubscribe": "off"}) == []
    nested = "{% if a %}" * 100_000 + "x" + "{% endif %}" * 100_000
    assert found(nested, html=False) == [("syntax", 1, 1001)]


def test_the_language_package_is_a_leaf() -> None:
    """The emulator and the engine both use it, so it imports nothing else of klaviyo_sync."""
    import subprocess
    import sys

    code = "import sys, klaviyo_sync.language; print(sorted(m for m in sys.modules if m.startswith('klaviyo_sync')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert [m for m in eval(loaded) if m != "klaviyo_sync" and not m.startswith("klaviyo_sync.language")] == []


def test_url_attributes_are_found_as_a_search_of_each_pattern_would_find_them() -> None:
    """The attributes are looked for with `str.find`; every match, and only those, of each pattern's `finditer`."""
    from klaviyo_sync.language.html_rules import _URL_ATTRIBUTES, _url_attributes

    pieces = ["href", "src", "background", "=", " ", '"', "'", ">", "<a ", "x", "hrefsrc", "\n", "\t"]
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        found = [(m.start(), m.end(), m.groups()) for m in _url_attributes(text)]
        expected = [(m.start(), m.end(), m.groups()) for p in _URL_ATTRIBUTES.values() for m in p.finditer(text)]
        assert found == expected, text

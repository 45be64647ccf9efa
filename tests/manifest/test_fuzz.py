"""Mutated manifests thrown at the loader: it only ever raises ManifestError with located problems that each say
how to fix them, and never reads outside the project.

Mutations insert YAML punctuation, cut and duplicate lines, and splice in hostile lines (paths out of the project,
symlinks out, alias bombs, python tags, include globs climbing out or walking symlink loops). An audit hook
records every file and directory the loader opens while it runs. Hangs are caught by the suite's per-test timeout.

In the suite (and CI) the examples are the fixed, derandomized set of the `repeatable` profile (tests/conftest.py).
A longer search, run by hand before a release:

    FUZZ_EXAMPLES=20000 HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/manifest/test_fuzz.py -q \
        -p no:cacheprovider --timeout 3600
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klaviyo_sync.errors import ManifestError
from klaviyo_sync.manifest import load_project
from klaviyo_sync.redaction import RedactingStream
from tests.manifest.helpers import HTML, write_project

BASE_FILES = {
    "klaviyo.yaml": """\
version: 1
include: [manifests/*.yaml]
vars: {ENV: staging}
prune: {templates: true}
ignore: {templates: ["Draft *"]}
tag_groups:
  - name: Lifecycle
    tags: [Welcome, {name: VIP, renamed_from: Top}]
  - name: Channel
    exclusive: true
    tags: [Email, SMS]
""",
    "manifests/lists.yaml": """\
lists:
  - name: Newsletter ${ENV}
    opt_in_process: double_opt_in
    tags: {Lifecycle: [Welcome], Channel: Email}
  - &vip
    name: VIP
    renamed_from: [Top Customers]
""",
    "manifests/templates.yaml": """\
templates:
  - name: Welcome
    html: ../templates/welcome.html
    text: ../templates/welcome.txt
  - name: Welcome FR
    clone_from: Welcome
  - name: Drag
    editor_type: SYSTEM_DRAGGABLE
    definition: ../templates/drag.json
""",
    "manifests/flows.yaml": """\
flows:
  - name: Welcome Series
    emails:
      - {name: "Email #1", template: Welcome, subject_line: Hi, status: live}
      - name: "Email #2"
        html: ../templates/welcome.html
        text: ../templates/welcome.txt
        cc_email: null
""",
    "templates/welcome.html": HTML,
    "templates/welcome.txt": "Hi {{ first_name }}\n",
    "templates/drag.json": '{"body": {}, "styles": {}}',
    "templates/deep.json": '{"body": {"sections": [' + '{"a": ' * 5000 + "1" + "}" * 5000 + ']}, "styles": []}',
    "templates/deep.yaml": "body: " + "[" * 5000 + "]" * 5000 + "\nstyles: []\n",
}

HOSTILE_LINES = [
    "    html: ../../outside/secret.html",
    "    html: {outside}/secret.html",
    "    html: ../templates/link.html",
    "    text: ../templates/linkdir/secret.html",
    "include: ['../outside/*.yaml', '../**/*.yaml', '/**/*.yaml']",
    "include: [templates/linkdir/*.yaml]",
    "a: &a [*a]",
    "x: !!python/object/apply:os.system ['echo hi']",
    "  - name: ${KLAVIYO_API_KEY}",
    "  - name: ${MISSING",
    "  - <<: *vip",
    "    definition: ../templates/welcome.html",
    "    clone_from: Welcome FR",
    "lol: &l [x, x, x, x, x, x, x, x, x, x]",
    "lol2: &m [*l, *l, *l, *l, *l, *l, *l, *l, *l, *l]",
    "lol3: [*m, *m, *m, *m, *m, *m, *m, *m, *m, *m, *m, *m]",
    "\t- tab",
    "version: 1\n---\nversion: 1",
    "key: \x00",
    "templates: 5",
    "  - {% if x %}",
    '    html: "a\\0b.html"',
    "    html: " + "x" * 300 + ".html",
    '    text: "dir/' + "y" * 256 + '/t.txt"',
    '  - name: "lone \\ud800 surrogate"',
    '    html: "bad\\udc80.html"',
    "include: ['" + "z" * 300 + "/*.yaml']",
    "include: ['in\\0c/*.yaml']",
    "    definition: ../templates/deep.json",
    "    definition: ../templates/deep.yaml",
    "  max_delete_fraction: .nan",
    "safety: {max_delete_fraction: .nan, max_update_fraction: .inf, min_existing: .inf}",
]
HOSTILE_PATHS = [
    "../../outside/secret.html",
    "{outside}/secret.html",
    "../templates/link.html",
    "../templates/linkdir/secret.html",
    "../templates/linkdir/../linkdir/secret.html",
    "../templates/../../outside/secret.html",
    "..\\..\\outside\\secret.html",
    "C:/outside/secret.html",
    "../templates",
    "",
    "a\0b.html",
    "x" * 300 + ".html",
    "../templates/deep.json",
]
HOSTILE_INCLUDES = ["../outside/*.yaml", "../**/*.yaml", "{outside}/*.yaml", "templates/linkdir/*.yaml", "**/*.yaml", "**"]
PUNCTUATION = st.text(alphabet=list(":-[]{}&*!|>'\"#%@`,?\n\t \\$ABab01~<=."), max_size=12)

SECRET_MARKER = "outside-secret-content-5e1d"
SECRET_HTML = f"<html><body><p>{SECRET_MARKER}</p></body></html>\n"

_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], str | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("fuzz")
    outside = write_project(base / "outside", {"secret.html": SECRET_HTML, "evil.yaml": "lists: [{name: Evil}]\n"})
    project = base / "project"
    project.mkdir()
    return project, outside


def _reset(project: Path, outside: Path, files: dict[str, str]) -> None:
    for path in sorted(project.rglob("*"), reverse=True):
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            path.rmdir()
    write_project(project, files)
    (project / "templates" / "link.html").symlink_to(outside / "secret.html")
    (project / "templates" / "linkdir").symlink_to(outside, target_is_directory=True)
    for name in ("loop", "again"):  # symlinks back up: a `**` include must neither hang nor read a file twice
        (project / "manifests" / name).symlink_to(project, target_is_directory=True)


mutation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10_000), PUNCTUATION),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 40)),
    st.tuples(st.just("line"), st.integers(0, 100), st.sampled_from(HOSTILE_LINES)),
    st.tuples(st.just("dup"), st.integers(0, 100), st.integers(0, 100)),
    st.tuples(st.just("path"), st.integers(0, 10), st.sampled_from(HOSTILE_PATHS)),
    st.tuples(st.just("include"), st.just(0), st.sampled_from(HOSTILE_INCLUDES)),
)


def _mutate(text: str, op: tuple[Any, ...], outside: Path) -> str:
    kind = op[0]
    if kind == "insert":
        at = op[1] % (len(text) + 1)
        return text[:at] + op[2] + text[at:]
    if kind == "delete":
        at = op[1] % (len(text) + 1)
        return text[:at] + text[at + op[2] :]
    if kind == "path":  # point one file reference somewhere hostile
        references = list(re.finditer(r"(html|text|definition): (\S+)", text))
        if not references:
            return text
        found = references[op[1] % len(references)]
        return text[: found.start(2)] + op[2].replace("{outside}", str(outside)) + text[found.end(2) :]
    if kind == "include":
        return text.replace("manifests/*.yaml", op[2].replace("{outside}", str(outside)))
    lines = text.split("\n")
    if kind == "line":
        lines.insert(op[1] % (len(lines) + 1), op[2].replace("{outside}", str(outside)))
    else:
        lines.insert(op[1] % (len(lines) + 1), lines[op[2] % len(lines)])
    return "\n".join(lines)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(["klaviyo.yaml", "manifests/lists.yaml", "manifests/templates.yaml"]),
    ops=st.lists(mutation, min_size=1, max_size=4),
)
def test_mutated_manifests_only_raise_manifest_error(sandbox: tuple[Path, Path], target: str, ops: list[tuple[Any, ...]]) -> None:
    global _opened
    project, outside = sandbox
    files = dict(BASE_FILES)
    for op in ops:
        files[target] = _mutate(files[target], op, outside)
    _reset(project, outside, files)
    _opened = []
    try:
        load_project(project, environ={"PATH": "/usr/bin"})
    except ManifestError as exc:
        assert exc.problems, "a ManifestError always carries its problems"
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert problem.message and problem.hint, f"every problem says what is wrong and how to fix it: {problem}"
            # Problems may name a path (even a hostile one), never the content of a file outside the project.
            assert SECRET_MARKER not in problem.message and SECRET_MARKER not in (problem.hint or "")
        # The text the CLI prints can always be printed, whatever characters the manifests held.
        stream = RedactingStream(io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict"))
        stream.write(str(exc) + "\n")
        stream.close_pending()
    finally:
        opened, _opened = _opened, None
    escaped = [path for path in opened if Path(path).resolve().is_relative_to(outside.resolve())]
    assert escaped == [], f"read outside the project: {escaped}"


def test_the_unmutated_fuzz_base_is_valid(sandbox: tuple[Path, Path]) -> None:
    project, outside = sandbox
    _reset(project, outside, dict(BASE_FILES))
    assert len(load_project(project, environ={}).state) > 0

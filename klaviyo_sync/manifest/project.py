"""`load_project`: a project directory -> the desired State, with every problem found reported at once."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klaviyo_sync.errors import ManifestError, Problem
from klaviyo_sync.kinds import SECTIONS
from klaviyo_sync.language import RULES, LintOptions
from klaviyo_sync.manifest.checks import check_all
from klaviyo_sync.manifest.declarations import Declared, declare
from klaviyo_sync.manifest.flows import bind_templates
from klaviyo_sync.manifest.includes import expand_includes
from klaviyo_sync.manifest.paths import relative
from klaviyo_sync.manifest.profiles import Profile, load_profiles, project_profiles
from klaviyo_sync.manifest.schema import schema_problems
from klaviyo_sync.manifest.templates import ReferencedFile, check_structure, lint_file, load_definition, read_referenced
from klaviyo_sync.manifest.variables import default_problems, resolve_values, substitute
from klaviyo_sync.manifest.yamlfile import MAX_FILE_BYTES, YamlDocument, decode_utf8, parse_yaml
from klaviyo_sync.resources import Kind, Origin, State

ROOT_FILE_NAMES = ("klaviyo.yaml", "klaviyo.yml")


@dataclass(frozen=True)
class Thresholds:
    """Plan safety: refuse to update or delete more than these fractions of a kind once it has `min_existing` objects,
    and to remove lists holding more than `max_profiles_affected` profiles in all (None: no such limit)."""

    update_fraction: float = 0.30
    delete_fraction: float = 0.30
    min_existing: int = 10
    max_profiles_affected: int | None = None
    # Where klaviyo.yaml sets them, so a refusal points there: "safety" (the section) and each key it sets.
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # The schema refuses these with a located problem; this guards every other way a Thresholds is made,
        # since a NaN fraction compares false with everything and would switch the check off.
        for name in ("update_fraction", "delete_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"{name} must be a finite number between 0 and 1, not {value!r}")
        for name in ("min_existing", "max_profiles_affected"):
            value = getattr(self, name)
            if not (value is None and name == "max_profiles_affected") and not _whole(value):
                raise ValueError(f"{name} must be a whole number of at least 0, not {value!r}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass
class Project:
    root: Path
    state: State
    prune: dict[Kind, bool]
    ignore: dict[Kind, tuple[str, ...]]
    thresholds: Thresholds = field(default_factory=Thresholds)
    file_hashes: dict[str, str] = field(default_factory=dict)  # project-relative posix path -> sha256
    manifest_files: tuple[str, ...] = ()  # project-relative, root file first
    # HTML files whose element-structure check was deferred (load_project(defer_html_checks=True)), each with
    # the text that check reads.
    unchecked_html: tuple[tuple[ReferencedFile, str], ...] = ()
    # Lint findings under the `warning` severity, by template name (other kinds: by address): shown by validate,
    # and by plan and the PR comment for the objects a plan writes; they fail nothing.
    template_warnings: dict[str, tuple[Problem, ...]] = field(default_factory=dict)
    # `preview` samples: the project's (klaviyo.yaml `preview.profiles`), and templates' own (`profiles:`).
    profiles: tuple[Profile, ...] = ()
    template_profiles: dict[str, tuple[Profile, ...]] = field(default_factory=dict)

    @property
    def warnings(self) -> list[Problem]:
        every = {warning for warnings in self.template_warnings.values() for warning in warnings}
        return sorted(every, key=lambda p: (p.file, p.line, p.column, p.message))

    def check_deferred_html(self, live: State) -> None:
        """Run the deferred structure checks on every HTML file that differs from every live object's HTML.

        HTML identical to a live template's or block's is already in the account, so its check (by far the slowest part of
        loading a large project) cannot change what a plan does; `validate` always checks every file.
        """
        # A set of the texts themselves: Python hashes each string once, faster than a digest of its bytes would.
        live_html = {r.attrs.get("html") or "" for r in live if "html" in r.kind.spec.fields}
        problems = [
            problem
            for file, first_branch in self.unchecked_html
            if file.text not in live_html
            for problem in check_structure(file, first_branch)
        ]
        if problems:
            raise _manifest_error(problems)


def find_root_file(path: Path) -> Path:
    """The root manifest: `path` itself if it is a file, else klaviyo.yaml (or .yml) inside it."""
    if path.is_file():
        return path
    if path.is_dir():
        for name in ROOT_FILE_NAMES:
            if (path / name).is_file():
                return path / name
        problem = Problem(str(path), 1, 1, f"no klaviyo.yaml in {path}", "run in the project directory or pass its path")
    else:
        problem = Problem(str(path), 1, 1, f"{path} does not exist", "pass the project directory or its klaviyo.yaml")
    raise ManifestError("no project found", [problem])


def load_project(
    path: Path,
    variables: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    defer_html_checks: bool = False,
) -> Project:
    """Load and check every manifest and referenced file under the project; raise ManifestError with all problems.

    With `defer_html_checks`, templates' HTML element structure is checked later, by
    `Project.check_deferred_html`, once the live account shows which files are unchanged.
    """
    written = find_root_file(Path(path))
    root = written.parent.resolve()
    root_file = root / written.name
    if not root_file.resolve().is_relative_to(root):
        problem = Problem(
            written.name,
            1,
            1,
            f"{written.name} is a symlink to a file outside its directory ({root_file.resolve()})",
            "run on the directory that holds the real file, or copy it here: file paths and includes are relative to it",
        )
        raise ManifestError("no project found", [problem])
    reader = _ProjectReader(
        root, dict(os.environ if environ is None else environ), dict(variables or {}), defer_html_checks=defer_html_checks
    )
    return reader.load(root_file)


class _ProjectReader:
    def __init__(self, root: Path, environ: dict[str, str], cli_vars: dict[str, str], *, defer_html_checks: bool) -> None:
        self.root = root
        self.environ = environ
        self.cli_vars = cli_vars
        self.defer_html_checks = defer_html_checks
        self.problems: list[Problem] = []
        self.file_hashes: dict[str, str] = {}
        self.unchecked_html: list[tuple[ReferencedFile, str]] = []
        self.template_warnings: dict[str, tuple[Problem, ...]] = {}
        self.template_profiles: dict[str, tuple[Profile, ...]] = {}
        self.severities: dict[str, str] = {}

    def fail(self) -> ManifestError:
        return _manifest_error(self.problems)

    def read_manifest(self, path: Path) -> YamlDocument | None:
        rel = relative(self.root, path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                self.problems.append(
                    Problem(
                        rel,
                        1,
                        1,
                        f"the file is {size:,} bytes; manifests are limited to {MAX_FILE_BYTES:,}",
                        "split it with include:",
                    )
                )
                return None
            raw = path.read_bytes()
        except OSError as exc:
            self.problems.append(Problem(rel, 1, 1, f"cannot read the file: {exc.strerror}", "check its permissions"))
            return None
        self.file_hashes[rel] = hashlib.sha256(raw).hexdigest()
        text, problems = decode_utf8(raw, rel)
        self.problems += problems
        if text is None:
            return None
        doc, problems = parse_yaml(text, rel)
        self.problems += problems
        return doc

    def load(self, root_file: Path) -> Project:
        root_doc = self.read_manifest(root_file)
        if root_doc is None:
            raise self.fail()
        root_data = root_doc.data if isinstance(root_doc.data, dict) else {}
        defaults = root_data.get("vars") if isinstance(root_data.get("vars"), dict) else {}
        values = resolve_values(
            self.cli_vars, self.environ, {k: v for k, v in defaults.items() if isinstance(v, str | int | float)}
        )
        self.problems += default_problems(root_doc)
        self.problems += substitute(root_doc, values, skip=("vars",))
        self.problems += schema_problems(root_doc, is_root=True)
        docs = [root_doc]
        included, problems = expand_includes(self.root, root_file, root_doc)
        self.problems += problems
        for path in included:
            doc = self.read_manifest(path)
            if doc is None:
                continue
            self.problems += substitute(doc, values)
            self.problems += schema_problems(doc, is_root=False)
            docs.append(doc)
        self.severities = _severities(root_data)
        declared = [item for doc in docs for item in declare(doc)]
        for item in declared:
            if item.files:
                self.attach_files(item)
            if item.profiles:
                own, problems = load_profiles(self.root, item.doc, (*item.path, "profiles"), item.profiles)
                self.problems += problems
                self.template_profiles[item.resource.key[0]] = tuple(own)
        self.problems += bind_templates(declared)
        preview = root_data.get("preview") if isinstance(root_data.get("preview"), dict) else {}
        profiles, problems = project_profiles(self.root, root_doc, preview.get("profiles") or [])
        self.problems += problems
        ignore = _ignore(root_data)
        self.problems += check_all(declared, ignore)
        if self.problems:
            raise self.fail()
        state = State(item.resource for item in declared)
        return Project(
            root=self.root,
            state=state,
            prune={kind: root_data.get("prune", {}).get(key) is True for key, kind in SECTIONS.items()}
            if isinstance(root_data.get("prune"), dict)
            else dict.fromkeys(SECTIONS.values(), False),
            ignore=ignore,
            thresholds=_thresholds(root_doc),
            file_hashes=dict(sorted(self.file_hashes.items())),
            manifest_files=tuple(doc.file for doc in docs),
            unchecked_html=tuple(self.unchecked_html),
            template_warnings=self.template_warnings,
            profiles=tuple(profiles),
            template_profiles=self.template_profiles,
        )

    def attach_files(self, item: Declared) -> None:
        """Read the object's html/text/definition files into its attrs, checking each."""
        attrs: dict[str, Any] = dict(item.resource.attrs)
        for field_name, reference in item.files.items():
            file, problems = read_referenced(self.root, item.doc, (*item.path, field_name), reference, f"{field_name} file")
            self.problems += problems
            if file is None:
                continue
            self.file_hashes[file.rel] = file.sha256
            if field_name in ("html", "text"):
                options = LintOptions(html=field_name == "html", transactional=item.transactional, severities=self.severities)
                checked = lint_file(file, options)
                self.problems += checked.errors
                name = item.resource.key[0] if item.resource.kind is Kind.TEMPLATE else item.resource.address
                self.template_warnings[name] = (*self.template_warnings.get(name, ()), *checked.warnings)
                if field_name == "html" and file.text.strip():
                    if self.defer_html_checks:
                        self.unchecked_html.append((file, checked.first_branch))
                    else:
                        self.problems += check_structure(file, checked.first_branch)
                attrs[field_name] = file.text
            else:
                check = item.resource.kind.spec.check_definition
                assert check is not None, "a kind with a definition file checks its content"
                definition, problems = load_definition(file, check)
                self.problems += problems
                if definition is not None:
                    attrs["definition"] = definition
        item.resource = item.resource.with_(attrs=attrs)


def _ignore(root_data: dict[str, Any]) -> dict[Kind, tuple[str, ...]]:
    section = root_data.get("ignore") if isinstance(root_data.get("ignore"), dict) else {}
    result: dict[Kind, tuple[str, ...]] = {}
    for key, kind in SECTIONS.items():
        value = section.get(key)
        if isinstance(value, str):
            result[kind] = (value,)
        elif isinstance(value, list):
            result[kind] = tuple(item for item in value if isinstance(item, str))
        else:
            result[kind] = ()
    return result


def _severities(root_data: dict[str, Any]) -> dict[str, str]:
    """`lint:` in klaviyo.yaml: rule id -> error | warning | off (the schema has checked the names and values)."""
    section = root_data.get("lint") if isinstance(root_data.get("lint"), dict) else {}
    return {rule: severity for rule, severity in section.items() if rule in RULES and isinstance(severity, str)}


def _thresholds(root_doc: YamlDocument) -> Thresholds:
    root_data = root_doc.data if isinstance(root_doc.data, dict) else {}
    section = root_data.get("safety") if isinstance(root_data.get("safety"), dict) else {}
    defaults = Thresholds()
    origins = {
        name: Origin(root_doc.file, *root_doc.key_marks[path])
        for name, path in [("safety", ("safety",)), *((key, ("safety", key)) for key in section)]
        if path in root_doc.key_marks
    }
    return Thresholds(
        update_fraction=float(section.get("max_update_fraction", defaults.update_fraction)),
        delete_fraction=float(section.get("max_delete_fraction", defaults.delete_fraction)),
        min_existing=int(section.get("min_existing", defaults.min_existing)),
        max_profiles_affected=None if section.get("max_profiles_affected") is None else int(section["max_profiles_affected"]),
        origins=origins,
    )


def _manifest_error(problems: Iterable[Problem]) -> ManifestError:
    ordered = sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.message))
    count = f"{len(ordered)} problem" + ("s" if len(ordered) != 1 else "")
    return ManifestError(f"the manifests have {count}", ordered)

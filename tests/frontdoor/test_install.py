"""The CI examples install klaviyo-sync from this repository at the release tag, and those installs work.

No release is published on PyPI, so `pip install klaviyo-sync==…` cannot work. GitHub workflows use the composite
action (action.yml: `uses: OWNER/REPO@TAG`, which installs the action's own checkout); GitLab installs the tag's
source archive. The repository's address has one home, pyproject.toml's `[project.urls] Repository`; the tag is
`v` + the package version.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from klaviyo_sync import __version__
from tests.frontdoor import ci_files
from tests.frontdoor.loopback import serving
from tests.frontdoor.source_tree import copy_source

TAG = f"v{__version__}"
REPOSITORY = tomllib.loads((ci_files.REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Repository"]
OWNER_NAME = REPOSITORY.removeprefix("https://github.com/")
ARCHIVE = f"{REPOSITORY}/archive/refs/tags/{TAG}.tar.gz"
# Every `pip install` a user may copy: what follows it, up to the end of the line or a quote that closes the step.
_PIP_INSTALL = re.compile(r"pip install ([^\n`]*)")


def _gitlab_install_lines() -> list[str]:
    pipeline = ci_files.load(ci_files.GITLAB)
    variables = {k: str(v) for k, v in pipeline["variables"].items()}
    lines = [*pipeline.get("default", {}).get("before_script", [])]
    lines += [line for _, script, _ in ci_files.gitlab_scripts(ci_files.GITLAB) for line in script]
    return [ci_files._expand(line, variables) for line in lines if "pip install" in line]


def test_repository_is_on_github_and_the_tag_follows_the_version() -> None:
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY), REPOSITORY
    version = tomllib.loads((ci_files.REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert f"v{version}" == TAG


def test_no_example_installs_from_pypi() -> None:
    """Each `pip install` in the CI examples and the README names a source that exists: a clone or this repository's tag."""
    files = [*sorted(p for p in ci_files.CI_DIR.rglob("*") if p.is_file()), ci_files.ACTION, ci_files.REPO / "README.md"]
    for path in files:
        for match in _PIP_INSTALL.finditer(path.read_text(encoding="utf-8")):
            words = [w for w in shlex.split(match.group(1), comments=True) if not w.startswith("-")]
            sources = [w.replace("${KLAVIYO_SYNC_TAG}", TAG) for w in words]
            assert sources in ([ARCHIVE], ["."], ["$GITHUB_ACTION_PATH"]), (
                f"{path.relative_to(ci_files.REPO)}: `pip install {match.group(1).strip()}` does not install from "
                f"this repository ({ARCHIVE} or a clone)"
            )


@pytest.mark.parametrize("path", ci_files.GITHUB_WORKFLOWS, ids=lambda p: p.name)
def test_github_workflows_install_through_the_action_at_the_tag(path: Path) -> None:
    steps = ci_files.load(path)["jobs"]
    for job in steps.values():
        uses = [step.get("uses", "") for step in job["steps"]]
        assert f"{OWNER_NAME}@{TAG}" in uses, f"{path.name}: no `uses: {OWNER_NAME}@{TAG}` step"
        install = uses.index(f"{OWNER_NAME}@{TAG}")
        first_call = next(i for i, step in enumerate(job["steps"]) if "klaviyo-sync " in step.get("run", ""))
        assert install < first_call, f"{path.name}: klaviyo-sync runs before the step that installs it"
        assert not any("pip install" in step.get("run", "") for step in job["steps"]), f"{path.name}: installs with pip"


def test_the_action_installs_its_own_checkout() -> None:
    action = ci_files.load(ci_files.ACTION)
    assert action["runs"]["using"] == "composite"
    (install,) = [step for step in action["runs"]["steps"] if "run" in step]
    assert 'pip install --disable-pip-version-check --quiet "$GITHUB_ACTION_PATH"' in install["run"]
    assert install["shell"] == "bash"


def test_gitlab_installs_the_tagged_source_archive() -> None:
    (line,) = _gitlab_install_lines()
    assert shlex.split(line) == ["pip", "install", "--quiet", ARCHIVE]


def test_pre_commit_remote_hook_names_this_repository_at_the_tag() -> None:
    text = ci_files.PRE_COMMIT_CONFIG.read_text(encoding="utf-8")
    assert f"# - repo: {REPOSITORY}\n" in text and f"#   rev: {TAG}\n" in text


# --- the install lines, run ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """This source tree as GitHub serves a tag's archive (one top folder), at the same path on a loopback server;
    also yields the unpacked source, as the action's checkout."""
    root = tmp_path_factory.mktemp("install")
    source = root / "checkout"
    copy_source(source)
    served = root / "served" / OWNER_NAME / "archive" / "refs" / "tags"
    served.mkdir(parents=True)
    with tarfile.open(served / f"{TAG}.tar.gz", "w:gz") as archive:
        archive.add(source, arcname=f"{OWNER_NAME.rsplit('/', 1)[1]}-{TAG.removeprefix('v')}")
    with serving(functools.partial(_QuietHandler, directory=str(root / "served"))) as base_url:
        yield base_url, source


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _fresh_python(where: Path) -> dict[str, str]:
    """A new virtual environment's python first on the PATH, as the runner's setup-python (or image) provides one."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return env | {"PATH": f"{where / 'bin'}{os.pathsep}{env['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _installed_from(venv: Path, env: dict[str, str]) -> str:
    """Where the environment's klaviyo-sync was installed from (pip's direct_url.json), once it runs from there."""
    version = _bash("klaviyo-sync --version", env, venv)
    assert version.stdout.strip() == f"klaviyo-sync, version {__version__}", version.stdout + version.stderr
    where = _bash("python -c 'import klaviyo_sync; print(klaviyo_sync.__file__)'", env, venv)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    (record,) = (venv / "lib").glob("python3*/site-packages/klaviyo_sync-*.dist-info/direct_url.json")
    url: str = json.loads(record.read_text())["url"]
    return url


def test_the_action_installs_a_working_klaviyo_sync(archive_server: tuple[str, Path], tmp_path: Path) -> None:
    _, checkout = archive_server
    env = _fresh_python(tmp_path / "venv")
    (step,) = [s for s in ci_files.load(ci_files.ACTION)["runs"]["steps"] if "run" in s]
    action = _bash(step["run"], {**env, "GITHUB_ACTION_PATH": str(checkout)}, tmp_path)
    assert action.returncode == 0, action.stdout + action.stderr[-3000:]
    assert action.stdout.strip().endswith(f"klaviyo-sync, version {__version__}")
    assert _installed_from(tmp_path / "venv", env) == checkout.as_uri()


def test_the_gitlab_line_installs_a_working_klaviyo_sync(archive_server: tuple[str, Path], tmp_path: Path) -> None:
    """GitLab's line as written, with the archive served on loopback in place of github.com."""
    base_url, _ = archive_server
    env = _fresh_python(tmp_path / "venv")
    (line,) = _gitlab_install_lines()
    gitlab = _bash(line.replace("https://github.com", base_url), env, tmp_path)
    assert gitlab.returncode == 0, gitlab.stderr[-3000:]
    assert _installed_from(tmp_path / "venv", env) == ARCHIVE.replace("https://github.com", base_url)

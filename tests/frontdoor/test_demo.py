"""`scripts/demo` as a newcomer runs it: plan, apply and plan again on the emulator, then again after an edit.

The script runs for real (bash, its own `.venv/bin/klaviyo-sync`), in a copy of the files it uses. Its `.venv`
is a fresh virtual environment that sees this environment's packages, so the script's install step has
nothing to do and the test needs no package index; the install itself is proven by the wheel test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.canary import find_canary

REPO = Path(__file__).resolve().parents[2]


def _fresh_checkout(root: Path) -> Path:
    checkout = root / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "demo", checkout / "scripts" / "demo")
    shutil.copytree(REPO / "examples" / "shop", checkout / "examples" / "shop")
    shutil.copy2(REPO / "pyproject.toml", checkout / "pyproject.toml")
    return checkout


def _reuse_this_environment(checkout: Path) -> None:
    """A `.venv` whose Python imports from this environment, with the console script the demo calls."""
    venv = checkout / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = sysconfig.get_paths()["purelib"]
    ours = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # `import` lines in a .pth run at start-up; addsitedir also reads that directory's own .pth files
    # (the editable install of this checkout).
    Path(ours, "reuse.pth").write_text(f"import site; site.addsitedir({purelib!r})\n", encoding="utf-8")
    script = venv / "bin" / "klaviyo-sync"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nfrom klaviyo_sync.cli import main\nmain()\n", encoding="utf-8")
    script.chmod(0o755)
    (venv / ".klaviyo-sync-installed").touch()  # newer than pyproject.toml: nothing to install


def _demo(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "KLAVIYO_BASE_URL")}
    result = subprocess.run(["./scripts/demo", *args], cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert not find_canary(result.stdout + result.stderr)
    return result


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    checkout = _fresh_checkout(tmp_path)
    _reuse_this_environment(checkout)
    return checkout


def test_demo_plans_applies_and_converges_then_shows_an_edit(checkout: Path) -> None:
    first = _demo(checkout)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "Installing" not in out
    assert out.index("$ klaviyo-sync validate") < out.index("$ klaviyo-sync plan") < out.index("$ klaviyo-sync apply")
    assert "Plan: 26 to create, 2 to update, 0 to delete." in out
    # The welcome flow (seeded as built in Klaviyo's flow editor) follows the templates the plan creates.
    assert 'flow_email["Welcome Series"/"Welcome 1"] is live: this change reaches the inbox' in out
    assert 'follows template "Welcome 1 - Hello", which this plan changes' in out
    assert out.count('# template["Abandoned Cart"] will be created') == 1, "the plan is shown once, then applied as saved"
    assert "Apply complete: 26 created, 2 updated, 0 deleted." in out
    assert out.rstrip().endswith("edit examples/shop and run ./scripts/demo again.")
    assert "No changes. The account matches the manifests." in out
    assert (checkout / ".klaviyo-sync" / "emulator-state.json").is_file()
    assert (checkout / ".klaviyo-sync" / "demo-plan.json").is_file()

    again = _demo(checkout)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout and "Nothing to apply" in again.stdout
    assert "$ klaviyo-sync apply" not in again.stdout

    welcome = checkout / "examples" / "shop" / "templates" / "welcome-1.html"
    text = welcome.read_text(encoding="utf-8")
    assert "Welcome to Acme" in text
    welcome.write_text(text.replace("Welcome to Acme", "A warm welcome to Acme"), encoding="utf-8")
    edited = _demo(checkout)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    # The template and the flow email that follows it: what customers receive changes too.
    assert "Plan: 0 to create, 2 to update, 0 to delete." in edited.stdout
    assert 'template["Welcome 1 - Hello"]' in edited.stdout and 'flow_email["Welcome Series"/"Welcome 1"]' in edited.stdout
    assert "Apply complete: 0 created, 2 updated, 0 deleted." in edited.stdout

    production = _demo(checkout, "--var", "KLAVIYO_ENV=production")
    assert production.returncode == 0, production.stdout + production.stderr
    assert 'list["QA Seed List (production)"]' in production.stdout


def test_demo_stops_on_an_invalid_example_before_touching_the_account(checkout: Path) -> None:
    lists = checkout / "examples" / "shop" / "manifests" / "lists.yaml"
    lists.write_text(
        lists.read_text(encoding="utf-8").replace("opt_in_process: double_opt_in", "opt_in: double"), encoding="utf-8"
    )
    result = _demo(checkout)
    assert result.returncode == 1
    assert "manifests/lists.yaml:" in result.stdout + result.stderr
    assert "$ klaviyo-sync plan" not in result.stdout
    assert not (checkout / ".klaviyo-sync" / "emulator-state.json").exists()


def test_demo_asks_for_python_311(tmp_path: Path) -> None:
    checkout = _fresh_checkout(tmp_path)
    old_python = tmp_path / "python3.9"
    old_python.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.9.18"\nexit 1\n', encoding="utf-8")
    old_python.chmod(0o755)
    result = subprocess.run(
        ["./scripts/demo"],
        cwd=checkout,
        env={**os.environ, "PYTHON": str(old_python)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "klaviyo-sync needs Python 3.11 or newer (found: Python 3.9.18)" in result.stderr
    assert not (checkout / ".venv").exists()

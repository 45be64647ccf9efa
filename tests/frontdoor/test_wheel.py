"""The package as users get it: build a wheel, install it into a fresh virtual environment, and use it.

Nothing from the source tree is importable there, so this proves that everything loaded at run time (schemas,
the spec's operation table, the emulator) really ships in the wheel, and that pyproject.toml names every
runtime dependency: they are resolved by pip from a wheelhouse of exactly those distributions, offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.frontdoor.source_tree import copy_source
from tests.frontdoor.wheelhouse import build_wheelhouse
from tests.support.canary import find_canary

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert not find_canary(result.stdout + result.stderr), f"the API key leaked from {args}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with the built wheel installed; returns its bin directory and a clean env."""
    root = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    copy_source(root / "src")
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(root / "dist"), str(root / "src")], root, env
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (root / "dist").glob("klaviyo_sync-*.whl")

    build_wheelhouse("klaviyo-sync", root / "wheelhouse")
    venv = root / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], root, env)
    assert created.returncode == 0, created.stderr
    install = _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(root / "wheelhouse"),
            str(wheel),
        ],
        root,
        env,
    )
    assert install.returncode == 0, (
        f"installing the wheel failed (a runtime dependency missing from pyproject.toml?):\n{install.stderr[-3000:]}"
    )
    return venv / "bin", env


def test_wheel_ships_its_data_files(installed: tuple[Path, dict[str, str]]) -> None:
    bin_dir, _ = installed
    (wheel,) = (bin_dir.parent.parent / "dist").glob("klaviyo_sync-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "klaviyo_sync/schemas/klaviyo.schema.json",
        "klaviyo_sync/schemas/plan.schema.json",
        "klaviyo_sync/data/operations.json",
    ):
        assert needed in names, f"{needed} is not in the wheel"
    source_modules = {
        path.relative_to(REPO).as_posix() for path in (REPO / "klaviyo_sync").rglob("*.py") if "__pycache__" not in path.parts
    }
    missing = sorted(source_modules - names)
    assert not missing, f"modules missing from the wheel (add their packages to pyproject.toml): {missing}"


def test_installed_package_runs_the_quickstart(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    bin_dir, env = installed
    cli = str(bin_dir / "klaviyo-sync")
    shutil.copytree(REPO / "examples" / "shop", tmp_path / "shop")

    where = _run([str(bin_dir / "python"), "-c", "import klaviyo_sync; print(klaviyo_sync.__file__)"], tmp_path, env)
    assert where.stdout.strip().startswith(str(bin_dir.parent)), f"imported from outside the fresh venv: {where.stdout}"

    help_text = _run([cli, "--help"], tmp_path, env)
    assert help_text.returncode == 0 and "Usage: klaviyo-sync" in help_text.stdout
    for command in ("validate", "plan", "apply", "export", "emulator"):
        assert _run([cli, command, "--help"], tmp_path, env).returncode == 0, command

    validate = _run([cli, "validate", "shop"], tmp_path, env)
    assert validate.returncode == 0, validate.stdout + validate.stderr

    emulator = ["--emulator", "--emulator-state", "state.json", "--emulator-seed", "shop/emulator-seed.yaml"]
    first = _run([cli, "plan", "shop", *emulator, "--detailed-exitcode", "--no-color"], tmp_path, env)
    assert first.returncode == 2, first.stdout + first.stderr
    assert 'template["Welcome 1 - Hello (FR)"]' in first.stdout or "Welcome 1 - Hello (FR)" in first.stdout

    apply = _run([cli, "apply", "shop", *emulator, "--auto-approve", "--no-color"], tmp_path, env)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "Apply complete:" in apply.stdout

    second = _run([cli, "plan", "shop", *emulator, "--detailed-exitcode", "--no-color"], tmp_path, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No changes." in second.stdout
    assert (tmp_path / "state.json").is_file()

    # Adopting the account that apply built: the export plans empty too.
    export = _run([cli, "export", "--out", "adopted", *emulator], tmp_path, env)
    assert export.returncode == 0, export.stdout + export.stderr
    adopted = _run([cli, "plan", "adopted", *emulator, "--detailed-exitcode", "--no-color"], tmp_path, env)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr

"""Offline wheels of klaviyo-sync's runtime dependencies, repacked from the distributions already installed here.

Installing the freshly built wheel into a clean virtual environment must resolve its dependencies for real (so a
dependency missing from pyproject.toml fails the test), without depending on a package index. Every installed
distribution lists its files in its RECORD; zipping those files back up with its dist-info gives a wheel pip can
install (`pip install --no-index --find-links WHEELHOUSE`). Scripts outside site-packages are left out: pip
writes console scripts again from entry_points.txt.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def runtime_closure(project: str) -> list[metadata.Distribution]:
    """The installed distributions `project` needs at run time (extras not requested are left out)."""
    environment = {k: str(v) for k, v in default_environment().items()}
    seen: dict[str, metadata.Distribution] = {}
    pending = [Requirement(r) for r in metadata.requires(project) or []]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        distribution = metadata.distribution(requirement.name)
        seen[name] = distribution
        pending.extend(Requirement(r) for r in distribution.requires or [])
    return [seen[name] for name in sorted(seen)]


def repack(distribution: metadata.Distribution, out_dir: Path) -> Path:
    """Write one wheel from an installed distribution's RECORD."""
    dist_info = Path(str(distribution._path))  # type: ignore[attr-defined]  # the dist-info directory
    site_packages = dist_info.parent
    tags = [line.split(":", 1)[1].strip() for line in (dist_info / "WHEEL").read_text().splitlines() if line.startswith("Tag:")]
    name = canonicalize_name(distribution.metadata["Name"]).replace("-", "_")
    wheel_path = out_dir / f"{name}-{distribution.version}-{_compressed_tag(tags or ['py3-none-any'])}.whl"
    record_name = f"{dist_info.name}/RECORD"
    rows = []
    with zipfile.ZipFile(wheel_path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for file in distribution.files or []:
            relative = file.as_posix()
            if relative.startswith("..") or "__pycache__" in relative or relative == record_name:
                continue
            source = site_packages / relative
            if not source.is_file():
                continue
            data = source.read_bytes()
            wheel.writestr(relative, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{relative},sha256={digest},{len(data)}")
        rows.append(f"{record_name},,")
        wheel.writestr(record_name, "\n".join(rows) + "\n")
    return wheel_path


def build_wheelhouse(project: str, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [repack(distribution, out_dir) for distribution in runtime_closure(project)]


def _compressed_tag(tags: list[str]) -> str:
    parts = [tag.split("-") for tag in tags]
    return "-".join(".".join(sorted({p[i] for p in parts})) for i in range(3))

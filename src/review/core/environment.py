"""The code version a result was built with: ``review`` version, git commit, library versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from review.paths import INSTALL_ROOT

#: The ``review`` package version (``review.__version__``; pyproject.toml says the same).
VERSION = "0.1.0"

#: Libraries whose versions go into the manifest and the provenance (distribution names).
MAIN_PACKAGES = (
    "campaign-review", "ibis-framework", "duckdb", "pandas", "numpy", "pyarrow", "scipy",
    "statsmodels", "matplotlib", "seaborn", "pydantic", "PyYAML", "papermill", "nbconvert",
    "nbformat", "nbclient", "ipykernel", "jupyter_client", "pyspark",
)


def package_versions(names: tuple[str, ...] = MAIN_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (missing ones left out) and of Python."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(root: Path = INSTALL_ROOT) -> str | None:
    """``git rev-parse HEAD`` of the code (the package's checkout by default, not the user's
    project), or ``None`` outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def environment_info() -> dict[str, Any]:
    """``review`` version, git commit and package versions (for manifest and appendix)."""
    return {"review_version": VERSION, "git_commit": git_commit(),
            "packages": package_versions()}

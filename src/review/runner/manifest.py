"""Provenance of a period's build: ``manifest.json`` and the inputs that decide a rebuild.

``manifest.json`` (one per period folder) holds the parameters (``source`` unresolved), the
fingerprints of every input (data source and its tables, ``review`` code, notebooks), the
``review`` version and git commit, the versions of the main libraries, and per section its
status (``executed`` now or ``reused`` from the previous build), duration and inputs key. It
is the only output with timestamps (``run.started``/``run.finished``): report bodies and
``metrics.json`` stay byte-identical between runs.

Incremental builds compare :class:`Inputs` with the previous manifest: a section is up to date
when its *inputs key* (params, data, code, its notebook) is unchanged and its files exist.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from review import paths
from review.runner.fingerprint import digest_json

if TYPE_CHECKING:
    from review.config import Params

MANIFEST = "manifest.json"
METRICS = "metrics.json"
REPORT = "report.html"
FORMAT_VERSION = 1

#: Libraries whose versions go into the manifest (distribution names).
MAIN_PACKAGES = (
    "campaign-review", "ibis-framework", "duckdb", "pandas", "numpy", "pyarrow", "scipy",
    "statsmodels", "matplotlib", "seaborn", "pydantic", "PyYAML", "papermill", "nbconvert",
    "nbformat", "nbclient", "ipykernel", "jupyter_client", "pyspark",
)


@dataclass(frozen=True)
class Inputs:
    """Fingerprints of everything a period's build depends on."""

    params_hash: str
    data: str
    code: str
    notebooks: dict[str, str]  # notebook stem → notebook_hash

    def section_key(self, stem: str) -> str:
        """The inputs key of one section: params, data, code and its own notebook."""
        return digest_json({"params": self.params_hash, "data": self.data, "code": self.code,
                            "notebook": self.notebooks[stem]})

    def to_json(self) -> dict[str, Any]:
        return {"params_hash": self.params_hash, "data": self.data, "code": self.code,
                "notebooks": dict(sorted(self.notebooks.items()))}


def params_hash(params: Params) -> str:
    """Fingerprint of the parameters as the notebooks receive them."""
    return digest_json(params.notebook_parameters())


def now() -> str:
    """The local time, to the second, with its UTC offset (manifest and state only)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def package_versions(names: tuple[str, ...] = MAIN_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (missing ones left out) and of Python."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(root: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the code (the package's checkout by default), or ``None``
    outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root or paths.INSTALL_ROOT,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def relative_to_project(path: Path) -> str:
    """``path`` relative to the project root when inside it, else as given."""
    try:
        return Path(path).resolve().relative_to(paths.PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def build_manifest(*, params: Params, params_file: Path, inputs: Inputs,
                   tables: dict[str, dict], sections: list[dict[str, Any]],
                   environment: dict[str, Any], started: str, finished: str,
                   duration_s: float) -> dict[str, Any]:
    """The content of ``manifest.json`` (see the module docstring)."""
    return {
        "format": FORMAT_VERSION,
        "period": params.period,
        "params_file": relative_to_project(params_file),
        "params": params.notebook_parameters(),
        "inputs": {**inputs.to_json(), "tables": tables},
        "sections": sections,
        "environment": environment,
        "run": {"started": started, "finished": finished, "duration_s": round(duration_s, 3)},
    }


def environment_info() -> dict[str, Any]:
    """``review`` version, git commit and package versions (for manifest and appendix)."""
    from review import __version__

    return {"review_version": __version__, "git_commit": git_commit(),
            "packages": package_versions()}


def write_json(path: Path, obj: Any) -> None:
    """Deterministic JSON: sorted keys, 2-space indent, UTF-8, trailing newline."""
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a period folder, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def provenance(params: Params, *, cache_dir: Path | None = None) -> dict[str, Any]:
    """Deterministic provenance of a period for the report's appendix (no timestamps).

    Returns the parameters (``source`` unresolved), the data source's fingerprint and its
    per-table row counts and checksums, the ``review`` code hash, version and git commit,
    and the package versions.
    """
    from review.cache import data_fingerprint, default_cache_dir
    from review.runner.fingerprint import code_hash, table_fingerprints

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    data_fp = data_fingerprint(params, cache_dir=cache)
    return {
        "params": params.notebook_parameters(),
        "data": data_fp,
        "tables": table_fingerprints(params.source, source_fp=data_fp,
                                     memo_dir=cache / "fingerprints"),
        "code": code_hash(),
        **environment_info(),
    }

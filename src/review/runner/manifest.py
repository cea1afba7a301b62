"""Provenance of a period's build: ``manifest.json`` and the inputs that decide a rebuild.

``manifest.json`` (one per period folder) holds the parameters (``source`` unresolved), the
fingerprints of every input (data source and its tables, ``review`` code, notebooks), the
``review`` version and git commit, the versions of the main libraries, and per section its
status (``executed`` now or ``reused`` from the previous build), duration and inputs key. It
is the only output with timestamps (``run.started``/``run.finished``): report bodies and
``metrics.json`` stay byte-identical between runs. The report's provenance appendix reads the
same fingerprints from the period's metrics (computed once with them by :mod:`review.cache`).

Incremental builds compare :class:`Inputs` with the previous manifest: a section is up to date
when its *inputs key* (params, data, code, its notebook) is unchanged and its files exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from review import paths
from review.core.environment import (  # noqa: F401  (re-exported for the runner)
    MAIN_PACKAGES,
    environment_info,
    git_commit,
    package_versions,
)
from review.core.files import atomic_write_json
from review.core.fingerprint import digest_json

if TYPE_CHECKING:
    from review.config import Params

MANIFEST = "manifest.json"
METRICS = "metrics.json"
REPORT = "report.html"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Inputs:
    """Fingerprints of everything a period's build depends on."""

    params_hash: str
    data: str
    code: str
    notebooks: dict[str, str]  # notebook stem → notebook_hash
    commentary: str = ""  # review.report.commentary.commentary_hash: report.html only

    def section_key(self, stem: str) -> str:
        """The inputs key of one section: params, data, code and its own notebook."""
        return digest_json({"params": self.params_hash, "data": self.data, "code": self.code,
                            "notebook": self.notebooks[stem]})

    def to_json(self) -> dict[str, Any]:
        return {"params_hash": self.params_hash, "data": self.data, "code": self.code,
                "notebooks": dict(sorted(self.notebooks.items())),
                "commentary": self.commentary}


def params_hash(params: Params) -> str:
    """Fingerprint of the parameters as the notebooks receive them."""
    return digest_json(params.notebook_parameters())


def now() -> str:
    """The local time, to the second, with its UTC offset (manifest and state only)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


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


def write_json(path: Path, obj: Any) -> None:
    """Deterministic JSON (sorted keys, 2-space indent, UTF-8, trailing newline), atomically."""
    atomic_write_json(path, obj)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a period folder, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

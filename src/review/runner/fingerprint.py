"""Fingerprints of a run's inputs: the data source, its tables, the ``review`` code, notebooks.

The runner compares them with the previous run's manifest to skip unchanged periods. The
hashing itself lives below the runner, so that the metrics cache and the report never import
it: files, folders and code in :mod:`review.core.fingerprint`, data sources and tables in
:mod:`review.data.fingerprint` (both re-exported here). This module adds the notebooks: the
SHA-256 of what determines a run, each cell's type, source and metadata (minus volatile keys
such as ``execution``), not outputs or execution counts, so saving a notebook after running
it in JupyterLab does not force a rebuild.
"""

from __future__ import annotations

import json
from pathlib import Path

from review.core.fingerprint import code_hash, digest_json, file_digest
from review.data.fingerprint import (
    engine_table_checksums,
    local_source_path,
    source_fingerprint,
    table_fingerprints,
)
from review.errors import RunError

__all__ = [
    "code_hash", "digest_json", "engine_table_checksums", "file_digest", "local_source_path",
    "notebook_hash", "source_fingerprint", "table_fingerprints",
]

_VOLATILE_CELL_METADATA = frozenset({"execution", "ExecuteTime", "collapsed", "scrolled",
                                     "papermill"})


def notebook_hash(path: Path) -> str:
    """Fingerprint of what a notebook runs: cells' type, source and stable metadata.

    Outputs, execution counts and volatile metadata (``execution``, ``collapsed``…) are left
    out, so re-saving an executed notebook does not change it.
    """
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the notebook ({exc}); is it a valid .ipynb?") from None
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        meta = {k: v for k, v in cell.get("metadata", {}).items()
                if k not in _VOLATILE_CELL_METADATA}
        cells.append({"type": cell.get("cell_type"),
                      "source": "".join(source) if isinstance(source, list) else source,
                      "metadata": meta})
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("language")
    return digest_json({"cells": cells, "language": kernel, "nbformat": nb.get("nbformat")})

"""Batch runner: every period × every notebook, in parallel, incremental, atomic.

Modules
-------
``batch``        :func:`run_batch`, :class:`RunOptions`, the plan/prepare/finalize steps
``execute``      one notebook of one period: papermill in-process, then HTML export
``fingerprint``  fingerprints of the data source, its tables, the code and the notebooks
``manifest``     ``manifest.json``: the inputs and environment of a build
``outputs``      the outputs folder's layout, atomic swap, failed builds, secret scrubbing
``index``        ``outputs/index.html``
``demo``         ``review demo``: the demo store when needed, then every demo period
``scaffold``     ``review params new``: the next period's params file

The names below are imported lazily, so that ``import review.runner`` stays cheap. Nothing
below the runner imports it (``tests/test_layers.py``).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "BatchResult": "batch",
    "PeriodResult": "batch",
    "RunOptions": "batch",
    "load_params_files": "batch",
    "run_batch": "batch",
    "build_index": "index",
    "Section": "execute",
    "discover_sections": "execute",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"review.runner.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'review.runner' has no attribute {name!r}")

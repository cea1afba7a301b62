"""Compute-once cache of a period's KPI set, shared by the runner and the notebooks.

``period_metrics(params)`` returns the period's :class:`~review.metrics.result.PeriodMetrics`.
The cache key is a hash of

* the parameters (``Params.notebook_parameters()``, the source kept unresolved),
* the data source's fingerprint (:func:`review.data.fingerprint.source_fingerprint`),
* the hash of the code the KPIs depend on (:func:`review.core.fingerprint.metrics_code_hash`:
  data access and validation, metric families, statistics, parameters, the KPI catalog),
  not report text, templates or charts: editing those re-renders without recomputing,

so any change to one of them computes afresh; old entries are simply no longer used. On a
miss the source is connected, validated (errors raise :class:`~review.errors.ValidationError`
with the formatted report; warnings go to the report's data-quality appendix) and the KPIs
computed with their provenance (input fingerprints and code version, see
:func:`provenance`), then saved atomically under ``<cache_dir>/metrics/<key>/``. On a hit they are
loaded: the runner calls this once per period before any kernel starts, so the six notebooks
of a period load instead of recomputing.

Environment (set by the runner for its kernels; an analyst in JupyterLab needs neither)
------------------------------------------------------------------------------------------
``REVIEW_CACHE_DIR``
    The cache folder when ``cache_dir`` is not given (default ``outputs/.cache``).
``REVIEW_DATA_FINGERPRINT``
    ``{"source": <source as written>, "fingerprint": <fp>}`` as JSON: the fingerprint the
    runner has just computed, reused when the source matches so that a kernel does not
    re-hash the data (or re-scan a warehouse).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from review import paths
from review.core import fingerprint
from review.core.environment import environment_info
from review.core.files import atomic_path, atomic_write_json, read_json
from review.data import fingerprint as sources

if TYPE_CHECKING:  # pandas and ibis are imported only when metrics are really needed
    from review.config import Params
    from review.metrics.result import PeriodMetrics

CACHE_DIR_ENV = "REVIEW_CACHE_DIR"
DATA_FINGERPRINT_ENV = "REVIEW_DATA_FINGERPRINT"

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$REVIEW_CACHE_DIR`` when set, else :data:`review.paths.CACHE_DIR`."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else paths.CACHE_DIR


def data_fingerprint(params: Params, *, cache_dir: Path | None = None) -> str:
    """The fingerprint of ``params.source``: the runner's pinned value, else computed."""
    pinned = os.environ.get(DATA_FINGERPRINT_ENV)
    if pinned:
        try:
            record = json.loads(pinned)
        except ValueError:
            record = {}
        if record.get("source") == params.source and record.get("fingerprint"):
            return str(record["fingerprint"])
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return sources.source_fingerprint(params.source, memo_dir=cache / "fingerprints")


def kernel_environment(params: Params, data_fp: str, cache_dir: Path) -> dict[str, str]:
    """Environment variables that let a kernel reuse the runner's cache and fingerprint."""
    return {
        CACHE_DIR_ENV: str(cache_dir),
        DATA_FINGERPRINT_ENV: json.dumps({"source": params.source, "fingerprint": data_fp}),
    }


#: Parameters that only change how the report reads, never a number: not in the cache key.
DISPLAY_ONLY_PARAMS = ("labels",)


def metrics_key(params: Params, *, data_fp: str, code: str) -> str:
    """The cache key: 32 hex digits of a hash of (params, data fingerprint, metrics code).

    Display-only parameters (:data:`DISPLAY_ONLY_PARAMS`: the ``labels`` of data-borne names)
    are left out: editing a label re-renders the report without recomputing a KPI.
    """
    shown = {k: v for k, v in params.notebook_parameters().items()
             if k not in DISPLAY_ONLY_PARAMS}
    digest = fingerprint.digest_json({"params": shown, "data": data_fp, "code": code})
    return digest.split(":", 1)[1][:32]


def period_metrics(params: Params, *, cache_dir: Path | None = None) -> PeriodMetrics:
    """The period's KPI set, computed once per (params, data, code) and then loaded.

    Parameters
    ----------
    params
        The period's parameters (e.g. ``Params.from_namespace(globals())`` in a notebook).
    cache_dir
        The cache folder; default ``$REVIEW_CACHE_DIR`` or ``outputs/.cache``.

    Returns
    -------
    PeriodMetrics
        Every headline KPI (with target, RAG and change) and breakdown table of the period.

    Raises
    ------
    DataSourceError
        The source cannot be opened.
    ValidationError
        The source breaks the data contract; the message holds the formatted report.
    """
    from review.metrics.result import PeriodMetrics

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    data_fp = data_fingerprint(params, cache_dir=cache)
    code = fingerprint.metrics_code_hash()
    key = metrics_key(params, data_fp=data_fp, code=code)
    folder = cache / "metrics" / key
    if (folder / "metrics.json").is_file():
        try:
            pm = PeriodMetrics.load(folder)
            log.info("period %s: metrics loaded from the cache (%s)", params.period, key)
            return pm
        except Exception as exc:  # a damaged entry: compute it again
            log.warning("period %s: cache entry %s unreadable (%s); recomputing",
                        params.period, key, exc)
            shutil.rmtree(folder, ignore_errors=True)
    pm = _compute(params, cache=cache, data_fp=data_fp, code=code)
    _save_atomically(pm, folder)
    log.info("period %s: metrics computed and cached (%s)", params.period, key)
    return pm


def load_period(period: str, *, params_dir: Path | None = None,
                cache_dir: Path | None = None) -> PeriodMetrics:
    """A period's KPI set by its id, for exploratory work: ``review.load_period("2026-09")``.

    Reads ``params/<period>.yaml`` (or ``params_dir/<period>.yaml``) and returns
    :func:`period_metrics` of it: loaded from the cache when the report has been built,
    computed (and cached) otherwise. Breakdown tables are in ``pm.tables`` (the names are
    listed in docs/metrics.md), headline KPIs in ``pm.kpis``.

    Raises
    ------
    ParamsError
        No such params file, or it is invalid.
    """
    from review.config import load_params

    folder = Path(params_dir) if params_dir is not None else paths.PARAMS_DIR
    return period_metrics(load_params(folder / f"{period}.yaml"), cache_dir=cache_dir)


def _compute(params: Params, *, cache: Path, data_fp: str, code: str) -> PeriodMetrics:
    from review import metrics
    from review.data.connect import connect, redact

    con = connect(params.source)
    try:
        quality = _validated_quality(con, origin=f"data source {redact(params.source)}",
                                     memo=cache / "validation" /
                                     f"{_validation_key(data_fp, code)}.json")
        pm = metrics.compute_period(con, params, quality=quality)
        pm.provenance = provenance(params, data_fp=data_fp, code=code, con=con,
                                   memo_dir=cache / "fingerprints")
        return pm
    finally:
        with contextlib.suppress(Exception):  # a backend without disconnect: nothing to release
            con.disconnect()


def provenance(params: Params, *, data_fp: str, code: str, con: Any = None,
               memo_dir: Path | None = None) -> dict[str, Any]:
    """Deterministic provenance of a period's KPIs (no timestamps), stored in the metrics.

    The parameters (``source`` unresolved), the data source's fingerprint and its per-table
    row counts and checksums, the hash of the code the KPIs depend on, the ``review``
    version, the git commit and the library versions they were computed with (a later commit
    that changes only report code reuses these metrics, and so shows the commit that
    computed them).
    """
    return {
        "params": params.notebook_parameters(),
        "data": data_fp,
        "tables": sources.table_fingerprints(params.source, source_fp=data_fp,
                                             memo_dir=memo_dir, con=con),
        "metrics_code": code,
        **environment_info(),
    }


def _validation_key(data_fp: str, code: str) -> str:
    """Key of a validation result: (data fingerprint, code hash), independent of params."""
    return fingerprint.digest_json({"data": data_fp, "code": code}).split(":", 1)[1][:32]


def _validated_quality(con: Any, *, origin: str, memo: Path) -> list[dict[str, Any]]:
    """Validate the source once per (data, code); return the warnings for the appendix.

    A clean result is memoised; a failing one raises every time (with the formatted report).
    """
    record = read_json(memo)
    if isinstance(record, dict) and isinstance(record.get("quality"), list):
        return list(record["quality"])
    from review.data.validate import validate

    report = validate(con)
    report.raise_for_errors(origin)
    quality = report.to_records(for_report=True)
    atomic_write_json(memo, {"quality": quality})
    return quality


def _save_atomically(pm: PeriodMetrics, folder: Path) -> None:
    """Write into a sibling temporary folder, then rename: readers never see half an entry."""
    try:
        with atomic_path(folder) as tmp:
            pm.save(tmp)
    except OSError:
        if not (folder / "metrics.json").is_file():  # not a concurrent writer's win
            raise

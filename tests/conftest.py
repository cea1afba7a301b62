"""Session fixtures shared by the whole suite.

* ``demo_store`` — a demo DuckDB store (:func:`review.data.demo.generate`, 3,000 users,
  18 months to 2026-10-31, seed 7) built once per test session in a temporary folder; its
  ``ground_truth`` table holds the planted effects that metric tests must recover.
* ``demo_con`` — that store opened with :func:`review.data.connect` (a read-only Ibis
  DuckDB backend).
* ``demo_params`` — ``demo_params(period)``: the period's parameters (``params/<period>.yaml``,
  or the defaults for a period without a file) reading the session's demo store.
* ``demo_metrics`` — ``demo_metrics(period)``: that period's
  :class:`~review.metrics.result.PeriodMetrics` on the session's demo store, computed at most
  once per period in the session (through :func:`review.period_metrics` and a session cache
  folder, so it carries its provenance like a real run). Treat it as read-only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from review.cache import period_metrics
from review.config import Params, load_params, period_dates
from review.data import connect
from review.data.demo import generate
from review.metrics.result import PeriodMetrics
from review.paths import PARAMS_DIR, PROJECT_ROOT

DEMO_USERS = 3_000
DEMO_MONTHS = 18
DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the session's demo store (generated once, a few seconds)."""
    store = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    generate(store, users=DEMO_USERS, months=DEMO_MONTHS, seed=DEMO_SEED)
    return store


@pytest.fixture(scope="session")
def demo_con(demo_store: Path) -> Iterator[BaseBackend]:
    """The demo store as an Ibis backend (``review.data.connect``), read-only."""
    con = connect(demo_store)
    yield con
    con.disconnect()


@pytest.fixture(scope="session")
def demo_params(demo_store: Path) -> Callable[[str], Params]:
    """``demo_params(period)``: the period's parameters, reading the session's demo store."""

    def params(period: str) -> Params:
        path = PARAMS_DIR / f"{period}.yaml"
        if path.is_file():
            return load_params(path).model_copy(update={"source": str(demo_store)})
        start, end = period_dates(period)
        return Params.from_dict({"period": period, "start": start.isoformat(),
                                 "end": end.isoformat(), "source": str(demo_store)})

    return params


@pytest.fixture(scope="session")
def demo_metrics(demo_params: Callable[[str], Params],
                 tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], PeriodMetrics]:
    """``demo_metrics(period)``: the period's KPI set on the session's demo store (computed
    once per period in the session, with provenance)."""
    cache_dir = tmp_path_factory.mktemp("metrics-cache")
    computed: dict[str, PeriodMetrics] = {}

    def metrics(period: str) -> PeriodMetrics:
        if period not in computed:
            computed[period] = period_metrics(demo_params(period), cache_dir=cache_dir)
        return computed[period]

    return metrics


#: What a test session may create in the project: the notebooks' demo store (built by
#: notebooks/conftest.py, as ``make demo`` would) and caches of the tools themselves.
_MAY_WRITE = ("data/demo.duckdb", "data/demo.duckdb.wal", "data/demo.duckdb.args.json")
_TOOL_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}


def _project_files() -> set[str]:
    files = set()
    for folder, dirs, names in os.walk(PROJECT_ROOT):
        dirs[:] = [d for d in dirs if d not in _TOOL_DIRS and not d.endswith(".egg-info")]
        for name in names:
            rel = Path(folder, name).relative_to(PROJECT_ROOT).as_posix()
            if rel not in _MAY_WRITE and rel != ".git":
                files.add(rel)
    return files


@pytest.fixture(scope="session", autouse=True)
def _no_test_writes_into_the_project() -> Iterator[None]:
    """Fails the session when a test created a file in the project (tests write to tmp only).

    Only new files count: a developer saving a source file during the run is not a test's
    doing.
    """
    before = _project_files()
    yield
    created = sorted(_project_files() - before)
    assert created == [], f"tests wrote into the project: {created[:10]}"

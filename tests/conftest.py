"""Session fixtures shared by the whole suite.

* ``demo_store`` — a demo DuckDB store (:func:`review.data.demo.generate`, 3,000 users,
  18 months to 2026-10-31, seed 7) built once per test session in a temporary folder; its
  ``ground_truth`` table holds the planted effects that metric tests must recover.
* ``demo_con`` — that store opened with :func:`review.data.connect` (a read-only Ibis
  DuckDB backend).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from review.data import connect
from review.data.demo import generate

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

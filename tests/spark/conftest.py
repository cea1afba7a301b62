"""Fixtures of the Spark tests: ONE local Spark session per test run, small data.

* ``spark_base`` starts the session (``local[2]``, this project's defaults, a private
  warehouse folder) through :func:`review.data.spark.connect_spark`; every other connection in
  the run reuses it and gets its own child session (private temp views and SQL settings).
* ``write_parquet`` writes a pandas frame to Parquet *through DuckDB*, so the files look like
  what :func:`review.data.spark.export_parquet` produces (naive ``TIMESTAMP`` columns).
* ``parity_folder`` is a small demo store (:func:`review.data.demo.generate`) exported to
  Parquet; ``parity_duck``/``parity_spark`` open that same folder on both engines (DuckDB
  with the folder's stored daily rollups, Spark deriving them in its queries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from review.data import connect, rollup
from review.data.spark import connect_spark, export_parquet

#: the demo store of the parity tests: small, but every family has data in 2026-08..10
DEMO_USERS = 800
DEMO_MONTHS = 14
DEMO_SEED = 11


@pytest.fixture(scope="session")
def spark_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The run's one SparkSession (started here, stopped at the end of the run)."""
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    con = connect_spark(f"pyspark://local[2]?conf.spark.sql.warehouse.dir={warehouse}")
    base = SparkSession.getActiveSession()
    assert base is not None and con is not None
    yield base
    base.stop()


@pytest.fixture(scope="session")
def write_parquet() -> Callable[[Path, pd.DataFrame], Path]:
    """``write_parquet(path, df)``: ``df`` written by DuckDB as the Parquet file ``path``."""

    def write(path: Path, df: pd.DataFrame) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        try:
            con.register("frame", df)
            con.execute("COPY (SELECT * FROM frame) TO ? (FORMAT parquet)", [str(path)])
        finally:
            con.close()
        return path

    return write


@pytest.fixture(scope="session")
def parity_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo DuckDB store (the generator's own ground truth included)."""
    from review.data.demo import generate

    store = tmp_path_factory.mktemp("spark-demo") / "demo.duckdb"
    generate(store, users=DEMO_USERS, months=DEMO_MONTHS, seed=DEMO_SEED)
    return store


@pytest.fixture(scope="session")
def parity_folder(parity_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store exported to ``<table>.parquet`` files: both engines read these."""
    folder = tmp_path_factory.mktemp("spark-demo-parquet")
    export_parquet(parity_store, folder)
    return folder


@pytest.fixture(scope="session")
def parity_duck(parity_folder: Path):
    """DuckDB over the Parquet folder (``review.data.connect(folder)``) with its daily rollups
    built and attached: the parity tests compare metrics from stored rollups on DuckDB with
    metrics from rollups Spark derives from the raw tables inside its queries."""
    rollup.refresh(parity_folder)
    con = connect(parity_folder)
    assert "rollup_user_day" in con.list_tables()
    return con


@pytest.fixture(scope="session")
def parity_spark(spark_base, parity_folder: Path):
    """Spark over the same Parquet folder (``pyspark://local[2]?parquet=…&cache=true``).

    Cached: the KPI set runs about a hundred small queries, each rescanning Parquet otherwise.
    """
    return connect(f"pyspark://local[2]?parquet={parity_folder}&cache=true")

"""DuckDB and Spark give the same numbers: the whole KPI set of a demo period and the
validator's problem list, computed by the shared code on both engines over the same Parquet
files (fixtures in ``conftest.py``).

Equality: counts exactly; rates, amounts and other non-integral numbers to a relative 1e-9
(plus 1e-12 absolute for values that are zero up to rounding, e.g. a change of 0); NaN equals
NaN; breakdown tables compared after normalising dtypes and sorting rows by their dimension
columns.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import fields
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from review.config import load_params
from review.data import connect
from review.data.validate import validate
from review.metrics import compute_period
from review.metrics.result import KpiValue
from review.paths import PARAMS_DIR

pytestmark = pytest.mark.spark

REL_TOL = 1e-9
ABS_TOL = 1e-12


def _same_number(a, b) -> bool:
    """Counts (integral values) exactly, anything else to ``REL_TOL``; NaN/None equal."""
    a_missing = a is None or (isinstance(a, float) and math.isnan(a))
    b_missing = b is None or (isinstance(b, float) and math.isnan(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    a, b = float(a), float(b)
    if a.is_integer() and b.is_integer():
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _kpi_differences(duck: dict[str, KpiValue], spark: dict[str, KpiValue]) -> list[str]:
    out = []
    if set(duck) != set(spark):
        out.append(f"KPI keys differ: only DuckDB {sorted(set(duck) - set(spark))}, "
                   f"only Spark {sorted(set(spark) - set(duck))}")
    for key in sorted(set(duck) & set(spark)):
        for f in fields(KpiValue):
            a, b = getattr(duck[key], f.name), getattr(spark[key], f.name)
            numeric = isinstance(a, (int, float)) or isinstance(b, (int, float))
            same = _same_number(a, b) if numeric and not isinstance(a, bool) else a == b
            if not same:
                out.append(f"kpi {key}.{f.name}: duckdb {a!r} vs spark {b!r}")
    return out


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Engine-neutral dtypes: numbers float64, times datetime64[us], dates and text str."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.astype("datetime64[us]")
        else:  # strings, dates (datetime.date), mixed: compare their text
            out[c] = s.map(lambda v: None if v is None or v is pd.NA or v is pd.NaT
                           or (isinstance(v, float) and math.isnan(v)) else str(v))
    return pd.DataFrame(out, columns=list(df.columns))


def _table_differences(name: str, duck: pd.DataFrame, spark: pd.DataFrame) -> list[str]:
    if list(duck.columns) != list(spark.columns):
        return [f"table {name}: columns differ: duckdb {list(duck.columns)} vs "
                f"spark {list(spark.columns)}"]
    if len(duck) != len(spark):
        return [f"table {name}: {len(duck)} rows on duckdb vs {len(spark)} on spark"]
    d, s = _normalise(duck), _normalise(spark)
    dims = [c for c in d.columns if d[c].dtype != "float64"] or list(d.columns)
    d = d.sort_values(dims, na_position="first", kind="stable").reset_index(drop=True)
    s = s.sort_values(dims, na_position="first", kind="stable").reset_index(drop=True)
    out = []
    for c in d.columns:
        for i, (a, b) in enumerate(zip(d[c].tolist(), s[c].tolist(), strict=True)):
            same = _same_number(a, b) if d[c].dtype == "float64" else (
                a == b or (pd.isna(a) and pd.isna(b)))
            if not same:
                key = {k: d.at[i, k] for k in dims[:3]}
                out.append(f"table {name} column {c} row {key}: duckdb {a!r} vs spark {b!r}")
                break  # the first difference of each column is enough to read
    return out


@pytest.fixture(scope="module")
def period_params(parity_folder: Path):
    # k = 1: parity compares every number unmasked, and the planted HNW count (a handful of
    # customers on this small store) stays visible to the recovery test below
    params = load_params(PARAMS_DIR / "2026-09.yaml")
    thresholds = params.thresholds.model_copy(update={"min_cell_users": 1})
    return params.model_copy(update={"source": str(parity_folder), "thresholds": thresholds})


@pytest.fixture(scope="module")
def both_periods(parity_duck, parity_spark, period_params):
    return compute_period(parity_duck, period_params), compute_period(parity_spark,
                                                                       period_params)


def test_spark_parity_helpers_compare_as_documented():
    # counts exactly, ratios to 1e-9 relative, NaN equal to NaN and to None
    assert _same_number(3.0, 3)
    assert not _same_number(3.0, 4.0)
    assert _same_number(0.1 + 0.2, 0.3)
    assert not _same_number(0.3, 0.3 * (1 + 1e-8))
    assert _same_number(math.nan, None)
    assert not _same_number(math.nan, 0.0)
    a = pd.DataFrame({"seg": ["b", "a"], "n": [2, 1], "rate": [0.5, np.nan]})
    b = pd.DataFrame({"seg": ["a", "b"], "n": [1.0, 2.0], "rate": [np.nan, 0.5]})
    assert _table_differences("t", a, b) == []
    c = b.assign(rate=[np.nan, 0.6])
    assert _table_differences("t", a, c) == [
        "table t column rate row {'seg': 'b'}: duckdb 0.5 vs spark 0.6"]


def test_spark_kpis_equal_duckdb(both_periods):
    duck, spark = both_periods
    assert len(duck.kpis) >= 25  # the catalog, not an empty shell
    assert sum(math.isfinite(k.value) for k in duck.kpis.values()) >= 20
    problems = _kpi_differences(duck.kpis, spark.kpis)
    assert problems == [], "\n".join(problems)


def test_spark_recovers_the_planted_hnw_conversions(both_periods, parity_spark):
    # the generator's truth for 2026-09: exact count of conversions and of eligible users
    truth = parity_spark.table("ground_truth").to_pandas().set_index("key")
    row = truth.loc["hnw_conversions.2026-09"]
    eligible = json.loads(row["detail"])["eligible"]
    _, spark = both_periods
    assert spark.kpis["hnw_conversions"].value == row["value"]
    assert spark.kpis["hnw_conversion_rate"].numerator == row["value"]
    assert spark.kpis["hnw_conversion_rate"].denominator == eligible


def test_spark_breakdown_tables_equal_duckdb(both_periods):
    duck, spark = both_periods
    assert sorted(spark.tables) == sorted(duck.tables)
    assert len(duck.tables) >= 10
    problems = []
    for name in sorted(duck.tables):
        problems += _table_differences(name, duck.tables[name], spark.tables[name])
    assert problems == [], "\n".join(problems)


# -- validation ------------------------------------------------------------------------------

#: (table, column, rule) of the problems planted by ``planted_folder``
PLANTED = {
    ("transactions", "txn_id", "primary_key"),  # one txn row duplicated
    ("transactions", "amount", "range"),        # one amount made negative
    ("events", "event", "allowed"),             # one event renamed to an unknown code
    ("transactions", "user_id", "foreign_key"),  # one txn of a user not in users
}


@pytest.fixture(scope="module")
def planted_folder(parity_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the parity Parquet data with the :data:`PLANTED` problems."""
    folder = tmp_path_factory.mktemp("spark-planted")
    for f in parity_folder.glob("*.parquet"):
        shutil.copy(f, folder / f.name)
    con = duckdb.connect()
    tx, ev = parity_folder / "transactions.parquet", parity_folder / "events.parquet"
    con.execute(f"""
        COPY (
            WITH t AS (SELECT *, row_number() OVER (ORDER BY txn_id) AS rn
                       FROM read_parquet('{tx}'))
            SELECT * EXCLUDE (rn, amount),
                   CASE WHEN rn = 2 THEN -5.0 ELSE amount END AS amount FROM t
            UNION ALL BY NAME SELECT * EXCLUDE (rn) FROM t WHERE rn = 1
            UNION ALL BY NAME SELECT * EXCLUDE (rn, txn_id, user_id), 'planted-orphan' AS txn_id,
                   'ghost-user' AS user_id FROM t WHERE rn = 3
        ) TO '{folder / "transactions.parquet"}' (FORMAT parquet)""")
    con.execute(f"""
        COPY (
            WITH e AS (SELECT *, row_number() OVER (ORDER BY user_id, ts, event) AS rn
                       FROM read_parquet('{ev}'))
            SELECT * EXCLUDE (rn, event),
                   CASE WHEN rn = 1 THEN 'teleport' ELSE event END AS event FROM e
        ) TO '{folder / "events.parquet"}' (FORMAT parquet)""")
    con.close()
    return folder


def _problem_keys(report) -> list[tuple]:
    return sorted((p.table, p.column or "", p.rule, p.severity, p.count)
                  for p in report.problems)


def test_spark_validation_finds_the_same_problems(spark_base, planted_folder):
    duck = validate(connect(planted_folder))
    spark = validate(connect(f"pyspark://local[2]?parquet={planted_folder}"))

    found = {(p.table, p.column, p.rule) for p in duck.problems}
    assert found >= PLANTED, f"DuckDB missed planted problems: {PLANTED - found}"
    counts = {(p.table, p.column, p.rule): p.count for p in duck.problems}
    assert counts[("transactions", "amount", "range")] == 1
    assert counts[("events", "event", "allowed")] == 1
    assert counts[("transactions", "user_id", "foreign_key")] == 1
    assert _problem_keys(spark) == _problem_keys(duck)


def test_spark_validation_of_clean_demo_data_agrees(parity_duck, parity_spark):
    duck, spark = validate(parity_duck), validate(parity_spark)
    assert duck.tables_checked == spark.tables_checked
    assert len(duck.tables_checked) >= 10
    assert _problem_keys(spark) == _problem_keys(duck)

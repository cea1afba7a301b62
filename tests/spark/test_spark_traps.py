"""Engine traps found while running the shared metric code on Spark: the ones
``review.data.spark.SparkCompiler`` fixes (the stock Ibis SQL is checked too, so that these
tests say when Ibis fixes them and the override can go), and the ones metric code must avoid
(see docs/spark.md)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from review.data import connect
from review.data.spark import connect_spark

pytestmark = pytest.mark.spark

#: two steps of one user: fractions of a second, and a step across midnight
_STEPS = pd.DataFrame({
    "id": [1, 2],
    "a": pd.to_datetime(["2026-09-01 00:00:00.7", "2026-09-01 23:00:00"], format="ISO8601"),
    "b": pd.to_datetime(["2026-09-01 01:00:01.2", "2026-09-02 01:00:00"], format="ISO8601"),
})


@pytest.fixture(scope="module")
def engines(spark_base, tmp_path_factory, write_parquet):
    folder = tmp_path_factory.mktemp("traps")
    write_parquet(folder / "steps.parquet", _STEPS)
    return {"duckdb": connect(folder),
            "spark": connect_spark(f"pyspark://local[2]?parquet={folder}")}


def _run(engines, build) -> dict[str, list]:
    out = {}
    for name, con in engines.items():
        t = con.table("steps")
        out[name] = build(t).order_by("id").to_pandas()["v"].tolist()
    return out


def test_spark_epoch_seconds_of_fractional_timestamps_differ(engines):
    # DuckDB's epoch keeps the fraction: 01:00:01.2 − 00:00:00.7 = 3,600.5 s;
    # Spark's UNIX_TIMESTAMP truncates each side first: 3,601 − 0 = 3,601 s
    got = _run(engines, lambda t: t.select(
        "id", v=(t.b.epoch_seconds() - t.a.epoch_seconds()).cast("float64")))
    assert got["duckdb"][0] == pytest.approx(3600.5)
    assert got["spark"][0] == 3601.0


def test_spark_whole_second_elapsed_hours_agree(engines):
    # portable: truncate both sides to the second, subtract, divide.
    # 3,601 s / 3,600 = 1.000277…, and 2 h across midnight = 7,200 s = 2.0 h
    def hours(t):
        secs = t.b.truncate("s").epoch_seconds() - t.a.truncate("s").epoch_seconds()
        return t.select("id", v=secs.cast("float64") / 3600.0)

    got = _run(engines, hours)
    assert got["duckdb"] == got["spark"] == [3601 / 3600, 2.0]


def test_spark_float_literals_are_doubles(engines):
    # stock Ibis writes 3600.0, which Spark reads as DECIMAL(5,1): an integer divided by it
    # is a decimal rounded to 6 places (1.000278); our compiler casts the literal to DOUBLE
    def hours(t):
        return t.select("id", v=(t.b.truncate("s").epoch_seconds()
                                 - t.a.truncate("s").epoch_seconds()) / 3600.0)

    assert "/ 3600.0" in ibis.to_sql(hours(engines["spark"].table("steps")), dialect="pyspark")
    got = _run(engines, hours)
    assert got["spark"] == got["duckdb"] == [3601 / 3600, 2.0]


def test_spark_median_with_where_filters_the_values_only(engines):
    # stock Ibis: percentile(IF(c, x, NULL), IF(c, 0.5, NULL)), which Spark rejects
    t = engines["spark"].table("steps")
    expr = t.aggregate(m=t.b.hour().cast("float64").median(where=t.id == 2))
    assert "IF(`t0`.`id` = 2, 0.5, NULL)" in ibis.to_sql(expr, dialect="pyspark")
    for con in engines.values():
        s = con.table("steps")
        got = s.aggregate(m=s.b.hour().cast("float64").median(where=s.id == 2)).to_pandas()
        assert got["m"].iloc[0] == 1.0  # the one row kept: 01:00


def test_spark_count_where_of_no_rows_is_zero(engines):
    # stock Ibis: SUM(CAST(c AS BIGINT)), NULL on no rows; DuckDB's COUNT(*) FILTER gives 0
    t = engines["spark"].table("steps")
    assert "SUM(CAST(" in ibis.to_sql(t.aggregate(n=t.count(where=t.id > 0)), dialect="pyspark")
    for con in engines.values():
        s = con.table("steps")
        none = s.filter(s.id > 99)
        got = none.aggregate(n=none.count(where=none.id > 0), all=none.count()).to_pandas()
        assert got["n"].iloc[0] == 0
        assert got["all"].iloc[0] == 0


def test_spark_day_delta_counts_elapsed_days_but_date_delta_agrees(engines):
    # 23:00 → 01:00 next day: DuckDB counts the midnight crossed (1), Spark full days (0)
    got = _run(engines, lambda t: t.select("id", v=t.b.delta(t.a, unit="day")))
    assert got["duckdb"][1] == 1
    assert got["spark"][1] == 0
    # on calendar dates both engines count midnights: 1
    got = _run(engines, lambda t: t.select("id", v=t.b.date().delta(t.a.date(), unit="day")))
    assert got["duckdb"] == got["spark"] == [0, 1]

"""The Spark connection layer: URL parsing, session settings and reuse, Parquet views,
databases, and naive timestamps that keep their wall-clock value from DuckDB to Spark."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest

from review.data import connect
from review.data.spark import (
    DEFAULT_TZ,
    SparkSource,
    connect_spark,
    export_parquet,
    parse_spark_url,
    spark_conf,
)
from review.errors import DataSourceError

pytestmark = pytest.mark.spark

# -- URL parsing and configuration (no Spark needed) ------------------------------------------


def test_spark_url_local_master_and_parquet_folder():
    src = parse_spark_url("pyspark://local[2]?parquet=/data/export&tz=UTC")
    assert src == SparkSource(master="local[2]", parquet=Path("/data/export"), tz="UTC")
    assert src.is_local


def test_spark_url_cluster_master_database_and_conf():
    src = parse_spark_url(
        "pyspark://spark://host:7077?database=bank&conf.spark.executor.memory=4g"
        "&conf.spark.sql.shuffle.partitions=64&app=review-2026-09"
    )
    assert src.master == "spark://host:7077"
    assert src.database == "bank"
    assert src.parquet is None
    assert src.tz == DEFAULT_TZ == "Asia/Shanghai"
    assert src.app == "review-2026-09"
    assert src.conf == {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": "64"}
    assert not src.is_local


def test_spark_url_k8s_master_keeps_its_own_scheme():
    src = parse_spark_url("pyspark://k8s://https://api.example:6443?database=dw.bank")
    assert src.master == "k8s://https://api.example:6443"
    assert src.database == "dw.bank"


def test_spark_url_without_master_or_query():
    assert parse_spark_url("pyspark://") == SparkSource()
    assert parse_spark_url("pyspark://?database=bank").master is None


def test_spark_url_cache_flag():
    assert parse_spark_url("pyspark://local?cache=true").cache is True
    assert parse_spark_url("pyspark://local?cache=no").cache is False
    assert parse_spark_url("pyspark://local").cache is False


def test_spark_url_percent_escapes_are_decoded():
    assert parse_spark_url("pyspark://local?parquet=/data/a%26b").parquet == Path("/data/a&b")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("duckdb://x.duckdb", "starting with 'pyspark://'"),
        ("pyspark://local?databse=bank", "unknown parameter 'databse'"),
        ("pyspark://local?database=a&database=b", "'database' is given twice"),
        ("pyspark://local?tz=", "'tz' has no value"),
        ("pyspark://local?database=bank&parquet=/x", "not both"),
        ("pyspark://local?cache=maybe", "cache='maybe'; use cache=true"),
    ],
)
def test_spark_url_errors_name_the_parameter(url, match):
    with pytest.raises(DataSourceError, match=match):
        parse_spark_url(url)


def test_spark_conf_defaults_for_local_master():
    conf = spark_conf(parse_spark_url("pyspark://local[2]"))
    assert conf["spark.sql.session.timeZone"] == "Asia/Shanghai"
    assert conf["spark.sql.parquet.inferTimestampNTZ.enabled"] == "true"
    assert conf["spark.sql.timestampType"] == "TIMESTAMP_NTZ"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.ui.enabled"] == "false"
    assert "-Duser.timezone=Asia/Shanghai" in conf["spark.driver.extraJavaOptions"]
    assert conf["spark.executor.extraJavaOptions"] == "-Duser.timezone=Asia/Shanghai"


def test_spark_conf_cluster_keeps_shuffle_partitions_and_url_conf_wins():
    conf = spark_conf(parse_spark_url(
        "pyspark://yarn?tz=Asia/Hong_Kong&conf.spark.sql.timestampType=TIMESTAMP_LTZ"
        "&conf.spark.executor.extraJavaOptions=-XX:+UseG1GC"
    ))
    assert "spark.sql.shuffle.partitions" not in conf  # the cluster's own setting applies
    assert conf["spark.sql.session.timeZone"] == "Asia/Hong_Kong"
    assert conf["spark.sql.timestampType"] == "TIMESTAMP_LTZ"
    # the URL's JVM options are kept and the time zone is added to them
    assert conf["spark.executor.extraJavaOptions"] == "-XX:+UseG1GC -Duser.timezone=Asia/Hong_Kong"


def test_spark_conf_without_master_follows_the_running_session():
    src = parse_spark_url("pyspark://?database=bank")
    assert not src.is_local
    assert "spark.sql.shuffle.partitions" not in spark_conf(src)  # not known yet
    assert spark_conf(src, master="local[*]")["spark.sql.shuffle.partitions"] == "4"
    assert "spark.sql.shuffle.partitions" not in spark_conf(src, master="yarn")


def test_spark_conf_url_jvm_time_zone_is_not_overridden():
    conf = spark_conf(parse_spark_url(
        "pyspark://local?conf.spark.driver.extraJavaOptions=-Duser.timezone=UTC"))
    assert conf["spark.driver.extraJavaOptions"].count("-Duser.timezone=") == 1
    assert "-Duser.timezone=UTC" in conf["spark.driver.extraJavaOptions"]


# -- export_parquet ---------------------------------------------------------------------------


def test_spark_export_parquet_writes_every_table_with_naive_timestamps(tmp_path):
    store = tmp_path / "s.duckdb"
    con = duckdb.connect(str(store))
    con.execute("CREATE TABLE users AS SELECT 'u1' AS user_id, "
                "TIMESTAMP '2026-09-30 23:59:59' AS registered_at")
    con.execute("CREATE TABLE ground_truth AS SELECT 'k' AS key, 1.5 AS value")
    con.close()

    written = export_parquet(store, tmp_path / "out")

    assert list(written) == ["ground_truth", "users"]
    assert written["users"] == tmp_path / "out" / "users.parquet"
    ts_type = pq.read_schema(written["users"]).field("registered_at").type
    assert str(ts_type) == "timestamp[us]"  # no time zone: isAdjustedToUTC=false
    back = pd.read_parquet(written["users"])
    assert back["registered_at"].iloc[0] == pd.Timestamp("2026-09-30 23:59:59")


def test_spark_export_parquet_missing_store_is_an_error(tmp_path):
    with pytest.raises(DataSourceError, match="nope.duckdb: DuckDB store not found"):
        export_parquet(tmp_path / "nope.duckdb", tmp_path / "out")


# -- the session ------------------------------------------------------------------------------


def test_spark_session_settings_and_pinned_time_zones(spark_base):
    sc = spark_base.sparkContext
    assert sc.master == "local[2]"
    assert sc.getConf().get("spark.ui.enabled") == "false"
    # the JVM default zone is the bank's, not the machine's (UTC on CI)
    assert sc._jvm.java.util.TimeZone.getDefault().getID() == "Asia/Shanghai"
    con = connect_spark("pyspark://local[2]")
    conf = con._session.conf
    assert conf.get("spark.sql.session.timeZone") == "Asia/Shanghai"  # not Ibis' UTC
    assert conf.get("spark.sql.timestampType") == "TIMESTAMP_NTZ"
    assert conf.get("spark.sql.shuffle.partitions") == "4"


def test_spark_session_is_reused_and_temp_views_stay_private(spark_base, tmp_path,
                                                             write_parquet):
    write_parquet(tmp_path / "a" / "t.parquet", pd.DataFrame({"x": [1]}))
    write_parquet(tmp_path / "b" / "t.parquet", pd.DataFrame({"x": [1, 2]}))

    con_a = connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'a'}")
    con_b = connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'b'}")

    app = spark_base.sparkContext.applicationId
    assert con_a._session.sparkContext.applicationId == app  # no second JVM
    assert con_b._session.sparkContext.applicationId == app
    # each connection keeps its own view "t": a's 1 row, b's 2 rows
    assert con_a.table("t").count().execute() == 1
    assert con_b.table("t").count().execute() == 2


def test_spark_conf_parameters_apply_to_the_connection_only(spark_base):
    con = connect_spark("pyspark://local[2]?tz=UTC&conf.spark.sql.shuffle.partitions=3")
    assert con._session.conf.get("spark.sql.shuffle.partitions") == "3"
    assert con._session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark_base.conf.get("spark.sql.shuffle.partitions") == "4"


def test_spark_settings_a_running_session_cannot_take_are_warned(spark_base):
    with pytest.warns(RuntimeWarning, match="spark.executor.memory only apply when a session"):
        connect_spark("pyspark://local[2]?conf.spark.executor.memory=3g")
    with pytest.warns(RuntimeWarning, match=r"master 'local\[3\]'.*'local\[2\]'"):
        connect_spark("pyspark://local[3]")


# -- naive timestamps: DuckDB → Parquet → Spark -----------------------------------------------

#: a naive TIMESTAMP column around the window September 2026 (local time of the bank)
_STAMPS = pd.DataFrame({
    "id": [1, 2, 3, 4, 5],
    "ts": pd.to_datetime([
        "2026-09-01 00:00:00",         # first instant of the window: in
        "2026-09-30 23:59:59.999999",  # last microsecond of the window: in
        "2026-10-01 00:00:00",         # end + 1 day 00:00: out
        "2026-09-15 07:59:59",         # a shift of -8 h would move it to 14 Sep
        "1999-12-31 23:30:00",         # another century
    ], format="ISO8601"),
    "d": pd.to_datetime(["2026-09-01", "2026-09-30", "2026-10-01", "2026-09-15",
                         "1999-12-31"]).date,
})


def _stamp_expr(t: ibis.Table) -> ibis.Table:
    lo, hi = ibis.literal(datetime(2026, 9, 1)), ibis.literal(datetime(2026, 10, 1))
    return t.mutate(
        in_window=(t.ts >= lo) & (t.ts < hi),
        day=t.ts.date(),
        hour=t.ts.hour(),
        month=t.ts.truncate("M"),
        secs_since_start=(t.ts.epoch_seconds() - lo.epoch_seconds()).cast("int64"),
        epoch=t.ts.epoch_seconds().cast("int64"),
    ).order_by("id")


def test_spark_reads_duckdb_naive_timestamps_with_the_same_wall_clock(spark_base, tmp_path,
                                                                      write_parquet):
    write_parquet(tmp_path / "stamps" / "t.parquet", _STAMPS)
    spark = connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'stamps'}")
    duck = connect(tmp_path / "stamps")

    got = spark.table("t").order_by("id").to_pandas()
    assert got["ts"].astype("datetime64[us]").tolist() == _STAMPS["ts"].tolist()
    assert got["d"].astype("datetime64[us]").dt.date.tolist() == _STAMPS["d"].tolist()

    s = _stamp_expr(spark.table("t")).to_pandas()
    d = _stamp_expr(duck.table("t")).to_pandas()
    assert s["in_window"].tolist() == d["in_window"].tolist() == [True, True, False, True,
                                                                  False]
    assert [str(x)[:10] for x in s["day"]] == [
        "2026-09-01", "2026-09-30", "2026-10-01", "2026-09-15", "1999-12-31"]
    assert [str(x)[:10] for x in s["day"]] == [str(x)[:10] for x in d["day"]]
    assert s["hour"].tolist() == d["hour"].tolist() == [0, 23, 0, 7, 23]
    assert (s["month"].astype("datetime64[us]").tolist()
            == d["month"].astype("datetime64[us]").tolist())
    # whole-second rows only (row 2 has a fraction: DuckDB rounds it, Spark truncates):
    # row 1 = 0 s; row 3 = 30 days = 2,592,000 s; row 4 = 14 d 7:59:59 = 1,238,399 s
    whole = [0, 2, 3, 4]
    assert s["secs_since_start"].iloc[[0, 2, 3]].tolist() == [0, 2_592_000, 1_238_399]
    assert (s["secs_since_start"].iloc[whole].tolist()
            == d["secs_since_start"].iloc[whole].tolist())
    # absolute epoch seconds count the wall clock as if it were UTC, as DuckDB does:
    # 2026-09-01 00:00 → 1,788,220,800 (not 8 h less)
    assert s["epoch"].iloc[0] == d["epoch"].iloc[0] == 1_788_220_800
    assert s["epoch"].iloc[whole].tolist() == d["epoch"].iloc[whole].tolist()


def test_spark_timestamps_shift_without_the_ntz_settings(spark_base, tmp_path, write_parquet):
    """Why the two settings are pinned: each one, switched off, moves values by 8 hours."""
    write_parquet(tmp_path / "stamps" / "t.parquet", _STAMPS.iloc[:1])
    path = str(tmp_path / "stamps" / "t.parquet")

    ltz = connect_spark("pyspark://local[2]")
    ltz._session.conf.set("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
    shifted = ltz.read_parquet(path, table_name="t").to_pandas()
    # read as an instant in UTC and shown in Shanghai time: 00:00 becomes 08:00
    assert shifted["ts"].iloc[0] == pd.Timestamp("2026-09-01 08:00:00")

    lit = connect_spark("pyspark://local[2]")
    lit._session.conf.set("spark.sql.timestampType", "TIMESTAMP_LTZ")
    t = lit.read_parquet(path, table_name="t")
    epoch = t.select(e=t.ts.epoch_seconds().cast("int64")).to_pandas()["e"].iloc[0]
    # the wall clock taken as Shanghai time: 1,788,220,800 − 8 × 3,600
    assert epoch == 1_788_220_800 - 28_800


# -- Parquet folders, databases, errors -------------------------------------------------------


def test_spark_parquet_folder_layouts_become_views(spark_base, tmp_path, write_parquet):
    folder = tmp_path / "src"
    write_parquet(folder / "users.parquet", pd.DataFrame({"user_id": ["u1", "u2"]}))
    # a folder of part files, as Spark writes them
    write_parquet(folder / "events" / "part-0.parquet", pd.DataFrame({"n": [1, 2]}))
    write_parquet(folder / "events" / "part-1.parquet", pd.DataFrame({"n": [3]}))
    (folder / "events" / "_SUCCESS").write_text("")
    # a partitioned folder (category=…)
    write_parquet(folder / "spend" / "category=kol" / "p.parquet",
                  pd.DataFrame({"amount": [10.0]}))
    write_parquet(folder / "spend" / "category=tech" / "p.parquet",
                  pd.DataFrame({"amount": [5.0, 7.0]}))
    (folder / "README.txt").write_text("not a table")
    write_parquet(folder / "not a table.parquet", pd.DataFrame({"x": [1]}))

    con = connect_spark(f"pyspark://local[2]?parquet={folder}")

    assert set(con.list_tables()) == {"users", "events", "spend"}
    assert con.table("events").count().execute() == 3
    spend = con.table("spend")
    by_cat = spend.group_by("category").agg(total=spend.amount.sum()).order_by("category")
    assert by_cat.to_pandas()["total"].tolist() == [10.0, 12.0]


def test_spark_cache_flag_caches_the_contract_tables_only(spark_base, tmp_path,
                                                          write_parquet):
    write_parquet(tmp_path / "c" / "users.parquet", pd.DataFrame({"user_id": ["u1"]}))
    write_parquet(tmp_path / "c" / "ground_truth.parquet", pd.DataFrame({"key": ["k"]}))

    con = connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'c'}&cache=true")

    assert con._session.catalog.isCached("users")
    assert not con._session.catalog.isCached("ground_truth")  # not a contract table
    assert con.table("users").count().execute() == 1


def test_spark_database_tables(spark_base, tmp_path, write_parquet):
    write_parquet(tmp_path / "users" / "part-0.parquet",
                  pd.DataFrame({"user_id": ["u1", "u2", "u3"]}))
    spark_base.sql(f"CREATE DATABASE IF NOT EXISTS bank_test LOCATION '{tmp_path / 'db'}'")
    spark_base.sql(f"CREATE TABLE IF NOT EXISTS bank_test.users USING parquet "
                   f"LOCATION '{tmp_path / 'users'}'")

    con = connect("pyspark://local[2]?database=bank_test")

    assert "users" in con.list_tables()
    assert con.table("users").count().execute() == 3


def test_spark_unknown_database_is_an_error(spark_base):
    with pytest.raises(DataSourceError, match="database 'no_such_db' not found"):
        connect_spark("pyspark://local[2]?database=no_such_db")


def test_spark_parquet_folder_errors(spark_base, tmp_path):
    with pytest.raises(DataSourceError, match="Parquet folder .*missing not found"):
        connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="no Parquet tables found"):
        connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'empty'}")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "users.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataSourceError, match=r"users.parquet: cannot read table 'users'"):
        connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'bad'}")


def test_spark_through_review_connect_with_env_reference(spark_base, tmp_path, write_parquet,
                                                         monkeypatch):
    write_parquet(tmp_path / "f" / "users.parquet", pd.DataFrame({"user_id": ["u1"]}))
    monkeypatch.setenv("SPARK_TEST_FOLDER", str(tmp_path / "f"))

    con = connect("pyspark://local[2]?parquet=${SPARK_TEST_FOLDER}")

    assert con.name == "pyspark"
    assert con.table("users").to_pandas()["user_id"].tolist() == ["u1"]


def test_spark_dates_survive_the_round_trip(spark_base, tmp_path, write_parquet):
    df = pd.DataFrame({"month": [date(2026, 8, 31), date(2026, 9, 30)], "aum": [1.0, 2.0]})
    write_parquet(tmp_path / "b" / "balances.parquet", df)
    con = connect_spark(f"pyspark://local[2]?parquet={tmp_path / 'b'}")
    got = con.table("balances").order_by("month").to_pandas()
    assert [str(m)[:10] for m in got["month"]] == ["2026-08-31", "2026-09-30"]

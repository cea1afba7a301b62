"""Daily rollups: built once, refreshed day by day, stored beside the source, attached when
current; DuckDB connections with a memory limit and a spill folder."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from review.data import connect, rollup
from review.data.connect import duckdb_config
from review.errors import DataSourceError

EVENTS = pd.DataFrame({
    "user_id": ["u1", "u1", "u2", "u1", "u2", "u3"],
    "ts": pd.to_datetime(["2026-08-31 23:59:59", "2026-09-01 08:00:00", "2026-09-01 09:00:00",
                          "2026-09-02 10:00:00", "2026-09-02 10:05:00", "2026-09-02 11:00:00"]),
    "event": ["login", "login", "bind_card", "transfer", "login", "crash"],
    "session_seconds": [30.0, 60.0, None, 12.5, 40.0, None],
    "auth_method": ["face", "sms", None, None, "fingerprint", None],
    "platform": ["ios", "ios", "android", "ios", None, "android"],
    "risk_flag": [False, True, None, None, False, None],
})
TRANSACTIONS = pd.DataFrame({
    "txn_id": ["t1", "t2", "t3"],
    "user_id": ["u2", "u2", "u1"],
    "ts": pd.to_datetime(["2026-09-01 08:30", "2026-09-01 09:30", "2026-09-02 12:00"]),
    "type": ["transfer", "transfer", "bill_pay"],
    "channel": ["mobile", "mobile", "web"],
    "amount": [100.0, 50.0, 20.0],
    "status": ["success", "success", "failed"],
})


def _store(path: Path, events: pd.DataFrame = EVENTS,
           transactions: pd.DataFrame = TRANSACTIONS) -> Path:
    con = duckdb.connect(str(path))
    con.register("e", events)
    con.register("t", transactions)
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM e")
    con.execute("CREATE OR REPLACE TABLE transactions AS SELECT * FROM t")
    con.close()
    return path


def _sql(path: Path, sql: str) -> None:
    con = duckdb.connect(str(path))
    con.execute(sql)
    con.close()


def _assert_stored_equals_derived(source: Path) -> None:
    con = connect(source)
    try:
        raw = {n: con.table(n) for n in rollup.RAW_TABLES}
        stored, derived = rollup.tables(con, raw), rollup.derived(raw)
        for name in rollup.ROLLUPS:
            assert stored[name].get_name() == rollup.VIEW_PREFIX + name  # attached
            a, b = stored[name].to_pandas(), derived[name].to_pandas()
            keys = list(a.columns)
            a = a.sort_values(keys, ignore_index=True)
            b = b.sort_values(keys, ignore_index=True)[keys]
            pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=False, obj=name)
    finally:
        con.disconnect()


def test_user_day_counts_by_hand(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    con = connect(src)
    got = con.table("rollup_user_day").to_pandas()
    con.disconnect()
    got = got.assign(day=pd.to_datetime(got["day"]).dt.date).set_index(["user_id", "day"])
    u1 = got.loc[("u1", date(2026, 9, 2))]
    # u1 on 09-02: one transfer (a feature event) on ios, no login
    assert (u1["events"], u1["logins"], u1["feature_events"], u1["platform"]) == (1, 0, 1, "ios")
    u1 = got.loc[("u1", date(2026, 9, 1))]
    # u1 on 09-01: one sms login flagged risky: not biometric
    assert (u1["logins"], u1["risk_logins"], u1["bio_logins"], u1["session_seconds"]) == \
        (1, 1, 0, 60.0)
    # the 23:59:59 login belongs to 08-31, a face login
    assert got.loc[("u1", date(2026, 8, 31))]["bio_logins"] == 1
    u2 = got.loc[("u2", date(2026, 9, 2))]
    assert pd.isna(u2["platform"]) and u2["bio_logins"] == 1  # null platform kept as null
    assert got.loc[("u3", date(2026, 9, 2))]["crashes"] == 1


def test_bind_txn_keeps_the_bind_days_mobile_transactions(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    con = connect(src)
    bt = con.table("rollup_bind_txn").to_pandas()
    con.disconnect()
    # u2 bound a card on 09-01 09:00 and paid on mobile at 08:30 and 09:30 that day: both kept
    # (the funnel picks the first at or after binding); u1's web payment is not mobile
    assert sorted(bt["ts"].dt.strftime("%H:%M")) == ["08:30", "09:30"]
    assert set(bt["user_id"]) == {"u2"}


def test_first_build_reads_every_day_then_an_unchanged_rerun_reads_nothing(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    first = rollup.refresh(src)
    assert first.days_read == [date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)]
    assert first.months_written == ["2026-08", "2026-09"]
    assert (tmp_path / "s.duckdb.rollup" / "user_day" / "2026-09.parquet").is_file()
    again = rollup.refresh(src)
    assert again.up_to_date and again.days_read == []
    _assert_stored_equals_derived(src)


def test_a_new_day_rolls_up_only_that_day(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    aug = tmp_path / "s.duckdb.rollup" / "user_day" / "2026-08.parquet"
    aug_mtime = aug.stat().st_mtime_ns
    _sql(src, "INSERT INTO events VALUES ('u3', TIMESTAMP '2026-09-03 07:00', 'login', 5.0, "
              "'face', 'ios', false)")
    res = rollup.refresh(src)
    assert res.days_read == [date(2026, 9, 3)] and res.days_removed == []
    assert res.months_written == ["2026-09"]
    assert aug.stat().st_mtime_ns == aug_mtime  # other months untouched
    _assert_stored_equals_derived(src)


def test_a_changed_past_day_is_rebuilt_alone(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    # same row count, one value changed: the row-hash sum catches it
    _sql(src, "UPDATE events SET platform = 'harmony' WHERE ts = TIMESTAMP '2026-08-31 23:59:59'")
    res = rollup.refresh(src)
    assert res.days_read == [date(2026, 8, 31)]
    assert res.months_written == ["2026-08"]
    _assert_stored_equals_derived(src)
    # a change in the transactions of a day re-reads that day too
    _sql(src, "UPDATE transactions SET amount = 51 WHERE txn_id = 't2'")
    assert rollup.refresh(src).days_read == [date(2026, 9, 1)]
    _assert_stored_equals_derived(src)


def test_a_deleted_day_is_dropped_and_a_touched_file_reads_nothing(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    _sql(src, "DELETE FROM events WHERE ts < TIMESTAMP '2026-09-01 00:00'")
    res = rollup.refresh(src)
    assert res.days_read == [] and res.days_removed == [date(2026, 8, 31)]
    assert not (tmp_path / "s.duckdb.rollup" / "user_day" / "2026-08.parquet").exists()
    _assert_stored_equals_derived(src)
    os.utime(src)  # a new modification time, same rows: fingerprints say nothing changed
    res = rollup.refresh(src)
    assert not res.up_to_date and res.days_read == [] and res.days_removed == []
    assert rollup.is_current(src)


def test_a_stale_store_is_not_attached_and_metrics_fall_back_to_raw(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    assert rollup.is_current(src)
    _sql(src, "INSERT INTO events VALUES ('u3', TIMESTAMP '2026-09-03 07:00', 'login', 5.0, "
              "'face', 'ios', false)")
    assert not rollup.is_current(src)
    con = connect(src)
    try:
        t = {n: con.table(n) for n in rollup.RAW_TABLES}
        ud = rollup.tables(con, t)["user_day"]
        assert "rollup_user_day" not in con.list_tables()  # derived from the raw events
        assert ud.filter(ud.day == date(2026, 9, 3)).count().execute() == 1
    finally:
        con.disconnect()


def test_a_parquet_folder_gets_a_sibling_store_and_refreshes_by_day(tmp_path):
    folder = tmp_path / "bank"
    (folder / "events").mkdir(parents=True)
    EVENTS.to_parquet(folder / "events" / "part-1.parquet")
    TRANSACTIONS.to_parquet(folder / "transactions.parquet")
    assert len(rollup.refresh(folder).days_read) == 3
    assert (tmp_path / "bank.rollup" / "manifest.json").is_file()
    new_day = EVENTS.iloc[:1].assign(ts=pd.to_datetime(["2026-09-05 12:00"]))
    new_day.to_parquet(folder / "events" / "part-2.parquet")
    assert rollup.refresh(folder).days_read == [date(2026, 9, 5)]
    _assert_stored_equals_derived(folder)


def test_an_engine_url_has_no_store(tmp_path):
    with pytest.raises(DataSourceError, match="local sources"):
        rollup.refresh("pyspark://local[1]")


def test_duckdb_memory_limit_and_spill_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("REVIEW_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("REVIEW_DUCKDB_TEMP_DIR", raising=False)
    default = duckdb_config()
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    # a quarter of the machine's memory, at most 1 GiB, at least 512 MiB
    assert default["memory_limit"] == f"{max(512, min(1024, total_mb // 4))}MB"
    monkeypatch.setenv("REVIEW_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("REVIEW_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    src = _store(tmp_path / "s.duckdb")
    folder = tmp_path / "bank"
    folder.mkdir()
    EVENTS.to_parquet(folder / "events.parquet")
    for source in (src, folder):  # a DuckDB file and a Parquet folder
        con = connect(source)
        limit, temp = con.raw_sql("SELECT current_setting('memory_limit'), "
                                  "current_setting('temp_directory')").fetchone()
        con.disconnect()
        assert limit.startswith("286")  # 300 MB in MiB
        assert Path(temp).parent == tmp_path / "spill"  # a sub-folder per instance
    # DuckDB's spill file names repeat: instances must not share a folder; connections to
    # one file share an instance, which needs identical settings
    assert duckdb_config()["temp_directory"] != duckdb_config()["temp_directory"]
    assert (duckdb_config(database=src)["temp_directory"]
            == duckdb_config(database=src)["temp_directory"])
    a, b = connect(src), connect(src)  # both open at once
    a.disconnect()
    b.disconnect()


def test_refresh_sources_builds_stale_local_stores_once_and_skips_the_rest(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    said: list[str] = []
    sources = [str(src), str(src), "pyspark://local[1]", str(tmp_path / "missing.duckdb")]
    rollup.refresh_sources(sources, say=said.append)
    assert rollup.is_current(src)
    assert said[-1].startswith("rollups in") and "3 day(s) read" in said[-1]  # built once, with progress
    said.clear()
    rollup.refresh_sources(sources, say=said.append)
    assert said == []  # current: nothing read, nothing said


def test_cli_rollup_builds_then_reports_up_to_date(tmp_path, capsys):
    from review.cli import main

    src = _store(tmp_path / "s.duckdb")
    assert main(["rollup", "--source", str(src)]) == 0
    out = capsys.readouterr().out
    assert "fingerprinting raw days" in out and "3 day(s) read" in out
    assert main(["rollup", "--source", str(src), "--quiet"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["rollup", "--source", "postgres://u:pw@db/bank"]) == 2
    err = capsys.readouterr().err
    assert "only for local sources" in err and "pw@" not in err  # the password is redacted


def test_a_raw_table_that_vanishes_rebuilds_everything_without_stale_files(tmp_path):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    store = tmp_path / "s.duckdb.rollup"
    assert any((store / "txn_day").glob("20*.parquet"))
    _sql(src, "DROP TABLE transactions")
    res = rollup.refresh(src)
    assert len(res.days_read) == 3  # every events day, read again
    assert not (store / "txn_day").exists() and not (store / "bind_txn").exists()
    con = connect(src)
    try:
        assert "rollup_user_day" in con.list_tables()
        assert "rollup_txn_day" not in con.list_tables()
    finally:
        con.disconnect()


def test_an_unwritable_store_is_a_clear_error_and_the_batch_goes_on(tmp_path, caplog):
    src = _store(tmp_path / "s.duckdb")
    (tmp_path / "s.duckdb.rollup").write_text("not a folder")  # the store cannot be created
    with pytest.raises(DataSourceError, match="cannot build the rollups of s.duckdb"):
        rollup.refresh(src)
    rollup.refresh_sources([str(src)])  # logged, not raised: the periods derive the rollups
    assert "not refreshed" in caplog.text
    assert not rollup.is_current(src)


def test_a_damaged_rollup_file_is_not_attached_and_connect_still_works(tmp_path, caplog):
    src = _store(tmp_path / "s.duckdb")
    rollup.refresh(src)
    (tmp_path / "s.duckdb.rollup" / "txn_day" / "2026-09.parquet").write_bytes(b"not parquet")
    con = connect(src)
    try:
        tables = con.list_tables()
        assert "rollup_user_day" in tables and "rollup_txn_day" not in tables
    finally:
        con.disconnect()
    assert "rollup txn_day" in caplog.text and "review rollup --full" in caplog.text

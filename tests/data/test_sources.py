"""Source parity: one tiny dataset as a DuckDB file, a Parquet folder and a CSV folder gives the
same answers through ``review.data.connect``; and ``connect``'s errors."""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest

from review.data.connect import connect
from review.data.validate import validate
from review.errors import DataSourceError
from review.metrics.common import execute


def dataset() -> dict[str, pd.DataFrame]:
    users = pd.DataFrame({
        "user_id": ["U1", "U2", "U3", "U4"],
        "registered_at": pd.to_datetime(["2026-08-01 09:00:00", "2026-08-15 10:30:00",
                                         "2026-09-01 00:00:00", "2026-09-20 23:59:59"]),
        "acquisition_channel": ["organic", "branch", "referral", "kol"],
        "region": ["Hangzhou", "Huzhou", "Hangzhou", "Ningbo"],
        "city_tier": ["key", "lower", "key", "key"],
        "age_band": ["25-34", "55-64", "18-24", "35-44"],
        "segment": ["mass", "senior", "student", "hnw"],
    })
    events = pd.DataFrame({
        "user_id": ["U1", "U1", "U2", "U3", "U3", "U4"],
        "ts": pd.to_datetime(["2026-09-01 08:00:00", "2026-09-01 08:05:00",
                              "2026-09-02 12:00:00", "2026-09-03 07:00:00",
                              "2026-09-03 07:01:30", "2026-09-30 23:59:59"]),
        "event": ["login", "transfer", "login", "login", "crash", "login"],
        "session_seconds": [120.5, None, 30.0, 60.0, None, 15.0],
        "auth_method": ["face", None, "password", "fingerprint", None, "sms"],
        "platform": ["ios", "ios", "android", "harmony", "harmony", "android"],
        "risk_flag": [False, None, True, False, None, False],
    })
    transactions = pd.DataFrame({
        "txn_id": ["T1", "T2", "T3", "T4", "T5"],
        "user_id": ["U1", "U1", "U2", "U3", "U4"],
        "ts": pd.to_datetime(["2026-09-01 08:10:00", "2026-09-05 09:00:00",
                              "2026-09-02 12:30:00", "2026-09-03 07:05:00",
                              "2026-09-30 20:00:00"]),
        "type": ["transfer", "bill_pay", "wealth", "transfer", "loan"],
        "channel": ["mobile", "mobile", "branch", "mobile", "web"],
        "amount": [100.25, 35.5, 50000.0, 12.75, 8000.0],
        "status": ["success", "failed", "success", "success", "success"],
    })
    return {"users": users, "events": events, "transactions": transactions}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    data = dataset()
    store = root / "bank.duckdb"
    con = duckdb.connect(str(store))
    for name, df in data.items():
        con.register("_df", df)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _df')
        con.unregister("_df")
    con.close()
    (root / "parquet").mkdir()
    (root / "csv").mkdir()
    for name, df in data.items():
        df.to_parquet(root / "parquet" / f"{name}.parquet", index=False)
        df.to_csv(root / "csv" / f"{name}.csv", index=False)
    return {"duckdb": store, "parquet": root / "parquet", "csv": root / "csv"}


def answers(con) -> dict[str, object]:
    """The same questions asked of any source, as plain Python values."""
    u, e, t = con.table("users"), con.table("events"), con.table("transactions")
    ok = t.filter(t.status == "success")
    joined = ok.join(u, "user_id")
    by_segment = (joined.group_by("segment")
                  .aggregate(gmv=joined.amount.sum(), n=joined.count()).order_by("segment"))
    logins = e.filter(e.event == "login")
    per_day = (logins.group_by(day=logins.ts.date())
               .aggregate(dau=logins.user_id.nunique()).order_by("day"))
    return {
        "counts": [x.count().execute() for x in (u, e, t)],
        "gmv": ok.amount.sum().execute(),
        "active_users": logins.user_id.nunique().execute(),
        "session_mean": logins.session_seconds.mean().execute(),
        "risk_logins": logins.risk_flag.sum().execute(),
        "ts_range": [str(e.ts.min().execute()), str(e.ts.max().execute())],
        "registered_range": [str(u.registered_at.min().execute()),
                             str(u.registered_at.max().execute())],
        "by_segment": execute(by_segment).to_dict("records"),
        "dau": [(str(pd.Timestamp(d).date()), n)
                for d, n in execute(per_day).itertuples(index=False)],
        "mobile_failed": t.filter((t.channel == "mobile") & (t.status == "failed"))
                          .count().execute(),
    }


def test_three_forms_give_the_same_answers(sources):
    got = {kind: answers(connect(path)) for kind, path in sources.items()}
    # worked out by hand from dataset()
    expected = {
        "counts": [4, 6, 5],
        "gmv": 100.25 + 50000.0 + 12.75 + 8000.0,                 # T2 failed
        "active_users": 4,
        "session_mean": (120.5 + 30.0 + 60.0 + 15.0) / 4,
        "risk_logins": 1,
        "ts_range": ["2026-09-01 08:00:00", "2026-09-30 23:59:59"],
        "registered_range": ["2026-08-01 09:00:00", "2026-09-20 23:59:59"],
        "by_segment": [{"segment": "hnw", "gmv": 8000.0, "n": 1},
                       {"segment": "mass", "gmv": 100.25, "n": 1},
                       {"segment": "senior", "gmv": 50000.0, "n": 1},
                       {"segment": "student", "gmv": 12.75, "n": 1}],
        "dau": [("2026-09-01", 1), ("2026-09-02", 1), ("2026-09-03", 1), ("2026-09-30", 1)],
        "mobile_failed": 1,
    }
    for kind, result in got.items():
        assert result == expected, kind


def test_every_form_validates_clean(sources):
    window = (pd.Timestamp("2000-01-01").to_pydatetime(),
              pd.Timestamp("2026-12-31").to_pydatetime())
    for kind, path in sources.items():
        report = validate(connect(path), tables=["users", "events", "transactions"],
                          window=window)
        assert report.problems == (), (kind, report.format(kind))


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DataSourceError, match="data source .*nowhere.duckdb.* not found"):
        connect(tmp_path / "nowhere.duckdb")


def test_unset_variable_is_named_and_no_secret_leaks(monkeypatch):
    monkeypatch.delenv("REVIEW_TEST_UNSET_PW", raising=False)
    with pytest.raises(DataSourceError, match="REVIEW_TEST_UNSET_PW") as exc:
        connect("postgres://analyst:${REVIEW_TEST_UNSET_PW}@127.0.0.1:1/bank")
    assert "not set" in str(exc.value)
    # a set variable: whatever goes wrong, the message never shows its value
    monkeypatch.setenv("REVIEW_TEST_SECRET_PW", "s3cr3t-value")
    with pytest.raises(DataSourceError) as exc:
        connect("postgres://analyst:${REVIEW_TEST_SECRET_PW}@127.0.0.1:1/bank")
    assert "s3cr3t-value" not in str(exc.value)
    assert "postgres://analyst:***@127.0.0.1:1/bank" in str(exc.value)


def test_folder_without_tables_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a table", encoding="utf-8")
    with pytest.raises(DataSourceError, match="no Parquet or CSV table files found"):
        connect(tmp_path)


def test_ibis_sees_the_same_schema_families(sources):
    # CSV type inference must land on the same type families as the typed sources
    schemas = {k: connect(p).table("events").schema() for k, p in sources.items()}
    for kind, schema in schemas.items():
        assert schema["ts"].is_timestamp(), kind
        assert schema["risk_flag"].is_boolean(), kind
        assert schema["session_seconds"].is_floating(), kind
        assert schema["user_id"].is_string(), kind
    assert ibis.__version__  # the backend under test is ibis

"""Metrics from the daily rollups equal metrics from raw events, to the last digit.

The demo store (a copy, so its rollup folder does not leak into other tests) gets stored
rollups; every switched query is compared with the raw-event reference of
``tests/metrics/raw_reference.py`` with exact equality (``check_exact``), and the whole KPI set
of a period from stored rollups with the one from rollups derived in the query.
"""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest

from review.data import connect, rollup
from review.metrics import activity as act
from review.metrics import compute_period
from review.metrics import funnel as fun
from review.metrics import lifecycle as lc
from review.metrics import market as mkt
from review.metrics import retention as ret
from review.metrics import satisfaction as sat
from review.metrics.common import Window, execute
from tests.metrics import raw_reference as raw
from tests.metrics.helpers import demo_params, demo_tables

SWITCHED = ("retention", "funnel", "lifecycle", "satisfaction", "market")
WINDOWS = [Window(date(2026, 9, 1), date(2026, 9, 30)), Window(date(2026, 7, 1), date(2026, 9, 30))]


@pytest.fixture(scope="module")
def store(demo_store, tmp_path_factory):
    path = tmp_path_factory.mktemp("rollup-exact") / "demo.duckdb"
    shutil.copy(demo_store, path)
    rollup.refresh(path)
    return path


@pytest.fixture(scope="module")
def t(store):
    con = connect(store)
    tables = demo_tables(con)
    tables.update(rollup.tables(con, tables))
    # the stored rollups are read, not expressions over the raw tables
    assert tables["user_day"].get_name() == "rollup_user_day"
    assert tables["txn_day"].get_name() == "rollup_txn_day"
    yield tables
    con.disconnect()


def _same(new: pd.DataFrame, old: pd.DataFrame, keys: list[str] | None = None) -> None:
    if keys:
        new = new.sort_values(keys, ignore_index=True)
        old = old.sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(new, old, check_exact=True)


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_retention_from_rollups_equals_raw(t, w):
    u, e, ud = t["users"], t["events"], t["user_day"]
    for by in (None, "acquisition_channel"):
        _same(ret.day_n_retention(u, ud, w, by=by), raw.day_n_retention(u, e, w, by=by))
    _same(ret.day_n_retention(u, ud, w, until=date(2026, 10, 31)),
          raw.day_n_retention(u, e, w, until=date(2026, 10, 31)))
    _same(ret.weekly_cohorts(u, ud, w.end), raw.weekly_cohorts(u, e, w.end))


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_funnel_times_from_rollups_equal_raw_to_the_second(t, w):
    for by in (None, "acquisition_channel"):
        new = execute(fun.funnel_users(t["users"], fun.rollups(t), w, 30, by))
        old = execute(raw.funnel_users(t["users"], t["events"], t["transactions"], w, 30, by))
        _same(new, old, ["user_id"])
        assert new["txn_at"].notna().sum() > 0  # the comparison covers converted users


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_lifecycle_from_rollups_equals_raw(t, w):
    new = execute(lc.user_states(t["users"], t["user_day"], w, 60))
    _same(new, execute(raw.user_states(t["users"], t["events"], w, 60)), ["user_id"])
    _same(lc.lifecycle_trend(t["users"], t["user_day"], w.end, 60),
          raw.lifecycle_trend(t["users"], t["events"], w.end, 60))


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_active_users_trend_and_market_from_rollups_equal_raw(t, w):
    assert sat.active_users(t["user_day"], w) == raw.active_users(t["events"], w)
    _same(act.activity_trend(t["user_day"], t["users"], w.end),
          raw.activity_trend(t["events"], t["users"], w.end))
    metrics = ("mau_ratio", "mobile_share")
    _same(mkt.own_monthly_values(t, w, metrics),
          raw.own_monthly_values({k: t[k] for k in ("users", "events", "transactions")}, w,
                                 metrics), ["metric", "period"])


@pytest.mark.parametrize("period", ["2026-09", "2026-Q3"])
def test_period_from_stored_rollups_equals_derived(store, period):
    """Every KPI and table of the switched families: stored rollups vs derived in-query."""
    params = demo_params(period)
    stored_con, derived_con = connect(store), connect(store, rollups=False)
    try:
        stored = compute_period(stored_con, params)
        derived = compute_period(derived_con, params)
    finally:
        stored_con.disconnect()
        derived_con.disconnect()
    names = [n for n in stored.tables if n.split(".")[0] in SWITCHED]
    assert len(names) >= 15
    for name in names:
        pd.testing.assert_frame_equal(stored.tables[name], derived.tables[name],
                                      check_exact=True, obj=name)
    assert stored.tables["activity.trend"].equals(derived.tables["activity.trend"])
    for key, kpi in stored.kpis.items():
        if key in ("d7_retention", "funnel_conversion", "reactivation_rate",
                   "complaints_per_10k", "nps", "awareness", "penetration_key"):
            assert repr(kpi) == repr(derived.kpis[key]), key

"""Metrics from the daily rollups equal metrics from raw events, to the last digit.

The demo store (a copy, so its rollup folder does not leak into other tests) gets stored
rollups; every switched query is compared with the raw-event reference of
``tests/metrics/raw_reference.py`` with exact equality (``check_exact``; sums of amounts to a
relative 1e-12), and the whole KPI set of a period from stored rollups with the one from
rollups derived in the query. With the rollups attached, no query of a period reads the raw
``events`` or ``transactions`` tables (:class:`review.data.rollup.RawReads`).
"""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest

from review.data import connect, rollup
from review.kpis import KPI_CATALOG
from review.metrics import activity as act
from review.metrics import compute_period, risk
from review.metrics import funnel as fun
from review.metrics import lifecycle as lc
from review.metrics import market as mkt
from review.metrics import retention as ret
from review.metrics import satisfaction as sat
from review.metrics import value as val
from review.metrics.common import Window, execute
from tests.metrics import raw_reference as raw
from tests.metrics.helpers import demo_params, demo_tables

SWITCHED = ("retention", "funnel", "lifecycle", "satisfaction", "market", "activity", "risk",
            "value", "budget", "campaigns")
#: Relative tolerance for sums of amounts (doubles added in another order; counts are exact).
AMOUNT_RTOL = 1e-12
#: Float columns of whole periods, stored vs derived rollups: campaign and LTV values are sums
#: of doubles over many users rounded to the micro-unit, so a last-bit difference in the
#: order of addition can move the rounding by 1e-6 (counts are still compared exactly).
FLOAT_RTOL, FLOAT_ATOL = 1e-9, 2e-6
WINDOWS = [Window(date(2026, 9, 1), date(2026, 9, 30)), Window(date(2026, 7, 1), date(2026, 9, 30))]
#: Windows that cut months (the store holds data to 2026-10-31, so the stored September and
#: August have days outside them): ends mid-month; starts and ends mid-month; a week whose
#: previous week lies strictly inside September (lifecycle reads user_day for it).
CUT_WINDOWS = [Window(date(2026, 9, 1), date(2026, 9, 17)),
               Window(date(2026, 8, 10), date(2026, 9, 17)),
               Window(date(2026, 9, 15), date(2026, 9, 21))]
ALL_WINDOWS = WINDOWS + CUT_WINDOWS
WINDOW_IDS = ["month", "quarter", "to-mid-month", "mid-to-mid-month", "week"]


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
    assert tables["user_month"].get_name() == "rollup_user_month"
    assert tables["txn_day"].get_name() == "rollup_txn_day"
    yield tables
    con.disconnect()


def _same(new: pd.DataFrame, old: pd.DataFrame, keys: list[str] | None = None, *,
          amounts: tuple[str, ...] = ()) -> None:
    """Equal frames: exact, except the ``amounts`` columns (currency sums) to AMOUNT_RTOL."""
    if keys:
        new = new.sort_values(keys, ignore_index=True)
        old = old.sort_values(keys, ignore_index=True)
    rest = [c for c in new.columns if c not in amounts]
    pd.testing.assert_frame_equal(new[rest], old[rest], check_exact=True)
    for c in amounts:
        pd.testing.assert_series_equal(new[c].astype("float64"), old[c].astype("float64"),
                                       check_exact=False, rtol=AMOUNT_RTOL, atol=0)


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


@pytest.mark.parametrize("monthly", [True, False], ids=["user_month", "user_day"])
@pytest.mark.parametrize("w", ALL_WINDOWS, ids=WINDOW_IDS)
def test_lifecycle_from_rollups_equals_raw(t, w, monthly):
    um = t["user_month"] if monthly else None
    for d in (60, 180):  # 180: the dormancy window starts mid-March, six months back
        new = execute(lc.user_states(t["users"], t["user_day"], w, d, um))
        _same(new, execute(raw.user_states(t["users"], t["events"], w, d)), ["user_id"])
        _same(lc.lifecycle_trend(t["users"], t["user_day"], w.end, d, user_month=um),
              raw.lifecycle_trend(t["users"], t["events"], w.end, d))
    states = new["state"].value_counts()
    assert (states[["reactivated", "returning", "churned"]] > 0).all()  # covered


def test_months_of_reads_the_store_for_whole_months_only(t):
    """A range cutting two months: the whole month comes from the store, the cut ones from
    user_day (days outside the range never count), and the rows equal user_day's."""
    from review.data.rollup import months_of, user_month

    lo, hi = date(2026, 7, 20), date(2026, 9, 17)
    mixed = months_of(t["user_day"], t["user_month"], lo, hi)
    sql = str(t["user_month"].get_backend().compile(mixed))
    assert "rollup_user_month" in sql and "rollup_user_day" in sql
    ud = t["user_day"]
    only_days = user_month(ud.filter((ud.day >= lo) & (ud.day <= hi)))
    keys = ["user_id", "month"]
    _same(execute(mixed), execute(only_days), keys)
    got = execute(mixed)
    assert set(pd.to_datetime(got["month"]).dt.month) == {7, 8, 9}
    assert pd.to_datetime(got["last_login"]).max() <= pd.Timestamp(hi)
    assert pd.to_datetime(got["first_login"]).min() >= pd.Timestamp(lo)


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_active_users_trend_and_market_from_rollups_equal_raw(t, w):
    assert sat.active_users(t["user_day"], w) == raw.active_users(t["events"], w)
    for um in (t["user_month"], None):
        _same(act.activity_trend(t["user_day"], t["users"], w.end, user_month=um),
              raw.activity_trend(t["events"], t["users"], w.end))
    metrics = ("mau_ratio", "mobile_share")
    _same(mkt.own_monthly_values(t, w, metrics),
          raw.own_monthly_values({k: t[k] for k in ("users", "events", "transactions")}, w,
                                 metrics), ["metric", "period"])


@pytest.mark.parametrize("w", CUT_WINDOWS, ids=WINDOW_IDS[2:])
def test_activity_trend_cut_at_a_mid_month_end_equals_raw(t, w):
    for um in (t["user_month"], None):
        _same(act.activity_trend(t["user_day"], t["users"], w.end, user_month=um),
              raw.activity_trend(t["events"], t["users"], w.end))


@pytest.mark.parametrize("w", ALL_WINDOWS, ids=WINDOW_IDS)
def test_activity_from_rollups_equals_raw(t, w):
    ud, fd, e, light = t["user_day"], t["feature_day"], t["events"], ("account_query", "wealth")
    _same(act.activity_counts(ud, fd, w, light), raw.activity_counts(e, w, light))
    _same(act.activity_counts(ud, fd, w, light, t["user_month"]),
          raw.activity_counts(e, w, light))
    _same(act.feature_usage_by(ud, fd, t["users"], w, "segment", 5, t["user_month"]),
          raw.feature_usage_by(e, t["users"], w, "segment", 5))
    _same(act.daily_active_users(ud, w), raw.daily_active_users(e, w))
    _same(act.feature_usage_by(ud, fd, t["users"], w, "segment", 5),
          raw.feature_usage_by(e, t["users"], w, "segment", 5))
    _same(act.light_op_detail(fd, w, light), raw.light_op_detail(e, w, light))
    _same(act.logins_by(ud, w, "platform", 5), raw.logins_by(e, w, "platform", 5))
    assert act.activity_counts(ud, fd, w, light).iloc[0].min() > 0  # every count is covered


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_risk_from_rollups_equals_raw(t, w):
    base = risk.baseline_window(w, 84)
    tx = risk.daily_mobile_transactions(t["txn_day"], w, base)
    _same(tx, raw.daily_mobile_transactions(t["transactions"], w, base))
    assert tx["failed"].sum() > 0
    ev = risk.daily_login_counts(t["user_day"], w, base)
    _same(ev, raw.daily_login_counts(t["events"], w, base))
    assert (ev[["flagged_logins", "biometric_logins", "crashes"]].sum() > 0).all()
    _same(risk.biometric_by_age(t["user_day"], t["users"], w),
          raw.biometric_by_age(t["events"], t["users"], w))


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_value_from_rollups_equals_raw(t, w):
    td, tx = t["txn_day"], t["transactions"]
    _same(val.transaction_totals(td, w), raw.transaction_totals(tx, w),
          amounts=("gmv", "mobile_gmv"))
    for by in ("type", "channel"):
        _same(val.transactions_by(td, w, by), raw.transactions_by(tx, w, by),
              amounts=("gmv", "share_gmv"))
    _same(val.mobile_share_trend(td, w), raw.mobile_share_trend(tx, w),
          amounts=("gmv", "mobile_gmv"))
    _same(val.channel_preference_by_age(td, t["users"], w),
          raw.channel_preference_by_age(tx, t["users"], w))


@pytest.mark.parametrize("w", WINDOWS, ids=["month", "quarter"])
def test_user_month_value_and_ltv_cohorts_from_rollups_equal_raw(t, w):
    """The value of a user-month (campaign ROI, LTV) and budget's LTV cohort activity."""
    margins = {"transfer": 0.3, "wealth": 2.5, "bill_pay": 0.1}
    kw = {"margins": margins, "balances": t["balances"], "aum_margin_annual": 0.012}
    new = execute(val.user_month_value(w, txn_day=t["txn_day"], **kw))
    old = execute(raw.user_month_value(w, transactions=t["transactions"], **kw))
    # txns: the month's successful transactions (what makes a month active for LTV)
    assert (new["txns"] > 0).sum() > 100 and (new.loc[new["txns"] == 0, "txn_margin"] == 0).all()
    _same(new.drop(columns="txns"), old, ["user_id", "month_idx"],
          amounts=("txn_margin", "aum_margin", "value"))
    assert (new["txn_margin"] > 0).sum() > 100
    old = raw.ltv_cohort_activity(t["users"], t["transactions"], t["events"], w, **kw)
    for monthly in (None, t["user_month"]):  # active logins from user_day, or user_month
        new = val.ltv_cohort_activity(t["users"], t["txn_day"], t["user_day"], w, **kw,
                                      user_month=monthly)
        _same(new, old, amounts=("margin",))
    assert new["active_users"].sum() > 0


@pytest.mark.parametrize("period", ["2026-09", "2026-Q3"])
def test_period_from_stored_rollups_equals_derived_and_reads_no_raw_table(store, period):
    """Every KPI and table of the switched families: stored rollups vs derived in-query
    (both sum amounts as decimals, so even they are equal to the bit)."""
    params = demo_params(period)
    stored_con, derived_con = connect(store), connect(store, rollups=False)
    try:
        with rollup.RawReads(stored_con) as stored_reads:
            stored = compute_period(stored_con, params)
        with rollup.RawReads(derived_con) as derived_reads:
            derived = compute_period(derived_con, params)
    finally:
        stored_con.disconnect()
        derived_con.disconnect()
    # with rollups attached no query of the period reads the raw tables (counted from the SQL
    # each query compiles to); derived in-query, the same counter sees them read
    assert stored_reads.counts == {}
    assert derived_reads.total("events") > 10 and derived_reads.total("transactions") > 5
    names = [n for n in stored.tables if n.split(".")[0] in SWITCHED]
    assert len(names) >= 15
    for name in names:  # counts exact; money to FLOAT_RTOL (see there)
        a, b = stored.tables[name], derived.tables[name]
        floats = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
        pd.testing.assert_frame_equal(a.drop(columns=floats), b.drop(columns=floats),
                                      check_exact=True, obj=name)
        pd.testing.assert_frame_equal(a[floats], b[floats], check_exact=False,
                                      rtol=FLOAT_RTOL, atol=FLOAT_ATOL, obj=name)
    assert stored.tables["activity.trend"].equals(derived.tables["activity.trend"])
    assert {n.split(".")[0] for n in names} >= set(SWITCHED) - {"satisfaction"}
    keys = [k for k, kpi in KPI_CATALOG.items() if kpi.family in SWITCHED]
    assert len(keys) >= 30
    for key in keys:
        a, b = stored.kpis[key], derived.kpis[key]
        assert (a.note, a.rag, a.unit) == (b.note, b.rag, b.unit), key
        for f in ("value", "numerator", "denominator", "compare_value"):
            x, y = getattr(a, f), getattr(b, f)
            assert (x is None and y is None) or x == pytest.approx(
                y, rel=FLOAT_RTOL, abs=FLOAT_ATOL, nan_ok=True), (key, f)

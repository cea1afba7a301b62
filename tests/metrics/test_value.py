"""Known-answer tests for review.metrics.value (tiny hand-built tables; numbers by hand)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from review.data.rollup import txn_day, user_day
from review.kpis import KPI_CATALOG
from review.metrics import value as val
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
MARGINS = {"transfer": 1.0, "wealth": 10.0}


@pytest.fixture
def t():
    users = rows(
        "user_id registered_at age_band acquisition_channel",
        ("u1", "2026-01-05 09:00:00", "25-34", "organic"),
        ("u2", "2026-02-05 09:00:00", "65+", "branch"),
        ("u3", "2026-03-05 09:00:00", "25-34", "organic"),
    )
    transactions = rows(
        "txn_id user_id ts type channel amount status",
        ("T1", "u1", "2026-09-01 00:00:00", "transfer", "mobile", 100.0, "success"),  # P start
        ("T2", "u1", "2026-09-30 23:59:59", "wealth", "branch", 1000.0, "success"),   # P end
        ("T3", "u2", "2026-10-01 00:00:00", "transfer", "mobile", 50.0, "success"),   # out
        ("T4", "u2", "2026-09-15 10:00:00", "loan", "mobile", 500.0, "failed"),       # failed
        ("T5", "u2", "2026-09-15 11:00:00", "transfer", "web", 20.0, "success"),
        ("T6", "u3", "2026-08-31 23:59:59", "transfer", "mobile", 10.0, "success"),   # August
        ("T7", "u3", "2026-09-10 12:00:00", "bill_pay", "mobile", 30.0, "success"),
    )
    return make_tables(users=users, transactions=transactions)


# -- transactions ---------------------------------------------------------------------------------
def test_transaction_totals(t):
    # successful in P: T1 (mobile 100), T2 (branch 1000), T5 (web 20), T7 (mobile 30)
    # → 4 transactions, GMV 1150, mobile 2 (130), share 2/4
    got = val.transaction_totals(txn_day(t["transactions"]), SEP).iloc[0]
    assert got["transactions"] == 4
    assert got["gmv"] == pytest.approx(1150.0)
    assert got["mobile_transactions"] == 2
    assert got["mobile_gmv"] == pytest.approx(130.0)
    assert got["mobile_share"] == pytest.approx(0.5)
    assert got["note"] is None


def test_empty_period_gives_zero_counts_and_nan_share(t):
    got = val.headline({"transactions": t["transactions"]}, window("2025-01-01", "2025-01-31"),
                       make_params())
    assert got["transactions"].value == 0 and got["gmv"].value == 0
    assert math.isnan(got["mobile_share"].value)
    assert "zero" in got["mobile_share"].note


def test_transactions_by_type_and_channel(t):
    by_type = val.transactions_by(txn_day(t["transactions"]), SEP, "type")
    # transfer: T1 100 + T5 20 = 2 / 120; wealth: T2 1000; bill_pay: T7 30
    assert by_type["type"].tolist() == ["transfer", "bill_pay", "wealth"]
    assert by_type["transactions"].tolist() == [2, 1, 1]
    assert by_type["gmv"].tolist() == pytest.approx([120.0, 30.0, 1000.0])
    assert by_type["share_transactions"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert by_type["share_gmv"].tolist() == pytest.approx([120 / 1150, 30 / 1150, 1000 / 1150])
    by_channel = val.transactions_by(txn_day(t["transactions"]), SEP, "channel").set_index("channel")
    assert by_channel["transactions"].to_dict() == {"mobile": 2, "branch": 1, "web": 1}
    assert by_channel.loc["branch", "gmv"] == pytest.approx(1000.0)
    with pytest.raises(ValueError, match="type' or 'channel"):
        val.transactions_by(txn_day(t["transactions"]), SEP, "status")


def test_mobile_share_trend(t):
    trend = val.mobile_share_trend(txn_day(t["transactions"]), SEP)
    # 12 months Oct 2025 .. Sep 2026; Aug: T6 only (mobile) → 1.0; Sep: 2/4; October's T3 is
    # after P's end → not in any month; other months empty → share NaN, counts 0
    assert trend["month"].tolist()[0] == date(2025, 10, 1)
    assert trend["month"].tolist()[-1] == date(2026, 9, 1)
    assert len(trend) == 12
    by_month = trend.set_index("month")
    assert by_month.loc[date(2026, 8, 1), "mobile_share"] == 1.0
    assert by_month.loc[date(2026, 9, 1), "transactions"] == 4
    assert by_month.loc[date(2026, 9, 1), "mobile_share"] == pytest.approx(0.5)
    assert by_month.loc[date(2026, 1, 1), "transactions"] == 0
    assert math.isnan(by_month.loc[date(2026, 1, 1), "mobile_share"])


def test_channel_preference_by_age(t):
    got = val.channel_preference_by_age(
        txn_day(t["transactions"]), t["users"], SEP).set_index("age_band")
    # 25-34: u1 (T1 mobile, T2 branch), u3 (T7 mobile): users 2, mobile users 2, txns 3, mobile 2
    # 65+: u2 (T5 web): users 1, mobile users 0, txns 1
    assert got.loc["25-34", ["users", "mobile_users", "transactions",
                             "mobile_transactions"]].tolist() == [2, 2, 3, 2]
    assert got.loc["25-34", "mobile_share"] == pytest.approx(2 / 3)
    assert got.loc["25-34", "mobile_user_share"] == 1.0
    assert got.loc["65+", "mobile_share"] == 0.0


def test_breakdowns_suppress_small_age_bands(t):
    out = val.breakdowns(t, SEP, make_params(min_cell_users=2))
    pref = out["channel_preference_by_age"].set_index("age_band")
    assert not pref.loc["25-34", "suppressed"] and pref.loc["25-34", "users"] == 2
    assert pref.loc["65+", "suppressed"] and math.isnan(pref.loc["65+", "mobile_share"])
    assert {"by_type", "by_channel", "mobile_share_trend"} <= set(out)
    assert "hnw_conversion" not in out  # no balances table → omitted


# -- HNW conversion ---------------------------------------------------------------------------------
@pytest.fixture
def balances():
    b = rows(
        "user_id month aum",
        ("a", "2026-07-31", 600_000.0),      # another month: ignored
        ("a", "2026-08-31", 600_000.0), ("a", "2026-09-30", 1_200_000.0),     # converted
        ("b", "2026-08-31", 999_999.99), ("b", "2026-09-30", 1_000_000.0),    # converted (≥)
        ("c", "2026-08-31", 1_000_000.0), ("c", "2026-09-30", 1_500_000.0),   # already HNW
        ("d", "2026-08-31", 500_000.0), ("d", "2026-09-30", 900_000.0),       # eligible only
        ("e", "2026-08-31", 499_999.0), ("e", "2026-09-30", 2_000_000.0),     # not eligible
        ("f", "2026-08-31", 700_000.0),                                       # no end row
        ("g", "2026-09-30", 2_000_000.0),                                     # no start row
    )
    return make_tables(balances=b)["balances"]


def test_hnw_conversion(balances):
    got = val.hnw_conversion(balances, SEP, eligible_aum=500_000, hnw_aum=1_000_000).iloc[0]
    # eligible on 2026-08-31: a, b, d (500k is in), f → 4; converted on 2026-09-30: a, b → 2
    assert got["start_month_end"] == date(2026, 8, 31)
    assert got["end_month_end"] == date(2026, 9, 30)
    assert (got["eligible"], got["converted"], got["eligible_without_end_row"]) == (4, 2, 1)
    assert got["rate"] == pytest.approx(0.5)


def test_hnw_headline(balances):
    got = val.headline({"balances": balances}, SEP, make_params())
    assert got["hnw_conversions"].value == 2
    assert got["hnw_conversion_rate"].value == pytest.approx(0.5)
    assert (got["hnw_conversion_rate"].numerator, got["hnw_conversion_rate"].denominator) == (2, 4)
    assert "needs table transactions" in got["transactions"].note  # missing table → NaN note
    assert set(got) == {k for k, v in KPI_CATALOG.items() if v.family == "value"}


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-09-01", "2026-09-30", (date(2026, 8, 31), date(2026, 9, 30))),
    ("2026-07-01", "2026-09-30", (date(2026, 6, 30), date(2026, 9, 30))),   # a quarter
    ("2026-09-10", "2026-10-20", (date(2026, 8, 31), date(2026, 9, 30))),   # mid-month both
])
def test_hnw_month_ends(start, end, expected):
    assert val.hnw_month_ends(window(start, end)) == expected


def test_hnw_without_month_end_or_eligible(balances):
    mid = val.hnw_conversion(balances, window("2026-09-10", "2026-09-20"),
                             eligible_aum=500_000, hnw_aum=1_000_000).iloc[0]
    assert math.isnan(mid["rate"]) and "no month end" in mid["note"]
    none = val.hnw_conversion(balances, window("2025-01-01", "2025-01-31"),
                              eligible_aum=500_000, hnw_aum=1_000_000).iloc[0]
    assert none["eligible"] == 0 and math.isnan(none["rate"]) and "zero" in none["note"]
    h = val.headline({"balances": balances}, window("2026-09-10", "2026-09-20"), make_params())
    assert math.isnan(h["hnw_conversions"].value) and "no month end" in h["hnw_conversions"].note


# -- LTV --------------------------------------------------------------------------------------------
@pytest.fixture
def ltv_tables():
    users = rows(
        "user_id registered_at acquisition_channel",
        ("r1", "2026-07-10 09:00:00", "referral"),
        ("r2", "2026-07-20 09:00:00", "referral"),
        ("r5", "2026-07-25 09:00:00", "referral"),
        ("r3", "2026-08-05 09:00:00", "referral"),
        ("r4", "2025-09-15 09:00:00", "referral"),   # before the 12 cohort months: left out
        ("k1", "2026-09-30 23:59:59", "kol"),        # September cohort: only age 0 observed
        ("k2", "2026-10-01 00:00:00", "kol"),        # after P: left out
    )
    events = rows(
        "user_id ts event",
        ("r1", "2026-07-11 08:00:00", "login"),
        ("r5", "2026-07-26 08:00:00", "login"),
        ("r5", "2026-08-03 08:00:00", "login"),
        ("r1", "2026-09-02 08:00:00", "login"),
        ("r3", "2026-08-06 08:00:00", "login"),
        ("r3", "2026-08-06 08:01:00", "account_query"),   # not a login: no activity
        ("r4", "2026-09-02 08:00:00", "login"),
        ("k1", "2026-09-30 23:59:59", "login"),
        ("r3", "2026-10-01 00:00:00", "login"),           # after P: never read
    )
    transactions = rows(
        "txn_id user_id ts type channel amount status",
        ("t1", "r2", "2026-07-21 10:00:00", "transfer", "mobile", 5.0, "success"),
        ("t2", "r1", "2026-08-15 10:00:00", "wealth", "branch", 5.0, "success"),
        ("t3", "r2", "2026-08-15 10:00:00", "wealth", "mobile", 5.0, "failed"),
        ("t4", "r1", "2026-09-15 10:00:00", "transfer", "mobile", 5.0, "success"),
        ("t5", "r1", "2026-10-01 00:00:00", "wealth", "mobile", 5.0, "success"),
        ("t6", "r2", "2026-09-16 10:00:00", "loan", "mobile", 5.0, "success"),  # no margin: 0
    )
    return make_tables(users=users, events=events, transactions=transactions)


def test_ltv_cohort_activity(ltv_tables):
    t = ltv_tables
    got = val.ltv_cohort_activity(t["users"], txn_day(t["transactions"]),
                                  user_day(t["events"]), SEP,
                                  margins=MARGINS)
    # referral cohorts: July (r1, r2, r5), August (r3); last full month = September
    # age 0: users 3 + 1 = 4; active r1, r2 (t1), r5, r3 = 4; margin t1 = 1
    # age 1: users 4 (Aug for July, Sep for August); active r1 (t2 wealth 10), r5 = 2; margin 10
    #        (r2's t3 failed: not active)
    # age 2: users 3 (July only: September); active r1 (login + t4 = 1), r2 (t6 loan: margin 0)
    #        = 2; margin 1
    ref = got[got["acquisition_channel"] == "referral"]
    assert ref["age"].tolist() == [0, 1, 2]
    assert ref["cohort_users"].tolist() == [4, 4, 3]
    assert ref["active_users"].tolist() == [4, 2, 2]
    assert ref["margin"].tolist() == pytest.approx([1.0, 10.0, 1.0])
    kol = got[got["acquisition_channel"] == "kol"]
    assert kol[["age", "cohort_users", "active_users"]].values.tolist() == [[0, 1, 1]]


def test_ltv_by_channel_known_answer(ltv_tables):
    t = ltv_tables
    act = val.ltv_cohort_activity(t["users"], txn_day(t["transactions"]),
                                  user_day(t["events"]), SEP,
                                  margins=MARGINS)
    got = val.ltv_by_channel(act, horizon_months=4, monthly_discount_rate=0.1,
                             margins=MARGINS).set_index("acquisition_channel")
    # r = 4/4, 2/4, 2/3 observed; q = min(1, (2/3)/(2/4)) = 1 → r(3) = 2/3
    # a = (1 + 10 + 1) / (4 + 2 + 2) = 1.5 per active user-month
    # LTV = 1.5 · (1 + 0.5/1.1 + (2/3)/1.1² + (2/3)/1.1³)
    expected = 1.5 * (1 + 0.5 / 1.1 + (2 / 3) / 1.1**2 + (2 / 3) / 1.1**3)
    assert got.loc["referral", "ltv"] == pytest.approx(expected)
    assert got.loc["referral", "decay"] == 1.0
    assert got.loc["referral", "cohort_users"] == 4
    assert got.loc["referral", "observed_months"] == 3
    assert got.loc["referral", "margin_per_active_month"] == pytest.approx(1.5)
    # kol: only age 0 observed → cannot project: NaN with a note
    assert math.isnan(got.loc["kol", "ltv"]) and "fewer than two" in got.loc["kol", "note"]


def test_ltv_curve_decays_geometrically():
    import pandas as pd
    act = pd.DataFrame({"acquisition_channel": "x", "age": [0, 1, 2],
                        "cohort_users": [10, 10, 10], "active_users": [10, 8, 4],
                        "margin": [20.0, 16.0, 8.0]})
    curve = val.ltv_curve(act, horizon_months=5, monthly_discount_rate=0.0)
    # r = 1, .8, .4 observed; q = .4/.8 = .5 → r(3) = .2, r(4) = .1; a = 44/22 = 2
    assert curve["retention"].tolist() == pytest.approx([1, 0.8, 0.4, 0.2, 0.1])
    assert curve["observed"].tolist() == [True, True, True, False, False]
    assert curve["cumulative_ltv"].iloc[-1] == pytest.approx(2 * 2.5)
    summary = val.ltv_by_channel(act, horizon_months=5, monthly_discount_rate=0.0)
    assert summary.loc[0, "ltv"] == pytest.approx(5.0) and summary.loc[0, "decay"] == 0.5


def test_ltv_without_margins_is_nan_with_note(ltv_tables):
    t = ltv_tables
    act = val.ltv_cohort_activity(t["users"], txn_day(t["transactions"]),
                                  user_day(t["events"]), SEP, margins={})
    got = val.ltv_by_channel(act, horizon_months=4, monthly_discount_rate=0.0, margins={})
    assert got["ltv"].isna().all()
    assert got["note"].str.contains("margin_per_txn").all()


def test_trend_window_and_grid():
    w = window("2026-03-01", "2026-03-15")
    assert val.trend_window(w) == window("2025-04-01", "2026-03-15")
    grid = val.month_grid(w)
    assert grid["month"].tolist()[0] == date(2025, 4, 1) and len(grid) == 12


# -- planted effect on the demo store ----------------------------------------------------------------
def test_planted_hnw_conversions_match_ground_truth(demo_con):
    truth = demo_con.table("ground_truth").execute()
    keys = truth[truth["key"].str.startswith("hnw_conversions.")]
    assert len(keys) >= 12
    balances = demo_con.table("balances")
    for key, expected, detail in zip(keys["key"], keys["value"], keys["detail"], strict=True):
        start = date.fromisoformat(key.removeprefix("hnw_conversions.") + "-01")
        idx = start.year * 12 + start.month - 1
        month = val.Window(start, val.month_of_index(idx + 1) - timedelta(days=1))
        got = val.hnw_conversion(balances, month, eligible_aum=500_000, hnw_aum=1_000_000)
        assert got["converted"].iloc[0] == expected, key
        if isinstance(detail, str) and "eligible" in json.loads(detail):
            assert got["eligible"].iloc[0] == json.loads(detail)["eligible"], key

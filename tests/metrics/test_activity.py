"""Known-answer tests for review.metrics.activity (tiny hand-built users and events)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from review.data.rollup import feature_day, user_day, user_month
from review.kpis import KPI_CATALOG
from review.metrics import activity as act
from review.metrics.common import Window
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
LIGHT = ("account_query", "transfer", "wealth")


@pytest.fixture
def t():
    users = rows(
        "user_id registered_at segment",
        ("u1", "2026-01-05 09:00:00", "mass"),
        ("u2", "2026-09-10 09:00:00", "mass"),
        ("u3", "2026-09-20 09:00:00", "student"),
        ("u4", "2026-08-05 09:00:00", "student"),
        ("u5", "2026-10-01 09:00:00", "mass"),        # after P: not in the base
    )
    events = rows(
        "user_id ts event platform",
        ("u1", "2026-09-01 00:00:00", "login", "ios"),        # P start: in
        ("u1", "2026-09-01 08:00:00", "login", "ios"),
        ("u1", "2026-09-01 08:01:00", "account_query", None),
        ("u1", "2026-09-30 23:59:59", "login", "android"),    # P's last second: in
        ("u2", "2026-09-15 10:00:00", "login", None),         # unknown platform
        ("u2", "2026-09-15 10:05:00", "transfer", None),
        ("u2", "2026-09-15 10:06:00", "loan", None),
        ("u2", "2026-09-15 10:07:00", "crash", None),         # not a feature event
        ("u2", "2026-09-15 10:08:00", "bind_card", None),     # not a feature event
        ("u2", "2026-09-15 10:09:00", "account_query", None),
        ("u3", "2026-10-01 00:00:00", "login", "ios"),        # end + 1 00:00: out
        ("u3", "2026-08-31 23:59:59", "wealth", None),        # before P: out
        ("u4", "2026-09-20 12:00:00", "bill_pay", None),      # feature event, no login in P
        ("u4", "2026-08-10 12:00:00", "login", "ios"),        # August
    )
    return make_tables(users=users, events=events)


def stored_months(t):
    """``t`` with a stored ``user_month`` of all its events (u3's Oct 1 login included)."""
    ud = user_day(t["events"])
    return {**t, "user_month": t["events"].get_backend().create_table("user_month",
                                                                      user_month(ud))}


def test_activity_counts(t):
    # logins in P: u1 ×3, u2 ×1 = 4; active users u1, u2 = 2;
    # user-days (u1, 09-01), (u1, 09-30), (u2, 09-15) = 3;
    # feature events: account_query ×2, transfer, loan, bill_pay = 5; light: 2 + 1 = 3
    got = act.activity_counts(user_day(t["events"]), feature_day(t["events"]), SEP, LIGHT).iloc[0].to_dict()
    assert got == {"logins": 4, "active_users": 2, "active_user_days": 3,
                   "feature_events": 5, "light_events": 3}


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_headline(t, monthly):
    got = act.headline(stored_months(t) if monthly else t, SEP, make_params())
    assert set(got) == {k for k, v in KPI_CATALOG.items() if v.family == "activity"}
    assert got["active_users"].value == 2
    assert got["mau_ratio"].value == pytest.approx(2 / 4)        # base: u1..u4
    assert got["stickiness"].value == pytest.approx(3 / (30 * 2))  # mean DAU 3/30 ÷ 2
    assert (got["stickiness"].numerator, got["stickiness"].denominator) == (3, 60)
    assert got["logins_per_active_day"].value == pytest.approx(4 / 3)
    assert got["light_op_share"].value == pytest.approx(3 / 5)
    assert got["light_op_share"].note is None


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_activity_counts_of_a_window_cutting_two_months(t, monthly):
    # Aug 10 – Sep 15: logins u4 Aug 10, u1 Sep 1 ×2, u2 Sep 15 = 4 by 3 users on 3 user-days;
    # feature events: u3's wealth (Aug 31 23:59:59), u1's account_query, u2's transfer, loan
    # and account_query = 5, of which light 4 (loan is not); u4's Sep 20 bill_pay and u1's
    # Sep 30 login are after the window, though in the stored September
    um = stored_months(t)["user_month"] if monthly else None
    got = act.activity_counts(user_day(t["events"]), feature_day(t["events"]),
                              window("2026-08-10", "2026-09-15"), LIGHT, um).iloc[0].to_dict()
    assert got == {"logins": 4, "active_users": 3, "active_user_days": 3,
                   "feature_events": 5, "light_events": 4}


def test_headline_custom_light_set(t):
    # light = {loan} only → 1 of 5 feature events
    got = act.headline(t, SEP, make_params(light_ops=["loan"]))
    assert got["light_op_share"].value == pytest.approx(1 / 5)


def test_headline_empty_period_gives_nan_with_notes(t):
    # Jan 2027: no events; base = all 5 users → mau_ratio 0, ratios over 0 are NaN
    got = act.headline(t, window("2027-01-01", "2027-01-31"), make_params())
    assert got["active_users"].value == 0
    assert got["mau_ratio"].value == 0.0
    for key in ("stickiness", "logins_per_active_day", "light_op_share"):
        assert math.isnan(got[key].value) and "zero" in got[key].note


def test_headline_zero_registered_base(t):
    got = act.headline(t, window("2025-01-01", "2025-01-31"), make_params())
    assert math.isnan(got["mau_ratio"].value)
    assert got["mau_ratio"].note == "registered base is zero"


def test_daily_active_users(t):
    got = act.daily_active_users(user_day(t["events"]), SEP)
    assert len(got) == 30 and got["date"].iloc[0] == date(2026, 9, 1)
    nonzero = got[got["dau"] > 0]
    # 09-01: u1 (2 logins); 09-15: u2 (1); 09-30: u1 (1)
    assert nonzero["date"].tolist() == [date(2026, 9, 1), date(2026, 9, 15), date(2026, 9, 30)]
    assert nonzero["dau"].tolist() == [1, 1, 1]
    assert nonzero["logins"].tolist() == [2, 1, 1]
    assert got["dau"].sum() == 3  # = active user-days


def test_feature_usage_by_segment(t):
    # mass active users: u1, u2 = 2 (student: none active → no rows, u4's bill_pay dropped)
    # account_query: u1, u2 → 2/2 = 1.0; transfer: u2 → 0.5; loan: u2 → 0.5; unused: absent
    got = act.feature_usage_by(user_day(t["events"]), feature_day(t["events"]), t["users"], SEP, "segment", k=1)
    assert got["segment"].tolist() == ["mass"] * 3
    assert got["feature"].tolist() == ["account_query", "loan", "transfer"]
    assert got["users"].tolist() == [2, 1, 1]
    assert got["active_users"].tolist() == [2, 2, 2]
    assert got["usage_rate"].tolist() == [1.0, 0.5, 0.5]
    # k = 2: only account_query (2 users of 2 active) survives
    sup = act.feature_usage_by(user_day(t["events"]), feature_day(t["events"]), t["users"], SEP, "segment", k=2)
    assert sup.loc[~sup["suppressed"], "feature"].tolist() == ["account_query"]
    assert sup.loc[sup["suppressed"], "usage_rate"].isna().all()


def test_light_op_detail(t):
    got = act.light_op_detail(feature_day(t["events"]), SEP, LIGHT)
    # account_query 2, then bill_pay, loan, transfer 1 each (ties by name); total 5
    assert got["feature"].tolist() == ["account_query", "bill_pay", "loan", "transfer"]
    assert got["events"].tolist() == [2, 1, 1, 1]
    assert got["share"].tolist() == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert got["light"].tolist() == [True, False, False, True]


def test_logins_by_platform(t):
    # android: u1 09-30 (1 login, 1 user); ios: u1 ×2 (1 user); unknown: u2 (1)
    got = act.logins_by(user_day(t["events"]), SEP, "platform", k=1)
    assert got["platform"].tolist() == ["android", "ios", "unknown"]
    assert got["logins"].tolist() == [1, 2, 1]
    assert got["users"].tolist() == [1, 1, 1]
    assert got["share"].tolist() == [0.25, 0.5, 0.25]
    assert act.logins_by(user_day(t["events"]), SEP, "platform", k=2)["suppressed"].all()


def test_activity_trend(t):
    got = act.activity_trend(user_day(t["events"]), t["users"], date(2026, 9, 30)).set_index("month")
    assert len(got) == 12
    sep, aug = got.loc[date(2026, 9, 1)], got.loc[date(2026, 8, 1)]
    # Sep: same as the headline
    assert (sep["active_users"], sep["logins"], sep["active_user_days"]) == (2, 4, 3)
    assert sep["registered_base"] == 4 and sep["mau_ratio"] == 0.5
    assert sep["stickiness"] == pytest.approx(3 / (30 * 2))
    # Aug: u4 one login; base at Aug 31: u1, u4 = 2; 31 days
    assert (aug["active_users"], aug["logins"], aug["registered_base"]) == (1, 1, 2)
    assert aug["mau_ratio"] == 0.5 and aug["stickiness"] == pytest.approx(1 / 31)
    # Oct 2025: nothing, base 0 → ratios NaN
    assert math.isnan(got.loc[date(2025, 10, 1), "mau_ratio"])


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_activity_trend_cut_at_end(t, monthly):
    # end 09-15: logins 09-01 (u1 ×2) and 09-15 (u2) → MAU 2, user-days 2, over 15 days
    # (u1's 09-30 login is in the stored September: it must not count)
    um = stored_months(t)["user_month"] if monthly else None
    sep = act.activity_trend(user_day(t["events"]), t["users"], date(2026, 9, 15),
                             user_month=um).iloc[-1]
    assert (sep["active_users"], sep["logins"], sep["active_user_days"]) == (2, 3, 2)
    assert sep["registered_base"] == 3   # u1, u4, u2
    assert sep["stickiness"] == pytest.approx(2 / (15 * 2))


def test_breakdowns(t):
    got = act.breakdowns(t, SEP, make_params(min_cell_users=1))
    assert set(got) == {"dau", "light_ops", "logins_by_platform",
                        "feature_usage_by_segment", "trend"}
    only_events = act.breakdowns({"events": t["events"]}, SEP, make_params())
    assert set(only_events) == {"dau", "light_ops", "logins_by_platform"}


# -- the demo store (session fixtures demo_store / demo_con of tests/conftest.py) -------------


def test_demo_planted_activity_levels(demo_con):
    from tests.metrics.helpers import demo_params, demo_tables

    t, p = demo_tables(demo_con), demo_params("2026-09")
    w = Window(p.start, p.end)
    head = act.headline(t, w, p)
    # the generator plants 3–5 logins per active day and > 70 % light operations
    assert 3.0 <= head["logins_per_active_day"].value <= 5.0
    assert head["light_op_share"].value > 0.70
    assert 0 < head["mau_ratio"].value <= 1
    assert 0 < head["stickiness"].value <= 1
    # the breakdowns agree with the headline
    dau = act.daily_active_users(user_day(t["events"]), w)
    assert dau["dau"].sum() == head["stickiness"].numerator          # active user-days
    sep = act.activity_trend(user_day(t["events"]), t["users"], p.end).iloc[-1]
    assert sep["active_users"] == head["active_users"].value
    assert sep["mau_ratio"] == pytest.approx(head["mau_ratio"].value)
    assert sep["logins_per_active_day"] == pytest.approx(head["logins_per_active_day"].value)
    light = act.light_op_detail(feature_day(t["events"]), w, p.thresholds.light_ops)
    assert light.loc[light["light"], "share"].sum() == pytest.approx(
        head["light_op_share"].value)
    usage = act.feature_usage_by(user_day(t["events"]), feature_day(t["events"]), t["users"], w, "segment", k=1)
    assert usage["usage_rate"].between(0, 1).all()

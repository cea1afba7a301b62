"""Known-answer tests for review.metrics.retention (tiny hand-built users and events).

Calendar: 2026-09-14 and 2026-09-21 are Mondays, 2026-09-27 a Sunday, 2026-09-30 a Wednesday.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from review.data.rollup import user_day
from review.metrics import retention as ret
from review.metrics.common import Window
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")


@pytest.fixture
def t():
    users = rows(
        "user_id registered_at acquisition_channel",
        ("a", "2026-09-01 00:00:00", "digital_ads"),   # P start
        ("b", "2026-09-23 23:59:59", "digital_ads"),   # day 7 = 09-30, observable
        ("c", "2026-09-24 10:00:00", "kol"),           # day 7 = 10-01, not observable
        ("d", "2026-09-30 23:59:59", "kol"),           # registered on P's last day
        ("e", "2026-10-01 00:00:00", "kol"),           # end + 1 00:00: not a new user
        ("f", "2026-08-31 23:59:59", "kol"),           # before P
    )
    events = rows(
        "user_id ts event",
        ("a", "2026-09-01 09:00:00", "login"),      # day 0
        ("a", "2026-09-02 00:00:00", "login"),      # day 1
        ("a", "2026-09-08 23:59:59", "login"),      # day 7 (last second)
        ("a", "2026-09-09 00:00:00", "login"),      # day 8: no
        ("a", "2026-09-08 12:00:00", "transfer"),   # not a login
        ("a", "2026-10-01 12:00:00", "login"),      # day 30, after P's end
        ("b", "2026-09-24 12:00:00", "login"),      # day 1
        ("b", "2026-09-30 23:59:59", "login"),      # day 7, P's last second
        ("c", "2026-10-01 00:00:00", "login"),      # day 7, after P's end
        ("d", "2026-10-01 08:00:00", "login"),      # day 1, after P's end
        ("f", "2026-09-01 08:00:00", "login"),      # not a new user
    )
    return make_tables(users=users, events=events)


def test_day_n_retention(t):
    got = ret.day_n_retention(t["users"], user_day(t["events"]), SEP).set_index("day")
    # new users: a, b, c, d = 4
    # day 1: observable iff reg ≤ 09-29 → a, b, c (d excluded); a (09-02), b (09-24) → 2/3
    # day 7: reg ≤ 09-23 → a, b (c, d excluded); a (09-08), b (09-30) → 2/2
    # day 30: reg ≤ 08-31 → nobody; all 4 excluded → NaN
    assert got["new_users"].tolist() == [4, 4, 4]
    assert got["eligible_users"].tolist() == [3, 2, 0]
    assert got["excluded_users"].tolist() == [1, 2, 4]
    assert got["retained_users"].tolist() == [2, 2, 0]
    assert got.loc[1, "retention"] == pytest.approx(2 / 3)
    assert got.loc[7, "retention"] == 1.0
    assert math.isnan(got.loc[30, "retention"])


def test_day_n_retention_follow_up_beyond_period(t):
    # until 10-31: everyone observable; day 1: a, b, d (10-01) → 3/4;
    # day 7: a, b, c (10-01) → 3/4; day 30: a (10-01) → 1/4
    got = ret.day_n_retention(t["users"], user_day(t["events"]), SEP, until=date(2026, 10, 31))
    assert got["eligible_users"].tolist() == [4, 4, 4]
    assert got["retained_users"].tolist() == [3, 3, 1]


def test_day_n_retention_by_channel(t):
    # digital_ads: a, b → d7 2/2; kol: c, d → both excluded at day 7
    got = ret.day_n_retention(t["users"], user_day(t["events"]), SEP, (7,), by="acquisition_channel")
    assert got["acquisition_channel"].tolist() == ["digital_ads", "kol"]
    assert got["eligible_users"].tolist() == [2, 0]
    assert got["retention"].iloc[0] == 1.0 and math.isnan(got["retention"].iloc[1])


def test_headline_d7_with_exclusion_note(t):
    got = ret.headline(t, SEP, make_params())["d7_retention"]
    assert (got.value, got.numerator, got.denominator) == (1.0, 2.0, 2.0)
    assert got.note == ("2 of 4 new users registered after 2026-09-23 are excluded "
                        "(day 7 after the period end)")


def test_headline_empty_period(t):
    got = ret.headline(t, window("2027-01-01", "2027-01-31"), make_params())["d7_retention"]
    assert math.isnan(got.value)
    assert got.note == "new users with an observable day 7 is zero"


def test_weekly_cohorts_end_on_wednesday(t):
    users = rows(
        "user_id registered_at",
        ("p", "2026-09-14 00:00:00"),   # cohort 09-14 (Monday 00:00)
        ("q", "2026-09-20 23:59:59"),   # cohort 09-14 (Sunday 23:59:59)
        ("r", "2026-09-21 00:00:00"),   # cohort 09-21
        ("s", "2026-09-30 23:59:59"),   # cohort 09-28 (registered on end day)
        ("x", "2026-10-01 00:00:00"),   # after end: left out though its week is 09-28
        ("o", "2026-09-13 23:59:59"),   # cohort 09-07: not among the 3 cohorts
    )
    events = rows(
        "user_id ts event",
        ("p", "2026-09-14 08:00:00", "login"),   # k0
        ("p", "2026-09-27 23:59:59", "login"),   # k1 (last second of the observable week)
        ("q", "2026-09-28 00:00:00", "login"),   # k2: week 09-28 not over by 09-30 → unseen
        ("r", "2026-09-21 09:00:00", "login"),   # k0
        ("r", "2026-09-22 09:00:00", "login"),   # k0 again: counted once
        ("s", "2026-09-30 10:00:00", "login"),   # unobservable week
        ("x", "2026-09-28 10:00:00", "login"),
        ("o", "2026-09-15 10:00:00", "login"),
    )
    tt = make_tables(users=users, events=events)
    got = ret.weekly_cohorts(tt["users"], user_day(tt["events"]), date(2026, 9, 30), weeks=3)
    assert len(got) == 9
    g = got.set_index(["cohort_week", "week"])
    w14, w21, w28 = date(2026, 9, 14), date(2026, 9, 21), date(2026, 9, 28)
    # cohort 09-14: p, q (2 users): k0 p → 0.5, k1 p → 0.5, k2 week 09-28 unobservable
    assert g.loc[(w14, 0), "cohort_users"] == 2
    assert g.loc[(w14, 0), "retention"] == 0.5 and g.loc[(w14, 1), "retention"] == 0.5
    assert math.isnan(g.loc[(w14, 2), "retention"]) and not g.loc[(w14, 2), "observable"]
    # cohort 09-21: r → k0 1.0; later weeks unobservable
    assert g.loc[(w21, 0), "retained_users"] == 1 and g.loc[(w21, 0), "retention"] == 1.0
    assert g.loc[(w21, 1), "retained_users"] != g.loc[(w21, 1), "retained_users"]  # NaN
    # cohort 09-28: s only (x left out); nothing observable
    assert g.loc[(w28, 0), "cohort_users"] == 1
    assert g.loc[w28, "retention"].isna().all()
    assert got["observable"].tolist() == [True, True, False, True, False, False,
                                          False, False, False]


def test_weekly_cohorts_end_on_sunday_observable_zero(t):
    users = rows(
        "user_id registered_at",
        ("o", "2026-09-13 23:59:59"),   # cohort 09-07
        ("p", "2026-09-14 00:00:00"),   # cohort 09-14
        ("q", "2026-09-20 23:59:59"),   # cohort 09-14
        ("r", "2026-09-21 00:00:00"),   # cohort 09-21
        ("s", "2026-09-30 23:59:59"),   # after end 09-27: left out
    )
    events = rows(
        "user_id ts event",
        ("o", "2026-09-15 10:00:00", "login"),   # cohort 09-07, k1
        ("p", "2026-09-14 08:00:00", "login"),   # k0
        ("p", "2026-09-27 23:59:59", "login"),   # k1: the week ending on `end` is observable
        ("q", "2026-09-28 00:00:00", "login"),   # end + 1 00:00: out
        ("r", "2026-09-21 09:00:00", "login"),   # k0
    )
    tt = make_tables(users=users, events=events)
    got = ret.weekly_cohorts(tt["users"], user_day(tt["events"]), date(2026, 9, 27), weeks=3)
    g = got.set_index(["cohort_week", "week"])["retention"]
    w07, w14, w21 = date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21)
    # cohort 09-07 (o): k0 nobody → 0.0 (observable, so 0 not NaN), k1 → 1.0, k2 → 0.0
    assert [g[(w07, k)] for k in range(3)] == [0.0, 1.0, 0.0]
    # cohort 09-14 (p, q): k0 0.5, k1 0.5 (09-27 23:59:59), k2 unobservable
    assert g[(w14, 0)] == 0.5 and g[(w14, 1)] == 0.5 and math.isnan(g[(w14, 2)])
    # cohort 09-21 (r; s registered after end): k0 1.0
    assert g[(w21, 0)] == 1.0
    assert got.set_index("cohort_week").loc[w21, "cohort_users"].iloc[0] == 1


def test_breakdowns_shapes_and_suppression(t):
    got = ret.breakdowns(t, SEP, make_params(min_cell_users=2))
    assert set(got) == {"cohorts", "day_n", "by_channel"}
    cohorts = got["cohorts"]
    assert len(cohorts) == 144 and cohorts["week"].max() == 11
    # cohort 08-31 (f 08-31, a 09-01) and cohort 09-21 (b 09-23, c 09-24): 2 users → shown;
    # cohort 09-28 (d) has 1 user and the others none → masked
    shown = cohorts.loc[~cohorts["suppressed"], "cohort_week"].unique().tolist()
    assert shown == [date(2026, 8, 31), date(2026, 9, 21)]
    assert cohorts.loc[cohorts["suppressed"], "retention"].isna().all()
    # day_n is derived from the per-channel query: equal to the direct computation
    pd.testing.assert_frame_equal(got["day_n"], ret.day_n_retention(t["users"], user_day(t["events"]), SEP))
    # by channel: kol has 0 eligible users at day 7 and 30 → suppressed; day column kept
    bc = got["by_channel"]
    assert bc["day"].tolist() == [7, 30, 7, 30]
    assert bc.loc[bc["acquisition_channel"] == "kol", "suppressed"].all()
    assert ret.breakdowns({"users": t["users"]}, SEP, make_params()) == {}


# -- the demo store (session fixtures demo_store / demo_con of tests/conftest.py) -------------


def test_demo_channel_quality_and_triangle(demo_con):
    from tests.metrics.helpers import demo_params, demo_tables

    t, p = demo_tables(demo_con), demo_params("2026-09")
    # planted: referral/branch users retain better than digital_ads/kol. Cohort: H1 2026 new
    # users (≈ 1,000 at 3,000 users), so that day 7 is observable for nearly all of them
    h1 = window("2026-01-01", "2026-06-30")
    d7 = ret.day_n_retention(t["users"], user_day(t["events"]), h1, (7,), by="acquisition_channel")
    r = d7.set_index("acquisition_channel")["retention"]
    assert (r["referral"] + r["branch"]) / 2 > (r["digital_ads"] + r["kol"]) / 2
    # the triangle: NaN exactly where the week is unobservable, shares elsewhere
    tri = ret.weekly_cohorts(t["users"], user_day(t["events"]), p.end)
    seen = tri[tri["observable"] & (tri["cohort_users"] > 0)]
    assert seen["retention"].between(0, 1).all()
    assert tri.loc[~tri["observable"], "retention"].isna().all()
    head = ret.headline(t, Window(p.start, p.end), p)["d7_retention"]
    assert 0 < head.value < 1 and "excluded" in head.note

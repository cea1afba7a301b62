"""Known-answer tests for review.metrics.lifecycle (tiny hand-built users and events).

P = Sep 2026 (30 days); previous window Aug 2 – Aug 31; with D = 60 the dormancy window is
Jul 3 – Aug 31.
"""

from __future__ import annotations

import calendar
import math
from datetime import date

import pytest

from review.data.rollup import user_day, user_month
from review.metrics import lifecycle as lc
from review.metrics.common import Window
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
OLD = "2026-01-01 09:00:00"


@pytest.fixture
def t():
    users = rows(
        "user_id registered_at",
        ("n1", "2026-09-01 00:00:00"),   # new (P start)
        ("n2", "2026-09-30 23:59:59"),   # new (P's last second)
        ("x", "2026-10-01 00:00:00"),    # after P: no state
        ("ret", OLD), ("res", OLD), ("rea", OLD), ("rea2", OLD), ("dor", OLD),
        ("dor2", "2026-08-25 10:00:00"),  # registered recently, never logged in
        ("chu", OLD), ("ina", OLD),
    )
    events = rows(
        "user_id ts event",
        ("n1", "2026-09-02 10:00:00", "login"),
        ("ret", "2026-08-31 23:59:59", "login"),   # previous window (last second)
        ("ret", "2026-09-01 00:00:00", "login"),   # P (first second) → returning
        ("res", "2026-07-15 10:00:00", "login"),   # dormancy window, not previous
        ("res", "2026-09-30 23:59:59", "login"),   # → resurrected
        ("rea", "2026-07-02 23:59:59", "login"),   # just before the dormancy window
        ("rea", "2026-09-10 10:00:00", "login"),   # → reactivated
        ("rea2", "2026-09-05 10:00:00", "login"),  # first login ever → reactivated
        ("dor", "2026-03-01 10:00:00", "login"),   # long ago → dormant
        ("dor", "2026-09-10 10:00:00", "transfer"),  # not a login: still dormant
        ("chu", "2026-08-02 00:00:00", "login"),   # previous window start
        ("chu", "2026-10-01 00:00:00", "login"),   # end + 1 00:00: not in P → churned
        ("ina", "2026-07-03 00:00:00", "login"),   # dormancy window start → inactive
    )
    return make_tables(users=users, events=events)


def stored_months(t):
    """``t`` with a stored ``user_month`` of all its events (Oct 1 logins included: the
    functions must not count them in September)."""
    ud = user_day(t["events"])
    return {**t, "user_month": t["events"].get_backend().create_table("user_month",
                                                                      user_month(ud))}


def test_lifecycle_counts(t):
    got = lc.lifecycle_counts(t["users"], user_day(t["events"]), SEP, 60).set_index("state")
    # new n1, n2; reactivated rea, rea2; dormant dor, dor2; returning ret; resurrected res;
    # churned chu; inactive ina → 10 users registered by Sep 30
    assert list(got.index) == list(lc.STATES)
    assert got["users"].to_dict() == {"new": 2, "reactivated": 2, "dormant": 2,
                                      "returning": 1, "resurrected": 1, "churned": 1,
                                      "inactive": 1}
    assert got["share"].sum() == pytest.approx(1.0)
    assert got.loc["new", "share"] == pytest.approx(0.2)


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_user_states_per_user(t, monthly):
    from review.metrics.common import execute
    um = stored_months(t)["user_month"] if monthly else None
    # with months: the Jul row of rea (one login Jul 2) must not count in the dormancy window
    # Jul 3 – Aug 31, though the months are read from Jul 1
    got = execute(lc.user_states(t["users"], user_day(t["events"]), SEP, 60, um))
    states = dict(zip(got["user_id"], got["state"], strict=True))
    assert states == {"n1": "new", "n2": "new", "ret": "returning", "res": "resurrected",
                      "rea": "reactivated", "rea2": "reactivated", "dor": "dormant",
                      "dor2": "dormant", "chu": "churned", "ina": "inactive"}


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_headline_reactivation_rate(t, monthly):
    # dormant at Sep 1: rea, rea2, dor, dor2 = 4; logged in during Sep: rea, rea2 → 0.5
    got = lc.headline(stored_months(t) if monthly else t, SEP,
                      make_params(dormancy_days=60))["reactivation_rate"]
    assert (got.value, got.numerator, got.denominator) == (0.5, 2.0, 4.0)


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_states_of_a_window_cut_mid_month(t, monthly):
    um = stored_months(t)["user_month"] if monthly else None
    ud = user_day(t["events"])
    # P = Sep 1–15: previous window Aug 17–31, dormancy window Jul 3 – Aug 31; n2 registers
    # after P. new n1; returning ret (Aug 31, Sep 1); reactivated rea (Jul 2, Sep 10) and rea2;
    # dormant dor, dor2; res (Jul 15, Sep 30), chu (Aug 2) and ina (Jul 3) logged in during
    # the dormancy window only → inactive. (Month rows: Sep is cut at the 15th; the previous
    # window is August's tail: chu's Aug 2 is before it.)
    got = lc.lifecycle_counts(t["users"], ud, window("2026-09-01", "2026-09-15"), 60, um)
    assert got.set_index("state")["users"].to_dict() == {
        "new": 1, "reactivated": 2, "dormant": 2, "returning": 1, "resurrected": 0,
        "churned": 0, "inactive": 3}
    # P = Sep 15–21: previous week Sep 8–14 lies strictly inside September, so the logins
    # come from user_day; dormancy window Jul 17 – Sep 14. rea (Sep 10: previous week, not
    # P) → churned; n1 (Sep 2), ret, rea2, chu → inactive; res (Jul 15), ina (Jul 3), dor,
    # dor2 → dormant; nobody logs in during P
    got = lc.lifecycle_counts(t["users"], ud, window("2026-09-15", "2026-09-21"), 60, um)
    assert got.set_index("state")["users"].to_dict() == {
        "new": 0, "reactivated": 0, "dormant": 4, "returning": 0, "resurrected": 0,
        "churned": 1, "inactive": 4}


def test_headline_longer_dormancy(t):
    # D = 180 (Mar 5 – Aug 31): rea (Jul 2) and dor (Mar 1)… dor's Mar 1 is before Mar 5
    # → dormant: rea2, dor, dor2 (rea logged in Jul 2: not dormant → resurrected)
    counts = lc.lifecycle_counts(t["users"], user_day(t["events"]), SEP, 180).set_index("state")
    assert counts.loc["reactivated", "users"] == 1 and counts.loc["dormant", "users"] == 2
    assert counts.loc["resurrected", "users"] == 2   # res, rea
    got = lc.headline(t, SEP, make_params(dormancy_days=180))["reactivation_rate"]
    assert got.value == pytest.approx(1 / 3)


def test_headline_no_dormant_users(t):
    # Jan 2025: nobody registered yet → 0 dormant → NaN with a note
    got = lc.headline(t, window("2025-01-01", "2025-01-31"), make_params())
    m = got["reactivation_rate"]
    assert math.isnan(m.value) and m.note == "dormant users at the period start is zero"


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
def test_lifecycle_trend_known_answers(t, monthly):
    um = stored_months(t)["user_month"] if monthly else None
    got = lc.lifecycle_trend(t["users"], user_day(t["events"]), date(2026, 9, 30), 60,
                             user_month=um).set_index("month")
    assert len(got) == 12
    # Sep (= headline): dormant 4, reactivated 2
    assert tuple(got.loc[date(2026, 9, 1), ["dormant_at_start", "reactivated"]]) == (4, 2)
    # Aug 1 (window Jun 2 – Jul 31): registered before: 7 old users; res, rea, ina logged in
    # in July → dormant 4 (ret, rea2, dor, chu); in Aug: ret (Aug 31), chu (Aug 2) → 2
    assert tuple(got.loc[date(2026, 8, 1), ["dormant_at_start", "reactivated"]]) == (4, 2)
    # Jul 1: no login May 2 – Jun 30 → all 7 dormant; Jul: res, rea, ina → 3/7
    assert got.loc[date(2026, 7, 1), "reactivation_rate"] == pytest.approx(3 / 7)
    # Mar 1: 7 dormant, dor logs in on Mar 1 → 1; Apr 1: dor not dormant → 6, 0
    assert tuple(got.loc[date(2026, 3, 1), ["dormant_at_start", "reactivated"]]) == (7, 1)
    assert tuple(got.loc[date(2026, 4, 1), ["dormant_at_start", "reactivated"]]) == (6, 0)
    # Jan 2026: nobody registered before Jan 1 → NaN
    assert math.isnan(got.loc[date(2026, 1, 1), "reactivation_rate"])


@pytest.mark.parametrize("monthly", [False, True], ids=["user_day", "user_month"])
@pytest.mark.parametrize("days", [60, 180])
def test_trend_matches_monthly_headline(t, days, monthly):
    um = stored_months(t)["user_month"] if monthly else None
    trend = lc.lifecycle_trend(t["users"], user_day(t["events"]), date(2026, 9, 30), days,
                               user_month=um)
    for m, dormant, back in zip(trend["month"], trend["dormant_at_start"],
                                trend["reactivated"], strict=True):
        w = Window(m, date(m.year, m.month, calendar.monthrange(m.year, m.month)[1]))
        n = lc.lifecycle_counts(t["users"], user_day(t["events"]), w, days, um
                                ).set_index("state")["users"]
        assert (n["reactivated"] + n["dormant"], n["reactivated"]) == (dormant, back), m


def test_breakdowns_suppression(t):
    got = lc.breakdowns(t, SEP, make_params(dormancy_days=60, min_cell_users=2))
    assert set(got) == {"states", "trend"}
    s = got["states"].set_index("state")
    # states with 1 user (returning, resurrected, churned, inactive) masked; 2-user ones kept
    assert s["suppressed"].to_dict() == {"new": False, "reactivated": False, "dormant": False,
                                         "returning": True, "resurrected": True,
                                         "churned": True, "inactive": True}
    assert lc.breakdowns({"events": t["events"]}, SEP, make_params()) == {}


# -- the demo store (session fixtures demo_store / demo_con of tests/conftest.py) -------------


def test_demo_dormant_users_reactivate(demo_con):
    from review.metrics.acquisition import user_counts
    from tests.metrics.helpers import demo_params, demo_tables

    t, p = demo_tables(demo_con), demo_params("2026-09")
    w, d = Window(p.start, p.end), p.thresholds.dormancy_days
    counts = lc.lifecycle_counts(t["users"], user_day(t["events"]), w, d).set_index("state")["users"]
    # every user registered by P's end has exactly one state
    assert counts.sum() == user_counts(t["users"], w)["registered_base"].iloc[0]
    # planted: some users go dormant and a share of them reactivate later
    assert counts["dormant"] > 0 and counts["reactivated"] > 0
    head = lc.headline(t, w, p)["reactivation_rate"]
    assert 0 < head.value < 1
    sep = lc.lifecycle_trend(t["users"], user_day(t["events"]), p.end, d).iloc[-1]
    assert (sep["dormant_at_start"], sep["reactivated"]) == (head.denominator, head.numerator)

"""Known-answer tests for review.metrics.funnel (tiny hand-built users, events, transactions)."""

from __future__ import annotations

import math

import pytest

from review.metrics import funnel
from review.metrics.common import Window, execute
from tests.metrics import raw_reference as raw
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")


@pytest.fixture
def t():
    users = rows(
        "user_id registered_at acquisition_channel",
        ("a", "2026-09-01 00:00:00", "digital_ads"),   # P start
        ("b", "2026-09-10 00:00:00", "digital_ads"),
        ("c", "2026-09-30 23:59:59", "kol"),           # P's last second
        ("d", "2026-09-15 00:00:00", "kol"),
        ("e", "2026-09-20 00:00:00", "kol"),
        ("f", "2026-10-01 00:00:00", "kol"),           # end + 1 00:00: not in the cohort
        ("g", "2026-08-31 23:59:59", "kol"),           # before P
    )
    events = rows(
        "user_id ts event",
        ("a", "2026-09-01 12:00:00", "bind_card"),     # +12 h
        ("a", "2026-09-03 12:00:00", "bind_card"),     # a later bind: the first one counts
        ("b", "2026-10-09 23:59:59", "bind_card"),     # +720 h − 1 s: inside the 30 days
        ("c", "2026-10-05 23:59:59", "bind_card"),     # +120 h, after P's end: counts
        ("d", "2026-10-15 00:00:00", "bind_card"),     # exactly +30 days: outside
        ("e", "2026-09-21 00:00:00", "bind_card"),     # +24 h
        ("e", "2026-09-20 06:00:00", "login"),         # not a bind
        ("f", "2026-10-01 01:00:00", "bind_card"),     # not in the cohort
        ("g", "2026-09-01 01:00:00", "bind_card"),     # not in the cohort
    )
    txns = rows(
        "txn_id user_id ts channel status",
        ("t1", "a", "2026-09-02 12:00:00", "mobile", "success"),   # bind + 24 h
        ("t2", "a", "2026-09-05 12:00:00", "mobile", "success"),   # later: first one counts
        ("t3", "b", "2026-10-09 23:59:59", "mobile", "success"),   # same instant as bind: in
        ("t4", "c", "2026-10-06 00:00:00", "mobile", "failed"),    # failed: no
        ("t5", "c", "2026-10-06 00:00:00", "branch", "success"),   # not mobile: no
        ("t6", "c", "2026-10-30 23:59:59", "mobile", "success"),   # exactly +30 days: out
        ("t7", "d", "2026-09-16 00:00:00", "mobile", "success"),   # never bound a card: no
        ("t8", "e", "2026-09-20 12:00:00", "mobile", "success"),   # before the bind: no
        ("t9", "g", "2026-09-02 00:00:00", "mobile", "success"),   # not in the cohort
    )
    return make_tables(users=users, events=events, transactions=txns)


def _steps(t, w=SEP, days=30, by=None):
    return funnel.funnel_steps(t["users"], funnel.rollups(t), w, days, by)


def test_funnel_steps(t):
    got = _steps(t)
    # registered a, b, c, d, e = 5; bound a, b, c, e = 4; transacted a, b = 2
    assert got["step"].tolist() == ["registered", "card_bound", "first_mobile_txn"]
    assert got["users"].tolist() == [5, 4, 2]
    assert got["step_conversion"].tolist() == [1.0, 0.8, 0.5]
    assert got["cumulative_conversion"].tolist() == [1.0, 0.8, 0.4]
    # hours to bind: a 12, e 24, c 120, b 719.9997 → median (24 + 120) / 2 = 72
    # hours bind → txn: a 24, b 0 → median 12
    assert math.isnan(got["median_hours"].iloc[0])
    assert got["median_hours"].iloc[1:].tolist() == pytest.approx([72.0, 12.0])


def test_funnel_users_times(t):
    f = funnel.funnel_users(t["users"], funnel.rollups(t), SEP, 30)
    df = execute(f).set_index("user_id").sort_index()   # a 5-row test cohort
    assert df.loc["b", "hours_to_bind"] == pytest.approx(720 - 1 / 3600)
    assert df.loc["b", "hours_to_txn"] == 0.0
    assert df["txn_at"].notna().tolist() == [True, True, False, False, False]


def test_funnel_short_window(t):
    # W = 2 days: bound a (12 h), e (24 h); a's txn at +36 h < 48 h; e's only txn is earlier
    got = _steps(t, days=2)
    assert got["users"].tolist() == [5, 2, 1]
    assert got["cumulative_conversion"].tolist() == [1.0, 0.4, 0.2]


def test_funnel_by_channel_suppressed(t):
    # digital_ads: a, b → 2, 2, 2; kol: c, d, e → 3, 2 (c, e), 0
    got = _steps(t, by="acquisition_channel")
    assert got["acquisition_channel"].tolist() == ["digital_ads"] * 3 + ["kol"] * 3
    assert got["users"].tolist() == [2, 2, 2, 3, 2, 0]
    assert got["cumulative_conversion"].tolist() == pytest.approx([1, 1, 1, 1, 2 / 3, 0])
    sup = funnel.breakdowns(t, SEP, make_params(min_cell_users=3))["by_channel"]
    # only kol's registered cell (3 users) reaches k = 3
    assert sup["suppressed"].tolist() == [True, True, True, False, True, True]
    assert sup["step_no"].tolist() == [1, 2, 3, 1, 2, 3]   # not masked
    assert sup.loc[sup["suppressed"], "cumulative_conversion"].isna().all()


def test_headline(t):
    got = funnel.headline(t, SEP, make_params())["funnel_conversion"]
    assert (got.value, got.numerator, got.denominator) == (0.4, 2.0, 5.0)


def test_headline_uses_conversion_window_param(t):
    got = funnel.headline(t, SEP, make_params(conversion_window_days=2))["funnel_conversion"]
    assert got.value == pytest.approx(0.2)


def test_empty_period(t):
    w = window("2027-01-01", "2027-01-31")
    got = funnel.headline(t, w, make_params())["funnel_conversion"]
    assert math.isnan(got.value) and got.note == "new users is zero"
    steps = _steps(t, w)
    assert steps["users"].tolist() == [0, 0, 0]
    assert steps["cumulative_conversion"].isna().all()


def test_breakdowns_need_all_tables(t):
    assert set(funnel.breakdowns(t, SEP, make_params())) == {"steps", "by_channel"}
    assert funnel.breakdowns({"users": t["users"], "events": t["events"]}, SEP,
                             make_params()) == {}


# -- the demo store (session fixtures demo_store / demo_con of tests/conftest.py) -------------


def test_demo_cards_bound_soon_after_registration(demo_con):
    from tests.metrics.helpers import demo_params, demo_tables

    t, p = demo_tables(demo_con), demo_params("2026-09")
    w = Window(p.start, p.end)
    steps = funnel.funnel_steps(t["users"], funnel.rollups(t), w,
                                p.thresholds.conversion_window_days)
    # planted: bind_card once per user, mostly within days of registration
    assert steps["step_conversion"].iloc[1] > 0.5
    assert steps["median_hours"].iloc[1] < 7 * 24
    assert steps["users"].is_monotonic_decreasing
    head = funnel.headline(t, w, p)["funnel_conversion"]
    assert head.value == pytest.approx(steps["cumulative_conversion"].iloc[-1])
    assert 0 < head.value < 1


def test_first_txn_after_binding_on_the_binding_day_from_rollups():
    """The daily rollups keep every mobile payment of a binding day, so the first payment
    *after* the binding is found even when an earlier one happened that day."""
    users = rows("user_id registered_at acquisition_channel",
                 ("p", "2026-09-01 08:00:00", "kol"), ("q", "2026-09-01 08:00:00", "kol"))
    events = rows("user_id ts event",
                  ("p", "2026-09-02 10:00:00", "bind_card"),
                  ("q", "2026-09-02 12:00:00", "bind_card"))
    txns = rows("txn_id user_id ts channel status",
                ("p1", "p", "2026-09-02 09:00:00", "mobile", "success"),  # before binding: no
                ("p2", "p", "2026-09-02 11:30:00", "mobile", "success"),  # first after: yes
                ("p3", "p", "2026-09-02 10:30:00", "web", "success"),     # not mobile
                ("q1", "q", "2026-09-02 11:00:00", "mobile", "success"),  # before binding
                ("q2", "q", "2026-09-03 08:00:00", "mobile", "success"),  # next day: first
                ("q3", "q", "2026-09-03 07:00:00", "mobile", "failed"))   # failed
    t = make_tables(users=users, events=events, transactions=txns)
    df = execute(funnel.funnel_users(t["users"], funnel.rollups(t), SEP, 30)).set_index(
        "user_id").sort_index()
    # p: bound 10:00, first mobile success after it 11:30 → 1.5 h; q: 12:00 → next day 08:00
    assert df.loc["p", "hours_to_txn"] == 1.5
    assert df.loc["q", "hours_to_txn"] == 20.0
    # the raw-event path agrees
    old = execute(raw.funnel_users(t["users"], t["events"], t["transactions"], SEP, 30))
    assert old.set_index("user_id").sort_index()["hours_to_txn"].tolist() == [1.5, 20.0]

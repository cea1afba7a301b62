"""Known-answer tests for review.metrics.satisfaction (tiny hand-built tables)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

import pytest

from review.config import load_params
from review.data.rollup import user_day
from review.kpis import KPI_CATALOG
from review.metrics import satisfaction as sat
from review.metrics.common import Window
from review.paths import PARAMS_DIR
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
AUG = window("2026-08-01", "2026-08-31")
Z95 = 1.959963984540054


@pytest.fixture
def t():
    surveys = rows(
        "response_id date nps_score",
        ("R1", "2026-09-01", 10), ("R2", "2026-09-02", 10), ("R3", "2026-09-03", 9),
        ("R4", "2026-09-30", 9),                                   # last day: in
        ("R5", "2026-09-04", 8), ("R6", "2026-09-05", 7),
        ("R7", "2026-09-06", 6), ("R8", "2026-09-07", 0),
        ("R9", "2026-10-01", 0),                                   # after P: out
        ("R10", "2026-08-31", 10),                                 # August
    )
    events = rows(
        "user_id ts event",
        ("u1", "2026-09-01 00:00:00", "login"), ("u1", "2026-09-02 00:00:00", "login"),
        ("u2", "2026-09-30 23:59:59", "login"), ("u3", "2026-09-10 10:00:00", "login"),
        ("u4", "2026-09-11 10:00:00", "login"),
        ("u5", "2026-10-01 00:00:00", "login"),                    # after P: not active
        ("u6", "2026-09-11 10:00:00", "transfer"),                 # not a login
    )
    complaints = rows(
        "ticket_id created_at category severity resolved_at",
        ("K1", "2026-09-01 00:00:00", "login", "high", "2026-09-01 02:00:00"),       # 2 h
        ("K2", "2026-09-30 23:59:59", "fees", "low", None),                          # open
        ("K3", "2026-09-15 10:00:00", "login", "medium", "2026-09-16 10:00:00"),     # 24 h
        ("K4", "2026-09-10 10:00:00", "app_crash", "low", "2026-09-10 16:00:00"),    # 6 h
        ("K5", "2026-10-01 00:00:00", "app_crash", "low", None),                     # after P
        ("K6", "2026-08-20 10:00:00", "login", "low", "2026-08-20 11:00:00"),        # August
    )
    return make_tables(surveys=surveys, events=events, complaints=complaints)


# -- NPS ------------------------------------------------------------------------------------------
def test_nps_summary(t):
    got = sat.nps_summary(t["surveys"], SEP).iloc[0]
    # September: promoters 10, 10, 9, 9 = 4; passives 8, 7 = 2; detractors 6, 0 = 2; n = 8
    # NPS = 100·(4 − 2)/8 = 25; var = (.5 + .25 − .25²)/8 = .0859375; se = 29.3151 points
    assert got[["responses", "promoters", "passives", "detractors"]].tolist() == [8, 4, 2, 2]
    se = 100 * math.sqrt(0.0859375)
    assert got["nps"] == pytest.approx(25.0)
    assert got["se"] == pytest.approx(se)
    assert got["lo"] == pytest.approx(25 - Z95 * se)
    assert got["hi"] == pytest.approx(25 + Z95 * se)


def test_nps_trend(t):
    got = sat.nps_trend(t["surveys"], SEP).set_index("month")
    assert len(got) == 12 and got.index[0] == date(2025, 10, 1)
    assert got.loc[date(2026, 8, 1), "nps"] == 100.0          # one promoter
    assert got.loc[date(2026, 9, 1), "nps"] == pytest.approx(25.0)
    assert got.loc[date(2026, 9, 1), "responses"] == 8         # October's R9 not counted
    assert math.isnan(got.loc[date(2026, 1, 1), "nps"])
    assert got.loc[date(2026, 1, 1), "note"] == "no survey responses"


def test_nps_headline_and_empty(t):
    got = sat.headline(t, SEP, make_params())
    assert set(got) == {k for k, v in KPI_CATALOG.items() if v.family == "satisfaction"}
    assert got["nps"].value == pytest.approx(25.0)
    empty = sat.headline(t, window("2025-01-01", "2025-01-31"), make_params())
    assert math.isnan(empty["nps"].value) and empty["nps"].note == "no survey responses"
    assert math.isnan(empty["complaints_per_10k"].value)
    assert "zero" in empty["complaints_per_10k"].note


# -- complaints -----------------------------------------------------------------------------------
def test_active_users(t):
    assert sat.active_users(user_day(t["events"]), SEP) == 4            # u1..u4


def test_complaints_summary_and_headline(t):
    got = sat.complaints_summary(t["complaints"], SEP, active=4).iloc[0]
    # tickets in P: K1..K4 = 4 per 4 active users → 10,000 per 10k; resolved K1, K3, K4
    # → median of 2, 24, 6 hours = 6; K2 unresolved
    assert got[["tickets", "active_users", "resolved", "unresolved"]].tolist() == [4, 4, 3, 1]
    assert got["per_10k"] == pytest.approx(10_000)
    assert got["median_resolution_hours"] == pytest.approx(6.0)
    h = sat.headline(t, SEP, make_params())["complaints_per_10k"]
    assert h.value == pytest.approx(10_000) and (h.numerator, h.denominator) == (4, 4)


def test_complaints_by_category_and_severity(t):
    cat = sat.complaints_by(t["complaints"], SEP, "category", active=4).set_index("category")
    # login: K1 (2 h), K3 (24 h) → median 13 h; app_crash: K4 6 h; fees: K2 open → NaN
    assert cat["tickets"].to_dict() == {"login": 2, "app_crash": 1, "fees": 1}
    assert cat.loc["login", "share"] == 0.5 and cat.loc["login", "per_10k"] == 5000
    assert cat.loc["login", "median_resolution_hours"] == pytest.approx(13.0)
    assert math.isnan(cat.loc["fees", "median_resolution_hours"])
    assert cat.loc["fees", "unresolved"] == 1
    sev = sat.complaints_by(t["complaints"], SEP, "severity", active=4).set_index("severity")
    assert sev["tickets"].to_dict() == {"low": 2, "high": 1, "medium": 1}
    assert sev.loc["low", "median_resolution_hours"] == pytest.approx(6.0)
    with pytest.raises(ValueError, match="category' or 'severity"):
        sat.complaints_by(t["complaints"], SEP, "ticket_id", active=4)


def _surge_complaints():
    base = datetime(2026, 8, 1, 12)
    tickets = []
    for d in range(31):                          # August: app_crash 1/day, login 2/day
        day = base + timedelta(days=d)
        tickets += [("app_crash", day), ("login", day), ("login", day + timedelta(hours=1))]
    tickets += [("app_crash", datetime(2026, 9, 5, 9))] * 12
    tickets += [("app_crash", datetime(2026, 9, 6, 9))] * 5
    tickets += [("login", datetime(2026, 9, 5, 9))] * 7
    tickets += [("fees", datetime(2026, 9, 10, 9))]             # new category: centre 0
    return make_tables(complaints=rows(
        "ticket_id created_at category severity",
        *[(f"K{i}", ts.isoformat(sep=" "), cat, "low") for i, (cat, ts) in enumerate(tickets)]))


def test_complaint_baseline():
    # a month is extended back to 84 days; a quarter (92 days) is kept
    assert sat.complaint_baseline(SEP) == window("2026-07-09", "2026-09-30")
    q = window("2026-04-01", "2026-06-30")
    assert sat.complaint_baseline(q) == q


def test_complaints_daily_probability_limits():
    c = _surge_complaints()["complaints"]
    got = sat.complaints_daily(c, SEP, AUG).set_index(["date", "category"])
    assert len(got) == 30 * 3                                   # every day × category
    # app_crash centre = 31 tickets / 31 days = 1. Poisson(1): P(X > 4) = .00366 > .00135,
    # P(X > 5) = .00059 ≤ .00135 → ucl = 5: 12 tickets flagged, 5 not
    crash5 = got.loc[(date(2026, 9, 5), "app_crash")]
    assert crash5["centre"] == 1.0 and crash5["ucl"] == 5 and crash5["flagged"]
    assert not got.loc[(date(2026, 9, 6), "app_crash"), "flagged"]
    # login centre 2: P(X > 6) = .00453, P(X > 7) = .0011 → ucl 7: 7 tickets not flagged
    login5 = got.loc[(date(2026, 9, 5), "login")]
    assert login5["ucl"] == 7 and not login5["flagged"]
    fees = got.loc[(date(2026, 9, 10), "fees")]                 # absent from August
    assert fees["centre"] == 0 and fees["ucl"] == 0 and fees["flagged"]
    assert got["flagged"].sum() == 2
    assert (got["centre_source"] == "baseline").all()


def test_complaints_weekly():
    c = _surge_complaints()["complaints"]
    weekly = sat.complaints_weekly(sat.complaints_daily(c, SEP, AUG))
    wk = weekly.set_index(["week_start", "category"])
    # first week of P: Tue 09-01 .. Sun 09-06 = 6 days; app_crash 12 + 5 = 17 tickets,
    # expected 6: P(X > 14) = .0014 > .00135, P(X > 15) = .00051 → ucl 15 → flagged
    first = wk.loc[(date(2026, 9, 1), "app_crash")]
    assert (first["days"], first["tickets"], first["expected"], first["ucl"]) == (6, 17, 6, 15)
    assert first["flagged"] and first["p_value"] == pytest.approx(0.00017, abs=1e-5)
    # login: 7 tickets, expected 12 → not flagged; last week Mon 09-28 .. Wed 09-30 = 3 days
    assert not wk.loc[(date(2026, 9, 1), "login"), "flagged"]
    assert wk.loc[(date(2026, 9, 28), "login"), "days"] == 3
    assert weekly["week_start"].nunique() == 5
    assert set(weekly.loc[weekly["flagged"], "category"]) == {"app_crash", "fees"}


def test_complaints_daily_fallback_without_history():
    c = _surge_complaints()["complaints"]
    got = sat.complaints_daily(c, SEP, window("2026-06-01", "2026-06-30"))
    # no complaints in June → centre = median daily count in P (0 for every category here)
    assert (got["centre_source"] == "period_median").all()
    assert (got["centre"] == 0).all()


def test_breakdowns_and_missing_tables(t):
    out = sat.breakdowns(t, SEP, make_params())
    assert set(out) == {"nps", "nps_trend", "complaints", "complaints_by_category",
                        "complaints_by_severity", "complaints_daily", "complaints_weekly"}
    no_events = sat.breakdowns({"complaints": t["complaints"]}, SEP, make_params())
    assert math.isnan(no_events["complaints"]["per_10k"].iloc[0])
    assert "events" in no_events["complaints"]["note"].iloc[0]
    h = sat.headline({"complaints": t["complaints"]}, SEP, make_params())
    assert h["complaints_per_10k"].note == "needs table events"
    assert h["nps"].note == "needs table surveys"


# -- planted effect on the demo store ----------------------------------------------------------------
def test_planted_complaint_surge_is_flagged(demo_con):
    p = load_params(PARAMS_DIR / "2026-10.yaml")
    truth = demo_con.table("ground_truth").execute()
    surge = json.loads(truth.loc[truth["key"] == "complaint_surge", "detail"].iloc[0])
    start, end = date.fromisoformat(surge["start"]), date.fromisoformat(surge["end"])
    daily = sat.complaints_daily(demo_con.table("complaints"), Window(p.start, p.end),
                                 sat.complaint_baseline(Window(*p.comparison)))
    weekly = sat.complaints_weekly(daily)
    flagged = weekly[weekly["flagged"]]
    in_surge = ((flagged["category"] == surge["category"]) & (flagged["week_start"] >= start)
                & (flagged["week_start"] <= end))
    assert in_surge.any(), weekly[weekly["category"] == surge["category"]]
    assert (~in_surge).sum() <= 1

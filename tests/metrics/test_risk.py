"""Known-answer tests for review.metrics.risk (tiny hand-built tables; numbers by hand)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pandas as pd
import pytest

from review.config import load_params
from review.kpis import KPI_CATALOG
from review.metrics import risk
from review.metrics.common import Window
from review.paths import PARAMS_DIR
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
AUG = window("2026-08-01", "2026-08-31")


@pytest.fixture
def t():
    users = rows(
        "user_id age_band",
        ("u1", "25-34"), ("u2", "25-34"), ("u3", "65+"),
    )
    events = rows(
        "user_id ts event auth_method risk_flag",
        ("u1", "2026-09-01 00:00:00", "login", "fingerprint", False),   # P start: in
        ("u1", "2026-09-01 01:00:00", "login", "password", True),
        ("u1", "2026-09-01 02:00:00", "crash", None, None),
        ("u2", "2026-09-30 23:59:59", "login", "face", None),           # P end; null flag
        ("u2", "2026-10-01 00:00:00", "login", "face", True),           # after P: out
        ("u3", "2026-09-15 08:00:00", "login", "sms", False),
        ("u3", "2026-09-15 08:01:00", "account_query", None, None),     # not a login
        ("u1", "2026-08-10 08:00:00", "login", "password", False),      # comparison window
        ("u1", "2026-08-10 08:01:00", "crash", None, None),
    )
    transactions = rows(
        "txn_id user_id ts type channel amount status",
        ("T1", "u1", "2026-09-01 00:00:00", "transfer", "mobile", 1.0, "success"),
        ("T2", "u1", "2026-09-01 10:00:00", "transfer", "mobile", 1.0, "failed"),
        ("T3", "u1", "2026-09-01 11:00:00", "transfer", "branch", 1.0, "failed"),  # not mobile
        ("T4", "u2", "2026-09-30 23:59:59", "transfer", "mobile", 1.0, "failed"),
        ("T5", "u2", "2026-10-01 00:00:00", "transfer", "mobile", 1.0, "failed"),  # after P
        ("T6", "u3", "2026-08-15 10:00:00", "transfer", "mobile", 1.0, "success"),
        ("T7", "u3", "2026-08-15 10:01:00", "transfer", "mobile", 1.0, "success"),
        ("T8", "u3", "2026-08-15 10:02:00", "transfer", "mobile", 1.0, "success"),
        ("T9", "u3", "2026-08-15 10:03:00", "transfer", "mobile", 1.0, "failed"),
    )
    return make_tables(users=users, events=events, transactions=transactions)


def test_headline(t):
    got = risk.headline(t, SEP, make_params())
    assert set(got) == {k for k, v in KPI_CATALOG.items() if v.family == "risk"}
    # mobile in P: T1 ok, T2 failed, T4 failed → 2 / 3
    assert got["failure_rate"].value == pytest.approx(2 / 3)
    assert (got["failure_rate"].numerator, got["failure_rate"].denominator) == (2, 3)
    # logins in P: u1 ×2, u2, u3 = 4; flagged 1; biometric fingerprint + face = 2; crashes 1
    assert got["abnormal_logins_per_10k"].value == pytest.approx(2500)
    assert got["biometric_share"].value == pytest.approx(0.5)
    assert got["crash_per_1k_logins"].value == pytest.approx(250)


def test_empty_period_and_missing_tables(t):
    got = risk.headline(t, window("2025-01-01", "2025-01-31"), make_params())
    assert all(math.isnan(m.value) and "zero" in m.note for m in got.values())
    none = risk.headline({}, SEP, make_params())
    assert none["failure_rate"].note == "needs table transactions"
    assert none["biometric_share"].note == "needs table events"
    assert risk.breakdowns({}, SEP, make_params()) == {}


def test_daily_counts(t):
    tx = risk.daily_mobile_transactions(t["transactions"], SEP, AUG)
    assert tx.values.tolist() == [[date(2026, 8, 15), 4, 1], [date(2026, 9, 1), 2, 1],
                                  [date(2026, 9, 30), 1, 1]]
    ev = risk.daily_login_counts(t["events"], SEP).set_index("date")
    assert ev.loc[date(2026, 9, 1)].tolist() == [2, 1, 1, 1]   # logins, flagged, biometric, crash
    assert ev.loc[date(2026, 9, 30)].tolist() == [1, 0, 1, 0]
    assert date(2026, 10, 1) not in ev.index


def test_failure_rate_daily_from_tables(t):
    got = risk.failure_rate_daily(t["transactions"], SEP, AUG)
    assert len(got) == 30
    day1 = got.iloc[0]
    # centre = August's pooled rate 1/4; day 1: 1/2 with n = 2:
    # ucl = .25 + 3·sqrt(.25·.75/2) = .25 + 0.918559 = 1.168559; lcl clipped to 0
    assert day1["rate"] == 0.5 and day1["centre"] == 0.25
    assert day1["ucl"] == pytest.approx(0.25 + 3 * math.sqrt(0.25 * 0.75 / 2))
    assert day1["lcl"] == 0.0 and not day1["flagged"]
    day2 = got.iloc[1]                                   # no transactions: NaN, not flagged
    assert day2["attempted"] == 0 and math.isnan(day2["rate"]) and not day2["flagged"]
    assert (got["centre_source"] == "baseline").all()


def _daily():
    # comparison: 10 days in August, 100 attempts and 2 failures each → centre 0.02
    cmp_days = [(date(2026, 8, d), 100, 2) for d in range(1, 11)]
    p_days = [(date(2026, 9, 1), 100, 2), (date(2026, 9, 2), 100, 7),
              (date(2026, 9, 3), 400, 12)]
    return pd.DataFrame(cmp_days + p_days, columns=["date", "attempted", "failed"])


def test_p_chart_known_answer():
    w = window("2026-09-01", "2026-09-04")
    got = risk.control_chart(_daily(), "failed", "attempted", w, AUG, kind="p")
    # day 1: 2/100 = .02 ≤ ucl = .02 + 3·sqrt(.02·.98/100) = .062 → not flagged
    # day 2: 7/100 = .07 > .062 → flagged
    # day 3: 12/400 = .03, ucl = .02 + 3·sqrt(.0196/400) = .041 → not flagged
    # day 4: no data → NaN, not flagged
    assert got["ucl"].iloc[0] == pytest.approx(0.062)
    assert got["ucl"].iloc[2] == pytest.approx(0.041)
    assert got["lcl"].iloc[2] == pytest.approx(0.0)   # .02 − .021 clipped at 0
    assert got["flagged"].tolist() == [False, True, False, False]
    assert math.isnan(got["ucl"].iloc[3])


def test_u_chart_and_scale():
    w = window("2026-09-01", "2026-09-03")
    got = risk.control_chart(_daily(), "failed", "attempted", w, AUG, kind="u", scale=1000)
    # u-chart: ucl = .02 + 3·sqrt(.02/100) = 0.0624264 → per 1k: 62.4264
    assert got["centre"].iloc[0] == pytest.approx(20.0)
    assert got["ucl"].iloc[0] == pytest.approx(1000 * (0.02 + 3 * math.sqrt(0.0002)))
    assert got["rate"].iloc[1] == pytest.approx(70.0) and got["flagged"].iloc[1]


def test_centre_falls_back_to_period_median():
    w = window("2026-09-01", "2026-09-03")
    no_history = window("2026-06-01", "2026-06-30")
    got = risk.control_chart(_daily(), "failed", "attempted", w, no_history, kind="p")
    # P's daily rates .02, .07, .03 → median .03
    assert got["centre"].iloc[0] == pytest.approx(0.03)
    assert (got["centre_source"] == "period_median").all()


def _incident_baseline(p_days):
    # 84 baseline days (06-09 .. 08-31) of 1000 attempts: 1 % failures, 3 incident days at 9 %
    days = [date(2026, 6, 9) + timedelta(days=i) for i in range(84)]
    rows = [(d, 1000, 90 if i in (40, 41, 42) else 10) for i, d in enumerate(days)]
    return pd.DataFrame(rows + p_days, columns=["date", "attempted", "failed"])


def test_clean_baseline_excludes_the_incident():
    base = _incident_baseline([])
    centre, excluded = risk.clean_centre(base["failed"], base["attempted"])
    # round 1: (81·10 + 3·90) / 84,000 = .012857; ucl = .012857 + 3·sqrt(.012857·.987143/1000)
    # = .023546 → the three 9 % days leave; round 2: 810 / 81,000 = .01, every 1 % day is
    # inside [.000561, .019439] → stable
    assert centre == pytest.approx(0.01) and excluded == 3


def test_incident_in_baseline_does_not_widen_next_period_limits():
    sep = [(date(2026, 9, 1), 1000, 17), (date(2026, 9, 2), 1000, 22)]
    w, base = window("2026-09-01", "2026-09-02"), risk.baseline_window(SEP, 84)
    assert (base.start, base.end) == (date(2026, 6, 9), date(2026, 8, 31))
    got = risk.control_chart(_incident_baseline(sep), "failed", "attempted", w, base)
    # centre .01, ucl = .01 + 3·sqrt(.01·.99/1000) = .019439: 1.7 % inside, 2.2 % flagged
    # (with the incident kept the ucl would be .023546 and 2.2 % would pass unnoticed)
    assert got["centre"].iloc[0] == pytest.approx(0.01)
    assert got["ucl"].iloc[0] == pytest.approx(0.01 + 3 * math.sqrt(0.01 * 0.99 / 1000))
    assert got["flagged"].tolist() == [False, True]
    assert (got["baseline_excluded"] == 3).all()


def test_demo_october_centre_not_inflated_by_september_incident(demo_con):
    p = load_params(PARAMS_DIR / "2026-10.yaml")
    truth = demo_con.table("ground_truth").execute().set_index("key")
    w = Window(p.start, p.end)
    got = risk.failure_rate_daily(demo_con.table("transactions"), w,
                                  risk.baseline_window(w, p.thresholds.baseline_days))
    normal = float(truth.loc["failure_incident.baseline_rate", "value"])
    assert abs(got["centre"].iloc[0] - normal) < 0.002      # not pulled up by the incident
    assert got["baseline_excluded"].iloc[0] >= 3            # the incident days left out


def test_biometric_by_age_and_suppression(t):
    got = risk.biometric_by_age(t["events"], t["users"], SEP).set_index("age_band")
    # 25-34: u1 (fingerprint, password), u2 (face) → users 2, logins 3, biometric 2
    # 65+: u3 (sms) → users 1, logins 1, biometric 0
    assert got.loc["25-34", ["users", "logins", "biometric_logins"]].tolist() == [2, 3, 2]
    assert got.loc["25-34", "biometric_share"] == pytest.approx(2 / 3)
    assert got.loc["65+", "biometric_share"] == 0.0
    out = risk.breakdowns(t, SEP, make_params(min_cell_users=2))
    b = out["biometric_by_age"].set_index("age_band")
    assert b.loc["65+", "suppressed"] and math.isnan(b.loc["65+", "biometric_share"])
    assert not b.loc["25-34", "suppressed"]
    abn = out["abnormal_logins_daily"].set_index("date")
    # comparison: 1 login, 0 flagged → centre 0 → ucl 0; 09-01: 1/2 flagged = 5000 per 10k
    assert abn.loc[date(2026, 9, 1), "rate"] == pytest.approx(5000)
    assert abn.loc[date(2026, 9, 1), "flagged"]
    crash = out["crash_daily"].set_index("date")
    assert crash.loc[date(2026, 9, 1), "centre"] == pytest.approx(1000)   # 1 crash / 1 login


# -- planted effect on the demo store ----------------------------------------------------------------
def test_planted_failure_incident_is_flagged(demo_con):
    p = load_params(PARAMS_DIR / "2026-09.yaml")
    t = {n: demo_con.table(n) for n in ("transactions", "ground_truth")}
    truth = t["ground_truth"].execute()
    detail = truth.loc[truth["key"] == "failure_incident", "detail"].iloc[0]
    incident = {date.fromisoformat(d) for d in json.loads(detail)}
    w = Window(p.start, p.end)
    got = risk.failure_rate_daily(t["transactions"], w, risk.baseline_window(w, 84))
    flagged = set(got.loc[got["flagged"], "date"])
    assert incident <= flagged
    assert len(flagged - incident) <= 1


def test_planted_crash_spike_is_flagged(demo_con):
    p = load_params(PARAMS_DIR / "2026-10.yaml")
    truth = demo_con.table("ground_truth").execute()
    spike = json.loads(truth.loc[truth["key"] == "crash_spike", "detail"].iloc[0])
    start, end = date.fromisoformat(spike["start"]), date.fromisoformat(spike["end"])
    w = Window(p.start, p.end)
    got = risk.crash_daily(demo_con.table("events"), w, risk.baseline_window(w, 84))
    flagged = list(got.loc[got["flagged"], "date"])
    assert any(start <= d <= end for d in flagged)
    assert sum(not start <= d <= end for d in flagged) <= 1

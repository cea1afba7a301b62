"""The next-period plan's rules on hand-built numbers (review.metrics.plan)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from review.metrics.plan import (
    assess,
    budget_shift,
    campaign_decisions,
    propose_target,
    propose_targets,
)
from review.metrics.result import KpiValue


def _k(key, value, target, rag, attainment, *, unit="count", direction="higher",
       compare=None):
    return KpiValue(key, value, unit, direction, target=target, rag=rag, attainment=attainment,
                    compare_value=compare)


def test_assessment_counts_and_verdicts():
    kpis = [_k("a", 110, 100, "green", 1.10), _k("b", 130, 100, "green", 1.30),
            _k("c", 95, 100, "amber", 0.95), _k("d", 60, 100, "red", 0.60),
            _k("e", 70, 100, "red", 0.70),
            KpiValue("f", 5.0, "count", "higher")]  # no target: not rated
    a = assess(kpis)
    # 5 rated, 2 red: 2 × 3 = 6 ≥ 5 → off track
    assert (a.green, a.amber, a.red, a.rated, a.verdict) == (2, 1, 2, 5, "off_track")
    assert a.worked == ("b", "a") and a.did_not == ("d", "e")
    # 1 red of 4: 3 < 4 → mixed; all green → on track; nothing rated → mixed
    assert assess(kpis[:4]).verdict == "mixed"
    assert assess(kpis[:2]).verdict == "on_track"
    assert assess(kpis[5:]).verdict == "mixed" and assess([]).rated == 0


def test_budget_shift_known_answer():
    # A: LTV 300 / CAC 200 = 1.5; B: 400 / 100 = 4.0 (best); C: 400 / 500 = 0.8 (worst);
    # D would be worse still but is suppressed; E has no LTV.
    # 20 % of C's spend 20,000 = 4,000 → B gains 4,000 / 100 = 40 new users, C loses
    # 4,000 / 500 = 8: net +32
    df = pd.DataFrame({
        "channel": ["A", "B", "C", "D", "E"],
        "spend": [100_000.0, 50_000.0, 20_000.0, 9_000.0, 5_000.0],
        "cac": [200.0, 100.0, 500.0, 900.0, 50.0],
        "ltv_cac": [1.5, 4.0, 0.8, 0.1, math.nan],
        "suppressed": [False, False, False, True, False]})
    s = budget_shift(df)
    assert (s.from_channel, s.to_channel) == ("C", "B")
    assert s.amount == pytest.approx(4_000)
    assert (s.gained_users, s.lost_users, s.net_users) == pytest.approx((40, 8, 32))
    assert (s.from_ltv_cac, s.to_ltv_cac) == (0.8, 4.0)
    # half of C's spend: 10,000 → +100 at B, −20 at C
    assert budget_shift(df, share=0.5).net_users == pytest.approx(80)


def test_no_budget_shift_without_two_comparable_channels():
    one = pd.DataFrame({"channel": ["A"], "spend": [1.0], "cac": [1.0], "ltv_cac": [2.0]})
    assert budget_shift(one) is None
    same = pd.DataFrame({"channel": ["A", "B"], "spend": [1.0, 1.0], "cac": [1.0, 2.0],
                         "ltv_cac": [2.0, 2.0]})
    assert budget_shift(same) is None
    assert budget_shift(pd.DataFrame(columns=["channel", "spend", "cac", "ltv_cac"])) is None
    with pytest.raises(ValueError, match="share"):
        budget_shift(same, share=0)


@pytest.mark.parametrize("kpi, proposed, basis", [
    # met, trend up: 120 + (120 − 100) = 140 > 110 → 140
    (_k("x", 120, 110, "green", 1.09, compare=100), 140, "met_trend"),
    # met, trend down: 120 + (120 − 130) = 110 < 115 → keep 115
    (_k("x", 120, 115, "green", 1.04, compare=130), 115, "met_keep"),
    # missed, trend reaches it: 95 + (95 − 80) = 110 ≥ 100 → keep 100
    (_k("x", 95, 100, "amber", 0.95, compare=80), 100, "missed_keep"),
    # missed, trend short: 80 + (80 − 90) = 70 → halfway (70 + 100) / 2 = 85
    (_k("x", 80, 100, "red", 0.80, compare=90), 85, "missed_halfway"),
    # missed, far short: 80 + (80 − 150) = 10 → halfway 55, but never below the 80 reached
    (_k("x", 80, 100, "red", 0.80, compare=150), 80, "missed_halfway"),
    # lower is better (CAC): 90 ≤ 100 met, trend 90 + (90 − 95) = 85 → 85
    (_k("cac", 90, 100, "green", 1.11, unit="currency", direction="lower", compare=95), 85,
     "met_trend"),
    # lower is better, missed: 130 + (130 − 120) = 140 → halfway (140 + 100) / 2 = 120
    (_k("cac", 130, 100, "red", 0.77, unit="currency", direction="lower", compare=120), 120,
     "missed_halfway"),
    # a ratio's forecast stays in [0, 1]: 0.9 + 0.3 → 1.0
    (_k("r", 0.9, 0.8, "green", 1.125, unit="ratio", compare=0.6), 1.0, "met_trend"),
    # no comparison: forecast = value 120 → met, 120 > 110
    (_k("x", 120, 110, "green", 1.09), 120, "met_trend"),
])
def test_next_period_targets(kpi, proposed, basis):
    p = propose_target(kpi)
    assert p.proposed == pytest.approx(proposed) and p.basis == basis


def test_targets_need_a_value_and_a_target():
    assert propose_target(KpiValue("x", math.nan, "count", "higher", target=1.0)) is None
    assert propose_target(KpiValue("x", 1.0, "count", "higher")) is None
    assert [p.key for p in propose_targets([_k("a", 1, 1, "green", 1.0),
                                            KpiValue("b", 1.0, "count", "higher")])] == ["a"]


def test_campaign_decisions():
    summary = pd.DataFrame([
        # interval of incremental conversions above 0 and projected ROI above 0: scale
        {"campaign_id": "C1", "name": "Referral", "estimate": "randomised",
         "incremental_conversions": 120.0, "incremental_lo": 60.0, "incremental_hi": 180.0,
         "roi_projected": 1.4, "roi_projected_lo": 0.3, "roi_projected_hi": 2.5,
         "cost_period": 50_000.0, "users_period": 4000.0, "suppressed": False},
        # converts more, payback not established (ROI interval spans 0): continue
        {"campaign_id": "C2", "name": "Cashback", "estimate": "randomised",
         "incremental_conversions": 40.0, "incremental_lo": 5.0, "incremental_hi": 75.0,
         "roi_projected": 0.2, "roi_projected_lo": -0.4, "roi_projected_hi": 0.8,
         "cost_period": 80_000.0, "users_period": 3000.0, "suppressed": False},
        # projected ROI surely negative: stop, even though it converts
        {"campaign_id": "C3", "name": "Gift", "estimate": "randomised",
         "incremental_conversions": 30.0, "incremental_lo": 10.0, "incremental_hi": 50.0,
         "roi_projected": -0.7, "roi_projected_lo": -0.9, "roi_projected_hi": -0.5,
         "cost_period": 90_000.0, "users_period": 2000.0, "suppressed": False},
        # fewer conversions than control: stop
        {"campaign_id": "C4", "name": "Spam", "estimate": "randomised",
         "incremental_conversions": -20.0, "incremental_lo": -35.0, "incremental_hi": -5.0,
         "roi_projected": math.nan, "roi_projected_lo": math.nan, "roi_projected_hi": math.nan,
         "cost_period": 1_000.0, "users_period": 900.0, "suppressed": False},
        # no control group: never scaled on a non-randomised estimate
        {"campaign_id": "C5", "name": "Branch", "estimate": "none",
         "incremental_conversions": math.nan, "roi_projected": 0.5, "roi_projected_lo": 0.1,
         "roi_projected_hi": 0.9, "cost_period": 5_000.0, "users_period": 800.0,
         "suppressed": False},
        # too few participants to show: continue, no judgement
        {"campaign_id": "C6", "name": "Tiny", "estimate": "randomised",
         "incremental_conversions": math.nan, "cost_period": 100.0, "suppressed": True},
    ])
    got = {d.campaign_id: (d.decision, d.reason) for d in campaign_decisions(summary)}
    assert got == {"C1": ("scale", "proven"), "C2": ("continue", "inconclusive"),
                   "C3": ("stop", "losing"), "C4": ("stop", "harmful"),
                   "C5": ("continue", "not_randomised"), "C6": ("continue", "too_small")}
    c1 = campaign_decisions(summary)[0]
    assert (c1.incremental, c1.roi, c1.cost, c1.participants) == (120.0, 1.4, 50_000.0, 4000.0)
    assert campaign_decisions(pd.DataFrame()) == []

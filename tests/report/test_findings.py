"""Findings: rules over a hand-built PeriodMetrics (known answers), ranking, both languages."""

import math

import pandas as pd
import pytest

from review.metrics.result import KpiValue, PeriodMetrics
from review.report.findings import findings


def _pm(kpis=(), **tables) -> PeriodMetrics:
    return PeriodMetrics(period="2026-09", start="2026-09-01", end="2026-09-30",
                         compare_start="2026-08-01", compare_end="2026-08-31", lang="en",
                         currency="CNY", kpis={k.key: k for k in kpis},
                         tables={k.replace("__", "."): v for k, v in tables.items()})


def _kpi(key, value, target, rag, attainment, unit="ratio", direction="higher"):
    return KpiValue(key=key, value=value, unit=unit, direction=direction, target=target,
                    rag=rag, attainment=attainment, compare_value=value)


def _rules(items):
    return [(f.rule, f.subject) for f in items]


def test_red_and_amber_kpis_ranked_by_severity_then_gap():
    pm = _pm([
        _kpi("mau_ratio", 0.50, 0.60, "red", 0.50 / 0.60),        # gap 1 − 0.833 = 0.167
        _kpi("nps", 27.0, 30.0, "amber", 0.90, unit="points"),     # amber → severity 2
        _kpi("cac", 150.0, 120.0, "red", 120 / 150, unit="currency", direction="lower"),  # 0.2
        _kpi("new_users", 1600.0, 1500.0, "green", 1600 / 1500, unit="count"),
    ])
    out = findings(pm)
    # red ones first (severity 3), the larger gap (cac: 0.2 > 0.167) first; then the amber one
    assert _rules(out) == [("red_kpi", "cac"), ("red_kpi", "mau_ratio"), ("amber_kpi", "nps")]
    assert out[0].evidence == ("CNY 150 against a target of CNY 120: 80.0% attained "
                               "(previous period CNY 150).")
    assert "high-cost channels" in out[0].action  # the KPI-specific suggestion


def test_cac_outlier_experiments_and_srm():
    cac = pd.DataFrame({"channel": ["kol", "referral"], "spend": [5000.0, 1000.0],
                        "new_users": [10.0, 20.0], "cac": [500.0, 50.0],
                        "vs_median": [3.64, 0.36], "flagged_high": [True, False]})
    readout = pd.DataFrame({
        "campaign_id": ["C1", "C1", "C2", "C3"], "variant": ["A", "B", "A", "A"],
        "rate": [0.18, 0.09, 0.05, 0.05], "control_rate": [0.12, 0.12, 0.05, 0.05],
        "abs_lift": [0.06, -0.03, 0.0, 0.0], "abs_lo": [0.03, -0.05, -0.01, -0.01],
        "abs_hi": [0.09, -0.01, 0.01, 0.01], "p_holm": [0.001, 0.02, 0.9, 0.9],
        "significant": [True, True, False, False],
        "direction": ["better", "worse", "none", "none"],
        "srm_chi2": [0.45, 0.45, 23.9, 6.73], "srm_p": [0.5, 0.5, 1e-6, 0.0095],
        "srm_flag": [False, False, True, False],
        "srm_status": ["ok", "ok", "red", "amber"]})
    out = findings(_pm(budget__cac=cac, experiments__readout=readout))
    assert set(_rules(out)) == {("cac_outlier", "kol"), ("experiment_better", "C1/A"),
                                ("experiment_worse", "C1/B"), ("srm", "C2"),
                                ("srm_warn", "C3")}
    red = next(f for f in out if f.rule == "srm")
    amber = next(f for f in out if f.rule == "srm_warn")
    # red below srm_alert (severity 3), amber below srm_warn (severity 2); p never "0.00"
    assert (red.severity, amber.severity) == (3, 2)
    assert "p < 0.001" in red.evidence and "χ² 23.90" in red.evidence
    assert "p = 0.0095" in amber.evidence
    better = next(f for f in out if f.rule == "experiment_better")
    assert better.evidence == ("Conversion 18.0% vs 12.0% for control: +6.0 points "
                               "(95% CI +3.0 to +9.0, Holm p = 0.001).")
    # severity: worse variant and SRM are high (3), the outlier medium (2), a win low (1)
    assert [f.severity for f in out] == [3, 3, 2, 2, 1]


def test_spikes_surges_spend_and_roi():
    failure = pd.DataFrame({"date": pd.to_datetime(["2026-09-13", "2026-09-14", "2026-09-15"]),
                            "rate": [0.012, 0.10, 0.09], "centre": [0.012] * 3,
                            "flagged": [False, True, True]})
    weekly = pd.DataFrame({"week_start": pd.to_datetime(["2026-10-05"]),
                           "category": ["app_crash"], "tickets": [12], "expected": [3.0],
                           "flagged": [True]})
    plan = pd.DataFrame({"category": ["digital_ads", "reserve", "tech", "kol"],
                         "planned": [100.0, 100.0, 0.0, 100.0],
                         "actual": [120.0, 50.0, 30.0, 105.0],
                         "variance_pct": [0.20, -0.50, math.nan, 0.05]})
    # C1 A: no payback over the horizon → finding; C2 A: negative in P but pays back (month
    # 7) → none; controls never
    roi = pd.DataFrame({"campaign_id": ["C1", "C1", "C2"], "variant": ["control", "A", "A"],
                        "roi_period": [math.nan, -0.9, -0.5],
                        "roi_projected": [math.nan, -0.5, 0.4],
                        "incremental_value_projected": [math.nan, 50.0, 140.0],
                        "cost_to_date": [0.0, 100.0, 100.0],
                        "payback_month": [math.nan, math.nan, 7.0]})
    out = findings(_pm(risk__failure_daily=failure, satisfaction__complaints_weekly=weekly,
                       budget__plan_vs_actual=plan, campaigns__by_variant=roi))
    by_rule = {f.rule: f for f in out}
    assert set(_rules(out)) == {("failure_spike", "failure_spike"),
                                ("complaint_surge", "app_crash"), ("overspend", "digital_ads"),
                                ("unplanned_spend", "tech"),
                                ("negative_roi", "C1/A")}  # kol's +5% is within tolerance
    # the reserve's 50 % underspend is not a finding: a reserve is never advised to be spent
    assert "beyond the horizon" in by_rule["negative_roi"].evidence
    assert by_rule["failure_spike"].evidence == (
        "2 days above the control limit (09-14, 09-15); peak 10.0% against a baseline of 1.2%.")
    assert by_rule["complaint_surge"].evidence == (
        "12 tickets in the week of 2026-10-05 against about 3.0 expected.")
    assert by_rule["overspend"].evidence == "CNY 120 spent against a plan of CNY 100: 20% over."


def test_funnel_step_that_lost_most_vs_comparison():
    now = pd.DataFrame({"step_no": [1, 2, 3], "step": ["registered", "card_bound",
                                                       "first_mobile_txn"],
                        "step_conversion": [1.0, 0.80, 0.50]})
    before = now.assign(step_conversion=[1.0, 0.82, 0.60])  # −2 pp and −10 pp
    out = findings(_pm(**{"funnel__steps": now, "funnel__steps@compare": before}))
    assert _rules(out) == [("funnel_drop", "first_mobile_txn")]
    assert out[0].severity == 3 and "down 10.0 points" in out[0].evidence


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nothing_to_find_and_language(lang):
    assert findings(_pm(), lang) == []
    out = findings(_pm([_kpi("mau_ratio", 0.5, 0.6, "red", 0.83)]), lang)
    assert ("月活占比" in out[0].title) == (lang == "zh")


def test_payback_uncertain_only_without_a_significant_win():
    roi = pd.DataFrame({"campaign_id": ["C1", "C1", "C1"], "variant": ["control", "A", "B"],
                        "roi_period": [math.nan, -0.3, -0.8],
                        "roi_projected": [math.nan, 2.1, 0.02],
                        "roi_projected_lo": [math.nan, -0.13, -2.54],
                        "roi_projected_hi": [math.nan, 4.35, 2.58],
                        "incremental_value_projected": [math.nan, 700.0, 218.0],
                        "cost_to_date": [0.0, 224.0, 214.0],
                        "payback_month": [math.nan, 8.0, 24.0]})
    readout = pd.DataFrame({
        "campaign_id": ["C1", "C1"], "variant": ["A", "B"], "rate": [0.18, 0.12],
        "control_rate": [0.12, 0.12], "abs_lift": [0.06, 0.0], "abs_lo": [0.05, -0.01],
        "abs_hi": [0.07, 0.01], "p_holm": [1e-9, 0.16], "significant": [True, False],
        "direction": ["better", "none"], "srm_chi2": [0.9, 0.9], "srm_p": [0.6, 0.6],
        "srm_flag": [False, False], "srm_status": ["ok", "ok"]})
    out = findings(_pm(campaigns__by_variant=roi, experiments__readout=readout))
    # A: a significant winner (roll-out advice) gets no contradicting caveat; B: interval
    # −254 % to +258 % spans zero → payback not established
    assert set(_rules(out)) == {("experiment_better", "C1/A"), ("payback_uncertain", "C1/B")}
    b = next(f for f in out if f.rule == "payback_uncertain")
    assert b.evidence == "Projected ROI 2.0%, 95% interval -254.0% to 258.0%, which spans zero."

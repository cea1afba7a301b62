"""Tests of review.stats: known answers worked out by hand, independent references
(statsmodels, scipy) on the same counts, and seeded simulations of interval coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from review.errors import ParamsError, ReviewError
from review.stats import (
    READOUT_COLUMNS,
    change,
    control_limits,
    experiment_readout,
    holm,
    lift,
    nps_interval,
    rag_status,
    srm_check,
    two_proportion_test,
)

Z95 = 1.959963984540054


# -- NPS --------------------------------------------------------------------------------------
def test_nps_interval_by_hand():
    # P=5, S=3, D=2, n=10: p_P=0.5, p_D=0.2 → NPS = 100·0.3 = 30
    # var = (0.5 + 0.2 − 0.3²)/10 = 0.61/10 = 0.061 → se = 100·√0.061 = 24.6982
    # 95 %: 30 ∓ 1.96·24.6982 = −18.4075 … 78.4075
    nps, se, lo, hi = nps_interval(5, 3, 2)
    assert nps == pytest.approx(30.0)
    assert se == pytest.approx(100 * math.sqrt(0.061))
    assert se == pytest.approx(24.69818, abs=1e-4)
    assert lo == pytest.approx(-18.40754, abs=1e-4)
    assert hi == pytest.approx(78.40754, abs=1e-4)


def test_nps_interval_narrower_at_lower_confidence_and_clipped():
    _, _, lo90, hi90 = nps_interval(5, 3, 2, confidence=0.90)
    _, _, lo95, hi95 = nps_interval(5, 3, 2)
    assert lo95 < lo90 < 30 < hi90 < hi95
    # all promoters: NPS 100, var = (1 + 0 − 1)/n = 0 → degenerate interval at 100
    assert nps_interval(10, 0, 0) == (100.0, 0.0, 100.0, 100.0)
    # P=1, D=0, S=1: NPS 50, var = (0.5 − 0.25)/2 = 0.125, se = 35.36 → hi = 119 clipped
    nps, se, lo, hi = nps_interval(1, 1, 0)
    assert (nps, hi) == (50.0, 100.0)
    assert lo == pytest.approx(50 - Z95 * 100 * math.sqrt(0.125))


def test_nps_interval_empty_and_invalid():
    assert all(math.isnan(v) for v in nps_interval(0, 0, 0))
    with pytest.raises(ReviewError, match="≥ 0"):
        nps_interval(-1, 2, 3)
    with pytest.raises(ReviewError, match="confidence"):
        nps_interval(1, 2, 3, confidence=1.5)


def test_nps_interval_coverage_by_simulation():
    # true shares P/S/D = 0.45/0.30/0.25 → true NPS = 20 points; 2000 surveys of 300 answers
    rng = np.random.default_rng(20260901)
    draws = rng.multinomial(300, [0.45, 0.30, 0.25], size=2000)
    res = np.array([nps_interval(int(p), int(s), int(d)) for p, s, d in draws])
    covered = (res[:, 2] <= 20) & (res[:, 3] >= 20)
    assert 0.93 <= covered.mean() <= 0.97
    # the formula's standard error matches the spread of the estimates (within 5 %)
    assert res[:, 1].mean() == pytest.approx(res[:, 0].std(), rel=0.05)


# -- two-proportion test and lift -------------------------------------------------------------
COUNTS = [(70, 500, 100, 1000), (45, 500, 100, 1000), (3, 40, 9, 60), (250, 2000, 200, 2100),
          (0, 10, 2, 12)]


@pytest.mark.parametrize(("x1", "n1", "x0", "n0"), COUNTS)
def test_two_proportion_test_matches_statsmodels(x1, n1, x0, n0):
    _, p_ref = proportions_ztest([x1, x0], [n1, n0])
    assert two_proportion_test(x1, n1, x0, n0) == pytest.approx(float(p_ref), rel=1e-10)


def test_two_proportion_test_known_answer_and_edges():
    # p1 = 0.14, p0 = 0.10, pooled = 170/1500; var = p(1−p)(1/500 + 1/1000) → z = 2.30378
    assert two_proportion_test(70, 500, 100, 1000) == pytest.approx(0.0212352, abs=1e-6)
    assert two_proportion_test(0, 100, 0, 100) == 1.0  # no conversions: equal rates
    assert two_proportion_test(50, 50, 80, 80) == 1.0  # everyone converted
    assert math.isnan(two_proportion_test(0, 0, 5, 100))
    with pytest.raises(ReviewError, match="conversions=6, users=5"):
        two_proportion_test(6, 5, 1, 10)


@pytest.mark.parametrize(("x1", "n1", "x0", "n0"), COUNTS)
def test_abs_lift_interval_matches_statsmodels_wald(x1, n1, x0, n0):
    lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")
    r = lift(x1, n1, x0, n0)
    assert r["abs_lift"] == pytest.approx(x1 / n1 - x0 / n0)
    assert r["abs_lo"] == pytest.approx(float(lo), rel=1e-10, abs=1e-14)
    assert r["abs_hi"] == pytest.approx(float(hi), rel=1e-10, abs=1e-14)


def test_relative_lift_by_hand():
    # p1 = 70/500 = 0.14, p0 = 100/1000 = 0.10, R = 1.4 → rel lift 0.4
    # var(R) = [0.14·0.86/500 + 1.4²·0.1·0.9/1000]/0.1² = (0.0002408 + 0.0001764)/0.01
    #        = 0.04172 → se = 0.204255; 0.4 ∓ 1.96·0.204255 = −0.000332 … 0.800332
    r = lift(70, 500, 100, 1000)
    assert r["rate"] == pytest.approx(0.14)
    assert r["control_rate"] == pytest.approx(0.10)
    assert r["rel_lift"] == pytest.approx(0.4)
    assert r["rel_lo"] == pytest.approx(0.4 - Z95 * math.sqrt(0.04172))
    assert r["rel_hi"] == pytest.approx(0.4 + Z95 * math.sqrt(0.04172))
    assert r["rel_lo"] == pytest.approx(-0.000332, abs=1e-6)
    assert r["note"] is None


def test_lift_intervals_clipped_to_possible_values():
    # p1 = 1/2, p0 = 1/10: se_abs = √(0.25/2 + 0.09/10) = √0.134 = 0.36606
    # → abs_hi = 0.4 + 1.96·0.36606 = 1.1175, clipped to 1 (a rate difference is ≤ 1)
    # R = 5: var(R) = (0.125 + 25·0.009)/0.01 = 35 → rel_lo = 4 − 1.96·5.916 = −7.6 → −1
    r = lift(1, 2, 1, 10)
    assert r["abs_lo"] == pytest.approx(0.4 - Z95 * math.sqrt(0.134))
    assert r["abs_hi"] == 1.0
    assert r["rel_lo"] == -1.0
    assert r["rel_hi"] == pytest.approx(4 + Z95 * math.sqrt(35))


def test_lift_zero_denominators_are_nan_with_note():
    r = lift(5, 100, 0, 100)  # p0 = 0: absolute lift 0.05, relative undefined
    assert r["abs_lift"] == pytest.approx(0.05)
    assert math.isnan(r["rel_lift"]) and math.isnan(r["rel_lo"]) and math.isnan(r["rel_hi"])
    assert "control rate is 0" in r["note"]
    r = lift(0, 0, 5, 100)
    assert math.isnan(r["abs_lift"]) and math.isnan(r["rel_lift"]) and math.isnan(r["rate"])
    assert "treatment" in r["note"]
    r = lift(5, 100, 0, 0)
    assert math.isnan(r["abs_lo"]) and "control" in r["note"]


# -- Holm ---------------------------------------------------------------------------------------
def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.2 → 4·0.01 = 0.04, 3·0.03 = 0.09, max(0.09, 2·0.04) = 0.09,
    # max(0.09, 1·0.2) = 0.2; back in input order:
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.2]), [0.04, 0.09, 0.09, 0.2])
    np.testing.assert_allclose(holm([0.6, 0.5]), [1.0, 1.0])  # capped at 1
    assert holm([]).size == 0


def test_holm_matches_statsmodels():
    rng = np.random.default_rng(7)
    for m in (1, 2, 3, 5, 12):
        p = rng.uniform(0, 0.2, size=m)
        p[0] = p[-1]  # a tie
        ref = multipletests(p, method="holm")[1]
        np.testing.assert_allclose(holm(p), ref, rtol=1e-12)


def test_holm_leaves_nan_out_of_the_family():
    out = holm([0.01, math.nan, 0.04])
    # m = 2: 2·0.01 = 0.02, max(0.02, 0.04) = 0.04
    np.testing.assert_allclose(out, [0.02, math.nan, 0.04])
    with pytest.raises(ReviewError, match="p-values"):
        holm([0.5, 1.5])


# -- SRM ----------------------------------------------------------------------------------------
def test_srm_check_by_hand_and_vs_scipy():
    # 1000 users planned 50/25/25 → expected 500/250/250; observed 520/240/240
    # χ² = 20²/500 + 10²/250 + 10²/250 = 0.8 + 0.4 + 0.4 = 1.6, df 2 → p = e^(−0.8) = 0.4493
    r = srm_check({"control": 520, "A": 240, "B": 240}, {"control": 0.5, "A": 0.25, "B": 0.25})
    assert r["statistic"] == pytest.approx(1.6)
    assert r["df"] == 2
    assert r["p_value"] == pytest.approx(math.exp(-0.8))
    assert r["flagged"] is False
    ref = chisquare([520, 240, 240], [500, 250, 250])
    assert r["p_value"] == pytest.approx(float(ref.pvalue))
    # 600/200/200: χ² = 100²/500 + 2·50²/250 = 40 → p = e^(−20) ≈ 2.1e−9 < 0.001: flagged
    r = srm_check({"control": 600, "A": 200, "B": 200}, {"control": 0.5, "A": 0.25, "B": 0.25})
    assert r["statistic"] == pytest.approx(40.0)
    assert r["p_value"] == pytest.approx(math.exp(-20))
    assert r["flagged"] is True


def test_srm_check_unnormalised_split_missing_variant_and_empty():
    # shares 2:1:1 normalise to 0.5/0.25/0.25; B planned but absent counts as 0 observed:
    # expected 250/125/125 for 500 users; observed 300/200/0
    # χ² = 50²/250 + 75²/125 + 125²/125 = 10 + 45 + 125 = 180
    r = srm_check({"control": 300, "A": 200}, {"control": 2, "A": 1, "B": 1})
    assert r["statistic"] == pytest.approx(180.0)
    assert r["flagged"] is True
    r = srm_check({"control": 0, "A": 0}, {"control": 0.5, "A": 0.5})
    assert math.isnan(r["p_value"]) and r["flagged"] is False and r["note"] == "no users"
    with pytest.raises(ParamsError, match=r"lacks variant\(s\) \['C'\]"):
        srm_check({"control": 10, "C": 5}, {"control": 0.5, "A": 0.5})


# -- experiment readout -----------------------------------------------------------------------
def _counts() -> pd.DataFrame:
    return pd.DataFrame({
        "campaign_id": ["C1", "C1", "C1", "C2", "C2"],
        "variant": ["control", "A", "B", "control", "A"],
        "users": [1000, 500, 500, 400, 400],
        "conversions": [100, 70, 45, 80, 40],
    })


def test_experiment_readout_known_answers():
    counts = _counts()
    before = counts.copy()
    # one call per campaign: each has its own planned split
    out = pd.concat([
        experiment_readout(counts[counts.campaign_id == "C1"],
                           planned_split={"control": 0.5, "A": 0.25, "B": 0.25}),
        experiment_readout(counts[counts.campaign_id == "C2"]),
    ], ignore_index=True)
    pd.testing.assert_frame_equal(counts, before)  # input untouched
    assert list(out.columns) == ["campaign_id", *READOUT_COLUMNS]
    a, b, c2 = (out.iloc[i] for i in range(3))
    # C1/A: 70/500 = 0.14 vs 0.10 → p = 0.0212352 (see the z-test above)
    # C1/B: 45/500 = 0.09 vs 0.10 → p = 0.53668
    # Holm over {A, B}: A 2·0.021235 = 0.04247; B max(0.04247, 0.53668) = 0.53668
    assert (a.variant, a.users, a.conversions, a.control_users) == ("A", 500, 70, 1000)
    assert a.rate == pytest.approx(0.14) and a.control_rate == pytest.approx(0.10)
    assert a.abs_lift == pytest.approx(0.04) and a.rel_lift == pytest.approx(0.4)
    assert a.p_value == pytest.approx(0.0212352, abs=1e-6)
    assert a.p_holm == pytest.approx(2 * a.p_value)
    assert b.p_holm == pytest.approx(b.p_value) and b.p_value == pytest.approx(0.53668, abs=1e-5)
    assert (bool(a.significant), a.direction) == (True, "better")
    assert (bool(b.significant), b.direction) == (False, "none")
    # SRM of C1: 1000/500/500 exactly on plan → χ² 0, p 1, repeated on both rows
    assert a.srm_chi2 == pytest.approx(0.0) and a.srm_p == pytest.approx(1.0)
    assert b.srm_p == a.srm_p and not a.srm_flag
    # C2/A: 40/400 = 0.10 vs 80/400 = 0.20 → abs −0.10, one variant so p_holm = p;
    # pooled p = 0.15, z = −0.1/√(0.15·0.85·2/400) = −3.9606 → p = 7.48e−5: "worse"
    assert c2.abs_lift == pytest.approx(-0.10) and c2.rel_lift == pytest.approx(-0.5)
    assert c2.p_value == pytest.approx(7.4775e-5, rel=1e-3)
    assert c2.p_holm == pytest.approx(c2.p_value)
    assert (bool(c2.significant), c2.direction) == (True, "worse")


def test_experiment_readout_groups_by_campaign_and_without_campaign_column():
    counts = _counts()
    # one call with campaign_id and an equal split (None): C1 1000/500/500 vs 1/3 each
    # → expected 666.67 each, χ² = (333.33² + 2·166.67²)/666.67 = 250 → flagged
    out = experiment_readout(counts)
    assert out.campaign_id.tolist() == ["C1", "C1", "C2"]
    assert out.srm_chi2.iloc[0] == pytest.approx(250.0)
    assert bool(out.srm_flag.iloc[0]) is True and bool(out.srm_flag.iloc[2]) is False
    single = experiment_readout(counts[counts.campaign_id == "C2"].drop(columns="campaign_id"))
    assert list(single.columns) == list(READOUT_COLUMNS)
    assert single.abs_lift.iloc[0] == pytest.approx(-0.10)


def test_experiment_readout_zero_users_and_zero_control_rate():
    counts = pd.DataFrame({"variant": ["control", "A", "B"], "users": [100, 0, 100],
                           "conversions": [0, 0, 7]})
    out = experiment_readout(counts, planned_split={"control": 0.5, "A": 0.0, "B": 0.5})
    a, b = out.iloc[0], out.iloc[1]
    assert math.isnan(a.rate) and math.isnan(a.p_value) and math.isnan(a.p_holm)
    assert "no users" in a.note and a.direction == "none" and not a.significant
    # B: 7/100 vs 0/100: abs lift 0.07, relative undefined; Holm family is {B} alone
    assert b.abs_lift == pytest.approx(0.07) and math.isnan(b.rel_lift)
    assert "control rate is 0" in b.note
    assert b.p_holm == pytest.approx(b.p_value)
    assert experiment_readout(counts.iloc[:0]).empty


def test_experiment_readout_failures_name_the_problem():
    with pytest.raises(ReviewError, match=r"lack column\(s\) \['conversions'\]"):
        experiment_readout(pd.DataFrame({"variant": ["control"], "users": [1]}))
    no_control = pd.DataFrame({"campaign_id": ["C9", "C9"], "variant": ["A", "B"],
                               "users": [10, 10], "conversions": [1, 2]})
    with pytest.raises(ReviewError, match="campaign 'C9': no 'control' variant"):
        experiment_readout(no_control)
    dup = pd.DataFrame({"variant": ["control", "A", "A"], "users": [10, 10, 10],
                        "conversions": [1, 2, 3]})
    with pytest.raises(ReviewError, match="more than once"):
        experiment_readout(dup)
    with pytest.raises(ParamsError, match="campaign 'C1'.*lacks variant"):
        experiment_readout(_counts(), planned_split={"control": 0.5, "A": 0.5})


def test_coverage_and_false_positives_by_simulation():
    # 500 A/A/B experiments, 4000 users per arm: control and A convert at 10 %, B at 12 %
    # true lifts: A abs 0, rel 0; B abs 0.02, rel 0.2
    rng = np.random.default_rng(12345)
    n, p0, p_b = 4000, 0.10, 0.12
    x = rng.binomial(n, [p0, p0, p_b], size=(500, 3))
    cover = {"A_abs": 0, "A_rel": 0, "A_both": 0, "B_abs": 0, "B_rel": 0, "B_both": 0}
    false_pos = 0
    for xc, xa, xb in x.tolist():
        for name, xv, true_abs, true_rel in (("A", xa, 0.0, 0.0), ("B", xb, 0.02, 0.2)):
            r = lift(xv, n, xc, n)
            in_abs = r["abs_lo"] <= true_abs <= r["abs_hi"]
            in_rel = r["rel_lo"] <= true_rel <= r["rel_hi"]
            cover[f"{name}_abs"] += in_abs
            cover[f"{name}_rel"] += in_rel
            cover[f"{name}_both"] += in_abs and in_rel
        p_holm = holm([two_proportion_test(xa, n, xc, n), two_proportion_test(xb, n, xc, n)])
        false_pos += p_holm[0] < 0.05
    for key, hits in cover.items():
        assert hits / 500 >= 0.93, key
    assert false_pos / 500 <= 0.06


# -- change and RAG -----------------------------------------------------------------------------
def test_change():
    assert change(12.0, 10.0) == pytest.approx((2.0, 0.2))
    assert change(8.0, 10.0) == pytest.approx((-2.0, -0.2))
    # negative compare (an NPS of −10 → 5): +15 points, relative 15/|−10| = +1.5
    assert change(5.0, -10.0) == pytest.approx((15.0, 1.5))
    a, r = change(3.0, 0.0)
    assert a == 3.0 and math.isnan(r)
    assert all(math.isnan(v) for v in change(3.0, math.nan))
    assert all(math.isnan(v) for v in change(math.nan, 3.0))
    assert all(math.isnan(v) for v in change(3.0, None))


def test_rag_status_higher_is_better():
    # target 0.60: 0.60 → 1.0 green; 0.55 → 0.9167 amber; 0.50 → 0.8333 red
    assert rag_status(0.60, 0.60, "higher") == (pytest.approx(1.0), "green")
    att, rag = rag_status(0.55, 0.60, "higher")
    assert (att, rag) == (pytest.approx(0.55 / 0.60), "amber")
    assert rag_status(0.54, 0.60, "higher") == (pytest.approx(0.9), "amber")  # band edge
    assert rag_status(0.50, 0.60, "higher")[1] == "red"
    # custom bands: green needs 110 %, amber 100 %
    assert rag_status(0.60, 0.60, "higher", green=1.1, amber=1.0)[1] == "amber"


def test_rag_status_lower_is_better():
    # failure rate target 0.02: 0.02 → green; 0.022 → 0.02/0.022 = 0.909 amber;
    # 0.025 → 0.8 red; 0 → attainment inf, green
    assert rag_status(0.02, 0.02, "lower") == (pytest.approx(1.0), "green")
    assert rag_status(0.022, 0.02, "lower") == (pytest.approx(0.02 / 0.022), "amber")
    assert rag_status(0.025, 0.02, "lower") == (pytest.approx(0.8), "red")
    assert rag_status(0.0, 0.02, "lower") == (math.inf, "green")
    assert rag_status(0.01, 0.02, "lower") == (pytest.approx(2.0), "green")


def test_rag_status_without_target_or_value_and_nonpositive_targets():
    assert rag_status(0.5, None, "higher") == (None, None)
    assert rag_status(math.nan, 0.6, "higher") == (None, None)
    assert rag_status(0.5, math.nan, "lower") == (None, None)
    # NPS target 0: no meaningful ratio; met → green, missed → red
    assert rag_status(5.0, 0.0, "higher") == (None, "green")
    assert rag_status(-3.0, 0.0, "higher") == (None, "red")
    with pytest.raises(ReviewError, match="direction"):
        rag_status(1.0, 1.0, "up")


# -- control limits -----------------------------------------------------------------------------
def test_control_limits_by_hand():
    # counts 2, 10, 0 of 100 each → centre = 12/300 = 0.04
    # sd = √(0.04·0.96/100) = 0.0195959; ucl = 0.04 + 3·0.0195959 = 0.0987878; lcl = max(0, −)
    out = control_limits([2, 10, 0], [100, 100, 100])
    assert list(out.columns) == ["count", "total", "rate", "centre", "lcl", "ucl", "flagged"]
    np.testing.assert_allclose(out.rate, [0.02, 0.10, 0.0])
    np.testing.assert_allclose(out.centre, 0.04)
    np.testing.assert_allclose(out.ucl, 0.04 + 3 * math.sqrt(0.04 * 0.96 / 100))
    assert out.ucl.iloc[0] == pytest.approx(0.0987878, abs=1e-6)
    assert (out.lcl == 0).all()
    assert out.flagged.tolist() == [False, True, False]


def test_control_limits_baseline_sigmas_index_and_empty_points():
    # baseline 0.5, 2 sigmas, n = 100 → sd = 0.05 → limits 0.4 … 0.6; n = 0 → NaN, not flagged
    counts = pd.Series([35, 50, 61, 0], index=pd.Index(["d1", "d2", "d3", "d4"], name="day"))
    out = control_limits(counts, [100, 100, 100, 0], baseline_rate=0.5, sigmas=2)
    assert out.index.tolist() == ["d1", "d2", "d3", "d4"]
    np.testing.assert_allclose(out.lcl.iloc[:3], 0.4)
    np.testing.assert_allclose(out.ucl.iloc[:3], 0.6)
    assert out.flagged.tolist() == [True, False, True, False]
    assert math.isnan(out.rate.iloc[3]) and math.isnan(out.ucl.iloc[3])
    with pytest.raises(ReviewError, match="3 counts but 2 totals"):
        control_limits([1, 2, 3], [10, 10])
    with pytest.raises(ReviewError, match="counts ≤ totals"):
        control_limits([11], [10])

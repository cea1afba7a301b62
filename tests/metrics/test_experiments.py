"""Tests of review.metrics.experiments: known answers on tiny hand-built tables, boundaries,
suppression, and the planted C01 effect on the demo store."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from review.config import Params, load_params
from review.errors import ParamsError
from review.metrics import experiments
from review.metrics.common import Window
from review.metrics.experiments import (
    COUNT_COLUMNS,
    breakdowns,
    experiment_counts,
    headline,
    readouts,
)
from review.paths import PROJECT_ROOT
from review.stats import READOUT_COLUMNS
from tests.metrics.helpers import make_tables, rows, window

SEPT = window("2026-09-01", "2026-09-30")

CAMPAIGNS = rows(
    "campaign_id name kind start end",
    ("C1", "onboarding", "onboarding_tiers", "2026-09-01", "2026-09-30"),  # in scope
    ("C2", "old", "referral", "2026-08-01", "2026-08-31"),  # ends the day before P: out
    ("C3", "late", "themed_promo", "2026-09-30", "2026-10-31"),  # starts on P's last day: in
    ("C4", "next", "themed_promo", "2026-10-01", "2026-10-31"),  # starts after P: out
    ("C5", "other", "referral", "2026-09-01", "2026-09-30"),  # not in the params' scope
    ("C6", "no control", "referral", "2026-09-01", "2026-09-30"),  # in scope, no control
)

_A = "user_id campaign_id variant touch_channel assigned_at reached converted_at reward_cost"
ASSIGNMENTS = rows(
    _A,
    # C1 control: 4 assigned, none reached; u01 converts at P's first instant (in),
    # u02 at end + 1 day 00:00 (out) → users 4, reached 0, conversions 1
    ("u01", "C1", "control", "push", "2026-09-01 00:00:00", False, "2026-09-01 00:00:00", 0.0),
    ("u02", "C1", "control", "push", "2026-09-01 00:00:00", False, "2026-10-01 00:00:00", 0.0),
    ("u03", "C1", "control", "push", "2026-09-02 00:00:00", False, None, 0.0),
    ("u04", "C1", "control", "push", "2026-09-02 00:00:00", False, None, 0.0),
    # C1 A: u05 converts at 23:59:59 on P's last day (in), u06 mid-month (in), u08 assigned at
    # 23:59:59 on the last day (in, not converted), u07 assigned at end + 1 day (out)
    # → users 3, reached 2, conversions 2
    ("u05", "C1", "A", "sms", "2026-09-01 00:00:00", True, "2026-09-30 23:59:59", 5.0),
    ("u06", "C1", "A", "sms", "2026-09-03 00:00:00", True, "2026-09-15 12:00:00", 5.0),
    ("u07", "C1", "A", "sms", "2026-10-01 00:00:00", True, "2026-10-01 01:00:00", 5.0),
    ("u08", "C1", "A", "sms", "2026-09-30 23:59:59", False, None, 0.0),
    # C1 B: users 2, reached 1, conversions 1 (u10 converted without being reached: ITT)
    ("u09", "C1", "B", "in_app", "2026-09-05 00:00:00", True, None, 0.0),
    ("u10", "C1", "B", "in_app", "2026-09-05 00:00:00", False, "2026-09-20 08:00:00", 5.0),
    # C3: control 1/0 reached/conv, A 1 reached 1 converted
    ("u11", "C3", "control", "push", "2026-09-30 08:00:00", False, None, 0.0),
    ("u12", "C3", "A", "push", "2026-09-30 08:00:00", True, "2026-09-30 10:00:00", 5.0),
    # out of scope campaigns
    ("u13", "C2", "control", "push", "2026-08-01 00:00:00", False, None, 0.0),
    ("u14", "C2", "A", "push", "2026-08-01 00:00:00", True, "2026-08-02 00:00:00", 5.0),
    ("u15", "C4", "control", "push", "2026-09-30 00:00:00", False, None, 0.0),
    ("u16", "C4", "A", "push", "2026-09-30 00:00:00", True, "2026-09-30 09:00:00", 5.0),
    ("u17", "C5", "control", "push", "2026-09-01 00:00:00", False, None, 0.0),
    ("u18", "C5", "A", "push", "2026-09-01 00:00:00", True, "2026-09-02 00:00:00", 5.0),
    # C6: in scope but without control → counts only, no readout
    ("u19", "C6", "A", "wechat", "2026-09-01 00:00:00", True, None, 0.0),
    ("u20", "C6", "B", "wechat", "2026-09-01 00:00:00", True, "2026-09-09 00:00:00", 5.0),
)
SCOPE = ["C1", "C2", "C3", "C4", "C6"]


def _tables():
    return make_tables(campaigns=CAMPAIGNS, assignments=ASSIGNMENTS)


def _params(k: int, splits: dict | None = None) -> Params:
    splits = splits or {"C1": {"control": 0.5, "A": 0.25, "B": 0.25}}
    return Params.from_dict({
        "period": "2026-09", "start": "2026-09-01", "end": "2026-09-30",
        "campaigns": [{"id": c, "planned_split": splits.get(c)} for c in SCOPE],
        "thresholds": {"min_cell_users": k},
    })


def test_experiment_counts_known_answers_and_boundaries():
    t = _tables()
    out = experiment_counts(t["assignments"], t["campaigns"], SEPT, SCOPE)
    assert list(out.columns) == list(COUNT_COLUMNS)
    got = [tuple(r) for r in out[["campaign_id", "variant", "users", "reached",
                                  "conversions"]].itertuples(index=False)]
    assert got == [
        ("C1", "control", 4, 0, 1),
        ("C1", "A", 3, 2, 2),
        ("C1", "B", 2, 1, 1),
        ("C3", "control", 1, 0, 0),
        ("C3", "A", 1, 1, 1),
        ("C6", "A", 1, 1, 0),
        ("C6", "B", 1, 1, 1),
    ]
    # rates: C1 control 1/4; C1 A reach 2/3, conversion 2/3
    assert out.rate.iloc[0] == pytest.approx(0.25)
    assert out.reach_rate.iloc[1] == pytest.approx(2 / 3)
    assert out.rate.iloc[1] == pytest.approx(2 / 3)


def test_experiment_counts_empty_period_and_no_campaigns():
    t = _tables()
    empty = experiment_counts(t["assignments"], t["campaigns"], window("2027-01-01", "2027-01-31"),
                              SCOPE)
    assert empty.empty and list(empty.columns) == list(COUNT_COLUMNS)
    assert experiment_counts(t["assignments"], t["campaigns"], SEPT, []).empty


def test_breakdowns_readout_known_answers():
    t = _tables()
    out = breakdowns(t, SEPT, _params(k=1))
    assert set(out) == {"counts", "readout"}
    r = out["readout"]
    assert list(r.columns) == ["campaign_id", *READOUT_COLUMNS, "srm_status", "suppressed"]
    # C6 has no control → no readout rows; C1 has A and B, C3 has A
    assert list(zip(r.campaign_id, r.variant, strict=True)) == [
        ("C1", "A"), ("C1", "B"), ("C3", "A")]
    a = r.iloc[0]
    # C1 A: 2/3 vs control 1/4 → abs lift 5/12 = 0.416667, rel lift (2/3)/(1/4) − 1 = 5/3
    # pooled p = 3/7; var = 3/7 · 4/7 · (1/3 + 1/4) = 1/7; z = (5/12)/√(1/7) = 1.10240
    # → p = 2Φ(−1.10240) = 0.27029; Holm over {A, B} doubles the smaller p (if ≤ B's)
    assert a.rate == pytest.approx(2 / 3) and a.control_rate == pytest.approx(0.25)
    assert a.abs_lift == pytest.approx(5 / 12) and a.rel_lift == pytest.approx(5 / 3)
    assert a.p_value == pytest.approx(0.27029, abs=1e-5)
    b = r.iloc[1]
    # C1 B: 1/2 vs 1/4: pooled p = 2/6; var = 1/3 · 2/3 · (1/2 + 1/4) = 1/6;
    # z = 0.25/√(1/6) = 0.61237 → p = 0.54029; Holm: A 2·0.27029 = 0.54058, B max(0.54058,
    # 0.54029) = 0.54058
    assert b.p_value == pytest.approx(0.54029, abs=1e-5)
    assert a.p_holm == pytest.approx(2 * a.p_value)
    assert b.p_holm == pytest.approx(a.p_holm)
    assert not a.significant and a.direction == "none"
    # SRM C1: observed 4/3/2 of 9 vs planned 0.5/0.25/0.25 → expected 4.5/2.25/2.25
    # χ² = 0.25/4.5 + 0.5625/2.25 + 0.0625/2.25 = 1/18 + 1/4 + 1/36 = 1/3; df 2 → p = e^(−1/6)
    assert a.srm_chi2 == pytest.approx(1 / 3) and b.srm_chi2 == pytest.approx(1 / 3)
    assert a.srm_p == pytest.approx(math.exp(-1 / 6)) and not a.srm_flag
    # C3 has no planned split → equal split; 1 vs 1 → χ² 0
    c3 = r.iloc[2]
    assert c3.srm_chi2 == pytest.approx(0.0)
    # C3 control converted nobody: relative lift undefined, noted
    assert math.isnan(c3.rel_lift) and "control rate is 0" in c3.note
    assert not r.suppressed.any()


def test_breakdowns_suppress_small_cells():
    # k = 3: counts cells with < 3 users masked (C1 B has 2, C3 and C6 have 1 per variant);
    # readout rows whose variant or control has < 3 users masked (C1 B: 2; C3 A: 1)
    out = breakdowns(_tables(), SEPT, _params(k=3))
    c = out["counts"]
    assert c.suppressed.tolist() == [False, False, True, True, True, True, True]
    assert c.users.iloc[0] == 4 and math.isnan(c.users.iloc[2])
    assert math.isnan(c.conversions.iloc[2]) and math.isnan(c.rate.iloc[2])
    r = out["readout"]
    assert r.suppressed.tolist() == [False, True, True]
    assert r.users.iloc[0] == 3 and r.abs_lift.iloc[0] == pytest.approx(5 / 12)
    b = r.iloc[1]
    assert math.isnan(b.users) and math.isnan(b.p_value) and math.isnan(b.abs_lo)
    assert math.isnan(b.control_users) and math.isnan(b.srm_p)
    assert not b.significant and b.direction == "none"


def test_breakdowns_significant_variant_direction():
    # CX: control 20 users with 2 conversions (0.10), A 20 users with 12 (0.60)
    # pooled p = 14/40 = 0.35; var = 0.35·0.65·(2/20) = 0.02275; z = 0.5/0.150831 = 3.3150
    # → p = 9.17e−4, one variant so p_holm = p < 0.05 → significant, "better"
    recs = [(f"x{i:02d}", "CX", "control", "push", "2026-09-01 00:00:00", True,
             "2026-09-10 00:00:00" if i < 2 else None, 0.0) for i in range(20)]
    recs += [(f"y{i:02d}", "CX", "A", "push", "2026-09-01 00:00:00", True,
              "2026-09-10 00:00:00" if i < 12 else None, 0.0) for i in range(20)]
    t = make_tables(
        campaigns=rows("campaign_id name kind start end",
                       ("CX", "x", "referral", "2026-09-01", "2026-09-30")),
        assignments=rows(_A, *recs))
    p = Params.from_dict({"period": "t", "start": "2026-09-01", "end": "2026-09-30",
                          "campaigns": [{"id": "CX"}]})  # default k = 10
    r = breakdowns(t, SEPT, p)["readout"]
    assert len(r) == 1
    assert r.p_value.iloc[0] == pytest.approx(9.17e-4, rel=2e-3)
    assert bool(r.significant.iloc[0]) and r.direction.iloc[0] == "better"


def test_breakdowns_empty_period_missing_tables_and_headline():
    t = _tables()
    out = breakdowns(t, window("2027-01-01", "2027-01-31"), _params(k=1))
    assert out["counts"].empty and out["readout"].empty
    assert list(out["readout"].columns) == ["campaign_id", *READOUT_COLUMNS, "srm_status", "suppressed"]
    assert breakdowns({"campaigns": t["campaigns"]}, SEPT, _params(k=1)) == {}
    assert headline(t, SEPT, _params(k=1)) == {}
    assert experiments.REQUIRES == ("campaigns", "assignments")


def test_breakdowns_planned_split_missing_a_variant_names_the_campaign():
    with pytest.raises(ParamsError, match="campaign 'C1'.*lacks variant"):
        breakdowns(_tables(), SEPT, _params(k=1, splits={"C1": {"control": 0.5, "A": 0.5}}))


# -- planted effect on the demo store ---------------------------------------------------------
def _truth(con, key: str) -> float:
    gt = con.table("ground_truth").to_pandas()
    row = gt[gt["key"] == key]
    assert len(row) == 1, f"ground_truth lacks {key!r}"
    return float(row["value"].iloc[0])


def test_demo_store_c01_planted_effect(demo_con):
    p = load_params(PROJECT_ROOT / "params" / "2026-09.yaml")
    t = {name: demo_con.table(name) for name in experiments.REQUIRES}
    out = breakdowns(t, Window(p.start, p.end), p)
    r = out["readout"].set_index(["campaign_id", "variant"])
    a, b = r.loc[("C01", "A")], r.loc[("C01", "B")]
    lift_a = _truth(demo_con, "experiment.C01.A.true_lift_abs")
    lift_b = _truth(demo_con, "experiment.C01.B.true_lift_abs")
    control_rate = _truth(demo_con, "experiment.C01.control.rate")
    assert bool(a.significant) and a.direction == "better"
    assert a.abs_lo <= lift_a <= a.abs_hi
    assert a.rel_lo <= lift_a / control_rate <= a.rel_hi
    assert not bool(b.significant) and b.direction == "none"
    assert b.abs_lo <= lift_b <= b.abs_hi
    assert not bool(a.srm_flag) and not bool(b.srm_flag)
    assert not bool(a.suppressed)
    # the planned split is 0.5/0.25/0.25: control holds about twice A's users
    counts = out["counts"].set_index(["campaign_id", "variant"])
    ratio = counts.loc[("C01", "control"), "users"] / counts.loc[("C01", "A"), "users"]
    assert 1.6 <= ratio <= 2.4


def _srm_counts(control: int, a: int) -> pd.DataFrame:
    return pd.DataFrame({"campaign_id": ["CS", "CS"], "variant": ["control", "A"],
                         "users": [control, a], "conversions": [100, 100]})


@pytest.mark.parametrize(("control", "a", "status"), [
    # planned 50/50 of 2,000: expected 1,000 each
    # 1058 / 942: χ² = 2·58²/1000 = 6.728, p = 0.0095 → below srm_warn 0.01: amber
    (1058, 942, "amber"),
    # 1100 / 900: χ² = 2·100²/1000 = 20, p = 7.7e-6 → below srm_alert 0.001: red
    (1100, 900, "red"),
    # 1020 / 980: χ² = 0.8, p = 0.37 → ok
    (1020, 980, "ok"),
])
def test_srm_status_amber_and_red(control, a, status):
    out = readouts(_srm_counts(control, a), {"CS": {"control": 0.5, "A": 0.5}},
                   min_cell_users=10, srm_warn=0.01, srm_alert=0.001).iloc[0]
    chi2 = 2 * (control - 1000) ** 2 / 1000
    assert out["srm_chi2"] == pytest.approx(chi2)
    assert out["srm_status"] == status
    assert out["srm_flag"] == (status == "red")
    if status == "amber":
        assert out["srm_p"] == pytest.approx(0.0095, abs=0.0002)


def test_srm_status_shown_even_when_cells_are_masked():
    out = readouts(_srm_counts(1100, 900), {"CS": None}, min_cell_users=5000).iloc[0]
    assert out["suppressed"] and math.isnan(out["abs_lift"])
    assert out["srm_status"] == "red" and math.isnan(out["srm_chi2"])

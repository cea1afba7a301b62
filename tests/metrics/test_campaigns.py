"""Known-answer tests for review.metrics.campaigns (tiny hand-built tables; numbers by hand)."""

from __future__ import annotations

import math
from datetime import date

import ibis
import pytest
from scipy.special import ndtri

from review.config import Params, load_params
from review.data.contract import TABLES
from review.metrics import campaigns as cm
from review.metrics.budget import headline as budget_headline
from review.metrics.common import Window
from review.metrics.period import compute_period
from review.paths import PARAMS_DIR
from tests.metrics.helpers import demo_tables, make_tables, rows, window

Z = float(ndtri(0.975))
_A = "user_id campaign_id variant touch_channel assigned_at reached converted_at reward_cost"
CAMPAIGNS = rows("campaign_id name kind start end target_segment",
                 ("C1", "Summer", "themed_promo", "2026-07-01", "2026-09-30", "all"))
# contacts only in August; window 30 days
ASSIGNMENTS = rows(
    _A,
    ("t1", "C1", "A", "push", "2026-08-05 09:00:00", True, "2026-08-10 09:00:00", 5.0),
    ("t2", "C1", "A", "push", "2026-08-06 09:00:00", True, "2026-09-03 09:00:00", 5.0),  # 28 d
    ("t3", "C1", "A", "sms", "2026-08-20 09:00:00", True, "2026-09-25 09:00:00", 5.0),  # 36 d
    ("t4", "C1", "A", "sms", "2026-08-31 23:59:59", True, None, 0.0),
    ("c1", "C1", "control", "push", "2026-08-05 09:00:00", False, "2026-08-20 09:00:00", 0.0),
    ("c2", "C1", "control", "push", "2026-08-06 09:00:00", False, None, 0.0),
    ("c3", "C1", "control", "sms", "2026-08-07 09:00:00", False, None, 0.0),
    ("c4", "C1", "control", "sms", "2026-08-10 09:00:00", False, None, 0.0),
)


def _params(start: str, end: str, **over) -> Params:
    data = {"period": "t", "start": start, "end": end,
            "thresholds": {"min_cell_users": 1, "conversion_window_days": 30}}
    data.update(over)
    return Params.from_dict(data)


def _run(start: str, end: str, **tables):
    t = make_tables(**tables)
    p = _params(start, end)
    return cm.campaign_tables(t["campaigns"], t["assignments"], window(start, end), p), \
        cm.headline(t, window(start, end), p)


def test_contacts_in_one_of_three_months():
    months = {m: _run(s, e, campaigns=CAMPAIGNS, assignments=ASSIGNMENTS)
              for m, s, e in (("jul", "2026-07-01", "2026-07-31"),
                              ("aug", "2026-08-01", "2026-08-31"),
                              ("sep", "2026-09-01", "2026-09-30"))}
    jul, jul_kpi = months["jul"]
    s = jul["summary"].iloc[0]
    assert (s["users_period"], s["users_to_date"], s["conversions_period"]) == (0, 0, 0)
    assert jul_kpi["campaign_participants"].value == 0
    assert jul_kpi["incremental_conversions"].value == 0

    aug, aug_kpi = months["aug"]
    s = aug["summary"].iloc[0]
    # treated assigned in August: t1..t4 (t4 on the last second) = 4; control c1..c4 = 4
    assert (s["users_period"], s["users_to_date"], s["control_period"]) == (4, 4, 4)
    # cohort: t1 (5 days) and t2 (28 days) convert within 30 days, t3 (36 days) does not
    assert s["cohort_conversions"] == 2 and s["cohort_rate"] == 0.5
    assert s["control_cohort_rate"] == 0.25                   # c1 of 4
    # incremental = (0.5 − 0.25) × 4 = 1; interval ± z·sqrt(.5·.5/4 + .25·.75/4) × 4
    half = Z * math.sqrt(0.5 * 0.5 / 4 + 0.25 * 0.75 / 4) * 4
    assert s["incremental_conversions"] == pytest.approx(1.0)
    assert (s["incremental_lo"], s["incremental_hi"]) == pytest.approx((1 - half, 1 + half))
    assert s["estimate"] == "randomised"
    # conversions in August (flow): t1 only (c1 is control)
    assert s["conversions_period"] == 1
    # data end = 09-25 (t3's conversion); t4's window ends 09-30: immature
    assert bool(s["immature"])
    ctl = aug["by_variant"].set_index("variant").loc["control"]
    assert not ctl["immature"]                                # c4 + 30 days = 09-09
    assert aug_kpi["campaign_participants"].value == 4
    assert aug_kpi["campaign_conversions"].value == 1
    assert aug_kpi["campaign_conversion_rate"].value == 0.5
    assert "immature" in aug_kpi["campaign_conversion_rate"].note
    assert aug_kpi["incremental_conversions"].value == pytest.approx(1.0)
    touch = aug["by_touch"].set_index(["variant", "touch_channel"])
    # push: t1, t2 both converted in the window: (1 − 0.25) × 2 = 1.5 vs the pooled control
    assert touch.loc[("A", "push"), "incremental_conversions"] == pytest.approx(1.5)

    sep, sep_kpi = months["sep"]
    s = sep["summary"].iloc[0]
    # no contact in September: 0 participants, the 4 of August only to date
    assert (s["users_period"], s["users_to_date"]) == (0, 4)
    # conversions in September: t2 (09-03) and t3 (09-25)
    assert s["conversions_period"] == 2 and s["conversions_to_date"] == 3
    assert s["incremental_conversions"] == 0
    assert sep_kpi["campaign_participants"].value == 0


def test_control_never_covered_and_people_counted_once():
    campaigns = rows("campaign_id name kind start end target_segment",
                     ("C1", "One", "referral", "2026-09-01", "2026-09-30", "mass"),
                     ("C2", "Two", "referral", "2026-09-01", "2026-09-30", None))
    assignments = rows(
        _A,
        ("u1", "C1", "A", "push", "2026-09-02 09:00:00", True, None, 0.0),
        ("u1", "C2", "A", "push", "2026-09-03 09:00:00", True, None, 0.0),   # same person
        ("u2", "C1", "A", "push", "2026-09-02 09:00:00", True, None, 0.0),
        ("u3", "C1", "control", "push", "2026-09-02 09:00:00", True, None, 0.0),
        ("u4", "C2", "control", "push", "2026-09-02 09:00:00", True, None, 0.0),
    )
    users = rows("user_id registered_at segment",
                 ("u1", "2026-01-01 00:00:00", "mass"), ("u2", "2026-01-01 00:00:00", "mass"),
                 ("u3", "2026-01-01 00:00:00", "mass"), ("u4", "2026-01-01 00:00:00", "mass"),
                 ("u5", "2026-10-01 00:00:00", "mass"),            # registered after P
                 ("u6", "2026-01-01 00:00:00", "affluent"))
    t = make_tables(campaigns=campaigns, assignments=assignments, users=users)
    p = _params("2026-09-01", "2026-09-30")
    out = cm.campaign_tables(t["campaigns"], t["assignments"], window("2026-09-01", "2026-09-30"),
                             p, users=t["users"])
    cov = out["coverage"].iloc[0]
    # treated people: u1, u2 (u1 in two campaigns: 3 person-campaigns); controls u3, u4 never
    assert (cov["people_period"], cov["person_campaigns_period"]) == (2, 3)
    assert cov["control_people_period"] == 2
    s = out["summary"].set_index("campaign_id")
    # participation: C1 2 of the 4 mass users registered by 09-30; C2 (all) 1 of 5
    assert s.loc["C1", "participation_rate"] == 0.5
    assert s.loc["C2", "participation_rate"] == pytest.approx(1 / 5)
    assert cm.headline(t, window("2026-09-01", "2026-09-30"), p)[
        "campaign_participants"].value == 2


def test_campaign_only_source_yields_full_results():
    con = ibis.duckdb.connect()
    t = make_tables(campaigns=CAMPAIGNS, assignments=ASSIGNMENTS)
    for name in ("campaigns", "assignments"):
        con.create_table(name, t[name].to_pyarrow())
    pm = compute_period(con, _params("2026-08-01", "2026-08-31"))
    assert pm.kpis["campaign_participants"].value == 4
    assert pm.kpis["incremental_conversions"].value == pytest.approx(1.0)
    assert {"campaigns.summary", "campaigns.by_variant", "campaigns.by_touch",
            "campaigns.coverage"} <= set(pm.tables)
    assert pm.tables["campaigns.summary"].iloc[0]["users_period"] == 4
    # other families name the tables really missing, never campaigns or assignments
    assert "campaigns" not in (pm.kpis["cac"].note or "")
    assert "spend" in pm.kpis["cac"].note
    roi = pm.kpis["campaign_roi"]
    assert math.isnan(roi.value) and "transactions or balances" in roi.note
    assert set(pm.missing_tables) == set(TABLES) - {"campaigns", "assignments"}


# -- value and ROI ----------------------------------------------------------------------------
ROI_CAMPAIGNS = rows("campaign_id name kind start end",
                     ("C1", "Deposit", "themed_promo", "2026-09-01", "2026-09-30"))
ROI_ASSIGNMENTS = rows(
    _A,
    ("t1", "C1", "A", "push", "2026-09-01 09:00:00", True, "2026-09-10 09:00:00", 5.0),
    ("t2", "C1", "A", "push", "2026-09-01 09:00:00", True, None, 0.0),
    ("c1", "C1", "control", "push", "2026-09-01 09:00:00", False, None, 0.0),
    ("c2", "C1", "control", "push", "2026-09-01 09:00:00", False, None, 0.0),
)
ROI_BALANCES = rows("user_id month aum",
                    *[(u, "2026-08-31", 1000.0) for u in ("t1", "t2", "c1", "c2")],
                    ("t1", "2026-09-30", 3000.0), ("t2", "2026-09-30", 1000.0),
                    ("c1", "2026-09-30", 1000.0), ("c2", "2026-09-30", 1000.0))
ROI_TXNS = rows("txn_id user_id ts type channel amount status",
                ("x1", "t2", "2026-09-05 10:00:00", "transfer", "mobile", 1.0, "success"),
                ("x2", "t2", "2026-09-06 10:00:00", "transfer", "mobile", 1.0, "success"),
                ("x3", "c1", "2026-09-07 10:00:00", "transfer", "mobile", 1.0, "success"),
                ("x4", "c2", "2026-09-07 10:00:00", "transfer", "branch", 1.0, "failed"))
ROI_SPEND = rows("date channel category campaign_id amount impressions clicks",
                 ("2026-09-02", "internal", "digital_ads", "C1", 10.0, 0, 0))


def _roi(aum_margin: float):
    t = make_tables(campaigns=ROI_CAMPAIGNS, assignments=ROI_ASSIGNMENTS, balances=ROI_BALANCES,
                    transactions=ROI_TXNS, spend=ROI_SPEND)
    p = _params("2026-09-01", "2026-09-30",
                revenue={"margin_per_txn": {"transfer": 1.0}, "aum_margin_annual": aum_margin,
                         "ltv_horizon_months": 3, "monthly_discount_rate": 0.0})
    out = cm.campaign_tables(t["campaigns"], t["assignments"], window("2026-09-01", "2026-09-30"),
                             p, spend=t["spend"], transactions=t["transactions"],
                             balances=t["balances"])
    return out["summary"].iloc[0]


def test_roi_in_period_and_projected_known_answer():
    s = _roi(0.12)   # AUM × 0.12 / 12 = 1 % of AUM a month
    # value per user: pre (Aug) t 10, 10; c 10, 10 → v_t(pre) = v_c(pre) = 10
    # Sep: t1 30 (AUM 3000), t2 10 + 2 transfers = 12 → v_t = 21; c1 10 + 1, c2 10 (failed
    # transfer earns nothing) → v_c = 10.5; inc = (21 − 10) − (10.5 − 10) = 10.5 per user
    assert s["incremental_value_period"] == pytest.approx(21.0)          # × 2 treated
    # cost in P: t1's reward 5 + tagged spend 10 = 15; ROI = (21 − 15) / 15
    assert s["cost_period"] == pytest.approx(15.0)
    assert s["roi_period"] == pytest.approx(0.4)
    # projected, H = 3, d = 0, one observed month (q = 1): 3 × 10.5 × 2 = 63
    assert s["incremental_value_projected"] == pytest.approx(63.0)
    assert s["roi_projected"] == pytest.approx((63 - 15) / 15)
    assert s["payback_month"] == 1                                     # 21 ≥ 15 in month 1
    # interval: d = Sep value − Aug value per user: t1 20, t2 2 (mean 11, variance 162);
    # c1 1, c2 0 (mean .5, variance .5); se = sqrt(162/2 + .5/2) = 9.01388; weights of the
    # 3 months 1 + 1 + 1 → half-width = z · se · 2 treated · 3
    half = Z * math.sqrt(162 / 2 + 0.5 / 2) * 2 * 3
    assert s["roi_projected_lo"] == pytest.approx((63 - half - 15) / 15)
    assert s["roi_projected_hi"] == pytest.approx((63 + half - 15) / 15)


def test_roi_moves_with_the_aum_margin():
    s = _roi(0.24)
    # AUM margins double: v_t(pre) 20, v_t(Sep) (60 + 20 + 2)/2 = 41; v_c 20 → 20.5
    # inc = 21 − 0.5 = 20.5 per treated user, × 2 = 41
    assert s["incremental_value_period"] == pytest.approx(41.0)
    assert s["roi_period"] == pytest.approx((41 - 15) / 15)


# -- demo store ---------------------------------------------------------------------------------
def _demo(demo_con, **revenue):
    p = load_params(PARAMS_DIR / "2026-10.yaml")
    if revenue:
        p = p.model_copy(update={"revenue": p.revenue.model_copy(update=revenue)})
    return demo_tables(demo_con), p


def test_demo_winning_variant_pays_back_and_null_does_not(demo_con):
    t, p = _demo(demo_con)
    out = cm.campaign_tables(t["campaigns"], t["assignments"], Window(p.start, p.end), p,
                             users=t["users"], spend=t["spend"], transactions=t["transactions"],
                             balances=t["balances"])
    v = out["by_variant"].set_index(["campaign_id", "variant"])
    assert v.loc[("C01", "A"), "roi_projected"] > 0          # planted +6 pp and new funds
    assert not v.loc[("C01", "B"), "roi_projected"] > 0      # planted lift 0


def test_demo_aum_margin_moves_roi_and_ltv_cac(demo_con):
    w = None
    got = {}
    for rate in (0.0, 0.01):
        t, p = _demo(demo_con, aum_margin_annual=rate)
        w = Window(p.start, p.end)
        out = cm.campaign_tables(t["campaigns"], t["assignments"], w, p, users=t["users"],
                                 spend=t["spend"], transactions=t["transactions"],
                                 balances=t["balances"])
        roi = out["by_variant"].set_index(["campaign_id", "variant"]).loc[("C01", "A")]
        got[rate] = (roi["roi_projected"], budget_headline(t, w, p)["ltv_cac"].value)
    assert got[0.01][0] > got[0.0][0]          # the AUM margin adds to the campaign's value
    assert got[0.01][1] > got[0.0][1]          # … and to LTV, so LTV/CAC rises with it


def test_demo_customers_covered_within_registered_base(demo_con):
    t, p = _demo(demo_con)
    for start, end in (("2026-10-01", "2026-10-31"), ("2026-07-01", "2026-09-30")):
        w = window(start, end)
        cov = cm.coverage(t["campaigns"], t["assignments"], w).iloc[0]
        base = t["users"].filter(t["users"].registered_at < w.ts_hi).count().execute()
        assert 0 < cov["people_to_date"] <= base
        assert cov["people_period"] <= cov["person_campaigns_period"]


def test_without_control_value_is_a_non_randomised_did_against_non_participants():
    campaigns = rows("campaign_id name kind start end target_segment",
                     ("CN", "No control", "themed_promo", "2026-09-01", "2026-09-30", "mass"))
    assignments = rows(
        _A,
        ("t1", "CN", "A", "push", "2026-09-01 09:00:00", True, "2026-09-10 09:00:00", 6.0),
        ("t2", "CN", "A", "push", "2026-09-01 09:00:00", True, None, 0.0))
    users = rows("user_id registered_at segment",
                 *[(u, "2026-01-01 00:00:00", "mass") for u in ("t1", "t2", "n1", "n2")],
                 ("a1", "2026-01-01 00:00:00", "affluent"),     # another segment: out
                 ("n3", "2026-10-01 00:00:00", "mass"))         # registered after P: out
    balances = rows("user_id month aum",
                    *[(u, "2026-08-31", 1000.0) for u in ("t1", "t2", "n1", "n2")],
                    ("a1", "2026-08-31", 9e6), ("a1", "2026-09-30", 1e6),
                    ("t1", "2026-09-30", 3000.0), ("t2", "2026-09-30", 1000.0),
                    ("n1", "2026-09-30", 1000.0), ("n2", "2026-09-30", 1200.0))
    t = make_tables(campaigns=campaigns, assignments=assignments, users=users,
                    balances=balances)
    p = _params("2026-09-01", "2026-09-30",
                revenue={"aum_margin_annual": 0.12, "ltv_horizon_months": 3,
                         "monthly_discount_rate": 0.0})
    s = cm.campaign_tables(t["campaigns"], t["assignments"], window("2026-09-01", "2026-09-30"),
                           p, users=t["users"], balances=t["balances"])["summary"].iloc[0]
    # AUM margin 1 % a month. Treated: Aug 10, 10 → Sep 30, 10: Δ = 20 − 10 = 10 per user.
    # Non-participants of "mass" (n1, n2): Aug 10, 10 → Sep 10, 12: Δ = 1. inc = 9 per
    # treated user, × 2 = 18; cost = t1's reward 6 → ROI (18 − 6) / 6 = 2
    assert s["value_estimate"] == "non-randomised" and "non-randomised" in s["note"]
    assert s["incremental_value_period"] == pytest.approx(18.0)
    assert s["roi_period"] == pytest.approx(2.0)
    # projected over 3 months (d = 0, q = 1): 9 × 3 × 2 = 54 → (54 − 6) / 6 = 8
    assert s["roi_projected"] == pytest.approx(8.0)
    # conversions of non-participants are not observed: no incremental conversions
    assert math.isnan(s["incremental_conversions"]) and s["control_to_date"] == 0


def test_monthly_trend_counts_people_and_conversions_by_month():
    t = make_tables(campaigns=CAMPAIGNS, assignments=ASSIGNMENTS)
    got = cm.monthly_trend(t["campaigns"], t["assignments"],
                           window("2026-09-01", "2026-09-30")).set_index("month")
    assert len(got) == 12
    # treated assigned in August: t1..t4; converted: t1 in August, t2 and t3 in September;
    # c1 (control, converted in August) never counted
    assert got.loc[date(2026, 8, 1)].tolist() == [4, 1]
    assert got.loc[date(2026, 9, 1)].tolist() == [0, 2]
    assert got.loc[date(2026, 7, 1)].tolist() == [0, 0]

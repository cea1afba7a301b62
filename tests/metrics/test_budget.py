"""Known-answer tests for review.metrics.budget (tiny hand-built tables; numbers by hand)."""

from __future__ import annotations

import json
import math
from datetime import date

import pandas as pd
import pytest

from review.config import Params, load_params
from review.kpis import KPI_CATALOG
from review.metrics import budget as bud
from review.metrics.common import Window
from review.paths import PARAMS_DIR
from tests.metrics.helpers import make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
MARGINS = {"transfer": 1.0, "wealth": 10.0}


def params(**over) -> Params:
    data = {"period": "t", "start": "2026-09-01", "end": "2026-09-30",
            "budget": {"total": 1000, "shares": {"digital_ads": 0.6, "offline": 0.3,
                                                  "reserve": 0.1}},
            "revenue": {"margin_per_txn": MARGINS},
            "thresholds": {"min_cell_users": 2}}
    data.update(over)
    return Params.from_dict(data)


def _frames() -> dict[str, pd.DataFrame]:
    spend = rows(
        "date channel category campaign_id amount impressions clicks",
        ("2026-09-01", "digital_ads", "digital_ads", None, 200.0, 1000, 50),   # P start
        ("2026-09-30", "kol", "kol", None, 300.0, 500, 10),                    # P end
        ("2026-09-15", "branch", "offline", "C1", 100.0, 0, 0),
        ("2026-09-15", "internal", "tech", None, 50.0, 0, 0),
        ("2026-09-20", "referral", "partnership", None, 40.0, 0, 0),
        ("2026-10-01", "digital_ads", "digital_ads", None, 999.0, 0, 0),       # after P
        ("2026-08-31", "digital_ads", "digital_ads", None, 888.0, 0, 0),       # before P
    )
    users = rows(
        "user_id registered_at acquisition_channel",
        ("d1", "2026-09-01 00:00:00", "digital_ads"),
        ("d2", "2026-09-10 10:00:00", "digital_ads"),
        ("d3", "2026-09-11 10:00:00", "digital_ads"),
        ("d4", "2026-09-30 23:59:59", "digital_ads"),   # registered on the last second: in
        ("d5", "2026-10-01 00:00:00", "digital_ads"),   # after P
        ("d6", "2026-08-31 23:59:59", "digital_ads"),   # before P
        ("k1", "2026-09-05 10:00:00", "kol"),
        ("b1", "2026-09-05 10:00:00", "branch"),
        ("b2", "2026-09-06 10:00:00", "branch"),
        ("o1", "2026-09-06 10:00:00", "organic"),       # no spend: not in CAC
    )
    campaigns = rows(
        "campaign_id name kind start end",
        ("C1", "Onboarding", "onboarding_tiers", "2026-08-15", "2026-09-20"),
        ("C2", "Later", "themed_promo", "2026-10-05", "2026-10-30"),   # does not overlap P
        ("C3", "No control", "referral", "2026-09-10", "2026-12-31"),
    )
    assignments = rows(
        "user_id campaign_id variant touch_channel assigned_at reached converted_at reward_cost",
        ("a1", "C1", "control", "push", "2026-08-20 09:00:00", True, None, 0.0),
        ("a2", "C1", "control", "sms", "2026-08-20 09:00:00", False, None, 0.0),
        ("a3", "C1", "A", "push", "2026-08-20 09:00:00", True, "2026-09-05 10:00:00", 5.0),
        ("a4", "C1", "A", "push", "2026-08-20 09:00:00", True, "2026-08-25 10:00:00", 5.0),
        ("a5", "C1", "B", "push", "2026-09-25 09:00:00", True, None, 0.0),  # after C1's window
        ("a1", "C3", "A", "in_app", "2026-09-12 09:00:00", True, None, 2.0),
    )
    transactions = rows(
        "txn_id user_id ts type channel amount status",
        ("x1", "a1", "2026-09-05 10:00:00", "wealth", "mobile", 1.0, "success"),
        ("x2", "a1", "2026-09-25 10:00:00", "transfer", "mobile", 1.0, "success"),
        ("x3", "a3", "2026-09-01 00:00:00", "wealth", "mobile", 1.0, "success"),
        ("x4", "a3", "2026-09-20 23:59:59", "transfer", "mobile", 1.0, "success"),
        ("x5", "a3", "2026-09-21 00:00:00", "wealth", "mobile", 1.0, "success"),
        ("x6", "a4", "2026-09-10 10:00:00", "transfer", "mobile", 1.0, "failed"),
        ("x7", "a4", "2026-09-10 11:00:00", "wealth", "mobile", 1.0, "success"),
        ("x8", "a5", "2026-09-10 11:00:00", "wealth", "mobile", 1.0, "success"),
    )
    return {"spend": spend, "users": users, "campaigns": campaigns, "assignments": assignments,
            "transactions": transactions}


@pytest.fixture
def t():
    return make_tables(**_frames())


# -- plan vs actual, burn-down ------------------------------------------------------------------------
def test_budget_execution(t):
    # spend in P: 200 + 300 + 100 + 50 + 40 = 690 of a planned 1000
    m = bud.budget_execution(t["spend"], SEP, params().budget)
    assert m.value == pytest.approx(0.69) and (m.numerator, m.denominator) == (690, 1000)
    none = bud.budget_execution(t["spend"], SEP, None)
    assert math.isnan(none.value) and "no budget" in none.note


def test_plan_vs_actual(t):
    got = bud.plan_vs_actual(t["spend"], SEP, params().budget).set_index("category")
    # planned = 1000 × share: digital_ads 600, offline 300, reserve 100; others 0
    assert got["planned"].to_dict() == {"digital_ads": 600, "kol": 0, "offline": 300,
                                        "partnership": 0, "reserve": 100, "tech": 0}
    assert got["actual"].to_dict() == {"digital_ads": 200, "kol": 300, "offline": 100,
                                       "partnership": 40, "reserve": 0, "tech": 50}
    assert got.loc["digital_ads", "variance"] == -400
    assert got.loc["digital_ads", "variance_pct"] == pytest.approx(-400 / 600)
    assert got.loc["reserve", "execution"] == 0.0
    assert math.isnan(got.loc["kol", "variance_pct"])   # nothing planned: no percentage
    no_plan = bud.plan_vs_actual(t["spend"], SEP, None)
    assert no_plan["planned"].isna().all() and no_plan["actual"].sum() == 690


def test_spend_by_channel(t):
    got = bud.spend_by_channel(t["spend"], SEP)
    assert got["channel"].tolist() == ["kol", "digital_ads", "branch", "internal", "referral"]
    g = got.set_index("channel")
    assert g.loc["kol", "share"] == pytest.approx(300 / 690)
    assert g.loc["digital_ads", "ctr"] == pytest.approx(0.05)        # 50 / 1000
    assert g.loc["digital_ads", "cost_per_click"] == pytest.approx(4.0)   # 200 / 50
    assert math.isnan(g.loc["branch", "ctr"])                       # no impressions


def test_burn_down(t):
    got = bud.burn_down(t["spend"], SEP, 1000)
    assert len(got) == 30 and got["date"].iloc[0] == date(2026, 9, 1)
    by_day = got.set_index("date")
    # 09-01: 200; 09-15: 100 + 50 → 350; 09-20: +40 → 390; 09-30: +300 → 690
    assert by_day.loc[date(2026, 9, 1), "cumulative"] == 200
    assert by_day.loc[date(2026, 9, 2), "amount"] == 0
    assert by_day.loc[date(2026, 9, 15), "cumulative"] == 350
    assert by_day.loc[date(2026, 9, 30), "cumulative"] == 690
    assert by_day.loc[date(2026, 9, 1), "planned_cumulative"] == pytest.approx(1000 / 30)
    assert by_day.loc[date(2026, 9, 30), "planned_cumulative"] == pytest.approx(1000)
    assert by_day.loc[date(2026, 9, 30), "remaining"] == pytest.approx(310)
    assert bud.burn_down(t["spend"], SEP, None)["planned_cumulative"].isna().all()


# -- CAC --------------------------------------------------------------------------------------------
def test_cac_by_channel(t):
    got = bud.cac_by_channel(t["spend"], t["users"], SEP).set_index("channel")
    # digital_ads 200 / 4 (d1..d4) = 50; branch 100 / 2 = 50; kol 300 / 1 = 300;
    # referral 40 / 0 → NaN with a note; internal and organic are not listed
    assert set(got.index) == {"digital_ads", "branch", "kol", "referral"}
    assert got["new_users"].to_dict() == {"digital_ads": 4, "branch": 2, "kol": 1, "referral": 0}
    assert got.loc["digital_ads", "cac"] == 50 and got.loc["kol", "cac"] == 300
    assert math.isnan(got.loc["referral", "cac"]) and "no new users" in got.loc["referral", "note"]
    # median of (50, 50, 300) = 50 → kol is 6× the median: flagged
    assert got.loc["kol", "vs_median"] == 6 and got.loc["kol", "flagged_high"]
    assert not got.loc["digital_ads", "flagged_high"] and not got.loc["referral", "flagged_high"]
    assert got.loc["digital_ads", "rank"] == 1 and got.loc["kol", "rank"] == 3
    assert pd.isna(got.loc["referral", "rank"])


def test_cac_headline(t):
    got = bud.headline(t, SEP, params())
    # (200 + 300 + 100 + 40) / (4 + 1 + 2 + 0) = 640 / 7
    assert got["cac"].value == pytest.approx(640 / 7)
    assert (got["cac"].numerator, got["cac"].denominator) == (640, 7)
    assert set(got) == {k for k, v in KPI_CATALOG.items() if v.family == "budget"}
    # no events table → ltv_cac is NaN with a note naming the table
    assert math.isnan(got["ltv_cac"].value) and "events" in got["ltv_cac"].note


def test_cac_empty_period(t):
    got = bud.headline(t, window("2025-01-01", "2025-01-31"), params())
    assert math.isnan(got["cac"].value) and "zero" in got["cac"].note
    assert got["budget_execution"].value == 0


def test_cac_breakdown_suppressed(t):
    cac = bud.breakdowns(t, SEP, params())["cac"].set_index("channel")
    # k = 2: kol (1 new user) and referral (0) are masked, the flag survives
    assert cac.loc["kol", "suppressed"] and math.isnan(cac.loc["kol", "cac"])
    assert cac.loc["kol", "flagged_high"] and cac.loc["kol", "spend"] == 300
    assert not cac.loc["branch", "suppressed"] and cac.loc["branch", "cac"] == 50


def test_ltv_cac_by_channel_and_measure(t):
    cac = bud.cac_by_channel(t["spend"], t["users"], SEP)
    ltv = pd.DataFrame({"acquisition_channel": ["digital_ads", "kol", "branch"],
                        "ltv": [100.0, 150.0, math.nan],
                        "note": [None, None, "fewer than two observed months"]})
    got = bud.ltv_cac_by_channel(ltv, cac).set_index("channel")
    assert got.loc["digital_ads", "ltv_cac"] == pytest.approx(2.0)    # 100 / 50
    assert got.loc["kol", "ltv_cac"] == pytest.approx(0.5)            # 150 / 300
    assert math.isnan(got.loc["branch", "ltv_cac"]) and "fewer" in got.loc["branch", "note"]
    assert "no new users" in got.loc["referral", "note"]
    m = bud.ltv_cac_measure(got.reset_index())
    # (4·100 + 1·150) / (200 + 300) = 1.1; branch and referral have no LTV
    assert m.value == pytest.approx(1.1)
    assert "branch, referral" in m.note


def test_ltv_tables_and_ltv_cac_end_to_end():
    f = _frames()
    f["users"] = pd.concat([f["users"], rows("user_id registered_at acquisition_channel",
                                             ("e1", "2026-08-10 09:00:00", "digital_ads"))])
    f["events"] = rows("user_id ts event",
                       ("e1", "2026-08-11 09:00:00", "login"),
                       ("e1", "2026-09-11 09:00:00", "login"),
                       ("d1", "2026-09-02 09:00:00", "login"),
                       ("d2", "2026-09-03 09:00:00", "login"))
    f["transactions"] = pd.concat([f["transactions"], rows(
        "txn_id user_id ts type channel amount status",
        ("x9", "e1", "2026-09-12 10:00:00", "wealth", "mobile", 1.0, "success"))])
    t = make_tables(**f)
    p = params(revenue={"margin_per_txn": MARGINS, "ltv_horizon_months": 3,
                        "monthly_discount_rate": 0.0})
    # digital_ads cohorts: August (d6, e1), September (d1..d4)
    # age 0: 6 users, active e1, d1, d2 → .5, margin 0; age 1: August only, 2 users, active e1
    # (login + wealth 10) → .5, margin 10; q = min(1, .5/.5) = 1; a = 10 / 4 active months
    # LTV = 2.5 · (.5 + .5 + .5) = 3.75; CAC 50 → LTV/CAC .075
    # kol and branch have September cohorts only → no projection; referral has no users
    out = bud.breakdowns(t, SEP, p)
    ltv = out["ltv"].set_index("acquisition_channel")
    assert ltv.loc["digital_ads", "ltv"] == pytest.approx(3.75)
    assert ltv.loc["kol", "suppressed"] and not ltv.loc["digital_ads", "suppressed"]
    assert set(out["ltv_curve"]["acquisition_channel"]) == {"digital_ads"}
    assert out["ltv_curve"]["age"].tolist() == [0, 1, 2]
    lc = out["ltv_cac"].set_index("channel")
    assert lc.loc["digital_ads", "ltv_cac"] == pytest.approx(0.075)
    assert lc.loc["referral", "note"] == "spend but no new users in P; no LTV cohort for this channel"
    h = bud.headline(t, SEP, p)["ltv_cac"]
    assert h.value == pytest.approx(4 * 3.75 / 200)
    assert h.note == "channels without a projected LTV left out: branch, kol, referral"


# -- money bridge and all-in CAC ------------------------------------------------------------------
def test_money_bridge_reconciles_every_view(t):
    got = bud.money_bridge(t["spend"], SEP)
    # spend in P: digital_ads/digital_ads 200, kol/kol 300, offline/branch/C1 100,
    # tech/internal 50, partnership/referral 40 → 690 (the 08-31 and 10-01 rows are outside)
    assert got["amount"].sum() == 690
    assert got[["category", "channel", "campaign_id", "amount"]].values.tolist() == [
        ["digital_ads", "digital_ads", None, 200.0], ["kol", "kol", None, 300.0],
        ["offline", "branch", "C1", 100.0], ["partnership", "referral", None, 40.0],
        ["tech", "internal", None, 50.0]]
    # the by-category and by-channel views add up to the same total
    assert bud.plan_vs_actual(t["spend"], SEP, params().budget)["actual"].sum() == 690
    assert bud.spend_by_channel(t["spend"], SEP)["amount"].sum() == 690
    assert bud.breakdowns(t, SEP, params())["money_bridge"]["amount"].sum() == 690


def test_cac_all_in_beside_paid(t):
    # all-in: every category but tech/service/reserve/training: 690 − 50 (tech) = 640 over
    # all 8 users registered in P (d1..d4, k1, b1, b2, o1) = 80 per user
    m = bud.cac_all_in(t["spend"], t["users"], SEP)
    assert (m.value, m.numerator, m.denominator) == (80.0, 640.0, 8.0)
    got = bud.headline(t, SEP, params())
    assert got["cac_all_in"].value == 80.0 and "cac" in got


def test_missing_tables():
    got = bud.headline({}, SEP, params())
    assert all(math.isnan(m.value) and m.note.startswith("needs table") for m in got.values())
    assert bud.breakdowns({}, SEP, params()) == {}


# -- planted effect on the demo store ----------------------------------------------------------------
def test_planted_worst_cac_channel_is_flagged(demo_con):
    p = load_params(PARAMS_DIR / "2026-09.yaml")
    truth = demo_con.table("ground_truth").execute()
    worst = json.loads(truth.loc[truth["key"] == "worst_cac_channel", "detail"].iloc[0])
    got = bud.cac_by_channel(demo_con.table("spend"), demo_con.table("users"),
                             Window(p.start, p.end))
    assert got.dropna(subset=["cac"]).iloc[-1]["channel"] == worst      # most expensive
    assert got.set_index("channel").loc[worst, "flagged_high"]
    assert got["flagged_high"].sum() == 1

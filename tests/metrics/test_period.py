"""compute_period: the whole KPI set of a period, RAG and change, missing tables."""

import json
import math

import pytest

from review.config import Params
from review.kpis import KPI_CATALOG
from review.metrics import compute_period
from review.metrics.result import PeriodMetrics
from tests.metrics.helpers import make_tables, rows

SEPT = {"period": "2026-09", "start": "2026-09-01", "end": "2026-09-30"}


class _Only:
    """A backend exposing only some tables of another (what a partial source looks like)."""

    def __init__(self, tables):
        self._t = tables

    def list_tables(self):
        return sorted(self._t)

    def table(self, name):
        return self._t[name]


def test_missing_tables_give_nan_kpis_with_a_note_and_no_breakdowns():
    users = rows("user_id registered_at acquisition_channel region city_tier age_band segment",
                 ("u1", "2026-08-10 09:00", "branch", "r", "key", "25-34", "mass"),
                 ("u2", "2026-09-05 10:00", "referral", "r", "key", "25-34", "mass"),
                 ("u3", "2026-09-30 23:59:59", "referral", "r", "key", "18-24", "student"))
    t = make_tables(users=users)
    # k = 1: the arithmetic on three users is the point here (small counts: test_disclosure)
    params = Params.from_dict({**SEPT, "targets": {"new_users": {"value": 4}},
                               "thresholds": {"min_cell_users": 1}})
    pm = compute_period(_Only(t), params)
    # u2 and u3 registered in September; the base at the end is all three; in August 1 new
    assert pm.kpis["new_users"].value == 2
    assert pm.kpis["registered_base"].value == 3
    assert pm.kpis["new_users"].compare_value == 1
    assert pm.kpis["new_users"].change_abs == 1 and pm.kpis["new_users"].change_rel == 1.0
    # 2 of a target of 4 → attainment 0.5 → red
    assert pm.kpis["new_users"].attainment == 0.5 and pm.kpis["new_users"].rag == "red"
    # everything needing events is NaN with a reason, never an exception
    mau = pm.kpis["mau_ratio"]
    assert math.isnan(mau.value) and "events" in mau.note
    assert "events" in pm.missing_tables and "users" not in pm.missing_tables
    assert not any(name.startswith("activity.") for name in pm.tables)
    assert set(pm.kpis) == set(KPI_CATALOG)


def test_demo_period_round_trips_and_serialises(demo_params, demo_metrics, tmp_path):
    params = demo_params("2026-09")
    pm = demo_metrics("2026-09")
    assert set(pm.kpis) == set(KPI_CATALOG)
    assert pm.missing_tables == []
    assert 0 < pm.kpis["mau_ratio"].value < 1
    assert "funnel.steps@compare" in pm.tables
    pm.save(tmp_path)
    again = PeriodMetrics.load(tmp_path)
    assert again.to_json() == pm.to_json()
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["kpis"]["new_users"]["target"] == params.targets["new_users"].value
    assert set(doc["kpis"]["mau_ratio"]) >= {"value", "target", "rag", "compare_value",
                                             "change_abs", "change_rel", "unit"}


@pytest.mark.parametrize("period", ["2026-09"])
def test_metrics_json_is_deterministic(demo_con, demo_params, demo_metrics, tmp_path, period):
    # the session's KPI set (computed through the cache) against a fresh computation: the one
    # second computation of a period the suite makes, on purpose
    demo_metrics(period).save(tmp_path / "a")
    compute_period(demo_con, demo_params(period)).save(tmp_path / "b")
    assert (tmp_path / "a/metrics.json").read_bytes() == (tmp_path / "b/metrics.json").read_bytes()


def test_a_period_without_data_gives_nan_with_notes_not_an_error(demo_metrics):
    # January 2001 lies before any demo data
    pm = demo_metrics("2001-01")
    assert pm.kpis["new_users"].value == 0
    mau = pm.kpis["mau_ratio"]
    assert math.isnan(mau.value) and mau.note
    assert pm.tables["risk.failure_daily"]["flagged"].sum() == 0


def test_metrics_json_carries_campaign_and_experiment_results(demo_metrics, tmp_path):
    pm = demo_metrics("2026-10")
    pm.save(tmp_path)
    doc = json.loads((tmp_path / "metrics.json").read_text())
    res = doc["results"]
    assert {"campaigns", "campaign_variants", "campaign_touch_channels", "campaign_coverage",
            "experiments"} <= set(res)
    c01a = next(r for r in res["campaign_variants"]
                if r["campaign_id"] == "C01" and r["variant"] == "A")
    assert {"users_period", "users_to_date", "cohort_rate", "incremental_conversions",
            "incremental_lo", "incremental_hi", "cost_period", "roi_period", "roi_projected",
            "payback_month"} <= set(c01a)
    exp = next(r for r in res["experiments"] if r["campaign_id"] == "C01" and r["variant"] == "A")
    assert {"users", "conversions", "rate", "abs_lift", "abs_lo", "abs_hi", "rel_lift",
            "rel_lo", "rel_hi", "p_value", "p_holm", "srm_chi2", "srm_p", "srm_status"} <= set(exp)
    assert exp["users"] == pm.tables["experiments.readout"].set_index(
        ["campaign_id", "variant"]).loc[("C01", "A"), "users"]
    touch = [r for r in res["campaign_touch_channels"] if r["campaign_id"] == "C01"]
    assert {r["touch_channel"] for r in touch} >= {"push", "in_app"}
    assert PeriodMetrics.load(tmp_path).to_json() == pm.to_json()


@pytest.mark.parametrize("period", ["2026-10", "2026-Q3"])
def test_demo_consistency_covered_and_spend_totals(demo_metrics, period):
    pm = demo_metrics(period)
    # customers covered (distinct treated people) ≤ registered base; controls never counted
    covered = pm.kpis["campaign_participants"].value
    assert covered == pm.tables["campaigns.coverage"].iloc[0]["people_period"]
    assert covered <= pm.kpis["registered_base"].value
    # spend of P: one total in every view
    bridge = pm.tables["budget.money_bridge"]["amount"].sum()
    views = [pm.tables["budget.plan_vs_actual"]["actual"].sum(),
             pm.tables["budget.by_channel"]["amount"].sum(),
             pm.tables["budget.burn_down"]["amount"].sum(),
             pm.kpis["budget_execution"].numerator]
    assert views == pytest.approx([bridge] * len(views))
    by_campaign = pm.tables["budget.money_bridge"].groupby(
        pm.tables["budget.money_bridge"]["campaign_id"].fillna("—"))["amount"].sum()
    assert by_campaign.sum() == pytest.approx(bridge)


def test_quarter_reports_activity_ratios_as_the_mean_of_its_months():
    import ibis

    from tests.metrics.helpers import make_tables, rows

    users = rows("user_id registered_at", *[(f"u{i}", "2026-01-01 00:00:00") for i in range(10)])
    # July: u0..u5 log in once (6 of 10); August: u0..u2 (3 of 10); September: nobody
    events = rows("user_id ts event",
                  *[(f"u{i}", "2026-07-10 09:00:00", "login") for i in range(6)],
                  *[(f"u{i}", "2026-08-10 09:00:00", "login") for i in range(3)])
    t = make_tables(users=users, events=events)
    con = ibis.duckdb.connect()
    for name in ("users", "events"):
        con.create_table(name, t[name].to_pyarrow())
    q3 = Params.from_dict({"period": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30",
                           "thresholds": {"min_cell_users": 1}})  # tiny on purpose
    pm = compute_period(con, q3)
    # MAU ratio: mean of .6, .3 and 0 = .3 (the quarter's distinct active users would give .6)
    assert pm.kpis["mau_ratio"].value == pytest.approx(0.3)
    assert "mean of 3 months" in pm.kpis["mau_ratio"].note
    # stickiness: July 6 user-days ÷ (31 days × 6) = 1/31, August 3 ÷ (31 × 3) = 1/31,
    # September undefined (nobody active) → left out and named
    assert pm.kpis["stickiness"].value == pytest.approx(1 / 31)
    assert "2026-09" in pm.kpis["stickiness"].note
    # counts stay totals of the quarter
    assert pm.kpis["active_users"].value == 6
    july = compute_period(con, Params.from_dict({"period": "2026-07", "start": "2026-07-01",
                                                 "end": "2026-07-31",
                                                 "thresholds": {"min_cell_users": 1}}))
    assert july.kpis["mau_ratio"].value == pytest.approx(0.6) and july.kpis["mau_ratio"].note is None

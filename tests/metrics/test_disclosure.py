"""Small-cell protection: known answers on hand-built tables (k = 10), then the whole period.

Each case is one the hardening probe found leaking: campaign reach with 3 conversions, a
control group of 13 with 1 conversion, funnel steps of 9 and 8, monthly new users of 7,
day-7 retained users of 7; plus the cells a reader could subtract back to.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from review.config import load_params
from review.metrics import compute_period
from review.metrics.common import Measure
from review.metrics.disclosure import (
    DEFAULT_USER_COUNTS,
    SPECS,
    USER_COUNT_KPIS,
    USER_RATIO_KPIS,
    protect,
    protect_kpis,
    protect_tables,
)
from review.metrics.result import KpiValue
from review.paths import PARAMS_DIR

K = 10


def shown(series: pd.Series) -> list:
    """Values as the reader sees them: None where masked."""
    return [None if (isinstance(v, float) and math.isnan(v)) or v is None else v
            for v in series.tolist()]


def test_campaign_reach_masks_small_conversions_and_their_complements():
    df = pd.DataFrame({
        "campaign_id": ["C1", "C2", "C3"],
        "assigned": [40, 13, 100],
        "reached": [30, 13, 60],
        "converted": [3, 12, 20],
    })
    df["reach_rate"] = df.reached / df.assigned
    df["conversion_rate"] = df.converted / df.assigned
    out = protect_tables({"budget.campaign_reach": df}, K)["budget.campaign_reach"]
    # C1: 3 conversions < 10 → masked with its rate; 30 reached (40 − 30 = 10) shown
    # C2: 12 converted of 13 → 1 did not convert: masked; 13 reached of 13 (gap 0): shown
    # C3: nothing small (100 − 60 = 40, 100 − 20 = 80)
    assert shown(out.converted) == [None, None, 20]
    assert shown(out.conversion_rate) == [None, None, 0.2]
    assert shown(out.reached) == [30, 13, 60]
    assert shown(out.assigned) == [40, 13, 100]
    assert out.suppressed.tolist() == [True, True, False]


def test_a_control_group_of_13_with_1_conversion():
    df = pd.DataFrame({
        "campaign_id": ["C1", "C1", "C1"],
        "variant": ["control", "A", "B"],
        "users": [13, 40, 45],
        "reached": [13, 35, 30],
        "conversions": [1, 12, 25],
    })
    df["reach_rate"] = df.reached / df.users
    df["rate"] = df.conversions / df.users
    out = protect(df, SPECS["experiments.counts"], K)
    # control: 1 conversion → masked (primary) with its rate. The variants add up to the
    # campaign's conversions (shown in campaign reach): the next smallest, A's 12, is masked
    # too, else 38 − 12 − 25 = 1 gives the control's back. B's 25 (45 − 25 = 20) is shown.
    assert shown(out.conversions) == [None, None, 25]
    assert shown(out.rate)[:2] == [None, None]
    # reached: A's 35 of 40 (gap 5) is masked; it is then the group's only masked cell, so
    # the next smallest, the control's 13, is masked as well; B's 30 of 45 is shown
    assert shown(out.reached) == [None, None, 30]
    assert shown(out.users) == [13, 40, 45]


def test_funnel_steps_of_9_and_8_and_a_drop_of_one_are_masked():
    df = pd.DataFrame({
        "step_no": [1, 2, 3, 1, 2, 3],
        "acquisition_channel": ["a", "a", "a", "b", "b", "b"],
        "step": ["reg", "kyc", "txn"] * 2,
        "users": [20, 9, 8, 50, 45, 44],
    })
    df["step_conversion"] = df.users / df.groupby("acquisition_channel").users.shift(1)
    out = protect(df, SPECS["funnel.by_channel"], K)
    # a: 9 and 8 are below 10. b: 45 is 5 below 50 and 44 is 1 below 45 (drop-offs of users)
    assert shown(out.users) == [20, None, None, 50, None, None]
    assert shown(out.step_conversion)[1:3] == [None, None]
    assert out.suppressed.tolist() == [False, True, True, False, True, True]


def test_funnel_steps_without_groups_use_the_step_order():
    df = pd.DataFrame({"step_no": [3, 1, 2], "step": ["txn", "reg", "kyc"],
                       "users": [30, 100, 35]})
    out = protect(df, SPECS["funnel.steps"], K)
    # in step order 100 → 35 → 30: the last drop is 5 users
    assert shown(out.users) == [None, 100, 35]


def test_monthly_new_users_of_7_and_the_running_base():
    df = pd.DataFrame({
        "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]),
        "new_users": [30, 7, 25, 40],
        "registered_base": [100, 107, 132, 172],
    })
    out = protect(df, SPECS["acquisition.trend"], K)
    # February's 7 is masked; the base from February on too (132 − 100 − 25 = 7)
    assert shown(out.new_users) == [30, None, 25, 40]
    assert shown(out.registered_base) == [100, None, None, None]


def test_day_7_retained_users_of_7():
    df = pd.DataFrame({"day": [1, 7, 30], "new_users": [50, 50, 50],
                       "eligible_users": [50, 40, 5], "excluded_users": [0, 10, 45],
                       "retained_users": [30, 7, 2]})
    df["retention"] = df.retained_users / df.eligible_users
    out = protect(df, SPECS["retention.day_n"], K)
    # day 1: 30 of 50 retained (gap 20): shown. day 7: 7 retained → masked (its retention
    # too); 40 eligible of 50 (gap 10) shown. day 30: 5 eligible → masked, and 45 excluded
    # of 50 (gap 5) masked; its 2 retained, a part of a masked whole, masked.
    assert shown(out.retained_users) == [30, None, None]
    assert shown(out.retention)[1:] == [None, None]
    assert shown(out.eligible_users) == [50, 40, None]
    assert shown(out.excluded_users) == [0, 10, None]


def test_additive_breakdowns_mask_a_second_cell_and_the_shares():
    df = pd.DataFrame({"acquisition_channel": ["a", "b", "c", "d"],
                       "new_users": [100, 50, 7, 30]})
    df["share"] = df.new_users / df.new_users.sum()
    out = protect(df, SPECS["acquisition.new_by_channel"], K)
    # 7 is masked; with the total known (a KPI, or any share), 187 − 100 − 50 − 30 = 7, so
    # the next smallest, 30, is masked too
    assert shown(out.new_users) == [100, 50, None, None]
    assert shown(out.share)[2:] == [None, None]


def test_cells_already_masked_upstream_count_for_the_secondary_rule():
    df = pd.DataFrame({"segment": ["x", "y", "z"], "users": [float("nan"), 60.0, 40.0],
                       "suppressed": [True, False, False]})
    out = protect(df, SPECS["acquisition.base_by_segment"], K)
    assert shown(out.users) == [None, 60.0, None]
    assert out.suppressed.tolist() == [True, False, True]


def test_a_table_without_a_spec_is_masked_by_its_user_count_columns():
    """A new breakdown (say a campaign results table) is protected before it is declared."""
    df = pd.DataFrame({"campaign_id": ["C1", "C2"], "users": [5, 50],
                       "conversions": [2, 30], "rate": [0.4, 0.6], "label": ["x", "y"]})
    out = protect_tables({"campaigns.results": df}, K)["campaigns.results"]
    assert shown(out.users) == [None, 50] and shown(out.conversions) == [None, 30]
    assert shown(out.rate) == [None, 0.6] and out.label.tolist() == ["x", "y"]
    assert out.suppressed.tolist() == [True, False]


def test_campaign_cells_mask_small_conversions_rates_and_a_second_variant():
    df = pd.DataFrame({
        "campaign_id": ["C1", "C1", "C1"], "variant": ["control", "A", "B"],
        "users_period": [60, 80, 90], "users_to_date": [60, 80, 90],
        "cohort_conversions": [12, 4, 30], "conversions_period": [12, 4, 30],
        "conversions_to_date": [12, 75, 30],
    })
    df["cohort_rate"] = df.cohort_conversions / df.users_period
    out = protect_tables({"campaigns.by_variant": df}, K)["campaigns.by_variant"]
    # A: 4 conversions (primary) with its rate; then the smallest other variant's (the
    # control's 12) too, since the variants add up to the campaign's figure. To date, A's
    # 75 of 80 leaves 5 who did not convert: masked, and the control's 12 as its second.
    assert shown(out.cohort_conversions) == [None, None, 30]
    assert shown(out.cohort_rate)[:2] == [None, None]
    assert shown(out.conversions_to_date) == [None, None, 30]
    assert shown(out.users_period) == [60, 80, 90]


def test_zero_is_shown_and_empty_tables_pass():
    df = pd.DataFrame({"acquisition_channel": ["a", "b"], "new_users": [0, 100], "share": [0, 1]})
    out = protect(df, SPECS["acquisition.new_by_channel"], K)
    assert shown(out.new_users) == [0, 100]
    empty = df.iloc[:0]
    assert protect(empty, SPECS["acquisition.new_by_channel"], K).empty


def _kpi(key, value, unit="count", numerator=None, denominator=None, compare=None):
    change = None if compare is None else value - compare
    return KpiValue(key, value, unit, "higher", numerator=numerator, denominator=denominator,
                    target=1.0, attainment=value, rag="green", compare_value=compare,
                    change_abs=change, change_rel=None if compare is None else change / compare)


def test_headline_kpis_hide_small_counts_of_users():
    kpis = {
        "hnw_conversions": _kpi("hnw_conversions", 5.0),                        # 5 users
        "hnw_conversion_rate": _kpi("hnw_conversion_rate", 0.025, "ratio", 5, 200),
        "mau_ratio": _kpi("mau_ratio", 0.975, "ratio", 195, 200),  # 200 − 195 = 5 inactive
        "d7_retention": _kpi("d7_retention", 0.5, "ratio", 100, 200),            # fine
        "penetration_key": _kpi("penetration_key", 0.99995, "ratio", 99_995, 100_000),
        "penetration_lower": _kpi("penetration_lower", 5e-5, "ratio", 5, 100_000),
        "failure_rate": _kpi("failure_rate", 0.03, "ratio", 3, 100),  # transactions, not users
        "new_users": _kpi("new_users", 500.0, compare=7.0),  # last period's 7 new users
    }
    previous = {"new_users": Measure(7.0), "d7_retention": Measure(0.5, 3, 6)}
    out = protect_kpis(kpis, previous, K)
    hidden = {key for key, kv in out.items() if math.isnan(kv.value)}
    assert hidden == {"hnw_conversions", "hnw_conversion_rate", "mau_ratio", "penetration_lower"}
    masked = out["hnw_conversion_rate"]
    assert (masked.numerator, masked.denominator, masked.rag, masked.attainment,
            masked.change_abs) == (None, None, None, None, None)
    assert masked.note == "fewer than 10 users: not shown"
    # the population is no count of users: 99,995 of 100,000 registered is shown
    assert out["penetration_key"].value == 0.99995
    assert out["failure_rate"].numerator == 3
    # new users: this period's 500 shown; the comparison's 7 and the change (500 − 7) hidden
    assert out["new_users"].value == 500.0
    assert (out["new_users"].compare_value, out["new_users"].change_abs) == (None, None)
    # d7 retention: 3 retained in the comparison period → its value and the change hidden
    assert out["d7_retention"].value == 0.5 and out["d7_retention"].compare_value is None


@pytest.mark.parametrize("k", [10, 150])
def test_no_breakdown_of_a_period_shows_a_count_below_k(demo_con, k):
    """Every user-count column of every table of the demo period: 0 or ≥ k, never between."""
    cfg = load_params(PARAMS_DIR / "2026-09.yaml")
    cfg = cfg.model_copy(update={"thresholds": cfg.thresholds.model_copy(
        update={"min_cell_users": k})})
    pm = compute_period(demo_con, cfg)
    leaks = []
    for name, df in pm.tables.items():
        spec = SPECS.get(name.split("@")[0])
        cols = set(spec.counts) if spec else DEFAULT_USER_COUNTS
        for c in cols & set(df.columns):
            v = pd.to_numeric(df[c], errors="coerce")
            bad = v[(v > 0) & (v < k)]
            if len(bad):
                leaks.append(f"{name}.{c}: {bad.tolist()}")
        if spec:
            for part, whole in spec.parts.items():
                if part in df and whole in df:
                    gap = pd.to_numeric(df[whole]) - pd.to_numeric(df[part])
                    if ((gap > 0) & (gap < k)).any():
                        leaks.append(f"{name}: {whole} − {part} = {gap.tolist()}")
    for key, kv in pm.kpis.items():
        if key in USER_COUNT_KPIS and 0 < kv.value < k:
            leaks.append(f"KPI {key}: {kv.value}")
        if key in USER_RATIO_KPIS and kv.numerator is not None and 0 < kv.numerator < k:
            leaks.append(f"KPI {key}: numerator {kv.numerator}")
    assert leaks == []


def test_every_block_renders_with_most_cells_masked(demo_con, monkeypatch):
    """k = 1000 masks most of the demo's cells: blocks, charts and findings still render."""
    from review.report import show

    from ..report.test_blocks import BLOCKS

    cfg = load_params(PARAMS_DIR / "2026-09.yaml")
    cfg = cfg.model_copy(update={"thresholds": cfg.thresholds.model_copy(
        update={"min_cell_users": 1000})})
    pm = compute_period(demo_con, cfg)
    out: list[str] = []
    monkeypatch.setattr(show, "display", lambda obj: out.append(obj.data))
    for block in BLOCKS:
        block(pm, cfg)
    text = BeautifulSoup("\n".join(out), "html.parser").get_text(" ")
    # masked values show as "—", also in findings about a masked cell (the CAC outlier)
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert "†" in text  # and their rows are marked

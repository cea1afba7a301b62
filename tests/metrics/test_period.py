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

"""Known-answer tests for review.metrics.acquisition (tiny hand-built users table)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from review.kpis import KPI_CATALOG
from review.metrics import acquisition as acq
from review.metrics.common import Window
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")


@pytest.fixture
def t():
    users = rows(
        "user_id registered_at acquisition_channel region city_tier segment age_band",
        ("u1", "2026-09-01 00:00:00", "digital_ads", "SH", "key", "mass", "25-34"),    # P start
        ("u2", "2026-09-30 23:59:59", "digital_ads", "SH", "key", "mass", "25-34"),    # P last s
        ("u3", "2026-10-01 00:00:00", "kol", "SH", "key", "mass", "25-34"),            # after P
        ("u4", "2026-08-31 23:59:59", "kol", "GZ", "lower", "student", "18-24"),       # before P
        ("u5", "2025-06-15 12:00:00", "branch", "GZ", "lower", "mass", "65+"),         # long ago
    )
    return make_tables(users=users)


def test_user_counts_boundaries(t):
    # in P: u1 (start 00:00) and u2 (end 23:59:59); u3 at end+1 00:00 is out
    # base at P's end: u1, u2, u4, u5 = 4
    got = acq.user_counts(t["users"], SEP).iloc[0]
    assert (got["new_users"], got["registered_base"]) == (2, 4)


def test_user_counts_empty_period(t):
    # nobody registers in Jan 2027; the base is all 5 users
    got = acq.user_counts(t["users"], window("2027-01-01", "2027-01-31")).iloc[0]
    assert (got["new_users"], got["registered_base"]) == (0, 5)


def test_headline_keys_and_values(t):
    got = acq.headline(t, SEP, make_params())
    fam = {k for k, v in KPI_CATALOG.items() if v.family == "acquisition"}
    assert set(got) == fam
    assert got["new_users"].value == 2.0
    assert got["registered_base"].value == 4.0


def test_new_users_by_channel_share_and_suppression(t):
    # only digital_ads has new users in P: 2 of 2 → share 1.0
    got = acq.new_users_by(t["users"], SEP, "acquisition_channel", k=2)
    assert got["acquisition_channel"].tolist() == ["digital_ads"]
    assert got["new_users"].tolist() == [2.0]
    assert got["share"].tolist() == [1.0]
    assert got["suppressed"].tolist() == [False]
    # k = 3: 2 users < 3 → masked, the cell still listed
    small = acq.new_users_by(t["users"], SEP, "acquisition_channel", k=3)
    assert small["suppressed"].tolist() == [True]
    assert math.isnan(small["new_users"].iloc[0]) and math.isnan(small["share"].iloc[0])


def test_new_users_by_two_columns(t):
    # Aug 2026: u4 only (GZ, lower) → one cell of 1 user, share 1.0
    got = acq.new_users_by(t["users"], window("2026-08-01", "2026-08-31"),
                           ["region", "city_tier"], k=1)
    assert got[["region", "city_tier"]].values.tolist() == [["GZ", "lower"]]
    assert got["new_users"].tolist() == [1.0]


def test_new_users_by_empty_period(t):
    got = acq.new_users_by(t["users"], window("2027-01-01", "2027-01-31"),
                           "acquisition_channel", k=1)
    assert got.empty
    assert {"acquisition_channel", "new_users", "share", "suppressed"} <= set(got.columns)


def test_registered_base_by_segment(t):
    # base at Sep 30: u1 mass, u2 mass, u4 student, u5 mass → mass 3 (0.75), student 1 (0.25)
    got = acq.registered_base_by(t["users"], SEP, "segment", k=1)
    assert got["segment"].tolist() == ["mass", "student"]
    assert got["users"].tolist() == [3.0, 1.0]
    assert got["share"].tolist() == [0.75, 0.25]
    # k = 2: student (1 user) suppressed, mass kept
    sup = acq.registered_base_by(t["users"], SEP, "segment", k=2)
    assert sup["suppressed"].tolist() == [False, True]
    assert sup["users"].iloc[0] == 3.0 and math.isnan(sup["users"].iloc[1])


def test_user_trend(t):
    # months Oct 2025 .. Sep 2026; u5 (Jun 2025) seeds the base with 1;
    # Aug 2026: u4 → new 1, base 2; Sep 2026: u1, u2 → new 2, base 4; u3 (Oct) ignored
    got = acq.user_trend(t["users"], date(2026, 9, 30))
    assert len(got) == 12
    assert got["month"].iloc[0] == date(2025, 10, 1)
    assert got["month"].iloc[-1] == date(2026, 9, 1)
    assert got["new_users"].tolist() == [0] * 10 + [1, 2]
    assert got["registered_base"].tolist() == [1] * 10 + [2, 4]


def test_user_trend_cut_at_end(t):
    # end 2026-09-15: u1 (Sep 1) in, u2 (Sep 30) not yet → Sep new 1, base 3
    got = acq.user_trend(t["users"], date(2026, 9, 15))
    assert got["new_users"].iloc[-1] == 1 and got["registered_base"].iloc[-1] == 3


def test_trend_months_across_year():
    assert acq.trend_months(date(2026, 2, 10), 3) == [
        date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_breakdowns_names(t):
    got = acq.breakdowns(t, SEP, make_params(min_cell_users=1))
    assert set(got) == {"new_by_channel", "new_by_region", "new_by_city_tier",
                        "base_by_segment", "base_by_age_band", "trend"}
    assert all(isinstance(v, pd.DataFrame) for v in got.values())
    assert acq.breakdowns({}, SEP, make_params()) == {}


# -- the demo store (session fixtures demo_store / demo_con of tests/conftest.py) -------------


def test_demo_breakdowns_add_up_to_the_headline(demo_con):
    from tests.metrics.helpers import demo_params, demo_tables

    t, p = demo_tables(demo_con), demo_params("2026-09")
    w = Window(p.start, p.end)
    head = acq.headline(t, w, p)
    assert head["new_users"].value > 0
    assert 0 < head["new_users"].value < head["registered_base"].value
    # unsuppressed channel counts add up to the headline; the trend's last month is P
    by_channel = acq.new_users_by(t["users"], w, "acquisition_channel", k=1)
    assert by_channel["new_users"].sum() == head["new_users"].value
    assert by_channel["share"].sum() == pytest.approx(1.0)
    trend = acq.user_trend(t["users"], p.end)
    assert trend["new_users"].iloc[-1] == head["new_users"].value
    assert trend["registered_base"].iloc[-1] == head["registered_base"].value
    assert trend["registered_base"].is_monotonic_increasing

"""Known-answer tests for review.metrics.market (tiny hand-built tables; numbers by hand)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from review.kpis import KPI_CATALOG
from review.metrics import market as mkt
from tests.metrics.helpers import make_params, make_tables, rows, window

SEP = window("2026-09-01", "2026-09-30")
Q3 = window("2026-07-01", "2026-09-30")


@pytest.fixture
def t():
    regions = rows(
        "region city_tier population",
        ("Hangzhou", "key", 100), ("Ningbo", "key", 50),
        ("Jinhua", "lower", 40), ("Lishui", "lower", 10),
    )
    users = rows(
        "user_id registered_at region",
        ("h1", "2026-01-01 00:00:00", "Hangzhou"),
        ("h2", "2026-05-01 00:00:00", "Hangzhou"),
        ("h3", "2026-09-30 23:59:59", "Hangzhou"),   # last second of P: in
        ("h4", "2026-10-01 00:00:00", "Hangzhou"),   # after P: out
        ("n1", "2026-02-01 00:00:00", "Ningbo"),
        ("n2", "2026-08-01 00:00:00", "Ningbo"),
        ("j1", "2026-03-01 00:00:00", "Jinhua"),
        ("x1", "2026-03-01 00:00:00", "Atlantis"),   # region not in regions: left out
    )
    surveys = rows(
        "response_id date nps_score aware_unaided",
        ("R1", "2026-09-01", 10, True), ("R2", "2026-09-30", 9, True),
        ("R3", "2026-09-10", 0, False), ("R4", "2026-09-11", 8, None),   # did not answer
        ("R5", "2026-10-01", 10, True),                                  # after P
        ("R6", "2026-08-15", 10, False),
    )
    events = rows(
        "user_id ts event",
        ("h1", "2026-09-01 00:00:00", "login"), ("n1", "2026-09-30 23:59:59", "login"),
        ("j1", "2026-10-01 00:00:00", "login"),    # after P
        ("h2", "2026-08-10 10:00:00", "login"),
    )
    benchmarks = rows(
        "period source metric subject value",
        ("2026-09", "survey co", "mau_ratio", "industry", 0.55),
        ("2026-09", "survey co", "nps", "Bank X", 30.0),
        ("2026-09", "app store", "app_rating", "industry", 4.5),
        ("2026-08", "survey co", "mau_ratio", "industry", 0.50),
        ("2026-10", "survey co", "mau_ratio", "industry", 0.60),
    )
    return make_tables(regions=regions, users=users, surveys=surveys, events=events,
                       benchmarks=benchmarks)


def test_penetration_by_region_and_tier(t):
    reg = mkt.penetration_by_region(t["users"], t["regions"], SEP).set_index("region")
    # Hangzhou h1..h3 = 3/100; Ningbo 2/50; Jinhua 1/40; Lishui 0/10 (kept with 0)
    assert reg["registered"].to_dict() == {"Hangzhou": 3, "Ningbo": 2, "Jinhua": 1, "Lishui": 0}
    assert reg.loc["Hangzhou", "penetration"] == pytest.approx(0.03)
    assert reg.loc["Lishui", "penetration"] == 0.0
    tier = mkt.penetration_by_tier(reg.reset_index()).set_index("city_tier")
    # key: 5 / 150; lower: 1 / 50
    assert tier.loc["key", "penetration"] == pytest.approx(5 / 150)
    assert tier.loc["lower", "penetration"] == pytest.approx(0.02)


def test_headline(t):
    got = mkt.headline(t, SEP, make_params())
    assert set(got) == {k for k, v in KPI_CATALOG.items() if v.family == "market"}
    assert got["penetration_key"].value == pytest.approx(5 / 150)
    assert (got["penetration_key"].numerator, got["penetration_key"].denominator) == (5, 150)
    assert got["penetration_lower"].value == pytest.approx(0.02)
    # awareness: R1, R2 aware, R3 not, R4 no answer → 2 / 3
    assert got["awareness"].value == pytest.approx(2 / 3)


def test_empty_and_missing(t):
    got = mkt.headline({"surveys": t["surveys"]}, window("2025-01-01", "2025-01-31"),
                       make_params())
    assert math.isnan(got["awareness"].value) and "zero" in got["awareness"].note
    assert got["penetration_key"].note == "needs table users, regions"
    early = mkt.headline(t, window("2025-01-01", "2025-01-31"), make_params())
    assert early["penetration_key"].value == 0.0          # nobody registered yet: a true 0


def test_awareness_and_trend(t):
    got = mkt.awareness(t["surveys"], SEP).iloc[0]
    assert got[["responses", "answered", "aware"]].tolist() == [4, 3, 2]
    trend = mkt.awareness_trend(t["surveys"], SEP).set_index("month")
    assert len(trend) == 12
    assert trend.loc[date(2026, 8, 1), "awareness"] == 0.0
    assert trend.loc[date(2026, 9, 1), "awareness"] == pytest.approx(2 / 3)
    assert math.isnan(trend.loc[date(2026, 2, 1), "awareness"])


def test_own_monthly_values(t):
    got = mkt.own_monthly_values(t, SEP).set_index("metric")
    # mau_ratio: September logins h1, n1 = 2 ÷ registered by 09-30: h1..h3, n1, n2, j1, x1 = 7
    assert got.loc["mau_ratio", "own_value"] == pytest.approx(2 / 7)
    # nps: promoters R1, R2, detractor R3, passive R4 → 100·(2 − 1)/4 = 25
    assert got.loc["nps", "own_value"] == pytest.approx(25.0)
    assert got.loc["awareness", "own_value"] == pytest.approx(2 / 3)
    assert "mobile_share" not in got.index                # no transactions table
    assert set(got["period"]) == {"2026-09"}


def test_benchmarks_for_period(t):
    own = mkt.own_monthly_values(t, SEP)
    got = mkt.benchmarks_for_period(t["benchmarks"], SEP, own)
    assert got["metric"].tolist() == ["app_rating", "mau_ratio", "nps"]   # September only
    g = got.set_index("metric")
    assert g.loc["mau_ratio", "value"] == 0.55
    assert g.loc["mau_ratio", "own_value"] == pytest.approx(2 / 7)
    assert g.loc["mau_ratio", "own_unit"] == "ratio" and g.loc["nps", "own_unit"] == "points"
    assert math.isnan(g.loc["app_rating", "own_value"]) and g.loc["app_rating", "own_unit"] is None
    q3 = mkt.benchmarks_for_period(t["benchmarks"], Q3)
    assert sorted(set(q3["period"])) == ["2026-08", "2026-09"]
    assert q3["own_value"].isna().all()


def test_period_months():
    assert mkt.period_months(Q3) == ["2026-07", "2026-08", "2026-09"]
    assert mkt.period_months(window("2026-12-20", "2027-01-05")) == ["2026-12", "2027-01"]


def test_breakdowns_suppress_small_regions(t):
    out = mkt.breakdowns(t, SEP, make_params(min_cell_users=2))
    reg = out["penetration_by_region"].set_index("region")
    assert reg.loc["Jinhua", "suppressed"] and math.isnan(reg.loc["Jinhua", "penetration"])
    assert reg.loc["Jinhua", "population"] == 40            # population is not about users
    assert not reg.loc["Ningbo", "suppressed"]
    tier = out["penetration_by_tier"].set_index("city_tier")
    assert tier.loc["lower", "suppressed"] and not tier.loc["key", "suppressed"]
    assert set(out) == {"penetration_by_region", "penetration_by_tier", "awareness",
                        "awareness_trend", "benchmarks"}
    assert out["benchmarks"].set_index("metric").loc["nps", "own_value"] == pytest.approx(25.0)

"""The first screen's tiles: change coloured by direction, "≈ flat" within noise, sparkline."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from review.metrics.result import KpiValue
from review.report.summary import change_class, is_flat, sparkline_svg, summary_tiles


def _ratio(value, change, n, direction="higher"):
    return KpiValue("mau_ratio", value, "ratio", direction, numerator=value * n, denominator=n,
                    compare_value=value - change, change_abs=change,
                    change_rel=change / (value - change))


@pytest.mark.parametrize("kpi, expected", [
    # p = 0.5, n = 10,000: 1.96 × √(2 × 0.25 / 10,000) = 0.0139 → +1.0 pp is noise, +2.0 pp not
    (_ratio(0.5, 0.01, 10_000), "flat"),
    (_ratio(0.5, 0.02, 10_000), "good"),
    (_ratio(0.5, -0.02, 10_000), "bad"),
    # counts: 1,000 vs 950: 50 < 1.96 × √1,950 = 86.6 → flat; 1,200 vs 1,000: 200 > 91.9 → good
    (KpiValue("new_users", 1000.0, "count", "higher", compare_value=950.0, change_abs=50.0),
     "flat"),
    (KpiValue("new_users", 1200.0, "count", "higher", compare_value=1000.0, change_abs=200.0),
     "good"),
    # lower is better: CAC 90 vs 100 is good; 100 vs 100.5 (−0.5 %) is flat
    (KpiValue("cac", 90.0, "currency", "lower", compare_value=100.0, change_abs=-10.0),
     "good"),
    (KpiValue("cac", 100.0, "currency", "lower", compare_value=100.5, change_abs=-0.5),
     "flat"),
    # a ratio without its denominator: +0.04 pp prints as +0.0 pp → flat
    (KpiValue("mobile_share", 0.7, "ratio", "higher", compare_value=0.6996, change_abs=0.0004),
     "flat"),
    (KpiValue("new_users", 5.0, "count", "higher"), "none"),
])
def test_change_class(kpi, expected):
    assert change_class(kpi) == expected
    assert is_flat(kpi) is (None if expected == "none" else expected == "flat")


def test_tiles_say_flat_colour_by_direction_and_draw_a_sparkline():
    kpis = [_ratio(0.5, 0.01, 10_000),
            KpiValue("cac", 90.0, "currency", "lower", target=120.0, attainment=1.33,
                     rag="green", compare_value=100.0, change_abs=-10.0, change_rel=-0.1)]
    trend = pd.DataFrame({"month": range(12), "mau_ratio": [0.4 + i / 100 for i in range(12)]})
    soup = BeautifulSoup(summary_tiles(kpis, "zh", tables={"activity.trend": trend}),
                         "html.parser")
    mau, cac = soup.select(".kpi-tile")
    assert mau.select_one(".kpi-change").get_text() == "≈ 持平"
    assert "change-flat" in mau.select_one(".kpi-change")["class"]
    assert mau.select_one("svg.sparkline")["aria-label"] == "月活占比近 12 个月走势"
    assert cac.select_one(".kpi-change")["class"] == ["kpi-change", "change-good"]
    assert cac.select_one(".kpi-change").get_text() == "较上期 -¥10 (-10.0%)"
    assert cac.select_one(".rag").get_text().startswith("✓")  # status with its symbol
    assert cac.select_one("svg") is None  # no monthly trend for CAC


def test_sparkline_known_points():
    # 3 points 0, 1, 0.5 in 96 × 24: x = 2, 48, 94; y = 22, 2, 12
    svg = sparkline_svg([0.0, 1.0, 0.5], label="x")
    assert 'points="2.0,22.0 48.0,2.0 94.0,12.0"' in svg and 'cx="94.0" cy="12.0"' in svg
    assert sparkline_svg([1.0, math.nan], label="x") == ""

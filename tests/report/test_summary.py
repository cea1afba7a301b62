"""The first screen's tiles: change coloured by direction, "≈ flat" within noise, sparkline."""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from review.config import Params
from review.metrics.period import compute_period
from review.metrics.result import KpiValue
from review.report import blocks
from review.report.summary import (
    change_class,
    is_flat,
    sparkline_svg,
    summary_tiles,
    tile_kpis,
)
from tests.metrics.helpers import make_tables, rows


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


def _missing(key, tables="users, events"):
    return KpiValue(key, math.nan, "count", "higher", note=f"needs table {tables}")


def test_tiles_leave_out_kpis_the_source_cannot_compute_and_fill_with_campaign_figures():
    # a campaign-only source: new_users and active_users need users/events (left out); the
    # campaign KPIs exist, so the two free places go to the fallback tiles, in their order
    kpis = {
        "new_users": _missing("new_users"),
        "active_users": _missing("active_users"),
        "campaign_participants": KpiValue("campaign_participants", 328.0, "count", "higher"),
        "campaign_conversions": KpiValue("campaign_conversions", 156.0, "count", "higher"),
        "campaign_conversion_rate": KpiValue("campaign_conversion_rate", 0.168, "ratio",
                                             "higher"),
        # masked for small cells: computed, so its tile stays and says why
        "hnw_conversion_rate": KpiValue("hnw_conversion_rate", math.nan, "ratio", "higher",
                                        note="fewer than 10 users: not shown"),
    }
    headline = ("new_users", "active_users", "hnw_conversion_rate", "campaign_participants")
    shown, left_out = tile_kpis(kpis, headline)
    assert [k.key for k in shown] == ["hnw_conversion_rate", "campaign_participants",
                                      "campaign_conversions", "campaign_conversion_rate"]
    assert [k.key for k in left_out] == ["new_users", "active_users"]
    # a full source: the headline as it is, nothing added
    full = {k: KpiValue(k, 1.0, "count", "higher") for k in (*headline, "campaign_conversions")}
    shown, left_out = tile_kpis(full, headline)
    assert [k.key for k in shown] == list(headline) and left_out == []


def test_a_campaign_only_source_fills_the_first_screen_with_campaign_tiles():
    # campaigns + assignments only (a contact list with outcomes): 30 people treated in
    # 2026-08, 12 of them converted (18 did not: both ≥ k = 10, so nothing is masked);
    # 30 controls, 5 converted
    treated = [(f"t{i}", "C1", "A", "sms", "2026-08-03 09:00:00", True,
                "2026-08-10 09:00:00" if i < 12 else None, 0.0) for i in range(30)]
    control = [(f"c{i}", "C1", "control", "sms", "2026-08-03 09:00:00", False,
                "2026-08-12 09:00:00" if i < 5 else None, 0.0) for i in range(30)]
    t = make_tables(
        campaigns=rows("campaign_id name kind start end target_segment",
                       ("C1", "Deposit call", "telemarketing", "2026-08-01", "2026-08-31",
                        "all")),
        assignments=rows("user_id campaign_id variant touch_channel assigned_at reached "
                         "converted_at reward_cost", *treated, *control))
    con = ibis.duckdb.connect()
    for name in ("campaigns", "assignments"):
        con.create_table(name, t[name].to_pyarrow())
    cfg = Params.from_dict({"period": "2026-08", "start": "2026-08-01", "end": "2026-08-31",
                            "lang": "en", "campaigns": [{"id": "C1"}]})
    pm = compute_period(con, cfg)
    block = blocks.kpi_tiles.build(pm, cfg)
    soup = BeautifulSoup(block.to_html(), "html.parser")
    tiles = [d["data-kpi"] for d in soup.select(".kpi-tile")]
    # every tile the source can compute, the campaign figures among them; none needs a table
    assert {"campaign_participants", "incremental_conversions", "campaign_conversions",
            "campaign_conversion_rate"} <= set(tiles)
    assert not any(pm.kpis[k].note and pm.kpis[k].note.startswith("needs table")
                   for k in tiles)
    values = {d["data-kpi"]: d.select_one(".kpi-value").get_text() for d in soup.select(
        ".kpi-tile")}
    assert values["campaign_participants"] == "30"
    assert values["campaign_conversions"] == "12"
    # the note names the headline KPIs left out and the tables they need
    text = soup.get_text(" ")
    assert "more headline KPIs" in text and "users" in text and "spend" in text

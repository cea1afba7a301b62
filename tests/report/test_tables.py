"""Number formatting and HTML tables: known answers in zh and en, escaping, failure cases."""

import math

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from review.errors import ReviewError
from review.kpis import KPI_CATALOG
from review.metrics.result import KpiValue
from review.report.tables import (
    Col,
    data_table,
    format_change,
    format_target,
    format_value,
    kpi_table,
    kpi_tiles,
    rag_badge,
    translate_codes,
)


@pytest.mark.parametrize("value, unit, lang, kw, expected", [
    (12345, "count", "en", {}, "12,345"),
    (12345, "count", "zh", {}, "12,345"),
    (12345, "count", "zh", {"compact": True}, "1.23万"),
    (12345, "count", "en", {"compact": True}, "12.3k"),
    (250_000, "count", "en", {"compact": True}, "250k"),          # no trailing-zero stripping
    (123_456_789, "count", "zh", {"compact": True}, "1.23亿"),
    (1_500_000, "count", "en", {"compact": True}, "1.5M"),
    (9_999, "count", "en", {"compact": True}, "9,999"),           # below 10k: exact
    (0.6123, "ratio", "en", {}, "61.2%"),
    (1.0, "ratio", "zh", {}, "100.0%"),
    (1234.4, "currency", "zh", {}, "¥1,234"),
    (1234.4, "currency", "en", {}, "CNY 1,234"),
    (118.5, "currency", "en", {}, "CNY 118.50"),                  # below 1,000: cents
    (0.0, "currency", "zh", {}, "¥0"),
    (-50.25, "currency", "zh", {}, "-¥50.25"),
    (1234.4, "currency", "zh", {"currency": "USD"}, "$1,234"),
    (1234.4, "currency", "zh", {"currency": "SGD"}, "SGD 1,234"),
    (123_456_789, "currency", "zh", {"compact": True}, "¥1.23亿"),
    (12.34, "per_10k", "en", {}, "12.3 per 10k"),
    (12.34, "per_10k", "zh", {}, "12.3/万"),
    (1.8, "per_1k", "zh", {}, "1.8‰"),
    (3.44, "per_day", "en", {}, "3.4/day"),
    (32.5, "points", "zh", {}, "32.5"),
    (2.5, "multiple", "en", {}, "2.50×"),
    (2.5, "multiple", "zh", {}, "2.50 倍"),
    (1234.567, "number", "en", {}, "1,234.57"),
    (2.5, "days", "zh", {}, "2.5 天"),
    (math.nan, "ratio", "en", {}, "—"),
    (None, "count", "zh", {}, "—"),
    (pd.NA, "currency", "zh", {}, "—"),
])
def test_format_value(value, unit, lang, kw, expected):
    assert format_value(value, unit, lang, **kw) == expected


def test_format_value_refuses_unknown_unit_and_language():
    with pytest.raises(ValueError, match="unknown unit 'percent'"):
        format_value(0.5, "percent", "en")
    with pytest.raises(ValueError, match="unknown language 'de'"):
        format_value(0.5, "ratio", "de")


@pytest.mark.parametrize("change_abs, change_rel, unit, lang, expected", [
    (0.012, 0.02, "ratio", "en", "+1.2 pp"),                 # ratios move in points
    (-0.012, -0.02, "ratio", "zh", "-1.2 个百分点"),
    (134, 0.1218, "count", "en", "+134 (+12.2%)"),
    (-50, -0.05, "currency", "zh", "-¥50 (-5.0%)"),
    (0, 0.0, "count", "en", "0 (0.0%)"),
    (None, 0.05, "count", "en", "+5.0%"),
    (None, None, "count", "en", "—"),
    (math.nan, math.nan, "ratio", "zh", "—"),
])
def test_format_change(change_abs, change_rel, unit, lang, expected):
    assert format_change(change_abs, change_rel, unit, lang) == expected


def test_format_target_shows_the_direction():
    assert format_target(0.6, "ratio", "higher", "en") == "≥ 60.0%"
    assert format_target(0.02, "ratio", "lower", "zh") == "≤ 2.0%"
    assert format_target(None, "ratio", "lower", "zh") == "—"


def test_rag_badge_has_a_text_label_not_only_colour():
    badge = BeautifulSoup(rag_badge("amber", "zh"), "html.parser").span
    assert badge["class"] == ["rag", "rag-amber"]
    assert badge.get_text() == "! 预警"
    assert BeautifulSoup(rag_badge(None, "en", has_target=False), "html.parser").get_text() == \
        "No target"
    with pytest.raises(ValueError, match="unknown RAG status 'blue'"):
        rag_badge("blue", "en")


KPIS = [
    # 1234 new users against 1500: attainment 1234/1500 = 82.3% → red; +134 vs 1100 (+12.2%)
    KpiValue("new_users", 1234.0, "count", "higher", target=1500.0, attainment=1234 / 1500,
             rag="red", compare_value=1100.0, change_abs=134.0, change_rel=134 / 1100),
    # 61.2% against 60%: attainment 102.0% → green; +1.2 pp vs 60.0%
    KpiValue("mau_ratio", 0.612, "ratio", "higher", target=0.60, attainment=1.02, rag="green",
             compare_value=0.60, change_abs=0.012, change_rel=0.02),
    # not computable, no comparison
    KpiValue("cac", math.nan, "currency", "lower", note="no <paid> users", target=120.0),
]


def _rows(html):
    soup = BeautifulSoup(html, "html.parser")
    head = [th.get_text() for th in soup.select("thead th")]
    rows = [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in soup.select("tbody tr")]
    return soup, head, rows


def test_kpi_table_known_answer_zh():
    soup, head, rows = _rows(kpi_table(KPIS, "zh"))
    assert head == ["指标", "状态", "本期值", "目标", "达成率", "上期值", "变化"]
    assert rows[0] == ["新增注册用户", "✕ 未达标", "1,234", "≥ 1,500", "82.3%", "1,100",
                       "+134 (+12.2%)"]
    assert rows[1] == ["月活占比", "✓ 达标", "61.2%", "≥ 60.0%", "102.0%", "60.0%",
                       "+1.2 个百分点"]
    assert rows[2] == ["付费渠道获客成本", "未评估", "—", "≤ ¥120", "—", "—", "—"]
    # the definition is the row label's title and listed under the table
    label = soup.select_one('tr[data-kpi="mau_ratio"] th')
    assert label["title"] == "期内活跃用户 ÷ 累计注册用户。"
    assert "期内活跃用户 ÷ 累计注册用户。" in soup.select_one("details.kpi-defs").get_text()
    # the note of a missing value is kept, escaped
    assert soup.select_one('tr[data-kpi="cac"] td.num span')["title"] == "no <paid> users"
    assert "<paid>" not in kpi_table(KPIS, "zh")


def test_kpi_table_en_headers_and_currency():
    _, head, rows = _rows(kpi_table(KPIS, "en", currency="USD"))
    assert head == ["KPI", "Status", "Value", "Target", "Attainment", "Previous period", "Change"]
    assert rows[2][:4] == ["Paid CAC", "Not rated", "—", "≤ USD 120"]


def test_kpi_table_refuses_a_kpi_outside_the_catalog():
    with pytest.raises(ReviewError, match="'made_up' is not in review.kpis.KPI_CATALOG"):
        kpi_table([KpiValue("made_up", 1.0, "count", "higher")], "en")


def test_kpi_tiles_known_answer_en():
    soup = BeautifulSoup(kpi_tiles(KPIS, "en"), "html.parser")
    tiles = soup.select(".kpi-tile")
    assert [tile["class"][1] for tile in tiles] == ["rag-red", "rag-green", "rag-none"]
    first = tiles[0]
    assert first.select_one(".kpi-label").get_text() == "New users"
    assert first.select_one(".kpi-value").get_text() == "1,234"
    assert first.select_one(".kpi-target").get_text() == "Target ≥ 1,500 · 82.3%"
    assert first.select_one(".rag").get_text() == "✕ Off target"      # text, not colour alone
    assert first.select_one(".kpi-change").get_text() == "+134 (+12.2%) vs previous period"
    assert tiles[1].select_one(".kpi-change").get_text() == "+1.2 pp vs previous period"
    assert tiles[2].select_one(".kpi-change") is None                  # no comparison
    assert first["title"] == KPI_CATALOG["new_users"].definition  # the one definition


def test_kpi_tiles_compact_large_values_zh():
    gmv = KpiValue("gmv", 123_456_789.0, "currency", "higher")
    soup = BeautifulSoup(kpi_tiles([gmv], "zh"), "html.parser")
    assert soup.select_one(".kpi-value").get_text() == "¥1.23亿"
    assert soup.select_one(".kpi-target").get_text() == "未设目标"


def _breakdown():
    return pd.DataFrame({
        "acquisition_channel": ["digital_ads", "kol", "new_code"],
        "users": [1200.0, np.nan, 40.0],
        "share": [0.6, np.nan, 0.02],
        "suppressed": [False, True, False],
    })


COLS = [Col("acquisition_channel", "col.channel"), Col("users", "col.users", "count"),
        Col("share", "col.share", "ratio")]


def test_data_table_translates_codes_and_marks_small_cells():
    df = _breakdown()
    before = df.copy()
    soup, head, rows = _rows(data_table(df, COLS, "zh", min_cell=10))
    assert head == ["渠道", "用户数", "占比"]
    assert rows == [["数字广告", "1,200", "60.0%"],
                    ["KOL†", "—", "—"],            # suppressed: marked and masked
                    ["new_code", "40", "2.0%"]]     # a code without a label is shown as is
    assert soup.select("tbody tr")[1]["class"] == ["suppressed"]
    assert soup.select_one(".table-note").get_text() == \
        "† 少于 10 名用户的单元格已隐藏（—），以保护客户隐私。"
    pd.testing.assert_frame_equal(df, before)     # the input is not changed


def test_data_table_without_suppressed_rows_has_no_note_and_uses_explicit_codes():
    days = pd.to_datetime(["2026-10-01 00:00", "2026-10-02 13:30"])
    df = pd.DataFrame({"channel": ["mobile", "atm"], "day": days})
    cols = [Col("channel", "col.channel", codes="txn_channel"), Col("day", "col.date", "date")]
    soup, _, rows = _rows(data_table(df, cols, "en"))
    assert rows == [["Mobile", "2026-10-01"], ["ATM", "2026-10-02 13:30"]]
    assert soup.select_one(".table-note") is None


def test_data_table_failure_cases():
    with pytest.raises(ReviewError, match=r"data_table: column\(s\) \['segment'\] not in the "
                                          r"frame; it has \['acquisition_channel'"):
        data_table(_breakdown(), [Col("segment", "col.segment")], "en")
    with pytest.raises(ValueError, match="unknown unit 'pct'"):
        data_table(_breakdown(), [Col("share", "col.share", "pct")], "en")
    with pytest.raises(KeyError, match="col.nope"):
        data_table(_breakdown(), [Col("share", "col.nope", "ratio")], "en")


def test_translate_codes_returns_a_new_frame():
    df = pd.DataFrame({"city_tier": ["key", "lower", None], "n": [1, 2, 3]})
    out = translate_codes(df, "city_tier", "zh")
    assert out["city_tier"].tolist() == ["重点城市", "下沉市场", "—"]
    assert df["city_tier"].tolist()[:2] == ["key", "lower"]
    with pytest.raises(ReviewError, match="translate_codes"):
        translate_codes(df, "tier", "zh")

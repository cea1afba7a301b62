"""总结与下期计划 as the reader sees it (review.report.plan): the numbers of
tests/metrics/test_plan.py, worded in both languages, escaped, with the commentary slots."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from review.metrics.result import KpiValue
from review.report.plan import plan_html

KPIS = {
    # met: 1,650 ≥ 1,500 (110.0%); trend 1,650 + (1,650 − 1,400) = 1,900 → proposed ≥ 1,900
    "new_users": KpiValue("new_users", 1650.0, "count", "higher", target=1500.0,
                          attainment=1.10, rag="green", compare_value=1400.0),
    # missed: 52.0% < 60.0% (86.7%); trend 52 + (52 − 55) = 49% → halfway (49 + 60) / 2 = 54.5%
    "mau_ratio": KpiValue("mau_ratio", 0.52, "ratio", "higher", target=0.60,
                          attainment=0.52 / 0.60, rag="red", compare_value=0.55),
}
TABLES = {
    # C (worst, 0.8) → B (best, 4.0): 20 % of 20,000 = 4,000; +40 at B, −8 at C, net +32
    "budget.ltv_cac": pd.DataFrame({"channel": ["digital_ads", "referral", "kol"],
                                    "spend": [100_000.0, 50_000.0, 20_000.0],
                                    "cac": [200.0, 100.0, 500.0],
                                    "ltv_cac": [1.5, 4.0, 0.8]}),
    "campaigns.summary": pd.DataFrame([
        {"campaign_id": "C02", "name": "推荐有礼", "estimate": "randomised",
         "incremental_conversions": 120.0, "incremental_lo": 60.0, "incremental_hi": 180.0,
         "roi_projected": 1.4, "roi_projected_lo": 0.3, "roi_projected_hi": 2.5,
         "cost_period": 50_000.0, "users_period": 4000.0},
        {"campaign_id": "C09", "name": "<script>x()</script>", "estimate": "randomised",
         "incremental_conversions": 30.0, "incremental_lo": 10.0, "incremental_hi": 50.0,
         "roi_projected": -0.7, "roi_projected_lo": -0.9, "roi_projected_hi": -0.5,
         "cost_period": 90_000.0, "users_period": 2000.0}]),
}
LABELS = {"en": {"推荐有礼": "Refer a friend"}}


def _soup(lang):
    return BeautifulSoup(plan_html(KPIS, TABLES, lang=lang, labels=LABELS), "html.parser")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_block_structure(lang):
    soup = _soup(lang)
    block = soup.select_one("[data-block=plan]")
    assert block.h3.get_text() == ("总结与下期计划" if lang == "zh" else
                                   "Summary and next-period plan")
    # the evaluation commentary goes before the plan, the plan commentary closes it
    assert soup.find(attrs={"data-commentary-slot": "evaluation"}).find_next(
        attrs={"data-block": "plan"}) is block
    assert block.find_all(attrs={"data-commentary-slot": True})[-1][
        "data-commentary-slot"] == "plan"
    assert soup.find_all("script") == []


def test_zh_wording_carries_the_numbers():
    text = " ".join(_soup("zh").get_text(" ").split())
    # 2 rated, 1 red: 1 × 3 ≥ 2 → off track
    assert "本期 2 项考核指标中未达标 1 项（达标 1 项、预警 0 项）：整体未达预期。" in text
    assert "新增注册用户 1,650，目标 ≥ 1,500，达成率 110.0%" in text
    assert ("将KOL渠道投放的 20.0%（¥4,000）调至推荐渠道：推荐 LTV/CAC 为 4.00 倍，"
            "KOL仅 0.80 倍。") in text
    assert "预计新增 40 名新客、减少 8 名，净增约 32 名" in text
    assert "≥ 1,900" in text and "≥ 54.5%" in text
    assert "推荐有礼" in text and "扩大" in text and "停止" in text


def test_en_wording_labels_and_escapes():
    soup = _soup("en")
    text = " ".join(soup.get_text(" ").split())
    assert "1 of 2 rated KPIs missed their targets (1 met, 0 close)" in text
    assert "gains about 40 new users and loses 8, net 32" in text
    rows = {tr.th.get_text(): [td.get_text() for td in tr.find_all("td")]
            for tr in soup.select("table.plan-campaigns tbody tr")}
    assert rows["Refer a friend"][0] == "Scale up"
    assert "double its reach from 4,000 participants, for about 120 more" in \
        rows["Refer a friend"][1]
    assert rows["<script>x()</script>"][0] == "Stop"  # shown as text
    assert "save CNY 90,000 a period" in rows["<script>x()</script>"][1]
    targets = {tr.th.get_text(): [td.get_text() for td in tr.find_all("td")]
               for tr in soup.select("table.plan-targets tbody tr")}
    assert targets["MAU ratio"] == ["52.0%", "≥ 60.0%", "49.0%", "≥ 54.5%",
                                    "Missed: halfway between trend and target"]


def test_without_targets_or_tables():
    soup = BeautifulSoup(plan_html({"x": KpiValue("new_users", math.nan, "count", "higher")},
                                   {}, lang="en"), "html.parser")
    text = soup.get_text(" ")
    assert "No KPI had a target this period" in text
    assert "keep the budget split" in text
    assert soup.select("table") == []

"""The appendix shows parameters and provenance as readable, labelled tables (no JSON)."""

from __future__ import annotations

from review.config import load_params
from review.paths import PARAMS_DIR
from review.report.appendix import (
    fingerprints_frame,
    missing_tables_frame,
    params_frame,
    provenance_frame,
)


def test_params_are_readable_rows_in_the_readers_language():
    params = load_params(PARAMS_DIR / "2026-10.yaml").notebook_parameters()
    df = params_frame(params, "zh")
    rows = dict(zip(df["item"], df["value"], strict=True))
    assert rows["统计期间"] == "2026-10-01 至 2026-10-31"
    assert rows["目标：月活占比"] == "≥ 60.0%"
    assert rows["目标：付费渠道获客成本"] == "≤ ¥120"
    assert rows["预算总额"] == "¥600,000"
    assert rows["预算占比：数字广告"] == "40.0%"
    assert rows["里程碑：网点培训完成"] == "计划 2026-10-20，实际 —"
    assert rows["里程碑：第二轮推荐活动"] == "计划 2026-10-10，实际 2026-10-15"
    assert rows["沉睡判定天数"] == "180 天"
    assert rows["报告语言"] == "中文"
    text = " ".join(df["value"]) + " ".join(df["item"])
    assert "{" not in text and "[" not in text  # never JSON


def test_provenance_and_fingerprints_have_labelled_columns():
    prov = {"data": "sha256:ab", "packages": {"pandas": "3.1", "duckdb": "1.5"},
            "review_version": "0.1.0", "params": {}, "tables": {}}
    df = provenance_frame(prov, "en")
    assert df.values.tolist() == [["Data fingerprint", "sha256:ab"],
                                  ["Package versions", "duckdb 1.5, pandas 3.1"],
                                  ["Workbook version", "0.1.0"]]
    fp = fingerprints_frame({"users": {"rows": 3, "sum": 10, "xor": 7}})
    assert list(fp.columns) == ["table", "rows", "sum", "xor"]


def test_missing_tables_name_the_sections_they_would_unlock():
    # the contract's SECTION_TABLES: spend feeds the summary tiles (CAC, budget execution) and
    # the budget section; regions only market analysis (penetration); rows sorted by name
    df = missing_tables_frame(["spend", "regions"], "en")
    assert df.values.tolist() == [["regions", "Market analysis"],
                                  ["spend", "Executive summary, Budget and resources"]]
    zh = missing_tables_frame(["regions"], "zh")
    assert zh["unlocks"].tolist() == ["市场分析"]

"""The i18n catalog: complete in both languages, consistent placeholders, strict lookups."""

import pytest

from review.errors import ReviewError
from review.kpis import KPI_CATALOG
from review.report import i18n
from review.report.i18n import check_catalog, code_label, has, join_list, keys, load_catalog, t


def test_shipped_catalog_has_no_problem():
    # every key in zh and en, no empty text, same {fields}, every KPI, unit and contract code
    assert check_catalog() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_kpi_has_a_label_and_a_definition(lang):
    for key in KPI_CATALOG:
        assert t(f"kpi.{key}", lang).strip()
        assert t(f"kpi.{key}.def", lang).strip()
        assert has(f"unit.{KPI_CATALOG[key].unit}")


def test_check_catalog_reports_each_kind_of_problem():
    bad = {
        "a.only_zh": {"zh": "中文"},                                  # missing en
        "a.empty": {"zh": "  ", "en": "x"},                           # blank zh
        "a.fields": {"zh": "{n} 个", "en": "{count} items"},          # placeholders differ
        "a.broken": {"zh": "{", "en": "x"},                           # not a template
        "b.one": {"zh": "乙", "en": "b"},
        "a.split": {"zh": "甲", "en": "a"},                           # family a split by b
    }
    problems = "\n".join(check_catalog(bad))
    assert "a.only_zh: missing language 'en'" in problems
    assert "a.empty: empty text for 'zh'" in problems
    assert "a.fields: placeholders differ between languages (en: ['count'], zh: ['n'])" in problems
    assert "a.broken: zh text is not a valid template" in problems
    assert "a.*: keys of this family are split into several blocks" in problems
    # a catalog without the KPI labels is reported KPI by KPI
    assert "kpi.new_users: missing (needed by review.kpis.KPI_CATALOG)" in problems
    assert "kpi.nps.def: missing" in problems
    assert "code.city_tier.lower: missing label of a contract code" in problems


def test_t_fills_named_fields_in_each_language():
    assert t("report.period", "en", start="2026-10-01", end="2026-10-31") == \
        "Period: 2026-10-01 to 2026-10-31"
    assert t("report.period", "zh", start="2026-10-01", end="2026-10-31") == \
        "统计期间：2026-10-01 至 2026-10-31"
    assert t("report.unavailable", "en", tables="spend") == "Not available: needs table spend"


def test_required_texts_are_as_specified():
    assert [t(f"rag.{r}", "zh") for r in ("green", "amber", "red")] == ["达标", "预警", "未达标"]
    assert [t(f"rag.{r}", "en") for r in ("green", "amber", "red")] == \
        ["On target", "At risk", "Off target"]
    assert t("report.title", "zh") == "手机银行营销活动工作通报"
    assert t("report.title", "en") == "Mobile Banking Campaign Review"
    zh = {s: t(f"section.{s}", "zh") for s in
          ("market_analysis", "goals", "execution", "budget", "evaluation", "appendix")}
    assert zh == {"market_analysis": "市场分析", "goals": "目标设定", "execution": "执行计划",
                  "budget": "预算与资源", "evaluation": "评估与优化",
                  "appendix": "附录：数据质量与来源"}
    assert "{k}" not in t("report.suppressed", "en", k=10) and "10" in t(
        "report.suppressed", "en", k=10)


def test_unknown_key_is_a_key_error_naming_it_and_close_matches():
    with pytest.raises(KeyError, match=r"'kpi\.new_user'.*kpi\.new_users"):
        t("kpi.new_user", "en")


def test_unknown_language_is_a_value_error():
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        t("report.title", "fr")
    with pytest.raises(ValueError, match="unknown language"):
        code_label("city_tier", "key", "zh-CN")


def test_missing_field_is_a_key_error_naming_key_and_field():
    with pytest.raises(KeyError, match=r"'report\.period' needs the field 'end'"):
        t("report.period", "en", start="2026-10-01")


def test_has_and_keys():
    assert has("report.title") and not has("report.nope")
    assert "kpi.mau_ratio" in keys()
    assert len(keys()) > 200


def test_code_labels_translate_known_codes_and_keep_others():
    assert code_label("city_tier", "key", "zh") == "重点城市"
    assert code_label("city_tier", "lower", "zh") == "下沉市场"
    assert code_label("city_tier", "lower", "en") == "Lower-tier cities"
    assert code_label("txn_channel", "mobile", "zh") == "手机银行"
    assert code_label("age_band", "18-24", "zh") == "18-24"      # age bands stay as they are
    assert code_label("variant", "A", "en") == "A"
    assert code_label("segment", None, "en") == "—"
    assert code_label("segment", float("nan"), "en") == "—"


def test_every_contract_code_has_a_label_in_both_languages():
    for dim, codes in i18n.CODE_DIMENSIONS.items():
        for code in codes:
            for lang in i18n.LANGS:
                assert has(f"code.{dim}.{code}"), (dim, code)
                assert code_label(dim, code, lang).strip()


def test_join_list_uses_the_language_separator():
    assert join_list(["spend", "users"], "zh") == "spend、users"
    assert join_list(["spend", "users"], "en") == "spend, users"


def test_load_catalog_refuses_duplicate_keys(tmp_path):
    path = tmp_path / "i18n.yaml"
    path.write_text("a.x:\n  zh: 甲\n  en: a\na.x:\n  zh: 乙\n  en: b\n", encoding="utf-8")
    with pytest.raises(ReviewError, match=r"i18n\.yaml: line 4: duplicate key 'a\.x'"):
        load_catalog(path)


@pytest.mark.parametrize("text, message", [
    ("a.x:\n  zh: 12\n  en: a\n", "texts must be strings"),
    ("a.x:\n  zh: 甲\n  fr: a\n", "expected a mapping with the languages"),
    ("- a\n- b\n", "expected a mapping of key"),
    ("a.x: [\n", "not valid YAML"),
])
def test_load_catalog_names_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "cat.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReviewError, match=message) as info:
        load_catalog(path)
    assert "cat.yaml" in str(info.value)

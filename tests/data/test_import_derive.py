"""Derived columns (sql:, when:, derive:), month names, key checks, and the mapping examples of
README.md and docs/importing.md run as written."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from review.data.importer import ImportMapping, import_files
from review.errors import ImportMappingError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def read(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def blocks(path: Path) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of a Markdown file."""
    return re.findall(r"```(\w*)\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def mapping_of(text: str) -> ImportMapping:
    from review.data.importer import _TextLoader
    return ImportMapping.from_dict(yaml.load(text, Loader=_TextLoader))  # noqa: S506


# -- the docs cannot drift from the code --------------------------------------------------------
def test_readme_mapping_example_parses_and_imports_the_fixture(tmp_path):
    (example,) = [b for lang, b in blocks(ROOT / "README.md") if lang == "yaml"
                  and "sources:" in b]
    store = tmp_path / "bank.duckdb"
    result = import_files([FIXTURES / "活动名单_202609.csv"], mapping_of(example), store)
    # 5 rows for 4 customers (U0002 twice): users dedup → 4; one assignment per row
    assert result.rows == {"users": 4, "assignments": 5}
    assert read(store, "SELECT registered_at FROM users WHERE user_id = 'U0002'") == [
        (datetime(2026, 8, 15, 20, 40),)]


def test_every_mapping_in_docs_importing_is_valid():
    found = [b for lang, b in blocks(ROOT / "docs" / "importing.md")
             if lang == "yaml" and "sources:" in b and "\n          ...\n" not in b]
    assert len(found) >= 3
    for text in found:
        mapping_of(text)


def worked(title: str) -> tuple[str, ImportMapping]:
    """The export and mapping under a docs/importing.md heading."""
    text = (ROOT / "docs" / "importing.md").read_text(encoding="utf-8")
    section = text.split(f"### Worked example: {title}", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### ", 1)[0]
    (_, export), (_, mapping) = blocks_of(section)[:2]
    return export, mapping_of(mapping)


def blocks_of(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def test_docs_example_year_from_file_order_and_conditional_date(tmp_path):
    export, mapping = worked("a contact list without years")
    (tmp_path / "bank.csv").write_text(export, encoding="utf-8")
    store = tmp_path / "s.duckdb"
    import_files([tmp_path / "bank.csv"], mapping, store)
    # may 5, may 6, dec 1 → 2008; jan 3 follows dec → 2009. Rows 2 and 4 have y = yes.
    assert read(store, "SELECT user_id, touch_channel, assigned_at, reached, converted_at, "
                       "reward_cost FROM assignments ORDER BY assigned_at") == [
        ("B1", "phone", datetime(2008, 5, 5), True, None, 0.0),
        ("B2", "phone", datetime(2008, 5, 6), True, datetime(2008, 5, 6), 0.0),
        ("B3", "unknown", datetime(2008, 12, 1), True, None, 0.0),
        ("B4", "phone", datetime(2009, 1, 3), True, datetime(2009, 1, 3), 0.0)]


def test_docs_example_experiment_with_true_false_outcomes(tmp_path):
    export, mapping = worked("an in-app experiment with TRUE/FALSE outcomes")
    (tmp_path / "experiment.csv").write_text(export, encoding="utf-8")
    store = tmp_path / "s.duckdb"
    import_files([tmp_path / "experiment.csv"], mapping, store)
    assert read(store, "SELECT user_id, variant, converted_at FROM assignments ORDER BY 1") == [
        ("u1", "control", None), ("u2", "A", datetime(2026, 9, 1, 10, 5))]


# -- month names ---------------------------------------------------------------------------
def test_month_names_in_parts_and_formats_in_both_languages(tmp_path):
    (tmp_path / "c.csv").write_text(
        "id,年,月,日,签约\n"
        "a,2026,五月,3,2026年五月3日\n"
        "b,2026,Sept,14,2026年9月14日\n"
        "c,2026,十二月,31,2026年十二月31日\n", encoding="utf-8")
    mapping = ImportMapping.from_dict({"sources": [{"files": "c.csv", "tables": {
        "assignments": {"columns": {
            "user_id": "id", "campaign_id": {"value": "X"}, "variant": {"value": "A"},
            "assigned_at": {"parts": {"year": "年", "month": "月", "day": "日"}},
            "converted_at": {"from": "签约", "format": ["%Y年%b%d日", "%Y年%m月%d日"]}}}}}]})
    store = tmp_path / "s.duckdb"
    import_files([tmp_path / "c.csv"], mapping, store)
    assert read(store, "SELECT user_id, assigned_at, converted_at FROM assignments "
                       "ORDER BY 1") == [
        ("a", datetime(2026, 5, 3), datetime(2026, 5, 3)),
        ("b", datetime(2026, 9, 14), datetime(2026, 9, 14)),
        ("c", datetime(2026, 12, 31), datetime(2026, 12, 31))]


def test_sql_column_with_month_number_and_cast(tmp_path):
    (tmp_path / "s.csv").write_text("id,m,d,fen\na,may,2,12345\n", encoding="utf-8")
    mapping = ImportMapping.from_dict({"sources": [{"files": "s.csv", "tables": {
        "assignments": {"columns": {
            "user_id": "id", "campaign_id": {"value": "X"}, "variant": {"value": "A"},
            "assigned_at": {"sql": "make_date(2026, month_number(m), CAST(d AS INT))"},
            "reward_cost": {"sql": "CAST(fen AS DOUBLE) / 100"}}}}}]})
    store = tmp_path / "s.duckdb"
    import_files([tmp_path / "s.csv"], mapping, store)
    assert read(store, "SELECT assigned_at, reward_cost FROM assignments") == [
        (datetime(2026, 5, 2), 123.45)]


# -- every key validated ----------------------------------------------------------------------
BASE = {"user_id": "id", "campaign_id": {"value": "X"}, "variant": {"value": "A"}}


@pytest.mark.parametrize(("column", "source_extra", "expected"), [
    ({"parts": {"year": "y", "month": "m", "day": "d"}, "values": {"a": "b"}}, {},
     "assigned_at: Value error, values: has no effect next to parts:"),
    ({"parts": {"year": "y", "month": "m", "day": "d"}, "format": "%Y"}, {},
     "format: has no effect next to parts:"),
    ({"from": "t", "then": "x"}, {}, "then: has no effect without when:"),
    ({"when": "y = 'yes'"}, {}, "when: needs then:"),
    ({"from": "t", "sql": "t"}, {}, "give exactly one of from, value, parts, surrogate, sql, "
                                    "when (found from, sql)"),
    ({"from": "t", "fromat": "%Y"}, {}, "columns.assigned_at.fromat: unknown key"),
    ({"from": "t"}, {"sheet": "流水"}, "sheet: has no effect on CSV files"),
])
def test_unknown_or_ineffective_keys_are_errors_naming_the_key(column, source_extra, expected):
    data = {"sources": [{"files": "x.csv", **source_extra, "tables": {"assignments": {
        "columns": {**BASE, "assigned_at": column}}}}]}
    with pytest.raises(ImportMappingError) as exc:
        ImportMapping.from_dict(data, origin="m.yaml")
    assert expected.replace("Value error, ", "") in str(exc.value)
    assert "m.yaml" in str(exc.value)


def test_failing_sql_names_file_table_column_and_key(tmp_path):
    (tmp_path / "s.csv").write_text("id,d\na,2026-09-01\n", encoding="utf-8")
    mapping = ImportMapping.from_dict({"sources": [{"files": "s.csv",
        "derive": {"year": "CAST(nosuch AS INT)"},
        "tables": {"assignments": {"columns": {**BASE, "assigned_at": "d"}}}}]})
    store = tmp_path / "s.duckdb"
    with pytest.raises(ImportMappingError) as exc:
        import_files([tmp_path / "s.csv"], mapping, store)
    assert "s.csv: derive.year: the SQL fails:" in str(exc.value)
    assert "nosuch" in str(exc.value)
    assert not store.exists()
    mapping = ImportMapping.from_dict({"sources": [{"files": "s.csv", "tables": {
        "assignments": {"columns": {**BASE, "assigned_at": {"sql": "max(d)"}}}}}]})
    # an aggregate gives one value for the whole file: refused (use a window instead)
    with pytest.raises(ImportMappingError, match="column assigned_at: sql: the SQL fails: .*"
                                                  "aggregate"):
        import_files([tmp_path / "s.csv"], mapping, store)

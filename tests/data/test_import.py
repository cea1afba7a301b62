"""Import of analysts' exports: the worked example, encodings, delimiters and every failure."""

from __future__ import annotations

import codecs
import hashlib
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from review.data.importer import (
    ImportMapping,
    detect_delimiter,
    detect_encoding,
    import_files,
    load_mapping,
)
from review.errors import ImportMappingError, ValidationError

FIXTURES = Path(__file__).parent / "fixtures"
CONTACT_LIST = FIXTURES / "活动名单_202609.csv"     # GBK, commas, Chinese headers
CAMPAIGN_LIST = FIXTURES / "活动清单.csv"            # UTF-8 with BOM, semicolons
EXAMPLE_MAPPING = FIXTURES / "contact_list_mapping.yaml"


def write_xlsx(path: Path, rows: list[list], sheet: str = "流水") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def read(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the worked example of docs/importing.md ---------------------------------------------------
@pytest.fixture
def transactions_xlsx(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "交易流水_202609.xlsx", [
        ["客户号", "交易时间", "交易类型", "金额", "状态"],
        ["U0001", datetime(2026, 9, 3, 10, 0), "转账", 1200.5, "成功"],  # an Excel date cell
        ["U0002", "2026/09/04 11:30", "理财", "50,000.00", "失败"],      # text cells
    ])


def test_worked_example_imports_three_exports(tmp_path, transactions_xlsx):
    store = tmp_path / "bank.duckdb"
    result = import_files([CONTACT_LIST, CAMPAIGN_LIST, transactions_xlsx], EXAMPLE_MAPPING,
                          store)
    # the contact list has 5 rows for 4 customers (U0002 is in C07 and C08): users dedup → 4
    assert result.rows == {"users": 4, "transactions": 2, "campaigns": 2, "assignments": 5}
    assert result.duplicates_dropped == {"users": 1, "transactions": 0, "campaigns": 0,
                                         "assignments": 0}
    assert result.report.ok and result.report.problems == ()
    assert result.tables == ("users", "transactions", "campaigns", "assignments")

    assert read(store, "SELECT * FROM users WHERE user_id = 'U0002'") == [
        ("U0002", datetime(2026, 8, 15, 20, 40), "branch", "湖州", "lower", "35-44",
         "affluent")]
    assert read(store, "SELECT * FROM assignments WHERE user_id = 'U0002' ORDER BY 2") == [
        ("U0002", "C07", "A", "push", datetime(2026, 9, 1), True, datetime(2026, 9, 5), 20.0),
        ("U0002", "C08", "control", "in_app", datetime(2026, 9, 10), True, None, 0.0)]
    assert read(store, "SELECT * FROM campaigns ORDER BY 1")[1] == (
        "C08", "推荐好友得积分", "referral", date(2026, 9, 10), date(2026, 10, 31), None)
    tx = read(store, "SELECT user_id, ts, type, channel, amount, status FROM transactions "
                     "ORDER BY user_id")
    assert tx == [("U0001", datetime(2026, 9, 3, 10), "transfer", "mobile", 1200.5, "success"),
                  ("U0002", datetime(2026, 9, 4, 11, 30), "wealth", "mobile", 50000.0,
                   "failed")]
    # exact contract dtypes
    types = dict(read(store, "SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'assignments'"))
    assert types == {"user_id": "VARCHAR", "campaign_id": "VARCHAR", "variant": "VARCHAR",
                     "touch_channel": "VARCHAR", "assigned_at": "TIMESTAMP",
                     "reached": "BOOLEAN", "converted_at": "TIMESTAMP",
                     "reward_cost": "DOUBLE"}


def test_surrogate_keys_are_deterministic(tmp_path, transactions_xlsx):
    ids = []
    for i in range(2):
        store = tmp_path / f"s{i}.duckdb"
        import_files([transactions_xlsx], EXAMPLE_MAPPING, store)
        ids.append(read(store, "SELECT txn_id FROM transactions ORDER BY txn_id"))
    assert ids[0] == ids[1] and len({r[0] for r in ids[0]}) == 2
    assert all(r[0].startswith("T") and len(r[0]) == 17 for r in ids[0])


def test_only_mapped_tables_are_written_and_others_kept(tmp_path):
    store = tmp_path / "bank.duckdb"
    con = duckdb.connect(str(store))
    con.execute("CREATE TABLE events AS SELECT 'U0001' AS user_id")
    con.execute("CREATE TABLE campaigns AS SELECT 'OLD' AS campaign_id")
    con.close()
    result = import_files([CAMPAIGN_LIST], EXAMPLE_MAPPING, store)
    assert result.tables == ("campaigns",)
    assert read(store, "SELECT campaign_id FROM campaigns ORDER BY 1") == [("C07",), ("C08",)]
    assert read(store, "SELECT * FROM events") == [("U0001",)]


# -- encodings and delimiters ------------------------------------------------------------------
USERS_MAPPING = {
    "sources": [{
        "files": "users*",
        "tables": {"users": {"columns": {
            "user_id": "客户号",
            "registered_at": {"from": "注册日期", "format": "%Y年%m月%d日"},
            "acquisition_channel": {"from": "渠道", "values": {"手机银行": "organic",
                                                              "网点": "branch"}},
            "region": "地区",
            "city_tier": {"value": "key"},
            "age_band": "年龄段",
            "segment": {"from": "客群", "values": {"大众": "mass"}},
        }}},
    }],
}
USERS_ROWS = [["客户号", "注册日期", "渠道", "地区", "年龄段", "客群"],
              ["U1", "2026年09月01日", "手机银行", "杭州", "25-34", "大众"],
              ["U2", "2026年09月02日", "网点", "温州", "35-44", "大众"]]


def csv_bytes(rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    return "\n".join(delimiter.join(r) for r in rows).encode(encoding) + b"\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_encodings_and_delimiters_are_detected(tmp_path, encoding, delimiter):
    src = tmp_path / "users.csv"
    src.write_bytes(csv_bytes(USERS_ROWS, delimiter, encoding))
    store = tmp_path / "s.duckdb"
    import_files([src], ImportMapping.from_dict(USERS_MAPPING), store)
    assert read(store, "SELECT user_id, registered_at, acquisition_channel, region, city_tier "
                       "FROM users ORDER BY 1") == [
        ("U1", datetime(2026, 9, 1), "organic", "杭州", "key"),
        ("U2", datetime(2026, 9, 2), "branch", "温州", "key")]


def test_detectors():
    text = "a,b,c\n1,2,3\n"
    assert detect_encoding(codecs.BOM_UTF8 + text.encode()) == "utf-8-sig"
    assert detect_encoding("客户号,金额\n".encode()) == "utf-8"
    assert detect_encoding("客户号,金额\n".encode("gbk")) == "gb18030"
    assert detect_delimiter("a;b;c\n1,5;2;3\n") == ";"      # commas inside values
    assert detect_delimiter("a|b\n1|2\n") == "|"
    assert detect_delimiter("a\tb\n1\t2\n") == "\t"
    assert detect_delimiter("single\n1\n") == ","


def test_explicit_encoding_overrides_detection(tmp_path):
    src = tmp_path / "users.csv"
    src.write_bytes(csv_bytes(USERS_ROWS, ",", "gbk"))
    data = {"sources": [dict(USERS_MAPPING["sources"][0], encoding="utf-8")]}
    with pytest.raises(ImportMappingError, match="users.csv: not valid utf-8 at byte"):
        import_files([src], ImportMapping.from_dict(data), tmp_path / "s.duckdb")
    assert not (tmp_path / "s.duckdb").exists()


# -- failures: a clear message, nothing written -------------------------------------------------
TX_MAPPING = {
    "sources": [{
        "files": "tx*.csv",
        "tables": {"transactions": {"columns": {
            "txn_id": {"surrogate": "row_number", "prefix": "T"},
            "user_id": "客户号",
            "ts": {"from": "交易时间", "format": "%Y/%m/%d %H:%M"},
            "type": {"from": "类型", "values": {"转账": "transfer"}},
            "channel": {"from": "渠道", "values": {"手机银行": "mobile", "柜面": "branch"}},
            "amount": "金额",
            "status": {"from": "状态", "values": {"成功": "success", "失败": "failed"}},
        }}},
    }],
}
TX_HEADER = "客户号,交易时间,类型,渠道,金额,状态"
GOOD_ROW = "U1,2026/09/01 10:00,转账,手机银行,100.00,成功"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store holding users U1 and U2, to be left byte-identical by failed imports."""
    path = tmp_path / "bank.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE users AS SELECT * FROM (VALUES ('U1'), ('U2')) v(user_id)")
    con.execute("CREATE TABLE transactions AS SELECT 'T0' AS txn_id")
    con.close()
    return path


def import_tx(tmp_path: Path, store: Path, body: str | bytes, *, mapping=None) -> str:
    """Import a transactions CSV expected to fail; return the message, check the store."""
    src = tmp_path / "tx_202609.csv"
    src.write_bytes(body if isinstance(body, bytes) else body.encode("gbk"))
    before = digest(store)
    with pytest.raises(ImportMappingError) as exc:
        import_files([src], ImportMapping.from_dict(mapping or TX_MAPPING), store)
    assert digest(store) == before, "a failed import changed the store"
    # no temporary sibling left behind (review.core.files.temporary_sibling names)
    assert sorted(p.name for p in store.parent.iterdir() if p.name.startswith(f".{store.name}.")
                  ) == []
    return str(exc.value)


def test_clean_transactions_import_as_reference(tmp_path, store):
    src = tmp_path / "tx_202609.csv"
    src.write_bytes(f"{TX_HEADER}\n{GOOD_ROW}\nU2,2026/09/02 11:00,转账,柜面,1,失败\n"
                    .encode("gbk"))
    result = import_files([src], ImportMapping.from_dict(TX_MAPPING), store)
    assert result.rows == {"transactions": 2}
    assert read(store, "SELECT txn_id, user_id, channel, amount FROM transactions ORDER BY 1"
                ) == [("T1", "U1", "mobile", 100.0), ("T2", "U2", "branch", 1.0)]


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param(f"客户号,交易时间,类型,渠道,状态\n{GOOD_ROW[:-11]},成功\n",
                 "tx_202609.csv, table transactions, column amount: mapped source column '金额' "
                 "is not in the header", id="missing column"),
    pytest.param(f"{TX_HEADER}\n{GOOD_ROW}\nU2,2026/09/02 11:00,转账,柜面,abc,成功\n",
                 "tx_202609.csv, table transactions, column amount, row 2: not a number: "
                 "'abc'; fix the values in the file", id="wrong type"),
    pytest.param(f"{TX_HEADER}\n{GOOD_ROW}\nU2,2026/09/02 11:00,转账,柜面,-12.5,成功\n",
                 "tx_202609.csv, table transactions, column amount, row 2: negative value(s) "
                 "-12.5 (must be ≥ 0)", id="negative amount"),
    pytest.param(f"{TX_HEADER}\n{GOOD_ROW}\nU2,2026/09/02 11:00,转账,网银,1,成功\n",
                 "tx_202609.csv, table transactions, column channel, row 2: unknown code(s) "
                 "'网银': not in the value map nor the allowed set (mobile, branch, web, atm, other, unknown)",
                 id="unknown code"),
    pytest.param(f"{TX_HEADER}\n{GOOD_ROW}\nU9,2026/09/02 11:00,转账,柜面,1,成功\n",
                 "tx_202609.csv, table transactions, column user_id, row 2: user_id not found "
                 "in users.user_id: 'U9'", id="orphan user_id"),
    pytest.param(f"{TX_HEADER}\nU2,2026-09-02,转账,柜面,1,成功\n",
                 "tx_202609.csv, table transactions, column ts, row 1: unparsable date: "
                 "'2026-09-02' (expected %Y/%m/%d %H:%M)", id="unparsable date"),
    pytest.param(f"{TX_HEADER}\n{GOOD_ROW}\nU2,2026/09/02 11:00,转账\n",
                 "tx_202609.csv, row 2: the row has 3 field(s), the header 6: the file looks "
                 "truncated", id="truncated row"),
    pytest.param(f'{TX_HEADER}\n{GOOD_ROW}\nU2,2026/09/02 11:00,转账,柜面,"1,成功\n',
                 "tx_202609.csv, row 2: malformed CSV", id="open quote"),
    pytest.param(b"", "tx_202609.csv: empty file", id="empty file"),
    pytest.param(f"{TX_HEADER}\n", "tx_202609.csv: the file has a header but no data rows",
                 id="header only"),
    pytest.param(f"{TX_HEADER}\n{GOOD_ROW}\n,2026/09/02 11:00,转账,柜面,1,成功\n",
                 "tx_202609.csv, table transactions, column user_id, row 2: empty value where "
                 "the contract requires one", id="empty required value"),
])
def test_bad_files_are_refused_with_file_table_column_and_row(tmp_path, store, body, expected):
    message = import_tx(tmp_path, store, body)
    assert expected in message
    assert message.startswith(f"import refused, nothing was written to {store}")


def test_duplicate_key_and_dedup(tmp_path):
    src = tmp_path / "users.csv"
    rows = [*USERS_ROWS, ["U1", "2026年09月03日", "网点", "宁波", "45-54", "大众"]]
    src.write_bytes(csv_bytes(rows, ",", "utf-8"))
    store = tmp_path / "s.duckdb"
    with pytest.raises(ImportMappingError) as exc:
        import_files([src], ImportMapping.from_dict(USERS_MAPPING), store)
    assert ("users.csv, table users, column user_id, row 3: duplicate key(s), each already in "
            "an earlier row: user_id='U1' (first in row 1 of users.csv); remove the duplicates "
            "or set `dedup: first`") in str(exc.value)
    assert not store.exists()
    for how, region in [("first", "杭州"), ("last", "宁波")]:
        data = {"sources": [dict(USERS_MAPPING["sources"][0])]}
        data["sources"][0]["tables"] = {"users": dict(USERS_MAPPING["sources"][0]["tables"]
                                                      ["users"], dedup=how)}
        result = import_files([src], ImportMapping.from_dict(data), store)
        assert result.rows == {"users": 2} and result.duplicates_dropped == {"users": 1}
        assert read(store, "SELECT region FROM users WHERE user_id = 'U1'") == [(region,)]


def test_all_problems_of_a_file_are_listed_at_once(tmp_path, store):
    body = (f"{TX_HEADER}\n"
            "U1,2026/09/01 10:00,转账,手机银行,abc,成功\n"       # row 1: amount
            "U9,2026/13/01 10:00,转账,手机银行,1,成功\n"         # row 2: orphan, bad date
            "U2,2026/09/01 10:00,提现,网银,-1,未知\n"            # row 3: 3 codes, negative
            "U3,2026/09/01 10:00,提现,网银,-2,成功\n")           # row 4: orphan, 2 codes, neg.
    src = tmp_path / "tx_202609.csv"
    src.write_bytes(body.encode("gbk"))
    with pytest.raises(ImportMappingError) as exc:
        import_files([src], ImportMapping.from_dict(TX_MAPPING), store)
    found = {(p.column, p.rule, p.rows, p.count) for p in exc.value.problems}
    assert found == {
        ("amount", "bad_value", (1,), 1), ("ts", "bad_value", (2,), 1),
        ("user_id", "orphan", (2, 4), 2), ("type", "unknown_code", (3, 4), 2),
        ("channel", "unknown_code", (3, 4), 2), ("status", "unknown_code", (3,), 1),
        ("amount", "range", (3, 4), 2),
    }
    assert ("column user_id, rows 2, 4: user_id not found in users.user_id: 'U9', 'U3'"
            in str(exc.value))
    assert "7 problem(s)" in str(exc.value)


def test_dates_from_parts_and_excel(tmp_path):
    mapping = ImportMapping.from_dict({"sources": [{
        "files": "*.xlsx", "sheet": "2", "skip_rows": 1,
        "tables": {"surveys": {"columns": {
            "response_id": {"surrogate": "row_number", "prefix": "R"},
            "date": {"parts": {"year": "年", "month": "月", "day": "日"}},
            "nps_score": "评分",
            "aware_unaided": {"from": "知晓", "values": {"知道": True, "不知道": False}},
        }}},
    }]})
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    ws = wb.create_sheet("数据")
    for r in [["2026年9月满意度调查"], ["年", "月", "日", "评分", "知晓"],
              [2026, 9, 1, 9, "知道"], [2026, 9, 2, "10", None], [None, None, None, None, None],
              [2026, 9, 3, 0, "不知道"]]:
        ws.append(r)
    path = tmp_path / "nps.xlsx"
    wb.save(path)
    store = tmp_path / "s.duckdb"
    import_files([path], mapping, store)
    assert read(store, "SELECT * FROM surveys ORDER BY 1") == [
        ("R1", date(2026, 9, 1), 9, True), ("R2", date(2026, 9, 2), 10, None),
        ("R3", date(2026, 9, 3), 0, False)]

    ws.append([2026, 13, 1, 5, "知道"])  # data row 5 (the blank row 3 counts)
    wb.save(path)
    with pytest.raises(ImportMappingError, match=r"nps.xlsx, table surveys, column date, "
                                                 r"row 5: no such date: \(year=2026, month=13"):
        import_files([path], mapping, store)


def test_validation_after_write_refuses_and_keeps_the_store(tmp_path, store):
    src = tmp_path / "tx_202609.csv"
    src.write_bytes(f"{TX_HEADER}\n{GOOD_ROW}\n".encode("gbk"))
    import_files([src], ImportMapping.from_dict(TX_MAPPING), store)  # writes T1
    before = digest(store)
    # appending the same export repeats txn_id T1: only the store-wide check can see it
    with pytest.raises(ValidationError, match="transactions.txn_id \\[primary_key\\]") as exc:
        import_files([src], ImportMapping.from_dict(TX_MAPPING), store, replace=False)
    assert exc.value.report.errors[0].rule == "primary_key"
    assert digest(store) == before
    assert [p.name for p in tmp_path.iterdir() if "importing" in p.name] == []


def test_append_adds_rows(tmp_path, store):
    src = tmp_path / "tx_202609.csv"
    src.write_bytes(f"{TX_HEADER}\n{GOOD_ROW}\n".encode("gbk"))
    import_files([src], ImportMapping.from_dict(TX_MAPPING), store)
    other = {"sources": [dict(TX_MAPPING["sources"][0])]}
    other["sources"][0]["tables"] = {"transactions": {"columns": dict(
        TX_MAPPING["sources"][0]["tables"]["transactions"]["columns"],
        txn_id={"surrogate": "row_number", "prefix": "T10-"})}}
    result = import_files([src], ImportMapping.from_dict(other), store, replace=False)
    assert result.rows == {"transactions": 1}
    assert read(store, "SELECT txn_id FROM transactions ORDER BY 1") == [("T1",), ("T10-1",)]


# -- the mapping itself ------------------------------------------------------------------------
def test_example_mapping_loads():
    mapping = load_mapping(EXAMPLE_MAPPING)
    assert mapping.tables == ("users", "transactions", "campaigns", "assignments")
    reached = mapping.sources[0].tables["assignments"].columns["reached"]
    assert reached.values == {"是": "true", "否": "false"}  # YAML scalars stay text


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("sources:\n  - files: a.csv\n    tabels: {}\n",
     "sources.0.tabels: unknown key"),
    ("sources:\n  - files: a.csv\n    tables:\n      users:\n        columns:\n"
     "          user_id: {from: 客户号, fromat: x}\n",
     "sources.0.tables.users.columns.user_id.fromat: unknown key"),
    ("sources:\n  - files: a.csv\n    tables:\n      user: {columns: {user_id: a}}\n",
     "tables.user: not a contract table"),
    ("sources:\n  - files: a.csv\n    tables:\n      campaigns:\n        columns:\n"
     "          campaign_id: a\n          nom: b\n",
     "tables.campaigns.columns.nom: not a column of campaigns"),
    ("sources:\n  - files: a.csv\n    tables:\n      campaigns: {columns: {campaign_id: a}}\n",
     "required column(s) name, kind, start, end not mapped"),
    ("sources:\n  - files: a.csv\n    tables:\n      regions:\n        columns:\n"
     "          region: {from: a, value: b}\n          city_tier: c\n          population: d\n",
     "give exactly one of from, value, parts, surrogate, sql, when (found from, value)"),
    ("sources:\n  - files: a.csv\n    encoding: big9\n    tables: {}\n",
     "unknown encoding 'big9'"),
])
def test_invalid_mappings_name_file_and_key(tmp_path, yaml_text, expected):
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ImportMappingError) as exc:
        load_mapping(path)
    assert str(exc.value).startswith(f"{path}: invalid import mapping")
    assert expected in str(exc.value)


def test_files_must_match_one_source(tmp_path):
    src = tmp_path / "other.csv"
    src.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ImportMappingError, match="no mapping source matches .*other.csv"):
        import_files([src], EXAMPLE_MAPPING, tmp_path / "s.duckdb")
    with pytest.raises(ImportMappingError, match="missing.csv: file not found"):
        import_files([tmp_path / "missing.csv"], EXAMPLE_MAPPING, tmp_path / "s.duckdb")
    assert not (tmp_path / "s.duckdb").exists()


def test_a_store_that_is_not_duckdb_is_refused_untouched(tmp_path):
    src = tmp_path / "tx_202609.csv"
    src.write_bytes(f"{TX_HEADER}\n{GOOD_ROW}\n".encode("gbk"))
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database", encoding="utf-8")
    with pytest.raises(ImportMappingError, match="notes.duckdb: cannot open the store"):
        import_files([src], ImportMapping.from_dict(TX_MAPPING), bad)
    assert bad.read_text(encoding="utf-8") == "not a database"

"""Import hardening: mixed encodings refused with the line, control characters stripped, stale
temporary copies of killed imports cleaned."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from review.data.importer import (
    ImportMapping,
    MixedEncodingError,
    clean_stale_imports,
    detect_encoding,
    import_files,
)
from review.errors import ImportMappingError

MAPPING = ImportMapping.from_dict({"sources": [{"files": "c*.csv", "tables": {"campaigns": {
    "columns": {"campaign_id": "编号", "name": "名称", "kind": {"value": "other"},
                "start": "开始", "end": "结束"}}}}]})
HEADER = "编号,名称,开始,结束\n"


def test_mixed_encodings_are_refused_naming_the_first_line_that_breaks(tmp_path):
    # lines 1–2 UTF-8 (header + C1), line 3 in GBK: GB18030 would decode it all as mojibake
    data = (HEADER + "C1,社保卡绑卡,2026-09-01,2026-09-30\n").encode("utf-8") \
        + "C2,推荐有礼,2026-09-01,2026-09-30\n".encode("gbk")
    (tmp_path / "c.csv").write_bytes(data)
    with pytest.raises(MixedEncodingError) as info:
        detect_encoding(data)
    assert info.value.line == 3
    store = tmp_path / "s.duckdb"
    with pytest.raises(ImportMappingError, match=r"c\.csv: line 3: the file mixes encodings "
                                                  r"\(the lines above are UTF-8, line 3 is "
                                                  r"GBK/GB18030\)"):
        import_files([tmp_path / "c.csv"], MAPPING, store)
    assert not store.exists()


def test_gbk_file_with_a_utf8_line_later_is_refused_too():
    data = (HEADER + "C1,推荐有礼,2026-09-01,2026-09-30\n").encode("gbk") \
        + "C2,社保卡绑卡,2026-09-01,2026-09-30\n".encode()
    with pytest.raises(MixedEncodingError) as info:
        detect_encoding(data)
    assert (info.value.line, info.value.first, info.value.then) == (3, "GBK/GB18030", "UTF-8")


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "gb18030"])
def test_single_encoding_files_are_still_detected(encoding):
    data = (HEADER + "C1,社保卡绑卡有礼,2026-09-01,2026-09-30\nC2,是,2026-09-01,2026-09-30\n"
            ).encode(encoding)
    assert detect_encoding(data) == ("utf-8" if encoding == "utf-8" else "gb18030")


def test_control_characters_are_stripped_from_imported_text(tmp_path):
    (tmp_path / "c.csv").write_text(
        HEADER + "C1,\x00推荐\x1b[31m有礼\x07,2026-09-01,2026-09-30\n", encoding="utf-8")
    store = tmp_path / "s.duckdb"
    import_files([tmp_path / "c.csv"], MAPPING, store)
    con = duckdb.connect(str(store), read_only=True)
    try:
        assert con.execute("SELECT name FROM campaigns").fetchall() == [("推荐[31m有礼",)]
    finally:
        con.close()


def test_stale_importing_files_of_killed_imports_are_cleaned_on_the_next_import(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    store = tmp_path / "s.duckdb"
    stale = [tmp_path / f".s.duckdb.{dead_pid}.importing",
             tmp_path / f".s.duckdb.{dead_pid}.importing.wal"]
    live = tmp_path / f".s.duckdb.{os.getppid()}.importing"  # our parent runs: kept
    for p in [*stale, live]:
        p.write_bytes(b"half-written")
    (tmp_path / "c.csv").write_text(HEADER + "C1,x,2026-09-01,2026-09-30\n", encoding="utf-8")
    import_files([tmp_path / "c.csv"], MAPPING, store)
    assert not any(p.exists() for p in stale)
    assert live.exists()
    assert clean_stale_imports(store) == []


def test_large_files_are_read_in_chunks_with_the_same_result(tmp_path, monkeypatch):
    import review.data.importer as importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)  # 5 rows → chunks of 2, 2, 1
    body = HEADER + "".join(f"C{i},活动{i},2026-09-0{i},2026-09-30\n" for i in range(1, 6))
    (tmp_path / "c.csv").write_text(body, encoding="utf-8")
    mapping = ImportMapping.from_dict({"sources": [{"files": "c*.csv", "tables": {"campaigns": {
        "columns": {"campaign_id": {"surrogate": "row_number", "prefix": "K"},
                    "name": "名称", "kind": {"value": "other"}, "start": "开始",
                    "end": "结束"}}}}]})
    store = tmp_path / "s.duckdb"
    import_files([tmp_path / "c.csv"], mapping, store)
    con = duckdb.connect(str(store), read_only=True)
    try:
        got = con.execute("SELECT campaign_id, name FROM campaigns ORDER BY start").fetchall()
    finally:
        con.close()
    assert got == [(f"K{i}", f"活动{i}") for i in range(1, 6)]  # numbering runs on
    # a problem in the third chunk still names its row of the file
    (tmp_path / "c.csv").write_text(body.replace("2026-09-05", "5 Sept"), encoding="utf-8")
    with pytest.raises(ImportMappingError, match=r"column start, row 5: unparsable date"):
        import_files([tmp_path / "c.csv"], mapping, store)

"""Fingerprints change exactly when their input changes."""

from __future__ import annotations

import os
import shutil

import duckdb
import ibis
import nbformat
import pytest

from review.core import fingerprint as core_fp
from review.errors import DataSourceError
from review.runner import fingerprint as fp

# sha256(b"abc"), the FIPS 180-2 test vector
ABC = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _age(path, seconds=10):
    """Make ``path`` look written ``seconds`` ago (past the racy window)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_file_digest_known_answer(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"abc")
    assert fp.file_digest(f) == ABC


def test_file_digest_memo_is_reused_and_invalidated_by_a_rewrite(tmp_path):
    f, memo = tmp_path / "a.bin", tmp_path / "memo"
    f.write_bytes(b"abc")
    _age(f)
    assert fp.file_digest(f, memo_dir=memo) == ABC
    (record,) = memo.glob("file-*.json")
    assert str(tmp_path) not in record.read_text()  # memo names never reveal the path
    # a memo hit does not read the file: poison the memo's digest, same signature → returned
    record.write_text(record.read_text().replace(ABC, "sha256:memo"))
    assert fp.file_digest(f, memo_dir=memo) == "sha256:memo"
    # a rewrite changes size/mtime/ctime → the file is hashed again
    f.write_bytes(b"abcd")
    assert fp.file_digest(f, memo_dir=memo) not in ("sha256:memo", ABC)


def test_a_file_written_just_now_is_not_memoised(tmp_path):
    f, memo = tmp_path / "a.bin", tmp_path / "memo"
    f.write_bytes(b"abc")
    assert fp.file_digest(f, memo_dir=memo) == ABC
    assert not list(memo.glob("file-*.json"))  # racy-git rule


def test_source_fingerprint_of_a_file_and_of_a_folder(tmp_path):
    (tmp_path / "db.duckdb").write_bytes(b"x")
    one = fp.source_fingerprint(str(tmp_path / "db.duckdb"))
    assert one == fp.source_fingerprint(str(tmp_path / "db.duckdb"))
    (tmp_path / "db.duckdb.wal").write_bytes(b"pending")
    assert fp.source_fingerprint(str(tmp_path / "db.duckdb")) != one  # the WAL counts

    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "users.csv").write_text("user_id\nu1\n")
    (folder / ".hidden").write_text("ignored")
    before = fp.source_fingerprint(str(folder))
    (folder / ".hidden").write_text("still ignored")
    assert fp.source_fingerprint(str(folder)) == before
    (folder / "users.csv").write_text("user_id\nu2\n")
    assert fp.source_fingerprint(str(folder)) != before


def test_source_fingerprint_resolves_env_references_and_reports_missing_sources(
        tmp_path, monkeypatch):
    (tmp_path / "db.duckdb").write_bytes(b"x")
    monkeypatch.setenv("REVIEW_FP_DIR", str(tmp_path))
    assert (fp.source_fingerprint("${REVIEW_FP_DIR}/db.duckdb")
            == fp.source_fingerprint(str(tmp_path / "db.duckdb")))
    with pytest.raises(DataSourceError, match="not found"):
        fp.source_fingerprint(str(tmp_path / "nope.duckdb"))
    with pytest.raises(DataSourceError, match="empty"):
        fp.source_fingerprint(" ")  # not the project root as a folder source


def test_engine_checksums_ignore_row_order_but_see_duplicates_and_edits():
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE users AS SELECT * FROM (VALUES ('u1', 1), ('u2', 2)) t(user_id, n)")
    con.raw_sql("CREATE TABLE events AS SELECT * FROM (VALUES ('u2', 2), ('u1', 1)) t(user_id, n)")
    sums = fp.engine_table_checksums(con, ["users", "events", "missing"])
    assert list(sums) == ["events", "users"]  # sorted, absent tables left out
    assert sums["users"] == sums["events"]  # same rows, other order
    assert sums["users"]["rows"] == 2

    con.raw_sql("INSERT INTO events VALUES ('u1', 1), ('u1', 1)")  # two duplicates: XOR cancels
    dup = fp.engine_table_checksums(con, ["events"])["events"]
    assert dup["rows"] == 4 and dup["xor"] == sums["users"]["xor"]
    assert dup["sum"] != sums["users"]["sum"]  # …the sum does not


def test_table_fingerprints_are_memoised_under_the_source_fingerprint(tmp_path, monkeypatch):
    store = tmp_path / "s.duckdb"
    con = duckdb.connect(str(store))
    con.execute("CREATE TABLE users AS SELECT 'u1' AS user_id")
    con.close()
    first = fp.table_fingerprints(str(store), source_fp="sha256:abc", memo_dir=tmp_path / "m")
    assert first["users"]["rows"] == 1

    def no_engine(*a, **k):
        raise AssertionError("memo not used")

    monkeypatch.setattr(fp, "engine_table_checksums", no_engine)
    assert fp.table_fingerprints(str(store), source_fp="sha256:abc",
                                 memo_dir=tmp_path / "m") == first


def test_notebook_hash_ignores_outputs_but_not_sources(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    before = fp.notebook_hash(path)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1")]
    nb.cells[0].execution_count = 7
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    nbformat.write(nb, path)
    assert fp.notebook_hash(path) == before
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, path)
    assert fp.notebook_hash(path) != before


def test_code_hash_follows_any_file_of_the_package(tmp_path):
    pkg = tmp_path / "review"
    shutil.copytree(core_fp.PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = fp.code_hash(pkg)
    assert before == fp.code_hash(pkg)
    (pkg / "__pycache__").mkdir(exist_ok=True)
    (pkg / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert fp.code_hash(pkg) == before  # compiled files do not count
    (pkg / "report" / "helper_extra.py").write_text("X = 1\n")
    assert fp.code_hash(pkg) != before

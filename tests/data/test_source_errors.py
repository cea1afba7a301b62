"""`review validate` on broken sources: one clear message naming the file and the problem,
a non-zero exit, no traceback, and never a resolved secret."""

from __future__ import annotations

import duckdb

from review import cli

HEADER = "txn_id,user_id,ts,type,channel,amount,status\n"
ROW = "T{i},U{i},2026-01-05 10:00:00,transfer,mobile,12.5,success\n"


def _folder(tmp_path, transactions: str | bytes):
    """A folder source: a good ``users.csv`` and the given ``transactions.csv``."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "users.csv").write_text(
        "user_id,registered_at,acquisition_channel,region,city_tier,age_band,segment\n"
        + "".join(f"U{i},2026-01-01 09:00:00,organic,north,key,25-34,mass\n" for i in range(3)))
    data = transactions.encode() if isinstance(transactions, str) else transactions
    (folder / "transactions.csv").write_bytes(data)
    return folder


def _validate(source, capsys) -> tuple[int, str]:
    rc = cli.main(["validate", "--source", str(source)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _rows(n: int) -> str:
    return "".join(ROW.format(i=i) for i in range(n))


def test_an_empty_csv_is_named_as_empty(tmp_path, capsys):
    folder = _folder(tmp_path, "")
    rc, out = _validate(folder, capsys)
    assert rc != 0 and "Traceback" not in out
    assert f"{folder / 'transactions.csv'}: table 'transactions': the file is empty" in out
    assert "no column" not in out


def test_a_truncated_csv_names_its_last_line(tmp_path, capsys):
    # header (line 1), 5 rows (lines 2-6), then line 7 cut after 3 fields, no line end
    folder = _folder(tmp_path, HEADER + _rows(5) + "T9,U9,2026-01")
    rc, out = _validate(folder, capsys)
    assert rc != 0 and "Traceback" not in out
    assert "transactions.csv" in out
    assert "the last line (line 7) has 3 of 7 fields" in out and "truncated" in out
    assert "no column" not in out


def test_an_unterminated_quote_names_the_line_it_opens(tmp_path, capsys):
    # line 4 opens a quote that nothing closes
    folder = _folder(tmp_path, HEADER + _rows(2) + 'T8,"U8,2026-01-05 10:00:00,transfer\n'
                     + _rows(3))
    rc, out = _validate(folder, capsys)
    assert rc != 0 and "Traceback" not in out
    assert "transactions.csv" in out and "a quote opened on line 4 is never closed" in out


def test_a_field_over_128_kib_reads_and_a_line_over_the_reader_limit_is_named(tmp_path, capsys):
    big = "x" * (200 * 1024)  # over Python's csv default field limit (128 KiB): still fine
    folder = _folder(tmp_path, HEADER + _rows(2) + ROW.format(i=5).replace("T5", f'"T5{big}"'))
    rc, out = _validate(folder, capsys)
    assert "Traceback" not in out and "cannot" not in out
    assert "transactions" in out

    huge = "y" * 2_100_000  # over DuckDB's 2,000,000-byte line limit
    (folder / "transactions.csv").write_text(HEADER + _rows(2) + f"T7,{huge},x,x,x,1,x\n")
    rc, out = _validate(folder, capsys)
    assert rc != 0 and "Traceback" not in out
    assert "line 4 is 2,100,0" in out and "over the CSV reader's limit" in out
    assert huge[:1000] not in out  # the message does not quote the line


def test_type_errors_name_the_value_and_future_dates_say_so(tmp_path, capsys):
    rows = _rows(3) + ROW.format(i=7).replace("12.5", "¥12.50") \
        + ROW.format(i=8).replace("2026-01-05", "2099-01-05")
    folder = _folder(tmp_path, HEADER + rows)
    rc, out = _validate(folder, capsys)
    assert rc == 1
    assert "transactions.amount is string" in out
    assert "1 row(s) do not read as float64, e.g. '¥12.50'" in out
    assert "'txn_id': 'T7'" in out  # the row, in the examples under the message
    assert "1 row(s) of transactions.ts are dated in the future" in out
    assert "latest 2099-01-05" in out


def _store(path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE users AS SELECT 'U' || i AS user_id, "
                "TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND AS registered_at, "
                "'organic' AS acquisition_channel, 'north' AS region, 'key' AS city_tier, "
                "'25-34' AS age_band, 'mass' AS segment, random() AS noise "
                f"FROM range({rows}) t(i)")
    con.close()


def test_a_truncated_duckdb_file_is_a_clear_error(demo_store, tmp_path, capsys):
    # the header and catalog survive, table blocks are missing: it opens, reading fails
    data = demo_store.read_bytes()
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(data[: len(data) // 2])
    rc, out = _validate(cut, capsys)
    assert rc != 0 and "Traceback" not in out
    assert f"data source {cut}: cannot be read" in out and "truncated or corrupt" in out


def test_a_corrupt_duckdb_file_is_a_clear_error(tmp_path, capsys):
    good = tmp_path / "good.duckdb"
    _store(good, 50_000)
    data = bytearray(good.read_bytes())
    data[12288:12288 + 65536] = bytes(range(256)) * 256
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(bytes(data))
    rc, out = _validate(bad, capsys)
    assert rc != 0 and "Traceback" not in out and str(bad) in out


def test_validate_never_prints_a_resolved_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REVIEW_TEST_SECRET", "s3cr3t-token-value")
    folder = tmp_path / "s3cr3t-token-value"
    folder.mkdir()
    (folder / "store.duckdb").write_text("not a database")
    rc, out = _validate(str(tmp_path / "${REVIEW_TEST_SECRET}" / "store.duckdb"), capsys)
    assert rc != 0 and "Traceback" not in out
    assert "s3cr3t-token-value" not in out
    assert "${REVIEW_TEST_SECRET}" in out

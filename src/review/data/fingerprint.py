"""Fingerprints of a data source and its tables (built on :mod:`review.core.fingerprint`).

Schemes
-------
* **DuckDB file** (the default source): the SHA-256 of the file's bytes (and of its ``.wal``
  when one is pending), memoised under the file's stat signature (see
  :func:`review.core.fingerprint.file_digest`).
* **Folder of Parquet/CSV files**: the same per file, combined over the sorted relative paths
  of every non-hidden file.
* **Engine URL** (``postgres://…``, ``pyspark://…``): per contract table present, the row count
  and two order-independent checksums computed *in the engine* through Ibis: the XOR and the
  sum (mod 1,000,003) of a hash of each whole row (``hash(struct(all columns))``). One scan
  per table; nothing but three numbers per table leaves the engine. Checksums are
  engine-specific (each engine has its own hash function) but stable on one engine.
* **Per-table fingerprints** (for the manifest and the report's provenance appendix): the
  engine scheme above for every source, memoised under the source's fingerprint for local
  sources, so each data version is scanned once.

``${ENV_VAR}`` references in a source are resolved here only to find the file; resolved paths
are never written: memo files are named by a hash of the path.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from review.core.files import atomic_write_json, read_json
from review.core.fingerprint import digest_json, file_digest, folder_digests
from review.errors import DataSourceError

_CHECKSUM_MODULUS = 1_000_003


def local_source_path(source: str, *, base_dir: Path | None = None) -> Path | None:
    """The file or folder a local source points at (``${VAR}`` resolved), ``None`` for URLs.

    ``duckdb://path`` counts as local. Relative paths are anchored at ``base_dir``.
    """
    # imported here: review.data.connect's engines load only when a source is opened
    from review.data.connect import is_url, resolve_env, resolve_path

    if is_url(source):
        scheme, rest = source.split("://", 1)
        if scheme.lower() != "duckdb":
            return None
        source = rest
    return resolve_path(resolve_env(source), base_dir)


def source_fingerprint(source: str, *, memo_dir: Path | None = None,
                       base_dir: Path | None = None) -> str:
    """The fingerprint of a whole data source (see the module docstring for the schemes).

    Raises
    ------
    DataSourceError
        The source is empty, the local file or folder does not exist, or an engine cannot
        be reached.
    """
    if not source.strip():
        raise DataSourceError("data source is empty; set `source` in the params file")
    path = local_source_path(source, base_dir=base_dir)
    if path is None:
        from review.data.connect import connect

        con = connect(source, base_dir=base_dir)
        try:
            return digest_json({"engine": engine_table_checksums(con)})
        finally:
            _disconnect(con)
    if path.is_file():
        parts = {"file": file_digest(path, memo_dir=memo_dir)}
        wal = path.with_name(path.name + ".wal")  # DuckDB's pending write-ahead log
        if wal.is_file():
            parts["wal"] = file_digest(wal, memo_dir=memo_dir)
        return digest_json(parts)
    if path.is_dir():
        return digest_json({"folder": folder_digests(path, memo_dir=memo_dir)})
    raise DataSourceError(
        f"data source {source!r} not found; build the demo store with `review demo-data` "
        "or point `source` at a DuckDB file, a folder of Parquet/CSV files or an engine URL"
    )


def row_hash(t: Any) -> Any:
    """Engine expression: a 64-bit hash of each whole row of Ibis table ``t``."""
    import ibis

    return ibis.struct({c: t[c] for c in t.columns}).hash()


def row_checksum(t: Any) -> Any:
    """Engine expression: :func:`row_hash` reduced mod 1,000,003 (sum it over rows)."""
    return row_hash(t) % _CHECKSUM_MODULUS


def engine_table_checksums(con: Any, tables: list[str] | None = None) -> dict[str, dict]:
    """Row count and row-hash checksums of each table, computed in the engine through Ibis.

    Parameters
    ----------
    con
        An Ibis backend (from :func:`review.data.connect`).
    tables
        Table names to fingerprint; default: the contract tables the source has.

    Returns
    -------
    dict
        ``{table: {"rows": int, "xor": int, "sum": int}}`` sorted by table name, where
        ``xor`` is the bitwise XOR and ``sum`` the sum modulo-reduced per row
        (``hash % 1,000,003``) of a 64-bit hash of each whole row. Both are independent of
        row order; the sum also catches duplicated rows, which cancel out in the XOR.
    """
    from review.data.contract import TABLES
    from review.data.validate import present_tables  # list_tables() breaks on duckdb 2.0

    present = present_tables(con)
    names = sorted(n for n in (tables if tables is not None else TABLES) if n in present)
    out: dict[str, dict] = {}
    for name in names:
        t = con.table(name)
        expr = t.aggregate(rows=t.count(), xor=row_hash(t).bit_xor(),
                           sum=row_checksum(t).sum())
        row = expr.to_pandas().iloc[0]
        out[name] = {k: (0 if _isna(row[k]) else int(row[k])) for k in ("rows", "xor", "sum")}
    return out


def _isna(v: Any) -> bool:
    return v is None or v != v  # NaN is the only value not equal to itself


def _disconnect(con: Any) -> None:
    with contextlib.suppress(Exception):  # no disconnect, or already closed: nothing to release
        con.disconnect()


def table_fingerprints(source: str, *, source_fp: str | None = None,
                       memo_dir: Path | None = None, base_dir: Path | None = None,
                       con: Any = None) -> dict[str, dict]:
    """Per-table fingerprints of ``source`` for the manifest (rows and checksums).

    When ``source_fp`` (the source's fingerprint) and ``memo_dir`` are given, the result is
    memoised under ``source_fp``, so each version of the data is scanned once. ``con``: an
    open connection to ``source`` to scan through (default: one is opened and closed).
    """
    memo = None
    if source_fp and memo_dir is not None:
        memo = Path(memo_dir) / f"tables-{source_fp.split(':', 1)[-1][:32]}.json"
        cached = read_json(memo)
        if isinstance(cached, dict):
            return cached
    if con is not None:
        tables = engine_table_checksums(con)
    else:
        from review.data.connect import connect

        own = connect(source, base_dir=base_dir)
        try:
            tables = engine_table_checksums(own)
        finally:
            _disconnect(own)
    if memo is not None:
        atomic_write_json(memo, tables)
    return tables

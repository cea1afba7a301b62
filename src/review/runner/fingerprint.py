"""Fingerprints of a run's inputs: the data source, its tables, the ``review`` code, notebooks.

A fingerprint is a short, stable text (``sha256:<hex>``) that changes whenever the input
changes. The runner compares them with the previous run's manifest to skip unchanged periods,
and the metrics cache (:mod:`review.cache`) keys on them.

Schemes
-------
* **DuckDB file** (the default source): the SHA-256 of the file's bytes (and of its ``.wal``
  when one is pending), streamed in 1 MiB blocks. The digest is memoised next to the cache
  under the file's ``(size, mtime_ns, ctime_ns, inode)``, like git's index: a rewrite changes
  at least one of them (``ctime`` cannot be set back by users), so a rerun stats the file
  instead of reading it. A file modified within the last 2 s is never memoised (a write in
  the same clock tick could go unnoticed: git's "racy" case).
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
* **Code**: the SHA-256 over the relative paths and bytes of every file of the ``review``
  package (``*.py`` plus package data: i18n catalogs, templates and assets also shape the
  report) and the package version.
* **Notebooks**: the SHA-256 of what determines a run: each cell's type, source and metadata
  (minus volatile keys such as ``execution``), not outputs or execution counts, so saving a
  notebook after running it in JupyterLab does not force a rebuild.

``${ENV_VAR}`` references in a source are resolved here only to find the file; resolved paths
are never written: memo files are named by a hash of the path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from review.errors import DataSourceError, RunError

#: The installed ``review`` package; tests point this at a copy to fake a code change.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: A file whose mtime is this close to "now" is hashed but not memoised (racy-git rule).
RACY_SECONDS = 2.0
_BLOCK = 1 << 20
_CHECKSUM_MODULUS = 1_000_003
_VOLATILE_CELL_METADATA = frozenset({"execution", "ExecuteTime", "collapsed", "scrolled",
                                     "papermill"})


# -- small helpers -----------------------------------------------------------------------------
def digest_json(obj: Any) -> str:
    """``sha256:<hex>`` of ``obj`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(obj, sort_keys=True, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- files ---------------------------------------------------------------------------------
def file_digest(path: Path, *, memo_dir: Path | None = None) -> str:
    """``sha256:<hex>`` of a file's bytes, memoised under its stat signature in ``memo_dir``.

    Parameters
    ----------
    path
        The file to hash (read in 1 MiB blocks, never loaded whole).
    memo_dir
        Where memo records live (one small JSON per file, named by a hash of the resolved
        path, so the path itself is never written). ``None``: always read the file.
    """
    path = Path(path)
    st = path.stat()
    signature = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    memo = None
    if memo_dir is not None:
        name = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:32]
        memo = Path(memo_dir) / f"file-{name}.json"
        record = _read_json(memo)
        if isinstance(record, dict) and record.get("signature") == signature:
            return str(record["digest"])
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    digest = "sha256:" + h.hexdigest()
    if memo is not None and time.time_ns() - st.st_mtime_ns > RACY_SECONDS * 1e9:
        _write_json_atomic(memo, {"signature": signature, "digest": digest})
    return digest


def _folder_files(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def local_source_path(source: str, *, base_dir: Path | None = None) -> Path | None:
    """The file or folder a local source points at (``${VAR}`` resolved), ``None`` for URLs.

    ``duckdb://path`` counts as local. Relative paths are anchored at ``base_dir``.
    """
    # imported here: review.data loads Ibis, which `import review.cache` should not need
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
        files = {p.relative_to(path).as_posix(): file_digest(p, memo_dir=memo_dir)
                 for p in _folder_files(path)}
        return digest_json({"folder": files})
    raise DataSourceError(
        f"data source {source!r} not found; build the demo store with `review demo-data` "
        "or point `source` at a DuckDB file, a folder of Parquet/CSV files or an engine URL"
    )


# -- tables (engine side) ---------------------------------------------------------------------
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
    import ibis

    from review.data.contract import TABLES
    from review.data.validate import present_tables  # list_tables() breaks on duckdb 2.0

    present = present_tables(con)
    names = sorted(n for n in (tables if tables is not None else TABLES) if n in present)
    out: dict[str, dict] = {}
    for name in names:
        t = con.table(name)
        row_hash = ibis.struct({c: t[c] for c in t.columns}).hash()
        expr = t.aggregate(rows=t.count(), xor=row_hash.bit_xor(),
                           sum=(row_hash % _CHECKSUM_MODULUS).sum())
        row = expr.to_pandas().iloc[0]
        out[name] = {k: (0 if _isna(row[k]) else int(row[k])) for k in ("rows", "xor", "sum")}
    return out


def _isna(v: Any) -> bool:
    return v is None or v != v  # NaN is the only value not equal to itself


def _disconnect(con: Any) -> None:
    with contextlib.suppress(Exception):  # no disconnect, or already closed: nothing to release
        con.disconnect()


def table_fingerprints(source: str, *, source_fp: str | None = None,
                       memo_dir: Path | None = None,
                       base_dir: Path | None = None) -> dict[str, dict]:
    """Per-table fingerprints of ``source`` for the manifest (rows and checksums).

    When ``source_fp`` (the source's fingerprint) and ``memo_dir`` are given, the result is
    memoised under ``source_fp``, so each version of the data is scanned once.
    """
    memo = None
    if source_fp and memo_dir is not None:
        memo = Path(memo_dir) / f"tables-{source_fp.split(':', 1)[-1][:32]}.json"
        cached = _read_json(memo)
        if isinstance(cached, dict):
            return cached
    from review.data.connect import connect

    con = connect(source, base_dir=base_dir)
    try:
        tables = engine_table_checksums(con)
    finally:
        _disconnect(con)
    if memo is not None:
        _write_json_atomic(memo, tables)
    return tables


# -- code and notebooks -----------------------------------------------------------------------
def code_hash(package_dir: Path | None = None) -> str:
    """Fingerprint of the ``review`` package: every file's relative path and bytes + version.

    ``__pycache__`` folders and compiled files are left out. ``package_dir`` defaults to
    :data:`PACKAGE_DIR` (read at call time, so tests can point it at a copy).
    """
    from review import __version__

    root = Path(package_dir or PACKAGE_DIR)
    h = hashlib.sha256(f"review {__version__}\n".encode())
    for p in _folder_files(root):
        rel = p.relative_to(root)
        if "__pycache__" in rel.parts or p.suffix in (".pyc", ".pyo"):
            continue
        h.update(rel.as_posix().encode("utf-8") + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def notebook_hash(path: Path) -> str:
    """Fingerprint of what a notebook runs: cells' type, source and stable metadata.

    Outputs, execution counts and volatile metadata (``execution``, ``collapsed``…) are left
    out, so re-saving an executed notebook does not change it.
    """
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the notebook ({exc}); is it a valid .ipynb?") from None
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        meta = {k: v for k, v in cell.get("metadata", {}).items()
                if k not in _VOLATILE_CELL_METADATA}
        cells.append({"type": cell.get("cell_type"),
                      "source": "".join(source) if isinstance(source, list) else source,
                      "metadata": meta})
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("language")
    return digest_json({"cells": cells, "language": kernel, "nbformat": nb.get("nbformat")})


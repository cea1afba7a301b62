"""Fingerprints: short, stable texts (``sha256:<hex>``) that change whenever their input does.

* :func:`digest_json`: any JSON-able value, as canonical JSON.
* :func:`file_digest`: a file's bytes, streamed in 1 MiB blocks and memoised under its
  ``(size, mtime_ns, ctime_ns, inode)`` like git's index: a rewrite changes at least one of
  them (``ctime`` cannot be set back by users), so a rerun stats the file instead of reading
  it. A file modified within the last 2 s is never memoised (git's "racy" case).
* :func:`folder_digests`: the same per file of a folder (hidden files left out).
* :func:`code_hash`: the ``review`` package's files (all of them, or the subset a cache
  depends on: see :data:`METRICS_CODE`) and its version.

The data-source fingerprints built on these live in :mod:`review.data.fingerprint`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from review.core.environment import VERSION
from review.core.files import atomic_write_json, canonical_json, read_json

#: The installed ``review`` package; tests point this at a copy to fake a code change.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: A file whose mtime is this close to "now" is hashed but not memoised (racy-git rule).
RACY_SECONDS = 2.0
#: The parts of the package the computed KPIs depend on (paths relative to the package):
#: data access, the contract and validation, the metric families, statistics, parameters and
#: the KPI catalog, plus this bottom layer. Report text, templates, charts and the runner are
#: left out, so editing them re-renders reports without recomputing any KPI.
METRICS_CODE: tuple[str, ...] = (
    "core", "data", "metrics", "stats.py", "config.py", "kpis.py", "cache.py", "errors.py",
    "secrets.py", "paths.py",
)
_BLOCK = 1 << 20


def digest_json(obj: Any) -> str:
    """``sha256:<hex>`` of ``obj`` as canonical JSON (sorted keys, no whitespace)."""
    return "sha256:" + hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


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
        record = read_json(memo)
        if isinstance(record, dict) and record.get("signature") == signature:
            return str(record["digest"])
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    digest = "sha256:" + h.hexdigest()
    if memo is not None and time.time_ns() - st.st_mtime_ns > RACY_SECONDS * 1e9:
        atomic_write_json(memo, {"signature": signature, "digest": digest})
    return digest


def folder_files(folder: Path) -> list[Path]:
    """Every non-hidden file under ``folder``, sorted by relative path."""
    folder = Path(folder)
    files = [p for p in folder.rglob("*") if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def folder_digests(folder: Path, *, memo_dir: Path | None = None) -> dict[str, str]:
    """``{relative path: file_digest}`` of every non-hidden file under ``folder``."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): file_digest(p, memo_dir=memo_dir)
            for p in folder_files(folder)}


def code_hash(package_dir: Path | None = None, *, parts: Sequence[str] | None = None) -> str:
    """Fingerprint of the ``review`` package: files' relative paths and bytes + version.

    Parameters
    ----------
    package_dir
        The package folder; default :data:`PACKAGE_DIR` (read at call time, so tests can
        point it at a copy).
    parts
        Only these files and folders (relative to the package, e.g. :data:`METRICS_CODE`);
        default every file. ``__pycache__`` folders and compiled files never count.
    """
    root = Path(package_dir or PACKAGE_DIR)
    h = hashlib.sha256(f"review {VERSION}\n".encode())
    for p in folder_files(root):
        rel = p.relative_to(root)
        if "__pycache__" in rel.parts or p.suffix in (".pyc", ".pyo"):
            continue
        if parts is not None and not any(rel.as_posix() == q or rel.parts[0] == q
                                         for q in parts):
            continue
        h.update(rel.as_posix().encode("utf-8") + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def metrics_code_hash(package_dir: Path | None = None) -> str:
    """:func:`code_hash` of the code the KPIs depend on (:data:`METRICS_CODE`)."""
    return code_hash(package_dir, parts=METRICS_CODE)

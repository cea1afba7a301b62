"""Atomic writes and canonical JSON: one copy for every writer of the package.

Every file or folder the workbook writes appears whole or not at all: it is written under a
hidden temporary sibling name, then renamed over the target (a rename within one folder is
atomic on POSIX and Windows). On any error the temporary is removed and the target is left
as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def canonical_json(obj: Any) -> str:
    """``obj`` as canonical JSON: sorted keys, no whitespace, UTF-8 kept (hash input)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def pretty_json(obj: Any) -> str:
    """``obj`` as deterministic, readable JSON: sorted keys, 2-space indent, final newline."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name next to ``path`` (same folder: the final rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def remove_path(path: Path) -> None:
    """Remove a file, a folder tree or a DuckDB store with its ``.wal``; absent is fine."""
    path = Path(path)
    for p in (path, path.with_name(path.name + ".wal")):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to write (a file, a folder or a DuckDB store);
    on success rename it over ``target``, on error remove it and leave ``target`` untouched.

    A folder can only replace a missing (or empty) folder: :class:`OSError` otherwise.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        remove_path(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating the parent folders."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as :func:`pretty_json` to ``path`` atomically."""
    atomic_write_text(path, pretty_json(obj))


def read_json(path: Path) -> Any:
    """The JSON content of ``path``, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

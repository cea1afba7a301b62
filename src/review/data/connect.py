"""Open a data source as an Ibis connection: one function, whatever the engine.

Sources
-------
* a DuckDB file (``data/demo.duckdb``): the embedded default, opened read-only;
* a folder of Parquet or CSV files named after the tables (``users.parquet``, ``events.csv``,
  or a sub-folder ``events/*.parquet``), exposed as views of an in-memory DuckDB;
* any Ibis backend URL (``postgres://user:${PGPASSWORD}@host/db``, ``trino://…``,
  ``pyspark://local[2]?database=bank``).

Credentials are written as ``${ENV_VAR}`` references and resolved here, at connect time; the
resolved string is never returned, logged or stored.

Memory: a DuckDB connection (file or folder) runs with a memory limit and spills to a
temporary folder beyond it (:func:`duckdb_config`): ``$REVIEW_DUCKDB_MEMORY_LIMIT`` (a DuckDB
size such as ``4GB``; default a quarter of the machine's memory, at most 1 GiB: with the daily
rollups a month at 2M customers fits in it, and several batch workers side by side stay
bounded) and
``$REVIEW_DUCKDB_TEMP_DIR`` (default ``<system temp>/review-duckdb``; one sub-folder per
DuckDB instance). A local source's daily rollups (:mod:`review.data.rollup`) are attached
when they are current.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from review import paths
from review.errors import DataSourceError
from review.secrets import has_env_refs, redact, resolve_env

if TYPE_CHECKING:  # ibis is imported when a source is opened, not when this module is
    import ibis
    from ibis.backends import BaseBackend

DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")
#: Default DuckDB memory limit: this share of the machine's memory, capped (beyond it DuckDB
#: spills to the temp folder; benchmarks/bench_scale.py measures the cost).
MEMORY_SHARE, MEMORY_CAP, MEMORY_FLOOR = 0.25, 2**30, 512 * 2**20


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier: in double quotes, inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def is_url(source: str) -> bool:
    return "://" in source


def resolve_path(source: str | Path, base_dir: Path | None = None) -> Path:
    """A local source path, relative paths anchored at the project (``review.paths``), not
    the CWD."""
    p = Path(source).expanduser()
    return p if p.is_absolute() else (base_dir or paths.PROJECT_ROOT) / p


def duckdb_config(memory_limit: str | None = None, temp_dir: str | Path | None = None, *,
                  database: Path | None = None) -> dict[str, str]:
    """DuckDB settings of every connection :func:`connect` opens: ``memory_limit`` and
    ``temp_directory`` (arguments, else the environment variables of the module docstring,
    else a quarter of the machine's memory capped at 1 GiB and ``<system temp>/review-duckdb``).

    DuckDB names its spill files the same in every instance and removes the spill folder when
    the instance closes, so each instance gets its own sub-folder: per process and
    ``database`` file (connections to one file in one process share an instance, which
    DuckDB allows only with identical settings), or a new one for an in-memory database.
    """
    limit = memory_limit or os.environ.get("REVIEW_DUCKDB_MEMORY_LIMIT") or _default_limit()
    base = Path(temp_dir or os.environ.get("REVIEW_DUCKDB_TEMP_DIR")
                or Path(tempfile.gettempdir()) / "review-duckdb")
    base.mkdir(parents=True, exist_ok=True)  # DuckDB creates only the last level
    key = (hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:12]
           if database is not None else uuid.uuid4().hex[:12])
    temp = base / f"{os.getpid()}-{key}"
    return {"memory_limit": str(limit), "temp_directory": str(temp)}


def apply_duckdb_settings(con: BaseBackend, settings: dict[str, str]) -> None:
    """Apply :func:`duckdb_config` settings with ``SET`` after opening, not as connect-time
    configuration: DuckDB lets a process open a file twice only with identical connect-time
    configuration, so a plain ``duckdb.connect(path, read_only=True)`` elsewhere in the same
    process (a test, an analyst's notebook) must still be able to share the instance.
    """
    for name, value in settings.items():
        con.raw_sql("SET {} = '{}'".format(name, value.replace("'", "''")))


def _default_limit() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: let DuckDB decide
        total = 2 * MEMORY_CAP
    return f"{max(MEMORY_FLOOR, min(MEMORY_CAP, int(total * MEMORY_SHARE))) // 2**20}MB"


def connect(source: str | Path, *, base_dir: Path | None = None,
            rollups: bool = True) -> BaseBackend:
    """Open ``source`` and return an Ibis backend whose tables follow the data contract.

    Parameters
    ----------
    source
        A DuckDB file, a folder of Parquet/CSV files, or an Ibis URL (see module docstring).
    base_dir
        Where relative paths are anchored; the project (``review.paths``) by default.
    rollups
        Attach the source's daily rollups when they are current (local sources only).
    """
    import ibis

    source = str(source)
    if is_url(source):
        return _connect_url(source, rollups)
    path = resolve_path(resolve_env(source), base_dir)
    if path.is_dir():
        return _with_rollups(_connect_folder(path), path, rollups)
    if path.is_file():
        try:
            con = ibis.duckdb.connect(str(path), read_only=True)
            apply_duckdb_settings(con, duckdb_config(database=path))
        except Exception as exc:  # duckdb raises its own IOException family
            raise DataSourceError(f"{path}: cannot open as a DuckDB database ({exc})") from None
        return _with_rollups(con, path, rollups)
    where = "" if has_env_refs(source) else f" (looked for {path})"  # never show a secret
    raise DataSourceError(
        f"data source {source!r} not found{where}; "
        "build the demo store with `review demo-data` or give a folder/URL"
    )


def _with_rollups(con: BaseBackend, path: Path, rollups: bool) -> BaseBackend:
    if rollups:
        from review.data.rollup import attach  # imports nothing heavy; avoids a cycle

        attach(con, path)
    return con


def _connect_url(source: str, rollups: bool = True) -> BaseBackend:
    scheme = source.split("://", 1)[0].lower()
    if scheme == "pyspark":
        from review.data.spark import connect_spark  # optional dependency: pyspark

        return connect_spark(resolve_env(source))
    if scheme == "duckdb":
        return connect(source.split("://", 1)[1], rollups=rollups)
    import ibis

    try:
        return ibis.connect(resolve_env(source))
    except DataSourceError:
        raise
    except Exception as exc:
        # never echo the resolved URL: it may carry a password
        raise DataSourceError(
            f"cannot connect to {redact(source)} ({type(exc).__name__}); check the URL, the "
            "engine's Ibis extra and the credentials' environment variables"
        ) from None


def _connect_folder(folder: Path) -> BaseBackend:
    import ibis

    con = ibis.duckdb.connect(**duckdb_config())
    found = 0
    for entry in sorted(folder.iterdir()):
        name, kind = _table_file(entry)
        if name is None:
            continue
        try:
            if kind == "parquet":
                target = str(entry / "*.parquet") if entry.is_dir() else str(entry)
                con.read_parquet(target, table_name=name)
            else:
                _read_csv(con, entry, name)
        except DataSourceError:
            raise
        except Exception as exc:
            raise DataSourceError(f"{entry}: cannot read table {name!r} ({exc})") from None
        found += 1
    if not found:
        raise DataSourceError(f"{folder}: no Parquet or CSV table files found")
    return con


def _read_csv(con: BaseBackend, entry: Path, name: str) -> None:
    """Register CSV ``entry`` as table ``name``; an unreadable file is named with its problem."""
    from review.data import csvcheck

    if entry.stat().st_size == 0:
        raise DataSourceError(f"{entry}: table {name!r}: {csvcheck.diagnose(entry)}")
    try:
        columns = con.read_csv(str(entry), table_name=name).columns
    except Exception as exc:
        why = csvcheck.diagnose(entry) or f"not readable as CSV: {csvcheck.first_line(exc)}"
        raise DataSourceError(f"{entry}: table {name!r}: {why}") from None
    if csvcheck.single_column_fallback(list(columns)):
        why = csvcheck.diagnose(entry) or "the columns could not be told apart (no delimiter)"
        raise DataSourceError(f"{entry}: table {name!r}: {why}")


def _table_file(entry: Path) -> tuple[str | None, str]:
    if entry.is_dir():
        return (entry.name, "parquet") if any(entry.glob("*.parquet")) else (None, "")
    if entry.suffix == ".parquet":
        return entry.stem, "parquet"
    if entry.suffix == ".csv":
        return entry.stem, "csv"
    return None, ""


def available_tables(con: BaseBackend) -> set[str]:
    """Names of the tables (and views) the connection exposes."""
    return set(con.list_tables())


def table(con: BaseBackend, name: str) -> ibis.Table:
    """An Ibis table expression for contract table ``name``; a clear error if it is missing."""
    if name not in available_tables(con):
        raise DataSourceError(f"table {name!r} is missing from the data source")
    return con.table(name)

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
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from review.errors import DataSourceError
from review.paths import PROJECT_ROOT
from review.secrets import has_env_refs, redact, resolve_env

if TYPE_CHECKING:  # ibis is imported when a source is opened, not when this module is
    import ibis
    from ibis.backends import BaseBackend

DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


def is_url(source: str) -> bool:
    return "://" in source


def resolve_path(source: str | Path, base_dir: Path = PROJECT_ROOT) -> Path:
    """A local source path, relative paths anchored at the project root (not the CWD)."""
    p = Path(source).expanduser()
    return p if p.is_absolute() else base_dir / p


def connect(source: str | Path, *, base_dir: Path = PROJECT_ROOT) -> BaseBackend:
    """Open ``source`` and return an Ibis backend whose tables follow the data contract.

    Parameters
    ----------
    source
        A DuckDB file, a folder of Parquet/CSV files, or an Ibis URL (see module docstring).
    base_dir
        Where relative paths are anchored; the project root by default.
    """
    import ibis

    source = str(source)
    if is_url(source):
        return _connect_url(source)
    path = resolve_path(resolve_env(source), base_dir)
    if path.is_dir():
        return _connect_folder(path)
    if path.is_file():
        try:
            return ibis.duckdb.connect(str(path), read_only=True)
        except Exception as exc:  # duckdb raises its own IOException family
            raise DataSourceError(f"{path}: cannot open as a DuckDB database ({exc})") from None
    where = "" if has_env_refs(source) else f" (looked for {path})"  # never show a secret
    raise DataSourceError(
        f"data source {source!r} not found{where}; "
        "build the demo store with `review demo-data` or give a folder/URL"
    )


def _connect_url(source: str) -> BaseBackend:
    scheme = source.split("://", 1)[0].lower()
    if scheme == "pyspark":
        from review.data.spark import connect_spark  # optional dependency: pyspark

        return connect_spark(resolve_env(source))
    if scheme == "duckdb":
        return connect(source.split("://", 1)[1])
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

    con = ibis.duckdb.connect()
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

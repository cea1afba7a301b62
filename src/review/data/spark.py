"""Apache Spark as an engine: ``pyspark://`` URLs opened as an Ibis ``pyspark`` backend.

:func:`review.data.connect` hands every ``pyspark://`` source to :func:`connect_spark`, so the
same metric and validation code that runs on DuckDB runs on a Spark cluster or a Hive
warehouse. :func:`export_parquet` writes a DuckDB store as Parquet files, so that both engines
can be given exactly the same data (tests, ``benchmarks/bench_engines.py``).

URL form
--------
``pyspark://<master>?<key>=<value>&…``

``<master>``
    A Spark master URL, taken verbatim: ``local[2]``, ``local[*]``, ``spark://host:7077``,
    ``yarn``, ``k8s://https://host:6443``. Empty (``pyspark://?database=bank``) means "whatever
    the running session or ``spark-submit`` says", else ``local[*]``.
``database=<name>``
    Read the contract tables from this Spark/Hive database (``catalog.database`` also works).
    For a Hive metastore the session needs Hive support: run under ``spark-submit`` with the
    cluster's ``spark-defaults.conf``, or add ``conf.spark.sql.catalogImplementation=hive``.
``parquet=<folder>``
    Register each ``<table>.parquet`` file, or ``<table>/`` folder of Parquet files (Spark
    part files and ``key=value`` partition folders included), of ``<folder>`` as a temporary
    view named after the table. Give ``database`` or ``parquet``, not both; with neither,
    the session's current database is used.
``tz=<zone>``
    The bank's local time zone (default ``Asia/Shanghai``): the session time zone, and the
    JVM default time zone of a session this module starts.
``conf.<spark key>=<value>``
    Any Spark configuration, e.g. ``conf.spark.executor.memory=4g``. It overrides the
    defaults below.
``app=<name>``
    The application name shown by the cluster manager (default ``campaign-review``).
``cache=true``
    Cache the contract tables in executor memory (Spark ``CACHE TABLE``, filled by the first
    query that reads them). A period's KPI set scans ``events`` dozens of times; on small or
    local data this halves the time. Leave it off when the tables do not fit in memory.

Examples::

    pyspark://local[2]?parquet=/data/bank_export
    pyspark://local[2]?database=bank
    pyspark://spark://host:7077?database=bank&conf.spark.executor.memory=4g
    pyspark://yarn?database=dw.bank&conf.spark.sql.catalogImplementation=hive

Credentials appear only as ``${ENV_VAR}`` references in the URL; :func:`review.data.connect`
resolves them before calling :func:`connect_spark`, and nothing here logs the URL.

Sessions
--------
If a ``SparkSession`` is active (a notebook on a cluster, ``spark-submit``, a test fixture) it
is reused: no second JVM is started. Every connection gets its own child session of it
(``SparkSession.newSession``): the JVM, executors and cache are shared, but SQL settings and
temporary views are private, so two connections over two Parquet folders never read each
other's views, and the caller's own session settings are left untouched. Settings that only a
starting JVM can take (``spark.executor.memory``, ``spark.driver.extraJavaOptions``…) cannot
be applied to a running session; they are reported with a ``RuntimeWarning``.

Time stamps
-----------
The data contract's timestamps are naive wall-clock times of the bank. DuckDB writes them to
Parquet as ``TIMESTAMP(isAdjustedToUTC=false)``. Spark reads such a column as
``TIMESTAMP_NTZ`` (``spark.sql.parquet.inferTimestampNTZ.enabled=true``; with ``false`` it
reads it as an instant in UTC and shows it shifted by the session offset, +8 h in Shanghai).
``spark.sql.timestampType=TIMESTAMP_NTZ`` makes the timestamp literals and casts that Ibis
generates naive too, so ``epoch_seconds()`` counts wall-clock seconds as DuckDB does (with the
default ``TIMESTAMP_LTZ`` Spark subtracts the session offset: 8 h less in Shanghai). The
session time zone (``tz``) still matters for warehouse columns of type ``TIMESTAMP``
(``TIMESTAMP_LTZ``, the Hive default): those are instants and are shown, compared and cut
into dates in the session time zone, which must therefore be the zone the bank's clock
values were written in. Ibis itself pins the session time zone to UTC on connect; it is set
back to ``tz`` here. The JVM default zone (``-Duser.timezone``) is pinned as well so that
legacy code paths (Hive SerDes, ``java.sql.Timestamp`` conversions) agree with the session.

SQL generation
--------------
Connections compile with :func:`spark_compiler`, Ibis' PySpark SQL compiler with three fixes
(set on the connection only, other Ibis backends are untouched), so that
the shared metric code gives DuckDB's numbers (each one is shown in
``tests/spark/test_spark_traps.py``):

* ``t.count(where=c)`` is ``COUNT_IF(c)``, not ``SUM(CAST(c AS BIGINT))``: on no rows the
  latter is NULL where DuckDB (and Ibis' meaning) gives 0.
* ``x.median(where=c)`` filters ``x`` only; Ibis also wraps the constant 0.5 in ``IF(c, …)``,
  which Spark rejects (``DATATYPE_MISMATCH.NON_FOLDABLE_INPUT``).
* A float literal is a ``DOUBLE``: Spark reads ``3600.0`` as ``DECIMAL(5,1)``, so an integer
  divided by it is a decimal rounded to 6 places where DuckDB gives a double.

Defaults for a session started here: ``spark.sql.shuffle.partitions=4`` on a ``local``
master (for every connection, once the master is known) (Spark's 200 would make every small query run 200 tasks), the web UI and the console
progress bar off, log level ``ERROR``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb
import ibis
from ibis.backends import BaseBackend

from review.core.files import atomic_write_text
from review.data.contract import TABLES
from review.errors import DataSourceError

__all__ = [
    "SparkSource",
    "connect_spark",
    "export_parquet",
    "parse_spark_url",
    "spark_compiler",
    "spark_conf",
]

SCHEME = "pyspark://"
DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_APP = "campaign-review"
LOCAL_SHUFFLE_PARTITIONS = "4"
_KEYS = ("database", "parquet", "tz", "app", "cache")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: log4j2 configuration of a JVM started here: quiet start-up, to stderr
_LOG4J2 = """\
# warn, not error: Spark prints "Setting default log level" when the root level differs
# from the shell's (WARN); the session lowers it to ERROR once started (setLogLevel)
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
"""
#: where a JVM started here reads its log4j2 configuration (content-named, in the temp dir)
LOG4J2_PATH = str(Path(tempfile.gettempdir()) / (
    "review-spark-log4j2-" + hashlib.sha1(_LOG4J2.encode()).hexdigest()[:10] + ".properties"))


@dataclass(frozen=True)
class SparkSource:
    """A parsed ``pyspark://`` URL (see the module docstring for each field's meaning)."""

    master: str | None = None
    database: str | None = None
    parquet: Path | None = None
    tz: str = DEFAULT_TZ
    app: str = DEFAULT_APP
    cache: bool = False
    #: ``conf.*`` query parameters, key without the ``conf.`` prefix
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        """The URL names a ``local`` master (no master: not known until the session runs)."""
        return self.master is not None and self.master.startswith("local")


def parse_spark_url(url: str) -> SparkSource:
    """Parse ``pyspark://<master>?<key>=<value>&…`` into a :class:`SparkSource`.

    Raises :class:`DataSourceError` for another scheme, an unknown or repeated key, an empty
    value, or ``database`` and ``parquet`` given together. Percent-escapes are decoded
    (``%26`` for ``&`` in a path, ``%20`` for a space); ``+`` stays a plus, as Java options
    such as ``-XX:+UseG1GC`` need.
    """
    if not url.lower().startswith(SCHEME):
        raise DataSourceError(f"not a Spark source: expected a URL starting with {SCHEME!r}")
    rest = url[len(SCHEME):]
    master, _, query = rest.partition("?")
    values: dict[str, str] = {}
    conf: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        key, _, value = (unquote(x) for x in part.partition("="))
        if not value:
            raise DataSourceError(f"Spark source: parameter {key!r} has no value ({key}=…)")
        if key.startswith("conf."):
            target, name = conf, key[len("conf."):]
        elif key in _KEYS:
            target, name = values, key
        else:
            raise DataSourceError(
                f"Spark source: unknown parameter {key!r}; allowed: {', '.join(_KEYS)} "
                "and conf.<spark key>"
            )
        if name in target:
            raise DataSourceError(f"Spark source: parameter {key!r} is given twice")
        target[name] = value
    if "database" in values and "parquet" in values:
        raise DataSourceError(
            "Spark source: give either database=… (tables of a Spark/Hive database) or "
            "parquet=… (a folder of Parquet files), not both"
        )
    cache = values.get("cache", "false").lower()
    if cache not in _BOOLEANS:
        raise DataSourceError(f"Spark source: cache={values['cache']!r}; use cache=true or "
                              "cache=false")
    return SparkSource(
        master=master or None,
        cache=_BOOLEANS[cache],
        database=values.get("database"),
        parquet=Path(values["parquet"]).expanduser() if "parquet" in values else None,
        tz=values.get("tz", DEFAULT_TZ),
        app=values.get("app", DEFAULT_APP),
        conf=conf,
    )


def spark_conf(source: SparkSource, *, master: str | None = None) -> dict[str, str]:
    """The Spark configuration of ``source``: this module's defaults, then its ``conf.*``.

    ``master`` is the running session's master when the URL names none: the small local
    shuffle-partition count applies only when the master is known to be ``local``.

    ``-Duser.timezone`` is appended to the driver's and executors' ``extraJavaOptions``, and
    the quiet log4j2 configuration to the driver's, unless the URL's own options set them.
    """
    conf = {
        "spark.sql.session.timeZone": source.tz,
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if (source.master or master or "").startswith("local"):
        conf["spark.sql.shuffle.partitions"] = LOCAL_SHUFFLE_PARTITIONS
    conf.update(source.conf)
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        opts = conf.get(key, "")
        if "-Duser.timezone=" not in opts:
            opts = f"{opts} -Duser.timezone={source.tz}"
        if key.startswith("spark.driver") and "-Dlog4j2.configurationFile=" not in opts:
            opts = f"{opts} -Dlog4j2.configurationFile={LOG4J2_PATH}"
        conf[key] = opts.strip()
    return conf


def connect_spark(url: str) -> BaseBackend:
    """Open a ``pyspark://`` URL (module docstring) as an Ibis pyspark backend.

    Parameters
    ----------
    url
        The source URL, ``${ENV_VAR}`` references already resolved.

    Returns
    -------
    BaseBackend
        An Ibis backend whose ``table(name)`` gives the contract tables: the temporary views
        of the Parquet folder, or the tables of the database.

    Raises
    ------
    DataSourceError
        Bad URL, pyspark not installed, Spark cannot start (e.g. no Java), unknown database,
        missing or unreadable Parquet folder.
    """
    source = parse_spark_url(url)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataSourceError(
            "pyspark is not installed: install the 'spark' extra (pip install "
            "'campaign-review[spark]', which pins pyspark>=3.5,<4.1) and Java 17"
        ) from None
    base = SparkSession.getActiveSession()
    if base is None:
        base = _start_session(SparkSession, source, spark_conf(source))
    else:
        _warn_unappliable(base, source)
    session = base.newSession()
    conf = spark_conf(source, master=base.sparkContext.master)
    runtime = {k: v for k, v in conf.items() if session.conf.isModifiable(k)}
    # ibis.pyspark.connect pins the session time zone to UTC, then applies these settings
    con = ibis.pyspark.connect(session, **runtime)
    con.compiler = spark_compiler()  # an instance attribute: other backends keep Ibis' own
    if source.parquet is not None:
        _register_parquet(con, source.parquet)
    elif source.database is not None:
        _use_database(session, source.database)
    if source.cache:
        have = set(con.list_tables())
        for name in (n for n in TABLES if n in have):
            session.catalog.cacheTable(name)
    return con


@functools.cache
def spark_compiler() -> Any:
    """Ibis' PySpark SQL compiler with the fixes of the module docstring (one instance)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.base import NULL
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    class SparkCompiler(PySparkCompiler):
        """PySpark SQL that keeps Ibis' (and DuckDB's) meaning of three operations."""

        def visit_CountStar(self, op, *, arg, where):
            if where is None:
                return super().visit_CountStar(op, arg=arg, where=where)
            return self.f.count_if(where)  # 0, not NULL, when there is no row

        def visit_Median(self, op, *, arg, where):
            if where is not None:
                arg = self.if_(where, arg, NULL)
            return self.f.percentile(arg, 0.5)

        def visit_NonNullLiteral(self, op, *, value, dtype):
            if dtype.is_floating() and math.isfinite(value):
                return self.cast(sge.convert(value), dtype)  # DOUBLE, not DECIMAL
            return super().visit_NonNullLiteral(op, value=value, dtype=dtype)

    return SparkCompiler()


def export_parquet(duckdb_path: str | Path, folder: str | Path) -> dict[str, Path]:
    """Write every table of the DuckDB store ``duckdb_path`` to ``folder/<table>.parquet``.

    Naive ``TIMESTAMP`` columns are written as Parquet ``TIMESTAMP(isAdjustedToUTC=false)``,
    which Spark reads back with the same wall-clock values (see the module docstring).
    Existing files of the same name are replaced; the store is opened read-only.

    Returns
    -------
    dict[str, Path]
        Table name → the Parquet file written, in table-name order.
    """
    duckdb_path, folder = Path(duckdb_path), Path(folder)
    if not duckdb_path.is_file():
        raise DataSourceError(f"{duckdb_path}: DuckDB store not found; nothing to export")
    folder.mkdir(parents=True, exist_ok=True)
    # plain duckdb, not Ibis: ibis 12's DuckDB list_tables() calls
    # DuckDBPyConnection.fetch_arrow_table, which duckdb 2.0 no longer has
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        names = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_name").fetchall()]
        written = {}
        for name in names:
            path = folder / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO ? (FORMAT parquet)", [str(path)])
            written[name] = path
    finally:
        con.close()
    return written


def _start_session(session_cls: Any, source: SparkSource, conf: dict[str, str]) -> Any:
    _write_log4j2()
    builder = session_cls.builder.appName(source.app)
    if source.master:
        builder = builder.master(source.master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j / JVM start-up errors have no common base class
        raise DataSourceError(
            f"cannot start Spark (master {source.master or 'default'}): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
            "check that Java 17 is installed (JAVA_HOME) and the master URL is reachable"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def _warn_unappliable(base: Any, source: SparkSource) -> None:
    """Warn about what the URL asks for that a running session cannot take."""
    running = base.sparkContext.master
    if source.master and source.master != running:
        warnings.warn(
            f"Spark source asks for master {source.master!r} but a session on {running!r} is "
            "already running and is reused; stop it first to change the master",
            RuntimeWarning, stacklevel=3,
        )
    static = sorted(
        k for k, v in source.conf.items()
        if not base.conf.isModifiable(k) and base.sparkContext.getConf().get(k) != v
    )
    if static:
        warnings.warn(
            f"Spark settings {', '.join(static)} only apply when a session starts; the running "
            "session is reused without them (stop it first to apply them)",
            RuntimeWarning, stacklevel=3,
        )


def _register_parquet(con: BaseBackend, folder: Path) -> None:
    if not folder.is_dir():
        raise DataSourceError(f"Spark source: Parquet folder {folder} not found")
    found = 0
    for entry in sorted(folder.iterdir()):
        name = _parquet_table_name(entry)
        if name is None:
            continue
        try:
            con.read_parquet(str(entry), table_name=name)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataSourceError(f"{entry}: cannot read table {name!r} on Spark ({first})"
                                  ) from None
        found += 1
    if not found:
        raise DataSourceError(
            f"{folder}: no Parquet tables found (expected <table>.parquet files or <table>/ "
            "folders of Parquet files)"
        )


def _parquet_table_name(entry: Path) -> str | None:
    """The table an entry of a Parquet folder holds, or ``None`` if it is not one."""
    if entry.is_dir():
        name = entry.name if any(entry.rglob("*.parquet")) else None
    else:
        name = entry.stem if entry.suffix == ".parquet" else None
    return name if name is not None and _IDENTIFIER.fullmatch(name) else None


def _use_database(session: Any, database: str) -> None:
    catalog, _, db = database.rpartition(".")
    try:
        if catalog:
            session.catalog.setCurrentCatalog(catalog)
        exists = session.catalog.databaseExists(db)
    except Exception as exc:
        raise DataSourceError(f"Spark source: cannot open catalog of {database!r} ({exc})"
                              ) from None
    if not exists:
        have = sorted(d.name for d in session.catalog.listDatabases())
        raise DataSourceError(
            f"Spark source: database {database!r} not found; the catalog has: "
            f"{', '.join(have) or '(none)'} (for a Hive metastore add "
            "conf.spark.sql.catalogImplementation=hive or run under spark-submit)"
        )
    session.catalog.setCurrentDatabase(db)


def _write_log4j2() -> None:
    """Write :data:`LOG4J2_PATH` if absent (atomically: several processes may start Spark)."""
    path = Path(LOG4J2_PATH)
    if not path.exists():
        atomic_write_text(path, _LOG4J2)

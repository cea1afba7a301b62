"""Check data-source tables against the data contract, every problem at once.

:func:`validate` runs every check of :data:`review.data.contract.TABLES` *in the engine*
(portable Ibis expressions: the same code runs on DuckDB, Spark or a warehouse). Only counts
and a few example rows come back to Python; the source is never modified.

Rules (``Problem.rule``) and their severity
-------------------------------------------
=================  ========  ==========================================================
rule               severity  meaning
=================  ========  ==========================================================
``missing_table``  warning   a contract table is absent; sections needing it show a note
``unreadable``     error     the engine cannot read the table's schema
``empty_table``    warning   the table has no rows
``missing_column`` error     a required contract column is absent (extra columns are fine)
``type``           error     a column's type is incompatible with the contract's
``not_null``       error     a non-nullable column holds nulls
``left_out``       warning   empty values of a nullable column that leave rows out of some
                             metrics (``users.registered_at``)
``allowed``        error     a coded column holds values outside its closed set
``range``          error     a number below the column's minimum or above its maximum
``primary_key``    error     the primary key repeats
``foreign_key``    error     a value is missing from the referenced table (skipped when
                             that table is absent)
``time_window``    warning   a timestamp/date outside the sane window
=================  ========  ==========================================================

Type compatibility: an integer column is fine where ``float64`` is required, a ``date`` where a
``timestamp`` is required, and an all-null column anywhere; everything else must match the
contract's family (``string``, ``int64``, ``float64``, ``boolean``, ``date``, ``timestamp``).
Value checks are skipped on a column whose type is incompatible (its ``type`` error says why).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.backends import BaseBackend
from ibis.common.exceptions import TableNotFound

from review.data.contract import TABLES, Column, TableSpec, unlocks
from review.errors import ValidationError

Severity = Literal["error", "warning"]

#: Columns whose values identify a person or a record: never shown in the HTML report.
IDENTIFIER_COLUMNS = frozenset({"user_id", "txn_id", "ticket_id", "response_id", "name", "phone"})

#: Default lower bound of the sane time window (the upper bound is now + 1 day).
WINDOW_START = datetime(2000, 1, 1)

#: Offending distinct codes listed in an ``allowed`` problem's message.
MAX_CODES_SHOWN = 10
#: Distinct bad codes fetched per coded column (more: the bad rows are counted in the engine).
MAX_CODE_GROUPS = 1000


@dataclass(frozen=True)
class Problem:
    """One broken rule of the contract in one table (and column).

    ``count`` is the number of offending rows (0 for a missing table or column); ``examples``
    are a few offending rows as plain dicts (JSON-safe values).
    """

    table: str
    column: str | None
    rule: str
    severity: Severity
    count: int
    message: str
    examples: tuple[dict[str, Any], ...] = ()

    @property
    def where(self) -> str:
        """``table.column`` or ``table``."""
        return f"{self.table}.{self.column}" if self.column else self.table


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found by :func:`validate`, with the tables checked and missing."""

    problems: tuple[Problem, ...] = ()
    tables_checked: tuple[str, ...] = ()
    tables_missing: tuple[str, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that stop a run."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems shown in the report's data-quality appendix; the run goes on."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """``True`` when there is no error (warnings are allowed)."""
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: table, column, rule, severity, count, message."""
        cols = ["table", "column", "rule", "severity", "count", "message"]
        rows = [{c: getattr(p, c) for c in cols} for p in self.problems]
        df = pd.DataFrame(rows, columns=cols)
        return df.astype({"count": "int64"})

    def to_records(self, for_report: bool = False) -> list[dict[str, Any]]:
        """The problems as JSON-safe dicts (``examples`` as a list of dicts).

        With ``for_report=True`` (the HTML data-quality appendix) example values of identifier
        or personal columns (:data:`IDENTIFIER_COLUMNS`) and of any column outside the
        contract are dropped; examples left empty are removed.
        """
        out = []
        for p in self.problems:
            examples = [dict(e) for e in p.examples]
            if for_report:
                allowed = _reportable_columns(p.table)
                examples = [{k: v for k, v in e.items() if k in allowed} for e in examples]
                examples = [e for e in examples if e]
            out.append({
                "table": p.table, "column": p.column, "rule": p.rule, "severity": p.severity,
                "count": p.count, "message": p.message, "examples": examples,
            })
        return out

    def format(self, origin: str = "data source") -> str:
        """A human summary for the command line, one block per problem (examples included)."""
        n_err, n_warn = len(self.errors), len(self.warnings)
        head = (f"{origin}: {n_err} error{'s' * (n_err != 1)}, "
                f"{n_warn} warning{'s' * (n_warn != 1)}; "
                f"checked {', '.join(self.tables_checked) or 'no tables'}")
        if self.tables_missing:
            head += f"; missing {', '.join(self.tables_missing)}"
        lines = [head]
        for p in sorted(self.problems, key=lambda p: p.severity != "error"):
            lines.append(f"  {p.severity.upper():7} {p.where} [{p.rule}]: {p.message}")
            lines.extend(f"          e.g. {e}" for e in p.examples)
        return "\n".join(lines)

    def raise_for_errors(self, origin: str = "data source") -> None:
        """Raise :class:`~review.errors.ValidationError` (carrying this report) on any error."""
        if not self.ok:
            raise ValidationError(
                f"{origin} breaks the data contract (src/review/data/contract.py, docs/importing.md); fix the errors below and "
                f"run again\n{self.format(origin)}",
                self,
            )


def _reportable_columns(table: str) -> frozenset[str]:
    spec = TABLES.get(table)
    names = set(spec.column_names) if spec else set()
    return frozenset(names - IDENTIFIER_COLUMNS | {"rows"})


# -- the checks -----------------------------------------------------------------------------
def validate(
    con: BaseBackend,
    *,
    tables: Iterable[str] | None = None,
    window: tuple[datetime, datetime] | None = None,
    max_examples: int = 3,
) -> ValidationReport:
    """Check the contract tables of ``con`` and report every problem at once.

    Parameters
    ----------
    con
        An Ibis backend (from :func:`review.data.connect`); only read, never modified.
    tables
        Contract table names to check (default: all of them). Absent ones are reported as
        ``missing_table`` warnings. Foreign keys are checked against any table present in
        ``con``, checked or not.
    window
        ``(earliest, latest)`` sane instants for time columns; outside → ``time_window``
        warning. Default: 2000-01-01 to now + 1 day.
    max_examples
        Offending example rows kept per problem (0: none, saves a query per problem).

    Returns
    -------
    ValidationReport
        Problems in contract order (table, then check); ``ok`` when there is no error.
    """
    names = list(TABLES) if tables is None else list(dict.fromkeys(tables))
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise ValueError(f"not contract tables: {unknown}; contract tables: {list(TABLES)}")
    lo, hi = window or (WINDOW_START, datetime.now() + timedelta(days=1))
    present = present_tables(con)
    problems: list[Problem] = []
    checked, missing = [], []
    for name in names:
        if name not in present:
            missing.append(name)
            problems.append(_missing_table(name))
            continue
        checked.append(name)
        problems.extend(_check_table(con, TABLES[name], present, lo, hi, max_examples))
    return ValidationReport(tuple(problems), tuple(checked), tuple(missing))


def present_tables(con: BaseBackend) -> set[str]:
    """Contract tables that ``con`` exposes.

    Asks ``con.list_tables()``; when the backend cannot list (ibis 12's DuckDB backend on
    duckdb 2.0 calls the removed ``DuckDBPyConnection.fetch_arrow_table``), probes
    ``con.table(name)`` for each contract table instead. A table that exists but cannot be read
    counts as present; :func:`validate` then reports it as ``unreadable``.
    """
    try:
        return set(con.list_tables()) & set(TABLES)
    except Exception:
        pass
    found = set()
    for name in TABLES:
        try:
            con.table(name)
        except TableNotFound:
            continue
        except Exception:
            pass
        found.add(name)
    return found


def _missing_table(name: str) -> Problem:
    sections = unlocks(name)
    note = "the report parts that need it will show a 'not available' note"
    if sections:
        note += f"; adding it would unlock the sections {', '.join(sections)}"
    return Problem(name, None, "missing_table", "warning", 0,
                   f"table {name!r} is not in the data source; {note}")


@dataclass
class _Check:
    """A row-level rule whose offending rows are counted in the table's single aggregate."""

    column: str
    rule: str
    severity: Severity
    condition: ibis.BooleanValue | None  # None: the rule has its own query
    describe: Any  # callable(count, stats) -> message


def _check_table(con: BaseBackend, spec: TableSpec, present: set[str], lo: datetime,
                 hi: datetime, max_examples: int) -> list[Problem]:
    name = spec.name
    try:
        t = con.table(name)
        schema = t.schema()
    except Exception as exc:
        return [Problem(name, None, "unreadable", "error", 0,
                        f"cannot read table {name!r} ({type(exc).__name__}: {exc})")]
    problems: list[Problem] = []
    usable: dict[str, Column] = {}  # present and type-compatible columns
    for col in spec.columns:
        if col.name not in schema:
            problems.append(Problem(
                name, col.name, "missing_column", "error", 0,
                f"table {name!r} has no column {col.name!r} ({col.dtype}, required); "
                f"found {', '.join(schema.names)}; add or rename it (see src/review/data/contract.py)"))
            continue
        found = schema[col.name]
        why = _type_problem(col.dtype, found)
        if why:
            problems.append(_type_error(t, spec, col, found, why, max_examples))
        elif not found.is_null():
            usable[col.name] = col

    checks = _row_checks(t, spec, usable, lo, hi)
    metrics: dict[str, ibis.Scalar] = {"n": t.count()}
    for i, chk in enumerate(checks):
        if chk.condition is None:
            continue  # codes: counted by a group-by below
        metrics[f"c{i}"] = chk.condition.sum()
        col = t[chk.column]
        if chk.rule in ("range", "time_window"):
            metrics[f"min{i}"] = col.min()
            metrics[f"max{i}"] = col.max()
    pk_single = len(spec.primary_key) == 1 and spec.primary_key[0] in usable
    if pk_single:
        metrics["pk_distinct"] = t[spec.primary_key[0]].nunique()
        metrics["pk_nonnull"] = t[spec.primary_key[0]].count()
    stats = t.aggregate(**metrics).to_pandas().iloc[0].to_dict()
    n = _int(stats["n"])
    if n == 0:
        problems.append(Problem(name, None, "empty_table", "warning", 0,
                                f"table {name!r} has no rows; sections using it will be empty"))
        return problems

    order = [c for c in spec.column_names if c in schema]
    for i, chk in enumerate(checks):
        if chk.condition is None:
            problems.extend(_code_problem(t, spec.name, usable[chk.column], order, max_examples))
            continue
        count = _int(stats[f"c{i}"])
        if count:
            s = {"min": stats.get(f"min{i}"), "max": stats.get(f"max{i}")}
            examples = _examples(t.filter(chk.condition), order, max_examples)
            problems.append(Problem(name, chk.column, chk.rule, chk.severity, count,
                                    chk.describe(count, s), examples))

    if pk_single:
        extra = _int(stats["pk_nonnull"]) - _int(stats["pk_distinct"])
        if extra:
            problems.append(_duplicate_keys(t, spec, extra, max_examples))
    elif spec.primary_key and all(k in usable for k in spec.primary_key):
        keys = list(spec.primary_key)
        extra = _int(t.count().execute()) - _int(t.select(*keys).distinct().count().execute())
        if extra:
            problems.append(_duplicate_keys(t, spec, extra, max_examples))

    for col_name, (ref_table, ref_col) in spec.references.items():
        if col_name not in usable or ref_table not in present:
            continue  # missing or mistyped column is reported above; absent table: skip
        problems.extend(_foreign_key(con, t, spec, col_name, ref_table, ref_col, order,
                                     max_examples))
    return problems


def _row_checks(t: ibis.Table, spec: TableSpec, usable: dict[str, Column], lo: datetime,
                hi: datetime) -> list[_Check]:
    name = spec.name
    checks: list[_Check] = []
    for c in spec.columns:
        if c.name not in usable:
            continue
        col = t[c.name]
        where = f"{name}.{c.name}"
        if not c.nullable:
            checks.append(_Check(c.name, "not_null", "error", col.isnull(), lambda k, s, w=where: (
                f"{k} row(s) have no value in {w}, which may not be empty; fill or drop them")))
        if c.null_means:
            checks.append(_Check(c.name, "left_out", "warning", col.isnull(),
                                 lambda k, s, w=where, m=c.null_means: (
                f"{k} row(s) have no value in {w}: {m}")))
        if c.allowed is not None:
            checks.append(_Check(c.name, "allowed", "error", None, None))
        if c.min is not None or c.max is not None:
            cond = ibis.literal(False)
            if c.min is not None:
                cond = cond | (col < c.min)
            if c.max is not None:
                cond = cond | (col > c.max)
            bounds = _bounds_text(c.min, c.max)
            checks.append(_Check(c.name, "range", "error", cond, lambda k, s, w=where, b=bounds: (
                f"{k} row(s) of {w} lie outside {b} (found min {_show(s['min'])}, "
                f"max {_show(s['max'])}); correct or drop them")))
        if c.name in spec.time_columns:
            if c.dtype == "date" or t.schema()[c.name].is_date():
                lo_v, hi_v = ibis.literal(lo.date()), ibis.literal(hi.date())
            else:
                lo_v, hi_v = ibis.literal(lo), ibis.literal(hi)
            cond = (col < lo_v) | (col > hi_v)
            checks.append(_Check(c.name, "time_window", "warning", cond,
                                 lambda k, s, w=where, lo_=lo_v, hi_=hi_v: _time_window_text(
                                     k, s, w, lo_, hi_)))
    return checks


def _time_window_text(k: int, s: dict[str, Any], where: str, lo: Any, hi: Any) -> str:
    """A ``time_window`` warning that says what the dates are: in the future, or too old."""
    lo, hi = lo.op().value, hi.op().value
    earliest, latest = s["min"], s["max"]
    what = []
    if latest is not None and not pd.isna(latest) and pd.Timestamp(latest) > pd.Timestamp(hi):
        what.append(f"dated in the future (after {pd.Timestamp(hi):%Y-%m-%d %H:%M}, latest "
                    f"{_show(latest)})")
    if earliest is not None and not pd.isna(earliest) \
            and pd.Timestamp(earliest) < pd.Timestamp(lo):
        what.append(f"dated before {pd.Timestamp(lo):%Y-%m-%d} (earliest {_show(earliest)})")
    told = " or ".join(what) or "outside the sane window"
    return (f"{k} row(s) of {where} are {told}; a clock or date-parsing problem (e.g. day and "
            "month swapped, a 2-digit year): check the export and the import mapping's format")


def _type_error(t: ibis.Table, spec: TableSpec, col: Column, found: dt.DataType, why: str,
                max_examples: int) -> Problem:
    """A ``type`` error; for text where numbers or dates are needed, the first value that does
    not read as one, and the rows holding such values (with their key) as examples."""
    where = f"{spec.name}.{col.name}"
    message = f"{where} is {found}, the contract needs {col.dtype}: {why}"
    examples: tuple[dict[str, Any], ...] = ()
    count = 0
    if found.is_string() and col.dtype in ("int64", "float64", "date", "timestamp", "boolean"):
        try:
            value = t[col.name]
            bad = t.filter(value.notnull() & value.strip().try_cast(col.dtype).isnull())
            keys = [k for k in spec.primary_key if k in t.columns] or [col.name]
            shown = bad.select(*dict.fromkeys([*keys, col.name])).order_by(keys).limit(
                max(1, max_examples)).to_pandas()
            count = _int(bad.count().execute())
        except Exception:  # the engine cannot try the cast: the plain message says enough
            shown = None
        if shown is not None and not shown.empty:
            # the value, not the row's key, in the message: keys may identify a person and
            # messages reach the report; the examples (filtered there) name the rows
            message += (f"; {count} row(s) do not read as {col.dtype}, e.g. "
                        f"{_plain(shown.iloc[0][col.name])!r} (rows listed below)")
            if max_examples > 0:
                examples = tuple({str(k): _plain(v) for k, v in r.items()}
                                 for r in shown.to_dict("records"))
    return Problem(spec.name, col.name, "type", "error", 0, message, examples)  # column-level


def _code_problem(t: ibis.Table, table: str, c: Column, order: list[str], max_examples: int
                  ) -> list[Problem]:
    """Codes outside ``c.allowed``, found by grouping on the column.

    A group-by over a coded (low-cardinality) column is several times cheaper than testing
    ``isin`` on every row; the allowed set is then tested on the few distinct values only.
    """
    col = t[c.name]
    groups = t.group_by(_code=col).aggregate(_rows=ibis._.count())
    bad = groups.filter(groups._code.notnull() & ~groups._code.isin(list(c.allowed)))
    shown = bad.order_by("_code").limit(MAX_CODE_GROUPS + 1).to_pandas()
    if shown.empty:
        return []
    if len(shown) > MAX_CODE_GROUPS:  # a free-text column: count the bad rows in the engine
        count = _int(bad._rows.sum().execute())
    else:
        count = _int(shown["_rows"].sum())
    codes = [_plain(v) for v in shown["_code"].tolist()]
    listed = ", ".join(repr(v) for v in codes[:MAX_CODES_SHOWN])
    more = " …" if len(codes) > MAX_CODES_SHOWN else ""
    examples = _examples(t.filter(col.isin(codes[:max_examples or 1])), order, max_examples)
    return [Problem(table, c.name, "allowed", "error", count,
                    f"{count} row(s) of {table}.{c.name} hold codes outside the contract: "
                    f"{listed}{more}; allowed: {', '.join(c.allowed)}; recode them (an import "
                    "mapping's `values:`)", examples)]


def _duplicate_keys(t: ibis.Table, spec: TableSpec, extra: int, max_examples: int) -> Problem:
    keys = list(spec.primary_key)
    dup = (t.filter(*[t[k].notnull() for k in keys])
           .group_by(keys).aggregate(rows=ibis._.count()).filter(ibis._.rows > 1))
    examples = _examples(dup, keys, max_examples)
    key = "+".join(keys)
    return Problem(spec.name, key, "primary_key", "error", extra,
                   f"{extra} row(s) of {spec.name} repeat a {key} already present; the key must "
                   "be unique: remove the duplicates (or dedup on import)", examples)


def _foreign_key(con: BaseBackend, t: ibis.Table, spec: TableSpec, col_name: str,
                 ref_table: str, ref_col: str, order: list[str], max_examples: int
                 ) -> list[Problem]:
    try:
        ref = con.table(ref_table)
        ref_type = ref.schema()[ref_col]
    except Exception:
        return []  # the referenced table's own check reports a missing column
    if not _same_family(t.schema()[col_name], ref_type):
        return []
    ref_keys = ref.select(_ref_key=ref[ref_col]).filter(ibis._._ref_key.notnull()).distinct()
    orphans = t.filter(t[col_name].notnull()).anti_join(
        ref_keys, t[col_name] == ref_keys._ref_key)
    count = _int(orphans.count().execute())
    if not count:
        return []
    examples = _examples(orphans, order, max_examples)
    return [Problem(spec.name, col_name, "foreign_key", "error", count,
                    f"{count} row(s) of {spec.name} have a {col_name} not found in "
                    f"{ref_table}.{ref_col}; load the missing {ref_table} rows or drop these",
                    examples)]


# -- helpers --------------------------------------------------------------------------------
def _type_problem(required: str, found: dt.DataType) -> str | None:
    """Why ``found`` cannot stand for the contract type ``required`` (None: compatible)."""
    if found.is_null():
        return None
    ok = {
        "string": found.is_string(),
        "int64": found.is_integer(),
        "float64": found.is_integer() or found.is_floating() or found.is_decimal(),
        "boolean": found.is_boolean(),
        "date": found.is_date(),
        "timestamp": found.is_timestamp() or found.is_date(),
    }[required]
    if ok:
        return None
    hint = {
        "string": "cast it to text",
        "int64": "store whole numbers (no decimals, no text)",
        "float64": "store numbers, not text (remove currency signs and separators)",
        "boolean": "store true/false",
        "date": "store dates (YYYY-MM-DD), not text or timestamps",
        "timestamp": "store timestamps, not text (parse with the right format on import)",
    }[required]
    return hint


def _same_family(a: dt.DataType, b: dt.DataType) -> bool:
    return (a.is_string() and b.is_string()) or (a.is_integer() and b.is_integer())


def _examples(expr: ibis.Table, order: list[str], limit: int) -> tuple[dict[str, Any], ...]:
    if limit <= 0:
        return ()
    cols = [c for c in order if c in expr.columns]
    df = expr.order_by(cols).limit(limit).to_pandas() if cols else expr.limit(limit).to_pandas()
    return tuple({str(k): _plain(v) for k, v in row.items()} for row in df.to_dict("records"))


def _plain(v: Any) -> Any:
    """A JSON-safe Python value: None for nulls, ISO text for dates and times."""
    if v is None:
        return None
    if isinstance(v, (pd.Timestamp, datetime)):
        return None if pd.isna(v) else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()  # numpy scalar → Python
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def _int(v: Any) -> int:
    v = _plain(v)
    return 0 if v is None else int(v)


def _show(v: Any) -> str:
    v = _plain(v)
    return "n/a" if v is None else str(v)


def _bounds_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"[{lo:g}, {hi:g}]"
    return f"≥ {lo:g}" if lo is not None else f"≤ {hi:g}"


__all__ = ["IDENTIFIER_COLUMNS", "Problem", "ValidationReport", "present_tables", "validate"]

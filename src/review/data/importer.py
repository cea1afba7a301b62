"""Import analysts' CSV/Excel exports into the DuckDB store, driven by a column mapping.

Banks start from exports with their own headers, codes and encodings. A mapping YAML (format
and worked example: ``docs/importing.md``) says, per source file pattern, which contract tables
it feeds and how each contract column is made: renamed from a header, mapped through a value
map, parsed with a date format, assembled from year/month/day columns, a constant or a
deterministic surrogate key.

:func:`import_files` reads the files (encoding and delimiter detected; ``.xlsx`` through
openpyxl), converts every mapped column to the contract dtype, checks each row (codes, nulls,
ranges, duplicate keys, references to users/campaigns already in the store), and only when
nothing is wrong writes the tables *atomically*: the store is copied to a temporary file in the
same folder, written and validated there (:func:`review.data.validate.validate`), then moved
over the original with :func:`os.replace`. Any error leaves the store byte-identical.

Errors
------
* :class:`~review.errors.ImportMappingError` — the mapping is invalid, or a source file has
  problems; the message lists every problem with file, table, column and 1-based data row (the
  first row under the header is row 1) and how to fix it; ``exc.problems`` holds them as
  :class:`ImportProblem`.
* :class:`~review.errors.ValidationError` — the written tables break the contract together with
  what is already in the store (e.g. appended keys that repeat existing ones); ``exc.report``.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import hashlib
import io
import math
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from review.core.files import remove_path
from review.core.validation import format_validation_error
from review.data.connect import connect, quote_ident, resolve_path
from review.data.contract import TABLES, Column, TableSpec
from review.data.validate import ValidationReport, validate
from review.errors import ImportMappingError, ValidationError

#: Cell texts read as empty (after stripping spaces); override per source with ``na_values``.
NA_VALUES = ("", "NULL", "null", "NA", "N/A", "#N/A", "nan", "NaN", "None")
DELIMITERS = (",", ";", "\t", "|")
TRUE_TEXTS = frozenset({"true", "t", "yes", "y", "1", "是", "真"})
FALSE_TEXTS = frozenset({"false", "f", "no", "n", "0", "否", "假"})
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: The column ``sql:``/``derive:`` expressions see as the 1-based data row (file order).
ROW_COLUMN = "_row"
#: Month names read in ``parts:``, by ``month_number()`` in SQL and by ``%b``/``%B`` formats.
MONTHS: dict[str, int] = {
    **{m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                    "sep", "oct", "nov", "dec"), start=1)},
    **{m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june",
                                    "july", "august", "september", "october", "november",
                                    "december"), start=1)},
    "sept": 9,
    **{f"{z}月": i for i, z in enumerate(("一", "二", "三", "四", "五", "六", "七", "八", "九",
                                          "十", "十一", "十二"), start=1)},
    **{f"{i}月": i for i in range(1, 13)},
    **{f"{i:02d}月": i for i in range(1, 10)},
}
#: Offending rows named per problem in an error message.
ROWS_SHOWN = 5
#: Problems listed in an error message (the exception's ``problems`` holds all).
PROBLEMS_SHOWN = 30


# -- the mapping ----------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class DateParts(_Strict):
    """Source headers holding the parts of a date or timestamp (hour/minute/second optional)."""

    year: str
    month: str
    day: str
    hour: str | None = None
    minute: str | None = None
    second: str | None = None

    def headers(self) -> list[str]:
        return [h for h in (self.year, self.month, self.day, self.hour, self.minute,
                            self.second) if h is not None]


#: The keys that make a column: a mapping gives exactly one.
SOURCE_KEYS = ("from", "value", "parts", "surrogate", "sql", "when")


class ColumnMap(_Strict):
    """How one contract column is made. Exactly one of ``from``, ``value``, ``parts``,
    ``surrogate``, ``sql`` or ``when`` (with ``then``/``else``); ``values``, ``format`` and
    ``scale`` refine it. A refinement that would have no effect is an error.

    A plain string in the YAML (``user_id: 客户号``) is short for ``{from: 客户号}``.
    """

    from_: str | None = Field(default=None, alias="from")
    value: str | None = None
    parts: DateParts | None = None
    surrogate: Literal["hash", "row_number"] | None = None
    sql: str | None = None
    when: str | None = None
    then: str | None = None
    else_: str | None = Field(default=None, alias="else")
    prefix: str = ""
    values: dict[str, str | bool | int | float | None] | None = None
    format: list[str] | None = None
    scale: float | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {("" if k is None else str(k)): val for k, val in v.items()}
        return v

    @field_validator("format", mode="before")
    @classmethod
    def _format_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_source(self) -> ColumnMap:
        given = [k for k in SOURCE_KEYS
                 if (k == "from" and self.from_ is not None)
                 or (k == "value" and "value" in self.model_fields_set)
                 or (k not in ("from", "value") and getattr(self, k) is not None)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(SOURCE_KEYS)}"
                             + (f" (found {', '.join(given)})" if given else ""))
        if self.prefix and self.surrogate is None:
            raise ValueError("prefix: is only for surrogate keys; remove it")
        for key, field_name in (("then", "then"), ("else", "else_")):
            if field_name in self.model_fields_set and self.when is None:
                raise ValueError(f"{key}: has no effect without when:; add when: "
                                 "(a condition) or remove it")
        if self.when is not None and self.then is None:
            raise ValueError("when: needs then: (the value where the condition holds)")
        kind = given[0]
        ineffective = {
            "parts": ("values", "format"),  # parts make the date itself
            "surrogate": ("values", "format", "scale"),
        }.get(kind, ())
        for key in ineffective:
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: has no effect next to {kind}: ({kind} makes the "
                                 f"value itself); remove {key}:")
        return self

    @property
    def kind(self) -> str:
        if self.from_ is not None:
            return "from"
        if self.parts is not None:
            return "parts"
        if self.surrogate is not None:
            return "surrogate"
        if self.sql is not None:
            return "sql"
        if self.when is not None:
            return "when"
        return "value"

    def expression(self) -> str:
        """The DuckDB SQL of a ``sql:`` or ``when:`` column (``when`` is a CASE WHEN)."""
        if self.sql is not None:
            return self.sql
        other = "NULL" if self.else_ is None else f"({self.else_})"
        return f"CASE WHEN ({self.when}) THEN ({self.then}) ELSE {other} END"


class TableMap(_Strict):
    """The contract columns one source feeds into one table, and how duplicates are handled.

    ``dedup``: ``none`` (duplicates are errors), ``first`` or ``last`` (keep that row per
    primary key; a table without a key keeps one of identical rows).
    """

    columns: dict[str, ColumnMap]
    dedup: Literal["none", "first", "last"] = "none"

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ({"from": s} if isinstance(s, str) else s) for k, s in v.items()}
        return v


class SourceMap(_Strict):
    """One kind of export: file name pattern(s), how to read it, the tables it feeds."""

    files: list[str] = Field(min_length=1)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    skip_rows: int = Field(default=0, ge=0)
    na_values: list[str] = Field(default_factory=lambda: list(NA_VALUES))
    #: new source columns made by DuckDB SQL, in order (each sees the ones before it)
    derive: dict[str, str] = Field(default_factory=dict)
    tables: dict[str, TableMap] = Field(min_length=1)

    @field_validator("sheet", mode="before")
    @classmethod
    def _sheet_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("files", mode="before")
    @classmethod
    def _files_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is None or v.lower() == "auto":
            return None
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}; use utf-8, utf-8-sig, gbk or gb18030"
                             ) from None
        return v

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is None or v.lower() == "auto":
            return None
        v = {"tab": "\t", "\\t": "\t"}.get(v.lower(), v)
        if len(v) != 1:
            raise ValueError(f"a delimiter is one character (or 'tab'), not {v!r}")
        return v

    @model_validator(mode="after")
    def _contract(self) -> SourceMap:
        problems = []
        suffixes = {Path(p).suffix.lower() for p in self.files}
        if self.sheet is not None and suffixes and not suffixes & {*EXCEL_SUFFIXES, ""}:
            problems.append("sheet: has no effect on CSV files; remove it")
        if suffixes and suffixes <= set(EXCEL_SUFFIXES):
            for key in ("encoding", "delimiter"):
                if getattr(self, key) is not None:
                    problems.append(f"{key}: has no effect on Excel files; remove it")
        for name in self.derive:
            if name == ROW_COLUMN:
                problems.append(f"derive.{name}: {ROW_COLUMN} is the file-order column; "
                                "choose another name")
        for tname, tmap in self.tables.items():
            spec = TABLES.get(tname)
            if spec is None:
                problems.append(f"tables.{tname}: not a contract table; contract tables: "
                                f"{', '.join(TABLES)}")
                continue
            for cname, cmap in tmap.columns.items():
                if cname not in spec.column_names:
                    problems.append(f"tables.{tname}.columns.{cname}: not a column of "
                                    f"{tname}; its columns: {', '.join(spec.column_names)}")
                    continue
                why = _spec_problem(spec.column(cname), cmap)
                if why:
                    problems.append(f"tables.{tname}.columns.{cname}: {why}")
            unmapped = [c.name for c in spec.columns
                        if not c.optional and c.name not in tmap.columns]
            if unmapped:
                problems.append(f"tables.{tname}.columns: required column(s) "
                                f"{', '.join(unmapped)} not mapped (use from:, value:, parts: "
                                "or surrogate:)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _spec_problem(col: Column, cmap: ColumnMap) -> str | None:
    temporal = col.dtype in ("date", "timestamp")
    if cmap.format is not None and not temporal:
        return f"format: is for date/timestamp columns, {col.name} is {col.dtype}"
    if cmap.parts is not None and not temporal:
        return f"parts: is for date/timestamp columns, {col.name} is {col.dtype}"
    if cmap.surrogate is not None and col.dtype != "string":
        return f"surrogate: makes text keys, {col.name} is {col.dtype}"
    if cmap.scale is not None and col.dtype not in ("int64", "float64"):
        return f"scale: is for numeric columns, {col.name} is {col.dtype}"
    return None


class ImportMapping(_Strict):
    """A whole mapping file: a list of sources (see ``docs/importing.md``)."""

    description: str | None = None
    sources: list[SourceMap] = Field(min_length=1)

    @property
    def tables(self) -> tuple[str, ...]:
        """Contract tables the mapping feeds, in contract order."""
        named = {t for s in self.sources for t in s.tables}
        return tuple(t for t in TABLES if t in named)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<mapping>") -> ImportMapping:
        """Validate a parsed mapping; every problem named by ``origin`` and key path."""
        if not isinstance(data, dict):
            raise ImportMappingError(f"{origin}: expected a mapping with a `sources:` list")
        try:
            return cls.model_validate(data)
        except PydanticValidationError as exc:
            raise ImportMappingError(format_validation_error(
                exc, origin=origin, what="import mapping",
                unknown_key_hint="see docs/importing.md")) from None


class _TextLoader(yaml.SafeLoader):
    """YAML where every plain scalar stays text (codes like 01, yes, 2026-09-01 survive)."""


_TextLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag == "tag:yaml.org,2002:null"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_mapping(path: str | Path) -> ImportMapping:
    """Read and validate an import mapping YAML.

    Every plain YAML scalar is read as text (so ``01``, ``yes`` or ``2026-09-01`` stay as
    written) and converted where the field needs a number. Unknown keys, unknown tables or
    columns, and required contract columns left unmapped raise
    :class:`~review.errors.ImportMappingError` naming the file and the key.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportMappingError(f"{path}: cannot read import mapping ({exc.strerror})"
                                 ) from None
    text = _decode(raw, None, path)
    try:
        data = yaml.load(text, Loader=_TextLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise ImportMappingError(f"{path}: not valid YAML: {exc}") from None
    return ImportMapping.from_dict(data, origin=str(path))


# -- problems and results -------------------------------------------------------------------
@dataclass(frozen=True)
class ImportProblem:
    """One kind of problem in a source file: where (file, table, column, data rows), the
    offending values and what to do. ``rows`` are the first few 1-based data rows of ``file``
    (row 1 is the first row under the header), ``count`` all the rows affected.
    """

    file: str
    table: str | None
    column: str | None
    rule: str
    message: str
    rows: tuple[int, ...] = ()
    count: int = 1
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = [self.file]
        if self.table:
            where.append(f"table {self.table}")
        if self.column:
            where.append(f"column {self.column}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = f" (+{self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
            where.append(f"row{'s' * (len(self.rows) > 1)} {shown}{more}")
        return f"{', '.join(where)}: {self.message}"


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_files` wrote.

    ``rows`` are the rows written per table; ``duplicates_dropped`` the rows removed by
    ``dedup``; ``report`` the validation of the written tables (warnings only, or none).
    """

    store: Path
    tables: tuple[str, ...]
    rows: dict[str, int]
    files: tuple[Path, ...]
    duplicates_dropped: dict[str, int]
    report: ValidationReport = field(repr=False)

    def summary(self) -> str:
        parts = [f"{t}: {self.rows[t]:,} rows" for t in self.tables]
        text = f"imported into {self.store}: " + "; ".join(parts)
        if any(self.duplicates_dropped.values()):
            text += "; duplicates dropped: " + ", ".join(
                f"{t} {n}" for t, n in self.duplicates_dropped.items() if n)
        if self.report.warnings:
            text += f"; {len(self.report.warnings)} warning(s)"
        return text


class _Problems:
    """Collects problems, grouping rows of the same (file, table, column, rule, template).

    A template's ``{values}`` becomes the first few distinct offending values.
    """

    def __init__(self) -> None:
        self._items: dict[tuple, tuple[list[int], list[str], list[int]]] = {}
        #: (file, row, column) cells already reported: later checks skip them
        self.flagged: set[tuple[str, int, str]] = set()

    def add(self, file: Path | str, table: str | None, column: str | None, rule: str,
            template: str, row: int | None = None, value: Any = None) -> None:
        key = (str(file), table, column, rule, template)
        rows, values, count = self._items.setdefault(key, ([], [], [0]))
        count[0] += 1
        if row is not None:
            if column is not None:
                self.flagged.add((str(file), row, column))
            if len(rows) < ROWS_SHOWN:
                rows.append(row)
        if value is not None:
            text = value if isinstance(value, str) else repr(value)
            if text not in values and len(values) <= ROWS_SHOWN:
                values.append(text)

    def __bool__(self) -> bool:
        return bool(self._items)

    def items(self) -> list[ImportProblem]:
        out = []
        for (f, t, c, r, template), (rows, values, count) in self._items.items():
            shown = ", ".join(values[:ROWS_SHOWN]) + (" …" if len(values) > ROWS_SHOWN else "")
            message = template.replace("{values}", shown)
            out.append(ImportProblem(f, t, c, r, message, tuple(rows), count[0],
                                     tuple(values[:ROWS_SHOWN])))
        return out


def _raise(problems: _Problems, into: Path) -> None:
    items = problems.items()
    lines = [f"  - {p}" for p in items[:PROBLEMS_SHOWN]]
    if len(items) > PROBLEMS_SHOWN:
        lines.append(f"  … and {len(items) - PROBLEMS_SHOWN} more problem(s)")
    raise ImportMappingError(
        f"import refused, nothing was written to {into}: {len(items)} problem(s); fix the files "
        "or the mapping (docs/importing.md) and run again\n" + "\n".join(lines), items)


# -- reading files --------------------------------------------------------------------------
@dataclass
class _Sheet:
    """A source file as read: header, data rows (text or Excel values), their row numbers."""

    path: Path
    header: list[str]
    rows: list[list[Any]]
    row_numbers: list[int]
    frame: _SqlFrame | None = None

    def sql_frame(self, na: set[str]) -> _SqlFrame:
        if self.frame is None:
            self.frame = _SqlFrame(self, na)
        return self.frame


class _SqlError(Exception):
    """A ``sql:``/``derive:`` expression DuckDB refused, or one that gave the wrong rows."""


class _SqlFrame:
    """A sheet as a DuckDB table for ``sql:``, ``when:`` and ``derive:``.

    Source columns are text (VARCHAR; empty cells and ``na_values`` are NULL), ``_row`` is
    the 1-based data row, so window functions can follow file order (``OVER (ORDER BY _row)``);
    each derived column is added in turn and typed as its SQL makes it. ``month_number(x)``
    turns 1–12, English and Chinese month names into 1–12.
    """

    def __init__(self, sheet: _Sheet, na: set[str]):
        self.con = duckdb.connect()
        self.con.execute(_MONTH_MACRO)
        cols: dict[str, pa.Array] = {}
        for j, h in enumerate(sheet.header):
            if h and h not in cols and h != ROW_COLUMN:
                cols[h] = pa.array([_cell(r[j], na) for r in sheet.rows], pa.string())
        cols[ROW_COLUMN] = pa.array(sheet.row_numbers, pa.int64())
        self.con.register("_sheet", pa.table(cols))
        self.table = "src0"
        self.con.execute(f"CREATE TEMP TABLE {self.table} AS SELECT * FROM _sheet")
        self.con.unregister("_sheet")
        self.rows = len(sheet.rows)

    def derive(self, name: str, expr: str) -> None:
        nxt = f"src{int(self.table[3:]) + 1}"
        ident = quote_ident(name)
        try:
            self.con.execute(f"CREATE TEMP TABLE {nxt} AS SELECT * EXCLUDE ({ident}), "
                             f"({expr}) AS {ident} FROM {self.table}"
                             if name in self.columns() else
                             f"CREATE TEMP TABLE {nxt} AS SELECT *, ({expr}) AS {ident} "
                             f"FROM {self.table}")
        except duckdb.Error as exc:
            raise _SqlError(_sql_message(exc)) from None
        self.table = nxt

    def columns(self) -> list[str]:
        return [r[0] for r in self.con.execute(f"DESCRIBE {self.table}").fetchall()]

    def values(self, expr: str) -> list[Any]:
        try:
            got = self.con.execute(f"SELECT ({expr}) FROM {self.table} ORDER BY {ROW_COLUMN}"
                                   ).fetchall()
        except duckdb.Error as exc:
            raise _SqlError(_sql_message(exc)) from None
        if len(got) != self.rows:
            raise _SqlError(f"gives {len(got)} value(s) for {self.rows} row(s); use a "
                            "window (OVER (...)) rather than an aggregate")
        return [r[0] for r in got]


def _sql_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _cell(v: Any, na: set[str]) -> str | None:
    t = _text(v)
    return None if t is None or t in na else t


_MONTH_MACRO = (
    "CREATE MACRO month_number(m) AS coalesce(TRY_CAST(trim(CAST(m AS VARCHAR)) AS INTEGER), "
    "CASE lower(trim(CAST(m AS VARCHAR))) "
    + " ".join(f"WHEN '{k}' THEN {v}" for k, v in MONTHS.items()) + " END)")


def _apply_derive(sheet: _Sheet, source: SourceMap, problems: _Problems) -> bool:
    """Add the source's ``derive:`` columns to ``sheet``; False (reported) when one fails."""
    if not source.derive:
        return True
    frame = sheet.sql_frame(set(source.na_values))
    for name, expr in source.derive.items():
        try:
            frame.derive(name, expr)
        except _SqlError as exc:
            problems.add(sheet.path, None, None, "sql",
                         f"derive.{name}: the SQL fails: {exc}; fix it (source columns are "
                         "text: cast them, e.g. CAST(x AS INTEGER); see docs/importing.md)")
            return False
    names = list(source.derive)
    sheet.rows = [list(r) for r in sheet.rows]
    got = frame.con.execute(
        "SELECT " + ", ".join(quote_ident(n) for n in names)
        + f" FROM {frame.table} ORDER BY {ROW_COLUMN}").fetchall()
    for name in names:
        if name in sheet.header:  # a derived column replaces a source column of that name
            j = sheet.header.index(name)
            for r in sheet.rows:
                r[j] = None
    index = {}
    for name in names:
        if name not in sheet.header:
            sheet.header.append(name)
            for r in sheet.rows:
                r.append(None)
        index[name] = sheet.header.index(name)
    for r, vals in zip(sheet.rows, got, strict=True):
        for name, v in zip(names, vals, strict=True):
            r[index[name]] = v
    return True


class MixedEncodingError(ValueError):
    """A file whose lines are in different encodings (some UTF-8, some GBK/GB18030).

    ``line`` is the 1-based line of the file where the encoding of the lines above it breaks;
    ``first`` and ``then`` name the two encodings.
    """

    def __init__(self, line: int, first: str, then: str):
        super().__init__(f"line {line} is {then}, the lines above it {first}")
        self.line, self.first, self.then = line, first, then


#: A UTF-8 encoded character of 3 bytes (every CJK character in UTF-8).
_UTF8_WIDE = re.compile(rb"[\xe0-\xef][\x80-\xbf]{2}")


def _line_kind(line: bytes) -> str | None:
    """``utf-8`` (valid, with a multi-byte character), ``gb`` (not valid UTF-8) or None (ASCII
    or too little evidence)."""
    if line.isascii():
        return None
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "gb"
    return "utf-8" if _UTF8_WIDE.search(line) else None


def detect_encoding(data: bytes) -> str:
    """The text encoding of an export: ``utf-8-sig`` (BOM), ``utf-16``, ``utf-8`` or
    ``gb18030`` (a superset of GBK and GB2312, what Chinese Excel writes).

    Strict UTF-8 first; GB18030 only when the bytes are not valid UTF-8 *and* no line holds
    valid UTF-8 multi-byte characters. A file whose lines disagree (an export appended to in
    another encoding) raises :class:`MixedEncodingError` naming the first line that breaks;
    ``UnicodeDecodeError`` when no encoding fits.
    """
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            if not (exc.start >= len(body) - 3 and exc.reason == "unexpected end of data"):
                raise MixedEncodingError(body.count(b"\n", 0, exc.start) + 1, "UTF-8",
                                         "not UTF-8") from None
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # cut inside the last character: a truncated UTF-8 file
    first: str | None = None
    for n, line in enumerate(data.split(b"\n"), start=1):
        kind = _line_kind(line)
        if kind is None:
            continue
        if first is None:
            first = kind
        elif kind != first:
            names = {"utf-8": "UTF-8", "gb": "GBK/GB18030"}
            raise MixedEncodingError(n, names[first], names[kind])
    data.decode("gb18030")
    return "gb18030"


def _decode(data: bytes, encoding: str | None, path: Path) -> str:
    try:
        enc = encoding or detect_encoding(data)
    except MixedEncodingError as exc:
        raise ImportMappingError(
            f"{path}: line {exc.line}: the file mixes encodings (the lines above are "
            f"{exc.first}, line {exc.line} is {exc.then}); re-export the whole file in one "
            "encoding (UTF-8 preferred)") from None
    except UnicodeDecodeError:
        raise ImportMappingError(
            f"{path}: cannot tell the text encoding (not UTF-8, GBK or GB18030); set "
            "`encoding:` for this source in the mapping") from None
    try:
        text = data.decode(enc, errors="replace" if encoding is None else "strict")
    except UnicodeDecodeError as exc:
        raise ImportMappingError(
            f"{path}: not valid {enc} at byte {exc.start}; fix `encoding:` in the mapping "
            "(or remove it to detect UTF-8/GBK automatically)") from None
    return text.removeprefix("\ufeff")


def detect_delimiter(text: str, candidates: Iterable[str] = DELIMITERS) -> str:
    """The delimiter that splits the first lines of ``text`` into the most, equally many fields.

    Falls back to ``,`` when no candidate splits the header.
    """
    sample = "\n".join(text.splitlines()[:50])
    best, best_score = ",", (False, 1)
    for d in candidates:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=d) if r]
        if not rows or len(rows[0]) < 2:
            continue
        complete = rows[:-1] if len(rows) > 1 else rows  # the sample's last line may be cut
        score = (all(len(r) == len(rows[0]) for r in complete), len(rows[0]))
        if score > best_score:
            best, best_score = d, score
    return best


_BLOCK = 1 << 20


def _decodes_as(path: Path, encoding: str) -> int | None:
    """None when the whole file decodes as ``encoding``, else the byte offset where it fails.

    Decoded block by block, so a large file is never held as one text.
    """
    dec = codecs.getincrementaldecoder(encoding)("strict")
    pos = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            try:
                dec.decode(block)
            except UnicodeDecodeError as exc:
                return pos + max(exc.start, 0)
            pos += len(block)
    try:
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return pos
    return None


def _file_encoding(path: Path, encoding: str | None) -> tuple[str, str]:
    """(encoding, error handler) to stream ``path`` with, after the checks of :func:`_decode`."""
    if encoding is not None:
        bad = _decodes_as(path, encoding)
        if bad is not None:
            raise ImportMappingError(
                f"{path}: not valid {encoding} at byte {bad}; fix `encoding:` in the mapping "
                "(or remove it to detect UTF-8/GBK automatically)")
        return encoding, "strict"
    with path.open("rb") as f:
        head = f.read(4)
    if not head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bad = _decodes_as(path, "utf-8")
        if bad is None or bad >= path.stat().st_size - 3:
            return "utf-8", "replace"  # (a cut last character is replaced)
    data = path.read_bytes()  # not UTF-8 (or a BOM): the careful per-line detection
    try:
        enc = detect_encoding(data)
    except (MixedEncodingError, UnicodeDecodeError):
        _decode(data, None, path)  # raises the error message
        raise
    return enc, "replace"


#: Rows of a CSV file read and converted at a time (files with ``derive:``/``sql:``/``when:``
#: are read whole: their window functions see the whole file).
CHUNK_ROWS = 100_000


@dataclass
class _Reading:
    """Whether reading a file failed (set by the reader; its chunks may have been used)."""

    failed: bool = False


def _read_csv(path: Path, source: SourceMap, problems: _Problems, status: _Reading,
              chunk_rows: int | None) -> Iterator[_Sheet]:
    encoding, errors = _file_encoding(path, source.encoding)
    with path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")
        yield from _parse_csv(path, stream, source, problems, status, chunk_rows)


def _parse_csv(path: Path, stream: io.TextIOWrapper, source: SourceMap, problems: _Problems,
               status: _Reading, chunk_rows: int | None) -> Iterator[_Sheet]:
    """The file's rows in chunks of ``chunk_rows`` (all at once with None); problems of the
    file's shape are reported, and ``status.failed`` set when it is unusable."""
    for _ in range(source.skip_rows):  # titles and notes above the header
        stream.readline()
    start = stream.tell()
    sample = stream.read(1 << 16).removeprefix("\ufeff")
    if not sample.strip():
        problems.add(path, None, None, "empty_file",
                     "empty file (no header, no rows); re-export it")
        status.failed = True
        return
    delimiter = source.delimiter or detect_delimiter(sample)
    stream.seek(start)
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    intern = sys.intern  # codes and dates repeat: one string object per distinct cell text
    rows: list[Any] = []
    numbers: list[int] = []
    header: list[str] | None = None
    n = 0
    broken = False
    yielded = False
    try:
        for record in reader:
            if header is None:
                header = [h.strip().removeprefix("\ufeff") for h in record]
                continue
            n += 1
            if not record or all(not f.strip() for f in record):
                continue  # a blank line
            if len(record) < len(header):
                broken = True
                problems.add(path, None, None, "truncated",
                             f"the row has {len(record)} field(s), the header {len(header)}: "
                             "the file looks truncated (re-export it) or a field holds a line "
                             "break without quotes", n)
                continue
            if len(record) > len(header):
                if any(f.strip() for f in record[len(header):]):
                    broken = True
                    problems.add(path, None, None, "extra_fields",
                                 f"the row has {len(record)} fields, the header "
                                 f"{len(header)}: a value holds the delimiter {delimiter!r} "
                                 "without quotes; quote it or set `delimiter:`", n)
                    continue
                record = record[:len(header)]
            rows.append(tuple(intern(c) for c in record))
            numbers.append(n)
            if chunk_rows is not None and len(rows) >= chunk_rows:
                yield _Sheet(path, header, rows, numbers)
                yielded, rows, numbers = True, [], []
    except csv.Error as exc:
        problems.add(path, None, None, "truncated",
                     f"malformed CSV ({exc}): a quote left open, the file looks truncated; "
                     "re-export it", n + 1)
        status.failed = True
        return
    if header is None:
        problems.add(path, None, None, "empty_file", "empty file; re-export it")
        status.failed = True
        return
    if not rows:
        if not yielded:
            if not broken:
                problems.add(path, None, None, "empty_file",
                             "the file has a header but no data rows; re-export it")
            status.failed = True
        return
    yield _Sheet(path, header, rows, numbers)


def _read_excel(path: Path, source: SourceMap, problems: _Problems) -> _Sheet | None:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        problems.add(path, None, None, "unreadable",
                     f"cannot open as an Excel workbook ({type(exc).__name__}); save it as "
                     ".xlsx and try again")
        return None
    try:
        ws = _worksheet(wb, source.sheet, path)
        it = ws.iter_rows(values_only=True)
        for _ in range(source.skip_rows):
            next(it, None)
        head = next(it, None)
        if head is None or all(v is None for v in head):
            problems.add(path, None, None, "empty_file",
                         f"sheet {ws.title!r} is empty; check `sheet:` and `skip_rows:`")
            return None
        header = ["" if v is None else str(v).strip() for v in head]
        while header and header[-1] == "":
            header.pop()
        rows, numbers = [], []
        for n, values in enumerate(it, start=1):
            values = list(values[:len(header)]) + [None] * (len(header) - len(values))
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            rows.append(values)
            numbers.append(n)
    finally:
        wb.close()
    if not rows:
        problems.add(path, None, None, "empty_file",
                     f"sheet {ws.title!r} has a header but no data rows")
        return None
    return _Sheet(path, header, rows, numbers)


def _worksheet(wb: Any, sheet: str | None, path: Path) -> Any:
    if sheet is None:
        return wb.worksheets[0]
    if sheet in wb.sheetnames:
        return wb[sheet]
    if sheet.isdigit() and 1 <= int(sheet) <= len(wb.worksheets):
        return wb.worksheets[int(sheet) - 1]
    raise ImportMappingError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}; "
                             "fix `sheet:` in the mapping")


def _read(path: Path, source: SourceMap, problems: _Problems, status: _Reading
          ) -> Iterator[_Sheet]:
    """The file's rows, in chunks for a CSV file (see :data:`CHUNK_ROWS`)."""
    if path.suffix.lower() in EXCEL_SUFFIXES:
        sheet = _read_excel(path, source, problems)
        if sheet is None:
            status.failed = True
        else:
            yield sheet
        return
    if path.suffix.lower() == ".xls":
        problems.add(path, None, None, "unreadable",
                     "old .xls workbooks are not supported; save it as .xlsx or .csv")
        status.failed = True
        return
    whole = bool(source.derive) or any(c.kind in ("sql", "when") for t in source.tables.values()
                                       for c in t.columns.values())
    yield from _read_csv(path, source, problems, status, None if whole else CHUNK_ROWS)


# -- converting values ----------------------------------------------------------------------
class _Bad(Exception):
    """A value that cannot be converted: a message template (with ``{values}``) and the value."""

    def __init__(self, template: str, value: Any):
        super().__init__(template)
        self.template = template
        self.value = value


def _text(v: Any) -> str | None:
    """A cell as stripped text (Excel numbers without a spurious ``.0``)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    return str(v).strip()


#: Control characters stripped from imported text (NUL, ESC, …; tab and line breaks stay).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _to_string(v: Any) -> str:
    """A cell as text, without control characters (they could hide or forge report text)."""
    return _CONTROL.sub("", _text(v))  # type: ignore[arg-type]


_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")


_NOT_A_NUMBER = "not a number: {values}; fix the values in the file (no text, one decimal point)"


def _to_float(v: Any) -> float:
    if isinstance(v, bool):
        raise _Bad(_NOT_A_NUMBER, repr(v))
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip().lstrip("¥￥").strip()
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    try:
        x = float(s)
    except ValueError:
        raise _Bad(_NOT_A_NUMBER, repr(v)) from None
    if math.isnan(x) or math.isinf(x):
        raise _Bad(_NOT_A_NUMBER, repr(v))
    return x


def _to_int(v: Any) -> int:
    x = _to_float(v)
    if not x.is_integer():
        raise _Bad("not a whole number: {values}; fix the values in the file", repr(v))
    return int(x)


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = _text(v).lower()  # type: ignore[union-attr]
    if s in TRUE_TEXTS:
        return True
    if s in FALSE_TEXTS:
        return False
    raise _Bad("not true/false: {values}; map them with `values:` (e.g. 是: true)", repr(v))


def _to_timestamp(v: Any, formats: list[str] | None) -> datetime:
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    s = _text(v)
    for fmt in formats or []:
        text = _english_months(s) if ("%b" in fmt or "%B" in fmt) else s  # type: ignore[arg-type]
        try:
            return datetime.strptime(text, fmt)  # type: ignore[arg-type]
        except ValueError:
            continue
    if not formats:
        try:
            return datetime.fromisoformat(s).replace(tzinfo=None)  # type: ignore[arg-type]
        except ValueError:
            pass
    expected = " or ".join(formats) if formats else "ISO YYYY-MM-DD[ HH:MM[:SS]]"
    raise _Bad(f"unparsable date: {{values}} (expected {expected}); fix the values in the file "
               "or the mapping's `format:`", repr(s))


def _convert(v: Any, dtype: str, formats: list[str] | None) -> Any:
    if dtype == "string":
        return _to_string(v)
    if dtype == "float64":
        return _to_float(v)
    if dtype == "int64":
        return _to_int(v)
    if dtype == "boolean":
        return _to_bool(v)
    if dtype == "timestamp":
        return _to_timestamp(v, formats)
    if dtype == "date":
        return _to_timestamp(v, formats).date()
    raise AssertionError(dtype)


def _month(v: Any) -> int:
    """A month as 1–12, a name (``may``, ``September``, ``sept``) or Chinese (``五月``, ``5月``)."""
    key = (_text(v) or "").lower()
    if key in MONTHS:
        return MONTHS[key]
    try:
        return _to_int(v)
    except _Bad:
        raise _Bad("not a month: {values}; use 1–12, an English month name or 一月…十二月",
                   repr(v)) from None


_ZH_MONTH = re.compile("(十[一二]|[一二三四五六七八九十])月")
_EN_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _english_months(s: str) -> str:
    """Chinese month names (``五月``) as English abbreviations, for ``%b``/``%B`` formats."""
    s = _ZH_MONTH.sub(lambda m: _EN_ABBR[MONTHS[m.group(0)] - 1], s)
    return re.sub(r"(?i)\bsept\b", "Sep", s)


def _from_parts(sheet: _Sheet, cols: dict[str, int], parts: DateParts, i: int) -> datetime | None:
    names = ("year", "month", "day", "hour", "minute", "second")
    values = {}
    for name in names:
        header = getattr(parts, name)
        if header is None:
            continue
        v = sheet.rows[i][cols[header]]
        if v is None or _text(v) == "":
            if name in ("year", "month", "day"):
                return None
            continue
        values[name] = _month(v) if name == "month" else _to_int(v)
    try:
        return datetime(**values)
    except (TypeError, ValueError):
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        raise _Bad("no such date: {values}; fix the date parts in the file", f"({shown})"
                   ) from None


# -- building one table from one file ---------------------------------------------------------
@dataclass
class _Rows:
    """Converted contract rows of one table, with where each came from."""

    spec: TableSpec
    columns: dict[str, list[Any]]
    files: list[Path]
    rows: list[int]

    @classmethod
    def empty(cls, spec: TableSpec) -> _Rows:
        return cls(spec, {c: [] for c in spec.column_names}, [], [])

    def __len__(self) -> int:
        return len(self.rows)

    def extend(self, other: _Rows) -> None:
        for c in self.columns:
            self.columns[c].extend(other.columns[c])
        self.files.extend(other.files)
        self.rows.extend(other.rows)

    def take(self, keep: list[int]) -> _Rows:
        return _Rows(self.spec, {c: [v[i] for i in keep] for c, v in self.columns.items()},
                     [self.files[i] for i in keep], [self.rows[i] for i in keep])


def _header_index(sheet: _Sheet, header: str, table: str, column: str,
                  problems: _Problems) -> int | None:
    hits = [i for i, h in enumerate(sheet.header) if h == header]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        shown = ", ".join(h for h in sheet.header if h)
        problems.add(sheet.path, table, column, "missing_column",
                     f"mapped source column {header!r} is not in the header (found: {shown}); "
                     "fix the mapping's `from:` or re-export with that column")
    else:
        problems.add(sheet.path, table, column, "duplicate_header",
                     f"source column {header!r} appears {len(hits)} times in the header; "
                     "rename one in the file")
    return None


def _build(sheet: _Sheet, source: SourceMap, tname: str, tmap: TableMap, counter: list[int],
           problems: _Problems) -> _Rows | None:
    """Convert one file's rows into contract rows of table ``tname`` (None: unusable)."""
    spec = TABLES[tname]
    na = set(source.na_values)
    out = _Rows.empty(spec)
    n = len(sheet.rows)
    failed = False
    for col in spec.columns:
        cmap = tmap.columns.get(col.name)
        values: list[Any]
        if cmap is None:  # an optional column left out: its default, or empty
            out.columns[col.name] = [col.default] * n
            continue
        if cmap.kind == "surrogate":
            out.columns[col.name] = _surrogates(sheet, cmap, counter)
            continue
        if cmap.kind == "from":
            idx = _header_index(sheet, cmap.from_, tname, col.name, problems)
            if idx is None:
                failed = True
                continue
            values = [r[idx] for r in sheet.rows]
        elif cmap.kind == "value":
            values = [cmap.value] * n
        elif cmap.kind in ("sql", "when"):
            try:
                values = sheet.sql_frame(na).values(cmap.expression())
            except _SqlError as exc:
                problems.add(sheet.path, tname, col.name, "sql",
                             f"{cmap.kind}: the SQL fails: {exc}; fix it (source columns are "
                             "text: cast them, e.g. CAST(x AS INTEGER); see docs/importing.md)")
                failed = True
                continue
        else:  # parts
            assert cmap.parts is not None
            idx_map = {}
            for h in cmap.parts.headers():
                idx = _header_index(sheet, h, tname, col.name, problems)
                if idx is None:
                    failed = True
                idx_map[h] = idx
            if failed:
                continue
            values = []
            for i in range(n):
                try:
                    values.append(_from_parts(sheet, idx_map, cmap.parts, i))
                except _Bad as exc:
                    problems.add(sheet.path, tname, col.name, "bad_value", exc.template,
                                 sheet.row_numbers[i], exc.value)
                    values.append(None)
        out.columns[col.name] = _column(values, col, cmap, na, sheet, tname, problems)
    if failed:
        return None
    out.files = [sheet.path] * n
    out.rows = list(sheet.row_numbers)
    return out


#: Distinct raw values per column whose conversion is remembered (codes and dates repeat).
MEMO_LIMIT = 50_000


def _column(values: list[Any], col: Column, cmap: ColumnMap, na: set[str], sheet: _Sheet,
            tname: str, problems: _Problems) -> list[Any]:
    """Value map → empty cells → contract dtype → scale → allowed codes, for one column.

    Each distinct raw value is converted once (up to :data:`MEMO_LIMIT` of them); problems
    are still reported per row.
    """
    out: list[Any] = []
    memo: dict[tuple[type, Any], tuple[str, Any, Any]] = {}
    convert = _cell_converter(col, cmap, na)
    for i, raw in enumerate(values):
        key = (type(raw), raw)
        try:
            hit = memo.get(key)
        except TypeError:  # an unhashable cell value: convert it alone
            key, hit = None, None  # type: ignore[assignment]
        if hit is None:
            hit = convert(raw)
            if key is not None and len(memo) < MEMO_LIMIT:
                memo[key] = hit
        rule, x, detail = hit
        if rule:
            template, value = detail
            problems.add(sheet.path, tname, col.name, rule, template, sheet.row_numbers[i],
                         value)
        out.append(x)
    return out


def _cell_converter(col: Column, cmap: ColumnMap, na: set[str]):
    """A function raw cell → (rule or "", contract value, (template, shown value))."""
    vmap = cmap.values or {}
    allowed = ", ".join(col.allowed or ())
    unknown = ("unknown code(s) {values}: not in the value map nor the allowed set "
               f"({allowed}); add them to the mapping's `values:` (map a code the contract "
               "does not list to other)")

    def convert(raw: Any) -> tuple[str, Any, Any]:
        v = raw
        if vmap and not isinstance(raw, (datetime, date)):
            key = _text(raw)
            key = "" if key is None else key
            if key in vmap:
                v = vmap[key]
        if v is None or (isinstance(v, str) and v.strip() in na):
            return "", col.default, None
        try:
            x = _convert(v, col.dtype, cmap.format)
        except _Bad as exc:
            return "bad_value", None, (exc.template, exc.value)
        if cmap.scale is not None:
            x = x * cmap.scale
            if col.dtype == "int64":
                x = round(x)
        if col.allowed is not None and x not in col.allowed:
            return "unknown_code", None, (unknown, repr(_text(raw)))
        return "", x, None

    return convert


def _surrogates(sheet: _Sheet, cmap: ColumnMap, counter: list[int]) -> list[str]:
    """Deterministic keys: ``prefix`` + a running row number, or + a hash of the whole row."""
    if cmap.surrogate == "row_number":
        start = counter[0]
        counter[0] += len(sheet.rows)
        return [f"{cmap.prefix}{start + i + 1}" for i in range(len(sheet.rows))]
    keys = []
    for r in sheet.rows:
        text = "\x1f".join("" if v is None else _text(v) for v in r)  # type: ignore[misc]
        keys.append(cmap.prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16])
    return keys


# -- checks over a whole table ----------------------------------------------------------------
def _dedup(t: _Rows, how: str) -> tuple[_Rows, int]:
    if how == "none" or not len(t):
        return t, 0
    key_cols = list(t.spec.primary_key) or list(t.spec.column_names)
    seen: dict[tuple, int] = {}
    order = range(len(t)) if how == "first" else range(len(t) - 1, -1, -1)
    for i in order:
        key = tuple(t.columns[c][i] for c in key_cols)
        if any(k is None for k in key):
            seen[("__row__", i)] = i  # rows without a full key are kept (and reported)
            continue
        seen.setdefault(key, i)
    keep = sorted(seen.values())
    return t.take(keep), len(t) - len(keep)


def _check_rows(t: _Rows, problems: _Problems) -> None:
    """Not-null, ranges and duplicate keys, skipping cells already reported as unconvertible."""
    spec = t.spec
    flagged = problems.flagged
    for col in spec.columns:
        values = t.columns[col.name]
        for i, v in enumerate(values):
            if (str(t.files[i]), t.rows[i], col.name) in flagged:
                continue
            if v is None:
                if not col.nullable:
                    problems.add(t.files[i], spec.name, col.name, "not_null",
                                 "empty value where the contract requires one; fill it in the "
                                 "file or map it with `values:`", t.rows[i])
                continue
            if col.min is not None and v < col.min:
                what = "negative value(s)" if col.min == 0 else "value(s) too small:"
                problems.add(t.files[i], spec.name, col.name, "range",
                             f"{what} {{values}} (must be ≥ {col.min:g}); correct them",
                             t.rows[i], f"{v:g}")
            if col.max is not None and v > col.max:
                problems.add(t.files[i], spec.name, col.name, "range",
                             f"value(s) above the maximum {col.max:g}: {{values}}; correct them",
                             t.rows[i], f"{v:g}")
    if spec.primary_key:
        first: dict[tuple, int] = {}
        for i in range(len(t)):
            key = tuple(t.columns[c][i] for c in spec.primary_key)
            if any(k is None for k in key):
                continue
            if key in first:
                j = first[key]
                shown = ", ".join(f"{c}={k!r}" for c, k in zip(spec.primary_key, key,
                                                                 strict=True))
                problems.add(t.files[i], spec.name, "+".join(spec.primary_key), "duplicate_key",
                             "duplicate key(s), each already in an earlier row: {values}; "
                             "remove the duplicates or set `dedup: first`", t.rows[i],
                             f"{shown} (first in row {t.rows[j]} of {t.files[j].name})")
            else:
                first[key] = i


def _check_references(tables: dict[str, _Rows], failed: set[str], into: Path, replace: bool,
                      problems: _Problems) -> None:
    """Each reference (e.g. user_id → users) must exist among the imported rows or, for a
    table not replaced, in the store; checks against a table that failed to build are skipped.
    """
    try:
        store = duckdb.connect(str(into), read_only=True) if into.exists() else None
    except duckdb.Error as exc:
        raise ImportMappingError(f"{into}: cannot open the store as a DuckDB database ({exc}); "
                                 "give a DuckDB file or a new path") from None
    try:
        store_tables = ({r[0] for r in store.execute("SELECT table_name FROM "
                                                      "information_schema.tables").fetchall()}
                        if store else set())
        for t in tables.values():
            for col, (ref_table, ref_col) in t.spec.references.items():
                values = {v for v in t.columns[col] if v is not None}
                if not values or ref_table in failed:
                    continue
                known: set[Any] = set()
                checkable = False
                if ref_table in tables:
                    known |= {v for v in tables[ref_table].columns[ref_col] if v is not None}
                    checkable = True
                if ref_table in store_tables and (ref_table not in tables or not replace):
                    known |= _store_keys(store, ref_table, ref_col, values - known)
                    checkable = True
                if not checkable:
                    continue  # the referenced table is nowhere: validation skips it too
                for i, v in enumerate(t.columns[col]):
                    if v is not None and v not in known:
                        problems.add(t.files[i], t.spec.name, col, "orphan",
                                     f"{col} not found in {ref_table}.{ref_col}: {{values}}; "
                                     f"import those {ref_table} rows first (or with this file) "
                                     "or drop the rows", t.rows[i], repr(v))
    finally:
        if store is not None:
            store.close()


def _store_keys(store: duckdb.DuckDBPyConnection, table: str, column: str,
                candidates: set[Any]) -> set[Any]:
    """Which of ``candidates`` exist in ``table.column`` of the store (queried, not loaded)."""
    if not candidates:
        return set()
    cand = pa.table({"v": pa.array(sorted(candidates, key=str))})
    store.register("_candidates", cand)
    try:
        rows = store.execute(
            f'SELECT v FROM _candidates WHERE v IN (SELECT "{column}" FROM "{table}")'
        ).fetchall()
    except duckdb.Error:
        return set(candidates)  # incomparable types: the store-wide validation reports it
    finally:
        store.unregister("_candidates")
    return {r[0] for r in rows}


# -- writing ----------------------------------------------------------------------------------
_ARROW_TYPES = {
    "string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "boolean": pa.bool_(),
    "date": pa.date32(), "timestamp": pa.timestamp("us"),
}


def _to_arrow(t: _Rows) -> pa.Table:
    """The table with exactly the contract's column order and dtypes."""
    return pa.table({c.name: pa.array(t.columns[c.name], type=_ARROW_TYPES[c.dtype])
                     for c in t.spec.columns})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_imports(into: Path) -> list[Path]:
    """Delete the temporary copies (``.<store>.<pid>.importing`` and their ``.wal``) that a
    killed import left beside ``into``; a copy whose process still runs is kept.

    Returns the files deleted.
    """
    removed = []
    pattern = re.compile(rf"^\.{re.escape(into.name)}\.(\d+)\.importing(\.wal)?$")
    if not into.parent.is_dir():
        return removed
    for p in into.parent.iterdir():
        m = pattern.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            try:
                p.unlink()
            except FileNotFoundError:
                continue
            removed.append(p)
    return removed


def _write_atomically(into: Path, tables: dict[str, _Rows], replace: bool
                      ) -> ValidationReport:
    """Write ``tables`` (emptied as they are written, to bound memory) into a copy of the
    store, validate the copy, and move it over the store."""
    wal = into.with_name(into.name + ".wal")
    if wal.exists():
        raise ImportMappingError(
            f"{into}: has a write-ahead log {wal.name} (open for writing elsewhere, or not "
            "closed cleanly); close the other program, or open and close the store with duckdb, "
            "and try again")
    into.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_imports(into)
    # not review.core.files.temporary_sibling: the pid in the name lets the next import tell
    # a killed import's copy (its process gone) from a running one's
    tmp = into.with_name(f".{into.name}.{os.getpid()}.importing")
    try:
        if into.exists():
            shutil.copy2(into, tmp)
        con = duckdb.connect(str(tmp))
        try:
            existing = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables").fetchall()}
            names = list(tables)
            for name in names:
                tbl = _to_arrow(tables[name])
                tables[name] = _Rows.empty(tables[name].spec)  # free the Python values
                con.register("_import", tbl)
                if replace or name not in existing:
                    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _import')
                else:
                    con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _import')
                con.unregister("_import")
                del tbl
            con.execute("CHECKPOINT")
        finally:
            con.close()
        icon = connect(tmp)
        try:
            report = validate(icon, tables=names)
        finally:
            icon.disconnect()
        if not report.ok:
            text = report.format(f"{into} (after import)")
            raise ValidationError(
                f"import refused, nothing was written to {into}: the imported tables break the "
                f"data contract together with what the store holds\n{text}", report)
        os.replace(tmp, into)
    finally:
        remove_path(tmp)
    return report


# -- the front door ---------------------------------------------------------------------------
def _match(paths: Sequence[str | Path], mapping: ImportMapping, into: Path
           ) -> dict[int, list[Path]]:
    """Assign each given file to the one mapping source whose `files:` pattern matches it."""
    assigned: dict[int, list[Path]] = {}
    unmatched = []
    for given in paths:
        p = Path(given)
        from_dir = p.is_dir()
        candidates = sorted(x for x in p.iterdir() if x.is_file()) if from_dir else [p]
        if not from_dir and not p.exists():
            raise ImportMappingError(f"{p}: file not found")
        for f in candidates:
            hits = [i for i, s in enumerate(mapping.sources)
                    if any(fnmatch.fnmatch(f.name, pat) for pat in s.files)]
            if len(hits) > 1:
                which = ", ".join(f"sources[{i}]" for i in hits)
                raise ImportMappingError(f"{f}: matches several sources of the mapping ({which}); "
                                         "make their `files:` patterns exclusive")
            if hits:
                assigned.setdefault(hits[0], []).append(f)
            elif not from_dir:
                unmatched.append(f)
    if unmatched:
        pats = "; ".join(", ".join(s.files) for s in mapping.sources)
        raise ImportMappingError(
            f"no mapping source matches {', '.join(str(u) for u in unmatched)} (patterns: "
            f"{pats}); add a source with a matching `files:` pattern")
    if not assigned:
        raise ImportMappingError(f"no files to import into {into}")
    return {i: sorted(set(fs)) for i, fs in sorted(assigned.items())}


def import_files(
    sources: Sequence[str | Path],
    mapping: ImportMapping | str | Path,
    into: str | Path,
    *,
    replace: bool = True,
) -> ImportResult:
    """Import exports into the DuckDB store ``into`` through ``mapping``; all or nothing.

    Parameters
    ----------
    sources
        Export files (``.csv``/``.txt``/``.tsv`` or ``.xlsx``), or folders whose files matching
        a mapping pattern are taken. Each file must match exactly one mapping source.
    mapping
        An :class:`ImportMapping` or the path of its YAML.
    into
        The DuckDB store; created when absent. Only the tables the mapping names are written.
        A relative path is anchored at the project root, as for a period's ``source``.
    replace
        ``True``: each named table is replaced by the imported rows; ``False``: rows are
        appended to an existing table.

    Returns
    -------
    ImportResult
        Tables and rows written, duplicates dropped and the validation report (warnings).

    Raises
    ------
    ImportMappingError
        Invalid mapping, or problems in the files (all listed, with file/table/column/row).
    ValidationError
        The imported tables break the contract together with the store's other tables.
    """
    if not isinstance(mapping, ImportMapping):
        mapping = load_mapping(mapping)
    into = resolve_path(into)
    matched = _match(sources, mapping, into)
    problems = _Problems()
    built: dict[str, _Rows] = {}
    failed: set[str] = set()
    dedup: dict[str, str] = {}
    for i, files in matched.items():
        source = mapping.sources[i]
        counters = {t: [0] for t in source.tables}
        for tname, tmap in source.tables.items():
            prev = dedup.get(tname, "none")
            dedup[tname] = tmap.dedup if tmap.dedup != "none" else prev
        for path in files:
            status = _Reading()
            dead: set[str] = set()  # tables this file cannot feed (reported once)
            for sheet in _read(path, source, problems, status):
                if not _apply_derive(sheet, source, problems):
                    status.failed = True
                    break
                for tname, tmap in source.tables.items():
                    if tname in dead:
                        continue
                    rows = _build(sheet, source, tname, tmap, counters[tname], problems)
                    if rows is None:
                        failed.add(tname)
                        dead.add(tname)
                    elif tname in built:
                        built[tname].extend(rows)
                    else:
                        built[tname] = rows
                    del rows
                sheet = None  # free this chunk's cells before the next one is read
            if status.failed:
                failed.update(source.tables)
    dropped: dict[str, int] = {}
    for tname in list(built):
        built[tname], dropped[tname] = _dedup(built[tname], dedup.get(tname, "none"))
    for t in built.values():
        _check_rows(t, problems)
    _check_references(built, failed, into, replace, problems)
    if problems:
        _raise(problems, into)
    ordered = {t: built[t] for t in TABLES if t in built}
    counts = {t: len(r) for t, r in ordered.items()}
    built.clear()
    report = _write_atomically(into, ordered, replace)
    all_files = tuple(f for fs in matched.values() for f in fs)
    return ImportResult(into, tuple(counts), counts, all_files,
                        {t: dropped.get(t, 0) for t in counts}, report)


__all__ = [
    "ColumnMap",
    "DateParts",
    "ImportMapping",
    "ImportProblem",
    "ImportResult",
    "MixedEncodingError",
    "SourceMap",
    "TableMap",
    "clean_stale_imports",
    "detect_delimiter",
    "detect_encoding",
    "import_files",
    "load_mapping",
]

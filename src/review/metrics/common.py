"""Conventions shared by every metric module.

* A metric function is pure: Ibis table expressions and explicit arguments in, a small
  ``pandas.DataFrame`` out. The heavy work (filters, joins, group-bys, distinct counts) is an
  Ibis expression executed by the engine (DuckDB, Spark, a warehouse); pandas only ever sees
  aggregates. No I/O, no mutation of inputs, no reading of config files.
* A period is a :class:`Window` of calendar dates ``[start, end]`` inclusive. Timestamp
  filters use the half-open interval ``[start 00:00, end + 1 day 00:00)`` so that an event at
  23:59:59 on the last day counts and one at 00:00 the next day does not.
* A ratio whose denominator is zero is ``NaN`` with a reason in the ``note`` column, never an
  exception and never a silent 0 (:func:`safe_ratio`).
* A family module (``acquisition``, ``activity``, …) exposes ``REQUIRES`` (the contract
  tables it needs), ``headline(t, w, p) -> dict[str, Measure]`` for its catalog KPIs
  (:mod:`review.kpis`) and ``breakdowns(t, w, p) -> dict[str, DataFrame]`` for the tables the
  report charts; ``t`` maps table names to Ibis tables, ``w`` is the :class:`Window`, ``p``
  the :class:`~review.config.Params`. ``compute_period`` calls them for the period and the
  comparison period. A family may also expose ``period(t, w, p) -> (headline, breakdowns)``
  computing both with its shared queries run once; ``compute_period`` then uses it.
* A breakdown by a dimension masks cells with fewer than ``k`` users
  (:func:`suppress_small_cells`) and flags them in a ``suppressed`` column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import ibis
import pandas as pd
from ibis import _  # noqa: F401  (re-exported for metric modules)

from review.core.calendar import month_end, month_start


@dataclass(frozen=True)
class Window:
    """Calendar dates ``[start, end]`` inclusive, with engine-side filters."""

    start: date
    end: date

    @property
    def ts_lo(self) -> datetime:
        """First instant inside the window (start 00:00)."""
        return datetime.combine(self.start, time.min)

    @property
    def ts_hi(self) -> datetime:
        """First instant after the window (end + 1 day, 00:00): an exclusive bound."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def has_ts(self, col: ibis.Value) -> ibis.BooleanValue:
        """``col`` (a timestamp) falls inside the window."""
        return (col >= ibis.literal(self.ts_lo)) & (col < ibis.literal(self.ts_hi))

    def has_date(self, col: ibis.Value) -> ibis.BooleanValue:
        """``col`` (a date) falls inside the window."""
        return (col >= ibis.literal(self.start)) & (col <= ibis.literal(self.end))

    def shifted(self, days: int) -> Window:
        return Window(self.start + timedelta(days=days), self.end + timedelta(days=days))


def month_windows(w: Window) -> list[Window]:
    """The calendar months of ``w``, each cut to ``w`` (one window when ``w`` is in one month)."""
    out, start = [], w.start
    while start <= w.end:
        out.append(Window(start, min(w.end, month_end(start))))
        start = month_start(start, 1)
    return out


@dataclass(frozen=True)
class Measure:
    """A headline number as a family's ``headline()`` returns it.

    ``value`` is ``nan`` when it cannot be computed and ``note`` says why. For a ratio,
    ``numerator`` and ``denominator`` carry the counts it came from (they go to metrics.json).
    """

    value: float
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None

    @classmethod
    def ratio(cls, numerator: float, denominator: float, *, what: str = "denominator",
              scale: float = 1.0) -> Measure:
        """``scale × numerator / denominator`` (e.g. ``scale=10_000`` for a rate per 10k)."""
        value, note = safe_ratio(numerator, denominator, what=what)
        return cls(value * scale, float(numerator), float(denominator), note)

    @classmethod
    def missing(cls, note: str) -> Measure:
        return cls(math.nan, note=note)


def elapsed_seconds(later: ibis.TimestampValue, earlier: ibis.TimestampValue
                    ) -> ibis.NumericValue:
    """Whole seconds from ``earlier`` to ``later`` (epoch arithmetic, engine-portable).

    Both sides are truncated to the second first: DuckDB's ``epoch_seconds`` keeps fractions,
    Spark's drops them, and engine ``delta`` means calendar boundaries on one engine and elapsed
    units on the other (docs/spark.md).
    """
    return later.truncate("s").epoch_seconds() - earlier.truncate("s").epoch_seconds()


def with_missing(out: dict[str, Measure], requires: Mapping[str, Iterable[str]],
                 tables: Mapping[str, object]) -> dict[str, Measure]:
    """``out`` completed with a "needs table …" :class:`Measure` for every KPI of
    ``requires`` (KPI → the tables it needs) that was not computed because a table is missing.
    """
    done = dict(out)
    for key, needed in requires.items():
        if key not in done:
            missing = [n for n in needed if n not in tables]
            done[key] = Measure.missing(f"needs table {', '.join(missing)}")
    return done


def safe_ratio(numerator: float, denominator: float, *, what: str = "denominator"
               ) -> tuple[float, str | None]:
    """``numerator / denominator``, or ``(nan, reason)`` when the denominator is 0 or missing."""
    if denominator is None or (isinstance(denominator, float) and math.isnan(denominator)):
        return math.nan, f"{what} is missing"
    if denominator == 0:
        return math.nan, f"{what} is zero"
    return float(numerator) / float(denominator), None


def ratio_column(num: pd.Series, den: pd.Series) -> pd.Series:
    """Element-wise ``num / den`` as float, ``NaN`` where ``den`` is 0 (vectorised safe_ratio)."""
    den = den.astype("float64")
    return (num.astype("float64") / den.where(den != 0)).astype("float64")


def suppress_small_cells(df: pd.DataFrame, users_col: str, k: int,
                         value_cols: Iterable[str] | None = None) -> pd.DataFrame:
    """Mask breakdown cells with fewer than ``k`` users; return a new frame.

    Rows where ``df[users_col] < k`` get ``NaN`` in ``users_col`` and in every column of
    ``value_cols`` (default: every numeric column), and ``suppressed = True``. Dimension
    columns are kept so the reader sees that a cell exists but is too small to show.
    """
    out = df.copy()
    small = out[users_col].astype("float64") < k
    cols = list(value_cols) if value_cols is not None else [
        c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])
    ]
    if users_col not in cols:
        cols.append(users_col)
    for c in cols:
        out[c] = out[c].astype("float64").where(~small)
    out["suppressed"] = small.to_numpy()
    return out


def execute(expr: ibis.Expr) -> pd.DataFrame:
    """Run an Ibis expression on its engine and return a pandas frame with tidy dtypes.

    Engines differ in the resolution of timestamps (Spark ``ns``, DuckDB ``us``) and integer
    widths; results are normalised so that the same metric gives equal frames everywhere.
    """
    df = expr.to_pandas()
    if isinstance(df, pd.Series):
        df = df.to_frame()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[us]")
        elif pd.api.types.is_integer_dtype(df[c]):
            df[c] = df[c].astype("int64")
    return df.reset_index(drop=True)


def scalar(expr: ibis.Scalar) -> float:
    """Execute a scalar expression; ``None``/NA become ``nan``."""
    v = expr.execute()
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return math.nan
    return float(v)

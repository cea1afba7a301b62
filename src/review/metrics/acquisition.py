"""Acquisition: new users and the registered base.

Definitions (P = the window ``[start, end]``, timestamps in the bank's local time)
-------------------------------------------------------------------------------
* **new users** — users with ``registered_at`` in P (``start 00:00 ≤ registered_at <
  end + 1 day 00:00``). Unit: count of users.
* **registered base** — users with ``registered_at`` before ``end + 1 day 00:00``
  (registered on or before P's last day). Unit: count of users.

Headline KPIs: ``new_users``, ``registered_base`` (:data:`review.kpis.KPI_CATALOG`).

Breakdown tables (``breakdowns`` keys; stored as ``acquisition.<name>``)
-----------------------------------------------------------------------
``new_by_channel``
    One row per ``acquisition_channel``: ``new_users`` (count), ``share`` (of all new users
    in P, 0–1), ``suppressed`` (bool). Cells with fewer than ``min_cell_users`` new users
    are masked (NaN).
``new_by_region``
    One row per ``region`` × ``city_tier``: ``new_users``, ``share``, ``suppressed``.
``new_by_city_tier``
    One row per ``city_tier``: ``new_users``, ``share``, ``suppressed``.
``base_by_segment``, ``base_by_age_band``
    The registered base at P's end by ``segment`` / ``age_band``: ``users`` (count),
    ``share`` (of the base, 0–1), ``suppressed``.
``trend``
    One row per calendar month of the 12 ending with the month of P's end: ``month`` (first
    day, a date), ``new_users`` (registered in the month), ``registered_base`` (registered on
    or before the month's last day). The last month is cut at P's end, so a rerun with later
    data gives the same numbers.

Shares are computed before suppression, over all users of P (suppressed cells included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

import ibis
import pandas as pd

from review.config import Params
from review.core.calendar import trend_months
from review.metrics.common import Measure, Window, execute, ratio_column, suppress_small_cells

REQUIRES: tuple[str, ...] = ("users",)

#: a date before any registration: the bucket of users registered before a trend's first month
_BEFORE = date(1900, 1, 1)


def user_counts(users: ibis.Table, w: Window) -> pd.DataFrame:
    """New users in ``w`` and the registered base at ``w.end`` (one scan of ``users``).

    Returns
    -------
    DataFrame
        One row: ``new_users`` (users registered in ``w``) and ``registered_base`` (users
        registered on or before ``w.end``), both counts of users.
    """
    reg = users.registered_at
    expr = users.aggregate(
        new_users=users.user_id.count(where=w.has_ts(reg)),
        registered_base=users.user_id.count(where=reg < ibis.literal(w.ts_hi)),
    )
    return execute(expr)


def new_users_by(users: ibis.Table, w: Window, by: str | Sequence[str], k: int) -> pd.DataFrame:
    """New users in ``w`` by one or more ``users`` columns, small cells suppressed.

    Parameters
    ----------
    users
        The contract ``users`` table.
    w
        The period.
    by
        Dimension column(s) of ``users``, e.g. ``"acquisition_channel"`` or
        ``["region", "city_tier"]``.
    k
        Cells with fewer than ``k`` new users are masked (:func:`suppress_small_cells`).

    Returns
    -------
    DataFrame
        ``*by``, ``new_users`` (count), ``share`` (of all new users in ``w``, 0–1),
        ``suppressed`` (bool); sorted by ``by``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    new = users.filter(w.has_ts(users.registered_at))
    return _counts_by(new, keys, "new_users", k)


def registered_base_by(users: ibis.Table, w: Window, by: str | Sequence[str], k: int
                       ) -> pd.DataFrame:
    """The registered base at ``w.end`` by ``users`` column(s), small cells suppressed.

    Returns
    -------
    DataFrame
        ``*by``, ``users`` (count of users registered on or before ``w.end``), ``share`` (of
        the base, 0–1), ``suppressed`` (bool); sorted by ``by``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    base = users.filter(users.registered_at < ibis.literal(w.ts_hi))
    return _counts_by(base, keys, "users", k)


def user_trend(users: ibis.Table, end: date, months: int = 12) -> pd.DataFrame:
    """Monthly new users and registered base for the ``months`` months ending with ``end``.

    One grouped query: users registered before the first month fall into one extra bucket
    that seeds the cumulative base. Registrations after ``end`` are ignored.

    Returns
    -------
    DataFrame
        ``month`` (first day, date), ``new_users`` (registered in the month, up to ``end``),
        ``registered_base`` (registered on or before the month's last day, or ``end``).
    """
    first = trend_months(end, months)[0]
    reg = users.registered_at
    bucket = ibis.ifelse(reg < ibis.literal(datetime.combine(first, time.min)),
                         ibis.literal(_BEFORE), reg.truncate("M").date())
    hi = datetime.combine(end + timedelta(days=1), time.min)
    expr = (users.filter(reg < ibis.literal(hi))
            .group_by(month=bucket)
            .aggregate(new_users=users.user_id.count()))
    got = execute(expr)
    got["month"] = pd.to_datetime(got["month"]).dt.date
    before = int(got.loc[got["month"] == _BEFORE, "new_users"].sum())
    per_month = dict(zip(got["month"], got["new_users"], strict=True))
    out = pd.DataFrame({"month": trend_months(end, months)})
    out["new_users"] = [int(per_month.get(m, 0)) for m in out["month"]]
    out["registered_base"] = before + out["new_users"].cumsum()
    return out.astype({"new_users": "int64", "registered_base": "int64"})


def unregistered_note(users: ibis.Table) -> str | None:
    """Users without ``registered_at`` (known only from a campaign list) are left out of
    acquisition, funnel and cohort metrics; this note says how many (None when there are none).
    """
    n = int(execute(users.aggregate(n=users.registered_at.isnull().sum())).iloc[0]["n"] or 0)
    return (f"{n} user(s) without a registration date are left out" if n else None)


def with_note(m: Measure, note: str | None) -> Measure:
    """``m`` with ``note`` appended to its own note."""
    if not note:
        return m
    return Measure(m.value, m.numerator, m.denominator, f"{m.note}; {note}" if m.note else note)


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """``new_users`` and ``registered_base`` for ``w`` (counts of users with a registration
    date; the note counts those without one)."""
    row = user_counts(t["users"], w).iloc[0]
    note = unregistered_note(t["users"])
    return {
        "new_users": with_note(Measure(float(row["new_users"])), note),
        "registered_base": with_note(Measure(float(row["registered_base"])), note),
    }


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The acquisition tables of the module docstring (empty dict without ``users``)."""
    if "users" not in t:
        return {}
    users, k = t["users"], p.thresholds.min_cell_users
    return {
        "new_by_channel": new_users_by(users, w, "acquisition_channel", k),
        "new_by_region": new_users_by(users, w, ["region", "city_tier"], k),
        "new_by_city_tier": new_users_by(users, w, "city_tier", k),
        "base_by_segment": registered_base_by(users, w, "segment", k),
        "base_by_age_band": registered_base_by(users, w, "age_band", k),
        "trend": user_trend(users, w.end),
    }


def _counts_by(users: ibis.Table, keys: list[str], name: str, k: int) -> pd.DataFrame:
    """Users per ``keys`` with their share of the total, suppressed below ``k``."""
    expr = users.group_by(keys).aggregate(**{name: users.user_id.count()})
    df = execute(expr).sort_values(keys, ignore_index=True)
    df["share"] = ratio_column(df[name], pd.Series(df[name].sum(), index=df.index))
    return suppress_small_cells(df, name, k)

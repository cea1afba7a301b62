"""Lifecycle: user states, dormancy and reactivation.

Definitions (P = the window ``[start, end]``; D = ``thresholds.dormancy_days``; "active in a
window" = ≥1 ``login`` event in it; windows are calendar dates, timestamps half-open)
------------------------------------------------------------------------------------
* **previous window** — the window of the same length just before P,
  ``[start − len(P), start − 1]`` (for September: Aug 2 – Aug 31).
* **dormancy window** — the D days before P's start, ``[start − D, start − 1]``.
* **dormant at P's start** — registered before P and not active in the dormancy window
  (literally: a user registered fewer than D days before P who never logged in
  counts as dormant too).
* **reactivation rate** (headline ``reactivation_rate``) — users dormant at P's start who
  are active in P ÷ users dormant at P's start. Unit: ratio 0–1.

Every user registered on or before P's end gets exactly one **state**, tested in this order:

=============  ==========================================================================
``new``          registered in P (whether active or not)
``reactivated``  dormant at P's start, active in P (the reactivation numerator)
``dormant``      dormant at P's start, not active in P
``returning``    active in P and in the previous window
``resurrected``  active in P, not in the previous window, but active in the dormancy window
``churned``      active in the previous window, not in P
``inactive``     registered before P, active in the dormancy window but neither in the
                 previous window nor in P
=============  ==========================================================================

``reactivated + dormant`` = users dormant at P's start. ``reactivated + resurrected`` are
the "resurrecting" users (active in P, registered before P, not active in the previous
window) when D ≥ len(P), the normal case.

Logins come from the rollups (:mod:`review.data.rollup`), never from raw events. With a
stored ``user_month``, "logged in during window [a, b]" is read from each (user, month)'s
first and last login day — exact unless [a, b] lies strictly inside one month (e.g. the week
before a one-week P), when the daily ``user_day`` is read instead; a month cut by P's end
always comes from ``user_day``. Without a store everything comes from ``user_day``. The
counts are the same either way.

Breakdown tables (``breakdowns`` keys; stored as ``lifecycle.<name>``)
---------------------------------------------------------------------
``states``
    One row per state in the order above: ``state``, ``users`` (count), ``share`` (of users
    registered by P's end, 0–1), ``suppressed`` (``users`` < ``min_cell_users``).
``trend``
    One row per calendar month of the 12 ending with the month of P's end: ``month`` (first
    day, date), ``dormant_at_start`` (users dormant at the month's first day, count),
    ``reactivated`` (of those, active in the month — up to P's end for the last month),
    ``reactivation_rate`` (ratio 0–1).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

import ibis
import pandas as pd

from review.config import Params
from review.core.calendar import month_start
from review.data.rollup import months_of, rollup, stored
from review.metrics.acquisition import trend_months, user_trend
from review.metrics.common import (
    Measure,
    Window,
    execute,
    month_windows,
    ratio_column,
    suppress_small_cells,
)

REQUIRES: tuple[str, ...] = ("users", "events")

STATES: tuple[str, ...] = (
    "new", "reactivated", "dormant", "returning", "resurrected", "churned", "inactive",
)


def dormancy_window(w: Window, dormancy_days: int) -> Window:
    """The ``dormancy_days`` calendar days before ``w.start``."""
    return Window(w.start - timedelta(days=dormancy_days), w.start - timedelta(days=1))


def login_spans(user_day: ibis.Table, user_month: ibis.Table | None, lo: date, hi: date,
                windows: list[Window]) -> ibis.Table:
    """Login spans of ``[lo, hi]``: ``user_id``, ``first_login``, ``last_login`` (dates), one
    row per (user, month) with a login — or per (user, day) — such that "≥1 login in window
    [a, b]" is exactly "some row with ``first_login ≤ b`` and ``last_login ≥ a``".

    A (user, month) row's logins lie between its first and last login, so the test is exact
    unless ``[a, b]`` lies strictly inside the row's span (the month, cut at ``lo``/``hi``)
    with both first and last login outside it. Month rows (from the stored ``user_month``,
    :func:`review.data.rollup.months_of`; ``lo`` is moved back to its month's first day,
    whose earlier logins the test never counts) are used when ``user_month`` is given and no
    window is strictly inside a span; else one row per login day of ``user_day``.
    """
    if user_month is not None:
        lo_m = month_start(lo)
        spans = month_windows(Window(lo_m, hi))
        if not any(x.start > s.start and x.end < s.end for x in windows for s in spans):
            um = months_of(user_day, user_month, lo_m, hi)
            return um.filter(um.login_days > 0).select("user_id", "first_login", "last_login")
    ud = user_day.filter((user_day.logins > 0) & (user_day.day >= ibis.literal(lo))
                         & (user_day.day <= ibis.literal(hi)))
    return ud.select("user_id", first_login=ud.day, last_login=ud.day)


def _in(spans: ibis.Table, w: Window) -> ibis.BooleanValue:
    """A :func:`login_spans` row has a login in ``w``."""
    return ((spans.first_login <= ibis.literal(w.end))
            & (spans.last_login >= ibis.literal(w.start)))


def user_states(users: ibis.Table, user_day: ibis.Table, w: Window, dormancy_days: int,
                user_month: ibis.Table | None = None) -> ibis.Table:
    """The lifecycle state of every user registered by ``w.end`` (an Ibis expression).

    One pass over the logins of ``[min(previous, dormancy window).start, w.end]``: the
    (user, month) rows of the stored ``user_month`` when given, else the ``user_day`` rows
    (:func:`login_spans`; the states are the same).

    Returns
    -------
    ibis.Table
        ``user_id``, ``state`` (one of :data:`STATES`, see module docstring).
    """
    prev = w.shifted(-w.days)
    dorm = dormancy_window(w, dormancy_days)
    lo = min(prev.start, dorm.start)
    spans = login_spans(user_day, user_month, lo, w.end, [w, prev, dorm])
    flags = spans.group_by("user_id").aggregate(
        n_p=spans.count(where=_in(spans, w)),
        n_prev=spans.count(where=_in(spans, prev)),
        n_dorm=spans.count(where=_in(spans, dorm)),
    )
    base = users.filter(users.registered_at < ibis.literal(w.ts_hi)).select(
        "user_id", "registered_at")
    u = base.left_join(flags, "user_id").select(
        "user_id", "registered_at", "n_p", "n_prev", "n_dorm")
    active = u.n_p.fill_null(0) > 0
    active_prev = u.n_prev.fill_null(0) > 0
    dormant = u.n_dorm.fill_null(0) == 0
    state = ibis.cases(
        (u.registered_at >= ibis.literal(w.ts_lo), "new"),
        (dormant & active, "reactivated"),
        (dormant, "dormant"),
        (active & active_prev, "returning"),
        (active, "resurrected"),
        (active_prev, "churned"),
        else_="inactive",
    )
    return u.select("user_id", state=state)


def lifecycle_counts(users: ibis.Table, user_day: ibis.Table, w: Window, dormancy_days: int,
                     user_month: ibis.Table | None = None) -> pd.DataFrame:
    """Users per lifecycle state in ``w`` (one query; every state listed, 0 when empty).

    Returns
    -------
    DataFrame
        ``state`` (in :data:`STATES` order), ``users`` (count), ``share`` (of users
        registered by ``w.end``, ratio 0–1; NaN when there are none).
    """
    s = user_states(users, user_day, w, dormancy_days, user_month)
    got = execute(s.group_by("state").aggregate(users=s.count())).set_index("state")["users"]
    out = pd.DataFrame({"state": list(STATES)})
    out["users"] = [int(got.get(st, 0)) for st in STATES]
    out["users"] = out["users"].astype("int64")
    out["share"] = ratio_column(out["users"], pd.Series(out["users"].sum(), index=out.index))
    return out


def reactivation_measure(counts: pd.DataFrame) -> Measure:
    """``reactivation_rate`` from :func:`lifecycle_counts`: reactivated ÷ dormant at start."""
    n = counts.set_index("state")["users"]
    dormant_at_start = float(n["reactivated"] + n["dormant"])
    return Measure.ratio(float(n["reactivated"]), dormant_at_start,
                         what="dormant users at the period start")


def lifecycle_trend(users: ibis.Table, user_day: ibis.Table, end: date, dormancy_days: int,
                    months: int = 12, user_month: ibis.Table | None = None) -> pd.DataFrame:
    """Dormant users at each month's start and how many were reactivated in the month.

    One grouped query: logins of ``[first month − D days, end]`` are reduced to one row per
    (user, active month) with the last login date, the previous active month's last login
    date (``lag``) and the next active month (``lead``). A user is *not* dormant at month
    m's start when the latest active month before m has its last login on or after
    ``m − D``; dormant users are the users registered before m minus those. Reactivated:
    active in m, registered before m, and the previous login (if any) before ``m − D``.
    The rows are counted by (month, next active month, last login) — the reactivated ones
    too — and each of the ``months`` target months sums the groups that are still active
    at its start (in pandas), so no row is crossed with the target months.

    The (user, month) rows come from the stored ``user_month`` when given
    (:func:`review.data.rollup.months_of`; the month cut at ``end`` from ``user_day``), else
    from ``user_day``. With a store the first month is read whole from its first day: a
    month whose logins all fall before ``first month − D`` is never "still active" (its last
    login is before every ``m − D``) and, as the previous month of a later one, is treated
    like no previous login (``prev_last < m − D``), so the numbers do not change.

    Returns
    -------
    DataFrame
        ``month``, ``dormant_at_start``, ``reactivated``, ``reactivation_rate``.
    """
    month_list = trend_months(end, months)
    lo = month_list[0] - timedelta(days=dormancy_days)
    if user_month is not None:
        um = months_of(user_day, user_month, month_start(lo), end)
        um = um.filter(um.login_days > 0).select("user_id", "month", "last_login")
    else:  # one group-by over the login days (cheaper than deriving all of user_month)
        ud = user_day.filter((user_day.logins > 0) & (user_day.day >= ibis.literal(lo))
                             & (user_day.day <= ibis.literal(end)))
        um = ud.group_by(user_id=ud.user_id, month=ud.day.truncate("M").cast("date")
                         ).aggregate(last_login=ud.day.max())
    by_user = ibis.window(group_by="user_id", order_by="month")
    um = um.mutate(prev_last=um.last_login.lag().over(by_user),
                   next_month=um.month.lead().over(by_user))
    um = um.join(users.select("user_id", "registered_at"), "user_id")
    targets = ibis.memtable({
        "t_month": month_list,
        "t_from": [m - timedelta(days=dormancy_days) for m in month_list],
        "t_ts": [datetime.combine(m, time.min) for m in month_list],
    })
    # a row is reactivated in its own month only: an equi-join, not a cross join
    x = um.left_join(targets, um.month == targets.t_month)
    back = ((x.registered_at < x.t_ts)
            & (x.prev_last.isnull() | (x.prev_last < x.t_from)))
    # still active at m (month < m ≤ next_month, last_login ≥ m − D) depends on the row only
    # through these three keys: few distinct combinations, counted per target in pandas
    got = execute(x.group_by(["month", "next_month", "last_login"]).aggregate(
        rows=x.count(), reactivated=x.count(where=back)))
    for c in ("month", "next_month", "last_login"):
        got[c] = pd.to_datetime(got[c])
    not_dormant, reactivated = [], []
    for m in month_list:
        ts = pd.Timestamp(m)
        active = ((got["month"] < ts) & (got["next_month"].isna() | (got["next_month"] >= ts))
                  & (got["last_login"] >= pd.Timestamp(m - timedelta(days=dormancy_days))))
        not_dormant.append(int(got.loc[active, "rows"].sum()))
        reactivated.append(int(got.loc[got["month"] == ts, "reactivated"].sum()))
    # users registered before month m = registered base at the end of the month before m
    base_before = user_trend(users, end, months + 1)["registered_base"].iloc[:-1].tolist()
    out = pd.DataFrame({"month": month_list})
    out["dormant_at_start"] = [b - n for b, n in zip(base_before, not_dormant, strict=True)]
    out["reactivated"] = reactivated
    out = out.astype({"dormant_at_start": "int64", "reactivated": "int64"})
    out["reactivation_rate"] = ratio_column(out["reactivated"], out["dormant_at_start"])
    return out


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """``reactivation_rate`` for ``w``."""
    counts = lifecycle_counts(t["users"], rollup(t, "user_day"), w, p.thresholds.dormancy_days,
                              stored(t, "user_month"))
    return {"reactivation_rate": reactivation_measure(counts)}


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The lifecycle tables of the module docstring (empty without users and events)."""
    if "users" not in t or "events" not in t:
        return {}
    d, k = p.thresholds.dormancy_days, p.thresholds.min_cell_users
    user_day, um = rollup(t, "user_day"), stored(t, "user_month")
    states = suppress_small_cells(lifecycle_counts(t["users"], user_day, w, d, um), "users", k)
    return {"states": states,
            "trend": lifecycle_trend(t["users"], user_day, w.end, d, user_month=um)}


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w`` with one state query (the headline
    needs the unsuppressed counts, so it is taken before suppression)."""
    if "users" not in t or "events" not in t:
        return headline(t, w, p), {}
    d, k = p.thresholds.dormancy_days, p.thresholds.min_cell_users
    user_day, um = rollup(t, "user_day"), stored(t, "user_month")
    counts = lifecycle_counts(t["users"], user_day, w, d, um)
    return {"reactivation_rate": reactivation_measure(counts)}, {
        "states": suppress_small_cells(counts, "users", k),
        "trend": lifecycle_trend(t["users"], user_day, w.end, d, user_month=um)}

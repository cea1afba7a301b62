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

Logins come from the daily rollup ``user_day`` (:mod:`review.data.rollup`), never from raw
events.

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
from review.data.rollup import rollup
from review.metrics.acquisition import trend_months, user_trend
from review.metrics.common import (
    Measure,
    Window,
    execute,
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


def user_states(users: ibis.Table, user_day: ibis.Table, w: Window, dormancy_days: int
                ) -> ibis.Table:
    """The lifecycle state of every user registered by ``w.end`` (an Ibis expression).

    One pass over the ``user_day`` logins of ``[min(previous, dormancy window).start, w.end]``.

    Returns
    -------
    ibis.Table
        ``user_id``, ``state`` (one of :data:`STATES`, see module docstring).
    """
    prev = w.shifted(-w.days)
    dorm = dormancy_window(w, dormancy_days)
    lo = min(prev.start, dorm.start)
    ud = user_day
    logins = ud.filter((ud.logins > 0) & (ud.day >= ibis.literal(lo))
                       & (ud.day <= ibis.literal(w.end)))
    flags = logins.group_by("user_id").aggregate(
        n_p=logins.logins.sum(where=w.has_date(logins.day)),
        n_prev=logins.logins.sum(where=prev.has_date(logins.day)),
        n_dorm=logins.logins.sum(where=dorm.has_date(logins.day)),
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


def lifecycle_counts(users: ibis.Table, user_day: ibis.Table, w: Window, dormancy_days: int
                     ) -> pd.DataFrame:
    """Users per lifecycle state in ``w`` (one query; every state listed, 0 when empty).

    Returns
    -------
    DataFrame
        ``state`` (in :data:`STATES` order), ``users`` (count), ``share`` (of users
        registered by ``w.end``, ratio 0–1; NaN when there are none).
    """
    s = user_states(users, user_day, w, dormancy_days)
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
                    months: int = 12) -> pd.DataFrame:
    """Dormant users at each month's start and how many were reactivated in the month.

    One grouped ``user_day`` query: logins of ``[first month − D days, end]`` are reduced to one
    row per (user, active month) with the last login date, the previous active month's last
    login date (``lag``) and the next active month (``lead``), then crossed with the
    ``months`` target months. A user is *not* dormant at month m's start when the latest
    active month before m has its last login on or after ``m − D``; dormant users are the
    users registered before m minus those. Reactivated: active in m, registered before m,
    and the previous login (if any) before ``m − D``.

    Returns
    -------
    DataFrame
        ``month``, ``dormant_at_start``, ``reactivated``, ``reactivation_rate``.
    """
    month_list = trend_months(end, months)
    lo = month_list[0] - timedelta(days=dormancy_days)
    ud = user_day
    logins = ud.filter((ud.logins > 0) & (ud.day >= ibis.literal(lo))
                       & (ud.day <= ibis.literal(end)))
    day = logins.day
    um = logins.group_by(user_id=logins.user_id, month=day.truncate("M").cast("date")
                         ).aggregate(last_login=day.max())
    by_user = ibis.window(group_by="user_id", order_by="month")
    um = um.mutate(prev_last=um.last_login.lag().over(by_user),
                   next_month=um.month.lead().over(by_user))
    um = um.join(users.select("user_id", "registered_at"), "user_id")
    targets = ibis.memtable({
        "t_month": month_list,
        "t_from": [m - timedelta(days=dormancy_days) for m in month_list],
        "t_ts": [datetime.combine(m, time.min) for m in month_list],
    })
    x = um.cross_join(targets)
    still_active = ((x.month < x.t_month)
                    & (x.next_month.isnull() | (x.next_month >= x.t_month))
                    & (x.last_login >= x.t_from))
    back = ((x.month == x.t_month) & (x.registered_at < x.t_ts)
            & (x.prev_last.isnull() | (x.prev_last < x.t_from)))
    got = execute(x.group_by(month=x.t_month).aggregate(
        not_dormant=x.count(where=still_active), reactivated=x.count(where=back)))
    got["month"] = pd.to_datetime(got["month"]).dt.date
    got = got.set_index("month")
    # users registered before month m = registered base at the end of the month before m
    base_before = user_trend(users, end, months + 1)["registered_base"].iloc[:-1].tolist()
    out = pd.DataFrame({"month": month_list})
    not_dormant = [int(got["not_dormant"].get(m, 0)) for m in month_list]
    out["dormant_at_start"] = [b - n for b, n in zip(base_before, not_dormant, strict=True)]
    out["reactivated"] = [int(got["reactivated"].get(m, 0)) for m in month_list]
    out = out.astype({"dormant_at_start": "int64", "reactivated": "int64"})
    out["reactivation_rate"] = ratio_column(out["reactivated"], out["dormant_at_start"])
    return out


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """``reactivation_rate`` for ``w``."""
    counts = lifecycle_counts(t["users"], rollup(t, "user_day"), w, p.thresholds.dormancy_days)
    return {"reactivation_rate": reactivation_measure(counts)}


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The lifecycle tables of the module docstring (empty without users and events)."""
    if "users" not in t or "events" not in t:
        return {}
    d, k = p.thresholds.dormancy_days, p.thresholds.min_cell_users
    user_day = rollup(t, "user_day")
    states = suppress_small_cells(lifecycle_counts(t["users"], user_day, w, d), "users", k)
    return {"states": states, "trend": lifecycle_trend(t["users"], user_day, w.end, d)}


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w`` with one state query (the headline
    needs the unsuppressed counts, so it is taken before suppression)."""
    if "users" not in t or "events" not in t:
        return headline(t, w, p), {}
    d, k = p.thresholds.dormancy_days, p.thresholds.min_cell_users
    user_day = rollup(t, "user_day")
    counts = lifecycle_counts(t["users"], user_day, w, d)
    return {"reactivation_rate": reactivation_measure(counts)}, {
        "states": suppress_small_cells(counts, "users", k),
        "trend": lifecycle_trend(t["users"], user_day, w.end, d)}

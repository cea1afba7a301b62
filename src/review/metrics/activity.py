"""Activity: active users, MAU ratio, stickiness, logins and light operations.

Definitions (P = the window ``[start, end]``; an event is in P when ``start 00:00 ≤ ts <
end + 1 day 00:00``; a day is a calendar date of ``ts``, the bank's local time)
--------------------------------------------------------------------------------------
* **active user on day d** — a user with ≥1 ``login`` event on d; **DAU(d)** is their count.
* **active user-day** — a (user, day) pair with ≥1 login; their count is the sum of DAU.
* **period active users** (``active_users``; MAU for a month) — distinct users with ≥1
  login in P. Unit: count.
* **MAU ratio** (``mau_ratio``, 月活占比) — period active users ÷ registered base at P's end
  (:func:`review.metrics.acquisition.user_counts`). Unit: ratio 0–1.
* **stickiness** — mean DAU over *all* days of P (days without logins count as 0) ÷ period
  active users = active user-days ÷ (days of P × period active users). Unit: ratio 0–1.
* **logins per active day** — logins in P ÷ active user-days in P. Unit: logins per day.
* **feature event** — any event other than ``login``, ``bind_card`` and ``crash``
  (:data:`NON_FEATURE_EVENTS`): ``account_query``, ``transfer``, ``wealth``, …
* **light-operation share** (``light_op_share``) — feature events whose ``event`` is in the
  light set (``thresholds.light_ops``, default account_query, transfer, wealth) ÷ all
  feature events in P. Unit: ratio 0–1.
* **feature usage rate** of feature f — users with ≥1 f event in P ÷ period active users;
  both by segment (functional layering). By this definition the numerator is not
  restricted to users who logged in, so the rate can exceed 1 only if the data has feature
  events without a login in P.

All headline KPIs come from one query over the rollups ``user_month`` (the period's whole
calendar months), ``user_day`` (the days of a month the period cuts) and ``feature_day``
(:mod:`review.data.rollup`; :func:`activity_counts`); raw events are read only to build them.
Without a stored ``user_month`` the same numbers come from ``user_day`` alone.

Breakdown tables (``breakdowns`` keys; stored as ``activity.<name>``)
--------------------------------------------------------------------
``dau``
    One row per day of P: ``date``, ``dau`` (users with ≥1 login), ``logins`` (count).
    Days without logins are present with 0.
``feature_usage_by_segment``
    One row per ``segment`` × ``feature`` used in P by someone of a segment with active
    users (features nobody used are absent): ``users`` (users with ≥1 event of the feature),
    ``active_users`` (the segment's period active users), ``usage_rate`` (ratio 0–1),
    ``suppressed``. A cell is masked when ``users`` or ``active_users`` is below
    ``min_cell_users``.
``light_ops``
    One row per feature seen in P: ``feature``, ``events`` (count), ``share`` (of all feature
    events, 0–1), ``light`` (bool: in the light set). Event counts, not user cells: not
    suppressed.
``trend``
    One row per calendar month of the 12 ending with the month of P's end (the last one cut
    at P's end): ``month`` (first day, date), ``active_users`` (MAU), ``registered_base``,
    ``mau_ratio``, ``logins``, ``active_user_days``, ``logins_per_active_day``,
    ``stickiness`` (over the month's days up to P's end).
``logins_by_platform``
    One row per ``platform`` (``unknown`` when null): ``logins``, ``users`` (distinct users
    with a login on it), ``share`` (of logins, 0–1), ``suppressed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import ibis
import pandas as pd

from review.config import Params
from review.core.calendar import days_in_month
from review.data.rollup import months_of, rollup, stored
from review.metrics.acquisition import trend_months, user_counts, user_trend
from review.metrics.common import (
    Measure,
    Window,
    execute,
    ratio_column,
    suppress_small_cells,
)

REQUIRES: tuple[str, ...] = ("users", "events")

#: events that are not feature events
NON_FEATURE_EVENTS: tuple[str, ...] = ("login", "bind_card", "crash")


def _is_feature(event: ibis.StringValue) -> ibis.BooleanValue:
    return event.notin(NON_FEATURE_EVENTS)


def activity_counts(user_day: ibis.Table, feature_day: ibis.Table, w: Window,
                    light_ops: Sequence[str], user_month: ibis.Table | None = None
                    ) -> pd.DataFrame:
    """The counts behind every activity KPI, from the rollups (one engine query).

    The (user, month) rows of ``w`` (:func:`review.data.rollup.months_of`: whole months from
    the stored ``user_month`` when given, cut months and no store from ``user_day``) are
    summed per user, then over users; the light events come from ``feature_day``.

    Returns
    -------
    DataFrame
        One row: ``logins`` (login events), ``active_users`` (distinct users with a login),
        ``active_user_days`` ((user, day) pairs with a login), ``feature_events`` (feature
        events, see module docstring) and ``light_events`` (feature events in
        ``light_ops``); all counts, 0 when P has no events.
    """
    um = months_of(user_day, user_month, w.start, w.end)
    per_user = um.group_by("user_id").aggregate(n_login=um.logins.sum(),
                                                n_days=um.login_days.sum(),
                                                n_feature=um.feature_events.sum())
    users = per_user.aggregate(
        logins=per_user.n_login.sum(),
        active_users=per_user.count(where=per_user.n_days > 0),
        active_user_days=per_user.n_days.sum(),
        feature_events=per_user.n_feature.sum(),
    )
    fd = feature_day.filter(w.has_date(feature_day.day)
                            & feature_day.feature.isin(tuple(light_ops)))
    light = fd.aggregate(light_events=fd.events.sum())
    return execute(users.cross_join(light)).fillna(0).astype("int64")


def activity_kpis(counts: pd.Series, registered_base: float, days: int) -> dict[str, Measure]:
    """The activity KPIs from :func:`activity_counts` (one row), the base and P's length.

    ``active_users`` (count), ``mau_ratio`` (active ÷ base), ``stickiness`` (user-days ÷
    (days × active)), ``logins_per_active_day`` (logins ÷ user-days), ``light_op_share``
    (light ÷ feature events). A zero denominator gives NaN with a note.
    """
    active, user_days = float(counts["active_users"]), float(counts["active_user_days"])
    sticky = Measure.ratio(user_days / days, active, what="period active users")
    return {
        "active_users": Measure(active),
        "mau_ratio": Measure.ratio(active, registered_base, what="registered base"),
        "stickiness": Measure(sticky.value, user_days, days * active, sticky.note),
        "logins_per_active_day": Measure.ratio(float(counts["logins"]), user_days,
                                               what="active user-days"),
        "light_op_share": Measure.ratio(float(counts["light_events"]),
                                        float(counts["feature_events"]),
                                        what="feature events"),
    }


def daily_active_users(user_day: ibis.Table, w: Window) -> pd.DataFrame:
    """DAU and logins for every day of ``w`` from ``user_day`` (days without logins give 0).

    Returns
    -------
    DataFrame
        ``date`` (date), ``dau`` (users with ≥1 login that day), ``logins`` (count).
    """
    ud = user_day.filter(w.has_date(user_day.day) & (user_day.logins > 0))
    expr = ud.group_by(date=ud.day).aggregate(dau=ud.user_id.nunique(), logins=ud.logins.sum())
    got = execute(expr)
    got["date"] = pd.to_datetime(got["date"]).dt.date
    by_day = got.set_index("date")
    days = [w.start + timedelta(days=i) for i in range(w.days)]
    out = pd.DataFrame({"date": days})
    for c in ("dau", "logins"):
        out[c] = [int(by_day[c].get(d, 0)) for d in days]
    return out.astype({"dau": "int64", "logins": "int64"})


def feature_usage_by(user_day: ibis.Table, feature_day: ibis.Table, users: ibis.Table,
                     w: Window, by: str, k: int, user_month: ibis.Table | None = None
                     ) -> pd.DataFrame:
    """Feature usage rate by a ``users`` column (functional layering), from the rollups.

    usage_rate(g, f) = users of group g with ≥1 event of feature f in ``w`` ÷ period active
    users of g (≥1 login in ``w``). The active users come from the (user, month) rows of
    ``w`` (:func:`review.data.rollup.months_of`) when ``user_month`` is given, else from
    ``user_day``; the feature users from ``feature_day``.

    Returns
    -------
    DataFrame
        ``by``, ``feature``, ``users``, ``active_users``, ``usage_rate`` (ratio 0–1),
        ``suppressed`` (cells where ``users`` or ``active_users`` < ``k``), sorted by
        ``by`` and ``feature``.
    """
    if user_month is not None:
        active = months_of(user_day, user_month, w.start, w.end)
        active = active.filter(active.login_days > 0)
    else:
        active = user_day.filter(w.has_date(user_day.day) & (user_day.logins > 0))
    fd = feature_day.filter(w.has_date(feature_day.day))
    pairs = active.select("user_id", event=ibis.literal("login")).union(
        fd.select("user_id", event=fd.feature), distinct=True)
    joined = pairs.join(users.select("user_id", by), "user_id")
    expr = joined.group_by([by, "event"]).aggregate(users=joined.count())
    got = execute(expr)
    active = got[got["event"] == "login"].set_index(by)["users"]
    out = got[(got["event"] != "login") & got[by].isin(active.index)]
    out = out.rename(columns={"event": "feature"}).sort_values([by, "feature"], ignore_index=True)
    out["active_users"] = out[by].map(active).astype("int64")
    out["usage_rate"] = ratio_column(out["users"], out["active_users"])
    out["_cell"] = out[["users", "active_users"]].min(axis=1)
    return suppress_small_cells(out, "_cell", k).drop(columns="_cell")


def light_op_detail(feature_day: ibis.Table, w: Window, light_ops: Sequence[str]
                    ) -> pd.DataFrame:
    """Feature events in ``w`` by feature (from ``feature_day``), share and light-set flag.

    Returns
    -------
    DataFrame
        ``feature``, ``events`` (count), ``share`` (of all feature events in ``w``, 0–1),
        ``light`` (bool), sorted by ``events`` descending then ``feature``.
    """
    fd = feature_day.filter(w.has_date(feature_day.day))
    got = execute(fd.group_by("feature").aggregate(events=fd.events.sum()))
    got = got.sort_values(["events", "feature"], ascending=[False, True], ignore_index=True)
    got["share"] = ratio_column(got["events"], pd.Series(got["events"].sum(), index=got.index))
    got["light"] = got["feature"].isin(list(light_ops)).astype(bool)
    return got


def activity_trend(user_day: ibis.Table, users: ibis.Table, end: date, months: int = 12,
                   user_month: ibis.Table | None = None) -> pd.DataFrame:
    """Monthly MAU, MAU ratio, logins per active day and stickiness, from the rollups.

    Months are the ``months`` calendar months ending with the month of ``end``; the last one
    is cut at ``end``. Per month: MAU = distinct users with a login (count); MAU ratio = MAU ÷
    registered base at the month's (cut) end (0–1); logins per active day = logins ÷ active
    user-days; stickiness = active user-days ÷ (days × MAU) (0–1).

    The (user, month) rows (:func:`review.data.rollup.months_of`) come from the stored
    ``user_month`` for whole months and from ``user_day`` for the last month when ``end``
    cuts it (or for every month without a store); one group-by over them, which the engine
    can spill to disk: distinct users are rows, so no distinct-count hash table over a
    month's users is held in memory.

    Returns
    -------
    DataFrame
        ``month``, ``active_users``, ``registered_base``, ``mau_ratio``, ``logins``,
        ``active_user_days``, ``logins_per_active_day``, ``stickiness``.
    """
    month_list = trend_months(end, months)
    um = months_of(user_day, user_month, month_list[0], end)
    um = um.filter(um.login_days > 0)
    expr = um.group_by("month").aggregate(
        active_users=um.count(),
        logins=um.logins.sum(),
        active_user_days=um.login_days.sum(),
    )
    got = execute(expr)
    got["month"] = pd.to_datetime(got["month"]).dt.date
    got = got.set_index("month")
    out = user_trend(users, end, months)[["month", "registered_base"]]
    for c in ("active_users", "logins", "active_user_days"):
        out[c] = [int(got[c].get(m, 0)) for m in out["month"]]
    days = [min(days_in_month(m), (end - m).days + 1)
            for m in out["month"]]
    out["mau_ratio"] = ratio_column(out["active_users"], out["registered_base"])
    out["logins_per_active_day"] = ratio_column(out["logins"], out["active_user_days"])
    out["stickiness"] = ratio_column(out["active_user_days"],
                                     pd.Series(days, index=out.index) * out["active_users"])
    return out[["month", "active_users", "registered_base", "mau_ratio", "logins",
                "active_user_days", "logins_per_active_day", "stickiness"]]


def logins_by(user_day: ibis.Table, w: Window, by: str, k: int) -> pd.DataFrame:
    """Logins in ``w`` by a ``user_day`` key (``platform``); null shown as ``unknown``.

    Returns
    -------
    DataFrame
        ``by``, ``logins`` (count), ``users`` (distinct users), ``share`` (of logins, 0–1),
        ``suppressed`` (``users`` < ``k``), sorted by ``by``.
    """
    ud = user_day.filter(w.has_date(user_day.day) & (user_day.logins > 0))
    key = ud[by].cast("string").fill_null("unknown")
    expr = ud.group_by(**{by: key}).aggregate(logins=ud.logins.sum(),
                                              users=ud.user_id.nunique())
    got = execute(expr).sort_values(by, ignore_index=True)
    got["share"] = ratio_column(got["logins"], pd.Series(got["logins"].sum(), index=got.index))
    return suppress_small_cells(got, "users", k)


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The activity KPIs for ``w``: one rollup query plus one users query (``t``'s stored
    ``user_month`` is used when present)."""
    counts = activity_counts(rollup(t, "user_day"), rollup(t, "feature_day"), w,
                             p.thresholds.light_ops, stored(t, "user_month")).iloc[0]
    base = float(user_counts(t["users"], w)["registered_base"].iloc[0])
    return activity_kpis(counts, base, w.days)


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The activity tables of the module docstring (those whose tables are present)."""
    if "events" not in t:
        return {}
    k, light = p.thresholds.min_cell_users, p.thresholds.light_ops
    ud, fd, um = rollup(t, "user_day"), rollup(t, "feature_day"), stored(t, "user_month")
    out = {
        "dau": daily_active_users(ud, w),
        "light_ops": light_op_detail(fd, w, light),
        "logins_by_platform": logins_by(ud, w, "platform", k),
    }
    if "users" in t:
        out["feature_usage_by_segment"] = feature_usage_by(ud, fd, t["users"], w, "segment", k,
                                                           um)
        out["trend"] = activity_trend(ud, t["users"], w.end, user_month=um)
    return out

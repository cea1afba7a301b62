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

All headline KPIs come from one query over P's events (:func:`activity_counts`).

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
from review.data.rollup import rollup
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


def activity_counts(events: ibis.Table, w: Window, light_ops: Sequence[str]) -> pd.DataFrame:
    """The raw counts behind every activity KPI, in one query over P's events.

    Events in ``w`` are grouped by (user, day), then summed, so ``events`` is scanned once.

    Returns
    -------
    DataFrame
        One row: ``logins`` (login events), ``active_users`` (distinct users with a login),
        ``active_user_days`` ((user, day) pairs with a login), ``feature_events`` (feature
        events, see module docstring) and ``light_events`` (feature events in
        ``light_ops``); all counts, 0 when P has no events.
    """
    e = events.filter(w.has_ts(events.ts))
    per_day = e.group_by(user_id=e.user_id, day=e.ts.date()).aggregate(
        n_login=e.count(where=e.event == "login"),
        n_feature=e.count(where=_is_feature(e.event)),
        n_light=e.count(where=e.event.isin(tuple(light_ops))),
    )
    has_login = per_day.n_login > 0
    expr = per_day.aggregate(
        logins=per_day.n_login.sum(),
        active_users=per_day.user_id.nunique(where=has_login),
        active_user_days=per_day.count(where=has_login),
        feature_events=per_day.n_feature.sum(),
        light_events=per_day.n_light.sum(),
    )
    return execute(expr).fillna(0).astype("int64")


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


def daily_active_users(events: ibis.Table, w: Window) -> pd.DataFrame:
    """DAU and logins for every day of ``w`` (days without logins give 0).

    Returns
    -------
    DataFrame
        ``date`` (date), ``dau`` (users with ≥1 login that day), ``logins`` (count).
    """
    e = events.filter(w.has_ts(events.ts) & (events.event == "login"))
    expr = e.group_by(date=e.ts.date()).aggregate(dau=e.user_id.nunique(), logins=e.count())
    got = execute(expr)
    got["date"] = pd.to_datetime(got["date"]).dt.date
    by_day = got.set_index("date")
    days = [w.start + timedelta(days=i) for i in range(w.days)]
    out = pd.DataFrame({"date": days})
    for c in ("dau", "logins"):
        out[c] = [int(by_day[c].get(d, 0)) for d in days]
    return out.astype({"dau": "int64", "logins": "int64"})


def feature_usage_by(events: ibis.Table, users: ibis.Table, w: Window, by: str, k: int
                     ) -> pd.DataFrame:
    """Feature usage rate by a ``users`` column (functional layering), one events scan.

    usage_rate(g, f) = users of group g with ≥1 event of feature f in ``w`` ÷ period active
    users of g (≥1 login in ``w``).

    Returns
    -------
    DataFrame
        ``by``, ``feature``, ``users``, ``active_users``, ``usage_rate`` (ratio 0–1),
        ``suppressed`` (cells where ``users`` or ``active_users`` < ``k``), sorted by
        ``by`` and ``feature``.
    """
    wanted = (events.event == "login") | _is_feature(events.event)
    e = events.filter(w.has_ts(events.ts) & wanted)
    pairs = e.select("user_id", "event").distinct()
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


def light_op_detail(events: ibis.Table, w: Window, light_ops: Sequence[str]) -> pd.DataFrame:
    """Feature events in ``w`` by feature, with their share and light-set flag.

    Returns
    -------
    DataFrame
        ``feature``, ``events`` (count), ``share`` (of all feature events in ``w``, 0–1),
        ``light`` (bool), sorted by ``events`` descending then ``feature``.
    """
    e = events.filter(w.has_ts(events.ts) & _is_feature(events.event))
    got = execute(e.group_by(feature=e.event).aggregate(events=e.count()))
    got = got.sort_values(["events", "feature"], ascending=[False, True], ignore_index=True)
    got["share"] = ratio_column(got["events"], pd.Series(got["events"].sum(), index=got.index))
    got["light"] = got["feature"].isin(list(light_ops)).astype(bool)
    return got


def activity_trend(user_day: ibis.Table, users: ibis.Table, end: date, months: int = 12
                   ) -> pd.DataFrame:
    """Monthly MAU, MAU ratio, logins per active day and stickiness, from ``user_day``.

    Months are the ``months`` calendar months ending with the month of ``end``; the last one
    is cut at ``end``. Per month: MAU = distinct users with a login; MAU ratio = MAU ÷
    registered base at the month's (cut) end; logins per active day = logins ÷ active
    user-days; stickiness = active user-days ÷ (days × MAU).

    Computed as three group-bys, each of which the engine can spill to disk: the daily rollup
    (user, day[, platform]) → (user, day) → (user, month) → month; distinct users are the
    rows of the (user, month) step, so no distinct-count hash table over a month's users is
    held in memory.

    Returns
    -------
    DataFrame
        ``month``, ``active_users``, ``registered_base``, ``mau_ratio``, ``logins``,
        ``active_user_days``, ``logins_per_active_day``, ``stickiness``.
    """
    month_list = trend_months(end, months)
    ud = user_day.filter((user_day.logins > 0) & (user_day.day >= ibis.literal(month_list[0]))
                         & (user_day.day <= ibis.literal(end)))
    per_day = ud.group_by(["user_id", "day"]).aggregate(n=ud.logins.sum())
    per_month = per_day.group_by(user_id=per_day.user_id,
                                 month=per_day.day.truncate("M").cast("date")).aggregate(
        n=per_day.n.sum(), days=per_day.count())
    expr = per_month.group_by("month").aggregate(
        active_users=per_month.count(),
        logins=per_month.n.sum(),
        active_user_days=per_month.days.sum(),
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


def logins_by(events: ibis.Table, w: Window, by: str, k: int) -> pd.DataFrame:
    """Logins in ``w`` by an ``events`` column (e.g. ``platform``); null shown as ``unknown``.

    Returns
    -------
    DataFrame
        ``by``, ``logins`` (count), ``users`` (distinct users), ``share`` (of logins, 0–1),
        ``suppressed`` (``users`` < ``k``), sorted by ``by``.
    """
    e = events.filter(w.has_ts(events.ts) & (events.event == "login"))
    key = e[by].cast("string").fill_null("unknown")
    expr = e.group_by(**{by: key}).aggregate(logins=e.count(), users=e.user_id.nunique())
    got = execute(expr).sort_values(by, ignore_index=True)
    got["share"] = ratio_column(got["logins"], pd.Series(got["logins"].sum(), index=got.index))
    return suppress_small_cells(got, "users", k)


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The activity KPIs for ``w``: one events query plus one users query."""
    counts = activity_counts(t["events"], w, p.thresholds.light_ops).iloc[0]
    base = float(user_counts(t["users"], w)["registered_base"].iloc[0])
    return activity_kpis(counts, base, w.days)


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The activity tables of the module docstring (those whose tables are present)."""
    if "events" not in t:
        return {}
    events, k, light = t["events"], p.thresholds.min_cell_users, p.thresholds.light_ops
    out = {
        "dau": daily_active_users(events, w),
        "light_ops": light_op_detail(events, w, light),
        "logins_by_platform": logins_by(events, w, "platform", k),
    }
    if "users" in t:
        out["feature_usage_by_segment"] = feature_usage_by(events, t["users"], w, "segment", k)
        out["trend"] = activity_trend(rollup(t, "user_day"), t["users"], w.end)
    return out

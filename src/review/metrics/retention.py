"""Retention: day-N retention of P's new users and weekly cohort triangles.

Definitions (P = the window ``[start, end]``; days are calendar dates in the bank's local time)
-------------------------------------------------------------------------------------------
* **day-N retention** of P's new users — among users registered in P, the share with a
  ``login`` on exactly the calendar date ``date(registered_at) + N``. A user's day N is
  *observable* iff ``date(registered_at) + N ≤ until`` (default: P's end). Users whose day N
  is not observable are excluded from the denominator and counted in ``excluded_users``;
  logins after ``until`` are never used, so the number does not change when later data
  arrives. Consequence: for a monthly P, day 30 is observable only for users registered on
  the 1st of a 31-day month (pass a later ``until`` to follow users up beyond P).
  Unit: ratio 0–1.
* **d7_retention** (headline) — day-7 retention as above; ``Measure.note`` states how many
  new users were excluded.
* **weekly cohort retention** — cohort w = users registered in ISO week w (weeks start on
  Monday), for the ``weeks`` (12) cohort weeks ending with the week of P's end; users
  registered after P's end are left out. retention(w, k) = share of the cohort with ≥1 login
  in week w + k, k = 0 … weeks − 1. A week is *observable* iff it ended on or before P's end
  (its Sunday ≤ end); cells in unobservable weeks are NaN (blank), never 0. A cell in an
  observable week where nobody logged in is 0.

Input: logins come from the daily rollup ``user_day`` (:mod:`review.data.rollup`; a user-day
with ``logins > 0``), never from raw events.

Calendar arithmetic: no engine-side date differences are used (``delta`` counts calendar
boundaries on DuckDB but elapsed units on Spark). Day N is matched by comparing the login's
date with ``registered date + interval N days``; week offsets are computed in pandas from
the (cohort week, login week) Monday dates the engine returns.

Breakdown tables (``breakdowns`` keys; stored as ``retention.<name>``)
---------------------------------------------------------------------
``cohorts``
    Long form of the cohort triangle, one row per cohort × week offset (weeks² rows):
    ``cohort_week`` (Monday, date), ``week`` (offset k, int), ``cohort_users`` (count),
    ``retained_users`` (count, NaN when unobservable), ``retention`` (0–1, NaN when
    unobservable), ``observable`` (bool), ``suppressed`` (bool: cohort smaller than
    ``min_cell_users``; its numbers are masked). Pivot ``retention`` on ``cohort_week`` ×
    ``week`` to draw the triangle.
``day_n``
    Day-1/7/30 retention of P's new users: ``day`` (N), ``new_users``, ``eligible_users``
    (day N observable), ``excluded_users``, ``retained_users``, ``retention`` (0–1; NaN
    when nobody is eligible).
``by_channel``
    Day-7/30 retention by ``acquisition_channel``: the ``day_n`` columns plus
    ``acquisition_channel`` and ``suppressed`` (``eligible_users`` < ``min_cell_users``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

import ibis
import pandas as pd

from review.config import Params
from review.data.rollup import rollup
from review.metrics.acquisition import unregistered_note, with_note
from review.metrics.common import (
    Measure,
    Window,
    execute,
    ratio_column,
    suppress_small_cells,
)

REQUIRES: tuple[str, ...] = ("users", "events")

DAY_N: tuple[int, ...] = (1, 7, 30)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time.min)


def login_days(user_day: ibis.Table, lo: date, hi: date) -> ibis.Table:
    """``user_id``, ``day`` of the user-days with ≥1 login in ``[lo, hi)`` (may repeat a
    (user, day) once per platform; count distinct users)."""
    return user_day.filter((user_day.logins > 0) & (user_day.day >= ibis.literal(lo))
                           & (user_day.day < ibis.literal(hi))).select("user_id", "day")


def day_n_retention(users: ibis.Table, user_day: ibis.Table, w: Window,
                    days: Sequence[int] = DAY_N, *, by: str | None = None,
                    until: date | None = None) -> pd.DataFrame:
    """Day-N retention of the users registered in ``w`` (one users query, one rollup query).

    Parameters
    ----------
    users, user_day
        The contract ``users`` table and the ``user_day`` rollup.
    w
        The period whose new users form the cohort.
    days
        The N values (calendar days after the registration date).
    by
        Optional ``users`` column to break the cohort down by (e.g. ``acquisition_channel``).
    until
        Last date of follow-up (default ``w.end``): day N is observable iff
        ``date(registered_at) + N ≤ until``; logins after ``until`` are ignored.

    Returns
    -------
    DataFrame
        ``[by,] day, new_users, eligible_users, excluded_users, retained_users, retention``;
        retention = retained ÷ eligible (ratio 0–1, NaN when nobody is eligible). Counts of
        users. Sorted by ``by`` then ``day``.
    """
    until = w.end if until is None else until
    keys = [by] if by else []
    new = users.filter(w.has_ts(users.registered_at))
    # observable iff reg date + N ≤ until  ⇔  registered_at < (until − N + 1 day) 00:00
    sizes = _aggregate(new, keys, new_users=new.count(), **{
        f"eligible_{n}": new.count(where=new.registered_at < ibis.literal(
            _midnight(until - timedelta(days=n - 1)))) for n in days})
    logins = login_days(user_day, w.start + timedelta(days=min(days)),
                        until + timedelta(days=1))
    j = logins.join(new.select("user_id", *keys, reg_day=new.registered_at.date()), "user_id")
    # date + interval: calendar days on every engine (no elapsed-time difference involved)
    hit = {n: j.day == (j.reg_day + ibis.interval(days=n)) for n in days}
    agg = {f"retained_{n}": j.user_id.nunique(where=cond) for n, cond in hit.items()}
    retained = _aggregate(j, keys, **agg)
    s, r = execute(sizes), execute(retained)
    df = s.merge(r, on=keys, how="left") if keys else pd.concat([s, r], axis=1)
    out = []
    for n in days:
        part = df[keys + ["new_users"]].copy()
        part["day"] = n
        part["eligible_users"] = df[f"eligible_{n}"].fillna(0).astype("int64")
        part["excluded_users"] = part["new_users"] - part["eligible_users"]
        part["retained_users"] = df[f"retained_{n}"].fillna(0).astype("int64")
        out.append(part)
    res = pd.concat(out, ignore_index=True)
    res["retention"] = ratio_column(res["retained_users"], res["eligible_users"])
    res = res.sort_values(keys + ["day"], ignore_index=True)
    return res[keys + ["day", "new_users", "eligible_users", "excluded_users",
                       "retained_users", "retention"]]


def _aggregate(t: ibis.Table, keys: list[str], **metrics: ibis.Scalar) -> ibis.Table:
    """``t`` aggregated by ``keys``, or into one row when ``keys`` is empty."""
    return t.group_by(keys).aggregate(**metrics) if keys else t.aggregate(**metrics)


def weekly_cohorts(users: ibis.Table, user_day: ibis.Table, end: date, weeks: int = 12
                   ) -> pd.DataFrame:
    """Weekly registration cohorts and their retention by week offset (a cohort triangle).

    Cohorts: the ``weeks`` ISO weeks (Monday start) ending with the week of ``end``; users
    registered after ``end`` are left out. retention(w, k) = users of cohort w with ≥1 login
    in week w + k ÷ cohort users, k = 0 … ``weeks`` − 1. Weeks that end after ``end`` are
    unobservable: NaN, ``observable = False``. One users query and one ``user_day`` query.

    Returns
    -------
    DataFrame
        ``cohort_week`` (Monday, date), ``week`` (k), ``cohort_users``, ``retained_users``,
        ``retention`` (ratio 0–1), ``observable``; ``weeks × weeks`` rows, sorted.
        Not suppressed: :func:`breakdowns` applies ``suppress_small_cells``.
    """
    last_cohort = end - timedelta(days=end.weekday())
    first_cohort = last_cohort - timedelta(weeks=weeks - 1)
    # the last week we may look at: the one whose Sunday is on or before `end`
    last_seen = last_cohort if end.weekday() == 6 else last_cohort - timedelta(weeks=1)
    reg = users.registered_at
    cohort = users.filter((reg >= ibis.literal(_midnight(first_cohort)))
                          & (reg < ibis.literal(_midnight(end + timedelta(days=1)))))
    cohort = cohort.select("user_id", cohort_week=cohort.registered_at.truncate("W").date())
    sizes = execute(cohort.group_by("cohort_week").aggregate(cohort_users=cohort.count()))
    logins = login_days(user_day, first_cohort, last_seen + timedelta(weeks=1))
    j = logins.select("user_id", login_week=logins.day.truncate("W").cast("date")).join(
        cohort, "user_id")
    seen = execute(j.group_by(["cohort_week", "login_week"])
                   .aggregate(retained_users=j.user_id.nunique()))
    for c in ("cohort_week", "login_week"):
        seen[c] = pd.to_datetime(seen[c]).dt.date
    sizes["cohort_week"] = pd.to_datetime(sizes["cohort_week"]).dt.date
    seen["week"] = [(lw - cw).days // 7 for cw, lw in zip(seen["cohort_week"],
                                                         seen["login_week"], strict=True)]
    found = seen.set_index(["cohort_week", "week"])["retained_users"]
    size = sizes.set_index("cohort_week")["cohort_users"]
    records = []
    for i in range(weeks):
        cw = first_cohort + timedelta(weeks=i)
        for k in range(weeks):
            observable = cw + timedelta(weeks=k) <= last_seen
            n = int(found.get((cw, k), 0)) if observable else float("nan")
            records.append((cw, k, int(size.get(cw, 0)), n, observable))
    out = pd.DataFrame.from_records(records, columns=[
        "cohort_week", "week", "cohort_users", "retained_users", "observable"])
    out["retained_users"] = out["retained_users"].astype("float64")
    out["retention"] = ratio_column(out["retained_users"], out["cohort_users"])
    out["observable"] = out["observable"].astype(bool)
    return out[["cohort_week", "week", "cohort_users", "retained_users", "retention",
                "observable"]]


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """``d7_retention`` of P's new users; the note gives the users excluded as unobservable."""
    return {"d7_retention": _d7(day_n_retention(t["users"], rollup(t, "user_day"), w, (7,))
                                .iloc[0], w, t["users"])}


def _d7(row: pd.Series, w: Window, users: ibis.Table) -> Measure:
    """``d7_retention`` from a day-7 row of :func:`day_n_retention` (or of ``day_n``); the
    note also counts the users without a registration date."""
    m = Measure.ratio(float(row["retained_users"]), float(row["eligible_users"]),
                      what="new users with an observable day 7")
    excluded = int(row["excluded_users"])
    if excluded:
        text = (f"{excluded} of {int(row['new_users'])} new users registered after "
                f"{w.end - timedelta(days=7)} are excluded (day 7 after the period end)")
        m = Measure(m.value, m.numerator, m.denominator,
                    f"{m.note}; {text}" if m.note else text)
    return with_note(m, unregistered_note(users))


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w`` with one day-N query: the headline
    is the day-7 row of ``day_n`` (the sum over channels, which partition the new users)."""
    tables = breakdowns(t, w, p)
    day7 = tables["day_n"][tables["day_n"]["day"] == 7] if tables else None
    if day7 is None or day7.empty:  # no new user in any channel: the one-row query answers
        return headline(t, w, p), tables
    return {"d7_retention": _d7(day7.iloc[0], w, t["users"])}, tables


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The retention tables of the module docstring (empty without users and events)."""
    if "users" not in t or "events" not in t:
        return {}
    users, user_day, k = t["users"], rollup(t, "user_day"), p.thresholds.min_cell_users
    cohorts = suppress_small_cells(weekly_cohorts(users, user_day, w.end), "cohort_users", k,
                                   value_cols=["retained_users", "retention"])
    # one rollup query for both tables: channels partition the new users, so the overall
    # counts are the sums over channels
    per_channel = day_n_retention(users, user_day, w, DAY_N, by="acquisition_channel")
    counts = ["new_users", "eligible_users", "excluded_users", "retained_users"]
    day_n = per_channel.groupby("day", as_index=False)[counts].sum()
    day_n["retention"] = ratio_column(day_n["retained_users"], day_n["eligible_users"])
    by_channel = suppress_small_cells(
        per_channel[per_channel["day"].isin([7, 30])].reset_index(drop=True),
        "eligible_users", k,
        value_cols=["new_users", "excluded_users", "retained_users", "retention"])
    return {"cohorts": cohorts, "day_n": day_n, "by_channel": by_channel}

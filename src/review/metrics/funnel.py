"""Funnel: registration → card bound → first successful mobile transaction.

Definitions (P = the window ``[start, end]``; W = ``thresholds.conversion_window_days``)
------------------------------------------------------------------------------------
The cohort is the users registered in P. For each user, with ``r = registered_at``:

1. **registered** — every user of the cohort.
2. **card bound** — the user's first ``bind_card`` event with ``r ≤ ts < r + W days``.
3. **first mobile transaction** — the user reached step 2 and has a successful
   (``status = success``) ``mobile`` transaction with ``bind time ≤ ts < r + W days``; its
   time is the first such transaction. The funnel is ordered: a transaction before the card
   was bound, or by a user who never bound a card, does not count.

The window is elapsed time measured from the registration instant (30 days = 720 hours),
half-open. It runs past P's end for users registered late in P: events up to ``r + W`` are
counted regardless of P's end, because the report is run after the data is complete (a run
before ``end + W`` undercounts the last users).

* **step conversion** — users at the step ÷ users at the previous step (ratio 0–1).
* **cumulative conversion** — users at the step ÷ registered users (ratio 0–1).
* **funnel_conversion** (headline) — cumulative conversion of the last step.
* **median hours from the previous step** — exact median over the users who reached the
  step of (step time − previous step time), in hours (float). Computed from epoch seconds
  (elapsed time; equal on DuckDB and on Spark with the project's pinned, DST-free session
  time zone).

Inputs: the daily rollups of :mod:`review.data.rollup`, never the raw tables: card bindings
from ``bind_events`` (every ``bind_card`` event, to the second); the first mobile transaction
after binding from ``bind_txn`` (every successful mobile transaction on a day the user bound
a card) and ``txn_day.first_ts`` (each day's first successful mobile transaction). On the
binding day every candidate is in ``bind_txn``; on a later day the day's first one is the
earliest candidate, so the result equals the one from raw rows to the second.

Breakdown tables (``breakdowns`` keys; stored as ``funnel.<name>``)
------------------------------------------------------------------
``steps``
    One row per step: ``step_no`` (1–3), ``step`` (``registered``, ``card_bound``,
    ``first_mobile_txn``), ``users`` (count), ``step_conversion``, ``cumulative_conversion``
    (ratios 0–1; NaN with no registered users), ``median_hours`` (from the previous step;
    NaN for step 1 or when nobody reached the step).
``by_channel``
    The same per ``acquisition_channel`` (columns ``acquisition_channel`` first) with
    ``suppressed``: a cell (channel × step) whose ``users`` is below ``min_cell_users`` is
    masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import ibis
import pandas as pd

from review.config import Params
from review.data.rollup import rollup
from review.metrics.acquisition import unregistered_note, with_note
from review.metrics.common import (
    Measure,
    Window,
    elapsed_seconds,
    execute,
    ratio_column,
    suppress_small_cells,
)

REQUIRES: tuple[str, ...] = ("users", "events", "transactions")

STEPS: tuple[str, ...] = ("registered", "card_bound", "first_mobile_txn")


def funnel_users(users: ibis.Table, r: Mapping[str, ibis.Table], w: Window,
                 window_days: int, by: str | None = None) -> ibis.Table:
    """Per-user funnel times (an Ibis expression, not executed).

    ``r`` holds the rollups ``bind_events``, ``bind_txn`` and ``txn_day`` (see
    :func:`rollups`).

    Returns
    -------
    ibis.Table
        One row per user registered in ``w``: ``user_id``, ``by`` (if given),
        ``registered_at``, ``bound_at`` and ``txn_at`` (timestamps, null when the step was
        not reached within the window), ``hours_to_bind`` and ``hours_to_txn`` (elapsed
        hours from the previous step, float, null when not reached).
    """
    keys = [by] if by else []
    win_s = window_days * 86_400
    new = users.filter(w.has_ts(users.registered_at)).select(
        "user_id", *keys, "registered_at")
    # pre-filter to the only instants that can count: [start, end + W + 1 day)
    lo, hi = ibis.literal(w.ts_lo), ibis.literal(w.ts_hi + timedelta(days=window_days))
    day_lo, day_hi = ibis.literal(w.start), ibis.literal(w.end + timedelta(days=window_days + 1))
    be = r["bind_events"]
    binds = be.filter((be.day >= day_lo) & (be.day < day_hi) & (be.ts >= lo) & (be.ts < hi))
    jb = binds.select("user_id", "ts").join(new, "user_id")
    # elapsed seconds (epoch arithmetic), not engine `delta`: see the module docstring
    since_reg = elapsed_seconds(jb.ts, jb.registered_at)
    bound = (jb.filter((since_reg >= 0) & (since_reg < win_s))
             .group_by("user_id").aggregate(bound_at=jb.ts.min()))
    step2 = new.left_join(bound, "user_id").select(*new.columns, "bound_at")
    # candidates for the first mobile transaction at or after binding (module docstring)
    bt, td = r["bind_txn"], r["txn_day"]
    same_day = bt.filter((bt.day >= day_lo) & (bt.day < day_hi)).select("user_id", "ts")
    firsts = td.filter((td.status == "success") & (td.channel == "mobile")
                       & (td.day >= day_lo) & (td.day < day_hi)).select(
        "user_id", ts=td.first_ts)
    txns = same_day.union(firsts, distinct=False)
    txns = txns.filter((txns.ts >= lo) & (txns.ts < hi))
    jt = txns.join(
        step2.filter(step2.bound_at.notnull()).select("user_id", "registered_at", "bound_at"),
        "user_id")
    since_reg_t = elapsed_seconds(jt.ts, jt.registered_at)
    first_txn = (jt.filter((jt.ts >= jt.bound_at) & (since_reg_t < win_s))
                 .group_by("user_id").aggregate(txn_at=jt.ts.min()))
    per_user = step2.left_join(first_txn, "user_id").select(*step2.columns, "txn_at")
    return per_user.mutate(
        hours_to_bind=elapsed_seconds(per_user.bound_at, per_user.registered_at) / 3600.0,
        hours_to_txn=elapsed_seconds(per_user.txn_at, per_user.bound_at) / 3600.0,
    )


def rollups(t: Mapping[str, ibis.Table]) -> dict[str, ibis.Table]:
    """The rollups the funnel reads, from a family's ``t`` (stored or derived)."""
    return {name: rollup(t, name) for name in ("bind_events", "bind_txn", "txn_day")}


def funnel_steps(users: ibis.Table, r: Mapping[str, ibis.Table], w: Window,
                 window_days: int, by: str | None = None) -> pd.DataFrame:
    """Users, conversion and median hours per funnel step (one query).

    Parameters
    ----------
    users
        The contract ``users`` table.
    r
        The rollups of :func:`rollups`.
    w
        The period whose new users form the cohort.
    window_days
        The conversion window W, in days from the registration instant.
    by
        Optional ``users`` column (e.g. ``acquisition_channel``).

    Returns
    -------
    DataFrame
        ``[by,] step_no, step, users, step_conversion, cumulative_conversion,
        median_hours`` (see module docstring), sorted by ``by`` then ``step_no``.
    """
    keys = [by] if by else []
    f = funnel_users(users, r, w, window_days, by)
    metrics = dict(
        registered=f.count(),
        card_bound=f.bound_at.count(),
        first_mobile_txn=f.txn_at.count(),
        median_bind=f.hours_to_bind.median(),
        median_txn=f.hours_to_txn.median(),
    )
    wide = execute(f.group_by(keys).aggregate(**metrics) if keys else f.aggregate(**metrics))
    medians = {"registered": None, "card_bound": "median_bind", "first_mobile_txn": "median_txn"}
    parts = []
    for i, step in enumerate(STEPS, start=1):
        part = wide[keys].copy()
        part["step_no"] = i
        part["step"] = step
        part["users"] = wide[step].fillna(0).astype("int64")
        prev = wide[STEPS[i - 2]] if i > 1 else wide[step]
        part["step_conversion"] = ratio_column(wide[step], prev)
        part["cumulative_conversion"] = ratio_column(wide[step], wide["registered"])
        col = medians[step]
        part["median_hours"] = (wide[col].astype("float64") if col
                                else pd.Series(float("nan"), index=wide.index))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True).sort_values(keys + ["step_no"], ignore_index=True)
    return out


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """``funnel_conversion``: P's new users reaching the last step ÷ P's new users."""
    return _conversion(funnel_steps(t["users"], rollups(t), w,
                                    p.thresholds.conversion_window_days), t["users"])


def _conversion(steps: pd.DataFrame, users: ibis.Table) -> dict[str, Measure]:
    """The headline from the steps; the note counts users without a registration date."""
    n = steps.set_index("step")["users"]
    m = Measure.ratio(float(n[STEPS[-1]]), float(n[STEPS[0]]), what="new users")
    return {"funnel_conversion": with_note(m, unregistered_note(users))}


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The funnel tables of the module docstring (empty unless all required tables exist)."""
    if any(name not in t for name in REQUIRES):
        return {}
    args = (t["users"], rollups(t), w, p.thresholds.conversion_window_days)
    by_channel = suppress_small_cells(
        funnel_steps(*args, by="acquisition_channel"), "users", p.thresholds.min_cell_users,
        value_cols=["step_conversion", "cumulative_conversion", "median_hours"])
    return {"steps": funnel_steps(*args), "by_channel": by_channel}


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w``; the headline comes from ``steps``."""
    tables = breakdowns(t, w, p)
    return (_conversion(tables["steps"], t["users"]) if tables else headline(t, w, p)), tables

"""Campaigns family: participants, conversions, incremental conversions, cost and ROI.

Needs only ``campaigns`` + ``assignments``; ``users`` (participation rate), ``spend``
(campaign spend), ``transactions``/``balances`` (value and ROI) are used when present. No
figure here depends on a table it does not read.

Definitions (P = the window ``[start, end]``; timestamps in the bank's local time)
--------------------------------------------------------------------------------
* **campaigns in scope** — the params' ``campaigns`` whose dates overlap P (all campaigns
  overlapping P when the params list none).
* **treated** — an assignment whose ``variant`` is not ``control``. Control users are never
  counted as covered, reached or participating.
* **participants in P** (``users_period`` of a treated cell; 参与客户) — distinct users with
  ``assigned_at`` in P. **Participants to date** (``users_to_date``, 累计) — the same from the
  campaign's start to P's end; always labelled "to date", never shown as P's.
* **participation rate** — treated participants in P ÷ users of the campaign's
  ``target_segment`` (``users.segment``) registered by P's end (all users when the segment is
  empty or ``all``). ``NaN`` with a note when the segment is not a ``users.segment`` value or
  ``users`` is missing.
* **cohort conversion rate** (``cohort_rate``) — users assigned in P who converted within
  ``thresholds.conversion_window_days`` of their assignment ÷ users assigned in P. A cell is
  ``immature`` when the window of its last assignment in P runs past the data's end (the
  latest ``assigned_at``/``converted_at`` in ``assignments``): its rate can still rise.
* **conversions in P** (``conversions_period``) — users with ``converted_at`` in P (a flow;
  each user once per campaign, whenever assigned).
* **incremental conversions** — ``(cohort rate of treated − cohort rate of control) ×
  treated participants in P`` with the 95 % interval of the rate difference
  (:func:`review.stats.lift`) times the same participants; ``estimate = "randomised"``. A
  variant row compares the variant with the campaign's control; the campaign row pools its
  treated variants. Without control users assigned in P the figure is ``NaN`` with a note
  (``estimate = "none"``); the non-randomised difference-in-differences estimate is not
  computed here.
* **cost** — ``reward_cost`` of the assignments whose reward is dated in P (by
  ``converted_at``, else ``assigned_at``; 0 when null) + ``spend`` rows carrying the
  campaign's ``campaign_id`` dated in P (allocated to treated variants by their share of
  treated participants to date). ``cost_to_date`` is the same up to P's end.
* **value** — :func:`review.metrics.value.user_month_value` (transaction margins + month-end
  AUM × ``revenue.aum_margin_annual`` ÷ 12), the one value function also behind LTV.
  Per user of a group (treated variant, control; users assigned by P's end) and calendar
  month ``m``: ``v(m) = Σ value ÷ users``. The incremental value per treated user in month
  ``m`` is a difference in differences against the month before the campaign's start month
  (``pre``): ``inc(m) = (v_t(m) − v_t(pre)) − (v_c(m) − v_c(pre))``, which under
  randomisation has the expectation of ``v_t(m) − v_c(m)`` with far less noise (a customer's
  balance carries over from month to month).
* **without a control group** — incremental conversions are not estimated (a non-participant
  has no conversion to observe); value and ROI use the campaign's segment's non-participants
  (users of ``target_segment`` registered by P's end, never assigned to the campaign) in
  place of the control, the same difference in differences against the month before the
  campaign's start month, labelled ``value_estimate = "non-randomised"`` (``"randomised"``
  with a control group).
* **ROI in period** — ``(Σ_{m in P} inc(m) × treated users − cost in P) ÷ cost in P``.
* **ROI projected** — observed ``inc(a)`` at ages ``a = 0..A`` (months from the campaign's
  start month to P's last month), then ``ī·q^(a−A)`` up to ``ltv_horizon_months`` (``ī`` the
  mean observed ``inc``, ``q = min(1, r(A)/r(A−1))`` the treated group's observed month-over-
  month retention, ``r`` = share of treated users with value in the month), discounted at
  ``monthly_discount_rate``: ``V = treated users × Σ_a inc(a)/(1+d)^a``;
  ``ROI = (V − cost to date) ÷ cost to date``, with an approximate 95 % interval
  (``roi_projected_lo``/``_hi``) from the standard error of the per-user difference
  ``d`` = mean observed monthly value − value in ``pre`` between the two groups, carried
  through the same weights (a customer's value is heavy-tailed: read a projection whose
  interval spans 0 as "payback not established"); ``payback_month`` = the first ``a + 1`` at which
  the cumulative discounted incremental value reaches the cost to date (``NaN`` = beyond the
  horizon).

Headline KPIs (``review.kpis``, family ``campaigns``)
-----------------------------------------------------
``campaign_participants`` distinct treated users assigned in P over the campaigns in scope
(人: a customer in two campaigns counts once); ``campaign_conversions`` Σ conversions in P of
treated users; ``campaign_conversion_rate`` pooled cohort rate of treated users assigned in P;
``incremental_conversions`` Σ of the campaigns' incremental conversions (campaigns without a
control in P left out, named in the note); ``campaign_roi`` ``(Σ incremental value in P −
Σ cost in P) ÷ Σ cost in P`` over the campaigns with an ROI.

Breakdown tables (``breakdowns()`` keys; stored as ``campaigns.<name>``)
-----------------------------------------------------------------------
``summary``
    One row per campaign in scope: ``campaign_id``, ``name``, ``kind``, ``start``, ``end``,
    ``target_segment``, :data:`SUMMARY_COLUMNS`.
``by_variant``
    One row per campaign × variant (control first): the same figures per variant
    (``users_period``/``users_to_date`` for the control are its users, not participants).
``by_touch``
    One row per campaign × variant × ``touch_channel``: counts, cohort rate, ``immature``,
    conversions in P, incremental conversions (treated cells vs the campaign's pooled
    control), reward cost.
``trend``
    12 rows, one per calendar month ending with P's: ``month``, ``participants`` (distinct
    treated people assigned that month), ``conversions`` (treated conversions that month).
``coverage``
    One row: ``people_period`` (distinct treated users in P, 人), ``person_campaigns_period``
    (人次), ``people_to_date``, ``person_campaigns_to_date``, ``control_people_period``.
Cells with fewer than ``min_cell_users`` users (``users_period``; to-date figures by
``users_to_date``) are masked and flagged ``suppressed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import ibis
import numpy as np
import pandas as pd
from scipy.special import ndtri

from review.config import Params
from review.core.calendar import month_index as calendar_month_index
from review.core.calendar import month_start, trend_months
from review.data.rollup import rollup
from review.metrics.common import (
    Measure,
    Window,
    elapsed_seconds,
    execute,
    ratio_column,
    safe_ratio,
    suppress_small_cells,
)
from review.metrics.value import month_index, user_month_value
from review.stats import lift

Z95 = float(ndtri(0.975))

REQUIRES: tuple[str, ...] = ("campaigns", "assignments")
CONTROL = "control"
ALL_SEGMENTS = ("", "all")

#: figures of the summary and by_variant tables (after the dimension columns)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "users_period", "users_to_date", "control_period", "control_to_date",
    "participation_rate", "cohort_conversions", "cohort_rate", "control_cohort_rate",
    "immature", "conversions_period", "conversions_to_date", "incremental_conversions",
    "incremental_lo", "incremental_hi", "estimate", "reward_cost_period", "campaign_spend_period",
    "cost_period", "cost_to_date", "incremental_value_period", "roi_period",
    "incremental_value_projected", "roi_projected", "roi_projected_lo", "roi_projected_hi",
    "payback_month", "value_estimate", "note",
)
_COUNTS = ("users_period", "users_to_date", "cohort_conversions", "conversions_period",
           "conversions_to_date")


# -- scope and counts (engine) ----------------------------------------------------------------
def campaigns_in_scope(campaigns: ibis.Table, w: Window,
                       campaign_ids: Sequence[str] = ()) -> ibis.Table:
    """Campaigns overlapping P (restricted to ``campaign_ids`` when given), an expression.

    Columns: ``campaign_id``, ``name``, ``kind``, ``start``, ``end``, ``target_segment``,
    ``window_start`` = max(start, P start), ``window_end`` = min(end, P end) (dates).
    """
    c = campaigns.filter(campaigns["start"] <= w.end, campaigns["end"] >= w.start)
    if campaign_ids:
        c = c.filter(c.campaign_id.isin(list(campaign_ids)))
    return c.select("campaign_id", "name", "kind", "start", "end", "target_segment",
                    window_start=ibis.greatest(c["start"], ibis.literal(w.start)),
                    window_end=ibis.least(c["end"], ibis.literal(w.end)))


def campaign_cells(campaigns: ibis.Table, assignments: ibis.Table, w: Window, *,
                   campaign_ids: Sequence[str] = (), window_days: int) -> pd.DataFrame:
    """Counts per campaign in scope × variant × touch channel (one engine query).

    Columns: ``campaign_id``, ``variant``, ``touch_channel`` (``unknown`` when null),
    ``users_to_date`` (assigned by P's end), ``users_period`` (assigned in P),
    ``cohort_conversions`` (assigned in P, converted within ``window_days`` of assignment),
    ``conversions_period`` (``converted_at`` in P), ``conversions_to_date`` (by P's end)
    — distinct users —, ``reward_cost_period``, ``reward_cost_to_date`` (currency) and
    ``last_assigned`` (latest ``assigned_at`` in P, a timestamp, NaT when none).
    """
    scope = campaigns_in_scope(campaigns, w, campaign_ids).select("campaign_id")
    hi = ibis.literal(w.ts_hi)
    a = assignments.filter(assignments.assigned_at < hi).semi_join(scope, "campaign_id")
    in_p = w.has_ts(a.assigned_at)
    conv = a.converted_at.notnull()
    within = conv & (elapsed_seconds(a.converted_at, a.assigned_at) <= window_days * 86_400)
    reward_at = ibis.coalesce(a.converted_at, a.assigned_at)
    reward = a.reward_cost.fill_null(0.0)
    df = execute(a.group_by(
        "campaign_id", "variant", touch_channel=a.touch_channel.fill_null("unknown"),
    ).aggregate(
        users_to_date=a.user_id.nunique(),
        users_period=a.user_id.nunique(where=in_p),
        cohort_conversions=a.user_id.nunique(where=in_p & within),
        conversions_period=a.user_id.nunique(where=conv & w.has_ts(a.converted_at)),
        conversions_to_date=a.user_id.nunique(where=conv & (a.converted_at < hi)),
        reward_cost_period=reward.sum(where=w.has_ts(reward_at)),
        reward_cost_to_date=reward.sum(where=reward_at < hi),
        last_assigned=a.assigned_at.max(where=in_p),
    ))
    for c in ("reward_cost_period", "reward_cost_to_date"):
        df[c] = df[c].astype("float64").fillna(0.0)
    for c in _COUNTS:
        df[c] = df[c].fillna(0).astype("int64")
    return df.sort_values(["campaign_id", "variant", "touch_channel"]).reset_index(drop=True)


def monthly_trend(campaigns: ibis.Table, assignments: ibis.Table, w: Window, *,
                  campaign_ids: Sequence[str] = (), months: int = 12) -> pd.DataFrame:
    """Participants and conversions of the campaigns in scope per calendar month (one query).

    The ``months`` calendar months ending with the month of P's end (the last one cut at P's
    end). Columns: ``month`` (first day, a date), ``participants`` (distinct treated users
    assigned that month, over the campaigns: people), ``conversions`` (treated user-campaigns
    with ``converted_at`` that month).
    """
    grid = trend_months(w.end, months)
    tw = Window(grid[0], w.end)
    scope = campaigns_in_scope(campaigns, w, campaign_ids).select("campaign_id")
    a = assignments.semi_join(scope, "campaign_id")
    a = a.filter(a.variant != CONTROL)
    assigned = a.filter(tw.has_ts(a.assigned_at))
    p = execute(assigned.group_by(m=month_index(assigned.assigned_at)).aggregate(
        participants=assigned.user_id.nunique()))
    conv = a.filter(a.converted_at.notnull() & tw.has_ts(a.converted_at))
    c = execute(conv.group_by(m=month_index(conv.converted_at)).aggregate(
        conversions=conv.count()))
    out = pd.DataFrame({"month": grid, "m": [calendar_month_index(d) for d in grid]})
    out = out.merge(p, on="m", how="left").merge(c, on="m", how="left")
    for col in ("participants", "conversions"):
        out[col] = out[col].fillna(0).astype("int64")
    return out.drop(columns="m")


def data_end(assignments: ibis.Table) -> datetime | None:
    """The data's end for cohort maturity: the latest ``assigned_at`` or ``converted_at``."""
    a = assignments
    df = execute(a.aggregate(x=a.assigned_at.max(), y=a.converted_at.max()))
    vals = [v for v in (df.at[0, "x"], df.at[0, "y"]) if not pd.isna(v)]
    return max(vals).to_pydatetime() if vals else None


def coverage(campaigns: ibis.Table, assignments: ibis.Table, w: Window, *,
             campaign_ids: Sequence[str] = ()) -> pd.DataFrame:
    """Distinct people (人) and person-campaigns (人次) treated, in P and to date (one query).

    Columns: ``people_period``, ``person_campaigns_period``, ``people_to_date``,
    ``person_campaigns_to_date``, ``control_people_period`` (counts).
    """
    scope = campaigns_in_scope(campaigns, w, campaign_ids).select("campaign_id")
    a = assignments.filter(assignments.assigned_at < ibis.literal(w.ts_hi)).semi_join(
        scope, "campaign_id")
    treated = a.variant != CONTROL
    in_p = w.has_ts(a.assigned_at)
    pc = a.select("user_id", "campaign_id", treated=treated, in_p=in_p)
    df = execute(pc.aggregate(
        people_period=pc.user_id.nunique(where=pc.treated & pc.in_p),
        person_campaigns_period=pc.count(where=pc.treated & pc.in_p),
        people_to_date=pc.user_id.nunique(where=pc.treated),
        person_campaigns_to_date=pc.count(where=pc.treated),
        control_people_period=pc.user_id.nunique(where=~pc.treated & pc.in_p),
    ))
    return df.fillna(0).astype("int64")


def segment_sizes(users: ibis.Table, w: Window) -> dict[str, int]:
    """Users registered by P's end per ``segment``, plus ``""`` for all of them."""
    u = users.filter(users.registered_at < ibis.literal(w.ts_hi))
    df = execute(u.group_by("segment").aggregate(n=u.count()))
    out = {str(s): int(n) for s, n in zip(df["segment"], df["n"], strict=True) if s is not None}
    out[""] = int(df["n"].sum())
    return out


def campaign_spend(spend: ibis.Table, w: Window) -> pd.DataFrame:
    """Spend carrying a ``campaign_id``: ``campaign_id``, ``spend_period`` (dated in P),
    ``spend_to_date`` (dated on or before P's end), currency."""
    s = spend.filter(spend.campaign_id.notnull(), spend.date <= ibis.literal(w.end))
    df = execute(s.group_by("campaign_id").aggregate(
        spend_period=s.amount.sum(where=w.has_date(s.date)), spend_to_date=s.amount.sum()))
    for c in ("spend_period", "spend_to_date"):
        df[c] = df[c].astype("float64").fillna(0.0)
    return df


def value_by_month(campaigns: ibis.Table, assignments: ibis.Table, w: Window, *,
                   campaign_ids: Sequence[str] = (), txn_day: ibis.Table | None,
                   balances: ibis.Table | None, margins: Mapping[str, float],
                   aum_margin_annual: float
                   ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Value of each campaign × variant group per calendar month, and its dispersion.

    Groups are the users assigned by P's end; months run from the month before the
    campaign's start month (``pre``) to P's last month. One engine query for both tables
    (besides the earliest start of the campaigns in scope).

    Returns
    -------
    (monthly, spread)
        ``monthly``: ``campaign_id``, ``variant``, ``month_idx``, ``value`` (Σ
        :func:`~review.metrics.value.user_month_value`, currency), ``active`` (users with a
        non-zero value that month). ``spread``: ``campaign_id``, ``variant``, ``s1``, ``s2``
        = Σ d and Σ d² over the group's users of ``d`` = (mean value per observed month −
        value in ``pre``), the per-user difference behind the interval of the projection
        (users without any value have d = 0). ``None`` without value tables.
    """
    scope = campaigns_in_scope(campaigns, w, campaign_ids)
    lo = execute(scope.aggregate(s=scope["start"].min()))["s"].iloc[0]
    if pd.isna(lo):
        return None
    first = month_start(pd.Timestamp(lo).date(), -1)  # the month before the first start
    vw = Window(min(first, w.start), w.end)
    val = user_month_value(vw, txn_day=txn_day, balances=balances, margins=margins,
                           aum_margin_annual=aum_margin_annual)
    if val is None:
        return None
    a = assignments.filter(assignments.assigned_at < ibis.literal(w.ts_hi))
    a = a.join(scope.select("campaign_id", c_first=month_index(scope["start"]) - 1),
               "campaign_id").select("campaign_id", "variant", "user_id", "c_first")
    j = a.join(val, "user_id")
    j = j.filter(j.month_idx >= j.c_first)
    months = calendar_month_index(w.end) - j.c_first  # observed months (≥ 1)
    return _monthly_and_spread(j, ["campaign_id", "variant"], vw, c_first=j.c_first,
                               k=months)


def non_participant_value(users: ibis.Table, assignments: ibis.Table, campaign_id: str,
                          segment: str, campaign_start: date, w: Window, *,
                          txn_day: ibis.Table | None, balances: ibis.Table | None,
                          margins: Mapping[str, float], aum_margin_annual: float
                          ) -> tuple[pd.DataFrame, pd.DataFrame, int] | None:
    """The comparison group of a campaign without control: its segment's non-participants.

    Users of ``segment`` (all users when empty) registered by P's end and never assigned to
    the campaign, with the same monthly value and spread as :func:`value_by_month` (labelled
    ``variant = "control"`` so the ROI arithmetic is shared), and their number. Two engine
    queries; ``None`` without value tables.
    """
    first = month_start(campaign_start, -1)
    vw = Window(min(first, w.start), w.end)
    val = user_month_value(vw, txn_day=txn_day, balances=balances, margins=margins,
                           aum_margin_annual=aum_margin_annual)
    if val is None:
        return None
    u = users.filter(users.registered_at < ibis.literal(w.ts_hi))
    if segment:
        u = u.filter(u.segment == segment)
    part = assignments.filter(assignments.campaign_id == campaign_id).select("user_id")
    u = u.anti_join(part, "user_id").select("user_id")
    n = int(execute(u.aggregate(n=u.count()))["n"].iloc[0])
    c_first = calendar_month_index(first)
    j = u.join(val, "user_id")
    j = j.filter(j.month_idx >= c_first)
    k = max(calendar_month_index(w.end) - c_first, 1)
    monthly, spread = _monthly_and_spread(j, [], vw, c_first=c_first, k=k)
    for df in (monthly, spread):
        df.insert(0, "variant", CONTROL)
        df.insert(0, "campaign_id", campaign_id)
    return monthly, spread, n


def _monthly_and_spread(j: ibis.Table, keys: list[str], vw: Window, *,
                        c_first: ibis.Value | int, k: ibis.Value | int
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly value and the spread of ``d`` per group ``keys`` of ``j``, in one engine query.

    ``j`` has ``keys``, ``user_id``, ``month_idx`` (months of ``vw``, from ``c_first`` on)
    and ``value``. Per user of a group: ``pre`` (value in month ``c_first``), ``obs`` (value
    after it), ``d = obs ÷ k − pre`` (``k`` observed months: a column, its max per user, or a
    number), and the value (``v<i>``), rows (``n<i>``) and non-zero rows (``a<i>``) in each
    month ``i`` of ``vw``; per group the sums of those and ``s1 = Σ d``, ``s2 = Σ d²``.
    The monthly sums equal a group-by of ``j`` on ``keys`` and ``month_idx`` (cells without
    rows left out), so both tables come from one pass over ``j``.

    Returns
    -------
    (monthly, spread)
        ``monthly``: ``keys``, ``month_idx``, ``value`` (currency, to the micro-unit),
        ``active`` (rows with a non-zero value); ``spread``: ``keys``, ``s1``, ``s2``.
    """
    idx = list(range(calendar_month_index(vw.start), calendar_month_index(vw.end) + 1))
    in_m = [j.month_idx == m for m in idx]
    per_user = j.group_by(*keys, "user_id").aggregate(
        pre=j.value.sum(where=j.month_idx == c_first),
        obs=j.value.sum(where=j.month_idx > c_first),
        **({} if isinstance(k, int) else {"k": k.max()}),
        **{f"v{i}": j.value.sum(where=m) for i, m in enumerate(in_m)},
        **{f"n{i}": j.count(where=m) for i, m in enumerate(in_m)},
        **{f"a{i}": j.count(where=m & (j.value != 0)) for i, m in enumerate(in_m)})
    per_k = k if isinstance(k, int) else per_user.k
    per_user = per_user.mutate(
        d=per_user.obs.fill_null(0.0) / per_k - per_user.pre.fill_null(0.0))
    sums = {f"{c}{i}": per_user[f"{c}{i}"].sum() for i in range(len(idx)) for c in "vna"}
    g = per_user.group_by(*keys) if keys else per_user
    g = execute(g.aggregate(s1=per_user.d.sum(), s2=(per_user.d * per_user.d).sum(), **sums))
    spread = g[[*keys, "s1", "s2"]].copy()
    for c in ("s1", "s2"):
        spread[c] = spread[c].astype("float64").round(6)
    def cols(c: str) -> pd.DataFrame:
        return g[[f"{c}{i}" for i in range(len(idx))]]

    df = pd.DataFrame({
        **{key: np.repeat(g[key].to_numpy(), len(idx)) for key in keys},
        "month_idx": np.tile(np.array(idx, dtype="int64"), len(g)),
        "value": cols("v").to_numpy("float64").ravel(),
        "rows": cols("n").fillna(0).to_numpy("int64").ravel(),
        "active": cols("a").fillna(0).to_numpy("int64").ravel(),
    })
    # the (group, month) cells with rows in j, as a group-by of j gives them
    df = df[df["rows"] > 0].drop(columns="rows").reset_index(drop=True)
    # to the micro-unit: a parallel engine sums doubles in any order (last-bit noise)
    df["value"] = df["value"].round(6)
    return df, spread


# -- pure pandas: rates, increments, ROI ------------------------------------------------------
def _rates(df: pd.DataFrame, end: datetime | None, window_days: int) -> pd.DataFrame:
    out = df.copy()
    out["cohort_rate"] = ratio_column(out["cohort_conversions"], out["users_period"])
    last = pd.to_datetime(out["last_assigned"])
    if end is None:
        out["immature"] = out["users_period"] > 0
    else:
        out["immature"] = ((last + pd.Timedelta(days=window_days)) > pd.Timestamp(end)
                           ).fillna(False).astype(bool)
    return out


def _increment(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float, str | None]:
    """Incremental conversions (rate difference × n1) and its 95 % interval."""
    if n1 == 0:
        return 0.0, 0.0, 0.0, None
    if n0 == 0:
        return math.nan, math.nan, math.nan, "no control users assigned in P"
    lf = lift(int(x1), int(n1), int(x0), int(n0))
    return lf["abs_lift"] * n1, lf["abs_lo"] * n1, lf["abs_hi"] * n1, None


def _roi(values: tuple[pd.DataFrame, pd.DataFrame] | None, group: Sequence[str], n_t: int,
         n_c: int, *, campaign_start: pd.Timestamp, w: Window, cost_p: float, cost_td: float,
         horizon: int, discount: float) -> dict:
    """ROI in period and projected for the treated ``group`` of variants (module docstring)."""
    out = {"incremental_value_period": math.nan, "roi_period": math.nan,
           "incremental_value_projected": math.nan, "roi_projected": math.nan,
           "roi_projected_lo": math.nan, "roi_projected_hi": math.nan,
           "payback_month": math.nan, "roi_note": None}
    if values is None:
        out["roi_note"] = "needs table transactions or balances (value)"
        return out
    if n_t == 0 or n_c == 0:
        out["roi_note"] = "no treated users" if n_t == 0 else "no control group: ROI unknown"
        return out
    v, spread = values
    start_idx = calendar_month_index(campaign_start.date())
    last_idx = calendar_month_index(w.end)
    months = list(range(start_idx - 1, last_idx + 1))
    t = v[v["variant"].isin(group)].groupby("month_idx")[["value", "active"]].sum()
    c = v[v["variant"] == CONTROL].groupby("month_idx")[["value"]].sum()
    vt = t["value"].reindex(months, fill_value=0.0) / n_t
    vc = c["value"].reindex(months, fill_value=0.0) / n_c
    inc = (vt - vt.iloc[0]) - (vc - vc.iloc[0])
    inc = inc.iloc[1:]  # ages 0..A
    p_first = calendar_month_index(w.start)
    value_p = float(inc[inc.index >= p_first].sum()) * n_t
    out["incremental_value_period"] = value_p
    roi_p, note_p = safe_ratio(value_p - cost_p, cost_p, what="campaign cost in P")
    out["roi_period"] = roi_p
    r = (t["active"].reindex(months[1:], fill_value=0) / n_t).to_numpy()
    obs = inc.to_numpy()
    q = 1.0 if len(r) < 2 or r[-2] == 0 else min(1.0, r[-1] / r[-2])
    mean_inc = float(obs.mean()) if len(obs) else 0.0
    ages = np.arange(horizon)
    proj = np.array([obs[a] if a < len(obs) else mean_inc * q ** (a - len(obs) + 1)
                     for a in ages])
    disc = n_t * proj / (1.0 + discount) ** ages
    value_proj = float(disc.sum())
    out["incremental_value_projected"] = value_proj
    roi_x, note_x = safe_ratio(value_proj - cost_td, cost_td, what="campaign cost to date")
    out["roi_projected"] = roi_x
    # 95 % interval: the per-user mean monthly increment's standard error (two independent
    # groups, d = mean observed monthly value − pre value), carried through the same weights
    weights = np.array([1.0 if a < len(obs) else q ** (a - len(obs) + 1) for a in ages])
    weight = float((weights / (1.0 + discount) ** ages).sum())
    se = _se_diff(spread, group, n_t, n_c)
    if cost_td > 0 and not math.isnan(se):
        half = Z95 * se * n_t * weight
        out["roi_projected_lo"] = (value_proj - half - cost_td) / cost_td
        out["roi_projected_hi"] = (value_proj + half - cost_td) / cost_td
    reached = np.flatnonzero(np.cumsum(disc) >= cost_td) if cost_td > 0 else np.array([])
    out["payback_month"] = float(reached[0] + 1) if len(reached) else math.nan
    out["roi_note"] = note_p or note_x
    return out


def _se_diff(spread: pd.DataFrame, group: Sequence[str], n_t: int, n_c: int) -> float:
    """Standard error of mean(d | treated) − mean(d | control) from Σ d and Σ d²."""
    def var(rows: pd.DataFrame, n: int) -> float:
        if n < 2:
            return math.nan
        s1, s2 = float(rows["s1"].sum()), float(rows["s2"].sum())
        return max(s2 - s1 * s1 / n, 0.0) / (n - 1)

    vt = var(spread[spread["variant"].isin(group)], n_t)
    vc = var(spread[spread["variant"] == CONTROL], n_c)
    return math.sqrt(vt / n_t + vc / n_c)


def campaign_tables(campaigns: ibis.Table, assignments: ibis.Table, w: Window, p: Params, *,
                    users: ibis.Table | None = None, spend: ibis.Table | None = None,
                    txn_day: ibis.Table | None = None,
                    balances: ibis.Table | None = None,
                    trend: bool = True) -> dict[str, pd.DataFrame]:
    """``summary``, ``by_variant``, ``by_touch``, ``coverage`` and ``trend`` of the module
    docstring, unsuppressed. ``txn_day`` is the daily transaction rollup
    (:mod:`review.data.rollup`) the value of participants comes from. ``trend=False`` leaves
    out ``trend`` (two queries the headline KPIs do not read)."""
    ids = tuple(c.id for c in p.campaigns)
    days = p.thresholds.conversion_window_days
    rev = p.revenue
    camp = execute(campaigns_in_scope(campaigns, w, ids)).sort_values("campaign_id")
    cells = _rates(campaign_cells(campaigns, assignments, w, campaign_ids=ids,
                                  window_days=days), data_end(assignments), days)
    sizes = segment_sizes(users, w) if users is not None else None
    cspend = campaign_spend(spend, w) if spend is not None else None
    values = None
    if txn_day is not None or balances is not None:
        values = value_by_month(campaigns, assignments, w, campaign_ids=ids,
                                txn_day=txn_day, balances=balances,
                                margins=rev.margin_per_txn, aum_margin_annual=rev.aum_margin_annual)

    summary, by_variant, by_touch = [], [], []
    for _, c in camp.iterrows():
        cid = c["campaign_id"]
        cc = cells[cells["campaign_id"] == cid]
        ctl = cc[cc["variant"] == CONTROL]
        trt = cc[cc["variant"] != CONTROL]
        n0, x0 = int(ctl["users_period"].sum()), int(ctl["cohort_conversions"].sum())
        n0_td = int(ctl["users_to_date"].sum())
        sp_p = sp_td = 0.0
        if cspend is not None:
            row = cspend[cspend["campaign_id"] == cid]
            sp_p, sp_td = float(row["spend_period"].sum()), float(row["spend_to_date"].sum())
        n_t_td = int(trt["users_to_date"].sum())
        seg = c["target_segment"] if isinstance(c["target_segment"], str) else ""
        seg_key = "" if seg.lower() in ALL_SEGMENTS else seg
        if sizes is None:
            base, base_note = math.nan, "needs table users"
        elif seg_key not in sizes:
            base, base_note = math.nan, f"target segment {seg!r} is not a users.segment value"
        else:
            base, base_note = sizes[seg_key], None
        cvalues = None if values is None else tuple(x[x["campaign_id"] == cid] for x in values)
        value_estimate, n_cmp = "randomised", n0_td
        if n0_td == 0:
            value_estimate = "none"
            if cvalues is not None and base_note is None and users is not None:
                comp = non_participant_value(
                    users, assignments, cid, seg_key, pd.Timestamp(c["start"]).date(), w,
                    txn_day=txn_day, balances=balances, margins=rev.margin_per_txn,
                    aum_margin_annual=rev.aum_margin_annual)
                if comp is not None and comp[2] > 0:
                    cvalues = (pd.concat([cvalues[0], comp[0]], ignore_index=True),
                               pd.concat([cvalues[1], comp[1]], ignore_index=True))
                    n_cmp = comp[2]
                    value_estimate = "non-randomised"

        ctx = {"n0": n0, "x0": x0, "n0_td": n0_td, "n_t_td": n_t_td, "sp_p": sp_p,
               "sp_td": sp_td, "base": base, "base_note": base_note,
               "values": cvalues, "value_estimate": value_estimate, "n_cmp": n_cmp,
               "start": pd.Timestamp(c["start"]), "w": w, "rev": rev}
        dims = {"campaign_id": cid, "name": c["name"], "kind": c["kind"],
                "start": pd.Timestamp(c["start"]).date(), "end": pd.Timestamp(c["end"]).date(),
                "target_segment": seg or None}
        treated_variants = sorted(trt["variant"].unique())
        summary.append({**dims, **_figures(trt, treated_variants, True, ctx)})
        for v in [CONTROL, *treated_variants] if len(ctl) else treated_variants:
            g = cc[cc["variant"] == v]
            by_variant.append({"campaign_id": cid, "variant": v,
                               **_figures(g, [v], v != CONTROL, ctx)})
        for _, r in cc.iterrows():
            treated = r["variant"] != CONTROL
            inc, lo, hi, note = _increment(r["cohort_conversions"], r["users_period"], x0, n0) \
                if treated else (math.nan, math.nan, math.nan, None)
            by_touch.append({
                "campaign_id": cid, "variant": r["variant"], "touch_channel": r["touch_channel"],
                **{k: int(r[k]) for k in _COUNTS}, "cohort_rate": r["cohort_rate"],
                "immature": bool(r["immature"]), "incremental_conversions": inc,
                "incremental_lo": lo, "incremental_hi": hi,
                "reward_cost_period": float(r["reward_cost_period"]), "note": note})
    dim_cols = ["campaign_id", "name", "kind", "start", "end", "target_segment"]
    touch_cols = ["campaign_id", "variant", "touch_channel", *_COUNTS, "cohort_rate",
                  "immature", "incremental_conversions", "incremental_lo", "incremental_hi",
                  "reward_cost_period", "note"]
    out = {
        "summary": _typed(pd.DataFrame(summary, columns=[*dim_cols, *SUMMARY_COLUMNS])),
        "by_variant": _typed(pd.DataFrame(by_variant,
                                          columns=["campaign_id", "variant", *SUMMARY_COLUMNS])),
        "by_touch": _typed(pd.DataFrame(by_touch, columns=touch_cols)),
        "coverage": coverage(campaigns, assignments, w, campaign_ids=ids),
    }
    if trend:
        out["trend"] = monthly_trend(campaigns, assignments, w, campaign_ids=ids)
    return out


def _figures(g: pd.DataFrame, variants: Sequence[str], treated: bool, ctx: dict) -> dict:
    """The figures of one group of cells (a campaign's treated variants, or one variant)."""
    n0, x0, n0_td, n_t_td = ctx["n0"], ctx["x0"], ctx["n0_td"], ctx["n_t_td"]
    sp_p, sp_td, base, base_note = ctx["sp_p"], ctx["sp_td"], ctx["base"], ctx["base_note"]
    values, rev, w = ctx["values"], ctx["rev"], ctx["w"]
    n1, x1 = int(g["users_period"].sum()), int(g["cohort_conversions"].sum())
    share = safe_ratio(int(g["users_to_date"].sum()), n_t_td)[0] if treated else 0.0
    share = 0.0 if math.isnan(share) else share
    rc_p, rc_td = float(g["reward_cost_period"].sum()), float(
        g["reward_cost_to_date"].sum())
    cost_p, cost_td = rc_p + share * sp_p, rc_td + share * sp_td
    f = {"users_period": n1, "users_to_date": int(g["users_to_date"].sum()),
         "control_period": n0, "control_to_date": n0_td,
         "cohort_conversions": x1, "cohort_rate": safe_ratio(x1, n1)[0],
         "control_cohort_rate": safe_ratio(x0, n0)[0],
         "immature": bool(g["immature"].any()),
         "conversions_period": int(g["conversions_period"].sum()),
         "conversions_to_date": int(g["conversions_to_date"].sum()),
         "reward_cost_period": rc_p, "campaign_spend_period": share * sp_p,
         "cost_period": cost_p, "cost_to_date": cost_td}
    notes = []
    if treated:
        f["participation_rate"] = safe_ratio(n1, base)[0] if base_note is None \
            else math.nan
        if base_note and n1:
            notes.append(base_note)
        inc, lo, hi, note = _increment(x1, n1, x0, n0)
        f.update(incremental_conversions=inc, incremental_lo=lo, incremental_hi=hi,
                 estimate="randomised" if note is None and n1 else "none")
        if note:
            notes.append(note)
        roi = _roi(values, variants, f["users_to_date"], ctx["n_cmp"],
                   campaign_start=ctx["start"], w=w, cost_p=cost_p,
                   cost_td=cost_td, horizon=rev.ltv_horizon_months,
                   discount=rev.monthly_discount_rate)
        if roi.pop("roi_note"):
            notes.append(_roi_note(roi, values))
        f.update(roi)
        f["value_estimate"] = ctx["value_estimate"] if not math.isnan(
            roi["incremental_value_projected"]) else "none"
        if f["value_estimate"] == "non-randomised":
            notes.append("no control group: value and ROI estimated against the segment's "
                         "non-participants (non-randomised)")
    else:
        f.update(participation_rate=math.nan, incremental_conversions=math.nan,
                 incremental_lo=math.nan, incremental_hi=math.nan, estimate="control",
                 incremental_value_period=math.nan, roi_period=math.nan,
                 incremental_value_projected=math.nan, roi_projected=math.nan,
                 payback_month=math.nan)
    f["note"] = "; ".join(n for n in notes if n) or None
    return f


def _roi_note(roi: dict, values: pd.DataFrame | None) -> str:
    if values is None:
        return "ROI needs table transactions or balances"
    return "ROI unknown (no control group or no cost)" if math.isnan(
        roi["roi_period"]) and math.isnan(roi["roi_projected"]) else "ROI partly unknown"


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in df.columns:
        if c in _COUNTS or c in ("control_period", "control_to_date"):
            df[c] = df[c].astype("int64")
        elif c == "immature":
            df[c] = df[c].astype("bool")
        elif c in ("campaign_id", "name", "kind", "variant", "touch_channel", "estimate",
                   "value_estimate", "note", "target_segment", "start", "end"):
            df[c] = df[c].astype("object")
        else:
            df[c] = df[c].astype("float64")
    return df


# -- family interface ---------------------------------------------------------------------------
def _tables(t: Mapping[str, ibis.Table], w: Window, p: Params, *,
            trend: bool = True) -> dict[str, pd.DataFrame]:
    return campaign_tables(t["campaigns"], t["assignments"], w, p, users=t.get("users"),
                           spend=t.get("spend"),
                           txn_day=rollup(t, "txn_day") if "transactions" in t else None,
                           balances=t.get("balances"), trend=trend)


def headline_from(tables: Mapping[str, pd.DataFrame]) -> dict[str, Measure]:
    """The campaign KPIs from :func:`campaign_tables` (definitions in the module docstring)."""
    s, cov = tables["summary"], tables["coverage"].iloc[0]
    n = float(s["users_period"].sum())
    conv = Measure.ratio(float(s["cohort_conversions"].sum()), n,
                         what="treated participants in P")
    if s["immature"].any() and conv.note is None:
        conv = Measure(conv.value, conv.numerator, conv.denominator,
                       "immature: some conversion windows run past the data's end")
    with_ctl = s["incremental_conversions"].notna()
    if with_ctl.any():
        left = sorted(s.loc[~with_ctl, "campaign_id"])
        inc = Measure(float(s.loc[with_ctl, "incremental_conversions"].sum()),
                      note=f"left out (no control in P): {', '.join(left)}" if left else None)
    else:
        inc = Measure.missing("no campaign in scope with treated and control users in P"
                              if len(s) else "no campaign in scope overlaps P")
    ok = s["roi_period"].notna()
    if ok.any():
        val, cost = (float(s.loc[ok, "incremental_value_period"].sum()),
                     float(s.loc[ok, "cost_period"].sum()))
        roi = Measure.ratio(val - cost, cost, what="campaign cost in P")
    else:
        roi = Measure.missing("; ".join(f"{c}: {n}" for c, n in zip(
            s["campaign_id"], s["note"].fillna("no cost in P"), strict=True))
            or "no campaign in scope overlaps P")
    return {
        "campaign_participants": Measure(float(cov["people_period"])),
        "campaign_conversions": Measure(float(s["conversions_period"].sum())),
        "campaign_conversion_rate": conv,
        "incremental_conversions": inc,
        "campaign_roi": roi,
    }


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The campaign KPIs of window ``w``."""
    return headline_from(_tables(t, w, p, trend=False))


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The campaign tables of P, small cells masked (module docstring)."""
    return masked(_tables(t, w, p), p.thresholds.min_cell_users)


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """KPIs and tables of ``w`` from one :func:`campaign_tables` (its queries run once)."""
    tables = _tables(t, w, p)
    return headline_from(tables), masked(tables, p.thresholds.min_cell_users)


def masked(tables: Mapping[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
    """The tables of :func:`campaign_tables` with cells of fewer than ``k`` users masked."""
    out = dict(tables)
    period_cols = ["users_period", "cohort_conversions", "cohort_rate", "conversions_period",
                   "incremental_conversions", "incremental_lo", "incremental_hi",
                   "participation_rate"]
    for name in ("summary", "by_variant", "by_touch"):
        out[name] = _mask(out[name], k, [c for c in period_cols if c in out[name]])
    tr = out["trend"]
    tr = tr.assign(_cell=tr["participants"].where(tr["participants"] != 0, k))
    out["trend"] = suppress_small_cells(tr, "_cell", k, ["participants", "conversions"]
                                        ).drop(columns="_cell")
    return out


def _mask(df: pd.DataFrame, k: int, period_cols: list[str]) -> pd.DataFrame:
    """Mask cells of 1..k−1 users through :func:`suppress_small_cells` (a cell of 0 users
    identifies nobody and stays 0: "no contacts this period" is a fact to show)."""
    df = df.assign(_cell=df["users_period"].where(df["users_period"] != 0, k))
    df = suppress_small_cells(df, "_cell", k, period_cols).drop(columns="_cell")
    td = df.assign(_cell=df["users_to_date"].where(df["users_to_date"] != 0, k))
    td = suppress_small_cells(td, "_cell", k, ["users_to_date", "conversions_to_date"])
    for c in ("users_to_date", "conversions_to_date"):
        df[c] = td[c]
    df["suppressed"] = df["suppressed"] | td["suppressed"]
    return df

"""Value family: transactions and GMV, mobile share (online migration), HNW conversion, LTV.

Headline KPIs (``review.kpis``, family ``value``)
-------------------------------------------------
``transactions``
    Count of successful transactions with ``ts`` in P, all channels (count).
``gmv``
    Sum of ``amount`` of those transactions (currency). 0 when there are none.
``mobile_share``
    Successful mobile transactions ÷ successful transactions, all channels (ratio; ``NaN``
    with a note when P has no successful transaction).
``hnw_conversions``
    Eligible users converted to HNW in P (count), see :func:`hnw_conversion`.
``hnw_conversion_rate``
    ``hnw_conversions`` ÷ eligible users (ratio).

HNW conversion rules
--------------------
* *AUM at P's start* is the ``balances`` row of the month end just before P's start (the last
  day of the month before the month of ``start``: ``2026-08-31`` for a P starting on
  ``2026-09-01`` or ``2026-09-10``).
* *AUM at P's end* is the row of the last month of P when P ends on a month end, else the
  latest month end ≤ P's end (``2026-08-31`` for a P ending on ``2026-09-20``).
* Rows are matched by the calendar year and month of ``balances.month`` (the contract stores
  the month-end date; a first-of-month date is matched the same way).
* Eligible: a start row with ``eligible_aum ≤ aum < hnw_aum``. Users without a start row are
  not eligible. Converted: eligible with an end row and ``aum ≥ hnw_aum``; eligible users
  without an end row stay in the denominator and are not converted (they are counted in
  ``eligible_without_end_row``).
* If P contains no month end (start and end month ends coincide) nothing can convert: the
  counts are reported and the rate is ``NaN`` with a note.

LTV (lifetime value per new user, by acquisition channel)
---------------------------------------------------------
* Cohorts: users registered in the 12 calendar months ending with the month of P's end
  (``registered_at ≤`` P's end), by ``acquisition_channel``; a cohort is the users of one
  channel registered in one calendar month ``c``.
* Age ``m`` of an activity month ``a`` is ``a − c`` in calendar months (integer year·12+month
  arithmetic, identical on every engine); ``m = 0`` is the registration month.
* Active at age ``m``: a successful transaction (any channel) or a ``login`` in month ``c+m``.
  Only fully observed months count: month ``c+m`` must end on or before P's end, and data
  after P's end is never read (a rerun gives the same numbers).
* Observed retention ``r(m)`` = active users at age ``m`` ÷ users of the cohorts observable at
  age ``m`` (pooled over the channel's cohorts).
* Margin per active user-month ``a`` = value (:func:`user_month_value`: margins of the
  successful transactions, ``p.revenue.margin_per_txn`` by type, plus month-end AUM ×
  ``p.revenue.aum_margin_annual`` ÷ 12 when ``balances`` exist) of the cohorts' active
  user-months ÷ active user-months, pooled over the observed ages.
* Projection: observed ``r(m)`` up to the last observed age ``M``; beyond it
  ``r(m) = r(M)·q^(m−M)`` with ``q = min(1, r(M)/r(M−1))`` (the last observed month-over-month
  ratio; ``q = 0`` when ``r(M−1) = 0``). A channel with fewer than two observed ages cannot be
  extrapolated: its LTV is ``NaN`` with a note.
* ``LTV = Σ_{m=0}^{H−1} r(m) · a / (1 + d)^m`` (currency per new user), ``H`` =
  ``p.revenue.ltv_horizon_months``, ``d`` = ``p.revenue.monthly_discount_rate``.
  The LTV tables (``ltv``, ``ltv_curve``) and LTV ÷ CAC are breakdowns of the budget family
  (:mod:`review.metrics.budget`), which computes the cohort query once per period.
* No margin assumptions in the params → LTV ``NaN`` with a note (never a silent 0).

Breakdown tables (``breakdowns()`` keys; ``compute_period`` stores them as ``value.<name>``)
------------------------------------------------------------------------------------------
``by_type``
    One row per transaction ``type`` with a successful transaction in P: ``type``,
    ``transactions`` (count), ``gmv`` (currency), ``share_transactions``, ``share_gmv`` (ratios
    of the period's totals). Not suppressed (counts transactions, not users).
``by_channel``
    Same columns with ``channel`` (mobile, branch, web, atm) instead of ``type``.
``mobile_share_trend``
    12 rows, one per calendar month ending with the month of P's end (the last month cut at
    P's end): ``month`` (first day, a date), ``transactions``, ``mobile_transactions``
    (counts), ``gmv``, ``mobile_gmv`` (currency), ``mobile_share`` (ratio, ``NaN`` in a month
    without transactions).
``channel_preference_by_age``
    One row per ``age_band`` of users with a successful transaction in P: ``users``
    (distinct transacting users), ``mobile_users`` (of them with ≥1 mobile transaction),
    ``transactions``, ``mobile_transactions`` (counts), ``mobile_share`` (mobile ÷ all
    transactions), ``mobile_user_share`` (mobile_users ÷ users), ``suppressed`` (cells with
    fewer than ``min_cell_users`` users are masked).
``hnw_conversion``
    One row: ``start_month_end``, ``end_month_end`` (dates), ``eligible``, ``converted``,
    ``eligible_without_end_row`` (counts), ``rate`` (ratio), ``note``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta

import ibis
import pandas as pd
from ibis import _

from review.config import Params
from review.core.calendar import month_end as _month_end
from review.core.calendar import month_index as _index_of
from review.core.calendar import month_of_index
from review.data.rollup import months_of, rollup
from review.metrics.common import (
    Measure,
    Window,
    execute,
    ratio_column,
    safe_ratio,
    suppress_small_cells,
    with_missing,
)

#: Tables every headline KPI of the family needs (their intersection); see KPI_REQUIRES.
REQUIRES: tuple[str, ...] = ()
#: Tables each headline KPI needs; a KPI whose tables are missing is NaN with a note.
KPI_REQUIRES: dict[str, tuple[str, ...]] = {
    "transactions": ("transactions",),
    "gmv": ("transactions",),
    "mobile_share": ("transactions",),
    "hnw_conversions": ("balances",),
    "hnw_conversion_rate": ("balances",),
}

TREND_MONTHS = 12


# -- month helpers (shared by the value, satisfaction and market families) ----------------------
def month_index(col: ibis.Value) -> ibis.IntegerValue:
    """Calendar-month number ``year·12 + month − 1`` of a date or timestamp (engine-side)."""
    return col.year() * 12 + col.month() - 1


def trend_window(w: Window, months: int = TREND_MONTHS) -> Window:
    """The ``months`` calendar months ending with the month of ``w.end``, cut at ``w.end``."""
    return Window(month_of_index(_index_of(w.end) - months + 1), w.end)


def month_grid(w: Window, months: int = TREND_MONTHS) -> pd.DataFrame:
    """One row per trend month: ``month_idx`` (int) and ``month`` (first day, a date)."""
    last = _index_of(w.end)
    idx = list(range(last - months + 1, last + 1))
    return pd.DataFrame({"month_idx": idx, "month": [month_of_index(i) for i in idx]})


# -- transactions (from the daily rollup txn_day) ----------------------------------------------------
def successful_transactions(transactions: ibis.Table, w: Window) -> ibis.Table:
    """Engine expression: raw transactions with ``status = 'success'`` and ``ts`` in ``w``
    (the families read :func:`successful_txn_days`; kept for reference queries)."""
    return transactions.filter(w.has_ts(transactions.ts), transactions.status == "success")


def amount_sum(amount: ibis.NumericValue, where: ibis.BooleanValue | None = None
               ) -> ibis.NumericScalar:
    """Engine expression: Σ ``amount`` (currency) summed as ``DECIMAL(38, 6)``.

    Each ``txn_day.amount`` (a daily sum) is rounded to the micro-unit and the decimals are
    added exactly, so a total does not depend on the order a parallel engine adds rows in
    (a sum of doubles does, in its last bits). It differs from the double sum of the raw
    amounts by at most half a micro-unit per rollup row.
    """
    return amount.cast("decimal(38, 6)").sum(where=where)


def successful_txn_days(txn_day: ibis.Table, w: Window) -> ibis.Table:
    """Engine expression: rows of the ``txn_day`` rollup (:mod:`review.data.rollup`) with
    ``status = 'success'`` and ``day`` in ``w``; ``txns`` counts and ``amount`` sums them."""
    return txn_day.filter(w.has_date(txn_day.day), txn_day.status == "success")


def transaction_totals(txn_day: ibis.Table, w: Window) -> pd.DataFrame:
    """Successful transactions of P in one engine aggregate over ``txn_day``.

    Returns
    -------
    DataFrame
        One row: ``transactions`` and ``mobile_transactions`` (counts of successful
        transactions with ``ts`` in P, all channels / ``channel = 'mobile'``), ``gmv`` and
        ``mobile_gmv`` (sum of their ``amount``, currency; 0 when none), ``mobile_share``
        (mobile ÷ all, ratio; ``NaN`` when P has none) and ``note``.
    """
    s = successful_txn_days(txn_day, w)
    mobile = s.channel == "mobile"
    df = execute(s.aggregate(
        transactions=s.txns.sum(), mobile_transactions=s.txns.sum(where=mobile),
        gmv=amount_sum(s.amount), mobile_gmv=amount_sum(s.amount, mobile),
    ))
    for c in ("transactions", "mobile_transactions"):
        df[c] = df[c].fillna(0).astype("int64")
    df[["gmv", "mobile_gmv"]] = df[["gmv", "mobile_gmv"]].astype("float64").fillna(0.0)
    share, note = safe_ratio(df.at[0, "mobile_transactions"], df.at[0, "transactions"],
                             what="successful transactions in P")
    df["mobile_share"] = share
    df["note"] = note
    return df


def transactions_by(txn_day: ibis.Table, w: Window, by: str) -> pd.DataFrame:
    """Successful transactions and GMV of P by ``type`` or ``channel`` (from ``txn_day``).

    Returns
    -------
    DataFrame
        One row per value of ``by`` present in P, sorted by ``transactions`` descending:
        ``by``, ``transactions`` (count), ``gmv`` (currency), ``share_transactions`` and
        ``share_gmv`` (ratios of P's totals).
    """
    if by not in ("type", "channel"):
        raise ValueError(f"transactions_by: by must be 'type' or 'channel', got {by!r}")
    s = successful_txn_days(txn_day, w)
    df = execute(s.group_by(by).aggregate(transactions=s.txns.sum(),
                                          gmv=amount_sum(s.amount)))
    df["transactions"] = df["transactions"].astype("int64")
    total_gmv = float(df["gmv"].dropna().sum())  # decimals: exact, in any order
    df["gmv"] = df["gmv"].astype("float64")
    df["share_transactions"] = ratio_column(df["transactions"],
                                            pd.Series(df["transactions"].sum(), df.index))
    df["share_gmv"] = ratio_column(df["gmv"], pd.Series(total_gmv, df.index))
    return df.sort_values(["transactions", by], ascending=[False, True]).reset_index(drop=True)


def mobile_share_trend(txn_day: ibis.Table, w: Window) -> pd.DataFrame:
    """Monthly online migration: successful transactions and mobile share, 12 months.

    One grouped query over ``txn_day`` for the 12 calendar months ending with the month of
    ``w.end`` (the last month cut at ``w.end``). Columns: ``month`` (first day, date),
    ``transactions``, ``mobile_transactions`` (counts), ``gmv``, ``mobile_gmv`` (currency),
    ``mobile_share`` (mobile ÷ all transactions, ratio; ``NaN`` in a month without
    transactions).
    """
    tw = trend_window(w)
    s = successful_txn_days(txn_day, tw)
    mobile = s.channel == "mobile"
    agg = execute(s.group_by(month_idx=month_index(s.day)).aggregate(
        transactions=s.txns.sum(), mobile_transactions=s.txns.sum(where=mobile),
        gmv=amount_sum(s.amount), mobile_gmv=amount_sum(s.amount, mobile),
    ))
    df = month_grid(w).merge(agg, on="month_idx", how="left")
    for c in ("transactions", "mobile_transactions"):
        df[c] = df[c].fillna(0).astype("int64")
    for c in ("gmv", "mobile_gmv"):
        df[c] = df[c].astype("float64").fillna(0.0)
    df["mobile_share"] = ratio_column(df["mobile_transactions"], df["transactions"])
    return df.drop(columns="month_idx")


def channel_preference_by_age(txn_day: ibis.Table, users: ibis.Table,
                              w: Window) -> pd.DataFrame:
    """Channel preference by age band: share of successful transactions made on mobile.

    From ``txn_day``: distinct users are distinct ``user_id`` of its rows. Not suppressed
    here (``breakdowns`` masks cells with fewer than ``min_cell_users``).

    Returns
    -------
    DataFrame
        One row per ``age_band``: ``users`` (distinct users with a successful transaction in
        P), ``mobile_users`` (of them, with ≥1 on mobile), ``transactions``,
        ``mobile_transactions`` (counts), ``mobile_share`` (mobile ÷ all transactions) and
        ``mobile_user_share`` (mobile_users ÷ users), ratios.
    """
    s = successful_txn_days(txn_day, w)
    j = s.join(users.select("user_id", "age_band"), "user_id")
    mobile = j.channel == "mobile"
    df = execute(j.group_by("age_band").aggregate(
        users=j.user_id.nunique(), mobile_users=j.user_id.nunique(where=mobile),
        transactions=j.txns.sum(), mobile_transactions=j.txns.sum(where=mobile),
    ))
    for c in ("transactions", "mobile_transactions"):
        df[c] = df[c].fillna(0).astype("int64")
    df["mobile_share"] = ratio_column(df["mobile_transactions"], df["transactions"])
    df["mobile_user_share"] = ratio_column(df["mobile_users"], df["users"])
    return df.sort_values("age_band").reset_index(drop=True)


# -- HNW conversion -----------------------------------------------------------------------------
def hnw_month_ends(w: Window) -> tuple[date, date]:
    """The month ends whose balances define AUM at P's start and at P's end (module doc)."""
    start_me = w.start.replace(day=1) - timedelta(days=1)
    end_me = w.end if _month_end(w.end) == w.end else w.end.replace(day=1) - timedelta(days=1)
    return start_me, end_me


def hnw_conversion(balances: ibis.Table, w: Window, *, eligible_aum: float,
                   hnw_aum: float) -> pd.DataFrame:
    """HNW conversion in P (docs/metrics.md, family value), one engine query.

    eligible = users whose AUM at P's start lies in ``[eligible_aum, hnw_aum)``; converted =
    eligible users whose AUM at P's end is ``≥ hnw_aum``; rate = converted ÷ eligible. Which
    month-end rows are used, and users without rows: see the module docstring.

    Returns
    -------
    DataFrame
        One row: ``start_month_end``, ``end_month_end`` (dates), ``eligible``, ``converted``,
        ``eligible_without_end_row`` (counts), ``rate`` (ratio; ``NaN`` with ``note`` when
        there are no eligible users or P contains no month end).
    """
    start_me, end_me = hnw_month_ends(w)
    b = balances
    start_rows = b.filter(month_index(b.month) == _index_of(start_me),
                          b.aum >= eligible_aum, b.aum < hnw_aum).select("user_id")
    end_rows = b.filter(month_index(b.month) == _index_of(end_me)).select(
        "user_id", end_aum=b.aum)
    j = start_rows.left_join(end_rows, "user_id")
    df = execute(j.aggregate(
        eligible=j.count(),
        converted=j.count(where=j.end_aum >= hnw_aum),
        eligible_without_end_row=j.count(where=j.end_aum.isnull()),
    ))
    df.insert(0, "end_month_end", end_me)
    df.insert(0, "start_month_end", start_me)
    if end_me <= start_me:
        df["rate"] = math.nan
        df["note"] = f"P ({w.start}..{w.end}) contains no month end: no conversion observable"
        return df
    rate, note = safe_ratio(df.at[0, "converted"], df.at[0, "eligible"],
                            what=f"eligible users (AUM in [{eligible_aum:g}, {hnw_aum:g}) "
                                 f"on {start_me})")
    df["rate"] = rate
    df["note"] = note
    return df


# -- LTV -----------------------------------------------------------------------------------------
def margin_expr(txn_type: ibis.StringValue, margins: Mapping[str, float]) -> ibis.FloatingValue:
    """Engine expression: margin of one successful transaction of ``txn_type`` (currency)."""
    if not margins:
        return ibis.literal(0.0, type="float64")
    return txn_type.substitute({k: float(v) for k, v in margins.items()},
                               else_=0.0).cast("float64")


def user_month_value(w: Window, *, txn_day: ibis.Table | None = None,
                     balances: ibis.Table | None = None, margins: Mapping[str, float],
                     aum_margin_annual: float = 0.0) -> ibis.Table | None:
    """THE value function: value of each user in each calendar month of ``w`` (engine side).

    ``value = txn_margin + aum_margin`` (currency), where ``txn_margin`` = Σ margin
    (``margins`` by type; other types earn 0) of the user's successful transactions with
    ``ts`` in ``w`` and month ``m`` (from the ``txn_day`` rollup: margin × ``txns``), and ``aum_margin`` = AUM of the user's ``balances`` row of
    month end ``m`` (inside ``w``) × ``aum_margin_annual`` ÷ 12. Summed over a window this is
    "Σ transaction margins + mean AUM × aum_margin_annual × months ÷ 12" (a month without a
    balances row counts AUM 0). Campaign ROI (in period and projected), incremental value
    and LTV all use this function, so they cannot disagree about what a customer is worth.

    Returns an expression with ``user_id``, ``month_idx`` (:func:`month_index`),
    ``txn_margin``, ``aum_margin``, ``value`` and ``txns`` (the month's successful
    transactions, count; 0 for a month with a balance only); one row per user-month with a
    successful transaction or a balance. ``None`` when neither ``txn_day`` nor ``balances``
    is given.
    """
    parts = []
    zero = ibis.literal(0.0, type="float64")
    if txn_day is not None:
        s = successful_txn_days(txn_day, w)
        parts.append(s.select("user_id", month_idx=month_index(s.day),
                              txn_margin=margin_expr(s.type, margins) * s.txns.cast("float64"),
                              aum_margin=zero, txns=s.txns.cast("int64")))
    if balances is not None and aum_margin_annual:
        b = balances.filter(w.has_date(balances.month))
        parts.append(b.select("user_id", month_idx=month_index(b.month), txn_margin=zero,
                              aum_margin=(b.aum.cast("float64") * (aum_margin_annual / 12.0))
                              .fill_null(0.0), txns=ibis.literal(0, type="int64")))
    if not parts:
        return None
    u = parts[0] if len(parts) == 1 else parts[0].union(parts[1], distinct=False)
    g = u.group_by("user_id", "month_idx").aggregate(txn_margin=u.txn_margin.sum(),
                                                       aum_margin=u.aum_margin.sum(),
                                                       txns=u.txns.sum())
    return g.mutate(value=g.txn_margin + g.aum_margin)


def ltv_cohort_activity(users: ibis.Table, txn_day: ibis.Table, user_day: ibis.Table,
                        w: Window, *, margins: Mapping[str, float],
                        balances: ibis.Table | None = None, aum_margin_annual: float = 0.0,
                        cohort_months: int = TREND_MONTHS,
                        user_month: ibis.Table | None = None) -> pd.DataFrame:
    """Observed activity and value of the channel cohorts by age (two engine queries over
    ``users`` and the rollups ``txn_day`` and ``user_day``, or ``user_month`` for whole
    months when it is stored: :func:`review.data.rollup.months_of`).

    Cohorts, ages, observability and activity as in the module docstring. The value of an
    active user-month is :func:`user_month_value` (transaction margins, plus the AUM margin
    when ``balances`` and ``aum_margin_annual`` are given). A user-month is active with a
    login (from the monthly rollup) or a successful transaction (the value function's
    ``txns``): one outer join of the two per-(user, month) tables.

    Returns
    -------
    DataFrame
        One row per ``acquisition_channel`` and observable ``age`` (months): ``cohort_users``
        (users of the cohorts observable at that age), ``active_users`` (of them active at
        that age), ``margin`` (currency, the value of those active users at that age).
    """
    cw = trend_window(w, cohort_months)
    last_full = _index_of(w.end) if _month_end(w.end) == w.end else _index_of(w.end) - 1
    reg = users.filter(cw.has_ts(users.registered_at)).select(
        "user_id", "acquisition_channel", cohort=month_index(users.registered_at))
    sizes = execute(reg.group_by("acquisition_channel", "cohort").aggregate(n=reg.count()))

    # only the cohorts' users are read (a semi-join before the grouping: the same rows)
    ids = reg.select("user_id")
    txn_day = txn_day.semi_join(ids, "user_id")
    balances = None if balances is None else balances.semi_join(ids, "user_id")
    um = months_of(user_day, user_month, cw.start, cw.end)
    um = um.filter(um.logins > 0)
    logins = um.select(l_user=um.user_id, l_month=month_index(um.month)).semi_join(
        ids, _.l_user == ids.user_id)
    val = user_month_value(cw, txn_day=txn_day, balances=balances, margins=margins,
                           aum_margin_annual=aum_margin_annual)
    val = val.select(v_user=val.user_id, v_month=val.month_idx, margin=val.value,
                     txns=val.txns)
    both = logins.outer_join(val, [logins.l_user == val.v_user,
                                   logins.l_month == val.v_month])
    user_months = both.filter(both.l_user.notnull() | (both.txns > 0)).select(
        user_id=ibis.coalesce(both.l_user, both.v_user),
        active_month=ibis.coalesce(both.l_month, both.v_month),
        margin=both.margin.fill_null(0.0))
    j = reg.join(user_months, "user_id")
    j = j.mutate(age=j.active_month - j.cohort).filter(
        (_.age >= 0) & (_.active_month <= last_full))
    agg = execute(j.group_by("acquisition_channel", "age").aggregate(
        active_users=j.count(), margin=j.margin.sum()))

    rows = []
    for ch, grp in sizes.groupby("acquisition_channel", sort=True):
        for age in range(0, max(last_full - int(grp["cohort"].min()) + 1, 0)):
            n = int(grp.loc[grp["cohort"] + age <= last_full, "n"].sum())
            if n > 0:
                rows.append((ch, age, n))
    out = pd.DataFrame(rows, columns=["acquisition_channel", "age", "cohort_users"])
    out = out.astype({"acquisition_channel": "str", "age": "int64", "cohort_users": "int64"})
    out = out.merge(agg, on=["acquisition_channel", "age"], how="left")
    out["active_users"] = out["active_users"].fillna(0).astype("int64")
    # to the micro-unit: a parallel engine sums doubles in any order (last-bit noise)
    out["margin"] = out["margin"].astype("float64").fillna(0.0).round(6)
    return out.sort_values(["acquisition_channel", "age"]).reset_index(drop=True)


def ltv_curve(activity: pd.DataFrame, *, horizon_months: int,
              monthly_discount_rate: float) -> pd.DataFrame:
    """Project each channel's retention and margin over the horizon (pure pandas).

    Parameters
    ----------
    activity
        The frame of :func:`ltv_cohort_activity`.
    horizon_months, monthly_discount_rate
        ``H`` and ``d`` of the module docstring.

    Returns
    -------
    DataFrame
        One row per channel and ``age`` 0..H−1 (channels with fewer than two observed ages
        are left out): ``observed`` (bool), ``retention`` (ratio), ``margin_per_user``
        (``r(m)·a``), ``discounted_margin`` (``/(1+d)^m``), ``cumulative_ltv`` (currency).
    """
    frames = []
    for ch, g in activity.groupby("acquisition_channel", sort=True):
        summary = _ltv_parameters(g)
        if summary["note"] is not None:
            continue
        r_obs = dict(zip(g["age"], g["active_users"] / g["cohort_users"], strict=True))
        last, q, a = summary["observed_months"] - 1, summary["decay"], summary["margin"]
        ages = range(horizon_months)
        ret = [r_obs[m] if m <= last else r_obs[last] * q ** (m - last) for m in ages]
        df = pd.DataFrame({"acquisition_channel": ch, "age": list(ages),
                           "observed": [m <= last for m in ages], "retention": ret})
        df["margin_per_user"] = df["retention"] * a
        df["discounted_margin"] = df["margin_per_user"] / (1.0 + monthly_discount_rate) ** df[
            "age"]
        df["cumulative_ltv"] = df["discounted_margin"].cumsum()
        frames.append(df)
    cols = ["acquisition_channel", "age", "observed", "retention", "margin_per_user",
            "discounted_margin", "cumulative_ltv"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    return pd.concat(frames, ignore_index=True)[cols]


def _ltv_parameters(g: pd.DataFrame) -> dict:
    """Observed ages, last retention, decay q and margin per active month of one channel."""
    g = g.sort_values("age")
    ages = list(g["age"])
    contiguous = ages == list(range(len(ages)))
    r = (g["active_users"] / g["cohort_users"]).tolist()
    active = float(g["active_users"].sum())
    a, _ = safe_ratio(float(g["margin"].sum()), active)
    out = {"observed_months": len(ages), "retention_last": r[-1] if r else math.nan,
           "decay": math.nan, "margin": a, "note": None}
    if len(ages) < 2 or not contiguous:
        out["note"] = "fewer than two observed months after registration: cannot project"
    elif active == 0:
        out["margin"] = 0.0
        out["decay"] = 0.0
    else:
        out["decay"] = 0.0 if r[-2] == 0 else min(1.0, r[-1] / r[-2])
    return out


def ltv_by_channel(activity: pd.DataFrame, *, horizon_months: int,
                   monthly_discount_rate: float,
                   margins: Mapping[str, float] | None = None,
                   aum_margin_annual: float = 0.0) -> pd.DataFrame:
    """LTV per new user by acquisition channel (currency), from :func:`ltv_cohort_activity`.

    ``LTV = Σ_{m<H} r(m)·a/(1+d)^m`` (module docstring). ``margins`` and
    ``aum_margin_annual`` are only checked for emptiness: with no value assumption at all
    every LTV is ``NaN`` with a note.

    Returns
    -------
    DataFrame
        One row per channel: ``acquisition_channel``, ``cohort_users`` (users of its cohorts),
        ``observed_months``, ``retention_last``, ``decay``, ``margin_per_active_month``,
        ``ltv`` and ``note``.
    """
    curve = ltv_curve(activity, horizon_months=horizon_months,
                      monthly_discount_rate=monthly_discount_rate)
    rows = []
    for ch, g in activity.groupby("acquisition_channel", sort=True):
        prm = _ltv_parameters(g)
        ltv = float(curve.loc[curve["acquisition_channel"] == ch, "discounted_margin"].sum())
        note = prm["note"]
        if margins is not None and not margins and not aum_margin_annual:
            note = ("no revenue.margin_per_txn nor revenue.aum_margin_annual in the params: "
                    "margin unknown")
        rows.append({
            "acquisition_channel": ch,
            "cohort_users": int(g.loc[g["age"] == 0, "cohort_users"].sum()),
            "observed_months": prm["observed_months"],
            "retention_last": prm["retention_last"], "decay": prm["decay"],
            "margin_per_active_month": prm["margin"],
            "ltv": math.nan if note else ltv, "note": note,
        })
    cols = ["acquisition_channel", "cohort_users", "observed_months", "retention_last",
            "decay", "margin_per_active_month", "ltv", "note"]
    return pd.DataFrame(rows, columns=cols)


# -- family interface -----------------------------------------------------------------------------
def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The value KPIs of window ``w`` (KPIs whose tables are missing are NaN with a note)."""
    return _headline(t, w, _hnw(t, w, p))


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The value breakdown tables of P (module docstring); tables whose inputs are missing
    are omitted."""
    return _breakdowns(t, w, p, _hnw(t, w, p))


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w`` with the HNW conversion query run
    once."""
    hnw = _hnw(t, w, p)
    return _headline(t, w, hnw), _breakdowns(t, w, p, hnw)


def _hnw(t: Mapping[str, ibis.Table], w: Window, p: Params) -> pd.DataFrame | None:
    """:func:`hnw_conversion` of ``w`` (``None`` without ``balances``)."""
    if "balances" not in t:
        return None
    return hnw_conversion(t["balances"], w, eligible_aum=p.thresholds.eligible_aum,
                          hnw_aum=p.thresholds.hnw_aum)


def _headline(t: Mapping[str, ibis.Table], w: Window,
              hnw: pd.DataFrame | None) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    if "transactions" in t:
        tot = transaction_totals(rollup(t, "txn_day"), w).iloc[0]
        out["transactions"] = Measure(float(tot["transactions"]))
        out["gmv"] = Measure(float(tot["gmv"]))
        out["mobile_share"] = Measure.ratio(tot["mobile_transactions"], tot["transactions"],
                                            what="successful transactions in P")
    if hnw is not None:
        h = hnw.iloc[0]
        note = h["note"] if isinstance(h["note"], str) else None
        no_month_end = h["end_month_end"] <= h["start_month_end"]
        out["hnw_conversions"] = (Measure.missing(note) if no_month_end
                                  else Measure(float(h["converted"])))
        out["hnw_conversion_rate"] = Measure(float(h["rate"]), float(h["converted"]),
                                             float(h["eligible"]), note)
    return with_missing(out, KPI_REQUIRES, t)


def _breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params,
                hnw: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    k = p.thresholds.min_cell_users
    out: dict[str, pd.DataFrame] = {}
    if "transactions" in t:
        tx = rollup(t, "txn_day")
        out["by_type"] = transactions_by(tx, w, "type")
        out["by_channel"] = transactions_by(tx, w, "channel")
        out["mobile_share_trend"] = mobile_share_trend(tx, w)
        if "users" in t:
            out["channel_preference_by_age"] = suppress_small_cells(
                channel_preference_by_age(tx, t["users"], w), "users", k)
    if hnw is not None:
        out["hnw_conversion"] = hnw.copy()
    return out

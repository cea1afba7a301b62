"""Budget family: plan vs actual, burn-down, money bridge, paid and all-in CAC, LTV ÷ CAC.

Headline KPIs (``review.kpis``, family ``budget``)
--------------------------------------------------
``budget_execution``
    Spend with ``date`` in P ÷ ``p.budget.total`` (ratio). ``NaN`` with a note when the params
    have no budget or a zero total.
``cac``
    Spend in P of the paid acquisition channels ÷ new users (``registered_at`` in P) whose
    ``acquisition_channel`` is one of them (currency per user). Paid acquisition channels:
    spend channels with spend in P other than ``internal`` (which acquires nobody); all
    categories of a channel count.
``cac_all_in``
    All-in CAC: spend in P of every category except ``tech``, ``service``, ``reserve`` and
    ``training`` (any channel, ``internal`` included) ÷ all new users of P (currency per
    user). Shown beside the paid ``cac``, so no acquisition money goes unexplained.
``ltv_cac``
    Projected LTV of P's new users from the paid channels ÷ their spend:
    ``Σ_c new_users_c · LTV_c ÷ Σ_c spend_c`` over paid channels with a projected LTV
    (:func:`review.metrics.value.ltv_by_channel`), i.e. the new-user-weighted LTV ÷ ``cac``.

Spend channel ``internal``
-------------------------
Spend not bought through an acquisition channel: the bank's own campaign operations, rewards
handling, content, staff training, tech, service and the reserve. It acquires nobody directly,
so paid CAC leaves it out; all-in CAC counts its acquisition categories. Campaign results,
cost and ROI are the :mod:`review.metrics.campaigns` family.

Breakdown tables (``breakdowns()`` keys; stored as ``budget.<name>``)
--------------------------------------------------------------------
``plan_vs_actual``
    One row per spend category in the plan or with spend in P: ``category``, ``planned``
    (``total × share``; ``NaN`` without a budget), ``actual``, ``variance``
    (actual − planned), all currency; ``variance_pct`` and ``execution`` (actual ÷ planned),
    ratios (``NaN`` where planned is 0 or missing).
``by_channel``
    One row per spend channel with spend in P: ``channel``, ``amount`` (currency), ``share``
    (ratio of P's spend), ``impressions``, ``clicks`` (counts), ``ctr`` (clicks ÷
    impressions), ``cost_per_click`` (currency).
``burn_down``
    One row per day of P: ``date``, ``amount`` (that day's spend), ``cumulative`` (spend to
    date), ``planned_cumulative`` (linear plan line ``total · i / days`` for the i-th day),
    ``remaining`` (total − cumulative), currency; plan columns ``NaN`` without a budget.
``cac``
    One row per paid acquisition channel: ``channel``, ``spend`` (currency), ``new_users``
    (count), ``cac`` (currency per user; ``NaN`` with ``note`` when the channel acquired no
    user), ``rank`` (1 = cheapest), ``vs_median`` (cac ÷ the median channel CAC),
    ``flagged_high`` (``vs_median ≥ 2``), ``suppressed`` (channels with fewer than
    ``min_cell_users`` new users: ``new_users``, ``cac`` and ``vs_median`` masked; the rank,
    median and flag are computed before masking).
``ltv_cac``
    One row per paid acquisition channel: ``channel``, ``new_users``, ``spend``, ``ltv``
    (currency per user), ``cac``, ``ltv_cac`` (multiple), ``note``, ``suppressed`` (as in
    ``cac``).
``ltv``
    One row per acquisition channel: ``acquisition_channel``, ``cohort_users`` (users of the
    channel's 12 monthly cohorts, :mod:`review.metrics.value`), ``observed_months`` (ages observed), ``retention_last``
    (``r(M)``), ``decay`` (``q``), ``margin_per_active_month`` (currency), ``ltv`` (currency
    per user), ``note``, ``suppressed`` (channels with fewer than ``min_cell_users`` cohort
    users are masked).
``ltv_curve``
    One row per channel and age ``m = 0..H−1``: ``acquisition_channel``, ``age`` (months),
    ``observed`` (bool), ``retention`` (ratio, observed or projected), ``margin_per_user``
    (``r(m)·a``, currency), ``discounted_margin`` (currency), ``cumulative_ltv`` (currency).
    Rows of channels suppressed in ``ltv`` are left out.
``money_bridge``
    One row per spend ``category`` × ``channel`` × ``campaign_id`` of P (``None`` = not
    attributed to a campaign): ``amount`` (currency), ``share`` (of P's spend). Sums by
    category, by channel and by campaign all reconcile to the same total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import ibis
import pandas as pd

from review.config import Budget, Params
from review.data.rollup import rollup, stored
from review.metrics.common import (
    Measure,
    Window,
    execute,
    ratio_column,
    suppress_small_cells,
    with_missing,
)
from review.metrics.value import ltv_by_channel, ltv_cohort_activity, ltv_curve

#: Tables every headline KPI of the family needs (their intersection); see KPI_REQUIRES.
REQUIRES: tuple[str, ...] = ("spend",)
#: Tables each headline KPI needs; a KPI whose tables are missing is NaN with a note.
KPI_REQUIRES: dict[str, tuple[str, ...]] = {
    "cac": ("spend", "users"),
    "budget_execution": ("spend",),
    "cac_all_in": ("spend", "users"),
    "ltv_cac": ("spend", "users", "transactions", "events"),
}
#: Spend channels that acquire no users (excluded from paid CAC). ``internal`` is spend not
#: bought through an acquisition channel: the bank's own campaign operations, rewards
#: handling, content, staff training, tech, service and the reserve.
NON_ACQUISITION_CHANNELS: tuple[str, ...] = ("internal",)
#: Spend categories that are not acquisition spend (excluded from all-in CAC).
NON_ACQUISITION_CATEGORIES: tuple[str, ...] = ("tech", "service", "reserve", "training")
#: A channel whose CAC is at least this multiple of the median channel's is flagged.
FAR_ABOVE_MEDIAN = 2.0


def _spend_in(spend: ibis.Table, w: Window) -> ibis.Table:
    return spend.filter(w.has_date(spend.date))


def _dates(w: Window) -> list:
    return [d.date() for d in pd.date_range(w.start, w.end, freq="D")]


# -- plan vs actual -------------------------------------------------------------------------------
def plan_vs_actual(spend: ibis.Table, w: Window, budget: Budget | None) -> pd.DataFrame:
    """Planned vs actual spend by category (columns in the module docstring).

    ``planned = budget.total × share`` of the category; ``actual`` = spend dated in P.
    """
    s = _spend_in(spend, w)
    actual = execute(s.group_by("category").aggregate(actual=s.amount.sum()))
    plan = pd.DataFrame({
        "category": list(budget.shares) if budget else [],
        "planned": [budget.total * v for v in budget.shares.values()] if budget else [],
    }).astype({"category": "str", "planned": "float64"})
    df = plan.merge(actual, on="category", how="outer")
    df["actual"] = df["actual"].astype("float64").fillna(0.0)
    df["planned"] = df["planned"].astype("float64")
    if budget is not None:  # a category without a planned share has a plan of 0
        df["planned"] = df["planned"].fillna(0.0)
    df["variance"] = df["actual"] - df["planned"]
    df["variance_pct"] = ratio_column(df["variance"], df["planned"])
    df["execution"] = ratio_column(df["actual"], df["planned"])
    return df.sort_values("category").reset_index(drop=True)


def spend_by_channel(spend: ibis.Table, w: Window) -> pd.DataFrame:
    """Spend, impressions and clicks in P by spend channel (columns in the module doc)."""
    s = _spend_in(spend, w)
    df = execute(s.group_by("channel").aggregate(
        amount=s.amount.sum(), impressions=s.impressions.sum(), clicks=s.clicks.sum()))
    df["amount"] = df["amount"].astype("float64")
    df["share"] = ratio_column(df["amount"], pd.Series(df["amount"].sum(), df.index))
    df["ctr"] = ratio_column(df["clicks"], df["impressions"])
    df["cost_per_click"] = ratio_column(df["amount"], df["clicks"])
    return df.sort_values("amount", ascending=False).reset_index(drop=True)


def burn_down(spend: ibis.Table, w: Window, budget_total: float | None) -> pd.DataFrame:
    """Cumulative actual spend by day of P vs a linear plan line (columns in the module doc).

    Days without spend have ``amount`` 0. ``planned_cumulative`` of the i-th day (1-based) is
    ``budget_total · i / days``.
    """
    s = _spend_in(spend, w)
    daily = execute(s.group_by("date").aggregate(amount=s.amount.sum()))
    daily["date"] = pd.to_datetime(daily["date"]).dt.date
    df = pd.DataFrame({"date": _dates(w)}).merge(daily, on="date", how="left")
    df["amount"] = df["amount"].astype("float64").fillna(0.0)
    df["cumulative"] = df["amount"].cumsum()
    total = math.nan if budget_total is None else float(budget_total)
    df["planned_cumulative"] = total * (pd.Series(range(1, len(df) + 1)) / len(df))
    df["remaining"] = total - df["cumulative"]
    return df


def budget_execution(spend: ibis.Table, w: Window, budget: Budget | None) -> Measure:
    """Actual spend in P ÷ the planned total (ratio; NaN with a note without a budget)."""
    s = _spend_in(spend, w)
    actual = float(execute(s.aggregate(a=s.amount.sum()))["a"].fillna(0.0).iloc[0])
    if budget is None:
        return Measure(math.nan, actual, None, "no budget plan in the params (budget:)")
    return Measure.ratio(actual, budget.total, what="planned budget total")


# -- CAC --------------------------------------------------------------------------------------------
def cac_by_channel(spend: ibis.Table, users: ibis.Table, w: Window, *,
                   far_multiple: float = FAR_ABOVE_MEDIAN) -> pd.DataFrame:
    """CAC by paid acquisition channel, ranked, with channels far above the median flagged.

    ``cac = spend of channel c in P (all categories) ÷ users with acquisition_channel = c and
    registered_at in P`` (currency per user). Only channels with spend in P, except
    ``internal``; a channel with spend and no new user has ``cac`` ``NaN`` with a note.
    ``vs_median = cac ÷ median(cac of the channels with a finite CAC)``;
    ``flagged_high = vs_median ≥ far_multiple``. Not suppressed (``breakdowns`` masks).
    """
    s = _spend_in(spend, w)
    s = s.filter(~s.channel.isin(list(NON_ACQUISITION_CHANNELS)))
    sp = execute(s.group_by("channel").aggregate(spend=s.amount.sum()))
    sp = sp[sp["spend"] > 0]
    u = users.filter(w.has_ts(users.registered_at))
    nu = execute(u.group_by(channel=u.acquisition_channel).aggregate(new_users=u.count()))
    df = sp.merge(nu, on="channel", how="left")
    df["spend"] = df["spend"].astype("float64")
    df["new_users"] = df["new_users"].fillna(0).astype("int64")
    df["cac"] = ratio_column(df["spend"], df["new_users"])
    df["note"] = pd.Series([None if n else "spend but no new users in P" for n in df["new_users"]],
                           index=df.index, dtype="object")
    df["rank"] = df["cac"].rank(method="min", na_option="keep").astype("Int64")
    median = df["cac"].median()  # skips NaN
    df["vs_median"] = df["cac"] / median if median and median > 0 else math.nan
    df["flagged_high"] = (df["vs_median"] >= far_multiple).fillna(False).astype(bool)
    return df.sort_values(["cac", "channel"], na_position="last").reset_index(drop=True)


def cac_measure(cac: pd.DataFrame) -> Measure:
    """Headline CAC from :func:`cac_by_channel`: Σ spend ÷ Σ new users (currency per user)."""
    return Measure.ratio(float(cac["spend"].sum()), float(cac["new_users"].sum()),
                         what="new users from paid acquisition channels in P")


def ltv_cac_by_channel(ltv: pd.DataFrame, cac: pd.DataFrame) -> pd.DataFrame:
    """LTV ÷ CAC per paid channel (multiple) from the LTV and CAC tables (unsuppressed).

    Columns: ``channel``, ``new_users``, ``spend``, ``ltv``, ``cac``, ``ltv_cac``, ``note``.
    """
    left = cac[["channel", "new_users", "spend", "cac", "note"]].rename(
        columns={"note": "cac_note"})
    right = ltv[["acquisition_channel", "ltv", "note"]].rename(
        columns={"acquisition_channel": "channel", "note": "ltv_note"})
    df = left.merge(right, on="channel", how="left")
    df["ltv"] = df["ltv"].astype("float64")
    df["ltv_cac"] = ratio_column(df["ltv"], df["cac"])
    notes = []
    for _, r in df.iterrows():
        parts = [n for n in (r["cac_note"], r["ltv_note"]) if isinstance(n, str)]
        if pd.isna(r["ltv"]) and not isinstance(r["ltv_note"], str):
            parts.append("no LTV cohort for this channel")
        notes.append("; ".join(parts) or None)
    df["note"] = pd.Series(notes, index=df.index, dtype="object")
    return df[["channel", "new_users", "spend", "ltv", "cac", "ltv_cac", "note"]]


def ltv_cac_measure(table: pd.DataFrame) -> Measure:
    """Headline LTV/CAC: ``Σ new_users·LTV ÷ Σ spend`` over channels with a finite LTV."""
    ok = table["ltv"].notna()
    value = Measure.ratio(float((table.loc[ok, "new_users"] * table.loc[ok, "ltv"]).sum()),
                          float(table.loc[ok, "spend"].sum()),
                          what="spend of paid channels with a projected LTV")
    left_out = sorted(table.loc[~ok, "channel"])
    if left_out and not math.isnan(value.value):
        return Measure(value.value, value.numerator, value.denominator,
                       f"channels without a projected LTV left out: {', '.join(left_out)}")
    return value


# -- money bridge and all-in CAC ----------------------------------------------------------------
def money_bridge(spend: ibis.Table, w: Window) -> pd.DataFrame:
    """Spend of P by category × channel × campaign, one row each (currency).

    Columns: ``category``, ``channel``, ``campaign_id`` (``None`` = not attributed to a
    campaign, shown as its own row), ``amount``, ``share`` (of P's total). Every other spend
    view (by category, by channel, by campaign) is a sum of these rows, so all of them add up
    to the same total.
    """
    s = _spend_in(spend, w)
    df = execute(s.group_by("category", "channel", "campaign_id").aggregate(
        amount=s.amount.sum()))
    df["amount"] = df["amount"].astype("float64").fillna(0.0)
    df["share"] = ratio_column(df["amount"], pd.Series(df["amount"].sum(), df.index))
    df["campaign_id"] = df["campaign_id"].astype("object").where(df["campaign_id"].notna(), None)
    return df.sort_values(["category", "channel", "campaign_id"], na_position="last"
                          ).reset_index(drop=True)


def cac_all_in(spend: ibis.Table, users: ibis.Table, w: Window) -> Measure:
    """All-in CAC: acquisition spend of P (every category but :data:`NON_ACQUISITION_CATEGORIES`,
    any channel, ``internal`` included) ÷ all users registered in P (currency per user)."""
    s = _spend_in(spend, w)
    s = s.filter(~s.category.isin(list(NON_ACQUISITION_CATEGORIES)))
    amount = float(execute(s.aggregate(a=s.amount.sum()))["a"].fillna(0.0).iloc[0])
    u = users.filter(w.has_ts(users.registered_at))
    new = float(execute(u.aggregate(n=u.count()))["n"].iloc[0])
    return Measure.ratio(amount, new, what="new users in P")


# -- family interface -----------------------------------------------------------------------------
def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The budget KPIs of window ``w`` (KPIs whose tables are missing are NaN with a note).

    The plan total applies to P only: for another window (the comparison period) the same
    ``p.budget.total`` is used, which is right when periods have the same length and plan.
    """
    return _headline(t, w, p, _shared(t, w, p))


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The budget breakdown tables of P (module docstring); tables whose inputs are missing
    are omitted."""
    return _breakdowns(t, w, p, _shared(t, w, p))


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w`` with their shared queries (CAC by
    channel, the LTV cohort query) run once."""
    shared = _shared(t, w, p)
    return _headline(t, w, p, shared), _breakdowns(t, w, p, shared)


def _shared(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """What both the KPIs and the tables of ``w`` use, unsuppressed: ``cac``
    (:func:`cac_by_channel`), ``ltv`` and ``ltv_curve`` (:func:`_ltv_tables`), each when its
    tables are there."""
    out: dict[str, pd.DataFrame] = {}
    if all(n in t for n in KPI_REQUIRES["cac"]):
        out["cac"] = cac_by_channel(t["spend"], t["users"], w)
        if all(n in t for n in KPI_REQUIRES["ltv_cac"]):
            out["ltv"], out["ltv_curve"] = _ltv_tables(t, w, p)
    return out


def _headline(t: Mapping[str, ibis.Table], w: Window, p: Params,
              shared: Mapping[str, pd.DataFrame]) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    if "spend" in t:
        out["budget_execution"] = budget_execution(t["spend"], w, p.budget)
    if "cac" in shared:
        out["cac"] = cac_measure(shared["cac"])
        out["cac_all_in"] = cac_all_in(t["spend"], t["users"], w)
        if "ltv" in shared:
            out["ltv_cac"] = ltv_cac_measure(ltv_cac_by_channel(shared["ltv"], shared["cac"]))
    return with_missing(out, KPI_REQUIRES, t)


def _ltv_tables(t: Mapping[str, ibis.Table], w: Window,
                p: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LTV by channel and the LTV curve (one cohort query), from :mod:`review.metrics.value`."""
    rev = p.revenue
    act = ltv_cohort_activity(t["users"], rollup(t, "txn_day"), rollup(t, "user_day"), w,
                              margins=rev.margin_per_txn, balances=t.get("balances"),
                              aum_margin_annual=rev.aum_margin_annual,
                              user_month=stored(t, "user_month"))
    kw = {"horizon_months": rev.ltv_horizon_months,
          "monthly_discount_rate": rev.monthly_discount_rate}
    return (ltv_by_channel(act, margins=rev.margin_per_txn,
                           aum_margin_annual=rev.aum_margin_annual, **kw),
            ltv_curve(act, **kw))


def _breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params,
                shared: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    if "spend" not in t:
        return {}
    k = p.thresholds.min_cell_users
    sp = t["spend"]
    out: dict[str, pd.DataFrame] = {
        "plan_vs_actual": plan_vs_actual(sp, w, p.budget),
        "by_channel": spend_by_channel(sp, w),
        "burn_down": burn_down(sp, w, p.budget.total if p.budget else None),
        "money_bridge": money_bridge(sp, w),
    }
    if "cac" in shared:
        cac = shared["cac"]
        out["cac"] = suppress_small_cells(cac, "new_users", k, ["new_users", "cac", "vs_median"])
        if "ltv" in shared:
            ltv, curve = shared["ltv"], shared["ltv_curve"]
            out["ltv_cac"] = suppress_small_cells(ltv_cac_by_channel(ltv, cac), "new_users", k,
                                                  ["new_users", "cac", "ltv_cac"])
            ltv = suppress_small_cells(ltv, "cohort_users", k)
            shown = ltv.loc[~ltv["suppressed"], "acquisition_channel"]
            out["ltv"] = ltv
            out["ltv_curve"] = curve[curve["acquisition_channel"].isin(shown)].reset_index(
                drop=True)
    return out

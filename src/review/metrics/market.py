"""Market family: regional penetration, unaided awareness, external benchmarks.

Headline KPIs (``review.kpis``, family ``market``)
--------------------------------------------------
``penetration_key`` / ``penetration_lower``
    Registered users (``registered_at ≤`` P's end) living in regions of city tier ``key`` /
    ``lower`` ÷ the population of those regions (ratio). A user's tier is the tier of their
    ``region`` in the ``regions`` table; users whose region is not in ``regions`` are left
    out (the validator reports them).
``awareness``
    Survey responses dated in P with ``aware_unaided`` true ÷ responses that answered the
    question (``aware_unaided`` not null), ratio.

Benchmarks
----------
``benchmarks`` rows are analysts' inputs, passed through tidy: the rows whose ``period``
(``'YYYY-MM'``) is a month of P, sorted, with our own value of the same month beside them
where the metric is one of ours (:data:`OWN_METRICS`): ``nps`` (points), ``awareness``,
``mau_ratio``, ``mobile_share`` (ratios, as in the KPI catalog; the benchmark's own unit is
whatever the analyst typed). Our monthly values are computed on the part of the month inside
P: ``mau_ratio`` = distinct users with a login in the month ÷ users registered by the month's
end (or P's end if earlier). Logins and transactions come from the daily rollups ``user_day``
and ``txn_day`` (:mod:`review.data.rollup`), never from the raw tables.

Breakdown tables (``breakdowns()`` keys; stored as ``market.<name>``)
--------------------------------------------------------------------
``penetration_by_region``
    One row per region of ``regions``: ``region``, ``city_tier``, ``registered`` (count),
    ``population`` (count), ``penetration`` (ratio), ``suppressed`` (regions with fewer than
    ``min_cell_users`` registered users masked).
``penetration_by_tier``
    One row per city tier: ``city_tier``, ``registered``, ``population``, ``penetration``,
    ``suppressed`` (same rule).
``awareness``
    One row: ``responses``, ``answered``, ``aware`` (counts), ``awareness`` (ratio), ``note``.
``awareness_trend``
    12 rows, one per calendar month ending with the month of P's end: ``month`` (first day,
    a date) and the columns of ``awareness``.
``benchmarks``
    The benchmark rows of P's months: ``period``, ``source``, ``metric``, ``subject``,
    ``value``, ``own_value`` (our value of that month, ``NaN`` when the metric is not ours),
    ``own_unit`` (the KPI unit of ``own_value``).
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import pandas as pd

from review.config import Params
from review.data.rollup import rollup
from review.kpis import KPI_CATALOG
from review.metrics.common import (
    Measure,
    Window,
    execute,
    ratio_column,
    safe_ratio,
    suppress_small_cells,
    with_missing,
)
from review.metrics.satisfaction import nps_aggregates, with_nps_interval
from review.metrics.value import (
    month_grid,
    month_index,
    month_of_index,
    trend_window,
)

#: Tables every headline KPI of the family needs (their intersection); see KPI_REQUIRES.
REQUIRES: tuple[str, ...] = ()
#: Tables each headline KPI needs; a KPI whose tables are missing is NaN with a note.
KPI_REQUIRES: dict[str, tuple[str, ...]] = {
    "penetration_key": ("users", "regions"),
    "penetration_lower": ("users", "regions"),
    "awareness": ("surveys",),
}
#: Benchmark metrics we compute ourselves, with the tables they need.
OWN_METRICS: dict[str, tuple[str, ...]] = {
    "nps": ("surveys",),
    "awareness": ("surveys",),
    "mau_ratio": ("events", "users"),
    "mobile_share": ("transactions",),
}


# -- penetration ------------------------------------------------------------------------------------
def penetration_by_region(users: ibis.Table, regions: ibis.Table, w: Window) -> pd.DataFrame:
    """Registered users by the end of P ÷ population, per region (not suppressed).

    One engine query: users registered before ``w.end + 1 day`` grouped by region, joined to
    ``regions`` (regions without users have 0). Columns: ``region``, ``city_tier``,
    ``registered``, ``population`` (counts), ``penetration`` (ratio; ``NaN`` for a population
    of 0).
    """
    u = users.filter(users.registered_at < ibis.literal(w.ts_hi))
    cnt = u.group_by(u_region=u.region).aggregate(registered=u.count())
    j = regions.left_join(cnt, regions.region == cnt.u_region)
    df = execute(j.select("region", "city_tier", "population",
                          registered=j.registered.fill_null(0)))
    df = df[["region", "city_tier", "registered", "population"]]
    df["penetration"] = ratio_column(df["registered"], df["population"])
    return df.sort_values(["city_tier", "region"]).reset_index(drop=True)


def penetration_by_tier(by_region: pd.DataFrame) -> pd.DataFrame:
    """City-tier totals of :func:`penetration_by_region` (sums of counts; ratio recomputed)."""
    df = by_region.groupby("city_tier", as_index=False)[["registered", "population"]].sum()
    df["penetration"] = ratio_column(df["registered"], df["population"])
    return df


def _tier_measure(by_tier: pd.DataFrame, tier: str) -> Measure:
    row = by_tier[by_tier["city_tier"] == tier]
    return Measure.ratio(float(row["registered"].sum()), float(row["population"].sum()),
                         what=f"population of {tier}-tier regions")


# -- awareness ------------------------------------------------------------------------------------
def _awareness_aggregates(s: ibis.Table) -> dict[str, ibis.Scalar]:
    return {
        "responses": s.count(),
        "answered": s.count(where=s.aware_unaided.notnull()),
        "aware": s.count(where=s.aware_unaided.fill_null(False)),
    }


def _with_share(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["awareness"] = ratio_column(out["aware"], out["answered"])
    out["note"] = pd.Series(
        [None if n else "no response answered the awareness question" for n in out["answered"]],
        index=out.index, dtype="object")
    return out


def awareness(surveys: ibis.Table, w: Window) -> pd.DataFrame:
    """Unaided awareness among survey responses dated in P (one row).

    Columns: ``responses``, ``answered`` (``aware_unaided`` not null), ``aware`` (true)
    (counts), ``awareness`` = aware ÷ answered (ratio; ``NaN`` with ``note`` when nobody
    answered).
    """
    s = surveys.filter(w.has_date(surveys.date))
    return _with_share(execute(s.aggregate(**_awareness_aggregates(s))))


def awareness_trend(surveys: ibis.Table, w: Window) -> pd.DataFrame:
    """Unaided awareness by calendar month, 12 months ending with P's end month (one query)."""
    tw = trend_window(w)
    s = surveys.filter(tw.has_date(surveys.date))
    agg = execute(s.group_by(month_idx=month_index(s.date)).aggregate(
        **_awareness_aggregates(s)))
    df = month_grid(w).merge(agg, on="month_idx", how="left")
    for c in ("responses", "answered", "aware"):
        df[c] = df[c].fillna(0).astype("int64")
    return _with_share(df).drop(columns="month_idx")


# -- benchmarks -----------------------------------------------------------------------------------
def period_months(w: Window) -> list[str]:
    """The calendar months P touches, as ``'YYYY-MM'`` strings."""
    first = w.start.year * 12 + w.start.month - 1
    last = w.end.year * 12 + w.end.month - 1
    return [month_of_index(i).strftime("%Y-%m") for i in range(first, last + 1)]


def own_monthly_values(t: Mapping[str, ibis.Table], w: Window,
                       metrics: tuple[str, ...] = tuple(OWN_METRICS)) -> pd.DataFrame:
    """Our value of each metric in ``metrics`` for each month of P (module docstring).

    One grouped query per metric family of tables; metrics whose tables are missing are
    skipped. Columns: ``period`` ('YYYY-MM'), ``metric``, ``own_value``.
    """
    rows: list[pd.DataFrame] = []

    def add(metric: str, months: pd.Series, values: pd.Series) -> None:
        rows.append(pd.DataFrame({
            "period": [month_of_index(i).strftime("%Y-%m") for i in months],
            "metric": metric, "own_value": values.astype("float64").to_numpy()}))

    def have(metric: str) -> bool:
        return metric in metrics and all(n in t for n in OWN_METRICS[metric])

    if have("nps") or have("awareness"):
        s = t["surveys"].filter(w.has_date(t["surveys"].date))
        df = execute(s.group_by(month_idx=month_index(s.date)).aggregate(
            **{**nps_aggregates(s), **_awareness_aggregates(s)}))
        if have("nps"):
            add("nps", df["month_idx"], with_nps_interval(df, 0.95)["nps"])
        if have("awareness"):
            add("awareness", df["month_idx"], _with_share(df)["awareness"])
    if have("mau_ratio"):
        ud = rollup(t, "user_day")
        e = ud.filter(ud.logins > 0, w.has_date(ud.day))
        um = e.select("user_id", month_idx=month_index(e.day)).distinct()  # spillable
        mau = execute(um.group_by("month_idx").aggregate(active=um.count()))
        u = t["users"].filter(t["users"].registered_at < ibis.literal(w.ts_hi))
        reg = execute(u.group_by(month_idx=month_index(u.registered_at)).aggregate(n=u.count()))
        base = [int(reg.loc[reg["month_idx"] <= m, "n"].sum()) for m in mau["month_idx"]]
        add("mau_ratio", mau["month_idx"], ratio_column(mau["active"], pd.Series(base)))
    if have("mobile_share"):
        td = rollup(t, "txn_day")
        s = td.filter(td.status == "success", w.has_date(td.day))
        df = execute(s.group_by(month_idx=month_index(s.day)).aggregate(
            n=s.txns.sum(), mobile=s.txns.sum(where=s.channel == "mobile")))
        df["mobile"] = df["mobile"].fillna(0)
        add("mobile_share", df["month_idx"], ratio_column(df["mobile"], df["n"]))
    if not rows:
        return pd.DataFrame({"period": pd.Series(dtype="str"), "metric": pd.Series(dtype="str"),
                             "own_value": pd.Series(dtype="float64")})
    return pd.concat(rows, ignore_index=True)


def benchmarks_for_period(benchmarks: ibis.Table, w: Window,
                          own: pd.DataFrame | None = None) -> pd.DataFrame:
    """Benchmark rows of P's months with our own value beside them (module docstring).

    Parameters
    ----------
    own
        Our values: columns ``period``, ``metric``, ``own_value`` (e.g. from
        :func:`own_monthly_values`); ``None`` for none.
    """
    b = benchmarks.filter(benchmarks.period.isin(period_months(w)))
    df = execute(b.select("period", "source", "metric", "subject", "value"))
    df["value"] = df["value"].astype("float64")
    if own is None or own.empty:
        df["own_value"] = float("nan")
    else:
        df = df.merge(own[["period", "metric", "own_value"]], on=["period", "metric"],
                      how="left")
    df["own_unit"] = pd.Series(
        [KPI_CATALOG[m].unit if m in KPI_CATALOG and pd.notna(v) else None
         for m, v in zip(df["metric"], df["own_value"], strict=True)],
        index=df.index, dtype="object")
    return df.sort_values(["period", "metric", "subject", "source"]).reset_index(drop=True)


# -- family interface -----------------------------------------------------------------------------
def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The market KPIs of window ``w`` (missing tables → NaN with a note)."""
    by_region = (penetration_by_region(t["users"], t["regions"], w)
                 if "users" in t and "regions" in t else None)
    aware = awareness(t["surveys"], w) if "surveys" in t else None
    return _measures(t, by_region, aware)


def _measures(t: Mapping[str, ibis.Table], by_region: pd.DataFrame | None,
              aware: pd.DataFrame | None) -> dict[str, Measure]:
    """The KPIs from :func:`penetration_by_region` and :func:`awareness` (``None``: missing)."""
    out: dict[str, Measure] = {}
    if by_region is not None:
        tiers = penetration_by_tier(by_region)
        out["penetration_key"] = _tier_measure(tiers, "key")
        out["penetration_lower"] = _tier_measure(tiers, "lower")
    if aware is not None:
        a = aware.iloc[0]
        value, note = safe_ratio(a["aware"], a["answered"],
                                 what="responses answering the awareness question")
        out["awareness"] = Measure(value, float(a["aware"]), float(a["answered"]), note)
    return with_missing(out, KPI_REQUIRES, t)


def period(t: Mapping[str, ibis.Table], w: Window, p: Params
           ) -> tuple[dict[str, Measure], dict[str, pd.DataFrame]]:
    """:func:`headline` and :func:`breakdowns` of ``w``, each query run once."""
    by_region = (penetration_by_region(t["users"], t["regions"], w)
                 if "users" in t and "regions" in t else None)
    aware = awareness(t["surveys"], w) if "surveys" in t else None
    return _measures(t, by_region, aware), breakdowns(t, w, p, by_region=by_region,
                                                      aware=aware)


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params, *,
               by_region: pd.DataFrame | None = None, aware: pd.DataFrame | None = None
               ) -> dict[str, pd.DataFrame]:
    """The market breakdown tables of P (module docstring); tables whose inputs are missing
    are omitted. ``by_region`` and ``aware``: those tables when already computed."""
    k = p.thresholds.min_cell_users
    out: dict[str, pd.DataFrame] = {}
    if "users" in t and "regions" in t:
        if by_region is None:
            by_region = penetration_by_region(t["users"], t["regions"], w)
        out["penetration_by_region"] = suppress_small_cells(
            by_region, "registered", k, ["registered", "penetration"])
        out["penetration_by_tier"] = suppress_small_cells(
            penetration_by_tier(by_region), "registered", k, ["registered", "penetration"])
    if "surveys" in t:
        out["awareness"] = awareness(t["surveys"], w) if aware is None else aware
        out["awareness_trend"] = awareness_trend(t["surveys"], w)
    if "benchmarks" in t:
        bm = t["benchmarks"]
        present = set(execute(bm.filter(bm.period.isin(period_months(w)))
                              .select("metric").distinct())["metric"])
        own = own_monthly_values(t, w, tuple(m for m in OWN_METRICS if m in present))
        out["benchmarks"] = benchmarks_for_period(bm, w, own)
    return out

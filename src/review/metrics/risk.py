"""Risk family: mobile failure rate, abnormal logins, biometric adoption, crashes.

Headline KPIs (``review.kpis``, family ``risk``)
------------------------------------------------
``failure_rate``
    Failed ÷ attempted mobile transactions (``channel = 'mobile'``, ``ts`` in P), ratio.
``abnormal_logins_per_10k``
    ``login`` events with ``risk_flag`` true per 10,000 logins in P (a null flag is not
    flagged).
``biometric_share``
    Logins with ``auth_method`` fingerprint or face ÷ logins in P, ratio.
``crash_per_1k_logins``
    ``crash`` events per 1,000 logins in P.

Every ratio is ``NaN`` with a note when its denominator is zero.

Daily control charts
--------------------
For each day ``d`` of P with denominator ``n_d`` (attempted mobile transactions or logins):

* the centre line comes from the baseline: the ``thresholds.baseline_days`` (default 84)
  days before P, pooled over its days (Σ numerators ÷ Σ denominators), excluding baseline
  days outside the limits and pooling again until no day leaves (:func:`clean_centre`), so
  an incident never widens the limits it is judged by, and P's own days never set them;
  when the baseline has no denominator at all, the median of P's daily rates is used
  instead (``centre_source = 'period_median'``);
* failure rate and abnormal logins are proportions: a p-chart,
  ``limits = centre ± 3·sqrt(centre·(1 − centre) / n_d)``;
* crashes are counts per login (a login can be followed by several crashes): a u-chart,
  ``limits = centre ± 3·sqrt(centre / n_d)``;
* ``lcl`` is clipped at 0; a day is ``flagged`` when its rate is above ``ucl``; a day with
  ``n_d = 0`` has a ``NaN`` rate and limits and is not flagged. Rates and limits are given
  in the KPI's unit (ratio, per 10k, per 1k).

Breakdown tables (``breakdowns()`` keys; stored as ``risk.<name>``)
------------------------------------------------------------------
``failure_daily``
    One row per day of P: ``date``, ``attempted``, ``failed`` (counts of mobile
    transactions), ``rate`` (ratio), ``centre``, ``lcl``, ``ucl`` (ratio), ``flagged``,
    ``centre_source``.
``abnormal_logins_daily``
    One row per day: ``date``, ``logins``, ``flagged_logins`` (counts), ``rate``,
    ``centre``, ``lcl``, ``ucl`` (per 10,000 logins), ``flagged``, ``centre_source``.
``crash_daily``
    One row per day: ``date``, ``logins``, ``crashes`` (counts), ``rate``, ``centre``,
    ``lcl``, ``ucl`` (per 1,000 logins), ``flagged``, ``centre_source``.
``biometric_by_age``
    One row per ``age_band`` of users who logged in in P: ``users`` (distinct), ``logins``,
    ``biometric_logins`` (counts), ``biometric_share`` (ratio), ``suppressed`` (cells with
    fewer than ``min_cell_users`` users masked).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

import ibis
import numpy as np
import pandas as pd

from review.config import Params
from review.metrics.common import (
    Measure,
    Window,
    execute,
    ratio_column,
    suppress_small_cells,
)

#: Tables every headline KPI of the family needs (their intersection); see KPI_REQUIRES.
REQUIRES: tuple[str, ...] = ()
#: Tables each headline KPI needs; a KPI whose tables are missing is NaN with a note.
KPI_REQUIRES: dict[str, tuple[str, ...]] = {
    "failure_rate": ("transactions",),
    "abnormal_logins_per_10k": ("events",),
    "biometric_share": ("events",),
    "crash_per_1k_logins": ("events",),
}
BIOMETRIC_METHODS: tuple[str, ...] = ("fingerprint", "face")
SIGMAS = 3.0


def _in_any(col: ibis.Value, windows: tuple[Window, ...]) -> ibis.BooleanValue:
    cond = windows[0].has_ts(col)
    for w in windows[1:]:
        cond = cond | w.has_ts(col)
    return cond


def _as_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.date


# -- daily counts (one engine query per table) ------------------------------------------------------
def daily_mobile_transactions(transactions: ibis.Table, *windows: Window) -> pd.DataFrame:
    """Attempted and failed mobile transactions per calendar day inside any of ``windows``.

    Columns: ``date`` (a date), ``attempted``, ``failed`` (counts). Days without mobile
    transactions have no row.
    """
    tx = transactions.filter(transactions.channel == "mobile", _in_any(transactions.ts, windows))
    df = execute(tx.group_by(date=tx.ts.date()).aggregate(
        attempted=tx.count(), failed=tx.count(where=tx.status == "failed")))
    df["date"] = _as_dates(df["date"])
    return df.sort_values("date").reset_index(drop=True)


def daily_login_counts(events: ibis.Table, *windows: Window) -> pd.DataFrame:
    """Logins, risk-flagged logins, biometric logins and crashes per day in any of ``windows``.

    One scan of ``events``. Columns: ``date`` (a date), ``logins``, ``flagged_logins``
    (``risk_flag`` true), ``biometric_logins`` (fingerprint/face), ``crashes`` (counts).
    """
    e = events.filter(events.event.isin(["login", "crash"]), _in_any(events.ts, windows))
    login = e.event == "login"
    df = execute(e.group_by(date=e.ts.date()).aggregate(
        logins=e.count(where=login),
        flagged_logins=e.count(where=login & e.risk_flag.fill_null(False)),
        biometric_logins=e.count(where=login & e.auth_method.isin(list(BIOMETRIC_METHODS))),
        crashes=e.count(where=e.event == "crash"),
    ))
    df["date"] = _as_dates(df["date"])
    return df.sort_values("date").reset_index(drop=True)


def _on_days(daily: pd.DataFrame, w: Window) -> pd.DataFrame:
    """Rows of ``daily`` inside ``w``, one per calendar day (missing days filled with 0)."""
    days = pd.DataFrame({"date": [d.date() for d in pd.date_range(w.start, w.end, freq="D")]})
    df = days.merge(daily, on="date", how="left")
    for c in daily.columns:
        if c != "date":
            df[c] = df[c].fillna(0).astype("int64")
    return df


# -- control charts (pure pandas) --------------------------------------------------------------------
def baseline_window(w: Window, days: int) -> Window:
    """The ``days`` calendar days just before P: the control charts' baseline."""
    return Window(w.start - timedelta(days=days), w.start - timedelta(days=1))


def clean_centre(counts: pd.Series, totals: pd.Series, *, kind: Literal["p", "u"] = "p",
                 sigmas: float = SIGMAS, max_rounds: int = 50) -> tuple[float, int]:
    """Centre rate of a baseline with its out-of-limit points excluded, iterated to stability.

    Round 1 pools every baseline point with a denominator (Σ counts ÷ Σ totals); each round
    drops the points outside ``centre ± sigmas·spread`` (p- or u-chart spread at the point's
    denominator) and pools the rest again, until no point leaves. Returns the centre and the
    number of points excluded (``NaN``, 0 when the baseline has no denominator).
    """
    x = counts.astype("float64").to_numpy()
    n = totals.astype("float64").to_numpy()
    keep = n > 0
    if not keep.any():
        return math.nan, 0
    centre = x[keep].sum() / n[keep].sum()
    for _ in range(max_rounds):
        spread = _spread(centre, n, kind)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        out = keep & ((rate > centre + sigmas * spread) | (rate < centre - sigmas * spread))
        if not out.any():
            break
        keep = keep & ~out
        if not keep.any():
            break
        centre = x[keep].sum() / n[keep].sum()
    return float(centre), int(((n > 0) & ~keep).sum())


def _spread(centre: float, n: np.ndarray | pd.Series, kind: str) -> np.ndarray:
    n = np.asarray(n, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(n > 0, n, np.nan)
        if kind == "p":
            return np.sqrt(centre * (1.0 - centre) / safe)
        return np.sqrt(centre / safe)


def control_chart(daily: pd.DataFrame, count_col: str, total_col: str, w: Window,
                  baseline: Window, *, kind: Literal["p", "u"] = "p", scale: float = 1.0,
                  sigmas: float = SIGMAS) -> pd.DataFrame:
    """Daily rate of ``count_col`` per ``total_col`` in ``w`` with p- or u-chart limits.

    Parameters
    ----------
    daily
        Daily counts covering ``w`` and ``baseline`` (``date`` plus the two columns).
    baseline
        The window the centre line comes from (:func:`baseline_window`), cleaned of its
        out-of-limit days (:func:`clean_centre`); P's own days never set their limits.
    kind
        ``"p"``: ``centre ± sigmas·sqrt(centre(1−centre)/n)``; ``"u"``:
        ``centre ± sigmas·sqrt(centre/n)`` (module docstring).
    scale
        Multiplier of rates and limits in the output (10_000 for per-10k).

    Returns
    -------
    DataFrame
        One row per day of ``w``: ``date``, the two count columns, ``rate``, ``centre``,
        ``lcl``, ``ucl`` (scaled), ``flagged`` (rate > ucl), ``centre_source``
        (``baseline`` or ``period_median``), ``baseline_excluded`` (baseline days left out).
    """
    cur = _on_days(daily[["date", count_col, total_col]], w)
    base = _on_days(daily[["date", count_col, total_col]], baseline)
    n = cur[total_col].astype("float64")
    rate = ratio_column(cur[count_col], cur[total_col])
    centre, excluded = clean_centre(base[count_col], base[total_col], kind=kind, sigmas=sigmas)
    source = "baseline"
    if math.isnan(centre):
        centre, source = float(rate.median()), "period_median"  # NaN if P has no data
    spread = pd.Series(_spread(centre, n, kind), index=cur.index)
    ucl = centre + sigmas * spread
    lcl = (centre - sigmas * spread).clip(lower=0.0)
    cur["rate"] = rate * scale
    cur["centre"] = centre * scale
    cur["lcl"] = lcl * scale
    cur["ucl"] = ucl * scale
    cur["flagged"] = (rate > ucl).fillna(False).astype(bool)
    cur["centre_source"] = source
    cur["baseline_excluded"] = excluded
    return cur


def failure_rate_daily(transactions: ibis.Table, w: Window, baseline: Window) -> pd.DataFrame:
    """Daily mobile failure rate (ratio) of P with a p-chart (module docstring)."""
    daily = daily_mobile_transactions(transactions, w, baseline)
    return control_chart(daily, "failed", "attempted", w, baseline, kind="p")


def abnormal_logins_daily(events: ibis.Table, w: Window, baseline: Window) -> pd.DataFrame:
    """Daily risk-flagged logins per 10,000 logins of P with a p-chart (module docstring)."""
    daily = daily_login_counts(events, w, baseline)
    return control_chart(daily, "flagged_logins", "logins", w, baseline, kind="p",
                         scale=10_000)


def crash_daily(events: ibis.Table, w: Window, baseline: Window) -> pd.DataFrame:
    """Daily crashes per 1,000 logins of P with a u-chart (module docstring)."""
    daily = daily_login_counts(events, w, baseline)
    return control_chart(daily, "crashes", "logins", w, baseline, kind="u", scale=1_000)


def biometric_by_age(events: ibis.Table, users: ibis.Table, w: Window) -> pd.DataFrame:
    """Biometric adoption by age band (not suppressed; ``breakdowns`` masks small cells).

    Columns: ``age_band``, ``users`` (distinct users with a login in P), ``logins``,
    ``biometric_logins`` (counts), ``biometric_share`` (biometric ÷ logins, ratio).
    """
    e = events.filter(events.event == "login", w.has_ts(events.ts))
    j = e.join(users.select("user_id", "age_band"), "user_id")
    df = execute(j.group_by("age_band").aggregate(
        users=j.user_id.nunique(), logins=j.count(),
        biometric_logins=j.count(where=j.auth_method.isin(list(BIOMETRIC_METHODS)))))
    df["biometric_share"] = ratio_column(df["biometric_logins"], df["logins"])
    return df.sort_values("age_band").reset_index(drop=True)


# -- family interface -----------------------------------------------------------------------------
def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """The risk KPIs of window ``w`` (one aggregate per table; missing tables → NaN + note)."""
    out: dict[str, Measure] = {}
    if "transactions" in t:
        tx = daily_mobile_transactions(t["transactions"], w)
        out["failure_rate"] = Measure.ratio(tx["failed"].sum(), tx["attempted"].sum(),
                                            what="attempted mobile transactions in P")
    else:
        out["failure_rate"] = Measure.missing("needs table transactions")
    if "events" in t:
        ev = daily_login_counts(t["events"], w)
        logins = ev["logins"].sum()
        what = "logins in P"
        out["abnormal_logins_per_10k"] = Measure.ratio(ev["flagged_logins"].sum(), logins,
                                                       what=what, scale=10_000)
        out["biometric_share"] = Measure.ratio(ev["biometric_logins"].sum(), logins, what=what)
        out["crash_per_1k_logins"] = Measure.ratio(ev["crashes"].sum(), logins, what=what,
                                                   scale=1_000)
    else:
        for key in ("abnormal_logins_per_10k", "biometric_share", "crash_per_1k_logins"):
            out[key] = Measure.missing("needs table events")
    return out


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """The risk breakdown tables of P (module docstring); one events scan for the charts."""
    cw = baseline_window(w, p.thresholds.baseline_days)
    out: dict[str, pd.DataFrame] = {}
    if "transactions" in t:
        out["failure_daily"] = failure_rate_daily(t["transactions"], w, cw)
    if "events" in t:
        daily = daily_login_counts(t["events"], w, cw)
        out["abnormal_logins_daily"] = control_chart(
            daily, "flagged_logins", "logins", w, cw, kind="p", scale=10_000)
        out["crash_daily"] = control_chart(daily, "crashes", "logins", w, cw, kind="u",
                                           scale=1_000)
        if "users" in t:
            out["biometric_by_age"] = suppress_small_cells(
                biometric_by_age(t["events"], t["users"], w), "users",
                p.thresholds.min_cell_users)
    return out


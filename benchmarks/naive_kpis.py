"""The headline KPIs of one period computed "the naive way": pandas, whole tables in memory.

Used only by ``benchmarks/bench_metrics.py`` as the baseline the engine path
(:func:`review.metrics.compute_period`, Ibis on DuckDB) is measured against. It is written the
way an analyst would write it in a notebook: ``pd.read_parquet`` of every table a KPI needs
(the whole table: every row, the columns the KPIs use), then boolean masks, ``merge`` and
``groupby`` in memory. It deliberately imports nothing from Ibis or :mod:`review.metrics`, so
it is also an independent re-implementation of the definitions: the benchmark checks on a
small store that both give the same numbers (relative difference ≤ 1e-9).

Covered KPIs (every headline KPI :func:`~review.metrics.compute_period` computes; the
``experiments`` family has none), each for the period P and its comparison period
---------------------------------------------------------------------------------------
* acquisition: ``new_users``, ``registered_base`` (counts of users)
* activity: ``active_users`` (count), ``mau_ratio``, ``stickiness`` (ratios),
  ``logins_per_active_day`` (logins per active user-day), ``light_op_share`` (ratio)
* retention: ``d7_retention`` (ratio)
* funnel: ``funnel_conversion`` (ratio)
* lifecycle: ``reactivation_rate`` (ratio)
* value: ``hnw_conversions`` (count), ``hnw_conversion_rate`` (ratio), ``transactions``
  (count), ``gmv`` (currency), ``mobile_share`` (ratio)
* risk: ``failure_rate``, ``biometric_share`` (ratios), ``abnormal_logins_per_10k``
  (per 10,000 logins), ``crash_per_1k_logins`` (per 1,000 logins)
* budget: ``cac`` (currency per new user), ``budget_execution`` (ratio), ``campaign_roi``,
  ``ltv_cac`` (multiples)
* satisfaction: ``nps`` (points), ``complaints_per_10k`` (per 10,000 active users)
* market: ``awareness``, ``penetration_key``, ``penetration_lower`` (ratios)

The definitions are those of DESIGN.md §5 as the family modules of :mod:`review.metrics`
state them in their docstrings (windows are ``[start 00:00, end + 1 day 00:00)``; a ratio
with a zero denominator is ``NaN``). Breakdown tables are not computed: the engine's
``compute_period`` computes them too, so it does strictly more work than this baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from review.config import Params

#: The columns of each table the KPIs use (every row is read).
COLUMNS: dict[str, list[str]] = {
    "users": ["user_id", "registered_at", "acquisition_channel", "region"],
    "events": ["user_id", "ts", "event", "auth_method", "risk_flag"],
    "transactions": ["user_id", "ts", "type", "channel", "amount", "status"],
    "balances": ["user_id", "month", "aum"],
    "campaigns": ["campaign_id", "start", "end"],
    "assignments": ["user_id", "campaign_id", "variant", "assigned_at", "converted_at",
                    "reward_cost"],
    "spend": ["date", "channel", "campaign_id", "amount"],
    "surveys": ["date", "nps_score", "aware_unaided"],
    "complaints": ["created_at"],
    "regions": ["region", "city_tier", "population"],
}
#: Date (not timestamp) columns, turned into ``datetime64`` at load.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "balances": ("month",), "campaigns": ("start", "end"), "spend": ("date",),
    "surveys": ("date",),
}
#: Every KPI key this module computes.
COVERED: tuple[str, ...] = (
    "new_users", "registered_base", "active_users", "mau_ratio", "stickiness",
    "logins_per_active_day", "light_op_share", "d7_retention", "funnel_conversion",
    "reactivation_rate", "hnw_conversions", "hnw_conversion_rate", "transactions", "gmv",
    "mobile_share", "failure_rate", "abnormal_logins_per_10k", "biometric_share",
    "crash_per_1k_logins", "cac", "budget_execution", "campaign_roi", "ltv_cac", "nps",
    "complaints_per_10k", "awareness", "penetration_key", "penetration_lower",
)
NON_FEATURE_EVENTS = ("login", "bind_card", "crash")
BIOMETRIC_METHODS = ("fingerprint", "face")
NON_ACQUISITION_CHANNELS = ("internal",)
TREND_MONTHS = 12


@dataclass(frozen=True)
class Span:
    """Calendar dates ``[start, end]``; instants in ``[lo, hi)`` fall inside."""

    start: date
    end: date

    @property
    def lo(self) -> pd.Timestamp:
        return pd.Timestamp(self.start)

    @property
    def hi(self) -> pd.Timestamp:
        return pd.Timestamp(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def has(self, s: pd.Series) -> pd.Series:
        """``s`` (timestamps, or dates as midnight timestamps) is inside the span."""
        return (s >= self.lo) & (s < self.hi)


def ratio(num: float, den: float, scale: float = 1.0) -> float:
    """``scale · num / den`` as float; ``NaN`` when ``den`` is 0 or NaN."""
    if den == 0 or (isinstance(den, float) and math.isnan(den)):
        return math.nan
    return float(num) / float(den) * scale


def month_idx(s: pd.Series) -> pd.Series:
    """Calendar-month number ``year·12 + month − 1`` of timestamps."""
    return s.dt.year * 12 + s.dt.month - 1


def _idx(d: date) -> int:
    return d.year * 12 + d.month - 1


def _month_start(idx: int) -> date:
    return date(idx // 12, idx % 12 + 1, 1)


def _month_end(d: date) -> date:
    return _month_start(_idx(d) + 1) - timedelta(days=1)


def _epoch_s(s: pd.Series) -> pd.Series:
    """Whole seconds since 1970 (truncated), as ``review.metrics.common.elapsed_seconds``."""
    return pd.Series(s.to_numpy("datetime64[s]").astype("int64"), index=s.index)


# -- loading -------------------------------------------------------------------------------------
def load_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """``pd.read_parquet`` of every table in :data:`COLUMNS` from ``folder/<table>.parquet``.

    Whole tables (all rows), the used columns only; date columns become ``datetime64``.
    """
    folder = Path(folder)
    out = {}
    for name, cols in COLUMNS.items():
        df = pd.read_parquet(folder / f"{name}.parquet", columns=cols)
        for c in DATE_COLUMNS.get(name, ()):
            df[c] = pd.to_datetime(df[c])
        out[name] = df
    return out


# -- families ------------------------------------------------------------------------------------
def acquisition(users: pd.DataFrame, w: Span) -> dict[str, float]:
    """``new_users`` (registered in P) and ``registered_base`` (registered by P's end)."""
    reg = users["registered_at"]
    return {"new_users": float(w.has(reg).sum()),
            "registered_base": float((reg < w.hi).sum())}


def active_users(events: pd.DataFrame, w: Span) -> int:
    """Distinct users with ≥1 login in P."""
    e = events[w.has(events["ts"]) & (events["event"] == "login")]
    return int(e["user_id"].nunique())


def activity(events: pd.DataFrame, w: Span, light_ops: tuple[str, ...],
             registered_base: float) -> dict[str, float]:
    """Active users, MAU ratio, stickiness, logins per active day, light-operation share."""
    e = events[w.has(events["ts"])]
    login = e[e["event"] == "login"]
    logins = len(login)
    active = float(login["user_id"].nunique())
    user_days = float(len(pd.DataFrame({"u": login["user_id"],
                                        "d": login["ts"].dt.normalize()}).drop_duplicates()))
    feature = int((~e["event"].isin(NON_FEATURE_EVENTS)).sum())
    light = int(e["event"].isin(light_ops).sum())
    return {
        "active_users": active,
        "mau_ratio": ratio(active, registered_base),
        "stickiness": ratio(user_days / w.days, active),
        "logins_per_active_day": ratio(logins, user_days),
        "light_op_share": ratio(light, feature),
    }


def d7_retention(users: pd.DataFrame, events: pd.DataFrame, w: Span) -> float:
    """New users of P with a login on registration date + 7 ÷ new users whose day 7 ≤ P's end."""
    new = users[w.has(users["registered_at"])]
    eligible = int((new["registered_at"] < pd.Timestamp(w.end - timedelta(days=6))).sum())
    lo = pd.Timestamp(w.start + timedelta(days=7))
    lg = events[(events["event"] == "login") & (events["ts"] >= lo) & (events["ts"] < w.hi)]
    j = lg[["user_id", "ts"]].merge(new[["user_id", "registered_at"]], on="user_id")
    hit = j["ts"].dt.normalize() == j["registered_at"].dt.normalize() + pd.Timedelta(days=7)
    return ratio(j.loc[hit, "user_id"].nunique(), eligible)


def funnel_conversion(users: pd.DataFrame, events: pd.DataFrame, transactions: pd.DataFrame,
                      w: Span, window_days: int) -> float:
    """New users of P with card bound, then a successful mobile transaction, both within
    ``window_days`` of registration ÷ new users."""
    win_s = window_days * 86_400
    new = users.loc[w.has(users["registered_at"]), ["user_id", "registered_at"]]
    lo, hi = w.lo, w.hi + pd.Timedelta(days=window_days)
    ev = events[(events["event"] == "bind_card") & (events["ts"] >= lo) & (events["ts"] < hi)]
    b = ev[["user_id", "ts"]].merge(new, on="user_id")
    since = _epoch_s(b["ts"]) - _epoch_s(b["registered_at"])
    bound = (b[(since >= 0) & (since < win_s)].groupby("user_id", as_index=False)["ts"].min()
             .rename(columns={"ts": "bound_at"}))
    step2 = new.merge(bound, on="user_id")
    tx = transactions[(transactions["status"] == "success") & (transactions["channel"] == "mobile")
                      & (transactions["ts"] >= lo) & (transactions["ts"] < hi)]
    jt = tx[["user_id", "ts"]].merge(step2, on="user_id")
    since_t = _epoch_s(jt["ts"]) - _epoch_s(jt["registered_at"])
    converted = jt.loc[(jt["ts"] >= jt["bound_at"]) & (since_t < win_s), "user_id"].nunique()
    return ratio(converted, len(new))


def reactivation_rate(users: pd.DataFrame, events: pd.DataFrame, w: Span,
                      dormancy_days: int) -> float:
    """Users registered before P without a login in the ``dormancy_days`` before P who log in
    during P ÷ those dormant users."""
    dorm = Span(w.start - timedelta(days=dormancy_days), w.start - timedelta(days=1))
    lg = events[(events["event"] == "login") & (events["ts"] >= dorm.lo) & (events["ts"] < w.hi)]
    in_p = lg.loc[w.has(lg["ts"]), "user_id"].unique()
    in_dorm = lg.loc[dorm.has(lg["ts"]), "user_id"].unique()
    before = users[users["registered_at"] < w.lo]
    dormant = ~before["user_id"].isin(in_dorm)
    back = dormant & before["user_id"].isin(in_p)
    return ratio(int(back.sum()), int(dormant.sum()))


def value(transactions: pd.DataFrame, balances: pd.DataFrame, w: Span, *,
          eligible_aum: float, hnw_aum: float) -> dict[str, float]:
    """Successful transactions, GMV, mobile share; HNW conversions and rate."""
    s = transactions[w.has(transactions["ts"]) & (transactions["status"] == "success")]
    n = len(s)
    mobile = int((s["channel"] == "mobile").sum())
    out = {"transactions": float(n), "gmv": float(s["amount"].sum()),
           "mobile_share": ratio(mobile, n)}
    start_me = w.start.replace(day=1) - timedelta(days=1)
    end_me = w.end if _month_end(w.end) == w.end else w.end.replace(day=1) - timedelta(days=1)
    mi = month_idx(balances["month"])
    aum = balances["aum"]
    start_rows = balances.loc[(mi == _idx(start_me)) & (aum >= eligible_aum) & (aum < hnw_aum),
                              ["user_id"]]
    end_rows = balances.loc[mi == _idx(end_me), ["user_id", "aum"]]
    j = start_rows.merge(end_rows, on="user_id", how="left")
    converted = int((j["aum"] >= hnw_aum).sum())
    if end_me <= start_me:
        out.update(hnw_conversions=math.nan, hnw_conversion_rate=math.nan)
    else:
        out.update(hnw_conversions=float(converted),
                   hnw_conversion_rate=ratio(converted, len(j)))
    return out


def risk(transactions: pd.DataFrame, events: pd.DataFrame, w: Span) -> dict[str, float]:
    """Mobile failure rate; abnormal logins per 10k, biometric share, crashes per 1k logins."""
    tx = transactions[(transactions["channel"] == "mobile") & w.has(transactions["ts"])]
    e = events[w.has(events["ts"])]
    login = e["event"] == "login"
    logins = int(login.sum())
    flagged = int((login & e["risk_flag"].eq(True)).sum())
    bio = int((login & e["auth_method"].isin(BIOMETRIC_METHODS)).sum())
    crashes = int((e["event"] == "crash").sum())
    return {
        "failure_rate": ratio(int((tx["status"] == "failed").sum()), len(tx)),
        "abnormal_logins_per_10k": ratio(flagged, logins, 10_000),
        "biometric_share": ratio(bio, logins),
        "crash_per_1k_logins": ratio(crashes, logins, 1_000),
    }


def cac_table(spend: pd.DataFrame, users: pd.DataFrame, w: Span) -> pd.DataFrame:
    """Spend in P and new users of P per paid acquisition channel (spend > 0, not internal)."""
    sp = spend[w.has(spend["date"]) & ~spend["channel"].isin(NON_ACQUISITION_CHANNELS)]
    sp = sp.groupby("channel", as_index=False)["amount"].sum().rename(columns={"amount": "spend"})
    sp = sp[sp["spend"] > 0]
    new = users[w.has(users["registered_at"])]
    nu = new.groupby("acquisition_channel").size().rename("new_users").reset_index()
    df = sp.merge(nu.rename(columns={"acquisition_channel": "channel"}), on="channel",
                  how="left")
    df["new_users"] = df["new_users"].fillna(0)
    return df


def ltv_by_channel(users: pd.DataFrame, events: pd.DataFrame, transactions: pd.DataFrame,
                   w: Span, *, margins: Mapping[str, float], horizon: int,
                   discount: float) -> dict[str, float]:
    """Projected LTV per new user by acquisition channel (``review.metrics.value`` docstring).

    Cohorts: users registered in the 12 months ending with P's end month, by channel and
    registration month; active in month ``c + m``: a login or a successful transaction; only
    months ending by P's end. Retention beyond the last observed age decays geometrically;
    ``LTV = Σ_{m<H} r(m)·a/(1+d)^m``. Channels that cannot be projected are left out.
    """
    first = _month_start(_idx(w.end) - TREND_MONTHS + 1)
    cw = Span(first, w.end)
    last_full = _idx(w.end) if _month_end(w.end) == w.end else _idx(w.end) - 1
    reg = users[cw.has(users["registered_at"])]
    reg = pd.DataFrame({"user_id": reg["user_id"], "channel": reg["acquisition_channel"],
                        "cohort": month_idx(reg["registered_at"])})
    sizes = reg.groupby(["channel", "cohort"], as_index=False).size()
    lg = events[(events["event"] == "login") & cw.has(events["ts"])]
    s = transactions[cw.has(transactions["ts"]) & (transactions["status"] == "success")]
    act = pd.concat([
        pd.DataFrame({"user_id": lg["user_id"], "month": month_idx(lg["ts"]), "margin": 0.0}),
        pd.DataFrame({"user_id": s["user_id"], "month": month_idx(s["ts"]),
                      "margin": s["type"].map(dict(margins)).astype("float64").fillna(0.0)}),
    ], ignore_index=True)
    user_months = act.groupby(["user_id", "month"], as_index=False)["margin"].sum()
    j = reg.merge(user_months, on="user_id")
    j["age"] = j["month"] - j["cohort"]
    j = j[(j["age"] >= 0) & (j["month"] <= last_full)]
    agg = j.groupby(["channel", "age"]).agg(active=("user_id", "size"), margin=("margin", "sum"))
    out = {}
    for ch, g in sizes.groupby("channel"):
        ages = range(max(last_full - int(g["cohort"].min()) + 1, 0))
        if len(ages) < 2 or not margins:
            continue
        n = np.array([g.loc[g["cohort"] + m <= last_full, "size"].sum() for m in ages], float)
        active = np.array([agg["active"].get((ch, m), 0) for m in ages], float)
        margin = sum(float(agg["margin"].get((ch, m), 0.0)) for m in ages)
        r = active / n
        if active.sum() == 0:
            a, q = 0.0, 0.0
        else:
            a = margin / active.sum()
            q = 0.0 if r[-2] == 0 else min(1.0, r[-1] / r[-2])
        last = len(ages) - 1
        ret = [r[m] if m <= last else r[last] * q ** (m - last) for m in range(horizon)]
        out[ch] = float(sum(x * a / (1.0 + discount) ** m for m, x in enumerate(ret)))
    return out


def campaign_roi(campaigns: pd.DataFrame, assignments: pd.DataFrame,
                 transactions: pd.DataFrame, spend: pd.DataFrame, w: Span, *,
                 campaign_ids: tuple[str, ...], margins: Mapping[str, float]) -> float:
    """(Σ incremental margin − Σ cost) ÷ Σ cost over the campaigns in scope with a control
    group (``review.metrics.budget`` docstring)."""
    c = campaigns[(campaigns["start"] <= pd.Timestamp(w.end)) & (campaigns["end"] >= w.lo)]
    if campaign_ids:
        c = c[c["campaign_id"].isin(campaign_ids)]
    c = c.assign(ws=c["start"].clip(lower=w.lo), we=c["end"].clip(upper=pd.Timestamp(w.end)))
    a = assignments.merge(c[["campaign_id", "ws", "we"]], on="campaign_id")
    a = a[a["assigned_at"].dt.normalize() <= a["we"]]
    s = transactions[w.has(transactions["ts"]) & (transactions["status"] == "success")]
    st = pd.DataFrame({"user_id": s["user_id"], "day": s["ts"].dt.normalize(),
                       "margin": s["type"].map(dict(margins)).astype("float64").fillna(0.0)})
    pu = a[["campaign_id", "user_id", "ws", "we"]].merge(st, on="user_id")
    pu = pu[(pu["day"] >= pu["ws"]) & (pu["day"] <= pu["we"])]
    pu = pu.groupby(["campaign_id", "user_id"], as_index=False)["margin"].sum()
    g = a.merge(pu, on=["campaign_id", "user_id"], how="left")
    g["margin"] = g["margin"].fillna(0.0)
    reward_day = g["converted_at"].fillna(g["assigned_at"]).dt.normalize()
    g["reward"] = g["reward_cost"].where((reward_day >= g["ws"]) & (reward_day <= g["we"]))
    g["treated"] = g["variant"] != "control"
    sp = spend[w.has(spend["date"]) & spend["campaign_id"].notna()]
    cspend = sp.groupby("campaign_id")["amount"].sum()
    inc_total = cost_total = 0.0
    any_ok = False
    for cid in sorted(c["campaign_id"]):
        gi = g[g["campaign_id"] == cid]
        tr, co = gi[gi["treated"]], gi[~gi["treated"]]
        cost = float(gi["reward"].sum()) + float(cspend.get(cid, 0.0))
        if not margins or len(tr) == 0 or len(co) == 0:
            continue
        m_t = tr["margin"].sum() / len(tr)
        m_c = co["margin"].sum() / len(co)
        inc_total += (m_t - m_c) * len(tr)
        cost_total += cost
        any_ok = True
    return ratio(inc_total - cost_total, cost_total) if any_ok else math.nan


def budget(t: Mapping[str, pd.DataFrame], w: Span, p: Params) -> dict[str, float]:
    """Budget execution, CAC, LTV ÷ CAC and campaign ROI."""
    spend = t["spend"]
    actual = float(spend.loc[w.has(spend["date"]), "amount"].sum())
    cac = cac_table(spend, t["users"], w)
    rev = p.revenue
    ltv = ltv_by_channel(t["users"], t["events"], t["transactions"], w,
                         margins=rev.margin_per_txn, horizon=rev.ltv_horizon_months,
                         discount=rev.monthly_discount_rate)
    ok = cac["channel"].isin(list(ltv))
    ltv_value = (cac.loc[ok, "new_users"] * cac.loc[ok, "channel"].map(ltv)).sum()
    return {
        "budget_execution": ratio(actual, p.budget.total) if p.budget else math.nan,
        "cac": ratio(float(cac["spend"].sum()), float(cac["new_users"].sum())),
        "ltv_cac": ratio(float(ltv_value), float(cac.loc[ok, "spend"].sum())),
        "campaign_roi": campaign_roi(t["campaigns"], t["assignments"], t["transactions"],
                                     spend, w, campaign_ids=tuple(c.id for c in p.campaigns),
                                     margins=rev.margin_per_txn),
    }


def satisfaction(surveys: pd.DataFrame, complaints: pd.DataFrame, active: int, w: Span
                 ) -> dict[str, float]:
    """NPS of P's survey responses (points); complaints per 10,000 period active users."""
    score = surveys.loc[w.has(surveys["date"]), "nps_score"]
    promoters = int((score >= 9).sum())
    detractors = int((score <= 6).sum())
    n = promoters + detractors + int(((score >= 7) & (score <= 8)).sum())
    nps = 100.0 * (promoters / n - detractors / n) if n else math.nan
    tickets = int(w.has(complaints["created_at"]).sum())
    return {"nps": nps, "complaints_per_10k": ratio(tickets, active, 10_000)}


def market(users: pd.DataFrame, regions: pd.DataFrame, surveys: pd.DataFrame, w: Span
           ) -> dict[str, float]:
    """Penetration of key and lower-tier regions (registered ÷ population); awareness."""
    reg = users[users["registered_at"] < w.hi].groupby("region").size().rename("registered")
    r = regions.merge(reg, left_on="region", right_index=True, how="left")
    r["registered"] = r["registered"].fillna(0)
    tiers = r.groupby("city_tier")[["registered", "population"]].sum()
    out = {f"penetration_{tier}": (ratio(float(tiers.at[tier, "registered"]),
                                         float(tiers.at[tier, "population"]))
                                   if tier in tiers.index else math.nan)
           for tier in ("key", "lower")}
    aware = surveys.loc[w.has(surveys["date"]), "aware_unaided"]
    out["awareness"] = ratio(int(aware.eq(True).sum()), int(aware.notna().sum()))
    return out


# -- the KPI set ---------------------------------------------------------------------------------
def window_kpis(t: Mapping[str, pd.DataFrame], p: Params, start: date, end: date
                ) -> dict[str, float]:
    """Every KPI of :data:`COVERED` for ``[start, end]`` from the loaded tables."""
    w = Span(start, end)
    th = p.thresholds
    users, events, tx = t["users"], t["events"], t["transactions"]
    out = acquisition(users, w)
    out.update(activity(events, w, tuple(th.light_ops), out["registered_base"]))
    out["d7_retention"] = d7_retention(users, events, w)
    out["funnel_conversion"] = funnel_conversion(users, events, tx, w,
                                                 th.conversion_window_days)
    out["reactivation_rate"] = reactivation_rate(users, events, w, th.dormancy_days)
    out.update(value(tx, t["balances"], w, eligible_aum=th.eligible_aum, hnw_aum=th.hnw_aum))
    out.update(risk(tx, events, w))
    out.update(budget(t, w, p))
    out.update(satisfaction(t["surveys"], t["complaints"], active_users(events, w), w))
    out.update(market(users, t["regions"], t["surveys"], w))
    return out


def naive_kpis(folder: str | Path, p: Params) -> dict[str, tuple[float, float]]:
    """Load the tables from ``folder`` and compute every covered KPI.

    Returns
    -------
    dict
        KPI key → ``(value in P, value in the comparison period)``; ``NaN`` when a KPI
        cannot be computed (zero denominator, no month end in P, …).
    """
    t = load_tables(folder)
    cur = window_kpis(t, p, p.start, p.end)
    prev = window_kpis(t, p, *p.comparison)
    return {k: (cur[k], prev[k]) for k in COVERED}

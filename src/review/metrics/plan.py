"""The next-period plan drafted from the period's numbers (总结与下期计划), as pure functions.

Nothing here reads data: each function takes the KPIs or a breakdown table of
:class:`~review.metrics.result.PeriodMetrics` and returns plain values, so that the rules are
tested on small hand-built tables and the report only words the result.

Rules
-----
**Assessment** (:func:`assess`) — over the KPIs with a target and a status: *on track* when
all are green; *off track* when at least a third are red; *mixed* otherwise. What worked:
the green KPIs, highest attainment first; what did not: the red ones, lowest first.

**Budget shift** (:func:`budget_shift`) — among channels with a finite LTV/CAC, positive spend
and CAC and enough new users to be shown (``suppressed`` false), move ``share`` (default
20 %) of the spend of the channel with the lowest LTV/CAC to the one with the highest. The
expected effect assumes each channel's CAC stays as in P (no diminishing returns, say so
where it is shown): ``gained = amount ÷ CAC(best)`` new users at the best channel,
``lost = amount ÷ CAC(worst)`` at the worst, ``net = gained − lost``. No shift when fewer
than two channels qualify or the best is not better than the worst.

**Next-period targets** (:func:`propose_target`) — ``forecast = value + (value −
comparison value)`` (the last step of the trend carried one period on; ``value`` when there
is no comparison). Higher is better (mirrored when lower is better):

* target met → ``max(target, forecast)``: a met target never falls, and rises with the trend;
* missed, forecast reaches the target → the target stays;
* missed, forecast short of it → halfway between forecast and target, never below the value
  already reached.

**Campaigns** (:func:`campaign_decisions`, on the campaign summary of the campaigns family)
— *scale* when the incremental conversions' 95 % interval lies above 0 and the projected ROI's
interval lies above 0 (randomised); *stop* when the incremental conversions' interval lies
below 0 or the projected ROI's interval lies below 0; otherwise *continue* (the evidence is
not conclusive, or not randomised, or the cells are too small to judge).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from review.metrics.result import KpiValue

Verdict = Literal["on_track", "mixed", "off_track"]
Decision = Literal["scale", "continue", "stop"]
DEFAULT_SHIFT_SHARE = 0.2


def _finite(x: object) -> bool:
    try:
        return x is not None and not pd.isna(x) and math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


# -- assessment ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Assessment:
    """The period at a glance: counts of rated KPIs by status and the verdict."""

    verdict: Verdict
    green: int
    amber: int
    red: int
    worked: tuple[str, ...] = ()  # KPI keys, green, highest attainment first
    did_not: tuple[str, ...] = ()  # KPI keys, red, lowest attainment first

    @property
    def rated(self) -> int:
        return self.green + self.amber + self.red


def assess(kpis: Iterable[KpiValue], *, top: int = 3) -> Assessment:
    """The :class:`Assessment` of the KPIs with a target and a status (rules above)."""
    rated = [k for k in kpis if k.target is not None and k.rag in ("green", "amber", "red")]
    count = {r: sum(k.rag == r for k in rated) for r in ("green", "amber", "red")}
    if rated and count["red"] * 3 >= len(rated):
        verdict: Verdict = "off_track"
    elif count["red"] or count["amber"] or not rated:
        verdict = "mixed"
    else:
        verdict = "on_track"

    def att(k: KpiValue) -> float:
        return float(k.attainment) if _finite(k.attainment) else math.nan

    green = sorted((k for k in rated if k.rag == "green" and _finite(k.attainment)),
                   key=lambda k: (-att(k), k.key))
    red = sorted((k for k in rated if k.rag == "red" and _finite(k.attainment)),
                 key=lambda k: (att(k), k.key))
    return Assessment(verdict, count["green"], count["amber"], count["red"],
                      tuple(k.key for k in green[:top]), tuple(k.key for k in red[:top]))


# -- budget -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetShift:
    """Spend moved from the channel with the lowest LTV/CAC to the one with the highest."""

    from_channel: str
    to_channel: str
    amount: float  # currency
    from_ltv_cac: float
    to_ltv_cac: float
    from_cac: float
    to_cac: float
    gained_users: float  # amount ÷ to_cac
    lost_users: float  # amount ÷ from_cac

    @property
    def net_users(self) -> float:
        return self.gained_users - self.lost_users


def budget_shift(ltv_cac: pd.DataFrame, *, share: float = DEFAULT_SHIFT_SHARE
                 ) -> BudgetShift | None:
    """The :class:`BudgetShift` of the ``ltv_cac`` breakdown (``channel``, ``spend``, ``cac``,
    ``ltv_cac``, optional ``suppressed``), or ``None`` (rules above)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    if ltv_cac is None or ltv_cac.empty:
        return None
    df = ltv_cac.copy()
    ok = df["ltv_cac"].map(_finite) & df["cac"].map(_finite) & df["spend"].map(_finite)
    if "suppressed" in df.columns:
        ok &= ~df["suppressed"].fillna(False).astype(bool)
    df = df[ok]
    df = df[(df["cac"].astype(float) > 0) & (df["spend"].astype(float) > 0)]
    if len(df) < 2:
        return None
    df = df.sort_values(["ltv_cac", "channel"], kind="stable")
    worst, best = df.iloc[0], df.iloc[-1]
    if float(best["ltv_cac"]) <= float(worst["ltv_cac"]):
        return None
    amount = float(worst["spend"]) * share
    return BudgetShift(str(worst["channel"]), str(best["channel"]), amount,
                       float(worst["ltv_cac"]), float(best["ltv_cac"]),
                       float(worst["cac"]), float(best["cac"]),
                       amount / float(best["cac"]), amount / float(worst["cac"]))


# -- targets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetProposal:
    """A proposed next-period target of one KPI and why."""

    key: str
    target: float  # this period's
    value: float
    forecast: float
    proposed: float
    basis: Literal["met_trend", "met_keep", "missed_keep", "missed_halfway"]


def propose_target(k: KpiValue) -> TargetProposal | None:
    """The next-period target of ``k`` (rules above); ``None`` without a value or target."""
    if not (_finite(k.value) and _finite(k.target)):
        return None
    value, target = float(k.value), float(k.target)  # type: ignore[arg-type]
    forecast = value + (value - float(k.compare_value)) if _finite(k.compare_value) else value
    if k.unit in ("ratio",):
        forecast = min(max(forecast, 0.0), 1.0)
    elif k.unit in ("count", "currency"):
        forecast = max(forecast, 0.0)
    better = (lambda a, b: a >= b) if k.direction == "higher" else (lambda a, b: a <= b)
    best = max if k.direction == "higher" else min
    if better(value, target):
        proposed = best(target, forecast)
        basis = "met_trend" if proposed != target else "met_keep"
    elif better(forecast, target):
        proposed, basis = target, "missed_keep"
    else:
        proposed = best((forecast + target) / 2, value)
        basis = "missed_halfway"
    return TargetProposal(k.key, target, value, forecast, proposed, basis)


def propose_targets(kpis: Iterable[KpiValue]) -> list[TargetProposal]:
    """:func:`propose_target` of every KPI with a value and a target, in the given order."""
    return [p for k in kpis if (p := propose_target(k)) is not None]


# -- campaigns ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignDecision:
    """Scale, continue or stop one campaign, with the figures that decide it."""

    campaign_id: str
    name: str
    decision: Decision
    reason: Literal["proven", "harmful", "losing", "inconclusive", "not_randomised",
                    "too_small"]
    incremental: float = math.nan
    incremental_lo: float = math.nan
    incremental_hi: float = math.nan
    roi: float = math.nan  # projected
    roi_lo: float = math.nan
    roi_hi: float = math.nan
    cost: float = math.nan  # in P
    participants: float = math.nan  # in P
    extra: dict = field(default_factory=dict, compare=False)


def _num(row: Mapping, key: str) -> float:
    v = row.get(key)
    return float(v) if _finite(v) else math.nan


def campaign_decisions(summary: pd.DataFrame) -> list[CampaignDecision]:
    """One :class:`CampaignDecision` per row of the campaign summary (rules above).

    Uses ``campaign_id``, ``name``, ``incremental_conversions``, ``incremental_lo``/``_hi``,
    ``estimate``, ``roi_projected`` and ``_lo``/``_hi``, ``cost_period``, ``users_period``
    and ``suppressed`` when present.
    """
    out = []
    if summary is None or summary.empty:
        return out
    for row in summary.to_dict("records"):
        inc, lo, hi = (_num(row, c) for c in ("incremental_conversions", "incremental_lo",
                                              "incremental_hi"))
        roi, rlo, rhi = (_num(row, c) for c in ("roi_projected", "roi_projected_lo",
                                                "roi_projected_hi"))
        randomised = row.get("estimate") == "randomised"
        if row.get("suppressed") in (True, 1):
            decision, reason = "continue", "too_small"
        elif randomised and _finite(hi) and hi < 0:
            decision, reason = "stop", "harmful"
        elif _finite(rhi) and rhi < 0:
            decision, reason = "stop", "losing"
        elif randomised and _finite(lo) and lo > 0 and _finite(rlo) and rlo > 0:
            decision, reason = "scale", "proven"
        elif not randomised:
            decision, reason = "continue", "not_randomised"
        else:
            decision, reason = "continue", "inconclusive"
        out.append(CampaignDecision(str(row.get("campaign_id", "")), str(row.get("name", "")),
                                    decision, reason, inc, lo, hi, roi, rlo, rhi,
                                    _num(row, "cost_period"), _num(row, "users_period")))
    return out

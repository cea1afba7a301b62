"""The catalog of headline KPIs: one entry per number that gets a tile, a target and a RAG.

The catalog is the shared vocabulary of params (``targets``), metrics (``compute_period``),
``metrics.json``, findings and the i18n labels (``kpi.<key>`` in the catalog of
:mod:`review.report.i18n`). Each ``definition`` is the one definition of its KPI (English; the
i18n catalog holds its translation) and docs/metrics.md is generated from this catalog
(``python -m review.kpis``). The period is ``[start, end]`` inclusive, in the bank's local time.

Units
-----
``count`` people or events · ``ratio`` a share in [0, 1] (shown as %) · ``currency`` money in
the params' currency · ``per_10k`` / ``per_1k`` a rate per 10,000 / 1,000 · ``points`` NPS
points in [-100, 100] · ``per_day`` events per active user-day · ``multiple`` a plain ratio
such as LTV/CAC (shown as ×).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["count", "ratio", "currency", "per_10k", "per_1k", "points", "per_day", "multiple"]


@dataclass(frozen=True)
class Kpi:
    """One headline KPI: its key, unit, which direction is better, family and definition."""

    key: str
    unit: Unit
    direction: Literal["higher", "lower"]
    family: str
    definition: str


_KPIS = [
    Kpi("new_users", "count", "higher", "acquisition",
        "Users whose registration date (registered_at) falls in the period."),
    Kpi("registered_base", "count", "higher", "acquisition",
        "Users whose registration date (registered_at) is on or before the end of the period."),
    Kpi("active_users", "count", "higher", "activity",
        "Distinct users with ≥1 login in the period (MAU for a month)."),
    Kpi("mau_ratio", "ratio", "higher", "activity",
        "Period active users ÷ registered base."),
    Kpi("stickiness", "ratio", "higher", "activity",
        "Mean DAU over the days of the period ÷ period active users."),
    Kpi("logins_per_active_day", "per_day", "higher", "activity",
        "Logins in the period ÷ active user-days in the period."),
    Kpi("light_op_share", "ratio", "higher", "activity",
        "Feature events in the light set ÷ all feature events in the period."),
    Kpi("d7_retention", "ratio", "higher", "retention",
        "Share of the period's new users with a login 7 days after the registration date."),
    Kpi("funnel_conversion", "ratio", "higher", "funnel",
        "The period's new users with a first successful mobile transaction within the window ÷ new users."),
    Kpi("reactivation_rate", "ratio", "higher", "lifecycle",
        "Dormant users at the period's start with ≥1 login in the period ÷ dormant users at the period's start."),
    Kpi("hnw_conversions", "count", "higher", "value",
        "Eligible users (AUM at the period's start in [eligible, hnw)) with AUM ≥ hnw at the period's end."),
    Kpi("hnw_conversion_rate", "ratio", "higher", "value",
        "HNW conversions ÷ eligible users."),
    Kpi("transactions", "count", "higher", "value",
        "Successful transactions in the period, all channels."),
    Kpi("gmv", "currency", "higher", "value",
        "Amount of successful transactions in the period, all channels."),
    Kpi("mobile_share", "ratio", "higher", "value",
        "Successful mobile transactions ÷ successful transactions, all channels."),
    Kpi("failure_rate", "ratio", "lower", "risk",
        "Failed ÷ attempted mobile transactions in the period."),
    Kpi("abnormal_logins_per_10k", "per_10k", "lower", "risk",
        "Risk-flagged logins per 10,000 logins in the period."),
    Kpi("biometric_share", "ratio", "higher", "risk",
        "Logins with fingerprint or face ÷ logins in the period."),
    Kpi("crash_per_1k_logins", "per_1k", "lower", "risk",
        "Crash events per 1,000 logins in the period."),
    Kpi("cac", "currency", "lower", "budget",
        "Paid CAC: spend of paid acquisition channels in the period ÷ their new users in the period."),
    Kpi("cac_all_in", "currency", "lower", "budget",
        "All-in CAC: all acquisition spend in the period (every category except tech, service, "
        "reserve, training) ÷ all new users in the period."),
    Kpi("budget_execution", "ratio", "lower", "budget",
        "Actual spend in the period ÷ planned spend (the budget plan's total)."),
    Kpi("campaign_participants", "count", "higher", "campaigns",
        "Distinct treated (non-control) users assigned in the period, campaigns in scope (people, "
        "not person-campaigns)."),
    Kpi("campaign_conversions", "count", "higher", "campaigns",
        "Treated users with converted_at in the period, summed over the campaigns in scope."),
    Kpi("campaign_conversion_rate", "ratio", "higher", "campaigns",
        "Treated users assigned in the period converted within the conversion window ÷ treated users "
        "assigned in the period."),
    Kpi("incremental_conversions", "count", "higher", "campaigns",
        "Σ (treated − control cohort rate) × treated participants in the period, campaigns with a "
        "control group."),
    Kpi("campaign_roi", "ratio", "higher", "campaigns",
        "(Incremental value in the period − its campaign cost) ÷ that cost, campaigns in "
        "scope; value = transaction margins + AUM margin."),
    Kpi("ltv_cac", "multiple", "higher", "budget",
        "Projected LTV of the period's new users ÷ CAC."),
    Kpi("nps", "points", "higher", "satisfaction",
        "% promoters (9–10) − % detractors (0–6) among survey responses in the period."),
    Kpi("complaints_per_10k", "per_10k", "lower", "satisfaction",
        "Complaint tickets created in the period per 10,000 period active users."),
    Kpi("awareness", "ratio", "higher", "market",
        "Survey respondents in the period aware unaided ÷ respondents who answered."),
    Kpi("penetration_key", "ratio", "higher", "market",
        "Registered users ÷ population, key cities."),
    Kpi("penetration_lower", "ratio", "higher", "market",
        "Registered users ÷ population, lower-tier cities."),
]

#: key → :class:`Kpi`, in report order.
KPI_CATALOG: dict[str, Kpi] = {k.key: k for k in _KPIS}

#: The KPIs shown as tiles in the summary, in order.
HEADLINE_KPIS: tuple[str, ...] = (
    "new_users", "active_users", "mau_ratio", "reactivation_rate", "hnw_conversion_rate",
    "transactions", "mobile_share", "campaign_participants", "incremental_conversions",
    "failure_rate", "cac", "budget_execution", "nps", "complaints_per_10k",
)

#: Flow KPIs: counts and amounts that add up over time, so a target for a period of n months
#: is n times a monthly one (``review params new`` scales them, and the budget total, when
#: the period length changes). Stocks (registered base), distinct counts over the period (active
#: users), costs per user and ratios are not flows.
FLOW_KPIS: tuple[str, ...] = (
    "new_users", "transactions", "gmv", "hnw_conversions", "campaign_participants",
    "campaign_conversions", "incremental_conversions",
)

"""3. Execution (执行计划): milestones, campaign reach, delivery, stability."""

from __future__ import annotations

from datetime import date

import pandas as pd

from review.config import Params
from review.metrics.result import PeriodMetrics
from review.report import charts
from review.report.blocks._base import (
    Block,
    _available,
    _control,
    _foot,
    _immature_note,
    _kpi,
    _lang,
    _month_label,
    _narrate,
    _suppression_note,
)
from review.report.i18n import t
from review.report.tables import (
    Col,
    data_table,
    translate_codes,
)

#: Milestone statuses that count as "not done on time" in the narrative.
LATE_MILESTONES = ("done_late", "overdue")

def milestone_status(planned: date, actual: date | None, period_end: date) -> str:
    """Status code of a milestone at the end of the period.

    ``done_on_time`` (done on or before the planned date), ``done_late`` (done after it),
    ``overdue`` (not done, planned on or before the period's end) or ``pending`` (not done,
    planned after the period's end: not yet due, so not late).
    """
    if actual is not None:
        return "done_on_time" if actual <= planned else "done_late"
    return "overdue" if planned <= period_end else "pending"

def milestones(pm: PeriodMetrics, cfg: Params) -> Block:
    """Milestones planned vs actual (from the parameters), with the delay in days."""
    out = Block("milestones")
    lang = _lang(cfg)
    out.heading("block.milestones", lang, level=3)
    if not cfg.milestones:
        out.note("narr.no_milestones", lang)
        return out
    end = pd.Timestamp(pm.end).date()
    rows = []
    for m in cfg.milestones:
        delay = (m.actual - m.planned).days if m.actual else None
        rows.append({"milestone": m.name, "planned": m.planned.isoformat(),
                     "actual": m.actual.isoformat() if m.actual else None,
                     "delay_days": delay, "status": milestone_status(m.planned, m.actual, end)})
    late = sum(r["status"] in LATE_MILESTONES for r in rows)  # codes, not translated labels
    df = pd.DataFrame(rows).assign(status=lambda d: [t(f"milestone.{s}", lang)
                                                     for s in d["status"]])
    _narrate(out, "narr.milestones", cfg, n=len(rows), late=late)
    out.html(data_table(df, [Col("milestone", "col.milestone"),
                              Col("planned", "col.planned_date"),
                              Col("actual", "col.actual_date"),
                              Col("delay_days", "col.delay_days", "number"),
                              Col("status", "col.status")], lang, labels=cfg.labels))
    return out

def campaign_reach(pm: PeriodMetrics, cfg: Params) -> Block:
    """Campaign results by variant and touch channel: participants in P and to date, cohort
    conversion rate (immature marked), conversions in P, incremental conversions (95 %)."""
    out = Block("campaign_reach")
    lang = _lang(cfg)
    out.heading("block.campaign_reach", lang, level=3)
    keys = ["campaigns.by_variant", "campaigns.by_touch"]
    if not _available(out, pm, cfg, keys, ["campaigns", "assignments"]):
        return out
    df = pm.tables["campaigns.by_variant"]
    out.html(data_table(df, [
        Col("campaign_id", "col.campaign"), Col("variant", "col.variant"),
        Col("users_period", "col.participants_period", "count"),
        Col("users_to_date", "col.participants_to_date", "count"),
        Col("cohort_rate", "col.cohort_rate", "ratio"),
        Col("conversions_period", "col.conversions_period", "count"),
        Col("incremental_conversions", "col.incremental_conversions", "number"),
        Col("incremental_lo", "col.ci_lo", "number"),
        Col("incremental_hi", "col.ci_hi", "number"),
        Col("estimate", "col.estimate", codes="estimate")], lang,
        min_cell=cfg.thresholds.min_cell_users))
    _immature_note(out, df, cfg)
    touch = pm.tables["campaigns.by_touch"]
    touch = touch[touch["variant"] != "control"]
    if touch["users_period"].fillna(0).sum() > 0:
        touch = translate_codes(touch, "touch_channel", lang)
        out.chart(charts.bars(touch, "touch_channel", "cohort_rate", hue="campaign_id",
                               value_format="ratio", title=t("title.conversion_by_touch", lang),
                               xlabel=t("col.channel", lang), ylabel=t("col.cohort_rate", lang),
                               footnote=_foot(pm, cfg, "assignments"), lang=lang))
    if "campaigns.trend" in pm.tables:
        tr = _month_label(pm.tables["campaigns.trend"])
        long = pd.concat([
            tr.assign(series=t("col.participants_month", lang), value=tr["participants"]),
            tr.assign(series=t("col.conversions_month", lang), value=tr["conversions"])])
        out.chart(charts.trend(long, "month", "value", hue="series",
                                title=t("title.campaign_trend", lang),
                                xlabel=t("col.month", lang), ylabel=t("col.users", lang),
                                footnote=_foot(pm, cfg, "assignments"), lang=lang,
                                y_unit="count"))
    _suppression_note(out, pd.concat([df, touch]), cfg)
    return out

def delivery_by_channel(pm: PeriodMetrics, cfg: Params) -> Block:
    """Delivery by channel: spend, impressions, clicks and cost per click."""
    out = Block("delivery_by_channel")
    lang = _lang(cfg)
    out.heading("block.delivery", lang, level=3)
    if not _available(out, pm, cfg, ["budget.by_channel"], ["spend"]):
        return out
    df = pm.tables["budget.by_channel"]
    out.html(data_table(df, [Col("channel", "col.channel", codes="spend_channel"),
                              Col("amount", "col.amount", "currency"),
                              Col("share", "col.share", "ratio"),
                              Col("impressions", "col.impressions", "count"),
                              Col("clicks", "col.clicks", "count"),
                              Col("ctr", "col.ctr", "ratio"),
                              Col("cost_per_click", "col.cpc", "currency")], lang,
                         currency=pm.currency))
    return out

def stability(pm: PeriodMetrics, cfg: Params) -> Block:
    """Stability: crash rate and mobile transaction failures by day, with control limits."""
    out = Block("stability")
    lang = _lang(cfg)
    out.heading("block.stability", lang, level=3)
    _narrate(out, "narr.stability", cfg, crash=_kpi(pm, "crash_per_1k_logins", cfg),
             failure=_kpi(pm, "failure_rate", cfg))
    _control(out, pm, cfg, "risk.crash_daily", "title.crash_daily", "per_1k", "events")
    _control(out, pm, cfg, "risk.failure_daily", "title.failure_daily", "ratio", "transactions")
    return out


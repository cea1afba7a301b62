"""5. Evaluation (评估与优化): funnel, retention, experiments, satisfaction, risk, findings, 总结与下期计划."""

from __future__ import annotations

import pandas as pd

from review.config import Params
from review.metrics.result import PeriodMetrics
from review.report import charts
from review.report import plan as plan_view
from review.report.blocks._base import (
    Block,
    _available,
    _change,
    _control,
    _findings_list,
    _fmt,
    _foot,
    _kpi,
    _kpis,
    _lang,
    _narrate,
)
from review.report.findings import actionable
from review.report.i18n import code_label, t
from review.report.tables import (
    Col,
    data_table,
    kpi_table,
    translate_codes,
)


def funnel(pm: PeriodMetrics, cfg: Params) -> Block:
    """Registration → card bound → first mobile transaction, within the conversion window."""
    out = Block("funnel")
    lang = _lang(cfg)
    out.heading("block.funnel", lang, level=3)
    if not _available(out, pm, cfg, ["funnel.steps"], ["users", "events", "transactions"]):
        return out
    df = pm.tables["funnel.steps"]
    if not df["users"].fillna(0).iloc[0]:  # nobody registered in the period
        out.note("narr.no_data", lang)
        return out
    _narrate(out, "narr.funnel", cfg, conversion=_kpi(pm, "funnel_conversion", cfg),
             window=cfg.thresholds.conversion_window_days,
             change=_change(pm, "funnel_conversion", cfg))
    steps = df.assign(step=df["step"].map(lambda s: code_label("funnel_step", s, lang)))
    out.chart(charts.funnel(steps, "step", "users", title=t("title.funnel", lang),
                             xlabel=t("col.step", lang), ylabel=t("col.users", lang),
                             footnote=_foot(pm, cfg, "users", "events", "transactions"),
                             lang=lang))
    return out

def retention(pm: PeriodMetrics, cfg: Params) -> Block:
    """Weekly cohort retention triangle and day-1/7/30 retention of the period's new users."""
    out = Block("retention")
    lang = _lang(cfg)
    out.heading("block.retention", lang, level=3)
    if not _available(out, pm, cfg, ["retention.cohorts", "retention.day_n"], ["users", "events"]):
        return out
    cohorts = pm.tables["retention.cohorts"].assign(
        cohort_week=lambda d: pd.to_datetime(d["cohort_week"]).dt.strftime("%m-%d"))
    out.chart(charts.cohort_heatmap(cohorts, "cohort_week", "week", "retention",
                                     title=t("title.cohorts", lang), xlabel=t("col.week", lang),
                                     ylabel=t("col.cohort", lang),
                                     footnote=_foot(pm, cfg, "users", "events"), lang=lang))
    out.html(data_table(pm.tables["retention.day_n"],
                         [Col("day", "col.day", "number"),
                          Col("eligible_users", "col.users", "count"),
                          Col("retention", "col.rate", "ratio")], lang))
    return out

def experiments(pm: PeriodMetrics, cfg: Params) -> Block:
    """Experiment readout per variant vs control: lift with 95% interval, Holm p, SRM."""
    out = Block("experiments")
    lang = _lang(cfg)
    out.heading("block.experiments", lang, level=3)
    if not _available(out, pm, cfg, ["experiments.readout"], ["campaigns", "assignments"]):
        return out
    df = pm.tables["experiments.readout"]
    if df.empty:
        out.note("narr.no_experiments", lang)
        return out
    plot = df.assign(label=df["campaign_id"] + " " + df["variant"].astype(str))
    out.chart(charts.forest(plot, "label", "abs_lift", "abs_lo", "abs_hi",
                             title=t("title.experiments", lang), xlabel=t("col.lift", lang),
                             ylabel=t("col.variant", lang),
                             footnote=_foot(pm, cfg, "assignments"), lang=lang,
                             significant="significant"))
    out.html(data_table(df, [
        Col("campaign_id", "col.campaign"), Col("variant", "col.variant"),
        Col("users", "col.users_to_date", "count"),
        Col("conversions", "col.conversions_to_date", "count"),
        Col("rate", "col.rate", "ratio"), Col("control_rate", "col.control_rate", "ratio"),
        Col("abs_lift", "col.abs_lift_pp", "pp"), Col("abs_lo", "col.ci_lo", "pp"),
        Col("abs_hi", "col.ci_hi", "pp"), Col("rel_lift", "col.rel_lift", "signed_ratio"),
        Col("rel_lo", "col.ci_lo", "signed_ratio"), Col("rel_hi", "col.ci_hi", "signed_ratio"),
        Col("p_value", "col.p_value", "pvalue"), Col("p_holm", "col.p_holm", "pvalue"),
        Col("srm_chi2", "col.srm_chi2", "number"), Col("srm_p", "col.srm_p", "pvalue"),
        Col("srm_status", "col.srm_status", codes="srm_status")], lang,
        min_cell=cfg.thresholds.min_cell_users))
    out.note("narr.experiments_to_date", lang, warn=f"{cfg.thresholds.srm_warn:g}",
              alert=f"{cfg.thresholds.srm_alert:g}")
    return out

def satisfaction(pm: PeriodMetrics, cfg: Params) -> Block:
    """NPS with its 95% interval, complaints per 10k active users, by category."""
    out = Block("satisfaction")
    lang = _lang(cfg)
    out.heading("block.satisfaction", lang, level=3)
    if not _available(out, pm, cfg, ["satisfaction.nps", "satisfaction.complaints_by_category"],
                      ["surveys", "complaints"]):
        return out
    nps = pm.tables["satisfaction.nps"].iloc[0]
    comp = pm.tables["satisfaction.complaints"].iloc[0]
    _narrate(out, "narr.satisfaction", cfg, nps=_fmt(nps["nps"], "points", pm, cfg),
             lo=_fmt(nps["lo"], "points", pm, cfg), hi=_fmt(nps["hi"], "points", pm, cfg),
             responses=_fmt(nps["responses"], "count", pm, cfg),
             complaints=_kpi(pm, "complaints_per_10k", cfg),
             hours=_fmt(comp["median_resolution_hours"], "number", pm, cfg))
    out.html(data_table(pm.tables["satisfaction.complaints_by_category"],
                         [Col("category", "col.category", codes="complaint_category"),
                          Col("tickets", "col.count", "count"),
                          Col("per_10k", "kpi.complaints_per_10k", "per_10k"),
                          Col("median_resolution_hours", "col.median_hours", "number")], lang))
    if "satisfaction.complaints_weekly" in pm.tables:
        wk = pm.tables["satisfaction.complaints_weekly"]
        wk = translate_codes(wk.assign(week_start=pd.to_datetime(wk["week_start"])), "category",
                             lang, codes="complaint_category")
        out.chart(charts.trend(wk, "week_start", "tickets", hue="category",
                                title=t("title.complaints_weekly", lang),
                                xlabel=t("col.week", lang), ylabel=t("col.count", lang),
                                footnote=_foot(pm, cfg, "complaints"), lang=lang,
                                y_unit="count"))
    return out

def risk_indicators(pm: PeriodMetrics, cfg: Params) -> Block:
    """Risk indicators: abnormal logins per 10k by day with control limits."""
    out = Block("risk_indicators")
    lang = _lang(cfg)
    out.heading("block.risk", lang, level=3)
    out.html(kpi_table(_kpis(pm, ["failure_rate", "abnormal_logins_per_10k",
                                   "crash_per_1k_logins", "biometric_share"]), lang,
                        currency=pm.currency))
    _control(out, pm, cfg, "risk.abnormal_logins_daily", "title.abnormal_daily", "per_10k", "events")
    return out

def problems_and_suggestions(pm: PeriodMetrics, cfg: Params) -> Block:
    """存在问题与优化建议: one finding per subject with its evidence and an action that names
    the subject, its size and the expected effect (:func:`review.report.findings.actionable`)."""
    out = Block("problems_and_suggestions")
    out.heading("block.problems", cfg.lang, level=3)
    _findings_list(out, actionable(pm, cfg.lang), cfg, details=True)
    return out

def plan(pm: PeriodMetrics, cfg: Params) -> Block:
    """总结与下期计划: assessment, what worked and what did not, the drafted next-period plan
    (:mod:`review.report.plan`), then the analyst's ``plan`` commentary."""
    out = Block("plan")
    out.html(plan_view.plan_html(pm.kpis, pm.tables, lang=_lang(cfg), currency=pm.currency,
                                  labels=cfg.labels))
    return out

"""4. Budget (预算与资源): plan vs actual, money bridge, burn-down, CAC, ROI, LTV."""

from __future__ import annotations

import pandas as pd

from review.config import Params
from review.metrics.result import PeriodMetrics
from review.report import charts
from review.report.blocks._base import (
    Block,
    _available,
    _change,
    _fmt,
    _foot,
    _kpi,
    _kpis,
    _lang,
    _narrate,
)
from review.report.i18n import t
from review.report.tables import (
    Col,
    data_table,
    kpi_table,
    translate_codes,
)


def budget_plan_vs_actual(pm: PeriodMetrics, cfg: Params) -> Block:
    """Plan vs actual by spend category, with variance."""
    out = Block("budget_plan_vs_actual")
    lang = _lang(cfg)
    out.heading("block.plan_vs_actual", lang, level=3)
    if not _available(out, pm, cfg, ["budget.plan_vs_actual"], ["spend"]):
        return out
    df = pm.tables["budget.plan_vs_actual"]
    _narrate(out, "narr.budget", cfg, actual=_fmt(df["actual"].sum(), "currency", pm, cfg),
             planned=_fmt(df["planned"].sum(), "currency", pm, cfg),
             execution=_kpi(pm, "budget_execution", cfg))
    out.chart(charts.plan_vs_actual(translate_codes(df, "category", lang, codes="spend_category"),
                                     "category", "planned", "actual",
                                     title=t("title.plan_vs_actual", lang),
                                     xlabel=t("col.category", lang), ylabel=t("col.amount", lang),
                                     footnote=_foot(pm, cfg, "spend"), lang=lang,
                                     currency=pm.currency))
    out.html(data_table(df, [Col("category", "col.category", codes="spend_category"),
                              Col("planned", "col.plan", "currency"),
                              Col("actual", "col.actual", "currency"),
                              Col("variance", "col.variance", "currency"),
                              Col("execution", "col.execution", "ratio")], lang,
                         currency=pm.currency))
    money_bridge(pm, cfg)
    return out

def money_bridge(pm: PeriodMetrics, cfg: Params) -> Block:
    """Spend of P by category × channel × campaign: one total behind every spend view, and
    what the ``internal`` channel is."""
    out = Block("money_bridge")
    lang = _lang(cfg)
    if "budget.money_bridge" not in pm.tables or pm.tables["budget.money_bridge"].empty:
        return out
    df = pm.tables["budget.money_bridge"].copy()
    df["campaign_id"] = df["campaign_id"].where(df["campaign_id"].notna(),
                                                t("col.unattributed", lang))
    total = pd.DataFrame([{"category": t("col.total", lang), "channel": "", "campaign_id": "",
                           "amount": df["amount"].sum(), "share": 1.0}])
    out.heading("block.money_bridge", lang, level=4)
    _narrate(out, "narr.money_bridge", cfg, total=_fmt(df["amount"].sum(), "currency", pm, cfg))
    out.html(data_table(pd.concat([df, total], ignore_index=True), [
        Col("category", "col.category", codes="spend_category"),
        Col("channel", "col.channel", codes="spend_channel"),
        Col("campaign_id", "col.campaign"), Col("amount", "col.amount", "currency"),
        Col("share", "col.share", "ratio")], lang, currency=pm.currency))
    return out

def burn_down(pm: PeriodMetrics, cfg: Params) -> Block:
    """Cumulative spend against the linear plan over the period."""
    out = Block("burn_down")
    lang = _lang(cfg)
    out.heading("block.burn_down", lang, level=3)
    if not _available(out, pm, cfg, ["budget.burn_down"], ["spend"]):
        return out
    df = pm.tables["budget.burn_down"].assign(date=lambda d: pd.to_datetime(d["date"]))
    out.chart(charts.burn_down(df, "date", "cumulative", "planned_cumulative",
                                title=t("title.burn_down", lang), xlabel=t("col.date", lang),
                                ylabel=t("col.amount", lang), footnote=_foot(pm, cfg, "spend"),
                                lang=lang, currency=pm.currency,
                                total=cfg.budget.total if cfg.budget else None))
    return out

def cac(pm: PeriodMetrics, cfg: Params) -> Block:
    """Customer acquisition cost by channel, ranked; channels far above the median flagged."""
    out = Block("cac")
    lang = _lang(cfg)
    out.heading("block.cac", lang, level=3)
    if not _available(out, pm, cfg, ["budget.cac"], ["spend", "users"]):
        return out
    df = pm.tables["budget.cac"]
    _narrate(out, "narr.cac", cfg, cac=_kpi(pm, "cac", cfg), change=_change(pm, "cac", cfg),
             all_in=_kpi(pm, "cac_all_in", cfg))
    out.html(kpi_table(_kpis(pm, ["cac", "cac_all_in"]), lang, currency=pm.currency))
    out.chart(charts.bars(translate_codes(df, "channel", lang, codes="spend_channel"),
                           "channel", "cac", horizontal=True, value_format="currency",
                           title=t("title.cac", lang), xlabel=t("col.channel", lang),
                           ylabel=t("kpi.cac", lang), footnote=_foot(pm, cfg, "spend", "users"),
                           lang=lang, currency=pm.currency))
    out.html(data_table(df, [Col("channel", "col.channel", codes="spend_channel"),
                              Col("spend", "col.amount", "currency"),
                              Col("new_users", "col.users", "count"),
                              Col("cac", "kpi.cac", "currency"),
                              Col("vs_median", "col.vs_median", "multiple")], lang,
                         currency=pm.currency, min_cell=cfg.thresholds.min_cell_users))
    return out

def campaign_roi(pm: PeriodMetrics, cfg: Params) -> Block:
    """Campaign ROI in the period and projected (with payback month), per campaign and
    variant, from the same value function as LTV (transaction + AUM margin)."""
    out = Block("campaign_roi")
    lang = _lang(cfg)
    out.heading("block.roi", lang, level=3)
    if not _available(out, pm, cfg, ["campaigns.by_variant"], ["campaigns", "assignments"]):
        return out
    df = pm.tables["campaigns.by_variant"]
    df = df[df["variant"] != "control"]
    _narrate(out, "narr.roi", cfg, roi=_kpi(pm, "campaign_roi", cfg),
             aum=_fmt(cfg.revenue.aum_margin_annual, "ratio", pm, cfg),
             horizon=cfg.revenue.ltv_horizon_months)
    out.html(data_table(df, [
        Col("campaign_id", "col.campaign"), Col("variant", "col.variant"),
        Col("cost_period", "col.cost_period", "currency"),
        Col("incremental_value_period", "col.incremental_value_period", "currency"),
        Col("roi_period", "col.roi_period", "ratio"),
        Col("cost_to_date", "col.cost_to_date", "currency"),
        Col("incremental_value_projected", "col.incremental_value_projected", "currency"),
        Col("roi_projected", "col.roi_projected", "ratio"),
        Col("roi_projected_lo", "col.ci_lo", "ratio"),
        Col("roi_projected_hi", "col.ci_hi", "ratio"),
        Col("payback_month", "col.payback_month", "number"),
        Col("value_estimate", "col.value_estimate", codes="estimate")], lang,
        currency=pm.currency,
        min_cell=cfg.thresholds.min_cell_users))
    return out

def ltv(pm: PeriodMetrics, cfg: Params) -> Block:
    """Projected LTV per acquisition channel and LTV ÷ CAC."""
    out = Block("ltv")
    lang = _lang(cfg)
    out.heading("block.ltv", lang, level=3)
    if not _available(out, pm, cfg, ["budget.ltv_cac"], ["transactions", "spend", "users"]):
        return out
    df = pm.tables["budget.ltv_cac"]
    _narrate(out, "narr.ltv", cfg, ratio=_kpi(pm, "ltv_cac", cfg),
             horizon=cfg.revenue.ltv_horizon_months)
    out.html(data_table(df, [Col("channel", "col.channel", codes="spend_channel"),
                              Col("ltv", "col.ltv", "currency"),
                              Col("cac", "kpi.cac", "currency"),
                              Col("ltv_cac", "kpi.ltv_cac", "multiple")], lang,
                         currency=pm.currency, min_cell=cfg.thresholds.min_cell_users))
    return out

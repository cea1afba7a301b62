"""0. Summary (执行摘要): verdict, KPI tiles, top decisions, 活动概述, targets vs actuals."""

from __future__ import annotations

from markupsafe import escape

from review.config import Params
from review.kpis import HEADLINE_KPIS
from review.metrics import plan as plan_rules
from review.metrics.result import PeriodMetrics
from review.report import plan as plan_view
from review.report.blocks._base import (
    Block,
    _findings_list,
    _fmt,
    _immature_note,
    _kpi,
    _lang,
    _narrate,
)
from review.report.findings import actionable
from review.report.i18n import join_list, t
from review.report.summary import NEEDS_TABLE, summary_tiles, tile_kpis
from review.report.tables import (
    Col,
    data_table,
)


def report_header(pm: PeriodMetrics, cfg: Params) -> Block:
    """The summary's heading with the period and the comparison period.

    The report's title itself is the page's (``render`` puts it above the contents).
    """
    out = Block("report_header")
    lang = _lang(cfg)
    out.heading("section.summary", lang, level=2)
    period = t("report.period", lang, start=pm.start, end=pm.end)
    comparison = t("report.comparison", lang, start=pm.compare_start, end=pm.compare_end)
    out.html(f'<p class="period">{escape(period)}<br>{escape(comparison)}</p>')
    return out

def overview(pm: PeriodMetrics, cfg: Params) -> Block:
    """活动概述: campaigns in scope (participants in P and to date, labelled), customers
    covered (distinct treated people, 人; person-campaigns 人次), headline volumes (all
    channels, labelled)."""
    out = Block("overview")
    lang = _lang(cfg)
    out.heading("block.overview", lang, level=3)
    summary = pm.tables.get("campaigns.summary")
    cov = pm.tables.get("campaigns.coverage")
    campaigns = len(summary) if summary is not None else 0
    people = cov.iloc[0] if cov is not None and len(cov) else None
    _narrate(out, "narr.overview", cfg, campaigns=campaigns,
             covered=_fmt(people["people_period"] if people is not None else None,
                          "count", pm, cfg),
             person_campaigns=_fmt(people["person_campaigns_period"]
                                   if people is not None else None, "count", pm, cfg),
             covered_to_date=_fmt(people["people_to_date"] if people is not None else None,
                                  "count", pm, cfg),
             new_users=_kpi(pm, "new_users", cfg), active=_kpi(pm, "active_users", cfg),
             transactions=_kpi(pm, "transactions", cfg), gmv=_kpi(pm, "gmv", cfg))
    if summary is None:
        out.unavailable([tb for tb in ("campaigns", "assignments") if tb in pm.missing_tables]
                         or ["campaigns", "assignments"], lang)
        return out
    if summary.empty:
        out.note("narr.no_campaigns", lang)
        return out
    out.html(data_table(summary, [
        Col("name", "col.campaign"), Col("start", "col.start", "date"),
        Col("end", "col.end", "date"), Col("target_segment", "col.segment", codes="segment"),
        Col("users_period", "col.participants_period", "count"),
        Col("users_to_date", "col.participants_to_date", "count"),
        Col("participation_rate", "col.participation_rate", "ratio"),
        Col("cohort_rate", "col.cohort_rate", "ratio"),
        Col("incremental_conversions", "col.incremental_conversions", "number"),
        Col("cost_period", "col.cost_period", "currency"),
        Col("roi_period", "col.roi_period", "ratio"),
        Col("roi_projected", "col.roi_projected", "ratio")], lang, currency=pm.currency,
        min_cell=cfg.thresholds.min_cell_users, labels=cfg.labels))
    _immature_note(out, summary, cfg)
    return out


def kpi_tiles(pm: PeriodMetrics, cfg: Params) -> Block:
    """The verdict in one sentence, then the headline KPI tiles: value, status with its
    symbol, target, change coloured by direction ("≈ flat" within noise), 12-month line."""
    out = Block("kpi_tiles")
    lang = _lang(cfg)
    verdict = plan_view.assessment_sentence(plan_rules.assess(pm.kpis.values()), lang)
    out.html(f'<p class="verdict">{escape(verdict)}</p>')
    out.heading("block.kpi_tiles", lang, level=3)
    tiles, left_out = tile_kpis(pm.kpis, HEADLINE_KPIS)
    out.html(summary_tiles(tiles, lang, currency=pm.currency, tables=pm.tables))
    if left_out:
        tables = sorted({tb.strip() for k in left_out
                         for tb in (k.note or "")[len(NEEDS_TABLE):].split(",")})
        out.note("summary.tiles_left_out", lang, n=len(left_out),
                 kpis=join_list([t(f"kpi.{k.key}", lang) for k in left_out], lang),
                 tables=join_list(tables, lang))
    return out

def top_findings(pm: PeriodMetrics, cfg: Params, *, n: int = 3) -> Block:
    """The top ``n`` decisions: what to do (with its size and expected effect) and why."""
    out = Block("top_findings")
    out.heading("block.top_decisions", cfg.lang, level=3)
    _findings_list(out, actionable(pm, cfg.lang)[:n], cfg, details=True, decisions=True)
    return out


"""2. Goals (目标设定): goal trends against their targets."""

from __future__ import annotations

from review.config import Params
from review.metrics.result import PeriodMetrics
from review.report import charts
from review.report.blocks._base import (
    Block,
    _foot,
    _lang,
    _month_label,
    _narrate,
)
from review.report.i18n import t
from review.report.tables import (
    kpi_table,
)


def targets_table(pm: PeriodMetrics, cfg: Params) -> Block:
    """Every KPI with a target: value, target, attainment, RAG, comparison and change."""
    out = Block("targets_table")
    lang = _lang(cfg)
    out.heading("block.targets", lang, level=3)
    with_target = [k for k in pm.kpis.values() if k.target is not None]
    counts = {r: sum(k.rag == r for k in with_target) for r in ("green", "amber", "red")}
    _narrate(out, "narr.targets", cfg, n=len(with_target), **counts)
    out.html(kpi_table(with_target, lang, currency=pm.currency))
    others = [k for k in pm.kpis.values() if k.target is None]
    if others:
        out.heading("block.other_kpis", lang, level=3)
        out.html(kpi_table(others, lang, currency=pm.currency))
    return out

def goal_trends(pm: PeriodMetrics, cfg: Params) -> Block:
    """12-month trends of the activity, reactivation and NPS goals against their targets."""
    out = Block("goal_trends")
    lang = _lang(cfg)
    out.heading("block.goal_trends", lang, level=3)
    series = [("activity.trend", "mau_ratio", "ratio", "events"),
              ("lifecycle.trend", "reactivation_rate", "ratio", "events"),
              ("satisfaction.nps_trend", "nps", "points", "surveys")]
    for table, key, unit, source in series:
        if table not in pm.tables:
            out.unavailable([source], lang)
            continue
        df = _month_label(pm.tables[table])
        target = pm.kpis[key].target if key in pm.kpis else None
        out.chart(charts.trend(df, "month", key, target=target,
                                title=t(f"kpi.{key}", lang), xlabel=t("col.month", lang),
                                ylabel=t(f"unit.{unit}", lang), footnote=_foot(pm, cfg, source),
                                lang=lang, y_unit=unit, target_label=t("chart.target", lang)))
    return out

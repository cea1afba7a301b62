"""The report's blocks: one function per block of the outline (README.md, "What you get").

Notebook cells call these, one per block: ``blocks.user_base(pm, cfg)``. Each block reads the
period's :class:`~review.metrics.result.PeriodMetrics` (never raw data), and displays a
heading, a short narrative built from the numbers, charts and tables, all in ``cfg.lang``
through the i18n catalog (keys ``block.*``, ``narr.*``, ``title.*``). A block whose breakdown
tables are missing displays "not available: needs table …" and the notebook goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
from markupsafe import escape

from review.config import Params
from review.data.contract import SEGMENTS
from review.kpis import HEADLINE_KPIS, KPI_CATALOG
from review.metrics import plan as plan_rules
from review.metrics.result import KpiValue, PeriodMetrics
from review.report import appendix, charts, show
from review.report import plan as plan_view
from review.report.findings import actionable
from review.report.i18n import code_label, join_list, t
from review.report.summary import summary_tiles
from review.report.tables import (
    Col,
    data_table,
    format_change,
    format_value,
    kpi_table,
    translate_codes,
)
from review.report.theme import apply_theme

apply_theme()


# -- helpers ---------------------------------------------------------------------------------
def _lang(cfg: Params) -> str:
    return cfg.lang


def _fmt(value: float | None, unit: str, pm: PeriodMetrics, cfg: Params) -> str:
    return format_value(value, unit, cfg.lang, currency=pm.currency)


def _kpi(pm: PeriodMetrics, key: str, cfg: Params) -> str:
    k = pm.kpis.get(key)
    return _fmt(k.value if k else None, KPI_CATALOG[key].unit, pm, cfg)


def _change(pm: PeriodMetrics, key: str, cfg: Params) -> str:
    k = pm.kpis.get(key)
    if k is None:
        return format_change(None, None, KPI_CATALOG[key].unit, cfg.lang)
    return format_change(k.change_abs, k.change_rel, k.unit, cfg.lang, currency=pm.currency)


def _foot(pm: PeriodMetrics, cfg: Params, *tables: str) -> str:
    return t("report.source_note", cfg.lang, source=join_list(tables, cfg.lang),
             period=f"{pm.start} – {pm.end}")


def _available(pm: PeriodMetrics, cfg: Params, keys: Sequence[str],
               tables: Sequence[str]) -> bool:
    """True when every breakdown in ``keys`` exists and has rows; else show a note.

    A missing breakdown means the source lacks a table ("not available: needs table …"); an
    empty one means the period has no such activity ("no data for this period").
    """
    if not all(k in pm.tables for k in keys):
        missing = [tb for tb in tables if tb in pm.missing_tables] or list(tables)
        show.unavailable(missing, cfg.lang)
        return False
    if any(pm.tables[k].empty for k in keys):
        show.note("narr.no_data", cfg.lang)
        return False
    return True


def _narrate(template: str, cfg: Params, **fmt: object) -> None:
    # the values may come from the data (campaign names, regions…): shown as text, never markup
    show.html(f'<p class="narrative">{escape(t(template, cfg.lang, **fmt))}</p>')


def _suppression_note(df: pd.DataFrame, cfg: Params) -> None:
    if "suppressed" in df and df["suppressed"].fillna(False).astype(bool).any():
        show.note("report.suppressed", cfg.lang, k=cfg.thresholds.min_cell_users)


def _kpis(pm: PeriodMetrics, keys: Sequence[str]) -> list[KpiValue]:
    return [pm.kpis[k] for k in keys if k in pm.kpis]


def _month_label(df: pd.DataFrame, column: str = "month") -> pd.DataFrame:
    return df.assign(**{column: pd.to_datetime(df[column])})


# -- 0. summary ------------------------------------------------------------------------------
def report_header(pm: PeriodMetrics, cfg: Params) -> None:
    """The summary's heading with the period and the comparison period.

    The report's title itself is the page's (``render`` puts it above the contents).
    """
    lang = _lang(cfg)
    show.heading("section.summary", lang, level=2)
    period = t("report.period", lang, start=pm.start, end=pm.end)
    comparison = t("report.comparison", lang, start=pm.compare_start, end=pm.compare_end)
    show.html(f'<p class="period">{escape(period)}<br>{escape(comparison)}</p>')


def overview(pm: PeriodMetrics, cfg: Params) -> None:
    """活动概述: campaigns in scope (participants in P and to date, labelled), customers
    covered (distinct treated people, 人; person-campaigns 人次), headline volumes (all
    channels, labelled)."""
    lang = _lang(cfg)
    show.heading("block.overview", lang, level=3)
    summary = pm.tables.get("campaigns.summary")
    cov = pm.tables.get("campaigns.coverage")
    campaigns = len(summary) if summary is not None else 0
    people = cov.iloc[0] if cov is not None and len(cov) else None
    _narrate("narr.overview", cfg, campaigns=campaigns,
             covered=_fmt(people["people_period"] if people is not None else None,
                          "count", pm, cfg),
             person_campaigns=_fmt(people["person_campaigns_period"]
                                   if people is not None else None, "count", pm, cfg),
             covered_to_date=_fmt(people["people_to_date"] if people is not None else None,
                                  "count", pm, cfg),
             new_users=_kpi(pm, "new_users", cfg), active=_kpi(pm, "active_users", cfg),
             transactions=_kpi(pm, "transactions", cfg), gmv=_kpi(pm, "gmv", cfg))
    if summary is None:
        show.unavailable([tb for tb in ("campaigns", "assignments") if tb in pm.missing_tables]
                         or ["campaigns", "assignments"], lang)
        return
    if summary.empty:
        show.note("narr.no_campaigns", lang)
        return
    show.html(data_table(summary, [
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
    _immature_note(summary, cfg)


def _immature_note(df: pd.DataFrame, cfg: Params) -> None:
    if "immature" in df and df["immature"].fillna(False).astype(bool).any():
        show.note("narr.immature", cfg.lang, days=cfg.thresholds.conversion_window_days)


def kpi_tiles(pm: PeriodMetrics, cfg: Params) -> None:
    """The verdict in one sentence, then the headline KPI tiles: value, status with its
    symbol, target, change coloured by direction ("≈ flat" within noise), 12-month line."""
    lang = _lang(cfg)
    verdict = plan_view.assessment_sentence(plan_rules.assess(pm.kpis.values()), lang)
    show.html(f'<p class="verdict">{escape(verdict)}</p>')
    show.heading("block.kpi_tiles", lang, level=3)
    show.html(summary_tiles(_kpis(pm, HEADLINE_KPIS), lang, currency=pm.currency,
                            tables=pm.tables))


def top_findings(pm: PeriodMetrics, cfg: Params, *, n: int = 3) -> None:
    """The top ``n`` decisions: what to do (with its size and expected effect) and why."""
    show.heading("block.top_decisions", cfg.lang, level=3)
    _findings_list(actionable(pm, cfg.lang)[:n], cfg, details=True, decisions=True)


def _findings_list(items: Sequence, cfg: Params, *, details: bool,
                   decisions: bool = False) -> None:
    lang = cfg.lang
    if not items:
        show.note("narr.no_findings", lang)
        return
    rows = []
    for f in items:  # titles and evidence quote the data (campaign names…): escaped
        sev = escape(t(f"severity.{f.severity}", lang))
        body = f"<strong>{escape(f.title)}</strong> — {escape(f.evidence)}"
        if decisions:  # what to do first, then why
            body = (f'<strong class="action">{escape(f.action)}</strong><br>'
                    f'<span class="why">{escape(t("finding.why", lang))}: '
                    f"{escape(f.title)} — {escape(f.evidence)}</span>")
        elif details:
            body += (f'<br><span class="action">{escape(t("finding.suggestion", lang))}: '
                     f'{escape(f.action)}</span>')
        rows.append(f'<li class="finding sev-{escape(f.severity)}"><span class="sev">{sev}</span> '
                    f'{body}</li>')
    show.html(f'<ol class="findings">{"".join(rows)}</ol>')


# -- 1. market analysis ----------------------------------------------------------------------
def section_title(section: str, pm: PeriodMetrics, cfg: Params) -> None:
    """The section's heading (the TOC's top level)."""
    show.heading(f"section.{section}", cfg.lang, level=2)


def user_base(pm: PeriodMetrics, cfg: Params) -> None:
    """User base and growth: registered base and new users over 12 months, by channel."""
    lang = _lang(cfg)
    show.heading("block.user_base", lang, level=3)
    if not _available(pm, cfg, ["acquisition.trend", "acquisition.new_by_channel"], ["users"]):
        return
    by_channel = pm.tables["acquisition.new_by_channel"].sort_values("new_users",
                                                                     ascending=False)
    top = by_channel.iloc[0] if len(by_channel) else None
    _narrate("narr.user_base", cfg, base=_kpi(pm, "registered_base", cfg),
             new=_kpi(pm, "new_users", cfg), change=_change(pm, "new_users", cfg),
             channel=code_label("acquisition_channel", top["acquisition_channel"], lang)
             if top is not None else "—",
             share=_fmt(top["share"] if top is not None else None, "ratio", pm, cfg))
    trend = _month_label(pm.tables["acquisition.trend"])
    target = pm.kpis["new_users"].target if "new_users" in pm.kpis else None
    show.chart(charts.trend(trend, "month", "new_users", target=target,
                            title=t("title.new_users_trend", lang), xlabel=t("col.month", lang),
                            ylabel=t("col.users", lang), footnote=_foot(pm, cfg, "users"),
                            lang=lang, y_unit="count", target_label=t("chart.target", lang)))
    df = translate_codes(by_channel, "acquisition_channel", lang)
    show.chart(charts.bars(df, "acquisition_channel", "new_users", horizontal=True,
                           value_format="count", title=t("title.new_by_channel", lang),
                           xlabel=t("col.channel", lang), ylabel=t("col.users", lang),
                           footnote=_foot(pm, cfg, "users"), lang=lang))


def segment_mix(pm: PeriodMetrics, cfg: Params) -> None:
    """Segment and age-band mix of the registered base."""
    lang = _lang(cfg)
    show.heading("block.segment_mix", lang, level=3)
    keys = ["acquisition.base_by_segment", "acquisition.base_by_age_band"]
    if not _available(pm, cfg, keys, ["users"]):
        return
    seg = pm.tables["acquisition.base_by_segment"]
    age = pm.tables["acquisition.base_by_age_band"]
    show.html(data_table(seg, [Col("segment", "col.segment"), Col("users", "col.users", "count"),
                               Col("share", "col.share", "ratio")], lang,
                         currency=pm.currency, min_cell=cfg.thresholds.min_cell_users))
    show.chart(charts.bars(age, "age_band", "share", value_format="ratio",
                           title=t("title.age_mix", lang), xlabel=t("col.age_band", lang),
                           ylabel=t("col.share", lang), footnote=_foot(pm, cfg, "users"),
                           lang=lang))
    _suppression_note(pd.concat([seg, age]), cfg)


def channel_preference(pm: PeriodMetrics, cfg: Params) -> None:
    """Channel preference: mobile share of transactions by age band and its 12-month trend."""
    lang = _lang(cfg)
    show.heading("block.channel_preference", lang, level=3)
    keys = ["value.channel_preference_by_age", "value.mobile_share_trend", "value.by_channel"]
    if not _available(pm, cfg, keys, ["transactions", "users"]):
        return
    pref = pm.tables["value.channel_preference_by_age"]
    _narrate("narr.channel_preference", cfg, share=_kpi(pm, "mobile_share", cfg),
             change=_change(pm, "mobile_share", cfg))
    show.chart(charts.bars(pref, "age_band", "mobile_share", value_format="ratio",
                           title=t("title.mobile_by_age", lang), xlabel=t("col.age_band", lang),
                           ylabel=t("col.share", lang),
                           footnote=_foot(pm, cfg, "transactions", "users"), lang=lang))
    trend = _month_label(pm.tables["value.mobile_share_trend"])
    target = pm.kpis["mobile_share"].target if "mobile_share" in pm.kpis else None
    show.chart(charts.trend(trend, "month", "mobile_share", target=target,
                            title=t("title.mobile_share_trend", lang),
                            xlabel=t("col.month", lang), ylabel=t("col.share", lang),
                            footnote=_foot(pm, cfg, "transactions"), lang=lang, y_unit="ratio",
                            target_label=t("chart.target", lang)))
    show.html(data_table(pm.tables["value.by_channel"],
                         [Col("channel", "col.channel", codes="txn_channel"),
                          Col("transactions", "col.transactions", "count"),
                          Col("gmv", "col.amount", "currency"),
                          Col("share_transactions", "col.share", "ratio")], lang,
                         currency=pm.currency))
    _suppression_note(pref, cfg)


def functional_layering(pm: PeriodMetrics, cfg: Params) -> None:
    """Functional layering: feature usage rate by segment (users of f ÷ active users)."""
    lang = _lang(cfg)
    show.heading("block.functional_layering", lang, level=3)
    if not _available(pm, cfg, ["activity.feature_usage_by_segment"], ["events", "users"]):
        return
    df = pm.tables["activity.feature_usage_by_segment"]
    wide = df.pivot_table(index="feature", columns="segment", values="usage_rate",
                          aggfunc="first", dropna=False)
    wide = wide.reindex(columns=[s for s in SEGMENTS if s in wide.columns]
                        + [s for s in wide.columns if s not in SEGMENTS])
    long = df.assign(segment=df["segment"].map(lambda s: code_label("segment", s, lang)),
                     feature=df["feature"].map(lambda f: code_label("feature", f, lang)))
    show.chart(charts.cohort_heatmap(long, "feature", "segment", "usage_rate",
                                     title=t("title.feature_by_segment", lang),
                                     xlabel=t("col.segment", lang),
                                     ylabel=t("col.feature", lang),
                                     footnote=_foot(pm, cfg, "events", "users"), lang=lang))
    if "hnw" in wide.columns and "wealth" in wide.index:
        _narrate("narr.functional_layering", cfg,
                 hnw_wealth=_fmt(wide.loc["wealth", "hnw"], "ratio", pm, cfg),
                 all_wealth=_fmt(wide.loc["wealth"].mean(), "ratio", pm, cfg))
    _suppression_note(df, cfg)


def logins_and_light_ops(pm: PeriodMetrics, cfg: Params) -> None:
    """Logins per active day, stickiness and the share of light operations."""
    lang = _lang(cfg)
    show.heading("block.logins_light_ops", lang, level=3)
    if not _available(pm, cfg, ["activity.dau", "activity.light_ops"], ["events"]):
        return
    _narrate("narr.logins_light_ops", cfg, logins=_kpi(pm, "logins_per_active_day", cfg),
             stickiness=_kpi(pm, "stickiness", cfg), light=_kpi(pm, "light_op_share", cfg))
    show.html(kpi_table(_kpis(pm, ["active_users", "mau_ratio", "stickiness",
                                   "logins_per_active_day", "light_op_share"]), lang,
                        currency=pm.currency))
    dau = pm.tables["activity.dau"].assign(date=lambda d: pd.to_datetime(d["date"]))
    show.chart(charts.trend(dau, "date", "dau", title=t("title.dau", lang),
                            xlabel=t("col.date", lang), ylabel=t("col.users", lang),
                            footnote=_foot(pm, cfg, "events"), lang=lang, y_unit="count"))
    ops = translate_codes(pm.tables["activity.light_ops"].sort_values("share", ascending=False),
                          "feature", lang)
    show.chart(charts.bars(ops, "feature", "share", horizontal=True, value_format="ratio",
                           title=t("title.feature_events", lang), xlabel=t("col.feature", lang),
                           ylabel=t("col.share", lang), footnote=_foot(pm, cfg, "events"),
                           lang=lang))


def security(pm: PeriodMetrics, cfg: Params) -> None:
    """Security: biometric adoption by age band and abnormal (risk-flagged) logins."""
    lang = _lang(cfg)
    show.heading("block.security", lang, level=3)
    if not _available(pm, cfg, ["risk.biometric_by_age"], ["events", "users"]):
        return
    bio = pm.tables["risk.biometric_by_age"]
    _narrate("narr.security", cfg, biometric=_kpi(pm, "biometric_share", cfg),
             abnormal=_kpi(pm, "abnormal_logins_per_10k", cfg))
    show.chart(charts.bars(bio, "age_band", "biometric_share", value_format="ratio",
                           title=t("title.biometric_by_age", lang),
                           xlabel=t("col.age_band", lang), ylabel=t("col.share", lang),
                           footnote=_foot(pm, cfg, "events", "users"), lang=lang))
    _suppression_note(bio, cfg)


def penetration(pm: PeriodMetrics, cfg: Params) -> None:
    """Regional penetration: registered users ÷ population by region and city tier."""
    lang = _lang(cfg)
    show.heading("block.penetration", lang, level=3)
    if not _available(pm, cfg, ["market.penetration_by_region"], ["regions", "users"]):
        return
    targets = {tier: pm.kpis[f"penetration_{tier}"].target for tier in ("key", "lower")
               if f"penetration_{tier}" in pm.kpis and pm.kpis[f"penetration_{tier}"].target}
    _narrate("narr.penetration", cfg, key_cities=_kpi(pm, "penetration_key", cfg),
             lower_tier=_kpi(pm, "penetration_lower", cfg))
    regions = translate_codes(pm.tables["market.penetration_by_region"], "region", lang,
                              labels=cfg.labels)
    show.chart(charts.penetration(regions, "region",
                                  "penetration", "city_tier", targets,
                                  title=t("title.penetration", lang),
                                  xlabel=t("col.region", lang), ylabel=t("col.penetration", lang),
                                  footnote=_foot(pm, cfg, "users", "regions"), lang=lang))


def benchmarks(pm: PeriodMetrics, cfg: Params) -> None:
    """External benchmarks typed in by analysts, with our own value beside where comparable."""
    lang = _lang(cfg)
    show.heading("block.benchmarks", lang, level=3)
    if not _available(pm, cfg, ["market.benchmarks"], ["benchmarks"]):
        return
    df = pm.tables["market.benchmarks"]
    if df.empty:
        show.note("narr.no_benchmarks", lang)
        return
    show.html(data_table(df, [Col("period", "col.period"), Col("source", "col.source"),
                              Col("metric", "col.metric", codes="benchmark_metric"),
                              Col("subject", "col.subject"),
                              Col("value", "col.value", "number"),
                              Col("own_value", "col.own_value", "number")], lang,
                         currency=pm.currency, labels=cfg.labels))


# -- 2. goals --------------------------------------------------------------------------------
def targets_table(pm: PeriodMetrics, cfg: Params) -> None:
    """Every KPI with a target: value, target, attainment, RAG, comparison and change."""
    lang = _lang(cfg)
    show.heading("block.targets", lang, level=3)
    with_target = [k for k in pm.kpis.values() if k.target is not None]
    counts = {r: sum(k.rag == r for k in with_target) for r in ("green", "amber", "red")}
    _narrate("narr.targets", cfg, n=len(with_target), **counts)
    show.html(kpi_table(with_target, lang, currency=pm.currency))
    others = [k for k in pm.kpis.values() if k.target is None]
    if others:
        show.heading("block.other_kpis", lang, level=3)
        show.html(kpi_table(others, lang, currency=pm.currency))


def goal_trends(pm: PeriodMetrics, cfg: Params) -> None:
    """12-month trends of the activity, reactivation and NPS goals against their targets."""
    lang = _lang(cfg)
    show.heading("block.goal_trends", lang, level=3)
    series = [("activity.trend", "mau_ratio", "ratio", "events"),
              ("lifecycle.trend", "reactivation_rate", "ratio", "events"),
              ("satisfaction.nps_trend", "nps", "points", "surveys")]
    for table, key, unit, source in series:
        if table not in pm.tables:
            show.unavailable([source], lang)
            continue
        df = _month_label(pm.tables[table])
        target = pm.kpis[key].target if key in pm.kpis else None
        show.chart(charts.trend(df, "month", key, target=target,
                                title=t(f"kpi.{key}", lang), xlabel=t("col.month", lang),
                                ylabel=t(f"unit.{unit}", lang), footnote=_foot(pm, cfg, source),
                                lang=lang, y_unit=unit, target_label=t("chart.target", lang)))


# -- 3. execution ----------------------------------------------------------------------------
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


def milestones(pm: PeriodMetrics, cfg: Params) -> None:
    """Milestones planned vs actual (from the parameters), with the delay in days."""
    lang = _lang(cfg)
    show.heading("block.milestones", lang, level=3)
    if not cfg.milestones:
        show.note("narr.no_milestones", lang)
        return
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
    _narrate("narr.milestones", cfg, n=len(rows), late=late)
    show.html(data_table(df, [Col("milestone", "col.milestone"),
                              Col("planned", "col.planned_date"),
                              Col("actual", "col.actual_date"),
                              Col("delay_days", "col.delay_days", "number"),
                              Col("status", "col.status")], lang, labels=cfg.labels))


def campaign_reach(pm: PeriodMetrics, cfg: Params) -> None:
    """Campaign results by variant and touch channel: participants in P and to date, cohort
    conversion rate (immature marked), conversions in P, incremental conversions (95 %)."""
    lang = _lang(cfg)
    show.heading("block.campaign_reach", lang, level=3)
    keys = ["campaigns.by_variant", "campaigns.by_touch"]
    if not _available(pm, cfg, keys, ["campaigns", "assignments"]):
        return
    df = pm.tables["campaigns.by_variant"]
    show.html(data_table(df, [
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
    _immature_note(df, cfg)
    touch = pm.tables["campaigns.by_touch"]
    touch = touch[touch["variant"] != "control"]
    if touch["users_period"].fillna(0).sum() > 0:
        touch = translate_codes(touch, "touch_channel", lang)
        show.chart(charts.bars(touch, "touch_channel", "cohort_rate", hue="campaign_id",
                               value_format="ratio", title=t("title.conversion_by_touch", lang),
                               xlabel=t("col.channel", lang), ylabel=t("col.cohort_rate", lang),
                               footnote=_foot(pm, cfg, "assignments"), lang=lang))
    if "campaigns.trend" in pm.tables:
        tr = _month_label(pm.tables["campaigns.trend"])
        long = pd.concat([
            tr.assign(series=t("col.participants_month", lang), value=tr["participants"]),
            tr.assign(series=t("col.conversions_month", lang), value=tr["conversions"])])
        show.chart(charts.trend(long, "month", "value", hue="series",
                                title=t("title.campaign_trend", lang),
                                xlabel=t("col.month", lang), ylabel=t("col.users", lang),
                                footnote=_foot(pm, cfg, "assignments"), lang=lang,
                                y_unit="count"))
    _suppression_note(pd.concat([df, touch]), cfg)


def delivery_by_channel(pm: PeriodMetrics, cfg: Params) -> None:
    """Delivery by channel: spend, impressions, clicks and cost per click."""
    lang = _lang(cfg)
    show.heading("block.delivery", lang, level=3)
    if not _available(pm, cfg, ["budget.by_channel"], ["spend"]):
        return
    df = pm.tables["budget.by_channel"]
    show.html(data_table(df, [Col("channel", "col.channel", codes="spend_channel"),
                              Col("amount", "col.amount", "currency"),
                              Col("share", "col.share", "ratio"),
                              Col("impressions", "col.impressions", "count"),
                              Col("clicks", "col.clicks", "count"),
                              Col("ctr", "col.ctr", "ratio"),
                              Col("cost_per_click", "col.cpc", "currency")], lang,
                         currency=pm.currency))


def stability(pm: PeriodMetrics, cfg: Params) -> None:
    """Stability: crash rate and mobile transaction failures by day, with control limits."""
    lang = _lang(cfg)
    show.heading("block.stability", lang, level=3)
    _narrate("narr.stability", cfg, crash=_kpi(pm, "crash_per_1k_logins", cfg),
             failure=_kpi(pm, "failure_rate", cfg))
    _control(pm, cfg, "risk.crash_daily", "title.crash_daily", "per_1k", "events")
    _control(pm, cfg, "risk.failure_daily", "title.failure_daily", "ratio", "transactions")


def _control(pm: PeriodMetrics, cfg: Params, table: str, title: str, unit: str,
             source: str) -> None:
    lang = cfg.lang
    if not _available(pm, cfg, [table], [source]):
        return
    df = pm.tables[table].assign(date=lambda d: pd.to_datetime(d["date"]))
    show.chart(charts.control_chart(df, "date", "rate", "centre", "ucl", "flagged",
                                    title=t(title, lang), xlabel=t("col.date", lang),
                                    ylabel=t(f"unit.{unit}", lang),
                                    footnote=_foot(pm, cfg, source), lang=lang, lcl="lcl",
                                    y_unit=unit))


# -- 4. budget -------------------------------------------------------------------------------
def budget_plan_vs_actual(pm: PeriodMetrics, cfg: Params) -> None:
    """Plan vs actual by spend category, with variance."""
    lang = _lang(cfg)
    show.heading("block.plan_vs_actual", lang, level=3)
    if not _available(pm, cfg, ["budget.plan_vs_actual"], ["spend"]):
        return
    df = pm.tables["budget.plan_vs_actual"]
    _narrate("narr.budget", cfg, actual=_fmt(df["actual"].sum(), "currency", pm, cfg),
             planned=_fmt(df["planned"].sum(), "currency", pm, cfg),
             execution=_kpi(pm, "budget_execution", cfg))
    show.chart(charts.plan_vs_actual(translate_codes(df, "category", lang, codes="spend_category"),
                                     "category", "planned", "actual",
                                     title=t("title.plan_vs_actual", lang),
                                     xlabel=t("col.category", lang), ylabel=t("col.amount", lang),
                                     footnote=_foot(pm, cfg, "spend"), lang=lang,
                                     currency=pm.currency))
    show.html(data_table(df, [Col("category", "col.category", codes="spend_category"),
                              Col("planned", "col.plan", "currency"),
                              Col("actual", "col.actual", "currency"),
                              Col("variance", "col.variance", "currency"),
                              Col("execution", "col.execution", "ratio")], lang,
                         currency=pm.currency))
    money_bridge(pm, cfg)


def money_bridge(pm: PeriodMetrics, cfg: Params) -> None:
    """Spend of P by category × channel × campaign: one total behind every spend view, and
    what the ``internal`` channel is."""
    lang = _lang(cfg)
    if "budget.money_bridge" not in pm.tables or pm.tables["budget.money_bridge"].empty:
        return
    df = pm.tables["budget.money_bridge"].copy()
    df["campaign_id"] = df["campaign_id"].where(df["campaign_id"].notna(),
                                                t("col.unattributed", lang))
    total = pd.DataFrame([{"category": t("col.total", lang), "channel": "", "campaign_id": "",
                           "amount": df["amount"].sum(), "share": 1.0}])
    show.heading("block.money_bridge", lang, level=4)
    _narrate("narr.money_bridge", cfg, total=_fmt(df["amount"].sum(), "currency", pm, cfg))
    show.html(data_table(pd.concat([df, total], ignore_index=True), [
        Col("category", "col.category", codes="spend_category"),
        Col("channel", "col.channel", codes="spend_channel"),
        Col("campaign_id", "col.campaign"), Col("amount", "col.amount", "currency"),
        Col("share", "col.share", "ratio")], lang, currency=pm.currency))


def burn_down(pm: PeriodMetrics, cfg: Params) -> None:
    """Cumulative spend against the linear plan over the period."""
    lang = _lang(cfg)
    show.heading("block.burn_down", lang, level=3)
    if not _available(pm, cfg, ["budget.burn_down"], ["spend"]):
        return
    df = pm.tables["budget.burn_down"].assign(date=lambda d: pd.to_datetime(d["date"]))
    show.chart(charts.burn_down(df, "date", "cumulative", "planned_cumulative",
                                title=t("title.burn_down", lang), xlabel=t("col.date", lang),
                                ylabel=t("col.amount", lang), footnote=_foot(pm, cfg, "spend"),
                                lang=lang, currency=pm.currency,
                                total=cfg.budget.total if cfg.budget else None))


def cac(pm: PeriodMetrics, cfg: Params) -> None:
    """Customer acquisition cost by channel, ranked; channels far above the median flagged."""
    lang = _lang(cfg)
    show.heading("block.cac", lang, level=3)
    if not _available(pm, cfg, ["budget.cac"], ["spend", "users"]):
        return
    df = pm.tables["budget.cac"]
    _narrate("narr.cac", cfg, cac=_kpi(pm, "cac", cfg), change=_change(pm, "cac", cfg),
             all_in=_kpi(pm, "cac_all_in", cfg))
    show.html(kpi_table(_kpis(pm, ["cac", "cac_all_in"]), lang, currency=pm.currency))
    show.chart(charts.bars(translate_codes(df, "channel", lang, codes="spend_channel"),
                           "channel", "cac", horizontal=True, value_format="currency",
                           title=t("title.cac", lang), xlabel=t("col.channel", lang),
                           ylabel=t("kpi.cac", lang), footnote=_foot(pm, cfg, "spend", "users"),
                           lang=lang, currency=pm.currency))
    show.html(data_table(df, [Col("channel", "col.channel", codes="spend_channel"),
                              Col("spend", "col.amount", "currency"),
                              Col("new_users", "col.users", "count"),
                              Col("cac", "kpi.cac", "currency"),
                              Col("vs_median", "col.vs_median", "multiple")], lang,
                         currency=pm.currency, min_cell=cfg.thresholds.min_cell_users))


def campaign_roi(pm: PeriodMetrics, cfg: Params) -> None:
    """Campaign ROI in the period and projected (with payback month), per campaign and
    variant, from the same value function as LTV (transaction + AUM margin)."""
    lang = _lang(cfg)
    show.heading("block.roi", lang, level=3)
    if not _available(pm, cfg, ["campaigns.by_variant"], ["campaigns", "assignments"]):
        return
    df = pm.tables["campaigns.by_variant"]
    df = df[df["variant"] != "control"]
    _narrate("narr.roi", cfg, roi=_kpi(pm, "campaign_roi", cfg),
             aum=_fmt(cfg.revenue.aum_margin_annual, "ratio", pm, cfg),
             horizon=cfg.revenue.ltv_horizon_months)
    show.html(data_table(df, [
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


def ltv(pm: PeriodMetrics, cfg: Params) -> None:
    """Projected LTV per acquisition channel and LTV ÷ CAC."""
    lang = _lang(cfg)
    show.heading("block.ltv", lang, level=3)
    if not _available(pm, cfg, ["budget.ltv_cac"], ["transactions", "spend", "users"]):
        return
    df = pm.tables["budget.ltv_cac"]
    _narrate("narr.ltv", cfg, ratio=_kpi(pm, "ltv_cac", cfg),
             horizon=cfg.revenue.ltv_horizon_months)
    show.html(data_table(df, [Col("channel", "col.channel", codes="spend_channel"),
                              Col("ltv", "col.ltv", "currency"),
                              Col("cac", "kpi.cac", "currency"),
                              Col("ltv_cac", "kpi.ltv_cac", "multiple")], lang,
                         currency=pm.currency, min_cell=cfg.thresholds.min_cell_users))


# -- 5. evaluation ---------------------------------------------------------------------------
def funnel(pm: PeriodMetrics, cfg: Params) -> None:
    """Registration → card bound → first mobile transaction, within the conversion window."""
    lang = _lang(cfg)
    show.heading("block.funnel", lang, level=3)
    if not _available(pm, cfg, ["funnel.steps"], ["users", "events", "transactions"]):
        return
    df = pm.tables["funnel.steps"]
    if not df["users"].fillna(0).iloc[0]:  # nobody registered in the period
        show.note("narr.no_data", lang)
        return
    _narrate("narr.funnel", cfg, conversion=_kpi(pm, "funnel_conversion", cfg),
             window=cfg.thresholds.conversion_window_days,
             change=_change(pm, "funnel_conversion", cfg))
    steps = df.assign(step=df["step"].map(lambda s: code_label("funnel_step", s, lang)))
    show.chart(charts.funnel(steps, "step", "users", title=t("title.funnel", lang),
                             xlabel=t("col.step", lang), ylabel=t("col.users", lang),
                             footnote=_foot(pm, cfg, "users", "events", "transactions"),
                             lang=lang))


def retention(pm: PeriodMetrics, cfg: Params) -> None:
    """Weekly cohort retention triangle and day-1/7/30 retention of the period's new users."""
    lang = _lang(cfg)
    show.heading("block.retention", lang, level=3)
    if not _available(pm, cfg, ["retention.cohorts", "retention.day_n"], ["users", "events"]):
        return
    cohorts = pm.tables["retention.cohorts"].assign(
        cohort_week=lambda d: pd.to_datetime(d["cohort_week"]).dt.strftime("%m-%d"))
    show.chart(charts.cohort_heatmap(cohorts, "cohort_week", "week", "retention",
                                     title=t("title.cohorts", lang), xlabel=t("col.week", lang),
                                     ylabel=t("col.cohort", lang),
                                     footnote=_foot(pm, cfg, "users", "events"), lang=lang))
    show.html(data_table(pm.tables["retention.day_n"],
                         [Col("day", "col.day", "number"),
                          Col("eligible_users", "col.users", "count"),
                          Col("retention", "col.rate", "ratio")], lang))


def experiments(pm: PeriodMetrics, cfg: Params) -> None:
    """Experiment readout per variant vs control: lift with 95% interval, Holm p, SRM."""
    lang = _lang(cfg)
    show.heading("block.experiments", lang, level=3)
    if not _available(pm, cfg, ["experiments.readout"], ["campaigns", "assignments"]):
        return
    df = pm.tables["experiments.readout"]
    if df.empty:
        show.note("narr.no_experiments", lang)
        return
    plot = df.assign(label=df["campaign_id"] + " " + df["variant"].astype(str))
    show.chart(charts.forest(plot, "label", "abs_lift", "abs_lo", "abs_hi",
                             title=t("title.experiments", lang), xlabel=t("col.lift", lang),
                             ylabel=t("col.variant", lang),
                             footnote=_foot(pm, cfg, "assignments"), lang=lang,
                             significant="significant"))
    show.html(data_table(df, [
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
    show.note("narr.experiments_to_date", lang, warn=f"{cfg.thresholds.srm_warn:g}",
              alert=f"{cfg.thresholds.srm_alert:g}")


def satisfaction(pm: PeriodMetrics, cfg: Params) -> None:
    """NPS with its 95% interval, complaints per 10k active users, by category."""
    lang = _lang(cfg)
    show.heading("block.satisfaction", lang, level=3)
    if not _available(pm, cfg, ["satisfaction.nps", "satisfaction.complaints_by_category"],
                      ["surveys", "complaints"]):
        return
    nps = pm.tables["satisfaction.nps"].iloc[0]
    comp = pm.tables["satisfaction.complaints"].iloc[0]
    _narrate("narr.satisfaction", cfg, nps=_fmt(nps["nps"], "points", pm, cfg),
             lo=_fmt(nps["lo"], "points", pm, cfg), hi=_fmt(nps["hi"], "points", pm, cfg),
             responses=_fmt(nps["responses"], "count", pm, cfg),
             complaints=_kpi(pm, "complaints_per_10k", cfg),
             hours=_fmt(comp["median_resolution_hours"], "number", pm, cfg))
    show.html(data_table(pm.tables["satisfaction.complaints_by_category"],
                         [Col("category", "col.category", codes="complaint_category"),
                          Col("tickets", "col.count", "count"),
                          Col("per_10k", "kpi.complaints_per_10k", "per_10k"),
                          Col("median_resolution_hours", "col.median_hours", "number")], lang))
    if "satisfaction.complaints_weekly" in pm.tables:
        wk = pm.tables["satisfaction.complaints_weekly"]
        wk = translate_codes(wk.assign(week_start=pd.to_datetime(wk["week_start"])), "category",
                             lang, codes="complaint_category")
        show.chart(charts.trend(wk, "week_start", "tickets", hue="category",
                                title=t("title.complaints_weekly", lang),
                                xlabel=t("col.week", lang), ylabel=t("col.count", lang),
                                footnote=_foot(pm, cfg, "complaints"), lang=lang,
                                y_unit="count"))


def risk_indicators(pm: PeriodMetrics, cfg: Params) -> None:
    """Risk indicators: abnormal logins per 10k by day with control limits."""
    lang = _lang(cfg)
    show.heading("block.risk", lang, level=3)
    show.html(kpi_table(_kpis(pm, ["failure_rate", "abnormal_logins_per_10k",
                                   "crash_per_1k_logins", "biometric_share"]), lang,
                        currency=pm.currency))
    _control(pm, cfg, "risk.abnormal_logins_daily", "title.abnormal_daily", "per_10k", "events")


def problems_and_suggestions(pm: PeriodMetrics, cfg: Params) -> None:
    """存在问题与优化建议: one finding per subject with its evidence and an action that names
    the subject, its size and the expected effect (:func:`review.report.findings.actionable`)."""
    show.heading("block.problems", cfg.lang, level=3)
    _findings_list(actionable(pm, cfg.lang), cfg, details=True)


def plan(pm: PeriodMetrics, cfg: Params) -> None:
    """总结与下期计划: assessment, what worked and what did not, the drafted next-period plan
    (:mod:`review.report.plan`), then the analyst's ``plan`` commentary."""
    show.html(plan_view.plan_html(pm.kpis, pm.tables, lang=_lang(cfg), currency=pm.currency,
                                  labels=cfg.labels))


# -- appendix --------------------------------------------------------------------------------
def data_quality(pm: PeriodMetrics, cfg: Params) -> None:
    """Validation warnings of the inputs and the contract tables the source lacks."""
    lang = _lang(cfg)
    show.heading("block.data_quality", lang, level=3)
    if pm.missing_tables:
        _narrate("narr.missing_tables", cfg, tables=join_list(pm.missing_tables, lang))
    if not pm.quality:
        show.note("narr.no_quality_issues", lang)
        return
    df = pd.DataFrame(pm.quality)
    cols = [c for c in ("table", "column", "rule", "severity", "count", "message") if c in df]
    show.html(data_table(df[cols], [Col(c, f"col.q_{c}", "count" if c == "count" else "text")
                                     for c in cols], lang))


def provenance(pm: PeriodMetrics, cfg: Params) -> None:
    """Parameters (credentials never resolved), input fingerprints, code and package versions.

    Read from ``pm.provenance``: what these very KPIs were computed from and with.
    """
    lang = _lang(cfg)
    show.heading("block.provenance", lang, level=3)
    if not pm.provenance:
        show.note("narr.no_provenance", lang)
        return
    prov = dict(pm.provenance)
    items = [Col("item", "col.key"), Col("value", "col.value")]
    show.html(data_table(appendix.params_frame(prov.get("params") or {}, lang), items, lang))
    show.html(data_table(appendix.provenance_frame(prov, lang), items, lang))
    tables = prov.get("tables") or {}
    if tables:
        df = appendix.fingerprints_frame(tables)
        show.html(data_table(df, [Col(c, f"col.fp_{c}" if c != "table" else "col.q_table",
                                      "count" if c == "rows" else "text") for c in df.columns],
                             lang))

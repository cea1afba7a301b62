"""1. Market analysis (市场分析): user base, mix, channels, activity, security, regions, benchmarks."""

from __future__ import annotations

import pandas as pd

from review.config import Params
from review.data.contract import SEGMENTS
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
    _month_label,
    _narrate,
    _suppression_note,
)
from review.report.i18n import code_label, t
from review.report.tables import (
    Col,
    data_table,
    kpi_table,
    translate_codes,
)


def user_base(pm: PeriodMetrics, cfg: Params) -> Block:
    """User base and growth: registered base and new users over 12 months, by channel."""
    out = Block("user_base")
    lang = _lang(cfg)
    out.heading("block.user_base", lang, level=3)
    if not _available(out, pm, cfg, ["acquisition.trend", "acquisition.new_by_channel"], ["users"]):
        return out
    by_channel = pm.tables["acquisition.new_by_channel"].sort_values("new_users",
                                                                     ascending=False)
    top = by_channel.iloc[0] if len(by_channel) else None
    _narrate(out, "narr.user_base", cfg, base=_kpi(pm, "registered_base", cfg),
             new=_kpi(pm, "new_users", cfg), change=_change(pm, "new_users", cfg),
             channel=code_label("acquisition_channel", top["acquisition_channel"], lang)
             if top is not None else "—",
             share=_fmt(top["share"] if top is not None else None, "ratio", pm, cfg))
    trend = _month_label(pm.tables["acquisition.trend"])
    target = pm.kpis["new_users"].target if "new_users" in pm.kpis else None
    out.chart(charts.trend(trend, "month", "new_users", target=target,
                            title=t("title.new_users_trend", lang), xlabel=t("col.month", lang),
                            ylabel=t("col.users", lang), footnote=_foot(pm, cfg, "users"),
                            lang=lang, y_unit="count", target_label=t("chart.target", lang)))
    df = translate_codes(by_channel, "acquisition_channel", lang)
    out.chart(charts.bars(df, "acquisition_channel", "new_users", horizontal=True,
                           value_format="count", title=t("title.new_by_channel", lang),
                           xlabel=t("col.channel", lang), ylabel=t("col.users", lang),
                           footnote=_foot(pm, cfg, "users"), lang=lang))
    return out

def segment_mix(pm: PeriodMetrics, cfg: Params) -> Block:
    """Segment and age-band mix of the registered base."""
    out = Block("segment_mix")
    lang = _lang(cfg)
    out.heading("block.segment_mix", lang, level=3)
    keys = ["acquisition.base_by_segment", "acquisition.base_by_age_band"]
    if not _available(out, pm, cfg, keys, ["users"]):
        return out
    seg = pm.tables["acquisition.base_by_segment"]
    age = pm.tables["acquisition.base_by_age_band"]
    out.html(data_table(seg, [Col("segment", "col.segment"), Col("users", "col.users", "count"),
                               Col("share", "col.share", "ratio")], lang,
                         currency=pm.currency, min_cell=cfg.thresholds.min_cell_users))
    out.chart(charts.bars(age, "age_band", "share", value_format="ratio",
                           title=t("title.age_mix", lang), xlabel=t("col.age_band", lang),
                           ylabel=t("col.share", lang), footnote=_foot(pm, cfg, "users"),
                           lang=lang))
    _suppression_note(out, pd.concat([seg, age]), cfg)
    return out

def channel_preference(pm: PeriodMetrics, cfg: Params) -> Block:
    """Channel preference: mobile share of transactions by age band and its 12-month trend."""
    out = Block("channel_preference")
    lang = _lang(cfg)
    out.heading("block.channel_preference", lang, level=3)
    keys = ["value.channel_preference_by_age", "value.mobile_share_trend", "value.by_channel"]
    if not _available(out, pm, cfg, keys, ["transactions", "users"]):
        return out
    pref = pm.tables["value.channel_preference_by_age"]
    _narrate(out, "narr.channel_preference", cfg, share=_kpi(pm, "mobile_share", cfg),
             change=_change(pm, "mobile_share", cfg))
    out.chart(charts.bars(pref, "age_band", "mobile_share", value_format="ratio",
                           title=t("title.mobile_by_age", lang), xlabel=t("col.age_band", lang),
                           ylabel=t("col.share", lang),
                           footnote=_foot(pm, cfg, "transactions", "users"), lang=lang))
    trend = _month_label(pm.tables["value.mobile_share_trend"])
    target = pm.kpis["mobile_share"].target if "mobile_share" in pm.kpis else None
    out.chart(charts.trend(trend, "month", "mobile_share", target=target,
                            title=t("title.mobile_share_trend", lang),
                            xlabel=t("col.month", lang), ylabel=t("col.share", lang),
                            footnote=_foot(pm, cfg, "transactions"), lang=lang, y_unit="ratio",
                            target_label=t("chart.target", lang)))
    out.html(data_table(pm.tables["value.by_channel"],
                         [Col("channel", "col.channel", codes="txn_channel"),
                          Col("transactions", "col.transactions", "count"),
                          Col("gmv", "col.amount", "currency"),
                          Col("share_transactions", "col.share", "ratio")], lang,
                         currency=pm.currency))
    _suppression_note(out, pref, cfg)
    return out

def functional_layering(pm: PeriodMetrics, cfg: Params) -> Block:
    """Functional layering: feature usage rate by segment (users of f ÷ active users)."""
    out = Block("functional_layering")
    lang = _lang(cfg)
    out.heading("block.functional_layering", lang, level=3)
    if not _available(out, pm, cfg, ["activity.feature_usage_by_segment"], ["events", "users"]):
        return out
    df = pm.tables["activity.feature_usage_by_segment"]
    wide = df.pivot_table(index="feature", columns="segment", values="usage_rate",
                          aggfunc="first", dropna=False)
    wide = wide.reindex(columns=[s for s in SEGMENTS if s in wide.columns]
                        + [s for s in wide.columns if s not in SEGMENTS])
    long = df.assign(segment=df["segment"].map(lambda s: code_label("segment", s, lang)),
                     feature=df["feature"].map(lambda f: code_label("feature", f, lang)))
    out.chart(charts.cohort_heatmap(long, "feature", "segment", "usage_rate",
                                     title=t("title.feature_by_segment", lang),
                                     xlabel=t("col.segment", lang),
                                     ylabel=t("col.feature", lang),
                                     footnote=_foot(pm, cfg, "events", "users"), lang=lang))
    if "hnw" in wide.columns and "wealth" in wide.index:
        _narrate(out, "narr.functional_layering", cfg,
                 hnw_wealth=_fmt(wide.loc["wealth", "hnw"], "ratio", pm, cfg),
                 all_wealth=_fmt(wide.loc["wealth"].mean(), "ratio", pm, cfg))
    _suppression_note(out, df, cfg)
    return out

def logins_and_light_ops(pm: PeriodMetrics, cfg: Params) -> Block:
    """Logins per active day, stickiness and the share of light operations."""
    out = Block("logins_and_light_ops")
    lang = _lang(cfg)
    out.heading("block.logins_light_ops", lang, level=3)
    if not _available(out, pm, cfg, ["activity.dau", "activity.light_ops"], ["events"]):
        return out
    _narrate(out, "narr.logins_light_ops", cfg, logins=_kpi(pm, "logins_per_active_day", cfg),
             stickiness=_kpi(pm, "stickiness", cfg), light=_kpi(pm, "light_op_share", cfg))
    out.html(kpi_table(_kpis(pm, ["active_users", "mau_ratio", "stickiness",
                                   "logins_per_active_day", "light_op_share"]), lang,
                        currency=pm.currency))
    dau = pm.tables["activity.dau"].assign(date=lambda d: pd.to_datetime(d["date"]))
    out.chart(charts.trend(dau, "date", "dau", title=t("title.dau", lang),
                            xlabel=t("col.date", lang), ylabel=t("col.users", lang),
                            footnote=_foot(pm, cfg, "events"), lang=lang, y_unit="count"))
    ops = translate_codes(pm.tables["activity.light_ops"].sort_values("share", ascending=False),
                          "feature", lang)
    out.chart(charts.bars(ops, "feature", "share", horizontal=True, value_format="ratio",
                           title=t("title.feature_events", lang), xlabel=t("col.feature", lang),
                           ylabel=t("col.share", lang), footnote=_foot(pm, cfg, "events"),
                           lang=lang))
    return out

def security(pm: PeriodMetrics, cfg: Params) -> Block:
    """Security: biometric adoption by age band and abnormal (risk-flagged) logins."""
    out = Block("security")
    lang = _lang(cfg)
    out.heading("block.security", lang, level=3)
    if not _available(out, pm, cfg, ["risk.biometric_by_age"], ["events", "users"]):
        return out
    bio = pm.tables["risk.biometric_by_age"]
    _narrate(out, "narr.security", cfg, biometric=_kpi(pm, "biometric_share", cfg),
             abnormal=_kpi(pm, "abnormal_logins_per_10k", cfg))
    out.chart(charts.bars(bio, "age_band", "biometric_share", value_format="ratio",
                           title=t("title.biometric_by_age", lang),
                           xlabel=t("col.age_band", lang), ylabel=t("col.share", lang),
                           footnote=_foot(pm, cfg, "events", "users"), lang=lang))
    _suppression_note(out, bio, cfg)
    return out

def penetration(pm: PeriodMetrics, cfg: Params) -> Block:
    """Regional penetration: registered users ÷ population by region and city tier."""
    out = Block("penetration")
    lang = _lang(cfg)
    out.heading("block.penetration", lang, level=3)
    if not _available(out, pm, cfg, ["market.penetration_by_region"], ["regions", "users"]):
        return out
    targets = {tier: pm.kpis[f"penetration_{tier}"].target for tier in ("key", "lower")
               if f"penetration_{tier}" in pm.kpis and pm.kpis[f"penetration_{tier}"].target}
    _narrate(out, "narr.penetration", cfg, key_cities=_kpi(pm, "penetration_key", cfg),
             lower_tier=_kpi(pm, "penetration_lower", cfg))
    regions = translate_codes(pm.tables["market.penetration_by_region"], "region", lang,
                              labels=cfg.labels)
    out.chart(charts.penetration(regions, "region",
                                  "penetration", "city_tier", targets,
                                  title=t("title.penetration", lang),
                                  xlabel=t("col.region", lang), ylabel=t("col.penetration", lang),
                                  footnote=_foot(pm, cfg, "users", "regions"), lang=lang))
    return out

def benchmarks(pm: PeriodMetrics, cfg: Params) -> Block:
    """External benchmarks typed in by analysts, with our own value beside where comparable."""
    out = Block("benchmarks")
    lang = _lang(cfg)
    out.heading("block.benchmarks", lang, level=3)
    if not _available(out, pm, cfg, ["market.benchmarks"], ["benchmarks"]):
        return out
    df = pm.tables["market.benchmarks"]
    if df.empty:
        out.note("narr.no_benchmarks", lang)
        return out
    out.html(data_table(df, [Col("period", "col.period"), Col("source", "col.source"),
                              Col("metric", "col.metric", codes="benchmark_metric"),
                              Col("subject", "col.subject"),
                              Col("value", "col.value", "number"),
                              Col("own_value", "col.own_value", "number")], lang,
                         currency=pm.currency, labels=cfg.labels))
    return out

"""The appendix's provenance as readable tables: parameters, inputs, code and versions.

:func:`params_frame` turns the parameters (as the metrics were computed with them, ``source``
unresolved) into one row per setting with a label in the report's language and a formatted
value ("目标：月活占比 | ≥ 60.0%", "预算占比：数字广告 | 40.0%", "里程碑：网点培训完成 |
计划 2026-10-20"), never JSON. :func:`provenance_frame` gives the fingerprints and versions,
:func:`fingerprints_frame` one row per input table with labelled columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from review.kpis import KPI_CATALOG
from review.report.i18n import check_lang, code_label, data_label, has, join_list, t
from review.report.numbers import format_value

#: Units of the thresholds, for their formatting (others: as written).
THRESHOLD_UNITS = {"dormancy_days": "days", "eligible_aum": "currency", "hnw_aum": "currency",
                   "conversion_window_days": "days", "rag_green": "ratio", "rag_amber": "ratio",
                   "min_cell_users": "count", "baseline_days": "days", "srm_warn": "number",
                   "srm_alert": "number"}
REVENUE_UNITS = {"monthly_discount_rate": "ratio", "aum_margin_annual": "ratio",
                 "ltv_horizon_months": "count"}


def _label(key: str, lang: str, **fmt: object) -> str:
    return t(key, lang, **fmt) if has(key) else str(fmt.get("name", key))


def _target(key: str, spec: Mapping[str, Any], lang: str, currency: str) -> str:
    from review.report.tables import format_target

    entry = KPI_CATALOG.get(key)
    unit = entry.unit if entry is not None else "number"
    direction = spec.get("direction") or (entry.direction if entry is not None else "higher")
    return format_target(spec.get("value"), unit, direction, lang, currency=currency)


def params_frame(params: Mapping[str, Any], lang: str, *, currency: str | None = None
                 ) -> pd.DataFrame:
    """One row per parameter: ``item`` (labelled) and ``value`` (formatted text)."""
    check_lang(lang)
    cur = currency or str(params.get("currency") or "CNY")
    labels = params.get("labels") or {}
    rows: list[tuple[str, str]] = []

    def add(key: str, value: object, **fmt: object) -> None:
        rows.append((_label(key, lang, **fmt), "—" if value in (None, "") else str(value)))

    add("param.period", params.get("period"))
    add("param.dates", t("param.range", lang, start=params.get("start"), end=params.get("end")))
    if params.get("compare_start"):
        add("param.compare", t("param.range", lang, start=params.get("compare_start"),
                               end=params.get("compare_end")))
    add("param.lang", t(f"param.lang.{params.get('lang')}", lang)
        if has(f"param.lang.{params.get('lang')}") else params.get("lang"))
    add("param.source", params.get("source"))
    add("param.currency", cur)
    for c in params.get("campaigns") or []:
        split = c.get("planned_split") or {}
        text = join_list([f"{code_label('variant', v, lang)} {format_value(s, 'ratio', lang)}"
                          for v, s in split.items()], lang) if split else "—"
        add("param.campaign", text, name=c.get("id"))
    for key, spec in (params.get("targets") or {}).items():
        kpi = t(f"kpi.{key}", lang) if has(f"kpi.{key}") else key
        add("param.target", _target(key, spec or {}, lang, cur), kpi=kpi)
    budget = params.get("budget") or {}
    if budget:
        add("param.budget_total", format_value(budget.get("total"), "currency", lang,
                                               currency=cur))
        for cat, share in (budget.get("shares") or {}).items():
            add("param.budget_share", format_value(share, "ratio", lang),
                category=code_label("spend_category", cat, lang))
    for m in params.get("milestones") or []:
        value = t("param.milestone_dates", lang, planned=m.get("planned"),
                  actual=m.get("actual") or "—")
        add("param.milestone", value, name=data_label(m.get("name"), lang, labels))
    for key, v in (params.get("thresholds") or {}).items():
        unit = THRESHOLD_UNITS.get(key)
        if isinstance(v, list | tuple):
            text = join_list([code_label("txn_type", x, lang) for x in v], lang)
        elif unit == "days":
            text = t("param.days", lang, n=format_value(v, "count", lang))
        else:
            text = format_value(v, unit, lang, currency=cur) if unit else str(v)
        add(f"param.threshold.{key}", text, name=key)
    revenue = params.get("revenue") or {}
    for ttype, margin in (revenue.get("margin_per_txn") or {}).items():
        add("param.margin", format_value(margin, "currency", lang, currency=cur),
            txn=code_label("txn_type", ttype, lang))
    for key, v in revenue.items():
        if key != "margin_per_txn":
            unit = REVENUE_UNITS.get(key)
            add(f"param.revenue.{key}", format_value(v, unit, lang) if unit else v, name=key)
    if labels:
        add("param.labels", sum(len(v) for v in labels.values()))
    return pd.DataFrame(rows, columns=["item", "value"])


def provenance_frame(prov: Mapping[str, Any], lang: str) -> pd.DataFrame:
    """Fingerprints and versions (everything of ``provenance`` but params and tables)."""
    check_lang(lang)
    rows = []
    for key, v in sorted(prov.items()):
        if key in ("params", "tables"):
            continue
        text = (join_list([f"{name} {ver}" for name, ver in sorted(v.items())], lang)
                if isinstance(v, Mapping) else "—" if v is None else str(v))
        rows.append((_label(f"prov.{key}", lang, name=key), text))
    return pd.DataFrame(rows, columns=["item", "value"])


def fingerprints_frame(tables: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per input table: ``table``, ``rows``, then its checksum fields as text."""
    rows = []
    for name, fp in sorted(tables.items()):
        rows.append({"table": name, "rows": fp.get("rows"),
                     **{k: str(v) for k, v in fp.items() if k != "rows"}})
    return pd.DataFrame(rows)


def missing_tables_frame(missing: list[str], lang: str) -> pd.DataFrame:
    """One row per contract table the source lacks: ``table`` (its contract name) and
    ``unlocks`` (the report sections that need it, in the reader's language; "—" when none)."""
    from review.data.contract import unlocks

    rows = [{"table": name,
             "unlocks": join_list([t(f"section.{s}", lang) for s in unlocks(name)], lang) or "—"}
            for name in sorted(missing)]
    return pd.DataFrame(rows, columns=["table", "unlocks"])

"""Shared base of the report's blocks: the :class:`Block` value object and the helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from markupsafe import escape
from matplotlib.figure import Figure

from review.config import Params
from review.kpis import KPI_CATALOG
from review.metrics.result import KpiValue, PeriodMetrics
from review.report import charts, show
from review.report.i18n import join_list, t
from review.report.tables import (
    format_change,
    format_value,
)
from review.report.theme import apply_theme

apply_theme()


@dataclass
class Block:
    """What one report block shows, in order: a value object that tests read, rendered to HTML
    in one place (:meth:`to_html`; the notebooks display it through ``review.report.blocks``).

    ``parts`` are ``(kind, payload)``: ``("heading", (text_or_key, lang, level))``,
    ``("html", fragment)``, ``("chart", Figure)``, ``("note", (key, lang, fmt))``,
    ``("unavailable", (tables, lang))``.
    """

    name: str
    parts: list[tuple[str, Any]] = field(default_factory=list)

    # -- building ------------------------------------------------------------------------
    def heading(self, text_or_key: str, lang: str, level: int = 2) -> None:
        self.parts.append(("heading", (text_or_key, lang, level)))

    def html(self, fragment: str) -> None:
        self.parts.append(("html", fragment))

    def chart(self, fig: Figure) -> None:
        self.parts.append(("chart", fig))

    def note(self, key: str, lang: str, **fmt: object) -> None:
        self.parts.append(("note", (key, lang, fmt)))

    def unavailable(self, tables: Sequence[str], lang: str) -> None:
        self.parts.append(("unavailable", (list(tables), lang)))

    # -- reading -------------------------------------------------------------------------
    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.parts]

    @property
    def figures(self) -> list[Figure]:
        return [p for kind, p in self.parts if kind == "chart"]

    def to_html(self) -> str:
        """Every part as HTML, in order (charts as embedded PNG figures)."""
        out = []
        for kind, p in self.parts:
            if kind == "heading":
                out.append(show.heading_html(p[0], p[1], p[2]))
            elif kind == "html":
                out.append(p)
            elif kind == "chart":
                out.append(show.chart_html(p))
            elif kind == "note":
                out.append(show.note_html(p[0], p[1], **p[2]))
            elif kind == "unavailable":
                out.append(show.unavailable_html(p[0], p[1]))
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"Block({self.name!r}, {len(self.parts)} parts: {', '.join(self.kinds)})"


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

def _available(out: Block, pm: PeriodMetrics, cfg: Params, keys: Sequence[str],
               tables: Sequence[str]) -> bool:
    """True when every breakdown in ``keys`` exists and has rows; else show a note.

    A missing breakdown means the source lacks a table ("not available: needs table …"); an
    empty one means the period has no such activity ("no data for this period").
    """
    if not all(k in pm.tables for k in keys):
        missing = [tb for tb in tables if tb in pm.missing_tables] or list(tables)
        out.unavailable(missing, cfg.lang)
        return False
    if any(pm.tables[k].empty for k in keys):
        out.note("narr.no_data", cfg.lang)
        return False
    return True

def _narrate(out: Block, template: str, cfg: Params, **fmt: object) -> None:
    # the values may come from the data (campaign names, regions…): shown as text, never markup
    out.html(f'<p class="narrative">{escape(t(template, cfg.lang, **fmt))}</p>')

def _suppression_note(out: Block, df: pd.DataFrame, cfg: Params) -> None:
    if "suppressed" in df and df["suppressed"].fillna(False).astype(bool).any():
        out.note("report.suppressed", cfg.lang, k=cfg.thresholds.min_cell_users)

def _kpis(pm: PeriodMetrics, keys: Sequence[str]) -> list[KpiValue]:
    return [pm.kpis[k] for k in keys if k in pm.kpis]

def _month_label(df: pd.DataFrame, column: str = "month") -> pd.DataFrame:
    return df.assign(**{column: pd.to_datetime(df[column])})


def section_title(section: str, pm: PeriodMetrics, cfg: Params) -> Block:
    """The section's heading (the TOC's top level)."""
    out = Block("section_title")
    out.heading(f"section.{section}", cfg.lang, level=2)
    return out


def _control(out: Block, pm: PeriodMetrics, cfg: Params, table: str, title: str, unit: str,
             source: str) -> None:
    lang = cfg.lang
    if not _available(out, pm, cfg, [table], [source]):
        return
    df = pm.tables[table].assign(date=lambda d: pd.to_datetime(d["date"]))
    out.chart(charts.control_chart(df, "date", "rate", "centre", "ucl", "flagged",
                                    title=t(title, lang), xlabel=t("col.date", lang),
                                    ylabel=t(f"unit.{unit}", lang),
                                    footnote=_foot(pm, cfg, source), lang=lang, lcl="lcl",
                                    y_unit=unit))

def _findings_list(out: Block, items: Sequence, cfg: Params, *, details: bool,
                   decisions: bool = False) -> None:
    lang = cfg.lang
    if not items:
        out.note("narr.no_findings", lang)
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
    out.html(f'<ol class="findings">{"".join(rows)}</ol>')

def _immature_note(out: Block, df: pd.DataFrame, cfg: Params) -> None:
    if "immature" in df and df["immature"].fillna(False).astype(bool).any():
        out.note("narr.immature", cfg.lang, days=cfg.thresholds.conversion_window_days)

"""Appendix (附录): data quality and provenance."""

from __future__ import annotations

import pandas as pd

from review.config import Params
from review.metrics.result import PeriodMetrics
from review.report import appendix
from review.report.blocks._base import (
    Block,
    _lang,
    _narrate,
)
from review.report.i18n import join_list
from review.report.tables import (
    Col,
    data_table,
)


def data_quality(pm: PeriodMetrics, cfg: Params) -> Block:
    """Validation warnings of the inputs and the contract tables the source lacks."""
    out = Block("data_quality")
    lang = _lang(cfg)
    out.heading("block.data_quality", lang, level=3)
    if pm.missing_tables:
        _narrate(out, "narr.missing_tables", cfg, tables=join_list(pm.missing_tables, lang))
        out.html(data_table(appendix.missing_tables_frame(pm.missing_tables, lang),
                            [Col("table", "col.q_table"), Col("unlocks", "col.unlocks")], lang))
    if not pm.quality:
        out.note("narr.no_quality_issues", lang)
        return out
    df = pd.DataFrame(pm.quality)
    cols = [c for c in ("table", "column", "rule", "severity", "count", "message") if c in df]
    out.html(data_table(df[cols], [Col(c, f"col.q_{c}", "count" if c == "count" else "text")
                                     for c in cols], lang))
    return out

def provenance(pm: PeriodMetrics, cfg: Params) -> Block:
    """Parameters (credentials never resolved), input fingerprints, code and package versions.

    Read from ``pm.provenance``: what these very KPIs were computed from and with.
    """
    out = Block("provenance")
    lang = _lang(cfg)
    out.heading("block.provenance", lang, level=3)
    if not pm.provenance:
        out.note("narr.no_provenance", lang)
        return out
    prov = dict(pm.provenance)
    items = [Col("item", "col.key"), Col("value", "col.value")]
    out.html(data_table(appendix.params_frame(prov.get("params") or {}, lang), items, lang))
    out.html(data_table(appendix.provenance_frame(prov, lang), items, lang))
    tables = prov.get("tables") or {}
    if tables:
        df = appendix.fingerprints_frame(tables)
        out.html(data_table(df, [Col(c, f"col.fp_{c}" if c != "table" else "col.q_table",
                                      "count" if c == "rows" else "text") for c in df.columns],
                             lang))
    return out

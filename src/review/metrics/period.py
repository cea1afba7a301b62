"""Compute the whole KPI set of one period once: ``compute_period(con, params)``.

Every family module (:data:`FAMILIES`) contributes its headline KPIs for the period and for
the comparison period, and its breakdown tables for the period. Targets, attainment, RAG
status and period-over-period change are added here, so every consumer (notebooks, findings,
``metrics.json``, the index page) reads one :class:`~review.metrics.result.PeriodMetrics`.

A period spanning several calendar months reports the activity ratios of
:data:`MONTHLY_MEAN_KPIS` as the mean of its months (counts and amounts are P's totals).

A family whose required tables are missing from the source yields ``NaN`` KPIs with the note
"needs table …" and no breakdowns; the report shows "not available" for those blocks.

The families read the daily rollups of :mod:`review.data.rollup` (``t["user_day"]`` …): the
stored ones when the source has current rollups, else expressions deriving them from the raw
tables.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from types import ModuleType

import ibis
from ibis.backends import BaseBackend

from review.config import Params
from review.data.connect import available_tables
from review.data.contract import TABLES
from review.data.rollup import tables as rollup_tables
from review.kpis import KPI_CATALOG
from review.metrics.common import Measure, Window, month_windows
from review.metrics.disclosure import protect_kpis, protect_tables
from review.metrics.result import KpiValue, PeriodMetrics
from review.stats import change, rag_status

#: Breakdowns also computed for the comparison window, stored as ``"<family>.<name>@compare"``
#: (the findings compare them with the period's: e.g. which funnel step lost most).
COMPARE_BREAKDOWNS: dict[str, tuple[str, ...]] = {"funnel": ("steps",)}

#: Family modules of :mod:`review.metrics`, in report order.
FAMILIES: tuple[str, ...] = (
    "acquisition", "activity", "retention", "funnel", "lifecycle", "value", "campaigns", "budget", "risk",
    "satisfaction", "market", "experiments",
)


#: Activity ratios reported, for a period spanning several calendar months, as the mean of
#: its months (季度月均), so that a monthly target means the same in a quarterly report.
#: Counts and amounts stay totals of P.
MONTHLY_MEAN_KPIS: tuple[str, ...] = (
    "mau_ratio", "stickiness", "logins_per_active_day", "light_op_share", "reactivation_rate",
)


def headline_of(mod: ModuleType, t: Mapping[str, ibis.Table], w: Window,
                params: Params, computed: Mapping[str, Measure] | None = None
                ) -> dict[str, Measure]:
    """``mod.headline`` of ``w`` (or ``computed``, when the family's ``period()`` gave it);
    the :data:`MONTHLY_MEAN_KPIS` among its KPIs are replaced by the mean of their values over
    the calendar months of ``w`` when it spans several (months where a ratio is undefined
    are left out of the mean and named in the note)."""
    out = dict(mod.headline(t, w, params) if computed is None else computed)
    months = month_windows(w)
    keys = [k for k in MONTHLY_MEAN_KPIS if k in out]
    if len(months) < 2 or not keys:
        return out
    per_month = [mod.headline(t, m, params) for m in months]
    for k in keys:
        vals = [(m, pm[k].value) for m, pm in zip(months, per_month, strict=True)]
        ok = [v for _, v in vals if not math.isnan(v)]
        if not ok:
            out[k] = Measure.missing(f"undefined in every month of P ({out[k].note})")
            continue
        gaps = [f"{m.start:%Y-%m}" for m, v in vals if math.isnan(v)]
        note = f"mean of {len(ok)} months" + (f" (undefined in {', '.join(gaps)})"
                                               if gaps else "")
        out[k] = Measure(sum(ok) / len(ok), note=note)
    return out


def family_module(name: str) -> ModuleType:
    """The module of metric family ``name`` (``review.metrics.<name>``)."""
    return importlib.import_module(f"review.metrics.{name}")


def contract_tables(con: BaseBackend) -> dict[str, ibis.Table]:
    """The contract tables the source has, as Ibis expressions (missing ones are left out)."""
    have = available_tables(con)
    return {name: con.table(name) for name in TABLES if name in have}


def compute_period(con: BaseBackend, params: Params, *,
                   quality: list[dict] | None = None) -> PeriodMetrics:
    """Compute every KPI and breakdown of ``params``' period on the engine behind ``con``.

    Parameters
    ----------
    con
        An Ibis backend from :func:`review.data.connect`.
    params
        The period's parameters.
    quality
        Validation warnings for the data-quality appendix (records of
        ``ValidationReport.to_records(for_report=True)``); stored as given.
    """
    t = contract_tables(con)
    t.update(rollup_tables(con, t))  # daily rollups: stored when current, else derived
    w = Window(params.start, params.end)
    cw = Window(*params.comparison)
    current: dict[str, Measure] = {}
    previous: dict[str, Measure] = {}
    tables = {}
    for fam in FAMILIES:
        mod = family_module(fam)
        keys = [k for k, kpi in KPI_CATALOG.items() if kpi.family == fam]
        missing = [r for r in getattr(mod, "REQUIRES", ()) if r not in t]
        if missing:
            note = f"needs table {', '.join(missing)}"
            current.update({k: Measure.missing(note) for k in keys})
            previous.update({k: Measure.missing(note) for k in keys})
            continue
        cur, tabs = _headline_and_breakdowns(mod, t, w, params)
        current.update(_only(cur, keys, fam))
        tables.update({f"{fam}.{name}": df for name, df in tabs.items()})
        if fam in COMPARE_BREAKDOWNS:
            prev, tabs = _headline_and_breakdowns(mod, t, cw, params)
            tables.update({f"{fam}.{name}@compare": df for name, df in tabs.items()
                           if name in COMPARE_BREAKDOWNS[fam]})
        else:
            prev = headline_of(mod, t, cw, params)
        previous.update(_only(prev, keys, fam))
    kpis = {key: _kpi_value(key, current[key], previous.get(key), params)
            for key in KPI_CATALOG if key in current}
    # small cells masked once, here, for everything downstream (report, charts, findings)
    tables = protect_tables(tables, params.thresholds.min_cell_users)
    kpis = protect_kpis(kpis, previous, params.thresholds.min_cell_users)
    return PeriodMetrics(
        period=params.period, start=params.start.isoformat(), end=params.end.isoformat(),
        compare_start=cw.start.isoformat(), compare_end=cw.end.isoformat(),
        lang=params.lang, currency=params.currency, kpis=kpis, tables=tables,
        missing_tables=sorted(set(TABLES) - set(t)), quality=list(quality or []),
    )


def _headline_and_breakdowns(mod: ModuleType, t: Mapping[str, ibis.Table], w: Window,
                             params: Params) -> tuple[Mapping[str, Measure], dict]:
    """A family's KPIs (:func:`headline_of`) and tables of ``w``: its ``period()`` when it has
    one (shared queries run once), else ``headline()`` and ``breakdowns()``."""
    if hasattr(mod, "period"):
        cur, tabs = mod.period(t, w, params)
        return headline_of(mod, t, w, params, cur), tabs
    return headline_of(mod, t, w, params), mod.breakdowns(t, w, params)


def _only(measures: Mapping[str, Measure], keys: list[str], fam: str) -> dict[str, Measure]:
    extra = set(measures) - set(keys)
    if extra:  # a programming error in a family module, not a data problem
        raise KeyError(f"metric family {fam!r} returned KPIs outside its catalog: {sorted(extra)}")
    return {k: measures.get(k, Measure.missing(f"not computed by family {fam}")) for k in keys}


def _kpi_value(key: str, cur: Measure, prev: Measure | None, params: Params) -> KpiValue:
    kpi = KPI_CATALOG[key]
    target = params.target_for(key)
    direction = target.direction if target else kpi.direction
    attainment, rag = rag_status(
        cur.value, target.value if target else None, direction,
        green=params.thresholds.rag_green, amber=params.thresholds.rag_amber,
    )
    compare = prev.value if prev is not None else math.nan
    change_abs, change_rel = change(cur.value, compare)
    return KpiValue(
        key=key, value=cur.value, unit=kpi.unit, direction=direction,
        numerator=cur.numerator, denominator=cur.denominator, note=cur.note,
        target=target.value if target else None, attainment=_finite(attainment), rag=rag,
        compare_value=_finite(compare), change_abs=_finite(change_abs),
        change_rel=_finite(change_rel),
    )


def _finite(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v

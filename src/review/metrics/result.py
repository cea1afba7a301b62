"""The computed KPI set of one period: what notebooks, findings and ``metrics.json`` read.

A :class:`PeriodMetrics` is computed once per period (``review.metrics.compute_period``) and
holds every headline KPI as a :class:`KpiValue` plus the breakdown tables the sections chart.
It serialises to ``metrics.json`` (KPIs, machine-readable, sorted keys, no timestamps) and to
a folder of Parquet files for the tables, so notebooks never rescan raw data.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from review.core.files import pretty_json

Rag = Literal["green", "amber", "red"]

#: Result tables ``metrics.json`` carries besides the KPIs (key → breakdown table), so a
#: scheduler or a test can read every campaign and experiment figure a manager sees: per
#: campaign, variant and touch channel the counts, rates, lifts with intervals, p, Holm p,
#: SRM χ² and p, cost and ROI. Small cells are masked there exactly as in the report.
RESULT_TABLES: dict[str, str] = {
    "campaigns": "campaigns.summary",
    "campaign_variants": "campaigns.by_variant",
    "campaign_touch_channels": "campaigns.by_touch",
    "campaign_coverage": "campaigns.coverage",
    "experiments": "experiments.readout",
}


@dataclass(frozen=True)
class KpiValue:
    """One headline KPI of a period, with its target, status and comparison.

    ``value`` is ``nan`` when it cannot be computed; ``note`` then says why (e.g. "no
    registered users"). ``attainment`` is value ÷ target (target ÷ value when lower is
    better); ``rag`` compares it with the bands. ``change_abs``/``change_rel`` are against the
    comparison period's value.
    """

    key: str
    value: float
    unit: str
    direction: Literal["higher", "lower"]
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None
    target: float | None = None
    attainment: float | None = None
    rag: Rag | None = None
    compare_value: float | None = None
    change_abs: float | None = None
    change_rel: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: _json_number(v) for k, v in asdict(self).items()}


@dataclass
class PeriodMetrics:
    """Every KPI and breakdown table of one period."""

    period: str
    start: str
    end: str
    compare_start: str
    compare_end: str
    lang: str
    currency: str
    kpis: dict[str, KpiValue] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: contract tables the source lacked (sections needing them show a note)
    missing_tables: list[str] = field(default_factory=list)
    #: validation warnings for the data-quality appendix (one dict per problem)
    quality: list[dict[str, Any]] = field(default_factory=list)
    #: what the KPIs were computed from and with: params, data and table fingerprints, code
    #: hash and versions (see :func:`review.cache.provenance`); empty when computed directly
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable ``metrics.json`` content (deterministic): the KPIs and the
        campaign and experiment results of :data:`RESULT_TABLES`."""
        return {
            "period": self.period,
            "start": self.start,
            "end": self.end,
            "comparison": {"start": self.compare_start, "end": self.compare_end},
            "currency": self.currency,
            "kpis": {k: v.to_json() for k, v in sorted(self.kpis.items())},
            "missing_tables": sorted(self.missing_tables),
            "results": {key: _records(self.tables[name])
                        for key, name in RESULT_TABLES.items() if name in self.tables},
        }

    def save(self, folder: str | Path) -> None:
        """Write ``metrics.json``, ``period.json`` (language, quality warnings, provenance,
        table names) and one Parquet file per table."""
        folder = Path(folder)
        (folder / "tables").mkdir(parents=True, exist_ok=True)
        _dump_json(folder / "metrics.json", self.to_json())
        meta = {"lang": self.lang, "quality": self.quality, "provenance": self.provenance,
                "tables": sorted(self.tables)}
        _dump_json(folder / "period.json", meta)
        for name, df in self.tables.items():
            df.to_parquet(folder / "tables" / f"{name}.parquet", index=False)

    @classmethod
    def load(cls, folder: str | Path) -> PeriodMetrics:
        """Read what :meth:`save` wrote."""
        folder = Path(folder)
        m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        meta = json.loads((folder / "period.json").read_text(encoding="utf-8"))
        kpis = {k: KpiValue(**{f: (math.nan if f == "value" and v is None else v)
                               for f, v in d.items()}) for k, d in m["kpis"].items()}
        tables = {n: pd.read_parquet(folder / "tables" / f"{n}.parquet") for n in meta["tables"]}
        return cls(period=m["period"], start=m["start"], end=m["end"],
                   compare_start=m["comparison"]["start"], compare_end=m["comparison"]["end"],
                   lang=meta["lang"], currency=m["currency"], kpis=kpis, tables=tables,
                   missing_tables=m["missing_tables"], quality=meta["quality"],
                   provenance=meta.get("provenance", {}))


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records: NaN → null, dates → ISO strings, numpy scalars → Python."""
    out = []
    for row in df.to_dict(orient="records"):
        rec = {}
        for k, v in row.items():
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            elif hasattr(v, "item"):  # numpy scalar
                v = v.item()
            if v is not None and not isinstance(v, (str, bool)) and pd.isna(v):
                v = None
            rec[str(k)] = _json_number(v)
        out.append(rec)
    return out


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def _dump_json(path: Path, obj: Any) -> None:
    path.write_text(pretty_json(obj), encoding="utf-8")

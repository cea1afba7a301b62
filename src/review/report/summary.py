"""The first screen: KPI tiles that say at a glance what moved and whether that is good.

Each tile shows the KPI's value, its status badge (symbol and word, never colour alone), the
target, the change against the comparison period coloured by what it means (``good`` when it
moves the way the KPI's direction wants, ``bad`` the other way) and a 12-month sparkline.

A change within noise is shown as "≈ 持平" / "≈ flat", never as "+0.0 pp" (:func:`is_flat`):

* a ratio with its denominator ``n`` (users): flat when ``|Δ| < 1.96 × √(2 p (1 − p) / n)``,
  the 95 % band of the difference of two shares of that size;
* a count: flat when ``|Δ| < 1.96 × √(value + comparison)`` (two Poisson counts);
* anything else, or a ratio without its denominator: flat when the relative change is below
  1 % (``|Δ| < 0.01 × |comparison|``), or when the change would print as zero.

Sparklines come from the period's monthly trend tables (:data:`TRENDS`): an inline SVG
polyline (no script, no external file), the last point marked.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from review.metrics.result import KpiValue
from review.report.i18n import check_lang, t
from review.report.numbers import DASH, format_value, is_missing
from review.report.tables import format_change, format_target, rag_badge

#: KPI → (monthly trend table of PeriodMetrics, column): the sparkline's 12 months.
TRENDS: dict[str, tuple[str, str]] = {
    "new_users": ("acquisition.trend", "new_users"),
    "registered_base": ("acquisition.trend", "registered_base"),
    "active_users": ("activity.trend", "active_users"),
    "mau_ratio": ("activity.trend", "mau_ratio"),
    "stickiness": ("activity.trend", "stickiness"),
    "logins_per_active_day": ("activity.trend", "logins_per_active_day"),
    "reactivation_rate": ("lifecycle.trend", "reactivation_rate"),
    "transactions": ("value.mobile_share_trend", "transactions"),
    "gmv": ("value.mobile_share_trend", "gmv"),
    "mobile_share": ("value.mobile_share_trend", "mobile_share"),
    "nps": ("satisfaction.nps_trend", "nps"),
    "awareness": ("market.awareness_trend", "awareness"),
    "campaign_participants": ("campaigns.trend", "participants"),
    "campaign_conversions": ("campaigns.trend", "conversions"),
}
Z95 = 1.959964


def _e(text: object) -> str:
    return _html.escape(str(text), quote=True)


def is_flat(k: KpiValue) -> bool | None:
    """Whether ``k``'s change is within noise (rules above); ``None`` without a change."""
    if is_missing(k.change_abs) or is_missing(k.value):
        return None
    delta, value = abs(float(k.change_abs)), float(k.value)  # type: ignore[arg-type]
    compare = float(k.compare_value) if not is_missing(k.compare_value) else value - float(
        k.change_abs)  # type: ignore[arg-type]
    if k.unit == "ratio" and not is_missing(k.denominator) and float(k.denominator) > 0 \
            and 0 <= value <= 1:  # type: ignore[arg-type]
        n = float(k.denominator)  # type: ignore[arg-type]
        return delta < Z95 * math.sqrt(max(2 * value * (1 - value) / n, 0.0))
    if k.unit == "count":
        return delta < Z95 * math.sqrt(max(value + compare, 0.0))
    shown = format_change(k.change_abs, None, k.unit, "en")
    if not any(c in "123456789" for c in shown):
        return True
    return delta < 0.01 * abs(compare)


def change_class(k: KpiValue) -> str:
    """``good``, ``bad``, ``flat`` or ``none``: how a tile colours its change."""
    flat = is_flat(k)
    if flat is None:
        return "none"
    if flat:
        return "flat"
    up = float(k.change_abs) > 0  # type: ignore[arg-type]
    return "good" if up == (k.direction == "higher") else "bad"


def change_text(k: KpiValue, lang: str, currency: str = "CNY") -> str:
    """The change as the tile says it: "≈ flat" within noise, else the signed change."""
    cls = change_class(k)
    if cls == "none":
        return ""
    if cls == "flat":
        return t("summary.flat", lang)
    return t("report.vs_comparison", lang,
             change=format_change(k.change_abs, k.change_rel, k.unit, lang, currency=currency))


def sparkline_svg(values: Sequence[float], *, label: str, width: int = 96,
                  height: int = 24) -> str:
    """An inline SVG line of ``values`` (missing points skipped), the last point marked."""
    pts = [(i, float(v)) for i, v in enumerate(values) if not is_missing(v)]
    if len(pts) < 2:
        return ""
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span = hi - lo or 1.0
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return (2 + (width - 4) * i / n, height - 2 - (height - 4) * (v - lo) / span)

    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in pts))
    lx, ly = xy(*pts[-1])
    return (f'<svg class="sparkline" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
            f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{coords}"/>'
            f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.2" fill="currentColor"/></svg>')


def trend_values(tables: Mapping[str, Any], key: str) -> list[float]:
    """The KPI's last 12 monthly values from :data:`TRENDS` (``[]`` when there is none)."""
    if key not in TRENDS:
        return []
    name, column = TRENDS[key]
    df = tables.get(name)
    if df is None or column not in getattr(df, "columns", ()):
        return []
    return [float(v) if not is_missing(v) else math.nan for v in df[column].tolist()[-12:]]


#: Tiles that stand in, in this order, for headline KPIs the source cannot compute (a
#: campaign-only source still fills its first screen with the campaign figures it has).
FALLBACK_TILES: tuple[str, ...] = ("campaign_conversions", "campaign_conversion_rate")

#: The note of a KPI whose family lacks a table (:meth:`review.metrics.common.Measure.missing`).
NEEDS_TABLE = "needs table "


def needs_table(k: KpiValue) -> bool:
    """True when ``k`` could not be computed because the source lacks a table it reads."""
    return (k.note or "").startswith(NEEDS_TABLE)


def tile_kpis(kpis: Mapping[str, KpiValue], headline: Sequence[str]
              ) -> tuple[list[KpiValue], list[KpiValue]]:
    """The KPIs to show as tiles, and the headline ones left out.

    A headline KPI whose source lacks a table it reads (its note says "needs table …") is
    left out rather than shown as a row of "—"; :data:`FALLBACK_TILES` that the source can
    compute take the free places, in order. A KPI computed but masked or without a value for
    the period stays (its tile says why).
    """
    shown = [kpis[k] for k in headline if k in kpis and not needs_table(kpis[k])]
    left_out = [kpis[k] for k in headline if k in kpis and needs_table(kpis[k])]
    spare = [kpis[k] for k in FALLBACK_TILES
             if k in kpis and k not in headline and not needs_table(kpis[k])]
    return shown + spare[:len(left_out)], left_out


def summary_tiles(kpis: Sequence[KpiValue], lang: str, *, currency: str = "CNY",
                  tables: Mapping[str, Any] | None = None) -> str:
    """The KPI tiles of the first screen (see the module docstring)."""
    check_lang(lang)
    tiles = []
    for k in kpis:
        label = t(f"kpi.{k.key}", lang)
        rag_class = f"rag-{k.rag}" if k.rag else "rag-none"
        if k.target is not None:
            target = t("report.target_value", lang, target=format_target(
                k.target, k.unit, k.direction, lang, currency=currency))
        else:
            target = t("report.no_target", lang)
        value = format_value(k.value, k.unit, lang, currency=currency, compact=True)
        cls = change_class(k)
        change = change_text(k, lang, currency)
        spark = sparkline_svg(trend_values(tables or {}, k.key),
                              label=t("summary.sparkline", lang, kpi=label))
        tiles.append(
            f'<div class="kpi-tile {rag_class}" data-kpi="{_e(k.key)}" '
            f'title="{_e(t(f"kpi.{k.key}.def", lang))}">'
            f'<div class="kpi-label">{_e(label)}</div>'
            f'<div class="kpi-value">{_e(value if value else DASH)}</div>'
            f'<div class="kpi-status">{rag_badge(k.rag, lang, has_target=k.target is not None)}'
            f"</div>"
            f'<div class="kpi-target">{_e(target)}</div>'
            + (f'<div class="kpi-change change-{cls}">{_e(change)}</div>' if change else "")
            + (f'<div class="kpi-spark">{spark}</div>' if spark else "")
            + "</div>")
    return f'<div class="kpi-tiles">{"".join(tiles)}</div>'

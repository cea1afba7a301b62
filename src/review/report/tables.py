"""Tables as HTML, in the report's language (numbers formatted by :mod:`review.report.numbers`).

A missing value (``None``, ``NaN``, ``pd.NA``) is ``"—"``. Every text comes from the i18n
catalog; every value put into HTML is escaped. The number formats are in
:mod:`review.report.numbers` (re-exported here).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from review.errors import ReviewError
from review.kpis import KPI_CATALOG
from review.metrics.result import KpiValue
from review.report.i18n import code_label, data_label, t
from review.report.numbers import (  # noqa: F401  (re-exported: the tables' formats)
    CURRENCY_SYMBOLS,
    DASH,
    UNITS,
    check_unit,
    format_value,
    is_missing,
)
from review.report.numbers import sign as _sign

#: Symbols on RAG badges, so that status never relies on colour alone.
RAG_SYMBOLS: dict[str, str] = {"green": "✓", "amber": "!", "red": "✕"}


def format_change(change_abs: float | None, change_rel: float | None, unit: str, lang: str,
                  *, currency: str = "CNY") -> str:
    """A change against the comparison period as text.

    Ratios change in percentage points (``0.612 → 0.624`` is ``+1.2 pp`` / ``+1.2 个百分点``);
    other units show the absolute change in the unit and the relative change in %
    (``+1,234 (+5.6%)``). Missing parts are left out; nothing known gives ``"—"``.
    """
    check_unit(unit)
    have_abs, have_rel = not is_missing(change_abs), not is_missing(change_rel)
    if unit == "ratio":
        if not have_abs:
            return DASH
        pp = float(change_abs) * 100
        return t("fmt.pp", lang, v=f"{_sign(pp)}{abs(pp):.1f}")
    parts = []
    if have_abs:
        a = float(change_abs)
        parts.append(_sign(a) + format_value(abs(a), unit, lang, currency=currency))
    if have_rel:
        r = float(change_rel) * 100
        rel = f"{_sign(r)}{abs(r):.1f}%"
        parts.append(f"({rel})" if parts else rel)
    return " ".join(parts) if parts else DASH


def format_target(target: float | None, unit: str, direction: str, lang: str, *,
                  currency: str = "CNY") -> str:
    """A target with its direction: ``≥ 60.0%`` (higher is better) or ``≤ 2.0%`` (lower)."""
    if is_missing(target):
        return DASH
    op = "≥" if direction == "higher" else "≤"
    return f"{op} {format_value(target, unit, lang, currency=currency)}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def rag_badge(rag: str | None, lang: str, *, has_target: bool = True) -> str:
    """A status badge: symbol and text label on the RAG colour (never colour alone).

    ``rag=None`` gives a neutral badge: "No target" when there is no target, else "Not rated".
    """
    if rag is None:
        label = t("rag.none" if has_target else "report.no_target", lang)
        return f'<span class="rag rag-none">{_e(label)}</span>'
    if rag not in RAG_SYMBOLS:
        raise ValueError(f"unknown RAG status {rag!r}; expected green, amber, red or None")
    return (f'<span class="rag rag-{rag}"><span aria-hidden="true">{RAG_SYMBOLS[rag]}</span> '
            f'{_e(t(f"rag.{rag}", lang))}</span>')


def _definition(kpi: KpiValue, lang: str) -> str:
    key = f"kpi.{kpi.key}.def"
    return t(key, lang)


def _label(kpi: KpiValue, lang: str) -> str:
    if kpi.key not in KPI_CATALOG:
        raise ReviewError(f"KPI {kpi.key!r} is not in review.kpis.KPI_CATALOG; add it there "
                          "and its label kpi.<key> to the i18n catalog")
    return t(f"kpi.{kpi.key}", lang)


def _value_cell(kpi: KpiValue, lang: str, currency: str, *, compact: bool = False) -> str:
    text = _e(format_value(kpi.value, kpi.unit, lang, currency=currency, compact=compact))
    if is_missing(kpi.value) and kpi.note:
        return f'<span title="{_e(kpi.note)}">{text}</span>'
    return text


def kpi_table(kpis: Sequence[KpiValue], lang: str, *, currency: str = "CNY") -> str:
    """The KPIs as an HTML table, one row each, in the given order.

    Columns: KPI (its definition as ``title`` and in a "Definitions" list under the table),
    status badge, value, target with direction, attainment (value ÷ target, inverted when
    lower is better), comparison-period value and change (:func:`format_change`).
    """
    # status next to the name: on a phone the columns right of it scroll, it stays in view
    heads = ["kpi", "status", "value", "target", "attainment", "comparison", "change"]
    head = "".join(f'<th scope="col">{_e(t(f"col.{h}", lang))}</th>' for h in heads)
    rows, defs = [], []
    for k in kpis:
        label, definition = _label(k, lang), _definition(k, lang)
        cells = [
            f'<th scope="row" title="{_e(definition)}">{_e(label)}</th>',
            f'<td class="status">{rag_badge(k.rag, lang, has_target=k.target is not None)}</td>',
            f'<td class="num">{_value_cell(k, lang, currency)}</td>',
            f'<td class="num">{_e(format_target(k.target, k.unit, k.direction, lang, currency=currency))}</td>',
            f'<td class="num">{_e(format_value(k.attainment, "ratio", lang))}</td>',
            f'<td class="num">{_e(format_value(k.compare_value, k.unit, lang, currency=currency))}</td>',
            f'<td class="num">{_e(format_change(k.change_abs, k.change_rel, k.unit, lang, currency=currency))}</td>',
        ]
        rows.append(f'<tr data-kpi="{_e(k.key)}">{"".join(cells)}</tr>')
        defs.append(f"<dt>{_e(label)}</dt><dd>{_e(definition)}</dd>")
    return (
        '<div class="table-wrap"><table class="kpi-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f'<details class="kpi-defs"><summary>{_e(t("report.definitions", lang))}</summary>'
        f"<dl>{''.join(defs)}</dl></details>"
    )


def kpi_tiles(kpis: Sequence[KpiValue], lang: str, *, currency: str = "CNY") -> str:
    """The KPIs as HTML tiles for the summary: label, value, target and attainment, a status
    badge with a text label, and the change against the comparison period."""
    tiles = []
    for k in kpis:
        label, definition = _label(k, lang), _definition(k, lang)
        rag_class = f"rag-{k.rag}" if k.rag else "rag-none"
        if k.target is not None:
            target = t("report.target_value", lang,
                       target=format_target(k.target, k.unit, k.direction, lang,
                                            currency=currency))
            if not is_missing(k.attainment):
                target += f" · {format_value(k.attainment, 'ratio', lang)}"
        else:
            target = t("report.no_target", lang)
        change = format_change(k.change_abs, k.change_rel, k.unit, lang, currency=currency)
        change_line = (f'<div class="kpi-change">'
                       f'{_e(t("report.vs_comparison", lang, change=change))}</div>'
                       if change != DASH else "")
        tiles.append(
            f'<div class="kpi-tile {rag_class}" data-kpi="{_e(k.key)}" title="{_e(definition)}">'
            f'<div class="kpi-label">{_e(label)}</div>'
            f'<div class="kpi-value">{_value_cell(k, lang, currency, compact=True)}</div>'
            f'<div class="kpi-target">{_e(target)}</div>'
            f'<div class="kpi-status">{rag_badge(k.rag, lang, has_target=k.target is not None)}'
            f"</div>{change_line}</div>"
        )
    return f'<div class="kpi-tiles">{"".join(tiles)}</div>'


@dataclass(frozen=True)
class Col:
    """One column of :func:`data_table`.

    ``name`` is the frame's column, ``label_key`` the i18n key of its header (``col.users``),
    ``unit`` one of :data:`UNITS` or ``"text"`` (codes translated) or ``"date"``. ``codes``
    names the code dimension of a text column (``code.<codes>.<value>``, e.g. ``txn_channel``
    for a column called ``channel``); by default the column's name.
    """

    name: str
    label_key: str
    unit: str = "text"
    codes: str | None = None


_NUM = ' class="num"'


def _label_text(value: object, dimension: str, lang: str,
                labels: Mapping[str, Mapping[str, str]] | None) -> str:
    """A code's label from the catalog, else a data-borne name's label from the params."""
    v = None if is_missing(value) else value
    text = code_label(dimension, v, lang)
    return data_label(v, lang, labels) if v is not None and text == str(v) else text


def _cell(value: object, col: Col, lang: str, currency: str,
          labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    if col.unit == "text":
        return _label_text(value, col.codes or col.name, lang, labels)
    if col.unit == "date":
        if is_missing(value):
            return DASH
        if isinstance(value, datetime):
            return value.date().isoformat() if value.time() == datetime.min.time() \
                else value.strftime("%Y-%m-%d %H:%M")
        return value.isoformat() if isinstance(value, date) else str(value)
    return format_value(value, col.unit, lang, currency=currency)


def _require_columns(df: pd.DataFrame, names: Sequence[str], where: str) -> None:
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise ReviewError(f"{where}: column(s) {missing} not in the frame; it has "
                          f"{list(map(str, df.columns))}. Fix the column names passed in.")


def data_table(df: pd.DataFrame, columns: Sequence[Col], lang: str, *, currency: str = "CNY",
               min_cell: int = 10, caption: str | None = None,
               labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A breakdown frame as an HTML table with formatted, translated cells.

    Columns appear in the order of ``columns``. Text columns show code labels from the i18n
    catalog when they exist (``code.<dimension>.<code>``), else the params' ``labels`` of a
    data-borne name (:func:`review.report.i18n.data_label`); numeric columns follow
    :func:`format_value`. Rows flagged in a boolean ``suppressed`` column (see
    :func:`review.metrics.common.suppress_small_cells`) are marked with † and explained by the
    small-cell note (fewer than ``min_cell`` users); their masked values show as "—".
    """
    for col in columns:
        if col.unit not in (*UNITS, "text", "date"):
            raise ValueError(f"column {col.name!r}: unknown unit {col.unit!r}; expected one of "
                             f"{[*UNITS, 'text', 'date']}")
    _require_columns(df, [c.name for c in columns], "data_table")
    numeric = [c.unit not in ("text", "date") for c in columns]
    head = "".join(
        f'<th scope="col"{_NUM if num else ""}>{_e(t(c.label_key, lang))}</th>'
        for c, num in zip(columns, numeric, strict=True)
    )
    suppressed = (df["suppressed"].fillna(False).astype(bool).tolist()
                  if "suppressed" in df.columns else [False] * len(df))
    values = [df[c.name].tolist() for c in columns]
    rows = []
    for i, small in enumerate(suppressed):
        cells = []
        for j, col in enumerate(columns):
            text = _e(_cell(values[j][i], col, lang, currency, labels))
            if j == 0 and small:
                text += '<sup class="mark">†</sup>'
            cells.append(f"<td{_NUM if numeric[j] else ''}>{text}</td>")
        row_class = ' class="suppressed"' if small else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    note = (f'<p class="table-note">† {_e(t("report.suppressed", lang, k=min_cell))}</p>'
            if any(suppressed) else "")
    return (f'<div class="table-wrap"><table class="data-table">{cap}<thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>{note}")


def translate_codes(df: pd.DataFrame, column: str, lang: str, *,
                    codes: str | None = None,
                    labels: Mapping[str, Mapping[str, str]] | None = None) -> pd.DataFrame:
    """A copy of ``df`` whose ``column`` holds code labels (for chart categories and legends).

    ``codes`` is the code dimension (default: the column's name); codes without a label take
    the params' ``labels`` of that name, else are kept as they are. The input frame is not
    changed.
    """
    _require_columns(df, [column], "translate_codes")
    out = df.copy()
    out[column] = [_label_text(v, codes or column, lang, labels) for v in df[column].tolist()]
    return out

"""Numbers as text in the report's language: one place for the whole report.

Used by the tables, the charts, the findings and the runner's index page.

Formatting rules (one place for the whole report):

==============  ==========================  ==========================
unit            zh                          en
==============  ==========================  ==========================
count           ``12,345`` (compact 1.23万)  ``12,345`` (compact 12.3k)
ratio           ``61.2%``; changes in pp    ``61.2%``; changes in pp
currency        ``¥1,234``, ``¥12.50``      ``CNY 1,234``
per_10k         ``12.3/万``                  ``12.3 per 10k``
per_1k          ``1.8‰``                    ``1.8 per 1k``
per_day         ``3.4 次/日``                ``3.4/day``
points          ``32.5``                    ``32.5``
multiple        ``1.35 倍``                  ``1.35×``
number          ``1,234.57``                ``1,234.57``
days            ``2.5 天``                   ``2.5 days``
pvalue          ``< 0.001`` / ``0.0095``    ``< 0.001`` / ``0.0095``
pp              ``+6.0 个百分点``             ``+6.0 pp``
signed_ratio    ``+25.0%``                  ``+25.0%``
==============  ==========================  ==========================

A missing value (``None``, ``NaN``, ``pd.NA``) is ``"—"``. Every text comes from the i18n
catalog; HTML escaping is the tables' job.
"""

from __future__ import annotations

import math

import pandas as pd

from review.report.i18n import check_lang, t

DASH = "—"
#: Units :func:`format_value` knows: the KPI units of :mod:`review.kpis` plus number and days.
UNITS: tuple[str, ...] = (
    "count", "ratio", "currency", "per_10k", "per_1k", "points", "per_day", "multiple",
    "number", "days", "pvalue", "pp", "signed_ratio",
)
#: Currency symbols used in Chinese text; English text uses the ISO code.
CURRENCY_SYMBOLS: dict[str, str] = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$"}


def is_missing(value: object) -> bool:
    """``None``, ``NaN``, ``NaT`` or ``pd.NA``."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other non-scalars
        return False


def sign(v: float) -> str:
    """``"+"`` for a positive number, ``"-"`` for a negative one, ``""`` for zero."""
    return "+" if v > 0 else "-" if v < 0 else ""


def check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {list(UNITS)}")


def _compact(value: float, lang: str) -> str:
    """Large numbers shortened: 1.23万 / 1.23亿 in Chinese, 12.3k / 1.23M / 1.23B in English."""
    steps = ((1e8, "亿"), (1e4, "万")) if lang == "zh" else ((1e9, "B"), (1e6, "M"), (1e3, "k"))
    size = abs(value)
    for div, suffix in steps:
        if size >= div and not (lang == "en" and div == 1e3 and size < 1e4):
            x = value / div
            digits = 2 if abs(x) < 10 else 1 if abs(x) < 100 else 0
            text = f"{x:,.{digits}f}"
            return (text.rstrip("0").rstrip(".") if "." in text else text) + suffix
    return f"{value:,.0f}"


def _money(value: float, lang: str, currency: str, compact: bool) -> str:
    size = abs(value)
    if compact and size >= 1e4:
        amount = _compact(size, lang)
    else:
        amount = f"{size:,.2f}" if size < 1000 and not size.is_integer() else f"{size:,.0f}"
    sign = "-" if value < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency) if lang == "zh" else None
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{currency} {amount}"


def format_value(value: float | None, unit: str, lang: str, *, currency: str = "CNY",
                 compact: bool = False) -> str:
    """One value as text in ``lang``, following the table of this module's docstring.

    Parameters
    ----------
    value
        The number; ratios are shares in [0, 1] (``0.612`` → ``61.2%``).
    unit
        One of :data:`UNITS`.
    lang
        ``"zh"`` or ``"en"``.
    currency
        ISO code of money values (the params' currency).
    compact
        Shorten large counts and amounts (``1.23万``, ``12.3k``), for tiles and chart labels.
    """
    check_unit(unit)
    check_lang(lang)
    if is_missing(value):
        return DASH
    v = float(value)
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if unit == "count":
        return _compact(v, lang) if compact else f"{v:,.0f}"
    if unit == "ratio":
        return f"{v * 100:.1f}%"
    if unit == "currency":
        return _money(v, lang, currency, compact)
    if unit in ("per_10k", "per_1k", "per_day", "days"):
        return t(f"fmt.{unit}", lang, v=f"{v:,.1f}")
    if unit == "points":
        return f"{v:.1f}"
    if unit == "multiple":
        return t("fmt.multiple", lang, v=f"{v:,.2f}")
    if unit == "pvalue":  # never "0.00": below 0.001 as "< 0.001", else 3 significant digits
        return "< 0.001" if v < 0.001 else f"{v:.3g}"
    if unit == "pp":  # a difference of shares in percentage points, signed
        return t("fmt.pp", lang, v=f"{sign(v * 100)}{abs(v) * 100:.1f}")
    if unit == "signed_ratio":
        return f"{sign(v)}{abs(v) * 100:.1f}%"
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}"  # number

"""Chart builders in the house theme: tidy frame and column names in, a ``Figure`` out.

Every builder

* takes a tidy :class:`pandas.DataFrame` and the names of the columns to draw (no knowledge
  of metric tables), never changes the frame, and raises
  :class:`~review.errors.ReviewError` naming a missing column;
* takes keyword-only ``title``, ``xlabel``/``ylabel`` (axis labels with their units, e.g.
  ``"新增用户（人）"``; ``xlabel`` labels the data column ``x``/category and ``ylabel`` the
  value, wherever a horizontal chart draws them), ``footnote`` (source and period, drawn under
  the axes, see :func:`review.report.i18n.t` ``report.source_note``) and ``lang`` (legend
  texts come from the i18n catalog);
* returns a :class:`matplotlib.figure.Figure` that is not registered with pyplot: nothing is
  shown twice, nothing leaks; pass it to :func:`review.report.show.chart`.

Codes are drawn as given: translate category columns first with
:func:`review.report.tables.translate_codes`. Values use the units of
:func:`review.report.tables.format_value` (``"ratio"`` is a share in [0, 1] drawn as %).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from review.errors import ReviewError
from review.report import theme
from review.report.i18n import check_lang, code_label, t
from review.report.numbers import format_value, is_missing

ValueFormat = str | Callable[[float], str]

FOOTNOTE_SIZE = theme.MIN_TEXT_PT  # points
_FOOTNOTE_GID = "footnote"
_LEGEND_GID = "legend-below"


def _text_pt(text: str, size: float) -> float:
    """Rough width of ``text`` in points: CJK characters one em, others about half."""
    return sum(size if ord(c) > 0x2E80 else 0.58 * size for c in text)


# -- axis and label formatting ----------------------------------------------------------------
def compact_number(value: float, lang: str) -> str:
    """Axis-tick form of a number: 1.2万/3亿 (zh), 12k/1.2M (en); small numbers as they are."""
    if is_missing(value):
        return ""
    steps = ((1e8, "亿"), (1e4, "万")) if lang == "zh" else ((1e9, "B"), (1e6, "M"), (1e3, "k"))
    for div, suffix in steps:
        if abs(value) >= div:
            return f"{value / div:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")


def axis_formatter(unit: str, lang: str, *, currency: str = "CNY"):
    """A tick formatter for values of ``unit``: % for ratios, compact counts and amounts,
    ``×`` for multiples; ``None`` (matplotlib's default) for the other units."""
    if unit == "ratio":
        return PercentFormatter(xmax=1.0, decimals=None)
    if unit in ("count", "number"):
        return FuncFormatter(lambda v, _pos: compact_number(v, lang))
    if unit == "currency":
        prefix = "¥" if (currency == "CNY" and lang == "zh") else f"{currency} "
        return FuncFormatter(lambda v, _pos: ("-" if v < 0 else "") + prefix
                             + compact_number(abs(v), lang))
    if unit == "multiple":
        return FuncFormatter(lambda v, _pos: f"{v:g}×")
    return None


def _labeller(value_format: ValueFormat, lang: str, currency: str) -> Callable[[float], str]:
    if callable(value_format):
        return value_format
    return lambda v: format_value(v, value_format, lang, currency=currency, compact=True)


def _set_value_axis(ax: Axes, unit: ValueFormat, lang: str, currency: str, *,
                    axis: str = "y") -> None:
    if callable(unit):
        return
    fmt = axis_formatter(unit, lang, currency=currency)
    if fmt is not None:
        (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _set_date_axis(ax: Axes, lang: str) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    if lang == "zh":
        fmt = mdates.ConciseDateFormatter(
            locator,
            formats=["%Y", "%m月", "%m-%d", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%m月", "%m-%d", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"],
        )
    else:
        fmt = mdates.ConciseDateFormatter(locator)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(fmt)


# -- frame access (never mutates) ---------------------------------------------------------------
def _require(df: pd.DataFrame, columns: Sequence[str | None], chart: str) -> None:
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise ReviewError(f"{chart}(): column(s) {missing} not in the frame; it has "
                          f"{list(map(str, df.columns))}. Pass the names of existing columns.")
    if df.empty:
        raise ReviewError(f"{chart}(): the frame is empty; show a note instead of a chart")


def _floats(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _bools(s: pd.Series) -> np.ndarray:
    return s.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _is_dates(s: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(s)


def _xs(s: pd.Series) -> np.ndarray | list[str]:
    """x values for matplotlib: datetimes and numbers as arrays, anything else as text."""
    if _is_dates(s):
        return s.to_numpy()
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return _floats(s)
    return [_text(v) for v in s.tolist()]


def _text(v: object) -> str:
    if is_missing(v):
        return "—"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def _groups(df: pd.DataFrame, hue: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    """Rows per hue value, in order of first appearance (deterministic)."""
    if hue is None:
        return [(None, df)]
    return [(_text(k[0] if isinstance(k, tuple) else k), g)
            for k, g in df.groupby(hue, sort=False, dropna=False)]


def _colour(i: int) -> str:
    return theme.PALETTE[i % len(theme.PALETTE)]


# -- figure scaffolding ----------------------------------------------------------------------------
def _wrap(text: str, width: int) -> list[str]:
    """Wrap by display width (CJK characters count as two), keeping words whole where possible."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line, size = "", 0
        for token in _tokens(para):
            w = sum(2 if ord(ch) > 0x2E80 else 1 for ch in token)
            if size + w > width and line.strip():
                lines.append(line.rstrip())
                line = token.lstrip()
                size = sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)
            else:
                line, size = line + token, size + w
        lines.append(line.rstrip())
    return lines


#: Display width (CJK characters count as two) of a category label on a side axis, per line.
_TICK_WIDTH = 22


def _ticks(labels: Sequence[object]) -> list[str]:
    """Category labels for a side axis: wrapped to two lines, then cut with "…", so that a
    long name never squeezes the plot (the full names are in the report's tables)."""
    out = []
    for label in labels:
        lines = _wrap(_text(label), _TICK_WIDTH)
        if len(lines) > 2:
            lines = [lines[0], lines[1][: max(1, len(lines[1]) - 1)] + "…"]
        out.append("\n".join(lines))
    return out


def _tokens(text: str) -> list[str]:
    """Words with their leading space; CJK characters one by one."""
    out: list[str] = []
    for ch in text:
        if ord(ch) > 0x2E80 or not out or ch == " " or ord(out[-1][-1]) > 0x2E80:
            out.append(ch)
        else:
            out[-1] += ch
    return out


def _figure(size: tuple[float, float] = theme.FIGSIZE) -> tuple[Figure, Axes]:
    theme.apply_theme()
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _finish(fig: Figure, ax: Axes, *, title: str, xlabel: str, ylabel: str, footnote: str,
            horizontal: bool = False) -> Figure:
    """Title (left, bold), axis labels and the footnote in a band reserved under the axes."""
    ax.set_title(title, loc="left")
    ax.set_xlabel(ylabel if horizontal else xlabel)
    ax.set_ylabel(xlabel if horizontal else ylabel)
    width_in, height_in = fig.get_size_inches()
    chars = int(width_in * 72 / (FOOTNOTE_SIZE * 0.55))
    lines = _wrap(footnote, chars) if footnote else []
    band_pt = 0.0
    if lines:
        band_pt = len(lines) * FOOTNOTE_SIZE * 1.35 + 6
        fig.text(0.01, 0.012, "\n".join(lines), ha="left", va="bottom", fontsize=FOOTNOTE_SIZE,
                 color="#666666", gid=_FOOTNOTE_GID, linespacing=1.3)
    for legend in fig.legends:
        if legend.get_gid() == _LEGEND_GID:
            rows = math.ceil(len(legend.legend_handles) / legend._ncols)
            legend.set_bbox_to_anchor((0.5, (band_pt + 2) / 72 / height_in),
                                      transform=fig.transFigure)
            band_pt += rows * theme.MIN_TEXT_PT * 1.75 + 8
    if band_pt:
        fig.get_layout_engine().set(rect=(0, band_pt / 72 / height_in, 1,
                                          1 - band_pt / 72 / height_in))
    _freeze_layout(fig)
    return fig


def _freeze_layout(fig: Figure) -> None:
    """Run the constrained layout to its fixed point, then keep it.

    Constrained layout reads texts that only exist after a draw (a date axis' offset text, a
    colourbar's ticks), so successive draws can move the axes by a fraction of a pixel. Three
    layout passes reach the fixed point; freezing it makes every later rendering of the figure
    byte-identical. To rearrange a returned figure, set ``fig.set_layout_engine("constrained")``.
    """
    for _ in range(3):
        fig.draw_without_rendering()
    fig.set_layout_engine("none")


def footnote_text(fig: Figure) -> str | None:
    """The footnote drawn by a builder of this module (for tests and checks)."""
    for text in fig.texts:
        if text.get_gid() == _FOOTNOTE_GID:
            return text.get_text()
    return None


def _legend(ax: Axes, handles: list | None = None, *, outside: bool = False, **kw) -> None:
    """The axes' legend; ``outside``: one row under the axes, where it covers no line."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    if not handles:
        return
    if outside:  # placed by _finish, in a band of its own above the footnote
        fig = ax.figure
        width_pt = fig.get_size_inches()[0] * 72 - 12
        widths = [_text_pt(h.get_label(), theme.MIN_TEXT_PT) + 3.5 * theme.MIN_TEXT_PT
                  for h in handles]
        ncol = next((n for n in range(len(widths), 0, -1)
                     if max(sum(widths[i:i + n]) for i in range(0, len(widths), n))
                     <= width_pt), 1)
        legend = fig.legend(handles=handles, loc="lower center", ncol=ncol, **kw)
        legend.set_gid(_LEGEND_GID)
    else:
        ax.legend(handles=handles, loc=kw.pop("loc", "best"), **kw)


# -- charts --------------------------------------------------------------------------------------
def trend(df: pd.DataFrame, x: str, y: str, *, hue: str | None = None,
          target: float | str | None = None, title: str, xlabel: str, ylabel: str,
          footnote: str, lang: str, y_unit: str = "number", currency: str = "CNY",
          target_label: str | None = None) -> Figure:
    """Line chart of ``y`` over ``x``, one line per ``hue`` value, with an optional target.

    ``target`` is a constant (a dashed horizontal line) or the name of a column holding the
    target per ``x`` (a dashed line). Dates on ``x`` get a concise date axis. ``y_unit`` sets
    the tick format (``"ratio"`` → %, ``"count"``, ``"currency"``, …).
    """
    check_lang(lang)
    _require(df, [x, y, hue, target if isinstance(target, str) else None], "trend")
    fig, ax = _figure()
    for i, (name, g) in enumerate(_groups(df, hue)):
        g = g.sort_values(x, kind="stable")
        ax.plot(_xs(g[x]), _floats(g[y]), marker="o", markersize=3.5, color=_colour(i),
                label=name if name is not None else "_nolegend_")
    label = target_label or t("chart.target", lang)
    if isinstance(target, str):
        g = df.sort_values(x, kind="stable")
        ax.plot(_xs(g[x]), _floats(g[target]), linestyle="--", linewidth=1.3,
                color=theme.REFERENCE, label=label)
    elif target is not None and not is_missing(target):
        ax.axhline(float(target), linestyle="--", linewidth=1.3, color=theme.REFERENCE,
                   label=label)
    if _is_dates(df[x]):
        _set_date_axis(ax, lang)
    _set_value_axis(ax, y_unit, lang, currency)
    if hue is not None or target is not None:
        _legend(ax)
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote)


def _category_size(n: int, horizontal: bool) -> tuple[float, float]:
    if horizontal:
        return theme.FIGSIZE[0], max(2.8, min(10.0, 0.34 * n + 1.7))
    return theme.FIGSIZE


def bars(df: pd.DataFrame, x: str, y: str, *, hue: str | None = None,
         horizontal: bool = False, value_format: ValueFormat = "number", title: str,
         xlabel: str, ylabel: str, footnote: str, lang: str, currency: str = "CNY",
         labels: bool = True) -> Figure:
    """Bar chart of ``y`` per category ``x`` (grouped by ``hue``), values labelled on the bars.

    Categories keep the frame's order (top to bottom when ``horizontal``). ``value_format`` is
    a unit of :func:`~review.report.tables.format_value` (also the axis format) or a function
    ``float → str``. A missing value (e.g. a suppressed small cell) draws no bar and is
    labelled "—".
    """
    check_lang(lang)
    _require(df, [x, y, hue], "bars")
    cats = list(dict.fromkeys(_text(v) for v in df[x].tolist()))
    groups = _groups(df, hue)
    fig, ax = _figure(_category_size(len(cats) * max(1, len(groups) // 2 + 1), horizontal))
    fmt = _labeller(value_format, lang, currency)
    width = 0.8 / len(groups)
    pos = np.arange(len(cats), dtype=float)
    for i, (name, g) in enumerate(groups):
        by_cat = dict(zip((_text(v) for v in g[x].tolist()), _floats(g[y]), strict=True))
        vals = np.array([by_cat.get(c, np.nan) for c in cats])
        offset = pos - 0.4 + width * (i + 0.5)
        kw = {"color": _colour(i), "label": name if name is not None else "_nolegend_"}
        draw = np.nan_to_num(vals)
        cont = (ax.barh(offset, draw, height=width * 0.92, **kw) if horizontal
                else ax.bar(offset, draw, width=width * 0.92, **kw))
        if labels:
            ax.bar_label(cont, labels=[fmt(v) for v in vals], padding=2, fontsize=theme.MIN_TEXT_PT,
                         color=theme.INK)
    if horizontal:
        ax.set_yticks(pos, _ticks(cats))
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        _set_value_axis(ax, value_format, lang, currency, axis="x")
        ax.margins(x=0.12)
    else:
        ax.set_xticks(pos, cats)
        _set_value_axis(ax, value_format, lang, currency)
        ax.margins(y=0.12)
        if max((len(c) for c in cats), default=0) * len(cats) > 60:
            ax.tick_params(axis="x", labelrotation=30)
            for lab in ax.get_xticklabels():
                lab.set_horizontalalignment("right")
    if hue is not None:
        _legend(ax)
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote,
                   horizontal=horizontal)


def funnel(df: pd.DataFrame, step: str, users: str, *, title: str, xlabel: str, ylabel: str,
           footnote: str, lang: str) -> Figure:
    """Funnel of ``users`` per ``step`` (frame order, top to bottom) with drop-off labels.

    Each bar is labelled with its users and the step conversion, ``users ÷ users of the
    previous step`` (e.g. "600 · 60.0% of previous step"); a grey bar behind it shows the
    previous step, so the drop-off is visible. ``xlabel`` labels the steps, ``ylabel`` the
    users axis.
    """
    check_lang(lang)
    _require(df, [step, users], "funnel")
    steps = [_text(v) for v in df[step].tolist()]
    vals = _floats(df[users])
    fig, ax = _figure(_category_size(len(steps), True))
    pos = np.arange(len(steps), dtype=float)
    prev = np.concatenate([[np.nan], vals[:-1]])
    ax.barh(pos, np.nan_to_num(prev), height=0.7, color="#E6E6E6", zorder=1)
    ax.barh(pos, np.nan_to_num(vals), height=0.7, color=theme.PALETTE[0], zorder=2)
    top = np.nanmax(vals) if np.isfinite(vals).any() else 1.0
    for i, v in enumerate(vals):
        text = format_value(v, "count", lang)
        if i > 0 and not (is_missing(v) or is_missing(prev[i]) or prev[i] == 0):
            rate = format_value(v / prev[i], "ratio", lang)
            text += " · " + t("chart.step_conversion", lang, rate=rate)
        ax.text(np.nan_to_num(max(v, prev[i]) if i else v) + top * 0.01, pos[i], text,
                va="center", ha="left", fontsize=theme.MIN_TEXT_PT, color=theme.INK, zorder=3)
    ax.set_yticks(pos, _ticks(steps))
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.45)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    _set_value_axis(ax, "count", lang, "CNY", axis="x")
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote,
                   horizontal=True)


def cohort_heatmap(df: pd.DataFrame, cohort: str, age: str, rate: str, *, title: str,
                   xlabel: str, ylabel: str, footnote: str, lang: str,
                   annotate: bool = True) -> Figure:
    """Retention triangle: ``rate`` (share in [0, 1]) per ``cohort`` (rows) and ``age`` (columns).

    Cohorts and ages are sorted; cells without a value (not yet observed, suppressed) stay
    blank. Cells are annotated in % when ``annotate`` and the grid is small enough to read.
    ``xlabel`` labels the ages, ``ylabel`` the cohorts.
    """
    check_lang(lang)
    _require(df, [cohort, age, rate], "cohort_heatmap")
    if df.duplicated([cohort, age]).any():
        raise ReviewError(f"cohort_heatmap(): several rows per ({cohort}, {age}); aggregate first")
    grid = (df.assign(**{rate: _floats(df[rate])})
            .pivot(index=cohort, columns=age, values=rate).sort_index().sort_index(axis=1))
    data = np.ma.masked_invalid(grid.to_numpy(dtype="float64", na_value=np.nan))
    n_rows, n_cols = data.shape
    fig, ax = _figure((theme.FIGSIZE[0], max(3.2, min(10.0, 0.3 * n_rows + 1.8))))
    cmap = mpl.colormaps["Blues"].with_extremes(bad="white")
    vmax = float(data.max()) if data.count() else 1.0
    vmax = vmax if vmax > 0 else 1.0
    im = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
    if annotate and n_rows * n_cols <= 400 and n_cols <= 12:  # else too small to read
        size = theme.MIN_TEXT_PT
        for (r, c), v in np.ndenumerate(data.filled(np.nan)):
            if not math.isnan(v):
                ax.text(c, r, f"{v * 100:.0f}%", ha="center", va="center", fontsize=size,
                        color="white" if v > 0.6 * vmax else theme.INK)
    ax.set_xticks(range(n_cols), [_text(v) for v in grid.columns])
    ax.set_yticks(range(n_rows), [_text(v) for v in grid.index])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    bar = fig.colorbar(im, ax=ax, shrink=0.8, format=PercentFormatter(xmax=1.0, decimals=0))
    bar.outline.set_visible(False)
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote)


def plan_vs_actual(df: pd.DataFrame, category: str, plan: str, actual: str, *, title: str,
                   xlabel: str, ylabel: str, footnote: str, lang: str,
                   value_format: ValueFormat = "currency", currency: str = "CNY") -> Figure:
    """Actual against plan per ``category`` (frame order, top to bottom).

    The plan is a wide light bar, the actual a narrower blue bar inside it; the label gives the
    actual and its share of plan ("¥120万 · 计划的 95.0%"). ``xlabel`` labels the categories,
    ``ylabel`` the value axis.
    """
    check_lang(lang)
    _require(df, [category, plan, actual], "plan_vs_actual")
    cats = [_text(v) for v in df[category].tolist()]
    p, a = _floats(df[plan]), _floats(df[actual])
    fig, ax = _figure(_category_size(len(cats), True))
    pos = np.arange(len(cats), dtype=float)
    ax.barh(pos, np.nan_to_num(p), height=0.75, color="#D9D9D9", label=t("chart.plan", lang))
    ax.barh(pos, np.nan_to_num(a), height=0.4, color=theme.PALETTE[0],
            label=t("chart.actual", lang))
    fmt = _labeller(value_format, lang, currency)
    top = np.nanmax(np.concatenate([p, a])) if np.isfinite(np.concatenate([p, a])).any() else 1
    for i in range(len(cats)):
        text = fmt(a[i])
        if not (is_missing(a[i]) or is_missing(p[i]) or p[i] == 0):
            text += " · " + t("chart.of_plan", lang, rate=format_value(a[i] / p[i], "ratio", lang))
        ax.text(np.nanmax([p[i], a[i], 0]) + top * 0.01, pos[i], text, va="center", ha="left",
                fontsize=theme.MIN_TEXT_PT, color=theme.INK)
    ax.set_yticks(pos, _ticks(cats))
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.4)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    _set_value_axis(ax, value_format, lang, currency, axis="x")
    _legend(ax, loc="lower right")
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote,
                   horizontal=True)


def burn_down(df: pd.DataFrame, date: str, actual_cum: str, plan_cum: str, *, title: str,
              xlabel: str, ylabel: str, footnote: str, lang: str, currency: str = "CNY",
              total: float | None = None, value_format: str = "currency") -> Figure:
    """Cumulative spend against the cumulative plan over the period's days.

    The plan is a dashed grey line, the actual a solid blue line (it stops where the actual
    is missing, e.g. after the last day with data); ``total`` adds a dotted budget-total line.
    """
    check_lang(lang)
    _require(df, [date, actual_cum, plan_cum], "burn_down")
    g = df.sort_values(date, kind="stable")
    fig, ax = _figure()
    xs = _xs(g[date])
    ax.plot(xs, _floats(g[plan_cum]), linestyle="--", linewidth=1.5, color=theme.REFERENCE,
            label=t("chart.plan", lang))
    ax.plot(xs, _floats(g[actual_cum]), color=theme.PALETTE[0], label=t("chart.actual", lang))
    if total is not None and not is_missing(total):
        ax.axhline(float(total), linestyle=":", linewidth=1.2, color=theme.MUTED,
                   label=t("chart.budget_total", lang))
    if _is_dates(g[date]):
        _set_date_axis(ax, lang)
    _set_value_axis(ax, value_format, lang, currency)
    ax.set_ylim(bottom=0)
    _legend(ax, loc="upper left")
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote)


def forest(df: pd.DataFrame, label: str, estimate: str, lo: str, hi: str, *, title: str,
           xlabel: str, ylabel: str, footnote: str, lang: str, significant: str | None = None,
           value_format: ValueFormat = "ratio", null: float = 0.0) -> Figure:
    """Estimates with their intervals (rows top to bottom in frame order) and a zero line.

    An interval is significant when the ``significant`` column says so or, without it, when
    it excludes ``null`` (``lo > null`` or ``hi < null``); significant rows are drawn in blue
    with filled markers and labelled, the others in grey with hollow markers. ``xlabel``
    labels the rows, ``ylabel`` the estimate axis.
    """
    check_lang(lang)
    _require(df, [label, estimate, lo, hi, significant], "forest")
    labels = [_text(v) for v in df[label].tolist()]
    est, low, high = _floats(df[estimate]), _floats(df[lo]), _floats(df[hi])
    sig = _bools(df[significant]) if significant else (low > null) | (high < null)
    fig, ax = _figure(_category_size(len(labels), True))
    pos = np.arange(len(labels), dtype=float)
    fmt = _labeller(value_format, lang, "CNY")
    ax.axvline(null, color=theme.REFERENCE, linewidth=1.0, linestyle="--", zorder=1)
    for i in range(len(labels)):
        colour = theme.PALETTE[0] if sig[i] else theme.MUTED
        ax.plot([low[i], high[i]], [pos[i], pos[i]], color=colour,
                linewidth=2.4 if sig[i] else 1.6, solid_capstyle="butt", zorder=2)
        ax.plot([est[i]], [pos[i]], marker="o", markersize=7, zorder=3, color=colour,
                markerfacecolor=colour if sig[i] else "white", markeredgewidth=1.5)
        if not is_missing(est[i]):
            ax.annotate(fmt(est[i]), (est[i], pos[i]), xytext=(0, 7), textcoords="offset points",
                        ha="center", va="bottom", fontsize=theme.MIN_TEXT_PT,
                        color=theme.INK)
    ax.set_yticks(pos, _ticks(labels))
    ax.set_ylim(len(labels) - 0.4, -0.7)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    _set_value_axis(ax, value_format, lang, "CNY", axis="x")
    handles = [
        Line2D([], [], color=theme.PALETTE[0], marker="o", linewidth=2.4,
               label=t("chart.significant", lang)),
        Line2D([], [], color=theme.MUTED, marker="o", markerfacecolor="white", linewidth=1.6,
               label=t("chart.not_significant", lang)),
    ]
    _legend(ax, handles, loc="lower right")
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote,
                   horizontal=True)


def control_chart(df: pd.DataFrame, x: str, rate: str, centre: str, ucl: str, flagged: str, *,
                  title: str, xlabel: str, ylabel: str, footnote: str, lang: str,
                  lcl: str | None = None, y_unit: str = "ratio") -> Figure:
    """A control chart: ``rate`` per ``x`` with centre line, control limits and flagged points.

    ``centre``, ``ucl`` (and ``lcl``) are columns, so limits may vary per point (a p-chart);
    rows where the boolean ``flagged`` column is true are marked with orange diamonds.
    """
    check_lang(lang)
    _require(df, [x, rate, centre, ucl, flagged, lcl], "control_chart")
    g = df.sort_values(x, kind="stable")
    xs, ys = _xs(g[x]), _floats(g[rate])
    fig, ax = _figure()
    ax.plot(xs, _floats(g[centre]), color=theme.MUTED, linewidth=1.2, label=t("chart.centre", lang))
    ax.plot(xs, _floats(g[ucl]), color=theme.REFERENCE, linewidth=1.2, linestyle="--",
            label=t("chart.ucl", lang))
    if lcl is not None:
        ax.plot(xs, _floats(g[lcl]), color=theme.REFERENCE, linewidth=1.2, linestyle=":",
                label=t("chart.lcl", lang))
    ax.plot(xs, ys, color=theme.PALETTE[0], marker="o", markersize=3.5, label="_nolegend_")
    mask = _bools(g[flagged])
    if mask.any():
        fx = xs[mask] if isinstance(xs, np.ndarray) else [v for v, m in zip(xs, mask, strict=True)
                                                           if m]
        ax.scatter(fx, ys[mask], marker="D", s=55, color=theme.HIGHLIGHT, edgecolor=theme.INK,
                   linewidth=0.8, zorder=4, label=t("chart.flagged", lang))
    if _is_dates(g[x]):
        _set_date_axis(ax, lang)
    _set_value_axis(ax, y_unit, lang, "CNY")
    _legend(ax, outside=True)  # never over the limit lines
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote)


def penetration(df: pd.DataFrame, region: str, rate: str, tier: str,
                target_by_tier: Mapping[str, float], *, title: str, xlabel: str, ylabel: str,
                footnote: str, lang: str, tier_codes: str = "city_tier") -> Figure:
    """Penetration (share in [0, 1]) per ``region``, grouped by ``tier``, with tier targets.

    Regions are ordered by tier (the order of ``target_by_tier``, then other tiers) and by
    rate, highest first; bars take one colour per tier and each tier's target is a dashed
    line across its bars. Tier codes are labelled from the i18n catalog (``tier_codes``
    dimension, e.g. ``key`` → 重点城市).
    """
    check_lang(lang)
    _require(df, [region, rate, tier], "penetration")
    tiers = list(dict.fromkeys([*target_by_tier, *(_text(v) for v in df[tier].tolist())]))
    frame = pd.DataFrame({"region": [_text(v) for v in df[region].tolist()],
                          "rate": _floats(df[rate]),
                          "tier": [_text(v) for v in df[tier].tolist()]})
    frame["order"] = frame["tier"].map({k: i for i, k in enumerate(tiers)})
    frame = frame.sort_values(["order", "rate"], ascending=[True, False], kind="stable",
                              na_position="last").reset_index(drop=True)
    fig, ax = _figure(_category_size(len(frame), True))
    pos = np.arange(len(frame), dtype=float)
    colours = [_colour(int(o)) for o in frame["order"]]
    ax.barh(pos, np.nan_to_num(frame["rate"].to_numpy()), height=0.7, color=colours)
    for i, (v, code) in enumerate(zip(frame["rate"], frame["tier"], strict=True)):
        # right of the bar and of its tier's target line: the line never crosses a label
        goal = target_by_tier.get(code)
        start = max(np.nan_to_num(v), 0.0 if goal is None or is_missing(goal) else float(goal))
        ax.text(start + 0.01, pos[i], format_value(v, "ratio", lang), va="center",
                ha="left", fontsize=theme.MIN_TEXT_PT, color=theme.INK, zorder=4)
    handles = []
    for i, code in enumerate(tiers):
        rows = pos[(frame["tier"] == code).to_numpy()]
        if len(rows) == 0:
            continue
        name = code_label(tier_codes, code, lang)
        goal = target_by_tier.get(code)
        if goal is not None and not is_missing(goal):
            ax.plot([goal, goal], [rows.min() - 0.45, rows.max() + 0.45], linestyle="--",
                    linewidth=1.4, color=theme.REFERENCE)
            name = t("chart.target_tier", lang, tier=name, value=format_value(goal, "ratio", lang))
        handles.append(Patch(color=_colour(i), label=name))
    if any(target_by_tier.values()):
        handles.append(Line2D([], [], linestyle="--", linewidth=1.4, color=theme.REFERENCE,
                              label=t("chart.target", lang)))
    ax.set_yticks(pos, _ticks(frame["region"].tolist()))
    ax.invert_yaxis()
    goals = [float(g) for g in target_by_tier.values() if g is not None and not is_missing(g)]
    ax.set_xlim(0, max(1.0, max([np.nanmax(frame["rate"].to_numpy(), initial=0), *goals])
                       * 1.2))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    _set_value_axis(ax, "ratio", lang, "CNY", axis="x")
    _legend(ax, handles, outside=True)
    return _finish(fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, footnote=footnote,
                   horizontal=True)

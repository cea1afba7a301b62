"""What notebook cells call: each function DISPLAYS one piece of the report and returns None.

The report is made of cell *outputs* (code is hidden), so narrative, headings and charts are
displayed from code in the report's language. Each display function has a pure twin
``*_html`` that returns the HTML fragment, for tests and for composing blocks.

    show.heading("section.market_analysis", lang)      # <h2 id="section-market-analysis">市场分析</h2>
    show.chart(charts.trend(df, "date", "dau", ...))   # a PNG <figure>, the figure is closed
    show.html(tables.kpi_table(kpis, lang))
    show.note("report.suppressed", lang, k=10)
    show.unavailable(["spend"], lang)
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import re
import unicodedata
from collections.abc import Sequence

from IPython.display import HTML, display
from matplotlib.figure import Figure

from review.report import theme
from review.report.i18n import has, join_list, t

#: CSS pixels per inch: an image of ``figsize × DPI`` pixels is laid out at ``figsize × 96``
#: CSS pixels, i.e. sharp on screens up to 1.5× and scaled down to the width of a phone.
CSS_PX_PER_INCH = 96


def slugify(text: str) -> str:
    """A stable HTML id for a heading: lower case, runs of non-word characters → ``-``.

    Letters of any script are kept (``"市场分析 2"`` → ``"市场分析-2"``); text without any
    letter or digit gets ``h-`` and a short hash of the text.
    """
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = re.sub(r"[\W_]+", "-", s).strip("-")
    return s or "h-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def heading_html(text_or_key: str, lang: str, level: int = 2) -> str:
    """An ``<hN>`` heading. A catalog key is translated and gives a language-independent id
    (``section.goals`` → ``id="section-goals"``); other text is shown as it is."""
    if level not in (1, 2, 3, 4):
        raise ValueError(f"heading level {level} not in 1–4")
    if has(text_or_key):
        text, anchor = t(text_or_key, lang), slugify(text_or_key)
    else:
        text, anchor = text_or_key, slugify(text_or_key)
    return f'<h{level} id="{_html.escape(anchor)}">{_html.escape(text)}</h{level}>'


def _titles(fig: Figure) -> str:
    parts = []
    for ax in fig.axes:
        parts += [ax.get_title(loc) for loc in ("left", "center", "right") if ax.get_title(loc)]
    if fig.get_suptitle():
        parts.insert(0, fig.get_suptitle())
    return " · ".join(parts)


def chart_html(fig: Figure, *, alt: str | None = None, dpi: int = theme.DPI) -> str:
    """The figure as an embedded PNG ``<figure>`` (data URI) with alt text (default: its
    titles) and its layout size; deterministic bytes (:func:`review.report.theme.figure_png`)."""
    png = theme.figure_png(fig, dpi=dpi)
    w_in, h_in = fig.get_size_inches()
    width, height = round(w_in * CSS_PX_PER_INCH), round(h_in * CSS_PX_PER_INCH)
    data = base64.b64encode(png).decode("ascii")
    text = _html.escape(alt if alt is not None else _titles(fig), quote=True)
    return (f'<figure class="chart"><img src="data:image/png;base64,{data}" alt="{text}" '
            f'width="{width}" height="{height}"></figure>')


def note_html(key: str, lang: str, **fmt: object) -> str:
    """A short note paragraph with the text of ``key``."""
    return f'<p class="note">{_html.escape(t(key, lang, **fmt))}</p>'


def unavailable_html(tables: Sequence[str], lang: str) -> str:
    """The "not available: needs table X" note of a block whose input tables are missing."""
    text = t("report.unavailable", lang, tables=join_list(tables, lang))
    return f'<div class="unavailable" role="note">{_html.escape(text)}</div>'


def heading(text_or_key: str, lang: str, level: int = 2) -> None:
    """Display a heading (see :func:`heading_html`); the report's TOC is built from these."""
    display(HTML(heading_html(text_or_key, lang, level)))


def chart(fig: Figure, *, alt: str | None = None) -> None:
    """Display the figure as a PNG at :data:`review.report.theme.DPI` and close it."""
    display(HTML(chart_html(fig, alt=alt)))
    if fig.canvas.manager is not None:  # a pyplot figure: release it, do not show it again
        from matplotlib import pyplot as plt

        plt.close(fig)


def html(fragment: str) -> None:
    """Display an HTML fragment (e.g. :func:`review.report.tables.kpi_table`)."""
    display(HTML(fragment))


def note(key: str, lang: str, **fmt: object) -> None:
    """Display the text of ``key`` as a note paragraph."""
    display(HTML(note_html(key, lang, **fmt)))


def unavailable(tables: Sequence[str], lang: str) -> None:
    """Display the "not available: needs table X" note."""
    display(HTML(unavailable_html(tables, lang)))


def block(b: object) -> None:
    """Display a report block (:class:`review.report.blocks._base.Block`) as one HTML output."""
    display(HTML(b.to_html()))  # type: ignore[attr-defined]

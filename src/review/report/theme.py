"""The house theme of every chart: colours, fonts and deterministic image output.

* Categorical colours: the Okabe–Ito palette (safe for the common colour-vision
  deficiencies), blue first. :data:`RAG` colours mean status and are used for nothing else;
  they are not in :data:`PALETTE`. The report's CSS uses the same RAG values.
* Fonts: the first installed CJK-capable sans-serif font (Debian ``fonts-noto-cjk`` gives
  "Noto Sans CJK SC") comes first, DejaVu Sans after it for the remaining glyphs. Only fonts
  that are installed are listed, so matplotlib never logs "font family not found"; without a
  CJK font Chinese text cannot be drawn (install ``fonts-noto-cjk``: ``bash .ci/sysdeps.sh``).
* Deterministic output: a fixed ``svg.hashsalt`` and PNGs saved without metadata
  (:func:`figure_png`): the same figure gives the same bytes.
"""

from __future__ import annotations

import io
import logging
import subprocess
from functools import lru_cache

import matplotlib as mpl
from matplotlib import cycler, font_manager
from matplotlib.figure import Figure

log = logging.getLogger(__name__)

#: Okabe–Ito categorical palette, in the order series take it.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Status colours (red/amber/green): for RAG status only, never for series.
RAG: dict[str, str] = {"green": "#1B7F3B", "amber": "#F2A900", "red": "#C62828"}
#: Text on a RAG badge (white on green/red, near-black on amber: contrast ≥ 4.5:1).
RAG_TEXT: dict[str, str] = {"green": "#FFFFFF", "amber": "#1A1A1A", "red": "#FFFFFF"}
#: Highlighted points (significant results, flagged days) and muted ones.
HIGHLIGHT = "#E69F00"
MUTED = "#9E9E9E"
#: Reference lines: targets, plans, control limits.
REFERENCE = "#333333"
INK = "#222222"

#: CJK-capable sans-serif fonts, in order of preference.
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei",
    "Arial Unicode MS",
)
FALLBACK_FONT = "DejaVu Sans"  # ships with matplotlib

#: Figure size (inches) and the resolution of embedded PNGs (dots per inch). 5.0 in is laid
#: out 480 CSS px wide and shown at the column's width (at most 600 px, report.css): on a
#: 390 px phone the column is 366 px, so a 10 pt text is 10 × 366 / (5.0 × 72) ≈ 10.2 px.
FIGSIZE: tuple[float, float] = (5.0, 3.3)
#: The smallest text of any chart (points): ≥ 10 px on a 390 px phone (tests/report/test_charts).
MIN_TEXT_PT = 10.0
#: The narrowest column a chart is shown in (CSS px): a 390 px phone less the page padding.
PHONE_COLUMN_PX = 366
DPI = 144


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font of :data:`CJK_FONTS`, or ``None`` when there is none."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None and _register_system_cjk_fonts():
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
    return found


def _register_system_cjk_fonts() -> bool:
    """Add CJK fonts that fontconfig knows but matplotlib's cached font list predates.

    matplotlib caches its font list on first use; fonts installed later (``fonts-noto-cjk``
    after a first plot) stay invisible until the cache is rebuilt. Registering the files
    fontconfig reports fixes that for this process without touching the cache.
    """
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    paths = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
    for path in paths:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue
    return bool(paths)


def theme_rc() -> dict[str, object]:
    """The matplotlib rcParams of the house theme."""
    cjk = cjk_font()
    return {
        "figure.figsize": FIGSIZE,
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "savefig.dpi": DPI,
        "savefig.facecolor": "white",
        "font.family": "sans-serif",
        "font.sans-serif": [cjk, FALLBACK_FONT] if cjk else [FALLBACK_FONT],
        "font.size": 10.5,
        "axes.unicode_minus": False,  # ASCII hyphen: CJK fonts may lack U+2212
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "axes.facecolor": "white",
        "axes.edgecolor": "#8C8C8C",
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "axes.axisbelow": True,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.titlepad": 10,
        "axes.labelsize": 10.5,
        "axes.labelcolor": INK,
        "grid.color": "#E3E3E3",
        "grid.linewidth": 0.8,
        "xtick.color": "#555555",
        "ytick.color": "#555555",
        "xtick.labelsize": MIN_TEXT_PT,
        "ytick.labelsize": MIN_TEXT_PT,
        "legend.frameon": False,
        "legend.fontsize": MIN_TEXT_PT,
        "lines.linewidth": 2.0,
        "image.cmap": "Blues",
        "svg.hashsalt": "campaign-review",
        "svg.fonttype": "path",
        "pdf.fonttype": 42,
    }


@lru_cache(maxsize=1)
def _note_missing_font() -> None:
    log.info("no CJK font found (looked for %s); Chinese chart text cannot be drawn. "
             "Install fonts-noto-cjk (bash .ci/sysdeps.sh) and delete matplotlib's font cache.",
             ", ".join(CJK_FONTS[:2]))


def apply_theme() -> None:
    """Set the house theme in matplotlib's global rcParams (idempotent, cheap).

    Every chart function of :mod:`review.report.charts` calls it, so charts look the same
    whether or not a notebook called it first; analysts' own seaborn/matplotlib plots pick up
    the palette and fonts too.
    """
    if cjk_font() is None:
        _note_missing_font()
    mpl.rcParams.update(theme_rc())


def figure_png(fig: Figure, *, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes at ``dpi``: no metadata, so identical figures give identical bytes.

    The image is ``figsize × dpi`` pixels (no tight cropping): layout is the figure's own.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def figure_svg(fig: Figure) -> bytes:
    """The figure as SVG bytes, text as paths, without the date (deterministic)."""
    buf = io.BytesIO()
    with mpl.rc_context({"svg.hashsalt": "campaign-review", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()

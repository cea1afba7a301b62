"""Charts: each builds from a tiny frame with title, labelled axes and footnote; Chinese text
renders with the CJK font without glyph warnings; the same figure gives the same bytes."""

import logging
import re
import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ticker import PercentFormatter

from review.errors import ReviewError
from review.report import charts, theme
from review.report.render import CSS_PATH

DAYS = pd.date_range("2026-10-01", periods=5, freq="D")


def _frames():
    return {
        "trend": pd.DataFrame({"date": list(DAYS) * 2, "dau": [5, 6, 7, 6, 8, 3, 4, 4, 5, 5],
                               "platform": ["iOS"] * 5 + ["安卓"] * 5}),
        "bars": pd.DataFrame({"channel": ["数字广告", "网点", "推荐"],
                              "users": [1200.0, np.nan, 300.0]}),
        "funnel": pd.DataFrame({"step": ["注册", "绑卡", "首笔交易"], "users": [1000, 600, 240]}),
        "cohort_heatmap": pd.DataFrame({"cohort": ["W1", "W1", "W1", "W2", "W2", "W3"],
                                        "age": [0, 1, 2, 0, 1, 0],
                                        "rate": [1.0, 0.5, 0.4, 1.0, 0.45, 1.0]}),
        "plan_vs_actual": pd.DataFrame({"category": ["数字广告", "培训"],
                                        "plan": [240_000.0, 60_000.0],
                                        "actual": [250_000.0, 30_000.0]}),
        "burn_down": pd.DataFrame({"date": DAYS, "actual": [10.0, 25, 33, np.nan, np.nan],
                                   "plan": [10.0, 20, 30, 40, 50]}),
        "forest": pd.DataFrame({"variant": ["A 组", "B 组"], "lift": [0.021, 0.004],
                                "lo": [0.008, -0.01], "hi": [0.034, 0.018]}),
        "control_chart": pd.DataFrame({"date": DAYS, "rate": [0.01, 0.012, 0.03, 0.011, 0.01],
                                       "centre": 0.012, "ucl": 0.02,
                                       "flagged": [False, False, True, False, False]}),
        "penetration": pd.DataFrame({"region": ["北京", "上海", "县甲", "县乙"],
                                     "rate": [0.72, 0.80, 0.45, 0.52],
                                     "tier": ["key", "key", "lower", "lower"]}),
    }


def _build(name, df, lang="zh", **texts):
    kw = {"title": "标题：" + name, "xlabel": "横轴（单位）", "ylabel": "纵轴（%）",
          "footnote": "数据来源：demo.duckdb；统计期：2026-10", "lang": lang, **texts}
    calls = {
        "trend": lambda: charts.trend(df, "date", "dau", hue="platform", target=5, **kw),
        "bars": lambda: charts.bars(df, "channel", "users", horizontal=True,
                                    value_format="count", **kw),
        "funnel": lambda: charts.funnel(df, "step", "users", **kw),
        "cohort_heatmap": lambda: charts.cohort_heatmap(df, "cohort", "age", "rate", **kw),
        "plan_vs_actual": lambda: charts.plan_vs_actual(df, "category", "plan", "actual", **kw),
        "burn_down": lambda: charts.burn_down(df, "date", "actual", "plan", total=50, **kw),
        "forest": lambda: charts.forest(df, "variant", "lift", "lo", "hi", **kw),
        "control_chart": lambda: charts.control_chart(df, "date", "rate", "centre", "ucl",
                                                      "flagged", **kw),
        "penetration": lambda: charts.penetration(df, "region", "rate", "tier",
                                                  {"key": 0.75, "lower": 0.5}, **kw),
    }
    return calls[name]()


HORIZONTAL = {"bars", "funnel", "plan_vs_actual", "forest", "penetration"}
NAMES = sorted(_frames())


@pytest.mark.parametrize("name", NAMES)
def test_chart_has_title_labelled_axes_and_footnote(name):
    df = _frames()[name]
    before = df.copy()
    fig = _build(name, df, lang="en", title=f"Title {name}", xlabel="Category (unit)",
                 ylabel="Value (%)", footnote="Source: demo; period 2026-10")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == f"Title {name}"
    # xlabel names the data column x / category, ylabel the value, wherever they are drawn
    if name in HORIZONTAL:
        assert (ax.get_ylabel(), ax.get_xlabel()) == ("Category (unit)", "Value (%)")
    else:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("Category (unit)", "Value (%)")
    assert charts.footnote_text(fig) == "Source: demo; period 2026-10"
    pd.testing.assert_frame_equal(df, before)   # the caller's frame is not changed


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.skipif(theme.cjk_font() is None,
                    reason="no CJK font: run `bash .ci/sysdeps.sh` as root (fonts-noto-cjk)")
@pytest.mark.parametrize("name", NAMES)
def test_chinese_text_renders_with_the_cjk_font_without_glyph_warnings(name):
    fig = _build(name, _frames()[name], lang="zh")
    records = _Records()
    font_log = logging.getLogger("matplotlib.font_manager")
    font_log.addHandler(records)
    old_level, font_log.level = font_log.level, logging.DEBUG
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            theme.figure_png(fig)
    finally:
        font_log.removeHandler(records)
        font_log.setLevel(old_level)
    messages = [str(w.message) for w in caught] + records.messages
    assert not [m for m in messages if re.search(r"Glyph|missing from|not found", m)], messages
    family = mpl.rcParams["font.sans-serif"][0]
    assert family == theme.cjk_font()
    assert "CJK" in findfont(FontProperties(family=["sans-serif"]), fallback_to_default=False)


@pytest.mark.parametrize("name", NAMES)
def test_same_chart_gives_the_same_bytes(name):
    first = theme.figure_png(_build(name, _frames()[name]))
    fig = _build(name, _frames()[name])
    png = theme.figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == first                              # built twice: same bytes
    assert theme.figure_png(fig) == first            # rendered twice: same bytes


@pytest.mark.parametrize("name", ["trend", "cohort_heatmap"])
def test_same_chart_gives_the_same_svg(name):
    # ids are hashed with the fixed svg.hashsalt and the date is left out
    assert theme.figure_svg(_build(name, _frames()[name])) == \
        theme.figure_svg(_build(name, _frames()[name]))


def test_funnel_labels_step_conversion():
    # 600 / 1000 = 60.0 %, 240 / 600 = 40.0 %
    fig = _build("funnel", _frames()["funnel"], lang="en")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1,000", "600 · 60.0% of previous step", "240 · 40.0% of previous step"]


def test_bars_label_missing_values_with_a_dash_and_keep_order_top_down():
    fig = _build("bars", _frames()["bars"], lang="en")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1,200", "—", "300"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["数字广告", "网点", "推荐"]
    assert ax.yaxis_inverted()


def test_grouped_bars_draw_one_series_per_hue():
    df = pd.DataFrame({"seg": ["a", "b", "a", "b"], "rate": [0.3, 0.5, 0.4, 0.6],
                       "f": ["x", "x", "y", "y"]})
    fig = charts.bars(df, "seg", "rate", hue="f", value_format="ratio", title="t", xlabel="x",
                      ylabel="y", footnote="f", lang="en")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y"]
    assert [t.get_text() for t in ax.texts] == ["30.0%", "50.0%", "40.0%", "60.0%"]


def test_forest_highlights_intervals_that_exclude_zero():
    fig = _build("forest", _frames()["forest"], lang="en")
    lines = [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) == 2
             and ln.get_linestyle() == "-"]
    # A: [0.008, 0.034] excludes 0 → highlighted; B: [-0.010, 0.018] contains 0 → muted
    assert [ln.get_color() for ln in lines] == [theme.PALETTE[0], theme.MUTED]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["Significant", "Not significant"]


def test_control_chart_marks_flagged_points():
    fig = _build("control_chart", _frames()["control_chart"], lang="en")
    (points,) = fig.axes[0].collections
    assert points.get_offsets()[:, 1].tolist() == [0.03]


def test_cohort_heatmap_leaves_missing_cells_blank_and_annotates_the_rest():
    fig = _build("cohort_heatmap", _frames()["cohort_heatmap"])
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    assert data.shape == (3, 3) and int(data.count()) == 6      # 3 unobserved cells masked
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        ["100%", "50%", "40%", "100%", "45%", "100%"])
    with pytest.raises(ReviewError, match="several rows per"):
        charts.cohort_heatmap(pd.concat([_frames()["cohort_heatmap"]] * 2), "cohort", "age",
                              "rate", title="t", xlabel="x", ylabel="y", footnote="f", lang="en")


def test_penetration_orders_by_tier_then_rate_and_shows_tier_targets():
    fig = _build("penetration", _frames()["penetration"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["上海", "北京", "县乙", "县甲"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]  # under the axes
    assert legend == ["重点城市（目标 75.0%）", "下沉市场（目标 50.0%）", "目标"]


def _bbox(artist, renderer):
    return artist.get_window_extent(renderer)


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(fig).get_renderer()


@pytest.mark.parametrize("name", NAMES)
def test_chart_text_is_at_least_10_px_on_a_phone(name):
    # shown at the phone column's width (366 px): a text of s points is
    # s / 72 in of a figure w in wide, i.e. s / 72 × 366 / w px (10 pt on 5.0 in: 10.2 px)
    fig = _build(name, _frames()[name])
    fig.draw_without_rendering()
    width_in = fig.get_size_inches()[0]
    sizes = {t.get_text(): t.get_fontsize() for t in fig.findobj(mpl.text.Text)
             if t.get_visible() and t.get_text().strip()}
    px = {text: size / 72 * theme.PHONE_COLUMN_PX / width_in for text, size in sizes.items()}
    assert sizes and min(px.values()) >= 10.0, {k: round(v, 1) for k, v in px.items() if v < 10}
    css = CSS_PATH.read_text(encoding="utf-8")
    assert re.search(r"figure\.chart img \{[^}]*width: 100%", css)  # the column's width


def test_control_chart_legend_covers_no_limit_line():
    # points close to the upper limit at both ends, where a legend inside the axes would sit
    df = pd.DataFrame({"date": DAYS, "rate": [0.019, 0.012, 0.03, 0.011, 0.019],
                       "centre": 0.012, "ucl": 0.02, "flagged": [False, False, True, False,
                                                                 False]})
    fig = _build("control_chart", df, lang="en")
    renderer = _renderer(fig)
    ax = fig.axes[0]
    assert ax.get_legend() is None and len(fig.legends) == 1
    legend = _bbox(fig.legends[0], renderer)
    assert not legend.overlaps(_bbox(ax, renderer))  # outside the plotting area
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "Centre line", "Upper control limit", "Flagged"]


def test_penetration_target_lines_never_cross_a_value_label():
    # 上海 at 80% and 县乙 at 52% are above their targets (75%, 50%); 北京 72% and 县甲 45%
    # are below: their labels must start right of the dashed target line, not on it
    fig = _build("penetration", _frames()["penetration"])
    renderer = _renderer(fig)
    ax = fig.axes[0]
    targets = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(targets) == 2
    labels = [t for t in ax.texts if t.get_text().endswith("%")]
    assert len(labels) == 4
    for line in targets:
        xs, ys = line.get_data()
        box = ax.transData.transform([[xs[0], min(ys)], [xs[1], max(ys)]])
        for label in labels:
            lb = _bbox(label, renderer)
            crosses = lb.x0 <= box[0][0] <= lb.x1 and lb.y0 <= max(box[:, 1]) \
                and lb.y1 >= min(box[:, 1])
            assert not crosses, label.get_text()


def test_trend_draws_a_dashed_target_and_a_legend():
    fig = _build("trend", _frames()["trend"], lang="en")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["iOS", "安卓", "Target"]
    assert ax.lines[-1].get_linestyle() == "--" and ax.lines[-1].get_ydata()[0] == 5


def test_long_footnotes_wrap():
    df = _frames()["funnel"]
    fig = _build("funnel", df, footnote="数据来源：" + "很长的说明" * 40)
    assert charts.footnote_text(fig).count("\n") >= 1


def test_missing_column_or_empty_frame_is_an_error_naming_it():
    with pytest.raises(ReviewError, match=r"trend\(\): column\(s\) \['dau2'\] not in the frame"):
        charts.trend(_frames()["trend"], "date", "dau2", title="t", xlabel="x", ylabel="y",
                     footnote="f", lang="en")
    with pytest.raises(ReviewError, match=r"funnel\(\): the frame is empty"):
        charts.funnel(_frames()["funnel"].iloc[0:0], "step", "users", title="t", xlabel="x",
                      ylabel="y", footnote="f", lang="en")
    with pytest.raises(ValueError, match="unknown language"):
        charts.funnel(_frames()["funnel"], "step", "users", title="t", xlabel="x", ylabel="y",
                      footnote="f", lang="jp")


def test_axis_helpers():
    assert charts.compact_number(12_000, "zh") == "1.2万"
    assert charts.compact_number(1_500_000, "en") == "1.5M"
    assert charts.compact_number(950, "en") == "950"
    ratio = charts.axis_formatter("ratio", "en")
    assert isinstance(ratio, PercentFormatter) and ratio.xmax == 1.0
    assert charts.axis_formatter("currency", "zh")(30_000, 0) == "¥3万"
    assert charts.axis_formatter("currency", "en")(30_000, 0) == "CNY 30k"
    assert charts.axis_formatter("multiple", "en")(1.5, 0) == "1.5×"


def test_theme_palette_rag_and_fonts():
    theme.apply_theme()
    assert set(theme.RAG.values()).isdisjoint(theme.PALETTE)   # RAG colours only mean status
    assert theme.PALETTE[:3] == ("#0072B2", "#E69F00", "#56B4E9")   # Okabe–Ito
    assert mpl.rcParams["axes.unicode_minus"] is False
    assert mpl.rcParams["svg.hashsalt"] == "campaign-review"
    assert mpl.rcParams["font.sans-serif"][-1] == theme.FALLBACK_FONT
    css = CSS_PATH.read_text(encoding="utf-8")
    for name, colour in theme.RAG.items():                          # HTML badges match charts
        assert f"--rag-{name}: {colour};" in css


def test_without_a_cjk_font_the_theme_falls_back_quietly(monkeypatch, caplog):
    monkeypatch.setattr(theme, "cjk_font", lambda: None)
    try:
        with warnings.catch_warnings(record=True) as caught, \
                caplog.at_level(logging.DEBUG, logger="matplotlib.font_manager"):
            warnings.simplefilter("always")
            fig = _build("funnel", _frames()["funnel"].assign(step=["a", "b", "c"]), lang="en",
                         title="Funnel", xlabel="Step", ylabel="Users", footnote="Source: demo")
            theme.figure_png(fig)
        assert mpl.rcParams["font.sans-serif"] == [theme.FALLBACK_FONT]
        assert [str(w.message) for w in caught] == []
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        monkeypatch.undo()
        theme.apply_theme()


def test_a_long_category_name_is_wrapped_and_cut_not_squeezing_the_plot():
    long = "Referral wave two · " * 6  # 120 characters
    df = pd.DataFrame({"channel": [long, "网点"], "users": [10.0, 20.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied …" would raise
        fig = _build("bars", df, lang="en")
    first = fig.axes[0].get_yticklabels()[0].get_text()
    assert first.count("\n") == 1 and first.endswith("…") and len(first) < 50
    assert fig.axes[0].get_yticklabels()[1].get_text() == "网点"

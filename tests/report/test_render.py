"""nbconvert rendering: hidden code, removed cells, one TOC whose anchors resolve, nothing
external, deterministic bytes, the lang attribute. Notebooks are built here, no kernel."""

import base64
import re

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from matplotlib.figure import Figure
from nbformat import v4

from review.metrics.result import KpiValue
from review.report import charts, show, theme
from review.report.render import (
    assemble_report,
    notebook_to_html,
    prepare_notebook,
)
from review.report.tables import kpi_table, kpi_tiles

EXTERNAL = re.compile(r"""\b(?:src|href|srcset)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _html_out(fragment):
    return v4.new_output("display_data", data={"text/html": fragment})


def _png_out():
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    return v4.new_output("display_data", data={
        "image/png": base64.b64encode(theme.figure_png(fig, dpi=40)).decode("ascii"),
        "text/plain": "<Figure size 200x100 with 1 Axes>"})


def section_notebook(lang, key="section.summary"):
    """A tiny executed section: every kind of cell the renderer must keep or remove."""
    chart = charts.funnel(pd.DataFrame({"step": ["a", "b"], "users": [10, 6]}), "step", "users",
                          title="Funnel", xlabel="step", ylabel="users", footnote="Source: test",
                          lang=lang)
    kpi = KpiValue("mau_ratio", 0.612, "ratio", "higher", target=0.6, attainment=1.02,
                   rag="green")
    cells = [
        v4.new_code_cell("period = 'SECRET_PARAM'", metadata={"tags": ["parameters"]},
                         outputs=[_html_out("<p>PARAMETERS OUTPUT</p>")]),
        v4.new_code_cell("period = 'INJECTED'", metadata={"tags": ["injected-parameters"]}),
        v4.new_markdown_cell("ANALYST ONLY: check the join", metadata={"tags": ["analyst-note"]}),
        v4.new_code_cell("x = 'REMOVED_CODE'", metadata={"tags": ["remove"]},
                         outputs=[_html_out("<p>REMOVED OUTPUT</p>")]),
        v4.new_code_cell("show.heading('section.summary', lang)  # SECRET_CODE",
                         execution_count=3, outputs=[_html_out(show.heading_html(key, lang))]),
        v4.new_markdown_cell("### Shown markdown\n\nVISIBLE NARRATIVE with a "
                             "[link](#section-summary)."),
        v4.new_code_cell("print('noise')", outputs=[
            v4.new_output("stream", name="stdout", text="STDOUT NOISE"),
            v4.new_output("stream", name="stderr", text="STDERR NOISE"),
            _html_out(show.heading_html("Tiles", lang, level=3)),
            _html_out(kpi_tiles([kpi], lang)),
            _html_out(kpi_table([kpi], lang)),
            _png_out(),
        ]),
        v4.new_code_cell("show.chart(fig)", outputs=[_html_out(show.chart_html(chart))]),
        v4.new_code_cell("display(Javascript())", outputs=[v4.new_output(
            "display_data", data={"application/javascript": "alert('JS_OUTPUT')"})]),
        v4.new_code_cell("x = 1"),                                  # no output: dropped
        v4.new_code_cell("1/0", outputs=[v4.new_output(
            "error", ename="ZeroDivisionError", evalue="division by zero",
            traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"])]),
    ]
    return v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})


def sample_sections(lang):
    """Two sections, the second with an external image and a heading clashing with the first."""
    second = v4.new_notebook(cells=[
        v4.new_code_cell("", outputs=[_html_out(show.heading_html("section.goals", lang))]),
        v4.new_markdown_cell("### Shown markdown\n\n![logo](https://cdn.example.com/logo.png)"),
        v4.new_code_cell("", outputs=[_html_out(show.unavailable_html(["spend"], lang))]),
    ])
    return [("summary", section_notebook(lang)), ("goals", second)]


@pytest.fixture(scope="module", params=["zh", "en"])
def report(request):
    lang = request.param
    return lang, assemble_report(sample_sections(lang), title=f"Report {lang}", lang=lang,
                                 subtitle="Period: 2026-10")


def test_code_inputs_and_prompts_are_hidden(report):
    _, html = report
    assert "SECRET_CODE" not in html and "show.heading" not in html
    assert "In&nbsp;[" not in html and "Out[" not in html


def test_tagged_cells_are_removed_with_their_outputs(report):
    _, html = report
    for text in ("SECRET_PARAM", "PARAMETERS OUTPUT", "INJECTED", "ANALYST ONLY",
                 "REMOVED_CODE", "REMOVED OUTPUT"):
        assert text not in html


def test_streams_and_scripts_are_dropped_errors_and_markdown_kept(report):
    _, html = report
    assert "STDOUT NOISE" not in html and "STDERR NOISE" not in html
    assert "JS_OUTPUT" not in html and "<script" not in html
    assert "ZeroDivisionError" in html and "division by zero" in html
    assert "VISIBLE NARRATIVE" in html


def test_one_toc_whose_anchors_all_resolve(report):
    lang, html = report
    soup = BeautifulSoup(html, "html.parser")
    assert len(soup.select("nav.toc")) == 1
    links = [a["href"] for a in soup.select("nav.toc a")]
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    assert len(ids) == len(set(ids))                      # ids are unique in the page
    assert links and all(href.startswith("#") and href[1:] in ids for href in links)
    # every h2/h3 of the sections is listed, in order: the clash got a suffix
    heads = [h["id"] for h in soup.select("main h2, main h3")]
    assert [href[1:] for href in links] == heads
    assert heads == ["section-summary", "Shown-markdown", "tiles", "section-goals",
                     "Shown-markdown-2"]
    top = [a.get_text() for a in soup.select("nav.toc details > ol > li > a")]
    assert top == (["执行摘要", "目标设定"] if lang == "zh" else
                   ["Executive summary", "Goals"])
    assert soup.select_one("nav.toc .toc-title").get_text() == ("目录" if lang == "zh"
                                                                 else "Contents")


def test_sections_keep_their_order_and_ids(report):
    _, html = report
    soup = BeautifulSoup(html, "html.parser")
    assert [s["id"] for s in soup.select("main > section.report-section")] == \
        ["sec-summary", "sec-goals"]


def test_nothing_external_is_referenced(report):
    _, html = report
    assert not EXTERNAL.findall(html)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("link") is None and soup.find("script") is None
    assert all(img["src"].startswith("data:image/") for img in soup.find_all("img"))
    assert len(soup.find_all("img")) == 2                 # the PNG output and the chart
    assert soup.select_one("span.blocked").get_text() == "logo"   # the CDN image is gone
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in csp and "img-src data:" in csp


def test_page_head_lang_charset_viewport_and_inline_css(report):
    lang, html = report
    assert html.startswith("<!DOCTYPE html>\n")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == {"zh": "zh-CN", "en": "en"}[lang]
    assert soup.find("meta", charset=True)["charset"] == "utf-8"
    assert "width=device-width" in soup.find("meta", attrs={"name": "viewport"})["content"]
    assert ".kpi-tiles" in soup.style.get_text() and "@media print" in soup.style.get_text()
    assert soup.title.get_text() == f"Report {lang}"
    assert soup.select_one(".report-subtitle").get_text() == "Period: 2026-10"


def test_same_notebooks_give_the_same_bytes(report):
    lang, html = report
    again = assemble_report(sample_sections(lang), title=f"Report {lang}", lang=lang,
                            subtitle="Period: 2026-10")
    assert again == html


def test_inputs_are_not_changed():
    nb = section_notebook("en")
    before = nbformat.writes(nb)
    prepare_notebook(nb, section="x")
    notebook_to_html(nb, title="T", lang="en")
    assert nbformat.writes(nb) == before


def test_prepare_notebook_keeps_only_what_readers_see():
    out = prepare_notebook(section_notebook("en"), section="summary")
    kinds = [c.cell_type for c in out.cells]
    assert kinds == ["code", "markdown", "code", "code", "code"]
    assert [c.id for c in out.cells] == [f"summary-{i}" for i in range(5)]
    assert all(c.source == "" for c in out.cells if c.cell_type == "code")
    types = [o.output_type for c in out.cells if c.cell_type == "code" for o in c.outputs]
    assert "stream" not in types and types.count("error") == 1


def test_notebook_to_html_is_a_whole_page():
    html = notebook_to_html(section_notebook("zh"), title="市场分析", lang="zh")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == "zh-CN" and soup.h1.get_text() == "市场分析"
    assert [a["href"] for a in soup.select("nav.toc a")][0] == "#section-summary"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language"):
        assemble_report([], title="T", lang="fr")


def test_show_functions_display_html_and_close_pyplot_figures(monkeypatch):
    shown = []
    monkeypatch.setattr(show, "display", lambda obj: shown.append(obj.data))
    from matplotlib import pyplot as plt

    fig = plt.figure(figsize=(2, 1))
    fig.suptitle("Sup")
    assert show.chart(fig) is None
    assert not plt.fignum_exists(fig.number)                 # closed: not shown twice
    show.heading("section.goals", "zh", level=2)
    show.note("report.suppressed", "en", k=10)
    show.unavailable(["spend", "users"], "zh")
    show.html("<b>x</b>")
    assert shown[0].startswith('<figure class="chart"><img src="data:image/png;base64,')
    assert 'alt="Sup"' in shown[0] and 'width="192" height="96"' in shown[0]
    assert shown[1:] == [
        '<h2 id="section-goals">目标设定</h2>',
        '<p class="note">Cells with fewer than 10 users are hidden (—) to protect customer '
        "privacy.</p>",
        '<div class="unavailable" role="note">暂无法展示：需要数据表 spend、users</div>',
        "<b>x</b>",
    ]


def test_slugs_are_stable():
    assert show.slugify("section.market_analysis") == "section-market-analysis"
    assert show.slugify("市场分析 2") == "市场分析-2"
    assert show.slugify("!!!") == show.slugify("!!!") and show.slugify("!!!").startswith("h-")
    with pytest.raises(ValueError, match="heading level 7"):
        show.heading_html("x", "en", level=7)


def test_percent_encoded_markdown_ids_become_readable_slugs():
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("## 市场 分析\n\n### 市场 分析")])
    soup = BeautifulSoup(notebook_to_html(nb, title="T", lang="zh"), "html.parser")
    assert [h["id"] for h in soup.select("main h2, main h3")] == ["市场-分析", "市场-分析-2"]
    assert [a["href"] for a in soup.select("nav.toc a")] == ["#市场-分析", "#市场-分析-2"]
    assert soup.select("a.anchor-link") == []


def test_contents_are_collapsed_after_the_summary(report):
    _, html = report
    soup = BeautifulSoup(html, "html.parser")
    nav = soup.select_one("nav.toc")
    assert nav.find_previous("section")["id"] == "sec-summary"  # never before the summary
    assert nav.find_next("section")["id"] == "sec-goals"
    assert nav.details is not None and not nav.details.has_attr("open")

"""The files beside report.html: report.pdf (A4, printed by the system Chromium; the summary on
page 1, each section from a new page) and tables.xlsx (one sheet per table of the report,
as the report shows it)."""

from __future__ import annotations

import io
import unicodedata

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbformat import v4
from openpyxl import load_workbook

from review.metrics.result import KpiValue
from review.report import workbook
from review.report.render import assemble_report
from review.report.tables import Col, data_table, kpi_table
from review.runner import pdf
from tests.report.test_render import sample_sections

A4_PT = (595.28, 841.89)


@pytest.fixture(scope="module", params=["zh", "en"])
def page(request, tmp_path_factory):
    lang = request.param
    html = assemble_report(sample_sections(lang), title=f"Report {lang}", lang=lang)
    path = tmp_path_factory.mktemp("pdf") / "report.html"
    path.write_text(html, encoding="utf-8")
    return lang, path, html


@pytest.mark.browser
def test_report_pdf_is_a4_with_the_summary_on_page_1(page):
    pypdf = pytest.importorskip("pypdf")
    if pdf.find_chromium() is None:
        pytest.skip("no chromium: run `bash .ci/sysdeps.sh` as root")
    lang, html_path, _ = page
    out = html_path.with_name("report.pdf")
    assert pdf.write_pdf(html_path, out) is None
    reader = pypdf.PdfReader(out)
    assert len(reader.pages) >= 2
    for p in reader.pages:
        w, h = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2, (w, h)
    # NFKC: the PDF's text maps some CJK glyphs to Kangxi radicals (⾏ for 行)
    first = " ".join(unicodedata.normalize("NFKC", reader.pages[0].extract_text()).split())
    summary, tile, goals, toc = (("执行摘要", "月活占比", "目标设定", "目录") if lang == "zh"
                                 else ("Executive summary", "MAU ratio", "Goals", "Contents"))
    assert summary in first and tile in first
    assert toc not in first  # no table of contents on paper: the summary opens page 1
    assert goals not in first  # the next section starts on a new page
    assert not out.with_name(".report.pdf.part").exists()


def test_no_chromium_is_a_note_not_an_error(page, monkeypatch, tmp_path):
    monkeypatch.setenv(pdf.CHROMIUM_ENV, "no-such-browser-here")
    note = pdf.write_pdf(page[1], tmp_path / "report.pdf")
    assert note is not None and "no Chromium" in note
    assert not (tmp_path / "report.pdf").exists()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tables_xlsx_has_one_sheet_per_report_table(lang, tmp_path):
    # a KPI table and a breakdown with a suppressed small cell, assembled as a report
    frame = pd.DataFrame({"region": ["north", "south"], "users": [1200.0, np.nan],
                          "suppressed": [False, True]})
    kpi = KpiValue("mau_ratio", 0.612, "ratio", "higher", target=0.6, attainment=1.02,
                   rag="green")
    html_out = (kpi_table([kpi], lang) + data_table(
        frame, [Col("region", "col.region"), Col("users", "col.users", "count")], lang))
    nb = v4.new_notebook(cells=[v4.new_code_cell("", outputs=[v4.new_output(
        "display_data", data={"text/html": html_out})])])
    html = assemble_report([("summary", nb)], title="T", lang=lang)
    tables = BeautifulSoup(html, "html.parser").select("main table")
    n = workbook.write_workbook(html, tmp_path / "tables.xlsx")
    wb = load_workbook(tmp_path / "tables.xlsx")
    assert n == len(wb.sheetnames) == len(tables) == 2
    for ws, table in zip(wb.worksheets, tables, strict=True):
        header = [" ".join(c.get_text(" ", strip=True).split())
                  for c in table.select("thead tr")[0].find_all(["th", "td"])]
        rows = list(ws.iter_rows(values_only=True))
        assert list(rows[1])[:len(header)] == header  # the report's own headers
        assert len(rows) == 1 + len(table.select("thead tr")) + len(table.select("tbody tr"))
    kpis, breakdown = (list(ws.iter_rows(values_only=True)) for ws in wb.worksheets)
    assert kpis[1][:2] == (("指标", "状态") if lang == "zh" else ("KPI", "Status"))
    assert kpis[2][2] == pytest.approx(0.612)  # 61.2% as a number
    assert breakdown[2][1] == 1200 and breakdown[3][1] == "—"  # suppressed as in the report
    # the same page gives the same bytes
    assert workbook.workbook_bytes(workbook.report_tables(html)) == \
        (tmp_path / "tables.xlsx").read_bytes()


def test_workbook_known_answer():
    # a caption titles the sheet; numbers become numbers, a percentage a fraction with its
    # format, a suppressed cell (—) and labels stay text; the header row is bold
    html = """<main><h3>Ignored heading</h3><table><caption>Channels: CAC / ROI</caption>
      <thead><tr><th>Channel</th><th>Users</th><th>Share</th><th>Note</th></tr></thead>
      <tbody><tr><th>Referral</th><td>1,234</td><td>12.5%</td><td>ok</td></tr>
      <tr><th>Branch</th><td>—</td><td>-0.4%</td><td>1.2万</td></tr></tbody></table>
      <h3>Second</h3><table><tr><th>a</th></tr><tr><td>2.50</td></tr></table></main>"""
    data = workbook.workbook_bytes(workbook.report_tables(html))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Channels  CAC   ROI", "Second"]  # ':' and '/' are not allowed
    ws = wb.worksheets[0]
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [
        ["Channels: CAC / ROI", None, None, None],
        ["Channel", "Users", "Share", "Note"],
        ["Referral", 1234, 0.125, "ok"],
        ["Branch", "—", -0.004, "1.2万"]]
    assert ws["C3"].number_format == "0.0%" and ws["B2"].font.b
    assert [list(r) for r in wb.worksheets[1].iter_rows(values_only=True)] == [
        ["Second"], ["a"], [2.5]]
    assert workbook.write_workbook("<main><p>no table</p></main>", "unused.xlsx") == 0


def test_workbook_text_is_never_a_formula():
    html = ('<main><table><caption>=1+1</caption><thead><tr><th>=A1</th></tr></thead>'
            '<tbody><tr><td>=HYPERLINK("http://x","y")</td></tr><tr><td>-3</td></tr>'
            '</tbody></table></main>')
    ws = load_workbook(io.BytesIO(workbook.workbook_bytes(workbook.report_tables(html)))).active
    assert [c.data_type for c in ws["A"]] == ["s", "s", "s", "n"]
    assert ws["A3"].value == '=HYPERLINK("http://x","y")' and ws["A4"].value == -3

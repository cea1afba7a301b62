"""End to end: real notebooks → real reports (en and zh) on the demo store.

Two demo periods are rendered by the batch runner into a temporary outputs folder, then:
no customer identifier reaches any HTML or executed-notebook output, nothing external is
referenced, and a headless Chromium opens both reports offline without errors (screenshots
kept under ``$REVIEW_SCREENSHOTS`` as a CI artefact, else in a temporary folder).
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from review.paths import PARAMS_DIR
from review.runner import RunOptions, run_batch
from tests.report.test_browser import _open, _problems, _save, browser  # noqa: F401

pytestmark = pytest.mark.slow
PERIODS = {"en": "2026-09", "zh": "2026-10"}


@pytest.fixture(scope="module")
def outputs(demo_store, tmp_path_factory) -> Path:
    """The two periods rendered from the session's small demo store."""
    tmp = tmp_path_factory.mktemp("e2e")
    files = []
    for period in PERIODS.values():
        params = yaml.safe_load((PARAMS_DIR / f"{period}.yaml").read_text(encoding="utf-8"))
        params["source"] = str(demo_store)
        path = tmp / f"{period}.yaml"
        path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
        files.append(path)
    result = run_batch(files, RunOptions(out_dir=tmp / "outputs", jobs=2, progress=False))
    assert result.ok, result.summary()
    return tmp / "outputs"


def _rendered_text(out: Path) -> str:
    """Every HTML file and every output of every executed notebook, as one text."""
    parts = [p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.html"))]
    for nb in sorted(out.rglob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        parts += [json.dumps(c.get("outputs", []), ensure_ascii=False) for c in cells]
    return "\n".join(parts)


def test_every_section_and_the_index_are_built(outputs):
    for lang, period in PERIODS.items():
        folder = outputs / period
        assert (folder / "report.html").is_file()
        assert len(list(folder.glob("0*_*.html"))) == 7
        html = (folder / "report.html").read_text(encoding="utf-8")
        assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["period"] == period and metrics["kpis"]["mau_ratio"]["value"] > 0
    index = (outputs / "index.html").read_text(encoding="utf-8")
    assert all(period in index for period in PERIODS.values())


def test_no_personal_data_reaches_any_output(outputs, demo_con):
    users = demo_con.table("users").select("user_id", "phone", "name").to_pandas()
    text = _rendered_text(outputs)
    ids = set(re.findall(r"U\d{5,}", text)) & set(users["user_id"])
    phones = set(re.findall(r"1[3-9]\d{9}", text)) & set(users["phone"])
    names = [n for n in set(users["name"]) if len(n) >= 3 and n in text]
    assert (sorted(ids), sorted(phones), names) == ([], [], [])


def test_nothing_external_is_referenced(outputs):
    for html in outputs.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), html


@pytest.mark.browser
@pytest.mark.parametrize("lang", PERIODS)
def test_real_report_opens_offline_in_chromium(browser, outputs, lang):  # noqa: F811
    report = outputs / PERIODS[lang] / "report.html"
    shot_name = report.with_name(f"demo-{lang}.html")  # screenshots: demo-<lang>-desktop.png
    facts, events, shot = _open(browser, report, "desktop")
    _save(shot, shot_name, "desktop")
    assert _problems(events) == []
    assert facts["lang"] == ("zh-CN" if lang == "zh" else "en")
    assert facts["toc"] and [t["id"] for t in facts["toc"] if not t["found"]] == []
    assert len(facts["images"]) >= 20
    assert [i for i in facts["images"] if not (i["complete"] and i["width"] > 0)] == []


# -- the 工作通报 as management reads it --------------------------------------------------------
#: Latin words a zh report may show: abbreviations the bank uses as they are, brands, units.
ZH_ALLOWED = {"CAC", "LTV", "ROI", "NPS", "MAU", "DAU", "KPI", "AUM", "SRM", "App", "APP",
              "iOS", "Android", "CNY", "QuestMobile", "PDF", "Excel", "pp", "A", "B",
              "C", "vs", "UCL", "LCL", "CUPED", "KOL", "OK", "ID", "USD", "HNW", "PV", "UV",
              "p", "k", "n", "χ", "ATM", "Holm"}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _reader_text(html: str) -> str:
    """What a reader of the report sees, without the appendix (codes, versions, file names)
    and the analyst's own commentary (written in whatever language the analyst chose)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.select("style, script, section#sec-appendix, aside.commentary"):
        tag.decompose()
    return soup.get_text(" ")


def test_every_word_is_in_the_readers_language(outputs):
    zh = _reader_text((outputs / PERIODS["zh"] / "report.html").read_text(encoding="utf-8"))
    words = set(re.findall(r"[A-Za-z][A-Za-z\-']+", zh)) - ZH_ALLOWED
    assert sorted(words) == []
    en = _reader_text((outputs / PERIODS["en"] / "report.html").read_text(encoding="utf-8"))
    assert sorted({m.group(0) for m in re.finditer(r"\S*" + CJK.pattern + r"\S*", en)}) == []


@pytest.mark.parametrize("lang", PERIODS)
def test_summary_first_and_the_plan_closes_evaluation(outputs, lang):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((outputs / PERIODS[lang] / "report.html").read_text(encoding="utf-8"),
                         "html.parser")
    sections = [s["id"] for s in soup.select("main > section.report-section")]
    assert sections[0] == "sec-summary"
    # the contents never come before the summary
    assert soup.select_one("#sec-summary").find_previous("nav") is None
    plan = soup.select_one("#sec-evaluation [data-block=plan]")
    assert plan is not None, "the 总结与下期计划 block is missing"


def test_tables_xlsx_matches_the_reports_tables(outputs):
    from bs4 import BeautifulSoup
    from openpyxl import load_workbook

    for period in PERIODS.values():
        folder = outputs / period
        soup = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"),
                             "html.parser")
        wb = load_workbook(folder / "tables.xlsx", read_only=True)
        assert len(wb.sheetnames) == len(soup.select("main table")) > 5


@pytest.mark.browser
@pytest.mark.parametrize("lang", PERIODS)
def test_report_pdf_has_the_summary_on_page_1(outputs, lang):
    import unicodedata

    pypdf = pytest.importorskip("pypdf")
    from review.runner.pdf import find_chromium

    if find_chromium() is None:
        pytest.skip("no chromium")
    reader = pypdf.PdfReader(outputs / PERIODS[lang] / "report.pdf")
    page1 = " ".join(unicodedata.normalize("NFKC", reader.pages[0].extract_text()).split())
    for p in reader.pages:
        assert abs(float(p.mediabox.width) - 595.28) < 2
        assert abs(float(p.mediabox.height) - 841.89) < 2
    assert ("执行摘要" if lang == "zh" else "Executive summary") in page1
    assert ("月活占比" if lang == "zh" else "MAU ratio") in page1  # a tile


@pytest.mark.browser
@pytest.mark.parametrize("lang", PERIODS)
def test_real_report_fits_a_phone(browser, outputs, lang):  # noqa: F811
    report = outputs / PERIODS[lang] / "report.html"
    facts, events, shot = _open(browser, report, "phone")
    _save(shot, report.with_name(f"demo-{lang}.html"), "phone")
    assert _problems(events) == []
    assert facts["overflow"] <= 0
    assert facts["status"] and all(s["visible"] for s in facts["status"])

"""No markup from the data or the parameters reaches the page: it is shown as text.

Every free-text field of the data (campaign ids and names, variants, complaint categories,
regions, benchmark period/source/metric/subject) and every free-text parameter (milestone
names, campaign ids) carries a markup payload; the demo period is computed, every block is
rendered and the report is assembled, in both languages. The DOM must hold no element or
attribute coming from a payload, and the payload text must be visible as text.
"""

from __future__ import annotations

import shutil
import subprocess

import duckdb
import nbformat
import pytest
from bs4 import BeautifulSoup

from review.config import Params, load_params
from review.data import connect
from review.errors import ParamsError
from review.metrics import compute_period
from review.paths import PARAMS_DIR
from review.report import blocks, render, show

from .test_blocks import BLOCKS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '<svg onload="alert(3)"></svg>',
    '<a href="https://evil.example/">click</a>',
    '<div style="position:fixed;inset:0;background:red">x</div>',
]


def _p(i: int, keep: str = "") -> str:
    """A payload (cycled), prefixed with ``keep`` so that keys stay distinct."""
    return f"{keep}{PAYLOADS[i % len(PAYLOADS)]}"


@pytest.fixture(scope="module")
def poisoned(demo_store, tmp_path_factory):
    """A copy of the demo store with a payload in every free-text column."""
    path = tmp_path_factory.mktemp("poisoned") / "store.duckdb"
    shutil.copy(demo_store, path)
    con = duckdb.connect(str(path))
    ids = [r[0] for r in con.sql("select campaign_id from campaigns order by 1").fetchall()]
    mapping = {cid: _p(i, cid) for i, cid in enumerate(ids)}
    for table in ("campaigns", "assignments", "spend"):
        for old, new in mapping.items():
            con.execute(f"update {table} set campaign_id = ? where campaign_id = ?", [new, old])
    con.execute("update campaigns set name = name || ?", [_p(1)])
    con.execute("update campaigns set target_segment = target_segment || ?", [_p(2)])
    con.execute("update assignments set variant = variant || ? where variant <> 'control'",
                [_p(3)])
    cats = [r[0] for r in con.sql("select distinct category from complaints").fetchall()]
    for i, c in enumerate(cats):
        con.execute("update complaints set category = ? where category = ?", [_p(i, c), c])
    regions = [r[0] for r in con.sql("select region from regions").fetchall()]
    for i, r in enumerate(regions):
        for table in ("regions", "users"):
            con.execute(f"update {table} set region = ? where region = ?", [_p(i, r), r])
    for i, col in enumerate(("source", "metric", "subject")):
        con.execute(f"update benchmarks set {col} = {col} || ?", [_p(i)])
    con.close()
    return path, mapping


def _params(lang: str, mapping: dict[str, str], source) -> Params:
    base = load_params(PARAMS_DIR / "2026-09.yaml").model_dump(mode="json")
    base["lang"], base["source"] = lang, str(source)
    base["campaigns"] = [
        {"id": mapping.get(c["id"], c["id"]),
         "planned_split": {(v if v == "control" else v + _p(3)): s
                           for v, s in c["planned_split"].items()}}
        for c in base["campaigns"]]
    base["milestones"] = [{**m, "name": _p(i + 3, m["name"])}
                          for i, m in enumerate(base["milestones"])]
    return Params.from_dict(base)


def _report(pm, cfg) -> str:
    """Every block of the period, assembled as a report (as the runner does)."""
    shown: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(show, "display", lambda obj: shown.append(obj.data))
        for block in BLOCKS:
            block(pm, cfg)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": fragment})]) for fragment in shown]
    return render.assemble_report([("summary", nb)], title="t", lang=cfg.lang)


@pytest.fixture(scope="module", params=["en", "zh"])
def page(request, poisoned) -> str:
    """The poisoned period's report in one language."""
    path, mapping = poisoned
    cfg = _params(request.param, mapping, path)
    con = connect(path)
    try:
        pm = compute_period(con, cfg)
    finally:
        con.disconnect()
    return _report(pm, cfg)


def _sparkline(tag) -> bool:
    """The tiles' own sparkline: an ``svg.sparkline`` of one polyline and one circle."""
    return (tag.name == "svg" and tag.get("class") == ["sparkline"]
            and [c.name for c in tag.find_all(True)] == ["polyline", "circle"])


def _payload_markup(soup: BeautifulSoup) -> list[str]:
    """Elements and attributes in the DOM that only a payload can have put there."""
    found = [str(tag)[:80] for tag in soup.find_all(["script", "svg", "iframe", "object"])
             if not _sparkline(tag)]
    for tag in soup.find_all(True):
        found += [f"<{tag.name} {a}>" for a in tag.attrs if a.lower().startswith("on")]
        if tag.name == "a" and not str(tag.get("href", "#")).startswith("#"):
            found.append(str(tag)[:80])
        if tag.name == "img" and not str(tag.get("src", "")).startswith("data:image/png"):
            found.append(str(tag)[:80])
        if tag.name == "div" and tag.get("style"):
            found.append(str(tag)[:80])
    return found


def test_payloads_in_data_and_params_render_as_text(page):
    soup = BeautifulSoup(page, "html.parser")
    assert _payload_markup(soup) == []
    text = soup.get_text()
    # the payloads are there, as text: in tables, findings and narratives
    missing = [p for p in PAYLOADS if p not in text]
    assert not missing, missing
    findings = soup.select("ol.findings li")
    assert findings and any("<" in li.get_text() for li in findings)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")
def test_payloads_stay_text_in_the_browser_dom(page, tmp_path):
    """The DOM Chromium builds from the page (after parsing and any script) holds no payload
    element either."""
    html = tmp_path / "report.html"
    html.write_text(page, encoding="utf-8")
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", html.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    soup = BeautifulSoup(dom, "html.parser")
    assert soup.select("ol.findings li")  # the page did load
    assert _payload_markup(soup) == []


def test_a_finding_with_markup_is_escaped(demo_con, monkeypatch):
    """The findings list escapes title, evidence and action (known-answer on one finding)."""
    from review.report.findings import Finding

    cfg = load_params(PARAMS_DIR / "2026-09.yaml")
    shown: list[str] = []
    monkeypatch.setattr(show, "display", lambda obj: shown.append(obj.data))
    item = Finding(rule="x", severity=3, subject=PAYLOADS[0], title=PAYLOADS[3],
                   evidence=PAYLOADS[4], action=PAYLOADS[1])
    blocks._findings_list([item], cfg, details=True)
    soup = BeautifulSoup(shown[0], "html.parser")
    assert _payload_markup(soup) == []
    assert soup.find("strong").get_text() == PAYLOADS[3]
    assert PAYLOADS[4] in soup.get_text() and PAYLOADS[1] in soup.get_text()


@pytest.mark.parametrize("currency", ["<b>x</b>", "CNY<script>", "EURO DOLLARS", "€€€€€"])
def test_currency_is_a_code_or_a_short_symbol(currency):
    with pytest.raises(ParamsError, match="currency"):
        Params.from_dict({"period": "2026-09", "start": "2026-09-01", "end": "2026-09-30",
                          "currency": currency})


@pytest.mark.parametrize("currency", ["CNY", "USD", "¥", "€", "US$", "HK$"])
def test_usual_currencies_are_accepted(currency):
    cfg = Params.from_dict({"period": "2026-09", "start": "2026-09-01", "end": "2026-09-30",
                            "currency": currency})
    assert cfg.currency == currency

"""The analyst's commentary: parsed by section, rendered as sanitised Markdown at the end of
its section (the batch test is tests/runner/test_commentary_batch.py)."""

from __future__ import annotations

from bs4 import BeautifulSoup
from nbformat import v4

from review import cli
from review.report import commentary
from review.report.render import assemble_report

HOSTILE = """Intro above the first heading is not shown.

## summary
Growth came from **referrals**. <script>alert("x")</script>
<img src=x onerror=alert(1)> [bad](javascript:alert(1)) [ok](https://example.com/a)
![pixel](https://tracker.example/p.gif)

# A big heading

## nonsense
dropped

## plan
- Move ¥50,000 to referrals.
"""


def test_parse_keeps_known_sections_only():
    parsed = commentary.parse(HOSTILE)
    assert set(parsed) == {"summary", "plan"}
    assert parsed["plan"] == "- Move ¥50,000 to referrals."
    assert "Intro" not in parsed["summary"] and "dropped" not in parsed["summary"]
    assert commentary.parse("## budget\n\n   \n") == {}  # an empty section is no section


def test_markdown_is_sanitised():
    html = commentary.to_html(commentary.parse(HOSTILE)["summary"])
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find_all(["script", "img", "iframe"]) == []
    assert "&lt;script&gt;" in html  # shown as text, inert
    # javascript: is no link; an image is only a link to it (nothing loads)
    assert [a["href"] for a in soup.find_all("a")] == ["https://example.com/a",
                                                       "https://tracker.example/p.gif"]
    assert all("noreferrer" in a["rel"] for a in soup.find_all("a"))
    assert soup.find("strong").get_text() == "referrals"
    assert soup.find("h4").get_text() == "A big heading"  # never a section-level heading
    assert not any(tag.has_attr("onerror") for tag in soup.find_all(True))


def _section(lang: str, text: str):
    return v4.new_notebook(cells=[v4.new_markdown_cell(text)])


def test_commentary_closes_its_section_and_plan_closes_evaluation():
    sections = [("summary", _section("en", "## Summary\n\nTiles")),
                ("evaluation", _section("en", "## Evaluation\n\nFunnel")),
                ("appendix", _section("en", "## Appendix"))]
    page = assemble_report(sections, title="T", lang="zh",
                           commentary={"summary": "S <script>x()</script>",
                                       "evaluation": "E", "plan": "P"})
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find_all("script") == []
    summary = soup.find("section", id="sec-summary")
    last = summary.find_all(recursive=False)[-1]
    assert last.name == "aside" and last["data-section"] == "summary"
    assert "分析师评论" in last.get_text() and "S <script>x()</script>" in last.get_text()
    asides = soup.find("section", id="sec-evaluation").find_all("aside")
    assert [a["data-section"] for a in asides] == ["evaluation", "plan"]
    assert soup.find("section", id="sec-appendix").find("aside") is None
    # the commentary's headings are not in the table of contents
    assert "分析师评论" not in soup.find("nav").get_text()


def test_a_slot_places_the_commentary():
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("## Evaluation"),
        v4.new_code_cell("", outputs=[v4.new_output("display_data", data={
            "text/html": '<div data-commentary-slot="plan"></div><p>AFTER</p>'})])])
    page = assemble_report([("evaluation", nb)], title="T", lang="en",
                           commentary={"plan": "PLAN NOTE"})
    assert page.index("PLAN NOTE") < page.index("AFTER")
    assert "data-commentary-slot" not in page


def test_language_file_wins(tmp_path):
    f = tmp_path / "2026-01.yaml"
    (tmp_path / "2026-01.commentary.md").write_text("## summary\nboth\n")
    (tmp_path / "2026-01.commentary.zh.md").write_text("## summary\n中文\n")
    assert commentary.load(f, "2026-01", "zh") == {"summary": "中文"}
    assert commentary.load(f, "2026-01", "en") == {"summary": "both"}
    assert commentary.load(f, "2026-02", "en") == {}
    assert commentary.commentary_hash(f, "2026-02", "en") == ""


def test_params_new_writes_an_empty_template_once(tmp_path):
    src = tmp_path / "2026-01.yaml"
    src.write_text('period: "2026-01"\nstart: "2026-01-01"\nend: "2026-01-31"\n')
    args = ["--project", str(tmp_path), "params", "new"]
    assert cli.main([*args, "2026-02", "--from", str(src)]) == 0
    notes = tmp_path / "params" / "2026-02.commentary.md"  # beside the new params file
    text = notes.read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        f"## {s}" for s in commentary.SECTIONS]
    assert commentary.parse(text) == {}  # nothing shows until the analyst writes
    notes.write_text("## plan\nmine\n")
    (tmp_path / "params" / "2026-02.yaml").unlink()
    assert cli.main([*args, "2026-02", "--from", str(src)]) == 0
    assert notes.read_text() == "## plan\nmine\n"  # never overwritten

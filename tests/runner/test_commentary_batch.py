"""Editing the analyst's commentary rebuilds report.html only: no notebook runs, the metrics
come from the cache, the section files stay byte for byte (doubles of ``conftest.py``)."""

from __future__ import annotations

import importlib
import json
import sys

from bs4 import BeautifulSoup

import review.report
from review.runner.batch import run_batch


def test_an_edit_rebuilds_the_report_only(project, fakes, monkeypatch):
    # the real renderer (the fixture's double ignores commentary)
    real = importlib.import_module("review.report.render")
    if not hasattr(real, "_add_commentary"):
        monkeypatch.delitem(sys.modules, "review.report.render")
        real = importlib.import_module("review.report.render")
    monkeypatch.setitem(sys.modules, "review.report.render", real)
    monkeypatch.setattr(review.report, "render", real, raising=False)

    f = project.params("2026-01")
    assert run_batch([f], project.options()).periods[0].label == "built (new)"
    assert (len(fakes.computed), len(fakes.executed)) == (1, 2)
    folder = project.out / "2026-01"
    sections_before = {p.name: p.read_bytes() for p in folder.glob("0*")}

    (project.params_dir / "2026-01.commentary.md").write_text(
        "## summary\nQ4 push <script>alert(1)</script> worked.\n", encoding="utf-8")
    result = run_batch([f], project.options())
    assert result.periods[0].label == "built (commentary changed)"
    assert result.periods[0].executed == []  # no notebook ran
    assert len(fakes.computed) == 1  # the metrics came from the cache
    assert len(fakes.executed) == 2
    assert {p.name: p.read_bytes() for p in folder.glob("0*")} == sections_before
    soup = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"), "html.parser")
    aside = soup.find("section", id="sec-summary").find("aside", class_="commentary")
    assert "Q4 push <script>alert(1)</script> worked." in aside.get_text()
    assert soup.find_all("script") == []
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["inputs"]["commentary"].startswith("sha256:")

    assert run_batch([f], project.options()).periods[0].label == "skipped (unchanged)"

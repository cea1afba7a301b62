"""docs/metrics.md is generated from the KPI catalog and the family modules, and is current."""

from review.kpis import KPI_CATALOG
from review.metrics import glossary
from review.metrics.period import FAMILIES
from review.paths import PROJECT_ROOT


def test_docs_metrics_md_is_current():
    committed = glossary.GLOSSARY_PATH.read_text(encoding="utf-8")
    assert committed == glossary.render(), (
        "docs/metrics.md is stale: run `python -m review.metrics.glossary` and commit it")
    assert glossary.main(["--check"]) == 0


def test_every_kpi_and_family_is_in_the_glossary_with_its_tables():
    text = glossary.render()
    for kpi in KPI_CATALOG.values():
        (row,) = [ln for ln in text.splitlines() if ln.startswith(f"| `{kpi.key}`")]
        assert kpi.definition.replace("|", "\\|") in row and kpi.direction in row
    for fam in FAMILIES:
        assert f"### {fam}\n" in text
    # cac needs spend (the cost) and users (paid-channel new users)
    assert glossary.kpi_tables("cac") == ("spend", "users")


def test_rst_docstrings_become_markdown():
    rst = ("A title wrapped\nover two lines\n-----\n``trend``\n    One row per month: ``month``,\n    ``users``.\n"
           "\n* a bullet with :data:`review.kpis.KPI_CATALOG`\n")
    assert glossary.rst_to_markdown(rst) == (
        "#### A title wrapped over two lines\n\n- **`trend`**: One row per month: `month`, `users`.\n\n"
        "* a bullet with `review.kpis.KPI_CATALOG`\n")


def test_user_facing_text_cites_no_internal_file():
    # DESIGN.md and a params/README are not shipped: messages, docstrings and docs point to
    # README.md or docs/ instead
    files = [*PROJECT_ROOT.joinpath("src").rglob("*.py"), *PROJECT_ROOT.joinpath("docs").glob("*.md"),
             PROJECT_ROOT / "README.md", *PROJECT_ROOT.joinpath("notebooks").rglob("*.ipynb"),
             *PROJECT_ROOT.joinpath("src").rglob("*.yaml"), *PROJECT_ROOT.joinpath("params").glob("*")]
    cited = [f.relative_to(PROJECT_ROOT).as_posix() for f in files
             if any(s in f.read_text(encoding="utf-8") for s in ("DESIGN.md", "params/README"))]
    assert cited == []

"""The notebooks stay thin, clean and in step with the params schema."""

import ast

import nbformat
import papermill
import pytest

from review.config import Params, load_params
from review.paths import NOTEBOOKS_DIR, PARAMS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_the_report_outline_is_covered():
    names = [nb.stem for nb in NOTEBOOKS]
    assert names[:6] == ["00_summary", "01_market_analysis", "02_goals", "03_execution",
                         "04_budget", "05_evaluation"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_match_the_params_schema(path):
    declared = papermill.inspect_notebook(str(path))
    assert set(declared) == set(Params.model_fields)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_defaults_run_the_demo_period(path):
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict = {}
    exec(cell.source, namespace)  # literals only: checked below
    assert Params.from_namespace(namespace) == load_params(PARAMS_DIR / "2026-09.yaml")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_and_stripped(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.get("outputs"), f"{path.name}: commit notebooks without outputs"
        assert cell.get("execution_count") is None, f"{path.name}: execution counts committed"
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda), (
                f"{path.name}: define functions in src/review, not in notebooks")
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module]
                assert all(m.split(".")[0] == "review" for m in mods), (
                    f"{path.name}: notebooks import only review")
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and "select " in node.value.lower()), f"{path.name}: no SQL in notebooks"


EXPLORATORY = sorted((NOTEBOOKS_DIR / "exploratory").glob("*.ipynb"))


def test_exploratory_notebooks_are_not_report_sections():
    from review.runner.execute import discover_sections

    assert EXPLORATORY, "notebooks/exploratory/template.ipynb is missing"
    stems = {s.stem for s in discover_sections(NOTEBOOKS_DIR)}
    assert stems == {nb.stem for nb in NOTEBOOKS}
    assert not stems & {nb.stem for nb in EXPLORATORY}


def test_the_exploratory_template_is_stripped_and_loads_a_period_in_two_lines():
    nb = nbformat.read(NOTEBOOKS_DIR / "exploratory" / "template.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    lines = [ln for ln in code[0].source.splitlines() if ln.strip()]
    assert lines == ["import review", 'pm = review.load_period("2026-09")  # params/2026-09.yaml '
                                      "→ PeriodMetrics"]
    assert code[1].source.startswith("pm.tables[")

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

"""Fixtures of the runner tests: a tiny project in tmp_path and fakes for the slow parts.

* ``project``: a tmp folder with a 3-row DuckDB store (only ``users``; the other contract
  tables are missing, which validation reports as warnings), the two fixture notebooks
  (``fixtures/00_summary.ipynb``, ``fixtures/01_details.ipynb``), a ``params`` folder and an
  ``outputs`` folder; ``project.params("2026-01", **changes)`` writes a period's YAML.
* ``fakes``: the pieces owned by other modules, replaced by tiny known-answer doubles:
  ``compute_period`` (new_users = 4242 green, mau_ratio = 0.5 red; calls counted), the
  renderer (HTML = section title + the notebook's sources and outputs, deterministic) and
  notebook execution (papermill's real parameter injection with ``prepare_only=True``, then a
  fake output per code cell; a cell whose source is ``1/0`` fails like a kernel would, with
  papermill's ``PapermillExecutionError``). ``fakes_real_kernels``: the same, but notebooks
  run in real kernels.
"""

from __future__ import annotations

import shutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import nbformat
import pytest
import yaml

import review.metrics
import review.report
from review.core import fingerprint as core_fingerprint
from review.metrics.result import KpiValue, PeriodMetrics
from review.runner import execute

FIXTURES = Path(__file__).parent / "fixtures"
#: The fixture notebooks are inputs of these tests, not notebooks to run alone (nbval).
collect_ignore_glob = ["fixtures/*.ipynb"]


@dataclass
class Project:
    root: Path
    store: Path
    notebooks: Path
    params_dir: Path
    out: Path
    cache: Path

    def params(self, period: str, **changes) -> Path:
        """Write ``params/<period>.yaml`` (a month of 2026) and return its path."""
        month = int(period.split("-")[1])
        data = {"period": period, "start": f"2026-{month:02d}-01",
                "end": f"2026-{month:02d}-28", "lang": "en", "source": str(self.store),
                "targets": {"new_users": {"value": 4000}}}
        data.update(changes)
        path = self.params_dir / f"{period}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    def options(self, **kw):
        from review.runner.batch import RunOptions

        return RunOptions(**{"out_dir": self.out, "notebooks_dir": self.notebooks, "jobs": 1,
                             "progress": False, **kw})

    def break_notebook(self, stem: str) -> None:
        """Append a failing cell (``1/0``) to a notebook."""
        path = self.notebooks / f"{stem}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("1/0"))
        nbformat.write(nb, path)


def write_store(path: Path, n_users: int = 3) -> None:
    """A contract ``users`` table with ``n_users`` valid rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE users (user_id VARCHAR, registered_at TIMESTAMP, "
                "acquisition_channel VARCHAR, region VARCHAR, city_tier VARCHAR, "
                "age_band VARCHAR, segment VARCHAR)")
    for i in range(n_users):
        con.execute("INSERT INTO users VALUES (?, TIMESTAMP '2026-01-05 10:00:00', 'organic', "
                    "'north', 'key', '25-34', 'mass')", [f"u{i}"])
    con.close()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for nb in FIXTURES.glob("*.ipynb"):
        shutil.copy(nb, notebooks / nb.name)
    (tmp_path / "params").mkdir()
    store = tmp_path / "data" / "demo.duckdb"
    write_store(store)
    return Project(tmp_path, store, notebooks, tmp_path / "params", tmp_path / "outputs",
                   tmp_path / "outputs" / ".cache")


@dataclass
class Fakes:
    computed: list[str] = field(default_factory=list)  # periods computed (not loaded)
    executed: list[str] = field(default_factory=list)  # "period/stem" executed


def fake_compute_period(calls: list[str]):
    def compute_period(con, params, *, quality=None):
        calls.append(params.period)
        kpis = {
            "new_users": KpiValue("new_users", 4242.0, "count", "higher", target=4000.0,
                                  attainment=1.0605, rag="green"),
            "mau_ratio": KpiValue("mau_ratio", 0.5, "ratio", "higher", numerator=1.0,
                                  denominator=2.0, target=0.6, attainment=0.8333, rag="red"),
        }
        return PeriodMetrics(params.period, params.start.isoformat(), params.end.isoformat(),
                             "2025-12-01", "2025-12-31", params.lang, params.currency, kpis,
                             quality=list(quality or []))
    return compute_period


def _cell_text(nb) -> str:
    parts = []
    for c in nb.cells:
        parts.append(c.source)
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
    return "\n".join(parts)


def fake_render_module() -> types.ModuleType:
    mod = types.ModuleType("review.report.render")

    def notebook_to_html(nb, *, title, lang):
        return f"<html><h1>{title}</h1><pre>{_cell_text(nb)}</pre></html>"

    def assemble_report(sections, *, title, lang):
        body = "".join(f"<section id='{sid}'><pre>{_cell_text(nb)}</pre></section>"
                       for sid, nb in sections)
        return f"<html lang='{lang}'><h1>{title}</h1>{body}</html>"

    mod.notebook_to_html = notebook_to_html
    mod.assemble_report = assemble_report
    return mod


def fake_execute(executed: list[str]):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    def execute_notebook(task, output):
        nb = papermill.execute_notebook(
            str(task.section.path), str(output), parameters=task.parameters,
            kernel_name="python3", prepare_only=True, progress_bar=False)
        executed.append(f"{task.period}/{task.section.stem}")
        count = 0
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            if cell.source.strip() == "1/0":
                nbformat.write(nb, output)
                raise PapermillExecutionError(i, count, cell.source, "ZeroDivisionError",
                                              "division by zero", [])
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"ran {task.period}\n")]
        nbformat.write(nb, output)
        return nb
    return execute_notebook


def _install(monkeypatch, tmp_path: Path, *, kernels: bool) -> Fakes:
    f = Fakes()
    monkeypatch.setenv("REVIEW_PDF", "0")  # no browser behind the doubles
    if not kernels:
        # a stable code hash: src/review may be edited while the tests run (a real kernel
        # must see the real hash, to hit the cache the runner filled)
        code = tmp_path / "code_under_test"
        code.mkdir()
        (code / "module.py").write_text("X = 1\n")
        monkeypatch.setattr(core_fingerprint, "PACKAGE_DIR", code)
    monkeypatch.setattr(review.metrics, "compute_period", fake_compute_period(f.computed),
                        raising=False)
    render = fake_render_module()
    monkeypatch.setitem(sys.modules, "review.report.render", render)
    monkeypatch.setattr(review.report, "render", render, raising=False)
    if not kernels:
        monkeypatch.setattr(execute, "execute_notebook", fake_execute(f.executed))
    return f


@pytest.fixture
def fakes(monkeypatch, tmp_path) -> Fakes:
    """Fake metrics, renderer and notebook execution (no kernel starts); stable code hash."""
    return _install(monkeypatch, tmp_path, kernels=False)


@pytest.fixture
def fakes_real_kernels(monkeypatch, tmp_path) -> Fakes:
    """Fake metrics and renderer; notebooks run in real kernels."""
    return _install(monkeypatch, tmp_path, kernels=True)


def output_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes), hidden folders excluded."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)}

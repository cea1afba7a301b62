"""Real kernels, real papermill, a real process pool: the fixture notebooks end to end."""

from __future__ import annotations

import json

import nbformat
import pytest

from review.runner.batch import run_batch


@pytest.mark.slow
def test_notebooks_run_in_a_pool_load_the_cached_kpis_and_failures_are_named(
        project, fakes_real_kernels):
    files = [project.params("2026-01"), project.params("2026-02")]
    result = run_batch(files, project.options(jobs=2))
    ok, failed = result.periods
    assert ok.status == "built" and failed.status == "failed", result.summary()
    assert not result.ok

    # the kernel loaded the KPI set the runner computed (only the fake says 4242)
    nb = nbformat.read(project.out / "2026-01" / "01_details.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "new_users 4242.0" in printed
    assert "summary of 2026-01" in (project.out / "2026-01" / "report.html").read_text()

    # the failing cell is named by its execution count, with the error and where to look
    shown = project.out / ".failed" / "2026-02" / "01_details.ipynb"
    assert failed.failures[0] == (f"2026-02 / 01_details: cell In [4] raised AssertionError: "
                                  f"boom in 2026-02 (see {shown})")
    executed = nbformat.read(shown, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "AssertionError"
    state = json.loads((project.out / ".state" / "2026-02.json").read_text())
    assert state["status"] == "failed"

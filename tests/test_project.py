"""A project folder of the analyst's own: ``review init``, ``--project``, paths resolved in the
project (never the package's folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from review import paths
from review.errors import ReviewError
from review.runner.project import init_project

CHECKOUT = paths.INSTALL_ROOT


def review(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REVIEW_PROJECT", "REVIEW_HOME")}
    env["PYTHONPATH"] = str(CHECKOUT / "src")
    return subprocess.run([sys.executable, "-m", "review.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def snapshot(folder: Path) -> dict[str, float]:
    """Every file under the checkout's outputs/, data/ and params/ with its mtime."""
    return {str(p): p.stat().st_mtime for sub in ("outputs", "data", "params")
            for p in (folder / sub).rglob("*") if p.is_file()}


def test_find_project_walks_up_to_the_folder_with_params(tmp_path, monkeypatch):
    monkeypatch.delenv("REVIEW_PROJECT", raising=False)
    monkeypatch.delenv("REVIEW_HOME", raising=False)
    (tmp_path / "p" / "params").mkdir(parents=True)
    (tmp_path / "p" / "notebooks" / "exploratory").mkdir(parents=True)
    assert paths.find_project(tmp_path / "p" / "notebooks" / "exploratory") == tmp_path / "p"
    assert paths.find_project(tmp_path) == tmp_path  # no params/ anywhere up: the folder
    assert paths.project_of(tmp_path / "p" / "params" / "2026-10.yaml") == tmp_path / "p"
    monkeypatch.setenv("REVIEW_PROJECT", str(tmp_path / "p"))
    assert paths.find_project(tmp_path) == tmp_path / "p"


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(ReviewError, match="exists and is not empty"):
        init_project(tmp_path / "x")
    root = init_project(tmp_path / "new")
    assert sorted(p.name for p in (root / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in paths.BUNDLED_NOTEBOOKS.glob("*.ipynb"))
    assert (root / "params" / "2026-10.yaml").is_file() and (root / "outputs").is_dir()
    assert (root / "notebooks" / "exploratory" / "template.ipynb").is_file()
    assert not (root / "notebooks" / "conftest.py").exists()  # the checkout's test glue


@pytest.mark.slow
def test_a_project_made_by_init_runs_end_to_end_without_touching_the_checkout(tmp_path):
    before = snapshot(CHECKOUT)
    done = review("init", "proj", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    proj = tmp_path / "proj"
    # the store goes to the project's data/ (default --out), the report to its outputs/
    assert review("demo-data", "--users", "300", cwd=proj).returncode == 0
    assert (proj / "data" / "demo.duckdb").is_file()
    run = review("run", "params/2026-10.yaml", "--only", "summary", "--jobs", "1", "-q",
                 cwd=proj)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (proj / "outputs" / "2026-10" / "report.html").is_file()
    assert (proj / "outputs" / "index.html").is_file()
    # from a subfolder (the project is found above) and from elsewhere with --project
    assert review("validate", cwd=proj / "notebooks").returncode == 0
    other = review("--project", str(proj), "params", "new", "2026-11", "--from", "2026-10",
                   cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert (proj / "params" / "2026-11.yaml").is_file()
    # a relative source resolves in the params file's project, whatever the current folder
    val = review("validate", str(proj / "params" / "2026-10.yaml"), cwd=tmp_path)
    assert val.returncode == 0, val.stdout + val.stderr
    assert snapshot(CHECKOUT) == before

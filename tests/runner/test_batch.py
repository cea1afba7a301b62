"""The batch: incremental, atomic, failure-tolerant and reproducible (no kernel starts here).

Notebook execution, the renderer and ``compute_period`` are the doubles of ``conftest.py``;
the data source, validation, cache, fingerprints, papermill's parameter injection, the
outputs layout and the index are real.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid

import nbformat
import pytest

from review.core import fingerprint as core_fingerprint
from review.data import fingerprint as data_fingerprint
from review.errors import ParamsError, RunError
from review.runner import fingerprint, outputs
from review.runner.batch import run_batch

from .conftest import FIXTURES, output_files, write_store


def statuses(result):
    return {p.period: p.label for p in result.periods}


def test_first_run_builds_every_period_and_the_index(project, fakes):
    files = [project.params("2026-01"), project.params("2026-02", lang="zh")]
    result = run_batch(files, project.options())
    assert result.ok
    assert statuses(result) == {"2026-01": "built (new)", "2026-02": "built (new)"}
    folder = project.out / "2026-01"
    assert sorted(p.name for p in folder.iterdir()) == [
        "00_summary.html", "00_summary.ipynb", "01_details.html", "01_details.ipynb",
        "manifest.json", "metrics.json", "report.html"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["kpis"]["new_users"]["value"] == 4242.0
    assert metrics["kpis"]["new_users"]["rag"] == "green"

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["params"]["source"] == str(project.store)
    assert manifest["inputs"]["tables"]["users"]["rows"] == 3
    assert manifest["inputs"]["data"].startswith("sha256:")
    assert [s["stem"] for s in manifest["sections"]] == ["00_summary", "01_details"]
    assert {s["status"] for s in manifest["sections"]} == {"executed"}
    assert manifest["environment"]["review_version"]
    assert "pandas" in manifest["environment"]["packages"]
    assert set(manifest["run"]) == {"started", "finished", "duration_s"}

    report = (folder / "report.html").read_text()
    assert report.index("id='summary'") < report.index("id='details'")  # summary first
    # the parameters were injected by papermill into the executed notebook
    nb = nbformat.read(folder / "01_details.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)

    index = (project.out / "index.html").read_text()
    assert 'href="2026-01/report.html"' in index and 'href="2026-02/01_details.html"' in index
    assert ">4,242<" in index and ">50.0%<" in index  # the report's number formats
    assert 'class="rag g"' in index and 'class="rag r"' in index
    assert "http://" not in index and "https://" not in index  # self-contained
    assert not list(project.out.glob(".tmp-*")) and not list(project.out.glob(".old-*"))


def test_unchanged_rerun_skips_without_touching_outputs(project, fakes):
    files = [project.params("2026-01"), project.params("2026-02")]
    run_batch(files, project.options())
    before = output_files(project.out / "2026-01")
    executed, computed = len(fakes.executed), len(fakes.computed)

    result = run_batch(files, project.options())
    assert statuses(result) == {"2026-01": "skipped (unchanged)",
                                "2026-02": "skipped (unchanged)"}
    assert len(fakes.executed) == executed and len(fakes.computed) == computed
    assert output_files(project.out / "2026-01") == before
    assert "skipped" in (project.out / "index.html").read_text()


def test_a_params_change_rebuilds_only_that_period(project, fakes):
    run_batch([project.params("2026-01"), project.params("2026-02")], project.options())
    files = [project.params("2026-01", targets={"new_users": {"value": 5000}}),
             project.params("2026-02")]
    result = run_batch(files, project.options())
    assert statuses(result) == {"2026-01": "built (params changed)",
                                "2026-02": "skipped (unchanged)"}
    metrics = json.loads((project.out / "2026-01" / "metrics.json").read_text())
    assert fakes.computed.count("2026-01") == 2 and metrics["period"] == "2026-01"


def test_a_data_change_rebuilds_every_period_on_that_source(project, fakes):
    files = [project.params("2026-01"), project.params("2026-02")]
    run_batch(files, project.options())
    write_store(project.store, n_users=5)
    result = run_batch(files, project.options())
    assert statuses(result) == {"2026-01": "built (data changed)",
                                "2026-02": "built (data changed)"}
    manifest = json.loads((project.out / "2026-02" / "manifest.json").read_text())
    assert manifest["inputs"]["tables"]["users"]["rows"] == 5


def test_a_notebook_change_reruns_only_that_notebook(project, fakes):
    files = [project.params("2026-01")]
    run_batch(files, project.options())
    summary_before = (project.out / "2026-01" / "00_summary.ipynb").read_bytes()
    path = project.notebooks / "01_details.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('more')"))
    nbformat.write(nb, path)
    fakes.executed.clear()

    result = run_batch(files, project.options())
    assert statuses(result) == {"2026-01": "built (notebook changed: 01_details)"}
    assert fakes.executed == ["2026-01/01_details"]
    assert (project.out / "2026-01" / "00_summary.ipynb").read_bytes() == summary_before
    manifest = json.loads((project.out / "2026-01" / "manifest.json").read_text())
    assert [s["status"] for s in manifest["sections"]] == ["reused", "executed"]
    assert "print(&#x27;more&#x27;)" in (project.out / "2026-01" / "report.html").read_text() \
        or "print('more')" in (project.out / "2026-01" / "report.html").read_text()
    # and the next run is a skip again
    assert statuses(run_batch(files, project.options())) == {"2026-01": "skipped (unchanged)"}


def test_a_change_in_a_review_helper_module_rebuilds(project, fakes, monkeypatch, tmp_path):
    pkg = tmp_path / "fake_review_pkg"
    pkg.mkdir()
    (pkg / "helpers.py").write_text("LABEL = 'a'\n")
    monkeypatch.setattr(core_fingerprint, "PACKAGE_DIR", pkg)  # the code hash reads this folder
    files = [project.params("2026-01")]
    run_batch(files, project.options())
    assert statuses(run_batch(files, project.options())) == {"2026-01": "skipped (unchanged)"}
    (pkg / "helpers.py").write_text("LABEL = 'b'\n")
    assert statuses(run_batch(files, project.options())) == {"2026-01": "built (code changed)"}


def test_force_rebuilds_an_unchanged_period(project, fakes):
    files = [project.params("2026-01")]
    run_batch(files, project.options())
    fakes.executed.clear()
    result = run_batch(files, project.options(force=True))
    assert statuses(result) == {"2026-01": "built (forced)"}
    assert fakes.executed == ["2026-01/00_summary", "2026-01/01_details"]


def test_only_runs_the_named_sections_and_keeps_the_others(project, fakes):
    files = [project.params("2026-01")]
    result = run_batch(files, project.options(only=("summary",)))
    assert fakes.executed == ["2026-01/00_summary"]
    report = (project.out / "2026-01" / "report.html").read_text()
    assert "id='summary'" in report and "id='details'" not in report
    fakes.executed.clear()
    result = run_batch(files, project.options(only=("01_details",)))
    assert fakes.executed == ["2026-01/01_details"]
    assert result.periods[0].status == "built"
    manifest = json.loads((project.out / "2026-01" / "manifest.json").read_text())
    assert [s["status"] for s in manifest["sections"]] == ["reused", "executed"]
    with pytest.raises(RunError, match=r"unknown section\(s\) \['nope'\].*summary"):
        run_batch(files, project.options(only=("nope",)))


def test_a_failed_rerun_keeps_the_previous_output_byte_identical(project, fakes):
    files = [project.params("2026-01"), project.params("2026-02")]
    run_batch(files, project.options())
    before = output_files(project.out / "2026-01")
    project.break_notebook("01_details")

    result = run_batch(files, project.options())
    assert not result.ok
    assert [p.status for p in result.periods] == ["failed", "failed"]
    assert output_files(project.out / "2026-01") == before  # byte for byte
    # the failure names period, notebook, cell and error, and where to look
    (failure, kept) = result.periods[0].failures
    assert failure.startswith("2026-01 / 01_details: cell In [5] raised ZeroDivisionError: "
                              "division by zero (see ")
    shown = project.out / ".failed" / "2026-01" / "01_details.ipynb"
    assert str(shown) in failure and result.periods[0].output == shown
    nb = nbformat.read(shown, as_version=4)
    assert nb.cells[-1].source == "1/0"
    assert "previous report kept" in kept
    state = json.loads((project.out / ".state" / "2026-01.json").read_text())
    assert state["status"] == "failed" and "ZeroDivisionError" in state["message"]
    index = (project.out / "index.html").read_text()
    assert index.count('class="st failed"') == 2
    assert "2026-01/report.html" in index  # the last good report is still linked
    assert not list(project.out.glob(".tmp-*"))

    # fixing the notebook rebuilds, clears the failed build and the index says ok
    shutil.copy(FIXTURES / "01_details.ipynb", project.notebooks / "01_details.ipynb")
    result = run_batch(files, project.options())
    assert result.ok and not (project.out / ".failed" / "2026-01").exists()
    assert 'class="st failed"' not in (project.out / "index.html").read_text()


def test_one_failing_period_does_not_stop_the_others(project, fakes):
    bad = project.params("2026-02", source=str(project.root / "missing.duckdb"))
    result = run_batch([project.params("2026-01"), bad], project.options())
    assert statuses(result) == {"2026-01": "built (new)", "2026-02": "failed (data)"}
    assert "missing.duckdb" in result.periods[1].failures[0]
    assert (project.out / "2026-01" / "report.html").is_file()
    assert not (project.out / "2026-02").exists()
    assert "failed" in result.summary() and "2026-02" in result.summary()
    index = (project.out / "index.html").read_text()
    assert '<td>2026-02</td><td class="st failed"' in index  # listed, without a report link


def test_engine_url_sources_are_fingerprinted_in_the_workers(project, fakes, monkeypatch):
    # make the local store look like an engine URL: fingerprinted through Ibis, not hashed
    monkeypatch.setattr(fingerprint, "local_source_path", lambda *a, **k: None)
    monkeypatch.setattr(data_fingerprint, "local_source_path", lambda *a, **k: None)
    files = [project.params("2026-01")]
    assert statuses(run_batch(files, project.options())) == {"2026-01": "built (new)"}
    manifest = json.loads((project.out / "2026-01" / "manifest.json").read_text())
    assert manifest["inputs"]["data"] == fingerprint.digest_json(
        {"engine": manifest["inputs"]["tables"]})
    assert statuses(run_batch(files, project.options())) == {"2026-01": "skipped (unchanged)"}
    write_store(project.store, n_users=4)
    assert statuses(run_batch(files, project.options())) == {"2026-01": "built (data changed)"}


def test_contract_errors_fail_the_period_with_the_formatted_report(project, fakes):
    import duckdb

    con = duckdb.connect(str(project.store))
    con.execute("INSERT INTO users SELECT * FROM users")
    con.close()
    result = run_batch([project.params("2026-01")], project.options())
    (period,) = result.periods
    assert period.status == "failed" and period.reason == "data"
    assert "users.user_id [primary_key]" in period.failures[0]
    assert fakes.executed == []  # no notebook ran


def test_params_errors_stop_everything_before_any_work(project, fakes):
    good = project.params("2026-01")
    bad1 = project.params("2026-02", colour="red")
    bad2 = project.params("2026-03", start="not a date")
    with pytest.raises(ParamsError) as err:
        run_batch([good, bad1, bad2], project.options())
    text = str(err.value)
    assert f"{bad1}: invalid parameters" in text and "colour: unknown key" in text
    assert f"{bad2}: invalid parameters" in text and "start:" in text
    assert not project.out.exists() and fakes.executed == [] and fakes.computed == []


def test_two_files_for_one_period_are_refused(project, fakes, tmp_path):
    first = project.params("2026-01")
    second = tmp_path / "copy.yaml"
    second.write_text(first.read_text())
    with pytest.raises(ParamsError, match="already defined in"):
        run_batch([first, second], project.options())


def test_metrics_and_report_are_byte_identical_between_runs_from_scratch(project, fakes):
    files = [project.params("2026-01")]
    run_batch(files, project.options(out_dir=project.root / "a"))
    run_batch(files, project.options(out_dir=project.root / "b"))
    for name in ("metrics.json", "report.html", "00_summary.html", "01_details.html"):
        a = (project.root / "a" / "2026-01" / name).read_bytes()
        assert a == (project.root / "b" / "2026-01" / name).read_bytes(), name
    assert b"finished" not in (project.root / "a" / "2026-01" / "metrics.json").read_bytes()


def test_secrets_in_the_source_are_never_written(project, fakes, monkeypatch):
    connect_module = sys.modules["review.data.connect"]  # review.data.connect is the function
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    secret_dir = project.root / sentinel
    secret_dir.mkdir()
    shutil.copy(project.store, secret_dir / "demo.duckdb")
    monkeypatch.setenv("REVIEW_TEST_DIR", str(secret_dir))
    # connect() resolves ${VAR} only in URLs so far (change requested): resolve paths too
    real_connect = connect_module.connect
    monkeypatch.setattr(connect_module, "connect",
                        lambda source, **kw: real_connect(
                            connect_module.resolve_env(str(source)), **kw))
    files = [project.params("2026-01", source="${REVIEW_TEST_DIR}/demo.duckdb")]
    result = run_batch(files, project.options())
    assert result.ok, result.summary()
    project.break_notebook("00_summary")  # a failed build is scanned too
    run_batch(files, project.options())

    written = [p for p in project.out.rglob("*") if p.is_file()]
    assert len(written) > 10
    for path in written:
        assert sentinel.encode() not in path.read_bytes(), path
    manifest = json.loads((project.out / "2026-01" / "manifest.json").read_text())
    assert manifest["params"]["source"] == "${REVIEW_TEST_DIR}/demo.duckdb"
    assert sentinel not in result.summary()


def test_scrub_folder_redacts_a_leaked_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEW_PW", "s3cr3t/\"pw")
    (tmp_path / "a.ipynb").write_text(json.dumps({"text": "path s3cr3t/\"pw here"}))
    (tmp_path / "b.html").write_text("<p>s3cr3t/&quot;pw</p>")
    changed = outputs.scrub_folder(tmp_path, "pg://u:${REVIEW_PW}@host/db")
    assert len(changed) == 2
    assert "s3cr3t" not in (tmp_path / "a.ipynb").read_text()
    assert (tmp_path / "b.html").read_text() == "<p>${REVIEW_PW}</p>"


def test_recover_restores_a_backup_left_by_a_killed_swap(tmp_path):
    out = tmp_path / "outputs"
    (out / ".old-2026-01-abcd1234").mkdir(parents=True)
    (out / ".old-2026-01-abcd1234" / "report.html").write_text("good")
    (out / ".tmp-2026-01-ffff0000").mkdir()
    (out / "2026-02").mkdir()
    (out / ".old-2026-02-00000000").mkdir()
    outputs.recover(out)
    assert (out / "2026-01" / "report.html").read_text() == "good"
    assert sorted(p.name for p in out.iterdir()) == ["2026-01", "2026-02"]


def test_swap_in_replaces_the_final_folder_whole(tmp_path):
    final, build = tmp_path / "2026-01", tmp_path / ".tmp-2026-01-x"
    final.mkdir()
    (final / "old.txt").write_text("old")
    build.mkdir()
    (build / "new.txt").write_text("new")
    outputs.swap_in(build, final)
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["2026-01"]


def test_a_second_batch_on_the_same_outputs_is_refused(project, fakes):
    with outputs.locked(project.out), pytest.raises(RunError, match="another `review run`"):
        run_batch([project.params("2026-01")], project.options())


def test_index_without_periods(tmp_path):
    from review.runner.index import build_index

    page = build_index(tmp_path / "out", lang="zh").read_text()
    assert "暂无期间" in page and '<html lang="zh-CN">' in page

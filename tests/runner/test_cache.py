"""The metrics cache computes once per (params, data, code) and loads afterwards."""

from __future__ import annotations

import json

import pytest

from review import cache
from review.config import load_params
from review.core import fingerprint as core_fingerprint
from review.data import fingerprint as sources
from review.errors import ParamsError, ValidationError

from .conftest import write_store


def test_computes_once_then_loads(project, fakes):
    params = load_params(project.params("2026-01"))
    first = cache.period_metrics(params, cache_dir=project.cache)
    second = cache.period_metrics(params, cache_dir=project.cache)
    assert fakes.computed == ["2026-01"]
    assert second.kpis["new_users"].value == 4242.0
    assert second.to_json() == first.to_json()
    # the validation warnings (every table but users is missing) reach the appendix
    assert {q["table"] for q in second.quality} >= {"events", "transactions"}


def test_params_data_or_code_change_computes_again(project, fakes, monkeypatch, tmp_path):
    p1 = load_params(project.params("2026-01"))
    cache.period_metrics(p1, cache_dir=project.cache)
    p2 = load_params(project.params("2026-01", targets={"new_users": {"value": 1}}))
    cache.period_metrics(p2, cache_dir=project.cache)
    assert fakes.computed == ["2026-01", "2026-01"]

    write_store(project.store, n_users=4)  # new data
    cache.period_metrics(p2, cache_dir=project.cache)
    assert len(fakes.computed) == 3

    monkeypatch.setattr(core_fingerprint, "metrics_code_hash", lambda *a, **k: "sha256:other-code")
    cache.period_metrics(p2, cache_dir=project.cache)
    assert len(fakes.computed) == 4


def test_the_runner_pins_the_data_fingerprint_for_kernels(project, fakes, monkeypatch):
    params = load_params(project.params("2026-01"))
    fp = sources.source_fingerprint(params.source)
    env = cache.kernel_environment(params, fp, project.cache)
    assert params.source in env[cache.DATA_FINGERPRINT_ENV]
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def no_hashing(*a, **k):
        raise AssertionError("the pinned fingerprint should be used")

    monkeypatch.setattr(sources, "source_fingerprint", no_hashing)
    pm = cache.period_metrics(params)  # cache dir from REVIEW_CACHE_DIR
    assert pm.period == "2026-01"
    assert list((project.cache / "metrics").iterdir())


def test_a_damaged_entry_is_recomputed(project, fakes):
    params = load_params(project.params("2026-01"))
    cache.period_metrics(params, cache_dir=project.cache)
    (entry,) = (project.cache / "metrics").iterdir()
    (entry / "metrics.json").write_text("{not json")
    assert cache.period_metrics(params, cache_dir=project.cache).kpis["new_users"].value == 4242
    assert fakes.computed == ["2026-01", "2026-01"]
    json.loads((entry / "metrics.json").read_text())  # rewritten whole


def test_contract_errors_raise_with_the_formatted_report(project, fakes):
    import duckdb

    con = duckdb.connect(str(project.store))
    con.execute("INSERT INTO users SELECT * FROM users")  # every user_id twice
    con.close()
    params = load_params(project.params("2026-01"))
    with pytest.raises(ValidationError, match=r"users\.user_id \[primary_key\]"):
        cache.period_metrics(params, cache_dir=project.cache)
    assert fakes.computed == []


def test_report_text_edits_hit_the_cache_metric_code_edits_do_not(project, fakes, monkeypatch,
                                                                  tmp_path):
    import shutil
    from pathlib import Path

    import review

    # a copy of the real package stands for "the code": edit it as a developer would
    pkg = tmp_path / "review_copy"
    shutil.copytree(Path(review.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(core_fingerprint, "PACKAGE_DIR", pkg)
    params = load_params(project.params("2026-01"))
    cache.period_metrics(params, cache_dir=project.cache)
    assert fakes.computed == ["2026-01"]

    # one sentence of report text, a chart and the runner: re-render only, no recomputation
    i18n = pkg / "report" / "assets" / "i18n.yaml"
    i18n.write_text(i18n.read_text(encoding="utf-8").replace(
        "The inputs passed every check with no warnings.", "No warnings.", 1), encoding="utf-8")
    (pkg / "report" / "charts.py").write_text("# restyled\n", encoding="utf-8")
    (pkg / "runner" / "batch.py").write_text("# rewritten\n", encoding="utf-8")
    cache.period_metrics(params, cache_dir=project.cache)
    assert fakes.computed == ["2026-01"]  # a cache hit

    # code the KPIs depend on: computed again
    for rel in ("metrics/retention.py", "stats.py", "config.py", "kpis.py", "data/validate.py"):
        with (pkg / rel).open("a", encoding="utf-8") as f:
            f.write("# changed\n")
        cache.period_metrics(params, cache_dir=project.cache)
    assert len(fakes.computed) == 6


def test_the_metrics_carry_their_provenance(project, fakes):
    params = load_params(project.params("2026-01"))
    pm = cache.period_metrics(params, cache_dir=project.cache)
    loaded = cache.period_metrics(params, cache_dir=project.cache)  # from disk this time
    for prov in (pm.provenance, loaded.provenance):
        assert prov["params"] == params.notebook_parameters()
        assert prov["data"] == sources.source_fingerprint(params.source)
        assert prov["metrics_code"] == core_fingerprint.metrics_code_hash()
        assert prov["tables"]["users"]["rows"] == 3  # the fixture store's users
    assert loaded.provenance == pm.provenance


def test_load_period_reads_the_params_file_and_uses_the_cache(project, fakes):
    path = project.params("2026-01")
    pm = cache.load_period("2026-01", params_dir=path.parent, cache_dir=project.cache)
    again = cache.load_period("2026-01", params_dir=path.parent, cache_dir=project.cache)
    assert pm.period == again.period == "2026-01"
    assert fakes.computed == ["2026-01"]  # the second call loaded the cached entry
    with pytest.raises(ParamsError, match="2026-02.yaml"):
        cache.load_period("2026-02", params_dir=path.parent, cache_dir=project.cache)

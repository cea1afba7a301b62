"""The command line: thin, clean errors, meaningful exit codes."""

from __future__ import annotations

import json
import sys
import types

import pytest
import yaml

from review import cli, paths
from review.config import load_params
from review.errors import ParamsError
from review.runner import demo as demo_module
from review.runner.scaffold import new_params_file


def run_cli(project, *args: str) -> int:
    return cli.main(["run", "--out", str(project.out), "--notebooks", str(project.notebooks),
                     "--jobs", "1", "--quiet", *args])


def test_run_exit_codes_ok_failed_and_params_error(project, fakes, capsys):
    good = project.params("2026-01")
    assert run_cli(project, str(good)) == 0
    out = capsys.readouterr().out
    assert "2026-01  built (new)" in out and "1 period(s), 0 failed" in out

    project.break_notebook("00_summary")
    assert run_cli(project, str(good), "--force") == 1
    out = capsys.readouterr().out
    assert "2026-01 / 00_summary: cell In [4] raised ZeroDivisionError" in out

    bad = project.params("2026-02", targets={"no_such_kpi": {"value": 1}})
    assert run_cli(project, str(bad)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: invalid parameters") and "targets" in err
    assert "Traceback" not in err


def test_run_usage_errors_exit_2(project, capsys):
    assert cli.main(["run", "--out", str(project.out)]) == 2  # neither files nor --all
    assert "--all" in capsys.readouterr().err
    assert cli.main(["run", "--jobs", "0", "x.yaml"]) == 2
    assert cli.main(["nonsense"]) == 2


def test_only_accepts_repeats_and_commas(project, fakes):
    good = project.params("2026-01")
    assert run_cli(project, str(good), "--only", "summary,details") == 0
    assert fakes.executed == ["2026-01/00_summary", "2026-01/01_details"]
    assert run_cli(project, str(good), "--only", "nope") == 2


def test_validate_prints_the_report_and_fails_on_errors(project, capsys):
    good = project.params("2026-01")
    assert cli.main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "parameters ok" in out and "0 errors" in out

    import duckdb

    con = duckdb.connect(str(project.store))
    con.execute("INSERT INTO users SELECT * FROM users")
    con.close()
    assert cli.main(["validate", "--source", str(project.store)]) == 1
    assert "[primary_key]" in capsys.readouterr().out
    assert cli.main(["validate", str(project.params("2026-02", lang="fr"))]) == 2


def test_params_new_scaffolds_the_next_period(tmp_path, capsys):
    src = tmp_path / "2026-10.yaml"
    src.write_text((paths.PARAMS_DIR / "2026-10.yaml").read_text(encoding="utf-8"),
                   encoding="utf-8")
    proj = tmp_path / "proj"
    proj.mkdir()
    args = ["--project", str(proj), "params", "new"]
    assert cli.main([*args, "2026-11", "--from", str(src)]) == 0
    dest = proj / "params" / "2026-11.yaml"  # into the project's params/, not beside the source
    text = dest.read_text(encoding="utf-8")
    assert 'period: "2026-11"\n' in text
    assert 'start: "2026-11-01"\n' in text and 'end: "2026-11-30"\n' in text
    assert text.startswith("# Campaign review parameters")  # comments kept
    new, old = load_params(dest), load_params(src)
    assert new.model_dump(exclude={"period", "start", "end"}) == old.model_dump(
        exclude={"period", "start", "end"})

    assert cli.main([*args, "2026-11", "--from", str(src)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main([*args, "2026-13x", "--from", str(src)]) == 2
    assert not (tmp_path / "2026-11.yaml").exists()


def test_params_new_drops_an_explicit_comparison_and_handles_flow_style(tmp_path):
    src = tmp_path / "2026-Q3.yaml"
    src.write_text(yaml.safe_dump({"period": "2026-Q3", "start": "2026-07-01",
                                   "end": "2026-09-30", "compare_start": "2025-07-01",
                                   "compare_end": "2025-09-30"}, default_flow_style=True))
    dest = new_params_file("2026-Q4", src)
    data = yaml.safe_load(dest.read_text())
    assert data == {"period": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"}
    assert "'2026-10-01'" in dest.read_text()  # dates written quoted
    with pytest.raises(ParamsError, match="expected YYYY-MM or YYYY-Qn"):
        new_params_file("Q4", src)


def test_demo_builds_the_store_only_when_missing_or_changed(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("review.data.demo")

    def generate(out, **kw):
        calls.append(kw)
        out.write_bytes(b"store")

    fake.generate = generate
    monkeypatch.setitem(sys.modules, "review.data.demo", fake)
    store = tmp_path / "data" / "demo.duckdb"
    assert demo_module.ensure_demo_store(store, users=100, progress=False)
    assert calls[0]["users"] == 100 and calls[0]["seed"] == 7
    assert json.loads(store.with_name("demo.duckdb.args.json").read_text())["users"] == 100
    assert not demo_module.ensure_demo_store(store, users=100, progress=False)
    assert demo_module.ensure_demo_store(store, users=200, progress=False)
    assert len(calls) == 2


def test_params_new_scales_flow_targets_when_the_period_length_changes(tmp_path, capsys):
    src = tmp_path / "2026-10.yaml"
    src.write_text((paths.PARAMS_DIR / "2026-10.yaml").read_text(encoding="utf-8"),
                   encoding="utf-8")
    # written into the project's params/ (here a tmp project)
    assert cli.main(["--project", str(tmp_path), "params", "new", "2026-Q4", "--from",
                     str(src)]) == 0
    out = capsys.readouterr().out
    (tmp_path / "params" / "2026-Q4.yaml").rename(tmp_path / "2026-Q4.yaml")
    new, old = load_params(tmp_path / "2026-Q4.yaml"), load_params(src)
    # a quarter from a month: × 3 for flows (new users 1,500 → 4,500; budget 600,000 →
    # 1,800,000), ratios and costs per user unchanged (a quarter reports monthly means)
    assert new.targets["new_users"].value == 3 * old.targets["new_users"].value
    assert new.budget.total == 3 * old.budget.total
    assert new.budget.shares == old.budget.shares
    assert new.targets["mau_ratio"].value == old.targets["mau_ratio"].value
    assert new.targets["cac"].value == old.targets["cac"].value
    assert "scaled ×3" in out and "targets.new_users 1,500 → 4,500" in out
    assert "budget.total 600,000 → 1,800,000" in out
    text = (tmp_path / "2026-Q4.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Campaign review parameters")          # comments kept
    # and back to a month: ÷ 3
    from review.runner.scaffold import scaffold_params

    back = scaffold_params("2027-01", tmp_path / "2026-Q4.yaml")
    assert load_params(back.path).targets["new_users"].value == old.targets["new_users"].value
    assert back.factor == pytest.approx(1 / 3)
    # same length: nothing scaled, nothing said
    same = scaffold_params("2026-11", src)
    assert same.scaled == {} and "scaled" not in same.message()

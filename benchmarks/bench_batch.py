"""Benchmark: the batch runner against its floor and the naive papermill + nbconvert chain.

Not a test: run on demand (``make bench``), it prints medians of ``--repeat`` runs and the
ratios between scenarios of the same invocation.

Scenarios (every one from scratch: a fresh outputs folder and a fresh metrics cache)
-------------------------------------------------------------------------------------
``batch -j1`` / ``batch -j2``
    ``review run --jobs N`` over the periods, as a subprocess (Python start-up included).
``floor -j1`` / ``floor -j2``
    The same command on the same notebooks *emptied of work* (markdown, the parameters cell
    and import-only cells kept: kernel start, imports, export and assembly only) with a warm
    metrics cache: what any notebook-per-section batch costs at least.
``naive chain``
    What an analyst would script: per period and notebook, the ``papermill`` CLI then
    ``jupyter nbconvert --to html``, one process each, sequentially (a fresh cache too: the
    first notebook of a period computes the KPIs, the others load them).
``rerun``
    ``review run --jobs 2`` again with nothing changed (every period skipped).
``--big``
    One month on a 1M-user store, end to end (generating the store takes a while; kept in
    ``--workdir`` for the next time).

Every subprocess (and its kernels) imports a snapshot of ``src/review`` taken at the start
(``PYTHONPATH``), so edits made meanwhile do not change the code hash, which would rightly
turn a skip into a rebuild and a warm cache into a cold one.

Aims (from the issue): end-to-end per period within 2× the floor at demo scale; ≥ 3× faster
than the naive chain; an unchanged rerun under 5 s.

    .venv/bin/python benchmarks/bench_batch.py                        # demo: 20k users
    .venv/bin/python benchmarks/bench_batch.py --periods 2026-09 --repeat 1
    .venv/bin/python benchmarks/bench_batch.py --notebooks tests/runner/fixtures --users 2000
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


#: Environment of every subprocess: the code snapshot first on the path (see the docstring).
ENV: dict[str, str] = {}


def snapshot_code(workdir: Path) -> None:
    """Copy ``src/review`` into ``workdir`` and make every subprocess import that copy."""
    dest = workdir / "code"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ROOT / "src" / "review", dest / "review",
                    ignore=shutil.ignore_patterns("__pycache__"))
    ENV.update({"PYTHONPATH": str(dest), "REVIEW_HOME": str(ROOT)})


def sh(cmd: list[str], *, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run ``cmd``; return its wall time in seconds and its stdout; stop if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, **ENV, **(env or {})})
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n"
                 f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def ensure_store(workdir: Path, users: int) -> Path:
    store = workdir / f"demo-{users}.duckdb"
    if not store.is_file():
        print(f"generating {store.name} …", flush=True)
        t, _ = sh([sys.executable, "-c", "import sys; from review.data.demo import generate; "
                   "generate(sys.argv[1], users=int(sys.argv[2]))", str(store), str(users)])
        print(f"  generated in {t:.1f} s")
    return store


def write_params(workdir: Path, store: Path, periods: list[str]) -> list[Path]:
    """Copies of params/<period>.yaml whose ``source`` is the benchmark store."""
    folder = workdir / "params"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for period in periods:
        text = (ROOT / "params" / f"{period}.yaml").read_text(encoding="utf-8")
        text = re.sub(r"^source:.*$", f'source: "{store}"', text, flags=re.MULTILINE)
        (folder / f"{period}.yaml").write_text(text, encoding="utf-8")
        files.append(folder / f"{period}.yaml")
    return files


def _only_imports(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body)


def emptied_notebooks(notebooks: Path, dest: Path) -> Path:
    """Copies of the section notebooks keeping markdown, parameters and import-only cells."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if c.cell_type == "markdown"
                    or "parameters" in c.metadata.get("tags", []) or _only_imports(c.source)]
        nbformat.write(nb, dest / path.name)
    return dest


def review_run(files: list[Path], out: Path, notebooks: Path, jobs: int,
               cache: Path | None = None, *, expect: str = "built") -> float:
    """``review run`` as a subprocess; its wall time. Warns when a period was not ``expect``."""
    cmd = [str(BIN / "review"), "run", *map(str, files), "--out", str(out), "--notebooks",
           str(notebooks), "--jobs", str(jobs), "--quiet"]
    if cache is not None:
        cmd += ["--cache-dir", str(cache)]
    seconds, stdout = sh(cmd)
    lines = [ln for ln in stdout.splitlines()[1:len(files) + 1]]
    if not all(f" {expect} " in f"{ln} " for ln in lines):
        print(f"  note: expected every period {expect}:\n    " + "\n    ".join(lines))
    return seconds


def naive_chain(files: list[Path], notebooks: Path, out: Path) -> tuple[float, list[float]]:
    """papermill CLI + nbconvert CLI per notebook, sequentially; (wall, per-notebook)."""
    out.mkdir(parents=True)
    env = {"REVIEW_CACHE_DIR": str(out / ".cache")}
    per_nb = []
    t0 = time.perf_counter()
    for f in files:
        for nb in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
            executed = out / f"{f.stem}-{nb.name}"
            t1, _ = sh([str(BIN / "papermill"), str(nb), str(executed), "-f", str(f),
                        "-k", "python3", "--cwd", str(notebooks), "--no-progress-bar"], env=env)
            t2, _ = sh([str(BIN / "jupyter"), "nbconvert", "--to", "html", str(executed)])
            per_nb.append(t1 + t2)
    return time.perf_counter() - t0, per_nb


def notebook_durations(out: Path) -> dict[str, list[float]]:
    per: dict[str, list[float]] = {}
    for manifest in out.glob("*/manifest.json"):
        for s in json.loads(manifest.read_text())["sections"]:
            per.setdefault(s["stem"], []).append(s["duration_s"])
    return per


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--periods", nargs="+",
                    default=sorted(p.stem for p in (ROOT / "params").glob("*.yaml")))
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "results" / "batch")
    ap.add_argument("--skip-naive", action="store_true", help="leave out the naive chain")
    ap.add_argument("--big", action="store_true", help="also one month on a 1M-user store")
    args = ap.parse_args(argv)

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    snapshot_code(work)
    notebooks = args.notebooks.resolve()
    store = ensure_store(work, args.users)
    files = write_params(work, store, args.periods)
    floor_nbs = emptied_notebooks(notebooks, work / "floor_notebooks")
    n_periods = len(files)
    n_nbs = len(list(notebooks.glob("[0-9][0-9]_*.ipynb")))
    print(f"{n_periods} period(s) × {n_nbs} notebook(s), {args.users:,} users, "
          f"{os.cpu_count()} cores, {args.repeat} run(s) each\n", flush=True)

    runs = work / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    t: dict[str, list[float]] = {k: [] for k in
                                 ("j1", "j2", "floor_j1", "floor_j2", "naive", "rerun")}
    per_nb_batch: dict[str, list[float]] = {}
    per_nb_naive: list[float] = []
    for r in range(args.repeat):
        t["j1"].append(review_run(files, runs / f"j1-{r}", notebooks, 1))
        for stem, ds in notebook_durations(runs / f"j1-{r}").items():
            per_nb_batch.setdefault(stem, []).extend(ds)
        t["j2"].append(review_run(files, runs / f"j2-{r}", notebooks, 2))
        # right after, before anyone edits src/review (a code change is a rebuild, rightly)
        t["rerun"].append(review_run(files, runs / f"j2-{r}", notebooks, 2, expect="skipped"))
        warm = runs / f"j1-{r}" / ".cache"
        t["floor_j1"].append(review_run(files, runs / f"floor1-{r}", floor_nbs, 1, warm))
        t["floor_j2"].append(review_run(files, runs / f"floor2-{r}", floor_nbs, 2, warm))
        if not args.skip_naive:
            wall, per = naive_chain(files, notebooks, runs / f"naive-{r}")
            t["naive"].append(wall)
            per_nb_naive.extend(per)
        print(f"run {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in t.items() if v),
              flush=True)

    m = {k: med(v) for k, v in t.items()}
    print("\nmedian wall time (s)            total   per period")
    for k, label in [("j1", "batch -j1"), ("j2", "batch -j2"), ("floor_j1", "floor -j1"),
                     ("floor_j2", "floor -j2"), ("naive", "naive chain"),
                     ("rerun", "rerun, unchanged")]:
        if t[k]:
            print(f"  {label:<28} {m[k]:7.1f}  {m[k] / n_periods:9.1f}")
    print("\nmedian per notebook (s), batch -j1 (in-process papermill + export)")
    for stem in sorted(per_nb_batch):
        print(f"  {stem:<28} {med(per_nb_batch[stem]):7.2f}")
    if per_nb_naive:
        print(f"  naive chain, per notebook    {med(per_nb_naive):7.2f}  (papermill + nbconvert)")
    print("\nratios (same invocation)")
    print(f"  batch -j1 / batch -j2          {m['j1'] / m['j2']:5.2f}×")
    print(f"  batch -j2 / floor -j2          {m['j2'] / m['floor_j2']:5.2f}×   (aim ≤ 2)")
    print(f"  batch -j1 / floor -j1          {m['j1'] / m['floor_j1']:5.2f}×")
    if t["naive"]:
        print(f"  naive chain / batch -j2        {m['naive'] / m['j2']:5.2f}×   (aim ≥ 3)")
        print(f"  naive chain / batch -j1        {m['naive'] / m['j1']:5.2f}×")
    print(f"  unchanged rerun                {m['rerun']:5.2f} s  (aim < 5 s)")

    if args.big:
        big_store = ensure_store(work, 1_000_000)
        big_files = write_params(work / "big", big_store, [args.periods[-1]])
        wall = review_run(big_files, runs / "big", notebooks, 2)
        print(f"\n1M users, {big_files[0].stem}, end to end (-j2): {wall:.1f} s")


if __name__ == "__main__":
    main()

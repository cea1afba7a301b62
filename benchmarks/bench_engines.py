"""The KPI set of one period on DuckDB and on local Spark, side by side.

Both engines read the same Parquet files: a demo store (:func:`review.data.demo.generate`) of
``--users`` customers is generated once into a cache folder and exported with
:func:`review.data.spark.export_parquet`. Each engine then runs in its own child process (so
that one engine's memory does not count for the other) and computes the period's whole KPI
set (:func:`review.metrics.compute_period`) ``--repeat`` times.

Engines: ``duckdb`` (the Parquet folder through :func:`review.data.connect`), ``spark``
(``pyspark://<master>?parquet=…``) and ``spark-cache`` (the same with ``cache=true``).
Printed per engine: time to open the source (for Spark, the session start), the median and
the first of the ``compute_period`` wall times, and peak resident memory of the Python
process and of the JVM (Linux ``VmHWM`` of each process), then the Spark ÷ DuckDB ratios.

Usage::

    .venv/bin/python benchmarks/bench_engines.py                 # 1M users, 3 runs
    .venv/bin/python benchmarks/bench_engines.py --users 100000 --repeat 3 \\
        --spark-conf spark.driver.memory=2g
    .venv/bin/python benchmarks/bench_engines.py --users 20000 --engines duckdb,spark,spark-cache \\
        --params params/2026-10.yaml

Generating the data is not timed. Run it on a quiet machine, at most once or twice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from review.config import load_params
from review.paths import CACHE_DIR, PARAMS_DIR

#: ``spark-cache`` is Spark with ``cache=true`` (tables cached in executor memory)
ENGINES = ("duckdb", "spark", "spark-cache")
DEFAULT_ENGINES = "duckdb,spark"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.worker:
        print(json.dumps(_work(args.worker, Path(args.folder), Path(args.params), args.repeat,
                               args.master, args.spark_conf)))
        return 0
    folder = prepare_data(args.users, args.months, args.seed, Path(args.cache))
    print(f"data: {folder} ({args.users:,} users, {args.months} months, seed {args.seed}); "
          f"period {Path(args.params).stem}; {args.repeat} run(s) per engine")
    results = {}
    for engine in args.engines.split(","):
        cmd = [sys.executable, __file__, "--worker", engine, "--folder", str(folder),
               "--params", str(args.params), "--repeat", str(args.repeat),
               "--master", args.master]
        cmd += [f"--spark-conf={c}" for c in args.spark_conf]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{engine}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    print(format_table(results))
    return 0


def prepare_data(users: int, months: int, seed: int, cache: Path) -> Path:
    """The Parquet folder of the demo store of this size, generated and exported once."""
    from review.data.demo import generate
    from review.data.spark import export_parquet

    base = cache / f"bench-engines-u{users}-m{months}-s{seed}"
    folder, done = base / "parquet", base / ".complete"
    if not done.exists():
        base.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        store = base / "demo.duckdb"
        store.unlink(missing_ok=True)
        generate(store, users=users, months=months, seed=seed)
        export_parquet(store, folder)
        done.write_text("ok\n")
        print(f"generated and exported in {time.perf_counter() - t0:.1f} s")
    return folder


def _work(engine: str, folder: Path, params_path: Path, repeat: int, master: str,
          spark_conf: list[str]) -> dict:
    """Run in the child process: open the source, compute the period ``repeat`` times."""
    from review.data import connect
    from review.metrics import compute_period

    params = load_params(params_path)
    t0 = time.perf_counter()
    if engine == "duckdb":
        con = connect(folder)
    elif engine in ("spark", "spark-cache"):
        extra = "".join(f"&conf.{c}" for c in spark_conf)
        extra += "&cache=true" if engine == "spark-cache" else ""
        con = connect(f"pyspark://{master}?parquet={folder}{extra}")
    else:
        raise SystemExit(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    open_s = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        metrics = compute_period(con, params)
        runs.append(time.perf_counter() - t0)
    jvm_pid = None
    if engine.startswith("spark"):
        jvm_pid = int(con._session.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    return {
        "open_s": open_s,
        "runs_s": runs,
        "kpis": len(metrics.kpis),
        "tables": len(metrics.tables),
        "python_peak_mib": _peak_rss_mib("self"),
        "jvm_peak_mib": _peak_rss_mib(str(jvm_pid)) if jvm_pid else None,
    }


def _peak_rss_mib(pid: str) -> float | None:
    """Peak resident set size of a process (``VmHWM`` in ``/proc/<pid>/status``), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid == "self":  # not Linux: the Python process' own peak, via getrusage
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return None


def format_table(results: dict[str, dict]) -> str:
    """The engines side by side, then the Spark ÷ DuckDB ratios."""

    def total_mib(r: dict) -> float:
        return r["python_peak_mib"] + (r["jvm_peak_mib"] or 0.0)

    rows = [
        ("open source / start session (s)", lambda r: f"{r['open_s']:.2f}"),
        ("compute_period median (s)", lambda r: f"{statistics.median(r['runs_s']):.2f}"),
        ("compute_period first run (s)", lambda r: f"{r['runs_s'][0]:.2f}"),
        ("runs", lambda r: str(len(r["runs_s"]))),
        ("KPIs / breakdown tables", lambda r: f"{r['kpis']} / {r['tables']}"),
        ("peak RSS Python (MiB)", lambda r: f"{r['python_peak_mib']:.0f}"),
        ("peak RSS JVM (MiB)",
         lambda r: "-" if r["jvm_peak_mib"] is None else f"{r['jvm_peak_mib']:.0f}"),
        ("peak RSS total (MiB)", lambda r: f"{total_mib(r):.0f}"),
    ]
    names = list(results)
    width = max(len(label) for label, _ in rows)
    lines = [f"{'':<{width}}  " + "  ".join(f"{n:>10}" for n in names)]
    for label, cell in rows:
        lines.append(f"{label:<{width}}  " + "  ".join(f"{cell(results[n]):>10}"
                                                     for n in names))
    for spark in (n for n in names if n.startswith("spark") and "duckdb" in results):
        d, s = results["duckdb"], results[spark]
        time_ratio = statistics.median(s["runs_s"]) / statistics.median(d["runs_s"])
        lines.append(f"{spark} ÷ duckdb: compute_period {time_ratio:.1f}×, "
                     f"peak memory {total_mib(s) / total_mib(d):.1f}×, "
                     f"plus {s['open_s']:.1f} s session start")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1_000_000, help="demo customers (default 1M)")
    p.add_argument("--months", type=int, default=14, help="months of history (default 14)")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--repeat", type=int, default=3, help="compute_period runs per engine")
    p.add_argument("--params", default=str(PARAMS_DIR / "2026-09.yaml"),
                   help="the period's parameters (its source is ignored)")
    p.add_argument("--engines", default=DEFAULT_ENGINES,
                   help=f"comma-separated, from {', '.join(ENGINES)} (default {DEFAULT_ENGINES})")
    p.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a Spark setting, repeatable (e.g. spark.driver.memory=4g)")
    p.add_argument("--cache", default=str(CACHE_DIR), help="where generated data is kept")
    p.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    raise SystemExit(main())

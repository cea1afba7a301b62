"""Benchmark: demo-data generation and contract validation at a few sizes (not a test).

Every measurement runs in its own Python subprocess, so its peak RSS (``ru_maxrss`` of that
process, imports included) is that run's alone. Prints per size and step the median wall
seconds, CPU seconds (all threads; steadier than wall time on a shared machine), rows, rows/s
and peak RSS over ``--repeat`` runs, then the time ratio between sizes.

    .venv/bin/python benchmarks/bench_data.py --sizes 100000 1000000 --repeat 3

Generation writes a store per size into ``--workdir`` (a temporary folder by default, removed
at the end unless ``--keep``); validation runs on that store.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# The code each subprocess runs: prints one JSON line {seconds, rows, peak_rss_bytes, ...}.
_CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
step, store, users, months = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import duckdb
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if step == "generate":
    from review.data.demo import generate
    t0, c0 = time.perf_counter(), cpu()
    generate(store, users=users, months=months)
    seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
    extra = {}
else:
    from review.data.connect import connect
    from review.data.validate import validate
    con = connect(store)
    t0, c0 = time.perf_counter(), cpu()
    report = validate(con)
    seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
    extra = {"errors": len(report.errors), "warnings": len(report.warnings)}
    con.disconnect()
from review.data.contract import TABLES
db = duckdb.connect(store, read_only=True)
names = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
rows = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES if t in names}
db.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows,
                  "peak_rss_bytes": peak, **extra}))
"""


def measure(step: str, store: Path, users: int, months: int) -> dict:
    """Run one step in a fresh interpreter and return its JSON report."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, step, str(store), str(users), str(months)],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{step} at {users:,} users failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000],
                        help="numbers of users (default: 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--months", type=int, default=18, help="months of demo data")
    parser.add_argument("--steps", nargs="+", default=["generate", "validate"],
                        choices=["generate", "validate"])
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the stores go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated stores")
    args = parser.parse_args(argv)

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_data_")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[int, str], dict] = {}
    print(f"{'users':>10} {'step':>9} {'median s':>9} {'cpu s':>7} {'rows':>12} {'rows/s':>12} "
          f"{'peak RSS':>10}  runs (s)")
    try:
        for users in args.sizes:
            store = workdir / f"demo_{users}.duckdb"
            for step in args.steps:
                if step == "validate" and not store.exists():
                    measure("generate", store, users, args.months)
                runs = [measure(step, store, users, args.months) for _ in range(args.repeat)]
                secs = statistics.median(r["seconds"] for r in runs)
                cpu = statistics.median(r["cpu_seconds"] for r in runs)
                rows = sum(runs[-1]["rows"].values())
                rss = statistics.median(r["peak_rss_bytes"] for r in runs) / 2**20
                results[users, step] = {"seconds": secs, "rows": rows, "rss_mib": rss,
                                        "detail": runs[-1]}
                note = ""
                if step == "validate":
                    note = f"  errors={runs[-1]['errors']} warnings={runs[-1]['warnings']}"
                each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
                print(f"{users:>10,} {step:>9} {secs:>9.2f} {cpu:>7.1f} {rows:>12,} "
                      f"{rows / secs:>12,.0f} {rss:>8.0f} MiB  {each}{note}")
            if not args.keep and store.exists():
                store.unlink()
        print()
        for users in args.sizes:
            any_step = next(r for (u, _), r in results.items() if u == users)
            per_table = ", ".join(f"{t} {n:,}" for t, n in any_step["detail"]["rows"].items())
            print(f"rows at {users:,} users: {per_table}")
        base = args.sizes[0]
        for users in args.sizes[1:]:
            for step in args.steps:
                a, b = results[base, step], results[users, step]
                print(f"{step}: {users:,} vs {base:,} users → time "
                      f"×{b['seconds'] / a['seconds']:.1f} for rows ×{b['rows'] / a['rows']:.1f}; "
                      f"peak RSS ×{b['rss_mib'] / a['rss_mib']:.1f}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

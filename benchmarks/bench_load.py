"""Load: a batch of 24 monthly periods on a 24-month demo store, peak memory of the whole batch.

Builds (once) a 24-month demo store under ``benchmarks/results/load/``, writes 24 monthly
params files from ``params/2026-09.yaml`` (dates from each period id, source pointing at the
store), runs ``review run`` over all of them in a subprocess, samples the resident memory of
the whole process tree (runner, workers and kernels) every 0.2 s from ``/proc``, and checks
that ``index.html`` lists every period as built.

    .venv/bin/python benchmarks/bench_load.py [--users 5000] [--jobs 2] [--periods 24]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from review.config import period_dates  # noqa: E402
from review.data.demo import generate  # noqa: E402


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MiB (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        p = int(entry.name)
        children.setdefault(int(stat[1]), []).append(p)
        line = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), None)
        rss[p] = int(line.split()[1]) if line else 0
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total / 1024


def months(n: int, last: str = "2026-10") -> list[str]:
    y, m = map(int, last.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--users", type=int, default=5_000)
    ap.add_argument("--periods", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "results" / "load")
    args = ap.parse_args()

    work = args.workdir
    store = work / f"demo-{args.users}-{args.periods}m.duckdb"
    work.mkdir(parents=True, exist_ok=True)
    if not store.exists():
        t0 = time.perf_counter()
        generate(store, users=args.users, months=args.periods + 1)
        print(f"store: {store.name} generated in {time.perf_counter() - t0:.1f} s")

    base = yaml.safe_load((ROOT / "params" / "2026-09.yaml").read_text(encoding="utf-8"))
    pdir = work / "params"
    pdir.mkdir(exist_ok=True)
    for old in pdir.glob("*.yaml"):
        old.unlink()
    periods = months(args.periods)
    for i, period in enumerate(periods):
        start, end = period_dates(period)
        doc = {**base, "period": period, "start": start.isoformat(), "end": end.isoformat(),
               "source": str(store), "lang": "zh" if i % 2 else "en", "milestones": []}
        (pdir / f"{period}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True),
                                             encoding="utf-8")

    out = work / "outputs"
    cmd = [str(ROOT / ".venv" / "bin" / "review"), "run", *map(str, sorted(pdir.glob("*.yaml"))),
           "--out", str(out), "--jobs", str(args.jobs), "--force", "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mib(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    log = proc.stdout.read() if proc.stdout else ""
    index = (out / "index.html").read_text(encoding="utf-8")
    listed = sum(p in index for p in periods)
    built = sum((out / p / "report.html").is_file() for p in periods)
    print(log.strip().splitlines()[-1] if log.strip() else "")
    print(f"periods: {len(periods)}  jobs: {args.jobs}  exit code: {proc.returncode}")
    print(f"wall: {wall:.1f} s ({wall / len(periods):.1f} s per period)")
    print(f"peak RSS of the whole batch (runner + workers + kernels): {peak:.0f} MiB")
    print(f"reports built: {built}/{len(periods)}; periods in index.html: {listed}/{len(periods)}")
    sys.exit(0 if proc.returncode == 0 and built == listed == len(periods) else 1)


if __name__ == "__main__":
    main()

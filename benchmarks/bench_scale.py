"""Benchmark: bank scale with daily rollups (not a test; run it on a quiet machine).

For each ``--users`` size (default 1M and 2M customers, demo generator, ``--months`` of data
ending with ``--end``; stores cached in ``--data-dir`` and reused), measured in one run:

(a) **rollup build vs one plain scan** — ``review.data.rollup.refresh(full=True)`` (fingerprint
    every raw day, roll every day up, write the month files) against one plain full scan of
    the raw events, ``SELECT count(*), count(DISTINCT user_id) FROM events``.
(b) **one month's compute_period from rollups vs raw** — the whole KPI set of the month
    ``--period`` with the stored rollups attached, and with ``connect(rollups=False)``: the
    families then derive the rollups from the raw tables inside each query, so every query
    reads raw events and transactions as before the rollups (the query shapes differ a
    little from the pre-rollup code; what they read does not). Wall time, CPU time, peak RSS.
(c) **a 24-month batch** — the KPI set of each of the last ``--periods`` months, one after
    the other in one process with the rollups attached (what ``review run --all`` computes
    per period once its rollups are current): total time and the number of engine queries
    that read the raw ``events`` / ``transactions`` tables, by metric family (counted from
    the SQL Ibis compiles). With every family on rollups it is 0: the raw rows were read once,
    by (a).
(d) **peak memory at 1× and 2×** — the peak RSS of (b) at the first two sizes and its growth.
(e) **incremental refresh** — on a copy of the store and its rollups: ``refresh`` when nothing
    changed (the stamp check), after appending a new day (the last day's events and
    transactions again, one day later), and after changing one past day (deleting 1% of the
    events of the 15th of the last month, whose month files are then rewritten). Days read and
    seconds of each.

Every measurement runs in a fresh Python process that reports its wall and CPU seconds and
its own peak RSS (Linux ``VmHWM``). DuckDB runs with the memory limit of
:func:`review.data.connect.duckdb_config` (``--memory-limit`` sets
``REVIEW_DUCKDB_MEMORY_LIMIT`` for the children). Medians of ``--repeat`` runs.

Usage::

    .venv/bin/python benchmarks/bench_scale.py --users 20000 --repeat 1     # a smoke check
    nohup .venv/bin/python benchmarks/bench_scale.py > bench_scale.log 2>&1 &  # 1M and 2M
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from review.paths import PROJECT_ROOT

DEFAULT_DATA_DIR = PROJECT_ROOT / "benchmarks" / "results" / "scale-data"
RAW = ("events", "transactions")


# -- data ----------------------------------------------------------------------------------------
def ensure_store(data_dir: Path, users: int, months: int, end: date) -> Path:
    """The demo store of one size, generated in a child process unless it exists."""
    store = data_dir / f"users{users}-months{months}-end{end:%Y%m}" / "demo.duckdb"
    if store.is_file():
        return store
    print(f"generating {users:,} users × {months} months into {store} …", flush=True)
    code = ("import sys, datetime; from review.data.demo import generate; "
            "generate(sys.argv[1], users=int(sys.argv[2]), months=int(sys.argv[3]), "
            "end=datetime.date.fromisoformat(sys.argv[4]))")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(store), str(users),
                    str(months), end.isoformat()], check=True)
    print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return store


def month_params(store: Path, month: date):
    """Params of the calendar month starting ``month`` on ``store`` (defaults elsewhere)."""
    from review.config import Params

    nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Params.from_dict({"period": f"{month:%Y-%m}", "start": month.isoformat(),
                             "end": (nxt - timedelta(days=1)).isoformat(),
                             "source": str(store)}, origin="benchmarks/bench_scale.py")


def last_months(end: date, n: int) -> list[date]:
    idx = end.year * 12 + end.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(idx - n + 1, idx + 1)]


# -- the measured work (runs in a child) ---------------------------------------------------------
def _status_bytes(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` of this process in bytes (Linux; ``ru_maxrss`` else)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(task: str, store: Path, period: date, periods: int) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    from review.data import connect, rollup
    from review.metrics import compute_period
    from review.metrics.common import Window
    from review.metrics.period import (
        FAMILIES,
        _headline_and_breakdowns,
        contract_tables,
        family_module,
    )

    extra: dict = {}
    t0, c0 = time.perf_counter(), _cpu()
    if task == "scan":
        con = connect(store, rollups=False)
        con.raw_sql("SELECT count(*), count(DISTINCT user_id) FROM events").fetchall()
    elif task == "rollup":
        res = rollup.refresh(store, full=True)
        extra = {"days": len(res.days_read)}
    elif task in ("period-rollups", "period-raw"):
        con = connect(store, rollups=(task == "period-rollups"))
        if task == "period-rollups" and "rollup_user_day" not in con.list_tables():
            raise SystemExit("the store's rollups are not current: run (a) first")
        compute_period(con, month_params(store, period))
    elif task == "batch":
        con = connect(store)
        t = contract_tables(con)
        t.update(rollup.tables(con, t))
        with rollup.RawReads(con) as reads:
            for month in last_months(period, periods):
                params = month_params(store, month)
                w, cw = Window(params.start, params.end), Window(*params.comparison)
                for fam in FAMILIES:
                    mod = family_module(fam)
                    if any(r not in t for r in getattr(mod, "REQUIRES", ())):
                        continue
                    reads.label = fam
                    _headline_and_breakdowns(mod, t, w, params)
                    mod.headline(t, cw, params)
        extra = {"raw_reads": reads.counts}
    elif task == "incremental":
        extra = incremental(store)
    else:
        raise SystemExit(f"unknown task {task}")
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": _cpu() - c0,
            "peak_rss": _status_bytes("VmHWM"), **extra}


def incremental(store: Path) -> dict:
    """(e): refresh a copy of ``store`` unchanged, after a new day, after a changed past day."""
    import shutil
    import tempfile

    import duckdb

    from review.data import rollup

    out: dict = {}
    with tempfile.TemporaryDirectory(dir=store.parent.parent) as tmp:
        copy = Path(tmp) / store.name
        shutil.copy2(store, copy)  # same name and mtime: the copied manifest's stamp matches
        shutil.copytree(rollup.store_path(store), rollup.store_path(copy))

        def timed(label: str) -> None:
            t0 = time.perf_counter()
            res = rollup.refresh(copy)
            out[label] = {"seconds": time.perf_counter() - t0, "days": len(res.days_read),
                          "months": len(res.months_written)}

        timed("unchanged")
        con = duckdb.connect(str(copy))
        last = con.execute("SELECT max(ts)::date FROM events").fetchone()[0]
        for t in ("events", "transactions"):
            cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
            sel = ", ".join("ts + INTERVAL 1 DAY" if c == "ts" else c for c in cols)
            con.execute(f"INSERT INTO {t} SELECT {sel} FROM {t} WHERE ts::date = DATE '{last}'")
        con.close()
        timed("new_day")
        con = duckdb.connect(str(copy))
        day = last.replace(day=15)
        con.execute(f"DELETE FROM events WHERE ts::date = DATE '{day}' AND hash(user_id) % 100 = 0")
        con.close()
        timed("changed_day")
    return {"incremental": out}


def measure(task: str, store: Path, period: date, periods: int, env: dict) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--store",
           str(store), "--period", period.isoformat(), "--periods", str(periods)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{task} on {store} failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_of(task: str, store: Path, period: date, periods: int, env: dict, repeat: int
              ) -> dict:
    runs = [measure(task, store, period, periods, env) for _ in range(repeat)]
    out = dict(runs[-1])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["cpu_seconds"] = statistics.median(r["cpu_seconds"] for r in runs)
    out["peak_rss"] = max(r["peak_rss"] for r in runs)
    return out


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, nargs="+", default=[1_000_000, 2_000_000])
    ap.add_argument("--months", type=int, default=25, help="months of data in the stores")
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 31))
    ap.add_argument("--period", type=date.fromisoformat, default=date(2026, 10, 1),
                    help="first day of the month measured in (b); the batch ends with it")
    ap.add_argument("--periods", type=int, default=24, help="months in the batch (c)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parts", default="abcde",
                    help="which measurements to run, e.g. 'a' for the build alone (default abcde;"
                         " d needs b)")
    ap.add_argument("--raw-users", type=int, nargs="+",
                    help="sizes at which (b) also measures the raw path (default: every size;"
                         " it is the slow one)")
    ap.add_argument("--memory-limit", help="DuckDB memory limit of the children, e.g. 1GB")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.store, a.period, a.periods)))
        return 0
    from review.data import rollup

    env = dict(os.environ)
    if a.memory_limit:
        env["REVIEW_DUCKDB_MEMORY_LIMIT"] = a.memory_limit
    rows = []
    for users in a.users:
        store = ensure_store(a.data_dir, users, a.months, a.end)
        r = {"users": users}
        if "a" in a.parts:
            r["scan"] = median_of("scan", store, a.period, a.periods, env, a.repeat)
            r["rollup"] = median_of("rollup", store, a.period, a.periods, env, a.repeat)
        elif not rollup.is_current(store):
            measure("rollup", store, a.period, a.periods, env)  # (b) and (c) need rollups
        if "b" in a.parts or "d" in a.parts:
            r["rollups"] = median_of("period-rollups", store, a.period, a.periods, env,
                                     a.repeat)
            if a.raw_users is None or users in a.raw_users:
                r["raw"] = median_of("period-raw", store, a.period, a.periods, env, a.repeat)
        if "e" in a.parts:
            r["incremental"] = measure("incremental", store, a.period, a.periods, env
                                       )["incremental"]
        if "c" in a.parts:
            r["batch"] = measure("batch", store, a.period, a.periods, env)
        rows.append(r)
        print(f"\n== {users:,} users ({a.months} months of data), median of {a.repeat} ==")
        if "scan" in r:
            s, b = r["scan"], r["rollup"]
            print(f"(a) plain scan of events: {s['seconds']:.2f} s, {_gib(s['peak_rss'])}; "
                  f"rollup build ({b['days']} days): {b['seconds']:.1f} s, "
                  f"{_gib(b['peak_rss'])} → {b['seconds'] / s['seconds']:.1f}× the scan")
        if "rollups" in r:
            ro = r["rollups"]
            line = (f"(b) compute_period {a.period:%Y-%m}: rollups {ro['seconds']:.1f} s "
                    f"(cpu {ro['cpu_seconds']:.1f} s), {_gib(ro['peak_rss'])}")
            if "raw" in r:
                rw = r["raw"]
                line += (f"; raw {rw['seconds']:.1f} s (cpu {rw['cpu_seconds']:.1f} s), "
                         f"{_gib(rw['peak_rss'])} → {rw['seconds'] / ro['seconds']:.1f}× "
                         "faster from rollups")
            print(line)
        if "batch" in r:
            bt = r["batch"]
            total = {t: sum(c.get(t, 0) for c in bt["raw_reads"].values()) for t in RAW}
            print(f"(c) {a.periods}-month batch from rollups: {bt['seconds']:.1f} s, "
                  f"{_gib(bt['peak_rss'])}; queries reading raw events: {total['events']}, "
                  f"raw transactions: {total['transactions']}")
            for fam, c in sorted(bt["raw_reads"].items()):
                print(f"      {fam:<13} events {c.get('events', 0):>4}  "
                      f"transactions {c.get('transactions', 0):>4}")
        if "incremental" in r:
            inc = r["incremental"]
            print("(e) refresh: " + "; ".join(
                f"{k.replace('_', ' ')} {v['seconds']:.1f} s ({v['days']} day(s) read, "
                f"{v['months']} month file(s) per table)" for k, v in inc.items()))
    if len(rows) >= 2 and "rollups" in rows[0]:
        x, y = rows[0], rows[1]
        for path in ("rollups", "raw"):
            if path not in x or path not in y:
                continue
            print(f"(d) peak RSS of compute_period from {path}: {_gib(x[path]['peak_rss'])} at "
                  f"{x['users']:,} users, {_gib(y[path]['peak_rss'])} at {y['users']:,} → "
                  f"{y[path]['peak_rss'] / x[path]['peak_rss']:.2f}×")
    out = a.data_dir / "bench_scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

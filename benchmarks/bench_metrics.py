"""Benchmark: one period's KPI set on the engine (Ibis on DuckDB) vs the naive pandas way.

Both paths read the same Parquet files, exported once from a demo store
(:func:`review.data.demo.generate`, ``--users`` × each ``--scale`` customers, ``--months`` of
data ending with the month of ``--period``; cached in ``--data-dir`` and reused):

``engine``
    :func:`review.metrics.compute_period` on ``review.data.connect(<parquet folder>)``: every
    headline KPI for P and its comparison period *and* every breakdown table (what a report
    run computes).
``engine-kpis``
    The same families' ``headline()`` for P and the comparison period only: exactly the
    work of the naive path, done by the engine.
``naive``
    :func:`naive_kpis.naive_kpis`: ``pd.read_parquet`` of whole tables (the columns used),
    masks, ``merge`` and ``groupby`` in memory. It covers all 28 headline KPIs that
    ``compute_period`` computes, for P and the comparison period: new_users,
    registered_base, active_users, mau_ratio, stickiness, logins_per_active_day,
    light_op_share, d7_retention, funnel_conversion, reactivation_rate, hnw_conversions,
    hnw_conversion_rate, transactions, gmv, mobile_share, failure_rate,
    abnormal_logins_per_10k, biometric_share, crash_per_1k_logins, cac, budget_execution,
    campaign_roi, ltv_cac, nps, complaints_per_10k, awareness, penetration_key,
    penetration_lower (the experiments family has no headline KPI).

First, on a small store (``--check-users``), the naive values are compared with
``compute_period``'s (period and comparison values, relative difference ≤ 1e-9); any
difference is printed, and the benchmark stops unless ``--no-check-stop``.

Every measurement runs in a fresh Python process (imports done before the clock starts),
which reports its wall time and its own peak RSS (Linux ``VmHWM``, imports included; the RSS
after the imports is shown as "base"). Printed: per path and scale the events in the month
and in the store, the median wall seconds of ``--repeat`` runs (also the fastest, and the
median CPU seconds of all threads: steadier than wall time on a shared machine), the peak
RSS (the largest of the runs), the naive ÷ engine ratios of time and memory, and each path's
growth of time and memory between consecutive scales (e.g. 2× ÷ 1×).
``--profile SCALE`` adds one run per metric family (headlines for P and the comparison period
plus P's breakdowns, as ``compute_period`` does), each in its own process, at that scale.

Usage::

    .venv/bin/python benchmarks/bench_metrics.py --users 50000 --scale 1 2 --naive-scales 1 \
        --repeat 1                                                          # a quick try
    nohup .venv/bin/python benchmarks/bench_metrics.py > bench_metrics.log 2>&1 &
    # default: 200k (engine and naive), 1M and 2M users (engine), 3 runs each

The naive path needs about 200 bytes of RAM per event row of the store (measured: 5.7 GiB
peak for 28.7M events at 200,000 users), i.e. about 28 GiB at 1M users: more than this
machine has. It therefore runs only at ``--naive-scales`` (default 0.2), and is skipped, with a
message, where the estimate exceeds 80% of the memory available when it would start.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # naive_kpis, when imported from elsewhere

from review.paths import PARAMS_DIR, PROJECT_ROOT  # noqa: E402

PATHS = ("engine", "engine-kpis", "naive")
DEFAULT_DATA_DIR = PROJECT_ROOT / "benchmarks" / "results" / "metrics-data"
REL_TOL = 1e-9
#: The naive path's peak RSS ≈ base + bytes per event row of the store (measured, rounded up)
NAIVE_BASE_BYTES = 150 * 2**20
NAIVE_BYTES_PER_EVENT = 200
_DONE = ".complete"


# -- data ----------------------------------------------------------------------------------------
def store_dir(data_dir: Path, users: int, months: int, end: date) -> Path:
    """The folder of one demo size: ``demo.duckdb``, ``parquet/`` and ``counts.json``."""
    return data_dir / f"users{users}-months{months}-end{end:%Y%m}"


def ensure_store(folder: Path, users: int, months: int, end: date) -> Path:
    """Generate the demo store of ``folder`` in a child process unless it exists."""
    store = folder / "demo.duckdb"
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


def ensure_parquet(store: Path, folder: Path) -> Path:
    """Export every contract table of ``store`` to ``folder/<table>.parquet`` once."""
    import duckdb

    from review.data.contract import TABLES

    if (folder / _DONE).is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(store), read_only=True)
    try:
        have = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        for name in TABLES:
            if name in have:
                con.execute(f'COPY (SELECT * FROM "{name}") TO ? (FORMAT parquet)',
                            [str(folder / f"{name}.parquet")])
    finally:
        con.close()
    (folder / _DONE).write_text("ok\n", encoding="utf-8")
    print(f"  exported {store.name} to Parquet in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder


def event_counts(folder: Path, start: date, end: date) -> dict[str, int]:
    """Events in the Parquet folder: all, and with ``ts`` in ``[start, end]`` (cached)."""
    cache = folder / "counts.json"
    key = f"{start}..{end}"
    known = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    if key not in known:
        import duckdb

        row = duckdb.sql(
            f"SELECT count(*), count(*) FILTER (WHERE ts >= DATE '{start}' "
            f"AND ts < DATE '{end}' + INTERVAL 1 DAY) "
            f"FROM read_parquet('{folder / 'events.parquet'}')").fetchone()
        known[key] = {"events": int(row[0]), "events_in_period": int(row[1])}
        cache.write_text(json.dumps(known, indent=2) + "\n", encoding="utf-8")
    return known[key]


def prepare(data_dir: Path, users: int, months: int, end: date) -> Path:
    """The Parquet folder of a demo size, generating and exporting what is missing."""
    folder = store_dir(data_dir, users, months, end)
    store = ensure_store(folder, users, months, end)
    return ensure_parquet(store, folder / "parquet")


# -- the measured work (runs in the child) -------------------------------------------------------
def engine_headlines(con, params) -> dict[str, tuple[float, float]]:
    """Every family's ``headline()`` for P and the comparison period (no breakdowns)."""
    from review.metrics.common import Window
    from review.metrics.period import FAMILIES, contract_tables, family_module

    t = contract_tables(con)
    w, cw = Window(params.start, params.end), Window(*params.comparison)
    cur, prev = {}, {}
    for fam in FAMILIES:
        mod = family_module(fam)
        cur.update(mod.headline(t, w, params))
        prev.update(mod.headline(t, cw, params))
    return {k: (m.value, prev[k].value) for k, m in cur.items()}


def engine_family(con, params, family: str) -> None:
    """What ``compute_period`` does for one family (headlines for both windows, breakdowns)."""
    from review.metrics.common import Window
    from review.metrics.period import COMPARE_BREAKDOWNS, contract_tables, family_module

    t = contract_tables(con)
    w, cw = Window(params.start, params.end), Window(*params.comparison)
    mod = family_module(family)
    mod.headline(t, w, params)
    mod.headline(t, cw, params)
    mod.breakdowns(t, w, params)
    if family in COMPARE_BREAKDOWNS:
        mod.breakdowns(t, cw, params)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _status_bytes(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (current) of this process, in bytes (Linux).

    Not ``ru_maxrss``: Linux carries the parent's high-water mark across fork + exec into
    the child's ``ru_maxrss``; ``VmHWM`` belongs to the new process image alone.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux


def run_child(path: str, folder: Path, params_file: Path, family: str | None) -> dict:
    """The body of one measurement process: returns wall seconds and RSS figures."""
    import warnings

    warnings.simplefilter("ignore")
    from review.config import load_params

    params = load_params(params_file)
    if path == "naive":
        import naive_kpis
    else:
        from review.data.connect import connect
        from review.metrics import compute_period
    base = _status_bytes("VmRSS")
    c0 = _cpu_seconds()
    t0 = time.perf_counter()
    if path == "naive":
        naive_kpis.naive_kpis(folder, params)
    else:
        con = connect(folder)
        if path == "engine":
            compute_period(con, params)
        elif path == "engine-kpis":
            engine_headlines(con, params)
        else:
            engine_family(con, params, family)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": _cpu_seconds() - c0,
            "peak_rss": _status_bytes("VmHWM"), "base_rss": base}


def measure(path: str, folder: Path, params_file: Path, family: str | None = None) -> dict:
    """Run one measurement in a fresh interpreter and return its report."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", path,
           "--child-folder", str(folder), "--child-params", str(params_file)]
    if family:
        cmd += ["--child-family", family]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{path} on {folder} failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def naive_fits(events: int) -> bool:
    """Whether the naive path's estimated peak fits in 80% of the available memory."""
    need = NAIVE_BASE_BYTES + NAIVE_BYTES_PER_EVENT * events
    avail = _meminfo_bytes("MemAvailable")
    if avail is None or need <= 0.8 * avail:
        return True
    print(f"  naive skipped: needs about {need / 2**30:.1f} GiB for {events:,} events, "
          f"{avail / 2**30:.1f} GiB available", flush=True)
    return False


def _meminfo_bytes(field: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# -- like-for-like check ---------------------------------------------------------------------------
def _same(a: float | None, b: float | None) -> bool:
    a = math.nan if a is None else float(a)
    b = math.nan if b is None else float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) or a == b


def check_equal(folder: Path, params) -> list[str]:
    """Compare the naive KPIs with ``compute_period``'s on ``folder``; the differences."""
    import warnings

    warnings.simplefilter("ignore")
    import naive_kpis

    from review.data.connect import connect
    from review.metrics import compute_period

    naive = naive_kpis.naive_kpis(folder, params)
    con = connect(folder)
    engine = compute_period(con, params).kpis
    con.disconnect()
    problems = [f"{k}: engine does not compute it" for k in naive if k not in engine]
    for key, (cur, prev) in naive.items():
        if key not in engine:
            continue
        kv = engine[key]
        if not _same(cur, kv.value):
            problems.append(f"{key} (P): naive {cur!r} vs engine {kv.value!r}")
        if not _same(prev, kv.compare_value):
            problems.append(f"{key} (comparison): naive {prev!r} vs engine {kv.compare_value!r}")
    left_out = sorted(set(engine) - set(naive))
    if left_out:
        problems.append(f"not covered by the naive path: {', '.join(left_out)}")
    return problems


# -- report --------------------------------------------------------------------------------------
def _mib(b: float) -> float:
    return b / 2**20


def print_table(rows: list[dict]) -> None:
    """The results table and the ratios (see the module docstring)."""
    head = (f"{'path':<12} {'scale':>5} {'users':>10} {'events/month':>13} {'events all':>12} "
            f"{'median s':>9} {'min s':>8} {'cpu s':>8} {'peak MiB':>9} {'base MiB':>9} "
            f"{'naive/eng t':>11} {'naive/eng mem':>13}")
    print(head)
    print("-" * len(head))
    naive = {r["scale"]: r for r in rows if r["path"] == "naive"}
    for r in rows:
        nv = naive.get(r["scale"])
        if nv is not None and r["path"] != "naive":
            t_ratio = f"{nv['median_s'] / r['median_s']:.2f}×"
            m_ratio = f"{nv['peak_rss'] / r['peak_rss']:.2f}×"
        else:
            t_ratio = m_ratio = ""
        print(f"{r['path']:<12} {r['scale']:>4g}× {r['users']:>10,} {r['events_in_period']:>13,} "
              f"{r['events']:>12,} {r['median_s']:>9.2f} {r['min_s']:>8.2f} {r['cpu_s']:>8.1f} "
              f"{_mib(r['peak_rss']):>9.0f} {_mib(r['base_rss']):>9.0f} "
              f"{t_ratio:>11} {m_ratio:>13}")
    for path in PATHS:
        by_scale = {r["scale"]: r for r in rows if r["path"] == path}
        scales = sorted(by_scale)
        for lo, hi in zip(scales, scales[1:], strict=False):
            a, b = by_scale[lo], by_scale[hi]
            above = (b["peak_rss"] - b["base_rss"]) / max(a["peak_rss"] - a["base_rss"], 1)
            print(f"{path}: {hi:g}× ÷ {lo:g}×: data (events) {b['events'] / a['events']:.2f}×, "
                  f"time {b['median_s'] / a['median_s']:.2f}×, "
                  f"peak RSS {b['peak_rss'] / a['peak_rss']:.2f}× "
                  f"(above the import baseline {above:.2f}×)")


def print_profile(rows: list[dict]) -> None:
    print(f"{'family':<14} {'wall s':>8} {'peak MiB':>9} {'above base MiB':>15}")
    for r in sorted(rows, key=lambda r: -r["seconds"]):
        print(f"{r['family']:<14} {r['seconds']:>8.2f} {_mib(r['peak_rss']):>9.0f} "
              f"{_mib(r['peak_rss'] - r['base_rss']):>15.0f}")
    print(f"{'sum':<14} {sum(r['seconds'] for r in rows):>8.2f}")


# -- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="users at scale 1")
    parser.add_argument("--months", type=int, default=6,
                        help="months of demo data ending with the period's month (≥ 6)")
    parser.add_argument("--scale", type=float, nargs="+", default=[0.2, 1, 2],
                        help="multiples of --users to run (default: 0.2 1 2)")
    parser.add_argument("--naive-scales", type=float, nargs="+", default=[0.2],
                        help="scales at which the naive path runs too (default: 0.2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per path and scale")
    parser.add_argument("--period", default="2026-10", help="params/<period>.yaml to use")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"where stores and Parquet exports are kept ({DEFAULT_DATA_DIR})")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--check-users", type=int, default=3_000,
                        help="users of the like-for-like check store (0: skip the check)")
    parser.add_argument("--no-check-stop", action="store_true",
                        help="go on with the timings when the check finds differences")
    parser.add_argument("--profile", type=float, default=None, metavar="SCALE",
                        help="also time each metric family alone at this scale (one of --scale)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", choices=(*PATHS, "family"), help=argparse.SUPPRESS)
    parser.add_argument("--child-folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-params", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-family", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(run_child(args.child, args.child_folder, args.child_params,
                                   args.child_family)))
        return 0

    from review.config import load_params

    params_file = PARAMS_DIR / f"{args.period}.yaml"
    params = load_params(params_file)
    end = params.end
    data_dir = args.data_dir.resolve()
    print(f"period {params.period} ({params.start}..{params.end}), comparison "
          f"{params.comparison[0]}..{params.comparison[1]}; data in {data_dir}", flush=True)

    if args.check_users:
        folder = prepare(data_dir, args.check_users, args.months, end)
        problems = check_equal(folder, params)
        if problems:
            print(f"like-for-like check at {args.check_users:,} users: "
                  f"{len(problems)} difference(s)")
            for p in problems:
                print(f"  {p}")
            if not args.no_check_stop:
                return 1
        else:
            print(f"like-for-like check at {args.check_users:,} users: all 28 KPIs × "
                  "(P, comparison) equal within 1e-9", flush=True)

    users = {s: round(args.users * s) for s in args.scale}
    folders = {s: prepare(data_dir, users[s], args.months, end) for s in args.scale}
    rows = []
    for s in args.scale:
        counts = event_counts(folders[s], params.start, params.end)
        for path in args.paths:
            if path == "naive" and (s not in args.naive_scales
                                    or not naive_fits(counts["events"])):
                continue
            runs = []
            for i in range(args.repeat):
                r = measure(path, folders[s], params_file)
                print(f"  {path} {s:g}× run {i + 1}: {r['seconds']:.2f} s "
                      f"(CPU {r['cpu_seconds']:.1f} s), peak {_mib(r['peak_rss']):.0f} MiB",
                      flush=True)
                runs.append(r)
            rows.append({
                "path": path, "scale": s, "users": users[s], **counts,
                "median_s": statistics.median(r["seconds"] for r in runs),
                "min_s": min(r["seconds"] for r in runs),
                "cpu_s": statistics.median(r["cpu_seconds"] for r in runs),
                "peak_rss": max(r["peak_rss"] for r in runs),
                "base_rss": statistics.median(r["base_rss"] for r in runs),
                "runs": runs,
            })
    print()
    print_table(rows)
    profile = []
    if args.profile is not None:
        from review.metrics.period import FAMILIES

        s = args.profile
        if s not in folders:
            raise SystemExit(f"--profile {s:g}: not one of --scale {args.scale}")
        print(f"\nper family at {s:g}× ({users[s]:,} users), one run each:")
        for fam in FAMILIES:
            r = measure("family", folders[s], params_file, fam)
            print(f"  {fam}: {r['seconds']:.2f} s, peak {_mib(r['peak_rss']):.0f} MiB",
                  flush=True)
            profile.append({"family": fam, **r})
        print_profile(profile)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "rows": rows, "profile": profile}, indent=2) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

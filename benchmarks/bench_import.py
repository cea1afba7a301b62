"""Benchmark: ``review import`` of a large contact-list CSV (not a test).

Writes a synthetic contact list (GBK-free UTF-8, Chinese headers and codes, one row per
customer per campaign) of about ``--mb`` megabytes, then imports it into a fresh DuckDB store
(users with ``dedup: first`` + assignments) in a subprocess, and prints wall seconds, CPU
seconds, rows, MB/s and the subprocess's peak RSS (``ru_maxrss``, imports included) with its
ratio to the file size.

    .venv/bin/python benchmarks/bench_import.py --mb 50

Keep ``--mb`` modest on a shared machine. Measured on 2 shared cores (peak RSS includes about
270 MiB of imports): 50 MB in 20 s wall (10 s CPU), 464 MiB; 20 MB in 8–9 s. CSV files are
read in chunks of ``CHUNK_ROWS`` rows; a file with ``derive:``/``sql:``/``when:`` is read
whole.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

MAPPING = """
sources:
  - files: "contacts*.csv"
    tables:
      users:
        dedup: first
        columns:
          user_id: 客户号
          registered_at: {from: 开户日期, format: "%Y-%m-%d"}
          acquisition_channel: {from: 渠道, values: {网点: branch, 推荐: referral, 广告: digital_ads}}
          region: 地区
          city_tier: {from: 城市等级, values: {重点城市: key, 一般城市: lower}}
          age_band: 年龄段
          segment: {from: 客群, values: {大众: mass, 富裕: affluent}}
      assignments:
        columns:
          user_id: 客户号
          campaign_id: 活动编号
          variant: {from: 分组, values: {对照组: control, 实验组: A}}
          touch_channel: {from: 触达渠道, values: {短信: sms, 电话: phone}}
          assigned_at: {from: 触达日期, format: "%Y-%m-%d"}
          reached: {from: 是否触达, values: {是: true, 否: false}}
          converted_at: {from: 转化日期, format: "%Y-%m-%d"}
          reward_cost: 奖励金额
"""

HEADER = ("客户号,开户日期,渠道,地区,城市等级,年龄段,客群,活动编号,分组,触达渠道,触达日期,"
          "是否触达,转化日期,奖励金额\n")

_CHILD = r"""
import json, resource, sys, time
src, mapping, store = sys.argv[1:4]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
from review.data.importer import import_files
t0, c0 = time.perf_counter(), cpu()
result = import_files([src], mapping, store)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": cpu() - c0,
                  "rows": result.rows,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def write_csv(path: Path, mb: float, seed: int = 7) -> int:
    """A contact list of about ``mb`` MB: customers in up to 3 campaigns each."""
    rng = random.Random(seed)
    target = int(mb * 2**20)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        size, user = len(HEADER.encode()), 0
        while size < target:
            user += 1
            reg = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            base = (f"U{user:09d},{reg},{rng.choice(['网点', '推荐', '广告'])},"
                    f"{rng.choice(['杭州', '温州', '湖州'])},{rng.choice(['重点城市', '一般城市'])},"
                    f"{rng.choice(['25-34', '35-44'])},{rng.choice(['大众', '富裕'])}")
            for c in rng.sample(range(1, 9), rng.randint(1, 3)):
                day = rng.randint(1, 28)
                conv = f"2026-09-{day:02d}" if rng.random() < 0.1 else ""
                line = (f"{base},C{c:02d},{rng.choice(['对照组', '实验组'])},"
                        f"{rng.choice(['短信', '电话'])},2026-09-{day:02d},"
                        f"{rng.choice(['是', '否'])},{conv},{rng.choice(['0', '5', '20'])}\n")
                f.write(line)
                size += len(line.encode())
                rows += 1
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="CSV size in MB (default 50)")
    ap.add_argument("--workdir", type=Path, help="Folder for the CSV and store (default: tmp)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        src = folder / "contacts.csv"
        rows = write_csv(src, args.mb)
        (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
        size = src.stat().st_size
        out = subprocess.run([sys.executable, "-c", _CHILD, str(src),
                              str(folder / "mapping.yaml"), str(folder / "store.duckdb")],
                             capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rss = r["peak_rss_bytes"]
        print(f"file {size / 2**20:.1f} MiB, {rows:,} rows; written {r['rows']}")
        print(f"wall {r['seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s, "
              f"{size / 2**20 / r['seconds']:.2f} MiB/s; peak RSS {rss / 2**20:.0f} MiB "
              f"({rss / size:.1f}× the file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

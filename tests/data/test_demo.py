"""The demo-data generator: contract shape, determinism, atomic writes and planted truths.

Most checks read the session's demo store (``demo_store``: 3,000 users, 18 months to
2026-10-31, seed 7) with plain SQL, so that a planted effect is shown to be in the data
itself, independently of the metric code. Determinism, chunking and failure tests build
their own tiny stores.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from review.config import Thresholds, load_params
from review.data import demo
from review.data.contract import GROUND_TRUTH_TABLE, TABLES
from review.data.demo import generate
from review.errors import ReviewError
from review.paths import PARAMS_DIR

WINDOW_START, WINDOW_END = date(2025, 5, 1), date(2026, 10, 31)
DUCK_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE",
              "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}
ALL_TABLES = (*TABLES, GROUND_TRUTH_TABLE)


@pytest.fixture(scope="module")
def duck(demo_store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(demo_store), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def truth(duck: duckdb.DuckDBPyConnection) -> dict[str, tuple[float | None, str | None]]:
    return {k: (v, d) for k, v, d in duck.execute("SELECT * FROM ground_truth").fetchall()}


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchone()


def checksums(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every table's rows (as text) in a total order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: one(con, f'SELECT count(*), md5(coalesce(string_agg(r, chr(10) ORDER BY r), '
                          f"'')) FROM (SELECT t::VARCHAR AS r FROM \"{t}\" t)")
                for t in ALL_TABLES}
    finally:
        con.close()


# -- helpers with known answers ---------------------------------------------------------------
def test_calendar_covers_whole_months_ending_with_the_month_of_end():
    cal = demo._Calendar.build(date(2026, 10, 15), 18)
    assert (cal.start, cal.end) == (WINDOW_START, WINDOW_END)
    # 2025-05..12: 31+30+31+31+30+31+30+31 = 245 days; 2026-01..10: 304 days → 549
    assert cal.days == 549
    assert (cal.labels[0], cal.labels[-1], cal.months) == ("2025-05", "2026-10", 18)
    # 2026-02 is month 9: May..Jan = 31+30+31+31+30+31+30+31+31 = 276 days before it; 28 long
    assert cal.month_bounds(9) == (276, 304)
    assert cal.month_end_date(9) == date(2026, 2, 28)
    # 2025-05-01 was a Thursday (weekday 3)
    assert cal.weekday(0) == 3


def test_apportion_splits_an_integer_by_largest_remainders():
    # 10 × weights = 3.0 2.2 1.6 1.2 0.9 0.6 0.5 → floors 3 2 1 1 0 0 0 (7); the 3 left go to
    # the largest remainders .9 (5th), .6 (3rd), .6 (6th, after the 3rd on ties)
    out = demo._apportion(10, demo._SURGE_PROFILE)
    assert out.tolist() == [3, 2, 2, 1, 1, 1, 0]


def test_poisson_limit_is_the_one_sided_three_sigma_count():
    # mu = 0.42: P(X ≤ 2) = e^-0.42 (1 + 0.42 + 0.0882) = 0.9909 → P(X > 2) = 0.0091 > 0.00135;
    # P(X ≤ 3) adds 0.42³/6 = 0.01235 → 0.9990 → P(X > 3) = 0.0010 ≤ 0.00135 → k = 3
    assert demo._poisson_limit(0.42) == 3
    assert demo._poisson_limit(0.0) == 0


# -- shape of the store -----------------------------------------------------------------------
def test_every_contract_table_has_the_exact_columns_and_types(duck):
    for name, spec in TABLES.items():
        got = [(c, t) for c, t, *_ in duck.execute(f'DESCRIBE "{name}"').fetchall()]
        expected = [(c.name, DUCK_TYPES[c.dtype]) for c in spec.columns]
        if name == "users":  # PII extras after the contract columns
            expected += [("name", "VARCHAR"), ("phone", "VARCHAR")]
        assert got == expected, name
        assert one(duck, f'SELECT count(*) FROM "{name}"')[0] > 0, f"{name} is empty"
    got = [(c, t) for c, t, *_ in duck.execute("DESCRIBE ground_truth").fetchall()]
    assert got == [("key", "VARCHAR"), ("value", "DOUBLE"), ("detail", "VARCHAR")]


def test_codes_ranges_and_nulls_follow_the_contract(duck):
    for name, spec in TABLES.items():
        for c in spec.columns:
            col = f'"{c.name}"'
            if c.allowed is not None:
                bad = duck.execute(f'SELECT DISTINCT {col} FROM "{name}" WHERE {col} IS NOT NULL '
                                   f"AND {col} NOT IN ?", [list(c.allowed)]).fetchall()
                assert bad == [], f"{name}.{c.name} has codes outside the contract: {bad}"
            if not c.nullable:
                nulls = one(duck, f'SELECT count(*) FROM "{name}" WHERE {col} IS NULL')[0]
                assert nulls == 0, f"{name}.{c.name} has {nulls} nulls"
            if c.min is not None:
                assert one(duck, f'SELECT count(*) FROM "{name}" WHERE {col} < ?',
                           [c.min])[0] == 0, f"{name}.{c.name} below {c.min}"
            if c.max is not None:
                assert one(duck, f'SELECT count(*) FROM "{name}" WHERE {col} > ?',
                           [c.max])[0] == 0, f"{name}.{c.name} above {c.max}"


def test_primary_keys_are_unique_and_foreign_keys_exist(duck):
    for name, spec in TABLES.items():
        if spec.primary_key:
            key = ", ".join(f'"{k}"' for k in spec.primary_key)
            n, distinct = one(duck, f'SELECT count(*), count(DISTINCT ({key})) FROM "{name}"')
            assert n == distinct, f"{name} has duplicate {spec.primary_key}"
        for col, (ref_table, ref_col) in spec.references.items():
            orphans = one(duck, f'SELECT count(*) FROM "{name}" x WHERE x."{col}" IS NOT NULL '
                                f'AND NOT EXISTS (SELECT 1 FROM "{ref_table}" r '
                                f'WHERE r."{ref_col}" = x."{col}")')[0]
            assert orphans == 0, f"{name}.{col}: {orphans} rows not in {ref_table}.{ref_col}"


def test_ids_and_pii_look_real(duck):
    patterns = {("users", "user_id"): r"U\d{7}", ("transactions", "txn_id"): r"T\d{10}",
                ("surveys", "response_id"): r"R\d{6}", ("complaints", "ticket_id"): r"K\d{6}",
                ("users", "phone"): r"1[3-9]\d{9}", ("users", "name"): "[\u4e00-\u9fff]{2,3}"}
    for (table, col), pattern in patterns.items():
        bad = one(duck, f'SELECT count(*) FROM "{table}" WHERE NOT regexp_full_match("{col}", ?)',
                  [pattern])[0]
        assert bad == 0, f"{table}.{col}: {bad} values do not match {pattern}"
    assert one(duck, "SELECT count(DISTINCT phone) FROM users")[0] > 2_900


def test_login_fields_are_on_logins_only_and_everything_lies_in_the_window(duck):
    login_nulls, other_values = one(duck, """
        SELECT count(*) FILTER (WHERE event = 'login' AND (session_seconds IS NULL
                                OR auth_method IS NULL OR risk_flag IS NULL)),
               count(*) FILTER (WHERE event <> 'login' AND (session_seconds IS NOT NULL
                                OR auth_method IS NOT NULL OR risk_flag IS NOT NULL))
        FROM events""")
    assert (login_nulls, other_values) == (0, 0)
    lo, hi = WINDOW_START, WINDOW_END + timedelta(days=1)
    for table, col in [("events", "ts"), ("transactions", "ts"), ("assignments", "assigned_at"),
                       ("assignments", "converted_at"), ("complaints", "created_at"),
                       ("complaints", "resolved_at"), ("surveys", "date"), ("spend", "date")]:
        outside = one(duck, f'SELECT count(*) FROM "{table}" WHERE "{col}" < ? OR "{col}" >= ?',
                      [lo, hi])[0]
        assert outside == 0, f"{table}.{col} outside the window"
    # nothing happens before the user registered; conversions follow assignments
    assert one(duck, "SELECT count(*) FROM events e JOIN users u USING (user_id) "
                     "WHERE e.ts < u.registered_at")[0] == 0
    assert one(duck, "SELECT count(*) FROM assignments WHERE converted_at < assigned_at")[0] == 0
    # balances: month-end dates only, one per user and month from registration on
    assert one(duck, "SELECT count(*) FROM balances WHERE month <> last_day(month)")[0] == 0
    assert one(duck, "SELECT count(*) FROM balances b JOIN users u USING (user_id) "
                     "WHERE b.month < last_day(greatest(u.registered_at, ?)::DATE)",
               [WINDOW_START])[0] == 0
    assert one(duck, "SELECT max(n) FROM (SELECT count(*) n FROM events "
                     "WHERE event = 'bind_card' GROUP BY user_id)")[0] == 1


# -- determinism, chunking and failures -------------------------------------------------------
def test_same_seed_gives_identical_tables_and_another_seed_differs(tmp_path):
    a, b, c = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "c.duckdb"
    truth_a = generate(a, users=300, months=7, seed=3)
    truth_b = generate(b, users=300, months=7, seed=3)
    generate(c, users=300, months=7, seed=4)
    sums_a, sums_b, sums_c = checksums(a), checksums(b), checksums(c)
    assert sums_a == sums_b
    assert truth_a.equals(truth_b)
    differ = [t for t in ALL_TABLES if sums_a[t] != sums_c[t]]
    # the campaigns table and the regions' names are fixed; the rest is drawn
    assert set(differ) >= set(ALL_TABLES) - {"campaigns"}


def test_chunks_append_to_one_consistent_store_with_a_progress_bar(tmp_path, capsys):
    out = tmp_path / "chunked.duckdb"
    truth = generate(out, users=300, months=7, seed=5, chunk_users=128, progress=True)
    assert "3/3" in capsys.readouterr().err  # three chunks: 128 + 128 + 44 users
    con = duckdb.connect(str(out), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT user_id FROM users ORDER BY 1").fetchall()]
        assert ids == [f"U{i:07d}" for i in range(300)]
        assert one(con, "SELECT count(*) = count(DISTINCT txn_id) FROM transactions")[0]
        stored = con.execute("SELECT * FROM ground_truth ORDER BY key").df()
    finally:
        con.close()
    assert truth["key"].tolist() == stored["key"].tolist()
    assert truth["value"].equals(stored["value"])
    assert truth.loc[truth.key == "users.total", "value"].item() == 300


def _fail_on(monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    real = demo._append

    def failing(con, name, batch):
        if name == table:
            raise OSError(f"disk full while writing {name} (simulated)")
        real(con, name, batch)

    monkeypatch.setattr(demo, "_append", failing)


def test_a_failure_mid_generation_leaves_no_store(tmp_path, monkeypatch):
    out = tmp_path / "demo.duckdb"
    _fail_on(monkeypatch, "balances")
    with pytest.raises(OSError, match="simulated"):
        generate(out, users=200, months=6)
    assert list(tmp_path.iterdir()) == []  # neither the store nor a temporary file


def test_a_failure_at_the_last_step_keeps_the_previous_store(tmp_path, monkeypatch):
    out = tmp_path / "demo.duckdb"
    out.write_bytes(b"the previous, good store")
    _fail_on(monkeypatch, GROUND_TRUTH_TABLE)
    with pytest.raises(OSError, match="simulated"):
        generate(out, users=200, months=6)
    assert out.read_bytes() == b"the previous, good store"
    assert [p.name for p in tmp_path.iterdir()] == ["demo.duckdb"]


@pytest.mark.parametrize("kwargs, message", [
    ({"users": 10}, "users=10: give at least 100"),
    ({"months": 3}, "months=3: give 6 to 120"),
    ({"seed": -1}, "seed=-1: give a non-negative integer"),
    ({"chunk_users": 0}, "chunk_users=0: give a positive number"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs, message):
    out = tmp_path / "demo.duckdb"
    with pytest.raises(ReviewError, match=re.escape(message)):
        generate(out, **kwargs)
    assert not out.exists()


# -- planted truths, measured with plain SQL ----------------------------------------------
def test_ground_truth_has_every_documented_key(truth):
    months = [f"{d.year}-{d.month:02d}" for d in
              (date(2025 + (4 + i) // 12, (4 + i) % 12 + 1, 1) for i in range(18))]
    expected = {"users.total", "experiment.C01.control.rate", "experiment.C01.A.true_lift_abs",
                "experiment.C01.B.true_lift_abs", "failure_incident",
                "failure_incident.baseline_rate", "complaint_surge", "crash_spike",
                "worst_cac_channel", "penetration.key", "penetration.lower",
                *(f"cac.{c}" for c in ("digital_ads", "branch", "referral", "kol", "partnership")),
                *(f"hnw_conversions.{m}" for m in months[1:])}
    assert expected <= set(truth)
    assert f"hnw_conversions.{months[0]}" not in truth
    assert truth["users.total"][0] == 3_000
    assert truth["experiment.C01.A.true_lift_abs"][0] == pytest.approx(0.06)
    assert truth["experiment.C01.B.true_lift_abs"][0] == 0.0


def test_c01_matches_the_params_and_a_wins_by_the_planted_lift(duck, truth):
    start, end = one(duck, "SELECT start, \"end\" FROM campaigns WHERE campaign_id = 'C01'")
    assert (start, end) == (date(2026, 8, 15), date(2026, 10, 15))
    planned = {c.id: c.planned_split for c in load_params(PARAMS_DIR / "2026-09.yaml").campaigns}
    detail = json.loads(truth["experiment.C01.control.rate"][1])
    assert detail["planned_split"] == planned["C01"]
    rows = duck.execute("""SELECT variant, count(*), count(converted_at) FROM assignments
                           WHERE campaign_id = 'C01' GROUP BY 1""").fetchall()
    n = {v: k for v, k, _ in rows}
    rate = {v: c / k for v, k, c in rows}
    total = sum(n.values())
    for v, share in planned["C01"].items():  # sample ratio close to the plan
        assert abs(n[v] / total - share) < 0.03
    assert total > 0.5 * 3_000  # powered: most users take part

    def se(v: str) -> float:
        return math.sqrt(sum(rate[x] * (1 - rate[x]) / n[x] for x in (v, "control")))

    control = truth["experiment.C01.control.rate"][0]
    assert abs(rate["control"] - control) < 3 * math.sqrt(control * (1 - control) / n["control"])
    lift_a = rate["A"] - rate["control"]
    assert abs(lift_a - truth["experiment.C01.A.true_lift_abs"][0]) < 3 * se("A")
    assert lift_a / se("A") > 1.96  # detectable at the fixture's size
    assert abs(rate["B"] - rate["control"]) < 3 * se("B")


def test_failure_incident_days_fail_far_more_often(duck, truth):
    days = [date.fromisoformat(d) for d in json.loads(truth["failure_incident"][1])]
    assert days == [date(2026, 9, 14), date(2026, 9, 15), date(2026, 9, 16)]
    on, off = one(duck, """
        SELECT avg((status = 'failed')::INT) FILTER (WHERE ts::DATE IN ?),
               avg((status = 'failed')::INT) FILTER (WHERE ts::DATE NOT IN ?)
        FROM transactions WHERE channel = 'mobile'
          AND ts >= DATE '2026-09-01' AND ts < DATE '2026-10-01'""", [days, days])
    assert on == pytest.approx(truth["failure_incident"][0], rel=1e-12)
    assert off == pytest.approx(truth["failure_incident.baseline_rate"][0], rel=1e-12)
    assert 0.07 <= on <= 0.11 and 0.008 <= off <= 0.016
    assert on >= 4 * off


def test_complaint_surge_is_several_times_the_usual_daily_count(duck, truth):
    d = json.loads(truth["complaint_surge"][1])
    assert (d["category"], d["start"], d["end"]) == ("app_crash", "2026-10-05", "2026-10-11")
    start, end = date.fromisoformat(d["start"]), date.fromisoformat(d["end"])
    b0, b1 = date.fromisoformat(d["baseline_start"]), date.fromisoformat(d["baseline_end"])
    assert (b1 - b0).days + 1 == 84 and b1 == start - timedelta(days=1)
    surge, usual = one(duck, """
        SELECT count(*) FILTER (WHERE created_at::DATE BETWEEN ? AND ?) / 7,
               count(*) FILTER (WHERE created_at::DATE BETWEEN ? AND ?) / 84
        FROM complaints WHERE category = 'app_crash'""", [start, end, b0, b1])
    assert surge / usual == pytest.approx(truth["complaint_surge"][0], rel=1e-12)
    assert surge >= 3 * usual
    # the faulty release also shows in the app's crash events that week
    week, rest = one(duck, """
        SELECT count(*) FILTER (WHERE event = 'crash' AND ts::DATE BETWEEN ? AND ?)
                 / count(*) FILTER (WHERE event = 'login' AND ts::DATE BETWEEN ? AND ?),
               count(*) FILTER (WHERE event = 'crash' AND ts::DATE NOT BETWEEN ? AND ?)
                 / count(*) FILTER (WHERE event = 'login' AND ts::DATE NOT BETWEEN ? AND ?)
        FROM events""", [start, end] * 4)
    assert week / rest == pytest.approx(truth["crash_spike"][0], rel=1e-12)
    assert week > 2 * rest


def test_kol_has_by_far_the_worst_cac(duck, truth):
    cac = dict(duck.execute("""
        WITH s AS (SELECT channel, sum(amount) AS spend FROM spend
                   WHERE channel <> 'internal' GROUP BY 1),
             n AS (SELECT acquisition_channel AS channel, count(*) AS new FROM users
                   WHERE registered_at >= ? GROUP BY 1)
        SELECT channel, spend / new FROM s JOIN n USING (channel)""",
                            [WINDOW_START]).fetchall())
    assert set(cac) == {"digital_ads", "branch", "referral", "kol", "partnership"}
    for ch, v in cac.items():
        assert v == pytest.approx(truth[f"cac.{ch}"][0], rel=1e-9)
    median = sorted(cac.values())[2]
    assert json.loads(truth["worst_cac_channel"][1]) == "kol"
    assert max(cac, key=cac.get) == "kol"
    assert cac["kol"] / median == pytest.approx(truth["worst_cac_channel"][0], rel=1e-9)
    assert cac["kol"] >= 3 * median
    assert all(60 <= v <= 150 for ch, v in cac.items() if ch != "kol")


def test_hnw_conversions_match_a_sql_recount(duck, truth):
    th = Thresholds()
    counted = {m: (conv, elig) for m, conv, elig in duck.execute("""
        SELECT strftime(cur.month, '%Y-%m'),
               count(*) FILTER (WHERE prev.aum >= ? AND prev.aum < ? AND cur.aum >= ?),
               count(*) FILTER (WHERE prev.aum >= ? AND prev.aum < ?)
        FROM balances cur JOIN balances prev ON prev.user_id = cur.user_id
         AND prev.month = date_trunc('month', cur.month)::DATE - 1
        GROUP BY 1""", [th.eligible_aum, th.hnw_aum, th.hnw_aum, th.eligible_aum,
                        th.hnw_aum]).fetchall()}
    planted = {k.split(".", 1)[1]: (v, json.loads(d)["eligible"])
               for k, (v, d) in truth.items() if k.startswith("hnw_conversions.")}
    assert len(planted) == 17
    assert planted == {m: counted.get(m, (0, 0)) for m in planted}
    assert sum(v for v, _ in planted.values()) > 20  # some customers do cross each month


def test_penetration_ends_near_the_tier_targets(duck, truth):
    pen = dict(duck.execute("""
        SELECT r.city_tier, count(u.user_id) / any_value(p.population)
        FROM regions r LEFT JOIN users u ON u.region = r.region
        JOIN (SELECT city_tier, sum(population) AS population FROM regions GROUP BY 1) p
          ON p.city_tier = r.city_tier
        GROUP BY 1""").fetchall())
    assert pen["key"] == pytest.approx(truth["penetration.key"][0])
    assert pen["lower"] == pytest.approx(truth["penetration.lower"][0])
    assert 0.70 <= pen["key"] <= 0.80 and 0.45 <= pen["lower"] <= 0.55
    assert one(duck, "SELECT count(*) FROM regions")[0] == 12


# -- the seeds' realism ---------------------------------------------------------------------
def test_activity_matches_the_seeds(duck):
    lpd_min, lpd_max = one(duck, """
        SELECT min(x), max(x) FROM (
          SELECT count(*) / count(DISTINCT (user_id, ts::DATE)) AS x FROM events
          WHERE event = 'login' GROUP BY date_trunc('month', ts))""")
    assert 3 <= lpd_min <= lpd_max <= 5
    light, crash_1k, risk_10k = one(duck, """
        SELECT avg((event IN ('account_query', 'transfer', 'wealth'))::INT)
                 FILTER (WHERE event NOT IN ('login', 'bind_card', 'crash')),
               1000 * count(*) FILTER (WHERE event = 'crash') / count(*) FILTER (WHERE event = 'login'),
               10000 * avg(risk_flag::INT) FILTER (WHERE event = 'login')
        FROM events""")
    assert light > 0.70
    assert 0.7 <= crash_1k <= 1.5
    assert 5 <= risk_10k <= 15
    bio = dict(duck.execute("""
        SELECT u.age_band, avg((auth_method IN ('fingerprint', 'face'))::INT)
        FROM events e JOIN users u USING (user_id) WHERE event = 'login' GROUP BY 1""").fetchall())
    assert bio["18-24"] > 0.7 and bio["65+"] < 0.3
    wealth = dict(duck.execute("""
        SELECT u.segment, avg((event = 'wealth')::INT) FROM events e JOIN users u USING (user_id)
        WHERE event NOT IN ('login', 'bind_card', 'crash') GROUP BY 1""").fetchall())
    assert wealth["hnw"] > 2 * wealth["mass"]


def test_users_mobile_migration_and_retention_match_the_seeds(duck):
    ages = dict(duck.execute("SELECT segment, list(DISTINCT age_band ORDER BY age_band) "
                             "FROM users WHERE segment IN ('student', 'senior') GROUP BY 1"
                             ).fetchall())
    assert set(ages["student"]) <= {"18-24", "25-34"} and set(ages["senior"]) <= {"55-64", "65+"}
    share = [r[0] for r in duck.execute("""
        SELECT avg((channel = 'mobile')::INT) FROM transactions WHERE status = 'success'
        GROUP BY date_trunc('month', ts) ORDER BY date_trunc('month', ts)""").fetchall()]
    assert 0.45 <= share[0] <= 0.62 and 0.72 <= share[-1] <= 0.88
    # referral and branch users are still around six months later more often than ads / KOL
    kept = dict(duck.execute("""
        SELECT acquisition_channel, avg(EXISTS (SELECT 1 FROM events e
                 WHERE e.user_id = u.user_id AND e.event = 'login'
                   AND e.ts >= u.registered_at + INTERVAL 180 DAY)::INT)
        FROM users u WHERE registered_at >= ? AND registered_at < DATE '2026-03-01'
        GROUP BY 1""", [WINDOW_START]).fetchall())
    assert min(kept["referral"], kept["branch"]) > max(kept["digital_ads"], kept["kol"])
    # some users go dormant (180+ days without a login) and some of them come back
    comebacks = one(duck, """
        SELECT count(DISTINCT user_id) FROM (
          SELECT user_id, ts::DATE - lag(ts::DATE) OVER (PARTITION BY user_id ORDER BY ts) AS gap
          FROM events WHERE event = 'login') WHERE gap >= 180""")[0]
    assert comebacks >= 20


def test_spend_surveys_and_complaints_match_the_seeds(duck):
    totals = [r[0] for r in duck.execute(
        "SELECT sum(amount) FROM spend GROUP BY date_trunc('month', date)").fetchall()]
    plan = 600_000 * 3_000 / 20_000
    assert len(totals) == 18 and all(0.85 * plan <= t <= 1.1 * plan for t in totals)
    mix = dict(duck.execute("SELECT category, sum(amount) / (SELECT sum(amount) FROM spend) "
                            "FROM spend GROUP BY 1").fetchall())
    assert 0.35 <= mix["digital_ads"] <= 0.47 and 0.17 <= mix["offline"] <= 0.25
    assert one(duck, "SELECT count(*) FROM spend WHERE campaign_id = 'C01'")[0] > 0
    n, nps = one(duck, "SELECT count(*), 100 * (avg((nps_score >= 9)::INT) "
                       "- avg((nps_score <= 6)::INT)) FROM surveys")
    assert n > 18 * 30 and 20 <= nps <= 45
    unresolved, median_hours = one(duck, """
        SELECT avg((resolved_at IS NULL)::INT),
               median(date_diff('minute', created_at, resolved_at) / 60)
        FROM complaints""")
    assert 0 < unresolved < 0.15 and 2 <= median_hours <= 72
    assert one(duck, "SELECT count(DISTINCT period) FROM benchmarks")[0] == 18


def test_demo_con_opens_the_store_through_review_data_connect(demo_con):
    assert set(ALL_TABLES) <= set(demo_con.list_tables())
    assert demo_con.table("users").count().execute() == 3_000

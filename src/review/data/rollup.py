"""Daily rollups: read each raw event and transaction once, then compute every period from them.

Raw ``events`` and ``transactions`` are the big tables (hundreds of millions of rows a month at
a city bank). The metric families read these small daily tables instead; the raw tables are
read only to build them.

Rollup tables (one row per key; ``day`` is the calendar date of ``ts``, local time)
------------------------------------------------------------------------------------
``user_day``
    ``user_id``, ``day``, ``platform`` (null kept as null) → ``events`` (all events),
    ``logins``, ``session_seconds`` (sum over the events; null when every value is null),
    ``crashes``, ``risk_logins`` (logins with ``risk_flag`` true), ``bio_logins`` (logins with
    ``auth_method`` fingerprint or face), ``bind_cards`` and ``feature_events`` (events other
    than login, bind_card and crash), counts.
``feature_day``
    ``user_id``, ``day``, ``feature`` (the event name of a feature event) → ``events`` (count).
``txn_day``
    ``user_id``, ``day``, ``type``, ``channel``, ``status`` → ``txns`` (count), ``amount``
    (sum, currency), ``first_ts`` (earliest ``ts``).
``bind_events``
    Every ``bind_card`` event: ``user_id``, ``day``, ``ts`` (about one per customer).
``bind_txn``
    The successful mobile transactions made on a day the same user bound a card:
    ``user_id``, ``day``, ``ts``. With ``bind_events`` and ``txn_day.first_ts`` this gives
    the funnel's "first mobile transaction after the card was bound" to the second.

Every daily rollup row depends only on the raw rows of its own day, so a day can be rebuilt
alone.

Monthly rollup (built from ``user_day``, never from raw events; ``month`` is the first day of
the calendar month of ``day``)
------------------------------------------------------------------------------------------
``user_month``
    ``user_id``, ``month`` (date) → ``events``, ``logins``, ``feature_events``, ``crashes``,
    ``risk_logins``, ``bio_logins``, ``bind_cards`` (sums of the ``user_day`` counts),
    ``active_days`` (days with any event), ``login_days`` (days with ≥1 login),
    ``first_login`` and ``last_login`` (first and last day with a login; null without one).
    One row per user with an event in the month, about a tenth of ``user_day``'s rows.
    (``session_seconds`` is left out: a sum of doubles in another order could differ in the
    last bit.) :func:`months_of` combines it with ``user_day`` for a range of days whose first
    or last month is cut.

Where they are stored
---------------------
Beside the source, never inside it (the source keeps its fingerprint): for ``data/bank.duckdb``
or a Parquet folder ``data/bank/`` the folder ``data/bank.duckdb.rollup/`` (or
``data/bank.rollup/``) holds one Parquet file per table and calendar month
(``user_day/2026-09.parquet``) and ``manifest.json``: the rollup version, the source's stamp
(file sizes and modification times) and a fingerprint of each raw day (row count and sum of
row hashes, computed in the engine). :func:`refresh` re-reads only the raw days that are new
or whose fingerprint changed, rewrites the months they belong to (each file replaced
atomically, the manifest last) and drops days that disappeared. :func:`attach` exposes a
store to a connection only when its stamp matches the source; otherwise the families use
:func:`derived` expressions over the raw tables (correct, just slower). Engine-URL sources
(Spark, warehouses) always use the derived expressions.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from review.core.files import atomic_path, atomic_write_json, read_json
from review.data.connect import quote_ident
from review.errors import DataSourceError

if TYPE_CHECKING:
    import ibis

#: Bumped whenever a rollup definition changes: a store of another version is rebuilt.
VERSION = 3
#: The raw tables rollups are built from.
RAW_TABLES: tuple[str, ...] = ("events", "transactions")
#: Rollup tables and the raw tables each needs.
ROLLUPS: dict[str, tuple[str, ...]] = {
    "user_day": ("events",),
    "feature_day": ("events",),
    "txn_day": ("transactions",),
    "bind_events": ("events",),
    "bind_txn": ("events", "transactions"),
    "user_month": ("events",),
}
#: Monthly rollups and the daily rollup each is built from (month file by month file).
MONTHLY: dict[str, str] = {"user_month": "user_day"}
#: The counts of ``user_day`` that ``user_month`` sums.
USER_DAY_COUNTS: tuple[str, ...] = ("events", "logins", "feature_events", "crashes",
                                    "risk_logins", "bio_logins", "bind_cards")
#: Events that are not feature events (as in the activity family).
NON_FEATURE_EVENTS: tuple[str, ...] = ("login", "bind_card", "crash")
#: Login authentication methods that count as biometric.
BIOMETRIC_METHODS: tuple[str, ...] = ("fingerprint", "face")
#: Name of a stored rollup table's view in a connection.
VIEW_PREFIX = "rollup_"


# -- definitions (Ibis, any engine) -----------------------------------------------------------
def user_day(events: ibis.Table) -> ibis.Table:
    """The ``user_day`` rollup of ``events`` (module docstring)."""
    e = events
    login = e.event == "login"
    return e.group_by(user_id=e.user_id, day=e.ts.date(), platform=e.platform).aggregate(
        events=e.count(),
        logins=e.count(where=login),
        session_seconds=e.session_seconds.sum(),
        crashes=e.count(where=e.event == "crash"),
        risk_logins=e.count(where=login & e.risk_flag.fill_null(False)),
        bio_logins=e.count(where=login & e.auth_method.isin(BIOMETRIC_METHODS)),
        bind_cards=e.count(where=e.event == "bind_card"),
        feature_events=e.count(where=e.event.notin(NON_FEATURE_EVENTS)),
    )


def feature_day(events: ibis.Table) -> ibis.Table:
    """The ``feature_day`` rollup of ``events`` (module docstring)."""
    e = events.filter(events.event.notin(NON_FEATURE_EVENTS))
    return e.group_by(user_id=e.user_id, day=e.ts.date(), feature=e.event).aggregate(
        events=e.count())


def txn_day(transactions: ibis.Table) -> ibis.Table:
    """The ``txn_day`` rollup of ``transactions`` (module docstring)."""
    t = transactions
    return t.group_by(user_id=t.user_id, day=t.ts.date(), type=t.type, channel=t.channel,
                      status=t.status).aggregate(txns=t.count(), amount=t.amount.sum(),
                                                 first_ts=t.ts.min())


def bind_events(events: ibis.Table) -> ibis.Table:
    """The ``bind_events`` rollup of ``events`` (module docstring)."""
    e = events.filter(events.event == "bind_card")
    return e.select("user_id", day=e.ts.date(), ts=e.ts)


def bind_txn(events: ibis.Table, transactions: ibis.Table) -> ibis.Table:
    """The ``bind_txn`` rollup (module docstring): successful mobile transactions of a user
    on a day they bound a card."""
    b = bind_events(events).select("user_id", "day").distinct()
    t = transactions.filter((transactions.status == "success")
                            & (transactions.channel == "mobile"))
    t = t.select("user_id", day=t.ts.date(), ts=t.ts)
    return t.join(b, ["user_id", "day"]).select("user_id", "day", "ts")


def user_month(user_day: ibis.Table) -> ibis.Table:
    """The ``user_month`` rollup of a ``user_day`` table (module docstring).

    ``user_day`` rows of a (user, day) (one per platform) are summed first, so a day counts
    once in ``active_days`` and ``login_days``. Any ``user_day`` subset gives the rollup of
    its days: :func:`months_of` rolls up the days of a cut month this way.
    """
    ud = user_day
    d = ud.group_by(["user_id", "day"]).aggregate(
        **{c: ud[c].sum().cast("int64") for c in USER_DAY_COUNTS})
    login = d.logins > 0
    return d.group_by(user_id=d.user_id, month=d.day.truncate("M").cast("date")).aggregate(
        **{c: d[c].sum().cast("int64") for c in USER_DAY_COUNTS},
        active_days=d.count(),
        login_days=d.count(where=login),
        first_login=d.day.min(where=login),
        last_login=d.day.max(where=login),
    )


def months_of(user_day: ibis.Table, monthly: ibis.Table | None, lo: date, hi: date
              ) -> ibis.Table:
    """``user_month`` of the days ``[lo, hi]``: one row per (user, month) with an event in
    the range, each row summing exactly its month's days inside the range.

    Months wholly inside the range are read from ``monthly`` (the stored ``user_month``)
    when given; the months cut by ``lo`` or ``hi`` — and every month when it is ``None`` (no
    store: a single pass over ``user_day``) — are rolled up from ``user_day``'s days in the
    range, so days outside ``[lo, hi]`` never count (e.g. the days after a period's end in a
    stored month). Columns as :func:`user_month`.
    """
    import ibis

    from review.core.calendar import month_end, month_start

    def days(*spans: tuple[date, date]) -> ibis.Table:
        d = user_day.day
        cond = [(d >= ibis.literal(a)) & (d <= ibis.literal(b)) for a, b in spans]
        return user_day.filter(cond[0] if len(cond) == 1 else cond[0] | cond[1])

    first = lo if lo.day == 1 else month_start(lo, 1)  # first whole month
    last = month_start(hi) if hi == month_end(hi) else month_start(hi, -1)  # last whole one
    if monthly is None or first > last:
        return user_month(days((lo, hi)))
    whole = monthly.filter((monthly.month >= ibis.literal(first))
                           & (monthly.month <= ibis.literal(last)))
    cut = [(lo, first - timedelta(days=1))] if lo < first else []
    if hi > month_end(last):
        cut.append((month_end(last) + timedelta(days=1), hi))
    if not cut:
        return whole
    rolled = user_month(days(*cut))
    return whole.select(*rolled.columns).cast(rolled.schema()).union(rolled, distinct=False)


def stored(t: Mapping[str, ibis.Table], name: str) -> ibis.Table | None:
    """``t[name]`` when it is a table of the backend (a stored rollup as :func:`tables` gives
    it, or a test's table), else ``None``: an expression deriving it from the raw tables
    would read them whole, while the caller can derive what it needs from a filtered
    daily rollup (:func:`months_of`)."""
    from ibis.expr import operations as ops

    table = t.get(name)
    return table if table is not None and isinstance(table.op(), ops.DatabaseTable) else None


def _define(name: str, raw: Mapping[str, ibis.Table]) -> ibis.Table:
    if name in MONTHLY:
        return user_month(raw[MONTHLY[name]] if MONTHLY[name] in raw
                          else _define(MONTHLY[name], raw))
    if name == "bind_txn":
        return bind_txn(raw["events"], raw["transactions"])
    return {"user_day": user_day, "feature_day": feature_day, "txn_day": txn_day,
            "bind_events": bind_events}[name](raw[ROLLUPS[name][0]])


def derived(raw: Mapping[str, ibis.Table]) -> dict[str, ibis.Table]:
    """Every rollup whose raw tables are in ``raw``, as expressions over them (not stored)."""
    return {name: _define(name, raw) for name, needs in ROLLUPS.items()
            if all(n in raw for n in needs)}


def rollup(t: Mapping[str, ibis.Table], name: str) -> ibis.Table:
    """Rollup ``name`` for a family: ``t[name]`` when given (stored), else derived from ``t``'s
    raw tables. ``t`` is the mapping a family's ``headline``/``breakdowns`` receive."""
    if name in t:
        return t[name]
    if name in MONTHLY and MONTHLY[name] in t:  # from the (stored) daily rollup
        return _define(name, t)
    if not all(n in t for n in ROLLUPS[name]):
        raise DataSourceError(f"rollup {name!r} needs table(s) {', '.join(ROLLUPS[name])}")
    return _define(name, t)


def tables(con: Any, raw: Mapping[str, ibis.Table]) -> dict[str, ibis.Table]:
    """The rollups for ``compute_period``: the stored ones ``con`` exposes (:func:`attach`),
    else derived from the raw tables in ``raw``."""
    out = derived(raw)
    for name in list(out):
        try:
            out[name] = con.table(VIEW_PREFIX + name)
        except Exception:  # not attached (stale, never built, engine URL): keep derived
            continue
    return out


class RawReads:
    """Counts the engine queries ``con`` runs whose compiled SQL reads a raw table.

    A check that the families read the rollups (benchmarks and tests): while installed, every
    query ``con`` compiles is searched for ``FROM "events"`` / ``JOIN "transactions"`` … and
    counted under the current :attr:`label` (set it to the family being computed). Use as a
    context manager; ``con.compile`` is restored on exit.
    """

    def __init__(self, con: Any, tables: Sequence[str] = RAW_TABLES):
        import re

        self.con = con
        self.counts: dict[str, dict[str, int]] = {}
        self.label = "?"
        self._pattern = {t: re.compile(rf'(FROM|JOIN)\s+"{t}"', re.I) for t in tables}

    def __enter__(self) -> RawReads:
        compile_ = self.con.compile

        def counting(expr: Any, *args: Any, **kwargs: Any) -> Any:
            sql = compile_(expr, *args, **kwargs)
            for t, rx in self._pattern.items():
                if rx.search(str(sql)):
                    per = self.counts.setdefault(self.label, {})
                    per[t] = per.get(t, 0) + 1
            return sql

        self.con.compile = counting
        return self

    def __exit__(self, *exc: object) -> None:
        del self.con.compile  # the instance attribute; the backend's method shows again

    def total(self, table: str) -> int:
        """Queries that read ``table``, over every label."""
        return sum(c.get(table, 0) for c in self.counts.values())


# -- where a store lives ----------------------------------------------------------------------
def store_path(source_path: Path) -> Path:
    """The rollup folder of a local source: a sibling named ``<name>.rollup``."""
    p = Path(source_path)
    return p.with_name(p.name + ".rollup")


def source_stamp(source_path: Path) -> dict[str, list[int]]:
    """Sizes and modification times (ns) of the source's files: a cheap change detector."""
    p = Path(source_path)
    files = [p, p.with_name(p.name + ".wal")] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file())
    out = {}
    for f in files:
        if f.is_file():
            st = f.stat()
            out[f.relative_to(p.parent).as_posix()] = [st.st_size, st.st_mtime_ns]
    return out


def read_manifest(store: Path) -> dict[str, Any] | None:
    """The store's manifest, or ``None`` when missing, unreadable or of another version."""
    m = read_json(store / "manifest.json")
    return m if isinstance(m, dict) and m.get("version") == VERSION else None


def is_current(source_path: Path) -> bool:
    """``True`` when the source's rollup store exists and matches the source as it is now."""
    m = read_manifest(store_path(source_path))
    return m is not None and m.get("stamp") == source_stamp(source_path)


def attach(con: Any, source_path: Path) -> bool:
    """Expose a current store's tables to ``con`` (a DuckDB backend) as ``rollup_<name>``
    views; return whether it did. A stale or missing store attaches nothing."""
    store = store_path(source_path)
    if not is_current(source_path):
        return False
    for name in ROLLUPS:
        if any((store / name).glob("*.parquet")):
            try:
                con.read_parquet(str(store / name / "*.parquet"), table_name=VIEW_PREFIX + name)
            except Exception as exc:  # a damaged file: derive from raw until `review rollup`
                import logging

                logging.getLogger(__name__).warning(
                    "rollup %s in %s not used (%s); run `review rollup --full`", name, store,
                    type(exc).__name__)
    return True


# -- building ---------------------------------------------------------------------------------
@dataclass
class RollupResult:
    """What :func:`refresh` did. ``days_read`` are the raw days it read (new or changed)."""

    store: Path
    days_read: list[date] = field(default_factory=list)
    days_removed: list[date] = field(default_factory=list)
    months_written: list[str] = field(default_factory=list)
    up_to_date: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        if self.up_to_date:
            return f"rollups in {self.store} are up to date"
        return (f"rollups in {self.store}: {len(self.days_read)} day(s) read, "
                f"{len(self.days_removed)} removed, {len(self.months_written)} month file(s) "
                f"written per table in {self.seconds:.1f} s")


def day_fingerprints(con: Any, name: str) -> dict[str, list[int]]:
    """``{ISO day: [rows, sum of row hashes mod 1,000,003]}`` of raw table ``name``: one grouped
    scan in DuckDB (a local source's connection), hashing every column of each row.

    Plain DuckDB SQL on purpose: the portable Ibis row hash casts each unsigned 64-bit hash to
    a signed one through a bit string, which made this pass 8× slower (6.2 s against 0.76 s for
    the events of the 100,000-customer demo store).
    """
    cols = ", ".join(quote_ident(c) for c in con.table(name).columns)
    rows = con.raw_sql(
        f"SELECT CAST(ts AS DATE) AS day, count(*), sum(hash({cols}) % 1000003) "
        f"FROM {quote_ident(name)} WHERE ts IS NOT NULL GROUP BY 1").fetchall()
    return {_iso(d): [int(r), int(s)] for d, r, s in rows}


def refresh(source: str | Path, *, base_dir: Path | None = None, full: bool = False,
            say: Callable[[str], None] | None = None) -> RollupResult:
    """Build or refresh the rollups of a local source (a DuckDB file or a Parquet folder).

    Parameters
    ----------
    source
        The source as a params file gives it (relative paths from the project root).
    full
        Rebuild every day, whatever the fingerprints say.
    say
        Progress callback (one line per step).

    Raises
    ------
    DataSourceError
        The source is an engine URL, cannot be opened, has neither events nor transactions,
        or the store cannot be written (nothing is attached until a refresh succeeds).
    """
    from review.data.connect import connect
    from review.data.fingerprint import local_source_path
    from review.secrets import redact

    t0 = time.perf_counter()
    say = _stopwatch(say, t0)
    path = local_source_path(str(source), **({"base_dir": base_dir} if base_dir else {}))
    if path is None:
        raise DataSourceError(f"{redact(str(source))}: rollups are stored only for local sources "
                              "(a DuckDB file or a Parquet/CSV folder)")
    store = store_path(path)
    stamp = source_stamp(path)  # before reading: a change during the build is seen next time
    manifest = read_manifest(store)
    if manifest is not None and manifest.get("stamp") == stamp and not full:
        return RollupResult(store, up_to_date=True, seconds=time.perf_counter() - t0)
    con = connect(path, rollups=False)
    try:
        con.raw_sql("SET enable_progress_bar = false")  # progress goes through `say`
        # rollup rows need no order: lets DuckDB write the Parquet files from every thread
        con.raw_sql("SET preserve_insertion_order = false")
        raw = {n: con.table(n) for n in RAW_TABLES if _has(con, n)}
        if not raw:
            raise DataSourceError(f"{path}: no events or transactions table to roll up")
        say(f"fingerprinting raw days of {', '.join(raw)}")
        fps = {n: day_fingerprints(con, n) for n in raw}
        old = {} if (manifest is None or full) else manifest.get("fingerprints", {})
        rebuild = set(old) != set(fps)  # also when a raw table appeared or vanished
        if rebuild:
            old = {}
        days_now = set().union(*(f.keys() for f in fps.values()))
        days_before = set().union(*(f.keys() for f in old.values())) if old else set()
        changed = sorted(d for d in days_now
                         if any(fps[n].get(d) != old.get(n, {}).get(d) for n in fps))
        removed = sorted(days_before - days_now)
        result = RollupResult(store, days_read=[date.fromisoformat(d) for d in changed],
                              days_removed=[date.fromisoformat(d) for d in removed])
        months = sorted({d[:7] for d in changed + removed})
        say(f"{len(changed)} raw day(s) to read, {len(removed)} to drop, "
            f"{len(months)} month(s) to rewrite")
        store.mkdir(parents=True, exist_ok=True)
        if rebuild:  # no old month file may survive
            for name in ROLLUPS:
                shutil.rmtree(store / name, ignore_errors=True)
        if changed or removed or rebuild:
            result.months_written = _rewrite(con, raw, store, changed, removed, months, say)
        atomic_write_json(store / "manifest.json", {
            "version": VERSION, "stamp": stamp, "fingerprints": fps,
            "built": datetime.now().isoformat(timespec="seconds")})
    except DataSourceError:
        raise
    except Exception as exc:  # the engine's or the file system's own errors
        raise DataSourceError(f"{store}: cannot build the rollups of {path.name} "
                              f"({type(exc).__name__}: {exc}); check that the folder is "
                              "writable, or run `review rollup --full`") from None
    finally:
        con.disconnect()
    result.seconds = time.perf_counter() - t0
    return result


def _stopwatch(say: Callable[[str], None] | None, t0: float) -> Callable[[str], None]:
    """``say`` with each step prefixed by the seconds since ``t0`` (a bank-scale build takes
    minutes); a no-op when ``say`` is ``None``."""
    def timed(msg: str) -> None:
        if say is not None:
            say(f"[{time.perf_counter() - t0:6.1f} s] {msg}")
    return timed


def refresh_sources(sources: Sequence[str], *, say: Callable[[str], None] | None = None
                    ) -> None:
    """Refresh the rollups of each distinct local source before a batch (a no-op when current).

    A source that cannot be rolled up (an engine URL, a missing file) is skipped: the
    families then derive the rollups from the raw tables, and opening the source reports
    any problem with the period.
    """
    import logging

    from review.data.fingerprint import local_source_path
    from review.errors import ReviewError
    from review.secrets import redact

    for source in dict.fromkeys(sources):
        try:
            path = local_source_path(source)
            if path is None or not path.exists() or is_current(path):
                continue
            res = refresh(source, say=say)
        except (ReviewError, OSError) as exc:
            logging.getLogger(__name__).warning("rollups of %s not refreshed: %s",
                                                redact(source), exc)
            continue
        if say:
            say(res.summary())


def _has(con: Any, name: str) -> bool:
    try:
        con.table(name)
    except Exception:
        return False
    return True


def _ranges(days: Sequence[str]) -> list[tuple[datetime, datetime]]:
    """Contiguous ``[first 00:00, last + 1 day 00:00)`` timestamp ranges of sorted ISO days."""
    out: list[tuple[datetime, datetime]] = []
    for d in days:
        lo = datetime.fromisoformat(d)
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], lo + timedelta(days=1))
        else:
            out.append((lo, lo + timedelta(days=1)))
    return out


def _only_days(t: ibis.Table, days: Sequence[str]) -> ibis.Table:
    import ibis

    cond = None
    for lo, hi in _ranges(days):
        c = (t.ts >= ibis.literal(lo)) & (t.ts < ibis.literal(hi))
        cond = c if cond is None else cond | c
    return t.filter(cond if cond is not None else ibis.literal(False))


def _rewrite(con: Any, raw: Mapping[str, ibis.Table], store: Path, changed: list[str],
             removed: list[str], months: list[str], say: Callable[[str], None]) -> list[str]:
    """Roll up the ``changed`` days once per table into a staging folder partitioned by month,
    then rewrite each affected month file: its kept days plus the new ones."""
    staging = store / f".staging-{uuid.uuid4().hex[:8]}"
    gone = set(changed) | set(removed)
    src = {n: _only_days(t, changed) for n, t in raw.items()}  # the raw rows to read
    try:
        for name in ROLLUPS:
            if name in MONTHLY or not all(n in raw for n in ROLLUPS[name]):
                continue
            say(f"rolling up {name}")
            expr = _define(name, src)
            folder = store / name
            folder.mkdir(parents=True, exist_ok=True)
            cols = ", ".join(quote_ident(c) for c in expr.columns)
            sql = con.compile(expr)
            out = staging / name
            staging.mkdir(parents=True, exist_ok=True)
            con.raw_sql(f"COPY (SELECT *, strftime(day, '%Y-%m') AS month FROM ({sql})) "
                        f"TO '{_q(out)}' (FORMAT parquet, PARTITION_BY (month))").fetchall()
            _schema_file(expr, folder / "_schema.parquet")
            for m in months:
                parts = []
                old = folder / f"{m}.parquet"
                new = out / f"month={m}"
                written = sorted(new.glob("*.parquet")) if new.is_dir() else []
                if not old.is_file() and len(written) == 1:  # a new month: move it in place
                    os.replace(written[0], old)
                    continue
                if old.is_file():
                    drop = ", ".join(f"DATE '{d}'" for d in sorted(gone) if d[:7] == m)
                    keep = f" WHERE day NOT IN ({drop})" if drop else ""
                    parts.append(f"SELECT {cols} FROM read_parquet('{_q(old)}'){keep}")
                if written:
                    parts.append(f"SELECT {cols} FROM read_parquet('{_q(new)}/*.parquet')")
                if parts:
                    q = " UNION ALL ".join(parts)
                    n = con.raw_sql(f"SELECT count(*) FROM ({q})").fetchone()[0]
                    if n:
                        with atomic_path(old) as tmp:
                            con.raw_sql(f"COPY ({q}) TO '{_q(tmp)}' (FORMAT parquet)"
                                        ).fetchall()
                        continue
                old.unlink(missing_ok=True)
        for name, daily in MONTHLY.items():
            if (store / daily).is_dir():
                say(f"rolling up {name} from {daily}")
                _rewrite_monthly(con, store, name, daily, months)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return months


def _rewrite_monthly(con: Any, store: Path, name: str, daily: str, months: list[str]) -> None:
    """Rewrite the ``months`` files of monthly rollup ``name`` from the (already rewritten)
    month files of the daily rollup ``daily``; a month without a daily file loses its file."""
    from ibis.backends.sql.datatypes import DuckDBType

    folder = store / name
    folder.mkdir(parents=True, exist_ok=True)
    for m in months:
        src, out = store / daily / f"{m}.parquet", folder / f"{m}.parquet"
        if not src.is_file():
            out.unlink(missing_ok=True)
            continue
        expr = _define(name, {daily: con.sql(f"SELECT * FROM read_parquet('{_q(src)}')")})
        _schema_file(expr, folder / "_schema.parquet")
        # the declared types, spelled out: Ibis drops a cast to the type it already infers,
        # while DuckDB's sum of BIGINT is HUGEINT and date_trunc of a DATE a TIMESTAMP
        cols = ", ".join(f"CAST({quote_ident(c)} AS {DuckDBType.to_string(t)}) AS "
                         f"{quote_ident(c)}" for c, t in expr.schema().items())
        with atomic_path(out) as tmp:
            con.raw_sql(f"COPY (SELECT {cols} FROM ({con.compile(expr)})) TO '{_q(tmp)}' "
                        "(FORMAT parquet)").fetchall()


def _schema_file(expr: ibis.Table, path: Path) -> None:
    """A zero-row Parquet file with the table's schema, so a store's glob is never empty
    (written from the expression's schema: the query is not run)."""
    if path.is_file():
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist([], schema=expr.schema().to_pyarrow()), tmp)


def _q(path: Path) -> str:
    return str(path).replace("'", "''")


def _iso(d: Any) -> str:
    return (d.date() if isinstance(d, datetime) else d).isoformat() if not isinstance(
        d, str) else d[:10]

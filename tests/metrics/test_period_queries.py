"""Each family computed once per period: no family runs the same engine query twice for one
window of ``compute_period``.

Every query the engine runs is compiled once (``con.compile``); the test records the SQL of
each under the family and window being computed (the family module's ``period``,
``headline`` or ``breakdowns`` that is running) and counts repeats. The same SQL twice for one
window is a query whose result was thrown away and computed again (e.g. a cohort query run by
both ``headline`` and ``breakdowns``); a family whose KPIs and tables share queries has a
``period()`` that runs them once. Windows differ in their SQL (their dates), so the
comparison period's queries are not repeats of P's.
"""

from __future__ import annotations

import shutil
from collections import Counter
from types import ModuleType
from typing import Any

import pytest

from review.data import connect, rollup
from review.metrics import budget, compute_period
from review.metrics import period as period_mod
from review.metrics.common import Window
from tests.metrics.helpers import demo_params, demo_tables

#: Families excluded from the check, with the reason (none at present).
EXCLUDED: dict[str, str] = {}


class QueryLog:
    """The SQL of every query ``con`` compiles, under the current :attr:`label`."""

    def __init__(self, con: Any):
        self.con = con
        self.label: tuple[str, str] = ("?", "?")
        self.sql: dict[tuple[str, str], list[str]] = {}

    def __enter__(self) -> QueryLog:
        compile_ = self.con.compile

        def logged(expr: Any, *args: Any, **kwargs: Any) -> Any:
            sql = compile_(expr, *args, **kwargs)
            self.sql.setdefault(self.label, []).append(str(sql))
            return sql

        self.con.compile = logged
        return self

    def __exit__(self, *exc: object) -> None:
        del self.con.compile  # the instance attribute; the backend's method shows again

    def repeats(self) -> dict[tuple[str, str], list[str]]:
        """Per (family, window): the SQL compiled more than once."""
        out = {}
        for label, sqls in self.sql.items():
            twice = [s for s, n in Counter(sqls).items() if n > 1]
            if twice:
                out[label] = twice
        return out


class Labelled:
    """A family module whose ``period``/``headline``/``breakdowns`` set the log's label to
    (family, window) while they run; everything else is the module's own."""

    def __init__(self, mod: ModuleType, log: QueryLog):
        self._mod, self._log = mod, log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._mod, name)
        if name not in ("period", "headline", "breakdowns"):
            return attr

        def call(t: Any, w: Window, *args: Any, **kwargs: Any) -> Any:
            before = self._log.label
            self._log.label = (self._mod.__name__.rsplit(".", 1)[-1], f"{w.start}..{w.end}")
            try:
                return attr(t, w, *args, **kwargs)
            finally:
                self._log.label = before

        return call


@pytest.fixture(scope="module")
def store(demo_store, tmp_path_factory):
    """A copy of the demo store with stored rollups (the production path)."""
    path = tmp_path_factory.mktemp("period-queries") / "demo.duckdb"
    shutil.copy(demo_store, path)
    rollup.refresh(path)
    return path


def _logged_period(store, period: str, monkeypatch) -> QueryLog:
    """The queries of ``compute_period`` of ``period``, labelled by family and window."""
    family_module = period_mod.family_module
    con = connect(store)
    try:
        with QueryLog(con) as log:
            monkeypatch.setattr(period_mod, "family_module",
                                lambda name: Labelled(family_module(name), log))
            compute_period(con, demo_params(period))
    finally:
        con.disconnect()
    return log


@pytest.mark.parametrize("period", ["2026-09", "2026-Q3"])
def test_no_family_runs_the_same_query_twice_for_one_window(store, period, monkeypatch):
    log = _logged_period(store, period, monkeypatch)
    # every family ran its queries under its own label (the demo store has every table), for
    # P and for the comparison period ("?": queries outside the families, if any)
    assert {fam for fam, _ in log.sql} - {"?"} == set(period_mod.FAMILIES)
    params = demo_params(period)
    for w in (Window(params.start, params.end), Window(*params.comparison)):
        assert ("budget", f"{w.start}..{w.end}") in log.sql
    repeats = {k: v for k, v in log.repeats().items() if k[0] not in EXCLUDED}
    assert repeats == {}, "queries run twice for one window:\n" + "\n".join(
        f"{fam} {w}: {[sql[:300] for sql in sqls]}" for (fam, w), sqls in repeats.items())


def test_the_log_sees_a_query_run_twice(store):
    """The check above can fail: budget's ``headline`` and ``breakdowns`` called one after the
    other both run the CAC-by-channel and LTV cohort queries (``period()`` runs them once)."""
    con = connect(store)
    try:
        t = demo_tables(con)
        t.update(rollup.tables(con, t))
        params = demo_params("2026-09")
        w = Window(params.start, params.end)
        with QueryLog(con) as log:
            log.label = ("budget", "separately")
            budget.headline(t, w, params)
            budget.breakdowns(t, w, params)
            log.label = ("budget", "period")
            budget.period(t, w, params)
    finally:
        con.disconnect()
    twice = log.repeats()[("budget", "separately")]
    assert any('"age"' in s and '"margin"' in s for s in twice)  # the LTV cohort query
    assert len(twice) >= 3  # CAC spend, CAC new users, LTV cohorts (and cohort sizes)
    assert ("budget", "period") not in log.repeats()
    # period() runs each query of the two calls once: as many distinct queries, fewer runs
    sep, per = log.sql[("budget", "separately")], log.sql[("budget", "period")]
    assert set(sep) == set(per) and len(per) == len(set(per)) < len(sep)

"""Tiny helpers to build contract tables for metric tests (shared by every metric test module).

Keep this API stable: other test modules import it.

* :func:`rows` — a small ``DataFrame`` from a column list and tuples, e.g.
  ``rows("user_id ts event", ("u1", "2026-09-01 00:00:00", "login"))``.
* :func:`make_tables` — load frames into a fresh in-memory DuckDB and return
  ``{name: ibis.Table}``, the ``t`` mapping a family's ``headline``/``breakdowns`` take.
  Frames named after a contract table (:data:`review.data.contract.TABLES`) get every contract
  column: given columns are cast to the contract type (so ISO strings become timestamps or
  dates) and missing ones are added as typed NULLs. Other names are loaded as given.
* :func:`window` and :func:`make_params` — a :class:`~review.metrics.common.Window` and a
  :class:`~review.config.Params` from ISO strings, with threshold overrides.
* :func:`demo_tables` and :func:`demo_params` — for planted-effect tests on the demo store:
  the contract tables of a backend (``demo_con``) and a shipped ``params/<period>.yaml``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import pandas as pd

from review.config import Params
from review.data.contract import TABLES
from review.metrics.common import Window


def rows(columns: str, *values: tuple[Any, ...]) -> pd.DataFrame:
    """A ``DataFrame`` with the space-separated ``columns`` and one row per tuple."""
    names = columns.split()
    for v in values:
        if len(v) != len(names):
            raise ValueError(f"row {v!r} has {len(v)} values; columns are {names}")
    return pd.DataFrame([list(v) for v in values], columns=names)


def make_tables(**frames: pd.DataFrame | dict[str, list[Any]]) -> dict[str, ibis.Table]:
    """Load ``name=frame`` pairs into one new in-memory DuckDB; return ``{name: table}``.

    Contract tables are completed and typed as the contract says (see module docstring), so a
    test only writes the columns it is about. Nothing is shared between calls.
    """
    con = ibis.duckdb.connect()
    out: dict[str, ibis.Table] = {}
    for name, frame in frames.items():
        df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        expr = ibis.memtable(df)
        spec = TABLES.get(name)
        if spec is not None:
            expr = expr.mutate(**{
                c.name: (expr[c.name] if c.name in df.columns else ibis.null()).cast(c.dtype)
                for c in spec.columns
            })
        out[name] = con.create_table(name, expr)
    return out


def window(start: str, end: str) -> Window:
    """``Window`` of ISO dates ``[start, end]``."""
    return Window(date.fromisoformat(start), date.fromisoformat(end))


def make_params(start: str = "2026-09-01", end: str = "2026-09-30", **thresholds: Any) -> Params:
    """Demo-like ``Params`` for ``[start, end]``; keyword arguments override thresholds."""
    return Params.from_dict({"period": "test", "start": start, "end": end,
                             "thresholds": thresholds}, origin="tests/metrics/helpers.py")


def demo_tables(con: Any) -> dict[str, ibis.Table]:
    """The contract tables of a backend (e.g. the ``demo_con`` fixture) as ``{name: table}``.

    Probes ``con.table(name)`` instead of ``con.list_tables()``, which ibis 12 breaks on
    duckdb 2.0 (it calls the removed ``DuckDBPyConnection.fetch_arrow_table``).
    """
    out: dict[str, ibis.Table] = {}
    for name in TABLES:
        try:
            out[name] = con.table(name)
        except Exception:  # a missing table: each backend raises its own error type
            continue
    return out


def demo_params(period: str = "2026-09") -> Params:
    """The shipped ``params/<period>.yaml`` (its ``source`` is ignored by metric tests)."""
    from review.config import load_params
    from review.paths import PARAMS_DIR

    return load_params(PARAMS_DIR / f"{period}.yaml")

"""The demo: build the synthetic store when needed, then render every demo period.

``review demo`` (and ``make demo``) call :func:`run_demo`. The store is rebuilt only when it
is missing or when the generator arguments differ from the ones recorded next to it
(``data/demo.duckdb.args.json``), so a second ``make demo`` is an incremental rerun.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from review import paths
from review.core.files import atomic_write_json
from review.data.demo import DEFAULT_END, DEFAULT_MONTHS, DEFAULT_SEED, DEFAULT_USERS
from review.runner.batch import BatchResult, RunOptions, run_batch

#: Generator arguments of the demo store (the demo params expect them): one copy, in
#: :mod:`review.data.demo`.
DEMO_MONTHS = DEFAULT_MONTHS
DEMO_END = DEFAULT_END
DEMO_SEED = DEFAULT_SEED
DEMO_USERS = DEFAULT_USERS


def demo_arguments(users: int = DEMO_USERS) -> dict[str, Any]:
    """The generator arguments recorded next to the store (JSON-safe)."""
    return {"users": users, "months": DEMO_MONTHS, "end": DEMO_END.isoformat(),
            "seed": DEMO_SEED}


def _args_file(store: Path) -> Path:
    return store.with_name(store.name + ".args.json")


def ensure_demo_store(store: Path | None = None, *, users: int = DEMO_USERS,
                      progress: bool = True) -> bool:
    """Build ``store`` (default: the project's ``data/demo.duckdb``) with
    :func:`review.data.demo.generate` unless it is up to date.

    Returns ``True`` when the store was (re)built.
    """
    store = store or paths.DEMO_STORE
    wanted = demo_arguments(users)
    try:
        recorded = json.loads(_args_file(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if store.is_file() and recorded == wanted:
        return False
    from review.data.demo import generate

    store.parent.mkdir(parents=True, exist_ok=True)
    generate(store, users=users, months=DEMO_MONTHS, end=DEMO_END, seed=DEMO_SEED,
             progress=progress)
    atomic_write_json(_args_file(store), wanted)
    return True


def run_demo(*, users: int = DEMO_USERS, options: RunOptions | None = None,
             store: Path | None = None, params_dir: Path | None = None) -> BatchResult:
    """Make sure the demo store is current, then run every ``params/*.yaml`` of the project."""
    options = options or RunOptions()
    params_dir = params_dir or paths.PARAMS_DIR
    ensure_demo_store(store, users=users, progress=options.progress)
    return run_batch(sorted(Path(params_dir).glob("*.yaml")), options)

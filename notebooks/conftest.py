"""nbval runs every notebook with its default parameters (the demo period 2026-09).

Those defaults read ``data/demo.duckdb``: build it before the first notebook runs, exactly
as ``make demo`` does (same generator arguments, so a later ``make demo`` reuses it).
nbval's cell items take no fixtures, hence a collection hook.
"""

from review.runner.demo import ensure_demo_store


def pytest_collection_modifyitems(session, config, items):
    if any(str(item.path).endswith(".ipynb") for item in items):
        ensure_demo_store(progress=False)

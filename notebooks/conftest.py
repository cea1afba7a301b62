"""nbval runs every report notebook with its default parameters (the demo period 2026-09),
and the exploratory template.

Those defaults read ``data/demo.duckdb``: build it before the first notebook runs, exactly
as ``make demo`` does (same generator arguments, so a later ``make demo`` reuses it).
nbval's cell items take no fixtures, hence a collection hook. The kernels' metrics cache goes
to a temporary folder (``REVIEW_CACHE_DIR``): tests never write into ``outputs/``.

``exploratory/`` is the analysts' own space: only its ``template.ipynb`` is run here; the
notebooks they copy from it are theirs (work in progress), not the suite's.
"""

import os
import tempfile
from pathlib import Path

from review.cache import CACHE_DIR_ENV
from review.runner.demo import ensure_demo_store

EXPLORATORY_TEMPLATE = Path(__file__).parent / "exploratory" / "template.ipynb"


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    if path.suffix == ".ipynb" and path.parent.name == "exploratory":
        return path != EXPLORATORY_TEMPLATE
    return None


def pytest_collection_modifyitems(session, config, items):
    cells = [item for item in items if item.path.suffix == ".ipynb"]
    if not cells:
        return
    ensure_demo_store(progress=False)
    os.environ.setdefault(CACHE_DIR_ENV, tempfile.mkdtemp(prefix="review-nbval-cache-"))
    # pytest-randomly shuffles items (it runs before this hook); a notebook's cells depend on
    # each other: keep each notebook's cells together and in order, notebooks in any order
    notebooks: dict[Path, list] = {}
    for item in cells:
        notebooks.setdefault(item.path, []).append(item)
    ordered = [c for group in notebooks.values() for c in sorted(group, key=_cell_number)]
    items[:] = [item for item in items if item.path.suffix != ".ipynb"] + ordered


def _cell_number(item) -> int:
    return int(getattr(item, "cell_num", None) or item.name.rsplit(" ", 1)[-1])

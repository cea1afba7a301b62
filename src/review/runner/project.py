"""``review init DIR``: scaffold a project folder of the analyst's own.

A project holds ``params/`` (one YAML per period), ``notebooks/`` (copies of the report
notebooks, to edit freely, and ``notebooks/exploratory/`` with its template), ``outputs/`` (the reports), ``data/`` (stores and exports) and a
short README. ``review`` run inside it (or with ``--project DIR``) works on it, never on the
package's folder (see :mod:`review.paths`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from review import paths
from review.errors import ReviewError

EXAMPLE_PERIOD = "2026-10"

_README = """# Campaign review project

    review demo-data --out data/demo.duckdb    # a synthetic store, to try the report
    review run params/{period}.yaml            # the report of one period → outputs/{period}/
    review import EXPORT.csv --draft           # draft a mapping for your own export
    review import EXPORT.csv --mapping EXPORT.mapping.yaml --into data/bank.duckdb
    review params new 2026-11 --from {period}  # the next period, in params/

`params/{period}.yaml` is an example period: point its `source:` at your store (paths are
relative to this folder) and set your targets. `notebooks/` holds the report notebooks; edit
their narrative and charts as you like. `notebooks/exploratory/` is your own space (any code,
never part of the report). Run `review` from this folder (or any folder below
it), or pass `--project {name}` from elsewhere.
"""

_GITIGNORE = "outputs/\ndata/\n.ipynb_checkpoints/\n"


def init_project(dest: str | Path, *, period: str = EXAMPLE_PERIOD) -> Path:
    """Create the project folder ``dest`` (absent or empty) and return its resolved path.

    Copies the bundled report notebooks and the bundled params of ``period`` (its ``source:``
    stays ``data/demo.duckdb``, relative to the project).

    Raises
    ------
    ReviewError
        ``dest`` exists and is not an empty folder, or the bundled notebooks or params are
        not found.
    """
    dest = Path(dest).expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ReviewError(f"{dest}: exists and is not empty; give a new folder")
    notebooks = sorted(paths.BUNDLED_NOTEBOOKS.glob("*.ipynb"))
    example = paths.BUNDLED_PARAMS / f"{period}.yaml"
    if not notebooks:
        raise ReviewError(f"no report notebooks in {paths.BUNDLED_NOTEBOOKS}; install the "
                          "workbook from its source checkout")
    if not example.is_file():
        raise ReviewError(f"no example params {example}; choose one of "
                          f"{', '.join(p.stem for p in sorted(paths.BUNDLED_PARAMS.glob('*.yaml')))}")
    for sub in ("params", "notebooks", "outputs", "data"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        shutil.copyfile(nb, dest / "notebooks" / nb.name)
    exploratory = dest / "notebooks" / "exploratory"  # the analyst's own space (any code)
    exploratory.mkdir()
    for nb in sorted((paths.BUNDLED_NOTEBOOKS / "exploratory").glob("*.ipynb")):
        shutil.copyfile(nb, exploratory / nb.name)
    shutil.copyfile(example, dest / "params" / example.name)
    (dest / "README.md").write_text(_README.format(period=period, name=dest.name),
                                    encoding="utf-8")
    (dest / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    return dest.resolve()

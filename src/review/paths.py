"""Every path the workbook uses by default, anchored to the *project* (never the CWD as such).

A project is any folder with ``params/`` (and optionally ``notebooks/``, ``outputs/``,
``data/``); ``review init DIR`` scaffolds one. The project is, in this order:

1. ``$REVIEW_PROJECT`` (``review --project DIR`` sets it, so notebook kernels inherit it);
2. ``$REVIEW_HOME`` (older name of the same setting, still honoured);
3. the current folder, or the nearest folder above it, that holds ``params/``;
4. the current folder.

So ``review`` run inside a project (or one of its subfolders, e.g. ``notebooks/``) works on that
project, and the source checkout is simply the demo's project. The package's own folder is used
only for what ships with it: the report notebooks (:data:`BUNDLED_NOTEBOOKS`) and the example
params (:data:`BUNDLED_PARAMS`) that ``review init`` copies. A project without ``notebooks/``
runs the bundled ones.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where the package's checkout (or install prefix) is: ``src/review/paths.py`` → three up.
INSTALL_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_NOTEBOOKS = INSTALL_ROOT / "notebooks"
BUNDLED_PARAMS = INSTALL_ROOT / "params"
#: The environment variable that names the project (set by ``review --project``).
PROJECT_ENV = "REVIEW_PROJECT"


def find_project(start: Path | None = None) -> Path:
    """The project folder, by the rules of the module docstring."""
    env = os.environ.get(PROJECT_ENV) or os.environ.get("REVIEW_HOME")
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params").is_dir():
            return folder
    return here


def project_of(params_file: Path) -> Path:
    """The project a params file belongs to: the folder above its ``params/`` folder, else the
    file's own folder."""
    folder = Path(params_file).resolve().parent
    return folder.parent if folder.name == "params" else folder


PROJECT_ROOT: Path
NOTEBOOKS_DIR: Path
PARAMS_DIR: Path
OUTPUTS_DIR: Path
DATA_DIR: Path
DEMO_STORE: Path
CACHE_DIR: Path


def set_project(root: str | Path) -> Path:
    """Make ``root`` the project of this process and of the notebook kernels it starts."""
    global PROJECT_ROOT, NOTEBOOKS_DIR, PARAMS_DIR, OUTPUTS_DIR, DATA_DIR, DEMO_STORE, CACHE_DIR
    root = Path(root).expanduser().resolve()
    os.environ[PROJECT_ENV] = str(root)
    PROJECT_ROOT = root
    own = root / "notebooks"
    NOTEBOOKS_DIR = own if any(own.glob("*.ipynb")) else BUNDLED_NOTEBOOKS
    PARAMS_DIR = root / "params"
    OUTPUTS_DIR = root / "outputs"
    DATA_DIR = root / "data"
    DEMO_STORE = DATA_DIR / "demo.duckdb"
    CACHE_DIR = OUTPUTS_DIR / ".cache"
    return root


def _init() -> None:
    """Bind the module's paths to :func:`find_project` without exporting the variable."""
    had = os.environ.get(PROJECT_ENV)
    set_project(find_project())
    if had is None:
        os.environ.pop(PROJECT_ENV, None)


_init()

"""Every path the workbook uses by default, anchored to the project root (never the CWD)."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: ``src/review/paths.py`` → three levels up.
#: Override with ``REVIEW_HOME`` when the package is installed outside a checkout.
PROJECT_ROOT = Path(os.environ.get("REVIEW_HOME", Path(__file__).resolve().parents[2]))
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PARAMS_DIR = PROJECT_ROOT / "params"
OUTPUTS_DIR = PROJECT_ROOT / "outputs"
DATA_DIR = PROJECT_ROOT / "data"
DEMO_STORE = DATA_DIR / "demo.duckdb"
CACHE_DIR = OUTPUTS_DIR / ".cache"

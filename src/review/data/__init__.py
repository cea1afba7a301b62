"""Data access: connect to a source, the data contract, validation, demo data and import.

``connect`` and the contract are light to import (an engine is loaded only when a source is
opened); the validation and import names load their modules on first use. The validator
itself is ``review.data.validate.validate``.
"""

from __future__ import annotations

import importlib
from typing import Any

from review.data.connect import available_tables, connect, table
from review.data.contract import SECTION_TABLES, TABLES, Column, TableSpec
from review.secrets import resolve_env

_LAZY = {
    "ImportMapping": "importer", "ImportResult": "importer", "import_files": "importer",
    "load_mapping": "importer", "Problem": "validate", "ValidationReport": "validate",
}

__all__ = [
    "SECTION_TABLES", "TABLES", "Column", "TableSpec", "available_tables", "connect",
    "resolve_env", "table", *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"review.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'review.data' has no attribute {name!r}")

"""Data access: connect to a source, the data contract, validation, demo data and import."""

from review.data.connect import available_tables, connect, resolve_env, table
from review.data.contract import SECTION_TABLES, TABLES, Column, TableSpec

__all__ = [
    "SECTION_TABLES",
    "TABLES",
    "Column",
    "TableSpec",
    "available_tables",
    "connect",
    "resolve_env",
    "table",
]

"""Data access: connect to a source, the data contract, validation, demo data and import."""

from review.data.connect import available_tables, connect, resolve_env, table
from review.data.contract import SECTION_TABLES, TABLES, Column, TableSpec
from review.data.importer import ImportMapping, ImportResult, import_files, load_mapping
from review.data.validate import Problem, ValidationReport, validate

__all__ = [
    "SECTION_TABLES",
    "TABLES",
    "Column",
    "ImportMapping",
    "ImportResult",
    "Problem",
    "TableSpec",
    "ValidationReport",
    "available_tables",
    "connect",
    "import_files",
    "load_mapping",
    "resolve_env",
    "table",
    "validate",
]

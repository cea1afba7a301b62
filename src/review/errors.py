"""One error hierarchy for the workbook.

    ReviewError                      base class: anything the workbook refuses to do
    ├── ParamsError                  a period YAML (or a notebook parameter) is invalid
    ├── DataSourceError              a data source cannot be opened or a table is missing
    ├── ValidationError              input tables break the data contract (errors, not warnings)
    ├── ImportMappingError           an analyst's file or mapping cannot be imported
    └── RunError                     a batch run failed (a notebook, an export, a period)

Messages say what went wrong, where (file, table, column, key, row) and how to fix it.
"""

from __future__ import annotations


class ReviewError(Exception):
    """Base class of every error the workbook raises on purpose."""


class ParamsError(ReviewError):
    """A period's parameters are invalid: unknown key, wrong type or impossible value."""


class DataSourceError(ReviewError):
    """A data source cannot be opened, or a required table is missing from it."""


class ValidationError(ReviewError):
    """Input tables break the data contract; ``report`` holds every problem found."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class ImportMappingError(ReviewError):
    """An analyst's export or its column mapping cannot be imported; ``problems`` lists all."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class RunError(ReviewError):
    """A batch run failed: a notebook, an HTML export or a whole period."""

"""KPI computations, one module per metric family (glossary: docs/metrics.md).

See :mod:`review.metrics.common` for the conventions every metric function follows, and
:func:`compute_period` for the whole KPI set of a period.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FAMILIES", "compute_period"]


def __getattr__(name: str) -> Any:
    # lazy, so that importing one family module does not import every other one
    if name in __all__:
        from review.metrics import period

        return getattr(period, name)
    raise AttributeError(f"module 'review.metrics' has no attribute {name!r}")

"""Campaign Review Workbook: data access, metrics, statistics and reporting for the
mobile-banking campaign review (营销活动工作通报).

The public face is re-exported here; notebooks use ``import review``.
"""

from review.cache import load_period, period_metrics
from review.config import Params, load_params
from review.core.environment import VERSION as __version__
from review.errors import (
    DataSourceError,
    ImportMappingError,
    ParamsError,
    ReviewError,
    RunError,
    ValidationError,
)
from review.kpis import HEADLINE_KPIS, KPI_CATALOG

__all__ = [
    "HEADLINE_KPIS",
    "KPI_CATALOG",
    "DataSourceError",
    "ImportMappingError",
    "Params",
    "ParamsError",
    "ReviewError",
    "RunError",
    "ValidationError",
    "__version__",
    "load_period",
    "load_params",
    "period_metrics",
]

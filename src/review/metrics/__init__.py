"""KPI computations, one module per metric family (DESIGN.md §5).

See :mod:`review.metrics.common` for the conventions every metric function follows.
"""

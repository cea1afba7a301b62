"""Month arithmetic on :class:`datetime.date`, one copy for the whole package.

A *month index* is ``year·12 + month − 1``: consecutive calendar months are consecutive
integers, so shifting by ``n`` months is an addition.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date


def month_index(d: date) -> int:
    """The month index ``year·12 + month − 1`` of ``d``."""
    return d.year * 12 + d.month - 1


def month_of_index(idx: int) -> date:
    """First day of the month whose :func:`month_index` is ``idx``."""
    return date(int(idx) // 12, int(idx) % 12 + 1, 1)


def month_start(d: date, shift: int = 0) -> date:
    """First day of the month of ``d``, moved by ``shift`` months (negative: earlier)."""
    return month_of_index(month_index(d) + shift)


def month_end(d: date) -> date:
    """Last day of the month of ``d``."""
    return date(d.year, d.month, _calendar.monthrange(d.year, d.month)[1])


def is_month_end(d: date) -> bool:
    """Whether ``d`` is the last day of its month."""
    return d == month_end(d)


def days_in_month(d: date) -> int:
    """Number of days of the month of ``d`` (28 to 31)."""
    return _calendar.monthrange(d.year, d.month)[1]


def trend_months(end: date, months: int = 12) -> list[date]:
    """First days of the ``months`` calendar months ending with the month of ``end``."""
    last = month_index(end)
    return [month_of_index(i) for i in range(last - months + 1, last + 1)]

"""Month arithmetic: known answers across year ends and leap years."""

from datetime import date

from review.core.calendar import (
    days_in_month,
    is_month_end,
    month_end,
    month_index,
    month_of_index,
    month_start,
    trend_months,
)


def test_month_index_round_trips_and_counts_months():
    # 2026·12 + 9 − 1 = 24320
    assert month_index(date(2026, 9, 17)) == 24320
    assert month_of_index(24320) == date(2026, 9, 1)
    assert month_index(date(2027, 1, 1)) - month_index(date(2026, 12, 31)) == 1


def test_month_start_shifts_across_year_ends():
    assert month_start(date(2026, 1, 31), -1) == date(2025, 12, 1)
    assert month_start(date(2026, 11, 5), 2) == date(2027, 1, 1)
    assert month_start(date(2026, 9, 30)) == date(2026, 9, 1)


def test_month_end_and_leap_februaries():
    assert month_end(date(2024, 2, 3)) == date(2024, 2, 29)  # 2024 divisible by 4
    assert month_end(date(2100, 2, 3)) == date(2100, 2, 28)  # century, not by 400
    assert days_in_month(date(2026, 4, 1)) == 30
    assert is_month_end(date(2026, 9, 30)) and not is_month_end(date(2026, 9, 29))


def test_trend_months_end_with_the_month_of_end():
    assert trend_months(date(2026, 2, 10), 3) == [date(2025, 12, 1), date(2026, 1, 1),
                                                  date(2026, 2, 1)]

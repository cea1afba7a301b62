"""Every metric family of the user-level metrics on empty tables: never an error."""

import math

import pytest

from review.metrics import acquisition, activity, funnel, lifecycle, retention
from tests.metrics.helpers import make_params, make_tables, window

SEP = window("2026-09-01", "2026-09-30")


@pytest.mark.parametrize("family", [acquisition, activity, funnel, lifecycle, retention],
                         ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_empty_tables_give_zero_or_nan_never_an_error(family):
    # no rows at all: counts are 0, ratios NaN with a note, tables empty or all-zero
    t = make_tables(users={"user_id": []}, events={"user_id": []},
                    transactions={"txn_id": []})
    head = family.headline(t, SEP, make_params())
    for m in head.values():
        assert m.value == 0 or (math.isnan(m.value) and m.note)
    for df in family.breakdowns(t, SEP, make_params()).values():
        num = df.select_dtypes("number").drop(columns=["week", "day", "step_no"], errors="ignore")
        assert (num.fillna(0) == 0).all().all()

"""Parameters: typed, strict, every problem named by file and key."""

from datetime import date

import pytest

from review.config import Params, load_params, period_dates, previous_period
from review.errors import ParamsError
from review.paths import PARAMS_DIR

BASE = {"period": "2026-09", "start": "2026-09-01", "end": "2026-09-30"}


def test_every_shipped_params_file_loads():
    files = sorted(PARAMS_DIR.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        p = load_params(f)
        assert p.start <= p.end
        assert f.stem == p.period


def test_dates_are_parsed_from_strings_and_from_yaml_dates():
    a = Params.from_dict(BASE)
    b = Params.from_dict({**BASE, "start": date(2026, 9, 1), "end": date(2026, 9, 30)})
    assert a.start == b.start == date(2026, 9, 1)


def test_unknown_key_names_file_and_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text('period: "2026-09"\nstart: "2026-09-01"\nend: "2026-09-30"\nbudgett: 1\n')
    with pytest.raises(ParamsError, match=r"bad\.yaml.*\n.*budgett: unknown key"):
        load_params(f)


def test_nested_wrong_type_and_impossible_values_all_reported_at_once():
    bad = {**BASE, "end": "2026-08-01",
           "targets": {"mau_ratio": {"value": "high"}},
           "budget": {"total": 100, "shares": {"digital_ads": 0.5, "offline": 0.2}}}
    with pytest.raises(ParamsError) as exc:
        Params.from_dict(bad, origin="p.yaml")
    msg = str(exc.value)
    assert "targets.mau_ratio.value" in msg
    assert "budget.shares" in msg and "sum to 1" in msg
    assert "before start" in msg


def test_unknown_kpi_target_and_spend_category_rejected():
    with pytest.raises(ParamsError, match="unknown KPI"):
        Params.from_dict({**BASE, "targets": {"mau": {"value": 1}}})
    with pytest.raises(ParamsError, match="unknown spend categories"):
        Params.from_dict({**BASE, "budget": {"total": 1, "shares": {"tv": 1.0}}})


def test_comparison_period_follows_calendar_shape():
    # a month compares with the previous month (30 days in September, 31 in August)
    assert previous_period(date(2026, 9, 1), date(2026, 9, 30)) == (date(2026, 8, 1),
                                                                    date(2026, 8, 31))
    # a quarter with the previous quarter
    assert previous_period(date(2026, 7, 1), date(2026, 9, 30)) == (date(2026, 4, 1),
                                                                    date(2026, 6, 30))
    # any other span with as many days just before: 10 days
    assert previous_period(date(2026, 9, 11), date(2026, 9, 20)) == (date(2026, 9, 1),
                                                                     date(2026, 9, 10))
    # January looks back across the year boundary
    assert previous_period(date(2026, 1, 1), date(2026, 1, 31)) == (date(2025, 12, 1),
                                                                    date(2025, 12, 31))


def test_last_year_and_period_ids():
    p = Params.from_dict({"period": "2024-02", "start": "2024-02-01", "end": "2024-02-29"})
    assert p.last_year == (date(2023, 2, 1), date(2023, 2, 28))
    assert period_dates("2026-Q3") == (date(2026, 7, 1), date(2026, 9, 30))
    assert period_dates("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ParamsError):
        period_dates("Sept")


def test_target_direction_defaults_from_catalog():
    p = Params.from_dict({**BASE, "targets": {"failure_rate": {"value": 0.02},
                                              "nps": {"value": 30, "direction": "lower"}}})
    assert p.target_for("failure_rate").direction == "lower"
    assert p.target_for("nps").direction == "lower"  # explicit wins
    assert p.target_for("mau_ratio") is None


def test_notebook_parameters_are_json_safe_and_round_trip():
    p = load_params(PARAMS_DIR / "2026-09.yaml")
    nb = p.notebook_parameters()
    assert nb["start"] == "2026-09-01"
    assert Params.from_namespace({**nb, "unrelated_global": 1}) == p

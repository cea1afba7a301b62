"""Exports as banks and public data sets have them go CSV → store → metrics with no
preprocessing; the campaign figures equal counts worked out by hand from the fixtures.

* ``bank_contacts.csv``: a bank-marketing contact list (``;``, quoted), month names without a
  year (the year is derived from file order), yes/no outcomes, no ids, no registration dates.
* ``experiment_inapp.csv``: an in-app experiment with TRUE/FALSE outcomes.
* ``营销名单_2026.csv``: Chinese month names (五月) and conversion days without a year (5月20日).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from review.cli import main
from review.data.connect import connect
from review.data.importer import import_files
from review.data.validate import validate
from review.metrics import acquisition
from review.metrics.common import Window
from review.metrics.experiments import experiment_counts

FIXTURES = Path(__file__).parent / "fixtures"


def imported(tmp_path: Path, csv: str, mapping: str) -> Path:
    store = tmp_path / "store.duckdb"
    import_files([FIXTURES / csv], FIXTURES / mapping, store)
    con = connect(store)
    try:
        report = validate(con)
    finally:
        con.disconnect()
    assert report.ok, report.format("store")
    return store


def counts(store: Path, w: Window, campaign: str) -> dict[str, tuple[int, int, int]]:
    con = connect(store)
    try:
        got = experiment_counts(con.table("assignments"), con.table("campaigns"), w,
                                [campaign])
    finally:
        con.disconnect()
    return {r.variant: (int(r.users), int(r.reached), int(r.conversions))
            for r in got.itertuples()}


def rows(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_bank_marketing_contact_list(tmp_path):
    store = imported(tmp_path, "bank_contacts.csv", "bank_contacts_mapping.yaml")
    # months in file order: may may may jun aug nov dec | jan feb mar apr may → 2008 | 2009
    assert rows(store, "SELECT * FROM campaigns") == [
        ("TD2008", "Term deposit calls", "telemarketing", date(2008, 5, 5), date(2009, 5, 14),
         None)]
    assert rows(store, "SELECT user_id, assigned_at FROM assignments WHERE user_id IN "
                       "('BK7', 'BK8') ORDER BY 1") == [("BK7", datetime(2008, 12, 17)),
                                                         ("BK8", datetime(2009, 1, 4))]
    # y = yes on rows 3, 5, 8, 10: converted on their call dates
    assert rows(store, "SELECT user_id, converted_at FROM assignments WHERE converted_at IS "
                       "NOT NULL ORDER BY converted_at") == [
        ("BK3", datetime(2008, 5, 6)), ("BK5", datetime(2008, 8, 11)),
        ("BK8", datetime(2009, 1, 4)), ("BK10", datetime(2009, 3, 9))]
    # contact: unknown ×2 (rows 1, 2), cellular ×7 + telephone ×3 → phone ×10
    assert rows(store, "SELECT touch_channel, count(*) FROM assignments GROUP BY 1 "
                       "ORDER BY 1") == [("phone", 10), ("unknown", 2)]
    # 12 participants, all reached (the default), 4 conversions
    w = Window(date(2008, 5, 1), date(2009, 5, 31))
    assert counts(store, w, "TD2008") == {"A": (12, 12, 4)}


def test_in_app_experiment_with_true_false_outcomes(tmp_path):
    store = imported(tmp_path, "experiment_inapp.csv", "experiment_inapp_mapping.yaml")
    assert rows(store, "SELECT kind, start, \"end\" FROM campaigns") == [
        ("experiment", date(2026, 9, 1), date(2026, 9, 4))]
    # control a01–a05: clicked a02, a05 (2); converted a03 (1)
    # treatment a06–a10: clicked a06, a07, a08, a10 (4); converted a06, a08, a10 (3)
    w = Window(date(2026, 9, 1), date(2026, 9, 30))
    assert counts(store, w, "BANNER09") == {"control": (5, 2, 1), "A": (5, 4, 3)}


def test_chinese_month_names_and_sql_dates(tmp_path):
    store = imported(tmp_path, "营销名单_2026.csv", "营销名单_mapping.yaml")
    assert rows(store, "SELECT user_id, assigned_at, converted_at, touch_channel "
                       "FROM assignments ORDER BY 1") == [
        ("M1", datetime(2026, 5, 6), None, "phone"),
        ("M2", datetime(2026, 5, 7), datetime(2026, 5, 20), "phone"),
        ("M3", datetime(2026, 6, 1), datetime(2026, 6, 3), "sms"),
        ("M4", datetime(2026, 6, 2), datetime(2026, 6, 30), "unknown"),
        ("M5", datetime(2026, 6, 9), None, "phone")]
    # control M1, M4: 2 users, 1 conversion (M4); A: M2, M3, M5: 3 users, 2 conversions
    w = Window(date(2026, 5, 1), date(2026, 6, 30))
    assert counts(store, w, "C10") == {"control": (2, 2, 1), "A": (3, 3, 2)}
    # users without a registration date: none are new users; the note counts all five
    con = connect(store)
    try:
        got = acquisition.headline({"users": con.table("users")}, w, None)  # type: ignore
    finally:
        con.disconnect()
    assert got["new_users"].value == 0
    assert got["new_users"].note == "5 user(s) without a registration date are left out"
    assert rows(store, "SELECT segment, count(*) FROM users GROUP BY 1 ORDER BY 1") == [
        ("affluent", 1), ("hnw", 1), ("mass", 2), ("other", 1)]


@pytest.mark.parametrize(("csv", "mapping", "expected"), [
    ("bank_contacts.csv", "bank_contacts_mapping.yaml", "campaigns: 1 rows; assignments: 12"),
    ("experiment_inapp.csv", "experiment_inapp_mapping.yaml",
     "campaigns: 1 rows; assignments: 10"),
])
def test_the_command_line_imports_them_as_they_come(tmp_path, capsys, csv, mapping, expected):
    store = tmp_path / "s.duckdb"
    assert main(["import", str(FIXTURES / csv), "--mapping", str(FIXTURES / mapping),
                 "--into", str(store)]) == 0
    assert expected in capsys.readouterr().out


def test_the_campaigns_family_reads_the_imported_experiment(tmp_path):
    """The report's campaign KPIs (review.metrics.campaigns) on the store as imported."""
    from review.config import Params
    from review.metrics import campaigns

    store = imported(tmp_path, "experiment_inapp.csv", "experiment_inapp_mapping.yaml")
    p = Params.from_dict({"period": "2026-09", "start": "2026-09-01", "end": "2026-09-30",
                          "campaigns": [{"id": "BANNER09"}]})
    con = connect(store)
    try:
        got = campaigns.headline({"campaigns": con.table("campaigns"),
                                  "assignments": con.table("assignments")},
                                 Window(p.start, p.end), p)
    finally:
        con.disconnect()
    # treated (A): a06–a10, 5 participants, 3 converted; control a01–a05: 1 converted
    assert got["campaign_participants"].value == 5
    assert got["campaign_conversions"].value == 3
    assert got["campaign_conversion_rate"].value == pytest.approx(3 / 5)
    # incremental = (3/5 − 1/5) × 5 treated participants = 2
    assert got["incremental_conversions"].value == pytest.approx(2.0)


def test_the_campaigns_family_reads_the_imported_contact_list(tmp_path):
    from review.config import Params
    from review.metrics import campaigns

    store = imported(tmp_path, "bank_contacts.csv", "bank_contacts_mapping.yaml")
    p = Params.from_dict({"period": "2008-05", "start": "2008-05-01", "end": "2009-05-31",
                          "campaigns": [{"id": "TD2008"}]})
    con = connect(store)
    try:
        got = campaigns.headline({"campaigns": con.table("campaigns"),
                                  "assignments": con.table("assignments")},
                                 Window(p.start, p.end), p)
    finally:
        con.disconnect()
    # every contact is treated (variant A): 12 participants, 4 converted (y = yes)
    assert got["campaign_participants"].value == 12
    assert got["campaign_conversions"].value == 4
    # no control group: no incremental estimate, said so
    assert np.isnan(got["incremental_conversions"].value)
    assert got["incremental_conversions"].note

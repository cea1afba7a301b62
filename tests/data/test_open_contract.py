"""Data as banks have it: open vocabularies (other/unknown), nullable registration dates and
defaulted assignment columns, from import to validation to metrics and labels."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import ibis
import pytest

from review.data import contract
from review.data.connect import connect
from review.data.importer import ImportMapping, import_files
from review.data.validate import validate
from review.errors import ImportMappingError
from review.metrics import acquisition
from review.metrics.common import Window
from review.report.i18n import code_label

# A contact list as a bank exports it: no registration date, no touch channel, no reward, no
# "reached" column; one channel the contract does not list (电销 → other) and one unknown.
CONTACTS = """cust,campaign,group,channel,converted
U1,T1,control,网点,
U2,T1,A,电销,2026-09-03
U3,T1,A,,2026-09-04
"""
CAMPAIGNS = "id,title,start,end\nT1,Outbound call wave,2026-09-01,2026-09-30\n"

MAPPING = {"sources": [
    {"files": "contacts*.csv", "tables": {
        "users": {"columns": {
            "user_id": "cust",
            "acquisition_channel": {"from": "channel",
                                    "values": {"网点": "branch", "电销": "other", "": "unknown"}},
            "region": {"value": "unknown"}, "city_tier": {"value": "unknown"},
            "age_band": {"value": "unknown"}, "segment": {"value": "unknown"}}},
        "assignments": {"columns": {
            "user_id": "cust", "campaign_id": "campaign", "variant": "group",
            "assigned_at": {"value": "2026-09-01"}, "converted_at": "converted"}}}},
    {"files": "campaigns*.csv", "tables": {"campaigns": {"columns": {
        "campaign_id": "id", "name": "title", "kind": {"value": "telemarketing"},
        "start": "start", "end": "end"}}}},
]}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
    out = tmp_path / "bank.duckdb"
    import_files([tmp_path / "contacts.csv", tmp_path / "campaigns.csv"],
                 ImportMapping.from_dict(MAPPING), out)
    return out


def test_every_coded_column_accepts_other_and_unknown():
    coded = [(t.name, c.name) for t in contract.TABLES.values() for c in t.columns
             if c.allowed is not None and c.name not in ("event", "status", "severity")]
    # users 4, events 2, transactions 2, campaigns 1, assignments 1, spend 2, regions 1
    assert len(coded) == 13
    for tname, cname in coded:
        allowed = contract.TABLES[tname].column(cname).allowed
        assert "other" in allowed and "unknown" in allowed, (tname, cname)
    touch = contract.TABLES["assignments"].column("touch_channel").allowed
    assert {"phone", "sms", "push", "in_app", "email", "wechat", "branch"} <= set(touch)
    assert {"telemarketing", "experiment"} <= set(contract.TABLES["campaigns"].column("kind")
                                                   .allowed)


def test_mapping_may_leave_out_nullable_and_defaulted_columns(store):
    con = duckdb.connect(str(store), read_only=True)
    try:
        users = con.execute("SELECT user_id, registered_at, acquisition_channel FROM users "
                            "ORDER BY 1").fetchall()
        asg = con.execute("SELECT user_id, touch_channel, reached, reward_cost, converted_at "
                          "FROM assignments ORDER BY 1").fetchall()
        kind = con.execute("SELECT kind FROM campaigns").fetchall()
    finally:
        con.close()
    assert users == [("U1", None, "branch"), ("U2", None, "other"), ("U3", None, "unknown")]
    # defaults: touch_channel unknown, reached true, reward_cost 0
    assert asg == [("U1", "unknown", True, 0.0, None),
                   ("U2", "unknown", True, 0.0, datetime(2026, 9, 3)),
                   ("U3", "unknown", True, 0.0, datetime(2026, 9, 4))]
    assert kind == [("telemarketing",)]


def test_validation_never_refuses_other_unknown_or_missing_registration(store):
    report = validate(connect(store))
    assert report.ok, report.format("store")
    assert not [p for p in report.problems if p.column == "acquisition_channel"]
    # the users without a registration date are counted for the data-quality appendix
    (left_out,) = [p for p in report.problems if p.column == "registered_at"]
    assert (left_out.rule, left_out.severity, left_out.count) == ("left_out", "warning", 3)
    assert left_out.message.startswith("3 row(s) have no value in users.registered_at: left "
                                       "out of new-user, funnel and cohort metrics")


def test_required_columns_without_default_are_still_required():
    bad = {"sources": [{"files": "x.csv", "tables": {"assignments": {"columns": {
        "user_id": "cust", "campaign_id": "campaign"}}}}]}
    with pytest.raises(ImportMappingError, match="required column.*variant, assigned_at"):
        ImportMapping.from_dict(bad)


def test_users_without_registration_are_left_out_of_acquisition_with_a_note(store):
    con = connect(store)
    users = con.table("users")
    # add two registered users: one in September (new), one in August (base only)
    more = ibis.memtable({"user_id": ["R1", "R2"],
                          "registered_at": [datetime(2026, 9, 5), datetime(2026, 8, 1)],
                          "acquisition_channel": ["branch", "organic"],
                          "region": ["x", "x"], "city_tier": ["key", "key"],
                          "age_band": ["25-34", "25-34"], "segment": ["mass", "mass"]})
    users = users.union(more.cast(users.schema()))
    w = Window(date(2026, 9, 1), date(2026, 9, 30))
    got = acquisition.headline({"users": users}, w, None)  # type: ignore[arg-type]
    # new users: R1 only (U1–U3 have no date); base: R1 + R2; 3 left out
    assert got["new_users"].value == 1 and got["registered_base"].value == 2
    assert got["new_users"].note == "3 user(s) without a registration date are left out"


@pytest.mark.parametrize(("lang", "other", "unknown"), [("zh", "其他", "未知"),
                                                        ("en", "Other", "Unknown")])
def test_reports_label_open_codes_in_every_dimension(lang, other, unknown):
    for dim in ("acquisition_channel", "touch_channel", "age_band", "segment"):
        assert code_label(dim, "other", lang) == other
        assert code_label(dim, "unknown", lang) == unknown
    assert code_label("touch_channel", "phone", "zh") == "电话"
    assert code_label("campaign_kind", "telemarketing", "en") == "Telemarketing"


def test_validate_says_which_sections_each_missing_table_would_unlock(tmp_path):
    (tmp_path / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    only_campaigns = {"sources": [MAPPING["sources"][0] | {"tables": {
        "assignments": MAPPING["sources"][0]["tables"]["assignments"]}}, MAPPING["sources"][1]]}
    store = tmp_path / "min.duckdb"
    import_files([tmp_path / "contacts.csv", tmp_path / "campaigns.csv"],
                 ImportMapping.from_dict(only_campaigns), store)
    report = validate(connect(store))
    assert report.ok and set(report.tables_missing) >= {"users", "spend", "events"}
    text = {p.table: p.message for p in report.problems if p.rule == "missing_table"}
    sections = ", ".join(contract.unlocks("spend"))
    assert f"adding it would unlock the sections {sections}" in text["spend"]
    assert "budget" in contract.unlocks("spend")

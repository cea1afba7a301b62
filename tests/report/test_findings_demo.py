"""Planted truths of the demo data surface as findings."""

import json

import pytest

from review.report.findings import findings


@pytest.fixture(scope="module")
def truth(demo_con):
    gt = demo_con.table("ground_truth").to_pandas()
    return {r.key: (r.value, json.loads(r.detail) if isinstance(r.detail, str) else None)
            for r in gt.itertuples()}


@pytest.fixture(scope="module")
def september(demo_metrics):
    return findings(demo_metrics("2026-09"))


def test_failure_incident_found_on_its_days(september, truth):
    days = truth["failure_incident"][1]
    (spike,) = [f for f in september if f.rule == "failure_spike"]
    assert spike.severity == 3
    for d in days:  # "2026-09-14" → "09-14" in the evidence
        assert d[5:] in spike.evidence
    # a 3-sigma rule over 30 days of a 3,000-user store may add one chance day, not more
    n_flagged = int(spike.evidence.split()[0])
    assert len(days) <= n_flagged <= len(days) + 1


def test_worst_cac_channel_flagged(september, truth):
    worst = truth["worst_cac_channel"][1]
    assert ("cac_outlier", worst) in [(f.rule, f.subject) for f in september]


def test_winning_variant_found_and_null_variant_not(september):
    subjects = {(f.rule, f.subject) for f in september}
    assert ("experiment_better", "C01/A") in subjects
    # the null variant: no experiment finding; the winner is not flagged as failing to pay back
    assert not any(s == "C01/B" and r.startswith("experiment") for r, s in subjects)
    assert ("negative_roi", "C01/A") not in subjects
    assert not any(r in ("srm", "srm_warn") for r, _ in subjects)


def test_complaint_surge_found_in_october(demo_metrics, truth):
    category = truth["complaint_surge"][1]["category"]
    october = findings(demo_metrics("2026-10"))
    assert ("complaint_surge", category) in [(f.rule, f.subject) for f in october]


def test_red_kpis_are_findings(demo_metrics):
    pm = demo_metrics("2026-09")
    red = {k for k, v in pm.kpis.items() if v.rag == "red"}
    found = {f.subject for f in findings(pm) if f.rule == "red_kpi"}
    assert found == red


# -- the findings a manager acts on (consolidated) -------------------------------------------
@pytest.fixture(scope="module", params=["2026-09", "2026-10"])
def acted(request, demo_metrics):
    from review.report.findings import actionable

    pm = demo_metrics(request.param)
    return pm, actionable(pm, "en"), actionable(pm, "zh")


def test_actionable_findings_follow_the_rules(acted):
    import re

    from review.report.consolidate import ACTION_DIRECTION, SUBJECT_ALIASES, opposite_pairs

    pm, en, zh = acted
    for items in (en, zh):
        subjects = [SUBJECT_ALIASES.get(f.subject, f.subject) for f in items]
        assert len(subjects) == len(set(subjects)), subjects  # one finding per subject
        assert opposite_pairs(items) == []
        # a reserve is never advised to be spent; no filler; every action carries a number
        assert not any(f.subject == "reserve" and ACTION_DIRECTION.get(f.rule) == 1
                       for f in items)
        assert not any(f.rule == "amber_kpi" for f in items)
        assert [f.action for f in items if not re.search(r"\d", f.action)] == []
    assert [f.subject for f in en] == [f.subject for f in zh]


def test_planted_truths_survive_consolidation(demo_metrics, truth):
    from review.report.findings import actionable

    sept = {(f.rule, f.subject) for f in actionable(demo_metrics("2026-09"))}
    assert ("cac_outlier", truth["worst_cac_channel"][1]) in sept
    assert ("experiment_better", "C01/A") in sept
    assert any(r in ("failure_spike", "red_kpi") and s in ("failure_spike", "failure_rate")
               for r, s in sept)
    october = {(f.rule, f.subject) for f in actionable(demo_metrics("2026-10"))}
    assert ("complaint_surge", truth["complaint_surge"][1]["category"]) in october

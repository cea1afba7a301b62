"""Findings a manager can act on (review.report.consolidate) on hand-built findings."""

from __future__ import annotations

from review.report.consolidate import consolidate, opposite_pairs
from review.report.findings import Finding


def _f(rule, subject, severity=2, evidence="", action=""):
    return Finding(rule, severity, subject, f"title {rule}", evidence or f"ev {rule}",
                   action or f"act {rule}")


def test_one_finding_per_subject_with_merged_evidence():
    items = [_f("red_kpi", "cac", 3, "CAC ¥150 vs ≤ ¥120", "Cut KOL by ¥20,000"),
             _f("cac_outlier", "kol", 2, "KOL CAC 5.2× median", "Move ¥20,000 from KOL"),
             _f("funnel_drop", "bind_card", 2),
             _f("cac_outlier", "cac", 1, "CAC up 12%", "Cut KOL by ¥20,000")]
    out = consolidate(items, lang="en")
    assert [f.subject for f in out] == ["cac", "kol", "bind_card"]
    assert out[0].rule == "red_kpi" and out[0].title == "title red_kpi"
    assert out[0].evidence == "CAC ¥150 vs ≤ ¥120; CAC up 12%."
    assert out[0].action == "Cut KOL by ¥20,000"  # the same action is not repeated


def test_no_opposite_actions_for_one_subject():
    # a variant that wins on conversions (roll out) but loses money (cut): the leading
    # finding's direction decides; the other's evidence stays, its action goes
    items = [_f("negative_roi", "C01/B", 3, "ROI −40%", "Stop C01/B, save ¥30,000"),
             _f("experiment_better", "C01/B", 2, "+2.1 pp", "Roll C01/B out to 8,000 users")]
    assert opposite_pairs(items) == [("C01/B", "negative_roi", "experiment_better")]
    (merged,) = consolidate(items, lang="zh")
    assert merged.action == "Stop C01/B, save ¥30,000"
    assert merged.evidence == "ROI −40%；+2.1 pp。"
    assert opposite_pairs(consolidate(items)) == []


def test_reserve_is_never_advised_to_be_spent_and_filler_is_dropped():
    items = [_f("underspend", "reserve", 2), _f("underspend", "kol", 2),
             _f("overspend", "reserve", 2), _f("amber_kpi", "nps", 2)]
    out = consolidate(items)
    assert [(f.rule, f.subject) for f in out] == [("underspend", "kol"), ("overspend", "reserve")]
    assert consolidate([_f("underspend", "Contingency")], reserve={"contingency"}) == []

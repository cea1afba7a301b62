"""Findings a manager can act on: one per subject, never two opposite actions, no filler,
never "spend the reserve".

:func:`consolidate` takes the ranked findings of :func:`review.report.findings.findings` and

1. drops advice to spend a reserve category (an under-spent reserve is the reserve doing its
   job: :data:`RESERVE_CATEGORIES`, or the categories passed as ``reserve``);
2. drops findings whose action is filler (:data:`FILLER_RULES`: "track it closely" is not an
   action);
3. merges the findings of one subject into one: the highest-ranked finding leads (its title
   and action), the others' evidence is appended to its evidence;
4. when the subject's findings point in opposite directions (:data:`ACTION_DIRECTION`: grow
   vs cut), keeps only the leading finding's action and those of the same direction; the
   evidence of the others is kept, so the reader sees why the call is close.

The input order (severity, then magnitude) is kept for the leaders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

#: Spend categories that are held back on purpose: never advised to be spent.
RESERVE_CATEGORIES: frozenset[str] = frozenset({"reserve", "contingency"})
#: Rules whose action would advise spending the subject category's money.
SPENDING_RULES: frozenset[str] = frozenset({"underspend"})
#: Rules whose only action is to watch: not a finding a manager acts on.
FILLER_RULES: frozenset[str] = frozenset({"amber_kpi"})
#: +1 grow (roll out, scale up, spend more), −1 cut (stop, scale down, cut spend); rules not
#: listed fix or investigate (0) and never contradict.
ACTION_DIRECTION: dict[str, int] = {
    "experiment_better": +1, "underspend": +1,
    "experiment_worse": -1, "negative_roi": -1, "cac_outlier": -1, "overspend": -1,
    "payback_uncertain": -1,
}


#: Subjects that are the same thing under another name: a spike of a KPI is about that KPI.
SUBJECT_ALIASES: dict[str, str] = {
    "failure_spike": "failure_rate", "crash_spike": "crash_per_1k_logins",
    "abnormal_login_spike": "abnormal_logins_per_10k",
}


class FindingLike(Protocol):
    rule: str
    severity: int
    subject: str
    title: str
    evidence: str
    action: str


def _joiner(lang: str) -> str:
    return "；" if lang == "zh" else "; "


def consolidate(items: Iterable[FindingLike], *, lang: str = "en",
                reserve: Iterable[str] = RESERVE_CATEGORIES) -> list:
    """One finding per subject, without contradictions, filler or reserve spending."""
    reserve = {str(r).lower() for r in reserve}
    kept = [f for f in items
            if not (f.rule in SPENDING_RULES and str(f.subject).lower() in reserve)
            and f.rule not in FILLER_RULES]
    groups: dict[str, list] = {}
    for f in kept:
        subject = str(f.subject)
        groups.setdefault(SUBJECT_ALIASES.get(subject, subject), []).append(f)
    out = []
    for subject_items in groups.values():
        out.append(_merge(subject_items, lang))
    return out


def _merge(items: Sequence, lang: str):
    lead = items[0]
    if len(items) == 1:
        return lead
    sign = ACTION_DIRECTION.get(lead.rule, 0)
    evidence = [lead.evidence]
    actions = [lead.action]
    for f in items[1:]:
        if f.evidence and f.evidence not in evidence:
            evidence.append(f.evidence)
        d = ACTION_DIRECTION.get(f.rule, 0)
        opposite = sign and d and d != sign
        if not opposite and f.action and f.action not in actions:
            if d and not sign:
                sign = d
            actions.append(f.action)
    sep = _joiner(lang)
    return replace(lead, evidence=sep.join(e.rstrip("。.；;") for e in evidence) + (
        "。" if lang == "zh" else "."), action=" ".join(actions))


def opposite_pairs(items: Iterable[FindingLike]) -> list[tuple[str, str, str]]:
    """``(subject, rule, rule)`` of findings giving opposite advice for one subject (a check
    for tests and for the report's own assertion)."""
    by: dict[str, set[int]] = {}
    rules: dict[str, list[str]] = {}
    for f in items:
        d = ACTION_DIRECTION.get(f.rule, 0)
        if d:
            by.setdefault(str(f.subject), set()).add(d)
            rules.setdefault(str(f.subject), []).append(f.rule)
    return [(s, *rules[s][:2]) for s, ds in by.items() if len(ds) > 1]

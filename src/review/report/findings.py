"""Problems and suggestions (存在问题与优化建议): rules over the computed metrics.

Each rule reads a :class:`~review.metrics.result.PeriodMetrics` (never raw data) and yields
:class:`Finding` objects stating the problem, its evidence numbers and a suggested action in
the report's language (i18n keys ``finding.<rule>.title|evidence|action``). Findings are
ranked by severity (3 high, 2 medium, 1 low / positive) and then by the size of the effect.

Rules
--------------------
``red_kpi`` / ``amber_kpi``   a KPI off target (red) or at risk (amber)
``funnel_drop``               the funnel step whose conversion fell most vs the comparison period
``cac_outlier``               a channel whose CAC is far above the median channel
``experiment_better|worse``   a variant significantly better / worse than control (Holm)
``srm`` / ``srm_warn``        a sample-ratio mismatch below ``srm_alert`` (red) / ``srm_warn``
                              (amber): the experiment's split is not as planned
``failure_spike`` ``crash_spike`` ``abnormal_login_spike``   days above the control limit
``complaint_surge``           a category-week of complaints above its Poisson limit
``overspend`` / ``underspend`` / ``unplanned_spend``   budget categories off plan by > 10 %
``negative_roi``              a campaign variant whose projected ROI is negative (no payback
                              within the LTV horizon)
``payback_uncertain``         a variant, not a significant winner, whose projected ROI interval
                              spans 0: payback not established
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pandas as pd

from review.metrics.result import PeriodMetrics
from review.report.i18n import code_label, has, join_list, t
from review.report.numbers import format_value

#: spend categories deviating from plan by more than this share are findings
SPEND_TOLERANCE = 0.10
#: a funnel step whose conversion fell by at least this many points is a finding
FUNNEL_DROP_POINTS = 0.02


@dataclass(frozen=True)
class Finding:
    """One problem (or success) with its evidence and a suggested action, in one language."""

    rule: str
    severity: int  # 3 high, 2 medium, 1 low or positive
    subject: str  # the KPI, channel, campaign/variant, category… it is about
    title: str
    evidence: str
    action: str
    magnitude: float = 0.0  # size of the effect, for ranking within a severity

    def to_json(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "subject": self.subject,
                "title": self.title, "evidence": self.evidence, "action": self.action}


def findings(pm: PeriodMetrics, lang: str | None = None) -> list[Finding]:
    """Every finding of the period, ranked: severity first, then magnitude, then subject."""
    lang = lang or pm.lang
    out = [f for rule in RULES for f in rule(pm, lang)]
    return sorted(out, key=lambda f: (-f.severity, -f.magnitude, f.rule, f.subject))


def actionable(pm: PeriodMetrics, lang: str | None = None) -> list[Finding]:
    """The findings a manager acts on: :func:`findings` consolidated by
    :func:`review.report.consolidate.consolidate` (one per subject, no opposite actions, no
    filler, never spending a reserve category), in rank order."""
    from review.report.consolidate import consolidate

    lang = lang or pm.lang
    return consolidate(findings(pm, lang), lang=lang)


def _make(rule: str, severity: int, subject: str, lang: str, magnitude: float = 0.0,
          **fmt: object) -> Finding:
    action_key = f"finding.{rule}.action.{subject}"
    action = t(action_key if has(action_key) else f"finding.{rule}.action", lang, **fmt)
    return Finding(rule, severity, subject, t(f"finding.{rule}.title", lang, **fmt),
                   t(f"finding.{rule}.evidence", lang, **fmt), action, magnitude)


def _fmt(value: float | None, unit: str, pm: PeriodMetrics, lang: str) -> str:
    return format_value(value, unit, lang, currency=pm.currency)


def _p_text(p: float, pm: PeriodMetrics, lang: str) -> str:
    """``p < 0.001`` or ``p = 0.0123`` (three significant digits, never ``0.00``)."""
    text = _fmt(p, "pvalue", pm, lang)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _table(pm: PeriodMetrics, name: str) -> pd.DataFrame | None:
    df = pm.tables.get(name)
    return None if df is None or df.empty else df


def _flagged(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["flagged"].fillna(False).astype(bool)]


# -- rules ------------------------------------------------------------------------------------
def kpi_status(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """A KPI off target (red, severity 3) or at risk (amber, severity 2)."""
    for key, k in pm.kpis.items():
        if k.rag not in ("red", "amber"):
            continue
        rule = "red_kpi" if k.rag == "red" else "amber_kpi"
        gap = 1 - (k.attainment if k.attainment is not None else 0.0)
        fields = dict(kpi=t(f"kpi.{key}", lang), value=_fmt(k.value, k.unit, pm, lang),
                      target=_fmt(k.target, k.unit, pm, lang),
                      attainment=_fmt(k.attainment, "ratio", pm, lang),
                      comparison=_fmt(k.compare_value, k.unit, pm, lang))
        found = _make(rule, 3 if k.rag == "red" else 2, key, lang, magnitude=gap, **fields)
        if rule == "red_kpi":  # the size of the gap, then what to do about it
            found = replace(found, action=t("finding.red_kpi.goal", lang, **fields)
                            + found.action)
        yield found


def funnel_drop(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """The funnel step whose step conversion fell most against the comparison period."""
    now, before = _table(pm, "funnel.steps"), _table(pm, "funnel.steps@compare")
    if now is None or before is None:
        return
    both = now.merge(before, on="step", suffixes=("", "_cmp"))
    both = both[both["step_no"] > 1].assign(
        delta=lambda d: d["step_conversion"] - d["step_conversion_cmp"]).dropna(subset=["delta"])
    if both.empty:
        return
    worst = both.loc[both["delta"].idxmin()]
    if not worst["delta"] <= -FUNNEL_DROP_POINTS:
        return
    yield _make("funnel_drop", 3 if worst["delta"] <= -0.05 else 2, str(worst["step"]), lang,
                magnitude=-float(worst["delta"]),
                step=code_label("funnel_step", worst["step"], lang),
                rate=_fmt(worst["step_conversion"], "ratio", pm, lang),
                compare=_fmt(worst["step_conversion_cmp"], "ratio", pm, lang),
                points=f"{abs(worst['delta']) * 100:.1f}")


def cac_outlier(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """A channel whose CAC is far above the median channel's (``flagged_high``)."""
    df = _table(pm, "budget.cac")
    if df is None:
        return
    for row in df[df["flagged_high"].fillna(False).astype(bool)].itertuples():
        yield _make("cac_outlier", 2, str(row.channel), lang, magnitude=float(row.vs_median),
                    channel=code_label("spend_channel", row.channel, lang),
                    cac=_fmt(row.cac, "currency", pm, lang),
                    multiple="—" if pd.isna(row.vs_median) else f"{row.vs_median:.1f}",
                    new_users=_fmt(row.new_users, "count", pm, lang),
                    spend=_fmt(row.spend, "currency", pm, lang),
                    # the same spend at the median channel's CAC buys vs_median × the users
                    at_median=_fmt(row.new_users * row.vs_median, "count", pm, lang))


def experiments(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """Variants significantly better or worse than control; sample-ratio mismatches."""
    df = _table(pm, "experiments.readout")
    if df is None:
        return
    for row in df.itertuples():
        subject = f"{row.campaign_id}/{row.variant}"
        fields = dict(campaign=row.campaign_id, variant=row.variant,
                      lift=f"{row.abs_lift * 100:+.1f}",
                      lo=f"{row.abs_lo * 100:+.1f}", hi=f"{row.abs_hi * 100:+.1f}",
                      rate=_fmt(row.rate, "ratio", pm, lang),
                      control_rate=_fmt(row.control_rate, "ratio", pm, lang),
                      p=_p_text(row.p_holm, pm, lang),
                      per_1k=_fmt(abs(row.abs_lift) * 1000, "count", pm, lang))
        if bool(row.significant) and row.direction in ("better", "worse"):
            worse = row.direction == "worse"
            yield _make(f"experiment_{row.direction}", 3 if worse else 1, subject, lang,
                        magnitude=abs(float(row.abs_lift)), **fields)
    status = df["srm_status"] if "srm_status" in df else df["srm_flag"].map(
        {True: "red", False: "ok"})
    srm = df.assign(srm_level=status)
    srm = srm[srm["srm_level"].isin(["amber", "red"])].drop_duplicates("campaign_id")
    for row in srm.itertuples():
        red = row.srm_level == "red"
        yield _make("srm" if red else "srm_warn", 3 if red else 2, str(row.campaign_id), lang,
                    magnitude=1.0, campaign=row.campaign_id,
                    chi2=_fmt(row.srm_chi2, "number", pm, lang),
                    p=_p_text(row.srm_p, pm, lang))


def _spikes(table: str, rule: str, severity: int, unit: str) -> Callable:
    def rule_fn(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
        df = _table(pm, table)
        if df is None:
            return
        hot = _flagged(df)
        if hot.empty:
            return
        peak = hot.loc[hot["rate"].idxmax()]
        days = join_list((pd.Timestamp(d).strftime("%m-%d") for d in hot["date"]), lang)
        centre = float(peak["centre"])
        yield _make(rule, severity, rule, lang,
                    magnitude=float(peak["rate"]) / centre if centre else math.inf,
                    days=days, n=len(hot), peak=_fmt(peak["rate"], unit, pm, lang),
                    centre=_fmt(centre, unit, pm, lang))

    rule_fn.__doc__ = f"Days of ``{table}`` above the upper control limit."
    return rule_fn


def complaint_surge(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """A category-week of complaints above its Poisson limit."""
    df = _table(pm, "satisfaction.complaints_weekly")
    if df is None:
        return
    for row in _flagged(df).itertuples():
        expected = float(row.expected)
        yield _make("complaint_surge", 3, str(row.category), lang,
                    magnitude=row.tickets / expected if expected else math.inf,
                    category=code_label("complaint_category", row.category, lang),
                    week=pd.Timestamp(row.week_start).strftime("%Y-%m-%d"),
                    tickets=int(row.tickets), expected=f"{expected:.1f}")


def spend_variance(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """Budget categories over or under plan by more than :data:`SPEND_TOLERANCE`."""
    df = _table(pm, "budget.plan_vs_actual")
    if df is None:
        return
    for row in df.itertuples():
        fields = dict(category=code_label("spend_category", row.category, lang),
                      actual=_fmt(row.actual, "currency", pm, lang),
                      planned=_fmt(row.planned, "currency", pm, lang),
                      pct=f"{abs(row.variance_pct) * 100:.0f}" if row.planned else "")
        if row.category == "reserve" and row.variance_pct < 0:
            continue  # a reserve kept unspent is its purpose: never advise spending it
        if not row.planned:
            if row.actual > 0:
                yield _make("unplanned_spend", 1, str(row.category), lang,
                            magnitude=float(row.actual), **fields)
        elif row.variance_pct > SPEND_TOLERANCE:
            yield _make("overspend", 2, str(row.category), lang,
                        magnitude=float(row.variance_pct), **fields)
        elif row.variance_pct < -SPEND_TOLERANCE:
            yield _make("underspend", 1, str(row.category), lang,
                        magnitude=-float(row.variance_pct), **fields)


def negative_roi(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """Campaign variants not expected to pay back: projected ROI < 0 over the LTV horizon.

    A negative ROI in the period alone is not a problem when the projection pays back (the
    value arrives after the period); the evidence shows both, with the payback month.
    """
    df = _table(pm, "campaigns.by_variant")
    if df is None:
        return
    df = df[(df["variant"] != "control") & (df["roi_projected"] < 0)]
    for row in df.itertuples():
        payback = (t("narr.beyond_horizon", lang) if pd.isna(row.payback_month)
                   else f"{row.payback_month:.0f}")
        yield _make("negative_roi", 2, f"{row.campaign_id}/{row.variant}", lang,
                    magnitude=-float(row.roi_projected),
                    campaign=f"{row.campaign_id} {row.variant}",
                    roi=_fmt(row.roi_period, "ratio", pm, lang),
                    projected=_fmt(row.roi_projected, "ratio", pm, lang),
                    incremental=_fmt(row.incremental_value_projected, "currency", pm, lang),
                    cost=_fmt(row.cost_to_date, "currency", pm, lang),
                    payback=payback)


def payback_uncertain(pm: PeriodMetrics, lang: str) -> Iterator[Finding]:
    """Campaign variants whose projected ROI is not negative but whose 95 % interval spans 0,
    and that did not beat control significantly: payback is not established (the subject of a
    significant win gets that finding instead, never both)."""
    df = _table(pm, "campaigns.by_variant")
    if df is None or "roi_projected_lo" not in df:
        return
    won = set()
    readout = _table(pm, "experiments.readout")
    if readout is not None:
        sig = readout[readout["significant"].fillna(False).astype(bool)]
        won = {f"{c}/{v}" for c, v in zip(sig["campaign_id"], sig["variant"], strict=True)}
    df = df[(df["variant"] != "control") & (df["roi_projected"] >= 0)
            & (df["roi_projected_lo"] < 0)]
    for row in df.itertuples():
        subject = f"{row.campaign_id}/{row.variant}"
        if subject in won:
            continue
        yield _make("payback_uncertain", 1, subject, lang,
                    magnitude=float(row.roi_projected_hi - row.roi_projected_lo),
                    campaign=f"{row.campaign_id} {row.variant}",
                    projected=_fmt(row.roi_projected, "ratio", pm, lang),
                    lo=_fmt(row.roi_projected_lo, "ratio", pm, lang),
                    hi=_fmt(row.roi_projected_hi, "ratio", pm, lang))


RULES: tuple[Callable[[PeriodMetrics, str], Iterator[Finding]], ...] = (
    kpi_status, funnel_drop, cac_outlier, experiments,
    _spikes("risk.failure_daily", "failure_spike", 3, "ratio"),
    _spikes("risk.crash_daily", "crash_spike", 2, "per_1k"),
    _spikes("risk.abnormal_logins_daily", "abnormal_login_spike", 2, "per_10k"),
    complaint_surge, spend_variance, negative_roi, payback_uncertain,
)

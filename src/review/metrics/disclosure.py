"""Small-cell protection: no count of fewer than ``min_cell_users`` users is ever shown.

:func:`protect_tables` runs once on every breakdown of a period, in
:func:`review.metrics.period.compute_period`, so the tables the report, the charts, the
findings and ``metrics.json`` see are already safe. A masked value is ``NaN`` (shown as "—")
and its row gets ``suppressed = True`` (the tables mark it with † and the small-cell note).

What is masked (``k`` = ``min_cell_users``; a count of 0 is shown: it names nobody)
----------------------------------------------------------------------------------------
1. **Primary**: a user count ``0 < n < k``.
2. **Complement**: a part shown with its whole lets a reader subtract: 13 assigned and 12
   converted tell that 1 did not convert. A part is masked when ``0 < whole - part < k``, and
   every part of a masked whole is masked.
3. **Chains**: nested counts in row order (funnel steps): a step is masked when it is fewer
   than ``k`` below the step before it (the drop-off is a count of users too).
4. **Cumulative** columns (a registered base next to monthly new users): from the first row
   whose flow is masked onward, the cumulative column is masked too (differences of the
   running total would give the flow back).
5. **Secondary**: in an additive breakdown (channels, regions, segments… that add up to a
   total shown elsewhere, or carry shares), a group with exactly one masked cell in a count
   column gets its next smallest cell masked too, so that the total minus the rest does not
   give it back.
6. **Derived** values (rates, shares, lifts, per-user amounts) are masked with the counts
   they are computed from.
7. **Headline KPIs** (:func:`protect_kpis`): a KPI counting users, or a ratio of user counts,
   whose figures show (or give back) fewer than ``k`` users loses its value, status and
   change; a comparison-period value that would loses that value and the change.

Tables declare their user-count columns in :data:`SPECS` (``"<family>.<breakdown>"``; a
comparison copy ``…@compare`` uses its table's spec). A table without a spec is still
protected: every column named like a user count (:data:`DEFAULT_USER_COUNTS`) is checked,
and a row with a masked count has all its numeric columns masked. Declaring a spec keeps
more of a table visible and adds the complement, chain and secondary rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from review.metrics.common import Measure
from review.metrics.result import KpiValue


@dataclass(frozen=True)
class Protect:
    """How one breakdown's user counts are protected (see the module docstring).

    ``counts``: columns that count users. ``parts``: ``{part: whole}`` (a subset's count and
    the count it is a subset of, both in ``counts``). ``derived``: ``{column: (counts…)}``,
    masked when any of those counts is. ``chain``: a count column whose rows are nested in
    order of ``chain_order`` within ``groups``. ``cumulative``: ``{running total: flow}``
    over rows in ``chain_order``. ``additive``: the rows of a group (``groups``; all rows
    when empty) add up to a total, so secondary suppression applies.
    """

    counts: tuple[str, ...]
    parts: Mapping[str, str] = field(default_factory=dict)
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    chain: str | None = None
    chain_order: str | None = None
    cumulative: Mapping[str, str] = field(default_factory=dict)
    additive: bool = False
    groups: tuple[str, ...] = ()


#: Column names that count users, checked in tables without a :class:`Protect` spec.
DEFAULT_USER_COUNTS: frozenset[str] = frozenset({
    "users", "new_users", "active_users", "registered", "cohort_users", "retained_users",
    "eligible_users", "excluded_users", "assigned", "reached", "converted", "conversions",
    "treated_users", "control_users", "control_conversions", "cell_users", "mobile_users",
    "eligible", "dormant_at_start", "reactivated", "dau", "participants", "responders",
    "treated", "control", "holdout_users",
    # the campaigns family's names (participants in P and to date, 人 and 人次)
    "users_period", "users_to_date", "control_period", "control_to_date",
    "cohort_conversions", "conversions_period", "conversions_to_date", "people_period",
    "people_to_date", "person_campaigns_period", "person_campaigns_to_date",
    "control_people_period",
})

_SHARE = ("share",)

#: The declared breakdowns (``"<family>.<breakdown>"``).
SPECS: dict[str, Protect] = {
    "acquisition.new_by_channel": Protect(("new_users",), derived={"share": ("new_users",)},
                                          additive=True),
    "acquisition.new_by_region": Protect(("new_users",), derived={"share": ("new_users",)},
                                         additive=True),
    "acquisition.new_by_city_tier": Protect(("new_users",), derived={"share": ("new_users",)},
                                            additive=True),
    "acquisition.base_by_segment": Protect(("users",), derived={"share": ("users",)},
                                           additive=True),
    "acquisition.base_by_age_band": Protect(("users",), derived={"share": ("users",)},
                                            additive=True),
    "acquisition.trend": Protect(("new_users",), chain_order="month",
                                 cumulative={"registered_base": "new_users"}),
    "activity.dau": Protect(("dau",)),
    "activity.logins_by_platform": Protect(("users",)),
    "activity.feature_usage_by_segment": Protect(
        ("users", "active_users"), parts={"active_users": "users"},
        derived={"usage_rate": ("active_users",)}),
    "activity.trend": Protect(("active_users",), derived={
        "mau_ratio": ("active_users",), "active_user_days": ("active_users",),
        "logins_per_active_day": ("active_users",), "stickiness": ("active_users",)}),
    "retention.cohorts": Protect(("cohort_users", "retained_users"),
                                 parts={"retained_users": "cohort_users"},
                                 derived={"retention": ("retained_users",)}),
    "retention.day_n": Protect(
        ("new_users", "eligible_users", "excluded_users", "retained_users"),
        parts={"eligible_users": "new_users", "excluded_users": "new_users",
               "retained_users": "eligible_users"},
        derived={"retention": ("retained_users",)}),
    "retention.by_channel": Protect(
        ("new_users", "eligible_users", "excluded_users", "retained_users"),
        parts={"eligible_users": "new_users", "excluded_users": "new_users",
               "retained_users": "eligible_users"},
        derived={"retention": ("retained_users",)}),
    "funnel.steps": Protect(("users",), chain="users", chain_order="step_no", derived={
        "step_conversion": ("users",), "cumulative_conversion": ("users",),
        "median_hours": ("users",)}),
    "funnel.by_channel": Protect(("users",), chain="users", chain_order="step_no",
                                 groups=("acquisition_channel",), derived={
        "step_conversion": ("users",), "cumulative_conversion": ("users",),
        "median_hours": ("users",)}),
    "lifecycle.states": Protect(("users",), derived={"share": ("users",)}, additive=True),
    "lifecycle.trend": Protect(("dormant_at_start", "reactivated"),
                               parts={"reactivated": "dormant_at_start"},
                               derived={"reactivation_rate": ("reactivated",)}),
    "value.channel_preference_by_age": Protect(
        ("users", "mobile_users"), parts={"mobile_users": "users"},
        derived={"mobile_user_share": ("mobile_users",), "transactions": ("users",),
                 "mobile_transactions": ("users",), "mobile_share": ("users",)}),
    "value.hnw_conversion": Protect(("eligible", "converted"), parts={"converted": "eligible"},
                                    derived={"rate": ("converted",)}),
    "budget.cac": Protect(("new_users",), derived={
        "cac": ("new_users",), "vs_median": ("new_users",)}),
    "budget.ltv_cac": Protect(("new_users",), derived={
        "cac": ("new_users",), "ltv_cac": ("new_users",)}),
    "budget.ltv": Protect(("cohort_users",), derived={
        "retention_last": ("cohort_users",), "decay": ("cohort_users",),
        "margin_per_active_month": ("cohort_users",), "ltv": ("cohort_users",)}),
    "budget.campaign_roi": Protect(("treated_users", "control_users", "cell_users"), derived={
        "treated_margin_per_user": ("treated_users", "control_users"),
        "control_margin_per_user": ("treated_users", "control_users"),
        "incremental_margin": ("treated_users", "control_users"),
        "roi": ("treated_users", "control_users")}),
    "budget.campaign_reach": Protect(
        ("assigned", "reached", "converted"),
        parts={"reached": "assigned", "converted": "assigned"},
        derived={"reach_rate": ("reached",), "conversion_rate": ("converted",)}),
    "budget.campaign_reach_by_touch": Protect(
        ("assigned", "reached", "converted"),
        parts={"reached": "assigned", "converted": "assigned"},
        derived={"reach_rate": ("reached",), "conversion_rate": ("converted",)},
        additive=True, groups=("campaign_id",)),
    "risk.biometric_by_age": Protect(("users",), derived={
        "logins": ("users",), "biometric_logins": ("users",), "biometric_share": ("users",)}),
    "market.penetration_by_region": Protect(("registered",),
                                            derived={"penetration": ("registered",)},
                                            additive=True),
    "market.penetration_by_tier": Protect(("registered",),
                                          derived={"penetration": ("registered",)},
                                          additive=True),
    "experiments.counts": Protect(
        ("users", "reached", "conversions"),
        parts={"reached": "users", "conversions": "users"},
        derived={"reach_rate": ("reached",), "rate": ("conversions",)},
        additive=True, groups=("campaign_id",)),
    "experiments.readout": Protect(
        ("users", "conversions", "control_users", "control_conversions"),
        parts={"conversions": "users", "control_conversions": "control_users"},
        derived={c: ("conversions", "control_conversions") for c in (
            "rate", "control_rate", "abs_lift", "abs_lo", "abs_hi", "rel_lift", "rel_lo",
            "rel_hi", "p_value", "p_holm")}),
}


def _campaign_cells(groups: tuple[str, ...], additive: bool) -> Protect:
    """Campaign cells (a campaign, a variant, a touch channel): participants in P and to date,
    conversions, and the rates and estimates computed from them."""
    return Protect(
        ("users_period", "users_to_date", "control_period", "control_to_date",
         "cohort_conversions", "conversions_period", "conversions_to_date"),
        parts={"cohort_conversions": "users_period", "conversions_to_date": "users_to_date",
               "conversions_period": "users_to_date"},
        derived={"participation_rate": ("users_period",),
                 "cohort_rate": ("cohort_conversions",),
                 "control_cohort_rate": ("control_period",),
                 **{c: ("cohort_conversions", "control_period") for c in (
                     "incremental_conversions", "incremental_lo", "incremental_hi")}},
        additive=additive, groups=groups)


SPECS.update({
    "campaigns.summary": _campaign_cells((), False),
    "campaigns.by_variant": _campaign_cells(("campaign_id",), True),
    "campaigns.by_touch": _campaign_cells(("campaign_id", "variant"), True),
    "campaigns.trend": Protect(("participants", "conversions")),
    "campaigns.coverage": Protect(("people_period", "person_campaigns_period", "people_to_date",
                                   "person_campaigns_to_date", "control_people_period")),
})


def spec_for(name: str, df: pd.DataFrame) -> Protect | None:
    """The spec of breakdown ``name`` (``…@compare`` uses its table's), else a default one
    over the columns named like user counts (``None`` when there are none)."""
    spec = SPECS.get(name.split("@", 1)[0])
    if spec is not None:
        return spec
    counts = tuple(c for c in df.columns if c in DEFAULT_USER_COUNTS
                   and pd.api.types.is_numeric_dtype(df[c]))
    if not counts:
        return None
    numeric = [c for c in df.columns if c not in counts and c != "suppressed"
               and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    return Protect(counts, derived={c: counts for c in numeric})


def _small(values: pd.Series, k: int) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    return (v > 0) & (v < k)


def protect(df: pd.DataFrame, spec: Protect, k: int) -> pd.DataFrame:
    """A copy of ``df`` with every disclosive count (and what derives from it) masked.

    The rules are those of the module docstring; rows with a masked value get
    ``suppressed = True`` (an existing ``suppressed`` flag is kept).
    """
    out = df.copy()
    if out.empty:
        return out
    counts = [c for c in spec.counts if c in out.columns]
    mask = pd.DataFrame(False, index=out.index, columns=counts)
    num = {c: pd.to_numeric(out[c], errors="coerce").astype("float64") for c in counts}
    already = out[counts].isna() if counts else mask  # masked upstream (suppress_small_cells)
    for c in counts:
        mask[c] = _small(num[c], k) | already[c]

    def spread() -> None:
        """Parts of a masked whole are masked; a part close to its whole is masked."""
        for part, whole in spec.parts.items():
            if part in mask and whole in mask:
                gap = num[whole] - num[part]
                mask[part] |= mask[whole] | ((gap > 0) & (gap < k))

    spread()
    if spec.chain and spec.chain in mask:
        for _, idx in _ordered_groups(out, spec):
            prev = None
            for i in idx:
                if prev is not None:
                    gap = num[spec.chain][prev] - num[spec.chain][i]
                    if 0 < gap < k:
                        mask.loc[i, spec.chain] = True
                prev = i
    if spec.additive:
        for _, idx in _groups(out, spec):
            for c in counts:
                masked = [i for i in idx if mask.loc[i, c]]
                if len(masked) != 1:
                    continue
                others = [i for i in idx if not mask.loc[i, c] and num[c][i] > 0]
                if others:
                    mask.loc[min(others, key=lambda i: (num[c][i], str(i))), c] = True
        spread()
    for c in counts:
        out[c] = num[c].where(~mask[c])
    masked_any = mask.any(axis=1) if counts else pd.Series(False, index=out.index)
    for col, deps in spec.derived.items():
        if col not in out.columns:
            continue
        hit = np.zeros(len(out), dtype=bool)
        for d in deps:
            if d in mask:
                hit |= mask[d].to_numpy()
        if hit.any():
            series = out[col]
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                out[col] = series.astype("float64").where(~hit)
            else:
                out[col] = series.astype(object).where(~hit, None)
    for cum, flow in spec.cumulative.items():
        if cum in out.columns and flow in mask:
            order = out.sort_values(spec.chain_order).index if spec.chain_order else out.index
            flagged = mask[flow].reindex(order).cumsum() > 0  # from the first masked flow on
            hit = flagged.reindex(out.index).to_numpy()
            out[cum] = pd.to_numeric(out[cum], errors="coerce").astype("float64").where(~hit)
            masked_any |= hit
    before = out["suppressed"].fillna(False).astype(bool) if "suppressed" in out else False
    out["suppressed"] = (masked_any | before).to_numpy() if counts else before
    return out


def _groups(df: pd.DataFrame, spec: Protect):
    keys = [g for g in spec.groups if g in df.columns]
    if not keys:
        yield None, list(df.index)
        return
    for key, part in df.groupby(keys, sort=False, dropna=False):
        yield key, list(part.index)


def _ordered_groups(df: pd.DataFrame, spec: Protect):
    ordered = df.sort_values(spec.chain_order) if spec.chain_order in df.columns else df
    yield from _groups(ordered, spec)


def protect_tables(tables: Mapping[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
    """Every breakdown of a period with :func:`protect` applied (tables without user counts
    are returned as they are)."""
    out = {}
    for name, df in tables.items():
        spec = spec_for(name, df) if isinstance(df, pd.DataFrame) else None
        out[name] = protect(df, spec, k) if spec is not None else df
    return out


# -- headline KPIs ------------------------------------------------------------------------------
#: Headline KPIs whose value is a count of users.
USER_COUNT_KPIS: frozenset[str] = frozenset({
    "new_users", "registered_base", "active_users", "hnw_conversions",
    "campaign_participants", "campaign_conversions",
})
#: Headline ratios whose numerator counts users: ``{key: the denominator counts users too}``
#: (then the complement, denominator − numerator, is checked as well).
USER_RATIO_KPIS: dict[str, bool] = {
    "mau_ratio": True, "d7_retention": True, "funnel_conversion": True,
    "reactivation_rate": True, "hnw_conversion_rate": True,
    "penetration_key": False, "penetration_lower": False, "campaign_conversion_rate": True,
}


def _small_number(v: float | None, k: int) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and 0 < v < k


def _discloses(key: str, value: float | None, numerator: float | None,
               denominator: float | None, k: int) -> bool:
    """Whether a KPI's figures would show (or give back) a count of fewer than ``k`` users."""
    if key in USER_COUNT_KPIS:
        return _small_number(value, k)
    if key in USER_RATIO_KPIS:
        if _small_number(numerator, k):
            return True
        if USER_RATIO_KPIS[key] and numerator is not None and denominator is not None:
            return _small_number(denominator - numerator, k)
    return False


def protect_kpis(kpis: Mapping[str, KpiValue], previous: Mapping[str, Measure], k: int
                 ) -> dict[str, KpiValue]:
    """The headline KPIs with every figure that shows a small count of users masked.

    A KPI whose period value discloses one (:data:`USER_COUNT_KPIS`, :data:`USER_RATIO_KPIS`)
    loses its value, counts, attainment, status and change, with a note saying why; one whose
    comparison-period value does loses that value and the change (value − change would give
    it back).
    """
    out = {}
    for key, kv in kpis.items():
        if _discloses(key, kv.value, kv.numerator, kv.denominator, k):
            kv = replace(kv, value=math.nan, numerator=None, denominator=None, attainment=None,
                         rag=None, change_abs=None, change_rel=None,
                         note=f"fewer than {k} users: not shown")
        prev = previous.get(key)
        if prev is not None and _discloses(key, prev.value, prev.numerator, prev.denominator, k):
            kv = replace(kv, compare_value=None, change_abs=None, change_rel=None)
        out[key] = kv
    return out

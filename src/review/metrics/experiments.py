"""Experiments: per-campaign A/B(/n) readouts of the campaigns in scope.

Definitions (P = the window ``[start, end]``, timestamps in the bank's local time)
-------------------------------------------------------------------------------
* **campaigns in scope** — the params' ``campaigns`` whose ``[start, end]`` (campaign dates,
  inclusive) overlaps P: ``campaign.start ≤ P.end`` and ``campaign.end ≥ P.start``.
* **assigned users** — distinct users of ``assignments`` for the campaign and variant with
  ``assigned_at < P.end + 1 day 00:00`` (assigned by the end of P). A readout is cumulative
  from the campaign's start to P's end, so a campaign spanning two periods is read out with
  everything known at each period's end.
* **reached** — assigned users with ``reached`` true.
* **conversion** — an assigned user whose ``converted_at`` is not null and
  ``converted_at < P.end + 1 day 00:00`` (converted by the end of P; a conversion at
  23:59:59 on P's last day counts, one at 00:00 the next day does not). Conversions are
  counted intention-to-treat: over every assigned user, reached or not, so that the control
  (never contacted) and the treatments are compared on the same footing. ``converted_at`` is
  taken as recorded, not re-checked against ``assigned_at`` or the campaign's dates: such
  inconsistencies are a data-validation matter and are not silently dropped here.
* **readout** — cumulative to P's end (labelled "to date" in the report): per variant
  against ``control``: rate = conversions ÷ assigned users,
  absolute and relative lift with 95 % intervals, pooled two-proportion p-value, Holm
  adjustment across the variants of a campaign, and the sample-ratio-mismatch (SRM)
  chi-square check of assigned users against the planned split (params
  ``campaigns[].planned_split``; an equal split over the variants present when it is not
  given). Formulas: :mod:`review.stats`.

Headline KPIs: none (``headline`` returns ``{}``); the readout feeds the evaluation section
and the findings ("a variant significantly better or worse").

Breakdown tables (``breakdowns`` keys; stored as ``experiments.<name>``)
-----------------------------------------------------------------------
``counts``
    One row per campaign in scope × variant (control first): ``campaign_id``, ``variant``,
    ``users`` (assigned, count), ``reached`` (count), ``conversions`` (count), ``reach_rate``
    (reached ÷ users, 0–1), ``rate`` (conversions ÷ users, 0–1), ``suppressed`` (bool).
    Cells with fewer than ``min_cell_users`` assigned users are masked (NaN).
``readout``
    One row per campaign × non-control variant, for every campaign in scope with a
    ``control`` and at least one other variant: ``campaign_id`` and the columns of
    :data:`review.stats.READOUT_COLUMNS` — ``users``, ``conversions``, ``rate``,
    ``control_users``, ``control_conversions``, ``control_rate`` (counts and shares 0–1);
    ``abs_lift``, ``abs_lo``, ``abs_hi`` (difference of rates, 0–1 scale, 95 % interval);
    ``rel_lift``, ``rel_lo``, ``rel_hi`` (rate ratio − 1, e.g. 0.2 = +20 %); ``p_value``,
    ``p_holm``; ``significant`` (``p_holm < 0.05``); ``direction``
    (``"better"``/``"worse"``/``"none"``); ``srm_chi2``, ``srm_p``, ``srm_flag`` (SRM
    p below ``thresholds.srm_alert``), ``srm_status`` (``"red"`` below ``srm_alert``,
    ``"amber"`` below ``srm_warn``, else ``"ok"``), repeated on each row of the campaign and
    ``srm_status`` never masked (the split check concerns the whole campaign); ``note``; ``suppressed``
    (bool). A row whose variant or control has fewer than ``min_cell_users`` users is masked
    (numbers NaN, ``significant`` false, ``direction`` "none").

Both tables are empty (with these columns) when no campaign in scope overlaps P.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ibis
import pandas as pd

from review.config import Params
from review.metrics.common import Measure, Window, execute, ratio_column, suppress_small_cells
from review.stats import READOUT_COLUMNS, experiment_readout

REQUIRES: tuple[str, ...] = ("campaigns", "assignments")

CONTROL = "control"
COUNT_COLUMNS: tuple[str, ...] = (
    "campaign_id", "variant", "users", "reached", "conversions", "reach_rate", "rate",
)


def campaigns_in_scope(campaigns: ibis.Table, w: Window,
                       campaign_ids: Iterable[str]) -> ibis.Table:
    """The campaigns of ``campaign_ids`` whose dates overlap ``w`` (an Ibis expression).

    Overlap: ``campaign.start ≤ w.end`` and ``campaign.end ≥ w.start`` (dates, inclusive).
    """
    ids = list(campaign_ids)
    return campaigns.filter(
        campaigns.campaign_id.isin(ids),
        campaigns["start"] <= ibis.literal(w.end),
        campaigns["end"] >= ibis.literal(w.start),
    )


def experiment_counts(assignments: ibis.Table, campaigns: ibis.Table, w: Window,
                      campaign_ids: Iterable[str]) -> pd.DataFrame:
    """Users assigned, reached and converted per campaign in scope and variant, by P's end.

    One grouped scan of ``assignments`` (semi-joined to the campaigns in scope, see
    :func:`campaigns_in_scope`).

    Parameters
    ----------
    assignments, campaigns
        Contract tables.
    w
        The period P; only its end matters for the counts (cumulative readout), its dates
        select the overlapping campaigns.
    campaign_ids
        The params' campaigns in scope.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COUNT_COLUMNS`: ``users`` = distinct users assigned before
        ``w.end + 1 day``; ``reached`` = those with ``reached`` true; ``conversions`` =
        those with ``converted_at`` not null and before ``w.end + 1 day`` (all counts of
        users); ``reach_rate`` = reached ÷ users and ``rate`` = conversions ÷ users (shares,
        NaN when there are no users). Sorted by campaign, control first, then variant.
    """
    hi = ibis.literal(w.ts_hi)
    scope = campaigns_in_scope(campaigns, w, campaign_ids).select("campaign_id")
    a = assignments.filter(assignments.assigned_at < hi).semi_join(scope, "campaign_id")
    converted = a.converted_at.notnull() & (a.converted_at < hi)
    expr = a.group_by(["campaign_id", "variant"]).aggregate(
        users=a.user_id.nunique(),
        reached=a.user_id.nunique(where=a.reached),
        conversions=a.user_id.nunique(where=converted),
    )
    df = execute(expr)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.endswith("rate") else
                                          "int64" if c in ("users", "reached", "conversions")
                                          else "str") for c in COUNT_COLUMNS})
    df = df.assign(
        campaign_id=df["campaign_id"].astype("str"),
        variant=df["variant"].astype("str"),
        reach_rate=ratio_column(df["reached"], df["users"]),
        rate=ratio_column(df["conversions"], df["users"]),
        _order=(df["variant"] != CONTROL).astype("int64"),
    )
    df = df.sort_values(["campaign_id", "_order", "variant"]).drop(columns="_order")
    return df[list(COUNT_COLUMNS)].reset_index(drop=True)


def srm_status(p_value: float, *, warn: float, alert: float) -> str:
    """``"red"`` when the sample-ratio p-value is below ``alert``, ``"amber"`` below ``warn``,
    else ``"ok"`` (also when it is unknown)."""
    if p_value is None or p_value != p_value:
        return "ok"
    return "red" if p_value < alert else "amber" if p_value < warn else "ok"


def readouts(counts: pd.DataFrame, planned_splits: Mapping[str, Mapping[str, float] | None],
             *, min_cell_users: int, srm_warn: float = 0.01,
             srm_alert: float = 0.001) -> pd.DataFrame:
    """Experiment readout of every campaign with a control and at least one other variant.

    Parameters
    ----------
    counts
        :func:`experiment_counts` output (unsuppressed).
    planned_splits
        campaign id → planned split (variant → share), or ``None`` for an equal split.
    min_cell_users
        Rows whose variant or control has fewer users are masked (see module docstring).

    Returns
    -------
    pandas.DataFrame
        ``campaign_id`` and :data:`review.stats.READOUT_COLUMNS`, plus ``suppressed``.
    """
    parts = []
    for cid, g in counts.groupby("campaign_id", sort=True):
        variants = set(g["variant"])
        if CONTROL not in variants or len(variants) < 2:
            continue
        parts.append(experiment_readout(g[["campaign_id", "variant", "users", "conversions"]],
                                        control=CONTROL, planned_split=planned_splits.get(cid),
                                        srm_alpha=srm_alert))
    if not parts:
        empty = experiment_readout(pd.DataFrame(
            {"campaign_id": pd.Series(dtype="str"), "variant": pd.Series(dtype="str"),
             "users": pd.Series(dtype="int64"), "conversions": pd.Series(dtype="int64")}))
        return empty.assign(srm_status=pd.Series(dtype="str"),
                            suppressed=pd.Series(dtype="bool"))
    out = pd.concat(parts, ignore_index=True)
    # the SRM status concerns the whole campaign's split: kept when a cell is masked (its
    # χ² and p are masked with the cell, as they would reveal the small count)
    out["srm_status"] = [srm_status(v, warn=srm_warn, alert=srm_alert) for v in out["srm_p"]]
    out = out.assign(_cell=out[["users", "control_users"]].min(axis=1))
    value_cols = [c for c in out.columns
                  if c not in ("campaign_id", "variant", "significant", "direction",
                               "srm_flag", "srm_status", "note")]
    out = suppress_small_cells(out, "_cell", min_cell_users, value_cols=value_cols)
    small = out["suppressed"]
    out["significant"] = out["significant"] & ~small
    out["direction"] = out["direction"].where(~small, "none")
    return out.drop(columns="_cell")


def headline(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, Measure]:
    """No headline KPI: experiments are reported as tables (see :func:`breakdowns`)."""
    return {}


def breakdowns(t: Mapping[str, ibis.Table], w: Window, p: Params) -> dict[str, pd.DataFrame]:
    """``counts`` and ``readout`` of the campaigns in scope (see the module docstring).

    Omitted (empty dict) when the source lacks ``campaigns`` or ``assignments``.
    """
    if any(name not in t for name in REQUIRES):
        return {}
    ids = [c.id for c in p.campaigns]
    counts = experiment_counts(t["assignments"], t["campaigns"], w, ids)
    splits = {c.id: c.planned_split for c in p.campaigns}
    k = p.thresholds.min_cell_users
    return {
        "counts": suppress_small_cells(counts, "users", k,
                                       value_cols=["users", "reached", "conversions",
                                                   "reach_rate", "rate"]),
        "readout": readouts(counts, splits, min_cell_users=k,
                            srm_warn=p.thresholds.srm_warn, srm_alert=p.thresholds.srm_alert),
    }


__all__ = [
    "COUNT_COLUMNS", "READOUT_COLUMNS", "REQUIRES", "breakdowns", "campaigns_in_scope",
    "experiment_counts", "headline", "readouts", "srm_status",
]

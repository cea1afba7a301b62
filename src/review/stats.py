"""Statistics on counts: NPS interval, experiment readouts, period change, RAG, control limits.

Every function here is pure and works on small numbers the engine has already aggregated
(users, conversions, survey answers per group). Formulas and units are in each docstring;
where a maintained library implements the same test the docstring names it, and the tests
check that the results agree (statsmodels ``proportions_ztest``,
``confint_proportions_2indep``, ``multipletests``; scipy ``chisquare``).

Conventions
-----------
* Rates are shares in [0, 1]; lifts are in the same unit (absolute lift = difference of two
  rates; relative lift = ratio − 1, e.g. 0.25 for +25 %). NPS is in points in [−100, 100].
* ``confidence`` is two-sided: ``z = Φ⁻¹(0.5 + confidence / 2)`` (1.96 for 0.95).
* A quantity that cannot be computed (no users, a zero control rate) is ``NaN`` with a
  ``note`` saying why, never an exception and never a silent 0.
* Impossible inputs (negative counts, more conversions than users) raise
  :class:`~review.errors.ReviewError`; a planned split that does not match the observed
  variants raises :class:`~review.errors.ParamsError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri
from scipy.stats import chi2 as _chi2

from review.errors import ParamsError, ReviewError

__all__ = [
    "READOUT_COLUMNS",
    "change",
    "control_limits",
    "experiment_readout",
    "holm",
    "lift",
    "nps_interval",
    "rag_status",
    "srm_check",
    "two_proportion_test",
]


def _z(confidence: float) -> float:
    """Two-sided normal quantile: ``z`` with ``P(|Z| ≤ z) = confidence``."""
    if not 0 < confidence < 1:
        raise ReviewError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return float(ndtri(0.5 + confidence / 2))


def _check_counts(x: float, n: float, what: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise ReviewError(
            f"{what}: need 0 ≤ conversions ≤ users, got conversions={x}, users={n}; "
            "check the aggregation that produced these counts"
        )


def _isnan(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


# -- NPS --------------------------------------------------------------------------------------
def nps_interval(promoters: int, passives: int, detractors: int, *,
                 confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Net Promoter Score with a Wald interval from the multinomial variance.

    With ``n = P + S + D`` answers (promoters 9–10, passives 7–8, detractors 0–6) and the
    shares ``p_P = P/n``, ``p_D = D/n``::

        NPS = 100 · (p_P − p_D)                          points, in [−100, 100]
        var = (p_P + p_D − (p_P − p_D)²) / n             variance of p_P − p_D
        se  = 100 · sqrt(var)                            points
        lo, hi = NPS ∓ z · se                            clipped to [−100, 100]

    Parameters
    ----------
    promoters, passives, detractors
        Numbers of answers in each group (≥ 0).
    confidence
        Two-sided confidence level of the interval.

    Returns
    -------
    (nps, se, lo, hi)
        NPS, its standard error and the interval bounds, all in NPS points; all ``NaN``
        when ``n = 0``.
    """
    counts = (promoters, passives, detractors)
    if any(c < 0 for c in counts):
        raise ReviewError(f"NPS counts must be ≥ 0, got promoters/passives/detractors={counts}")
    z = _z(confidence)
    n = promoters + passives + detractors
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    p_p, p_d = promoters / n, detractors / n
    nps = 100.0 * (p_p - p_d)
    var = max(p_p + p_d - (p_p - p_d) ** 2, 0.0) / n
    se = 100.0 * math.sqrt(var)
    return nps, se, max(nps - z * se, -100.0), min(nps + z * se, 100.0)


# -- two proportions --------------------------------------------------------------------------
def two_proportion_test(x1: int, n1: int, x0: int, n0: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``p1 = p0``.

    ``p1 = x1/n1`` (treatment), ``p0 = x0/n0`` (control), pooled ``p = (x1 + x0)/(n1 + n0)``::

        z = (p1 − p0) / sqrt(p (1 − p) (1/n1 + 1/n0)),    p-value = 2 · Φ(−|z|)

    the same as ``statsmodels.stats.proportion.proportions_ztest([x1, x0], [n1, n0])``.
    When the pooled variance is 0 (no conversions at all, or every user converted in both
    groups) the two rates are equal and the p-value is 1.0 (statsmodels gives ``NaN``).
    ``NaN`` when either group has no users.
    """
    _check_counts(x1, n1, "two_proportion_test treatment")
    _check_counts(x0, n0, "two_proportion_test control")
    if n1 == 0 or n0 == 0:
        return math.nan
    p1, p0 = x1 / n1, x0 / n0
    pooled = (x1 + x0) / (n1 + n0)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    if var == 0:
        return 1.0
    z = (p1 - p0) / math.sqrt(var)
    return float(2 * ndtr(-abs(z)))


def lift(x1: int, n1: int, x0: int, n0: int, *, confidence: float = 0.95) -> dict[str, Any]:
    """Absolute and relative lift of a treatment rate over a control rate, with intervals.

    With ``p1 = x1/n1`` (treatment), ``p0 = x0/n0`` (control) and
    ``z = Φ⁻¹(0.5 + confidence/2)``:

    * absolute lift ``p1 − p0`` (a difference of shares), unpooled Wald interval::

          se_abs = sqrt(p1 (1 − p1)/n1 + p0 (1 − p0)/n0)
          abs_lo, abs_hi = (p1 − p0) ∓ z · se_abs,   clipped to [−1, 1]

      (= ``confint_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")``
      wherever that lies inside [−1, 1]);
    * relative lift ``R − 1`` with ``R = p1/p0`` (0.10 = +10 %), delta-method interval on
      the ratio scale (first-order Taylor expansion of ``p1/p0``)::

          var(R) ≈ [p1 (1 − p1)/n1 + R² · p0 (1 − p0)/n0] / p0²
          rel_lo, rel_hi = (R − 1) ∓ z · sqrt(var(R)),   rel_lo clipped at −1

      (a rate cannot fall below 0, so the relative lift cannot fall below −1; with few
      control conversions the delta method is crude and the interval is wide).

    Returns
    -------
    dict
        ``rate`` (p1), ``control_rate`` (p0), ``abs_lift``, ``abs_lo``, ``abs_hi``,
        ``rel_lift``, ``rel_lo``, ``rel_hi`` and ``note`` (``None`` when everything could be
        computed). ``n1 = 0`` or ``n0 = 0`` → all lifts ``NaN``; ``p0 = 0`` → relative lift
        ``NaN`` (the absolute lift is still given).
    """
    _check_counts(x1, n1, "lift treatment")
    _check_counts(x0, n0, "lift control")
    z = _z(confidence)
    nan = math.nan
    out: dict[str, Any] = {
        "rate": x1 / n1 if n1 else nan, "control_rate": x0 / n0 if n0 else nan,
        "abs_lift": nan, "abs_lo": nan, "abs_hi": nan,
        "rel_lift": nan, "rel_lo": nan, "rel_hi": nan, "note": None,
    }
    if n1 == 0 or n0 == 0:
        out["note"] = "no users in the " + ("treatment" if n1 == 0 else "control") + " group"
        return out
    p1, p0 = x1 / n1, x0 / n0
    se_abs = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    d = p1 - p0
    out.update(abs_lift=d, abs_lo=max(d - z * se_abs, -1.0), abs_hi=min(d + z * se_abs, 1.0))
    if p0 == 0:
        out["note"] = "control rate is 0: relative lift undefined"
        return out
    r = p1 / p0
    se_rel = math.sqrt(p1 * (1 - p1) / n1 + r * r * p0 * (1 - p0) / n0) / p0
    out.update(rel_lift=r - 1, rel_lo=max(r - 1 - z * se_rel, -1.0), rel_hi=r - 1 + z * se_rel)
    return out


def holm(pvalues: Sequence[float] | ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control), in the input order.

    Sort the ``m`` p-values ascending, ``p(1) ≤ … ≤ p(m)``; then::

        p_holm(i) = max over j ≤ i of min(1, (m − j + 1) · p(j))

    the same as ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``. ``NaN``
    p-values are left out of the family (``m`` counts only the others) and stay ``NaN``.
    """
    p = np.asarray(pvalues, dtype="float64").ravel()
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if q.size == 0:
        return out
    if np.any((q < 0) | (q > 1)):
        raise ReviewError(f"p-values must lie in [0, 1], got {q.tolist()}")
    m = q.size
    order = np.argsort(q, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * q[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    out[ok] = adjusted
    return out


def srm_check(observed: Mapping[str, int], planned: Mapping[str, float], *,
              alpha: float = 0.001) -> dict[str, Any]:
    """Sample-ratio-mismatch check: chi-square goodness of fit of users per variant.

    With ``N`` users in all, ``o_v`` observed in variant ``v`` and planned share ``s_v``
    (normalised to sum to 1), the expected count is ``e_v = N · s_v`` and::

        statistic = Σ_v (o_v − e_v)² / e_v,   df = k − 1,   p_value = P(χ²_df ≥ statistic)

    (= ``scipy.stats.chisquare(o, e)``). A planned variant with no users counts as 0
    observed. ``flagged`` is ``p_value < alpha``: the split differs from the plan more than
    chance explains, so assignment or logging is suspect and the readout should not be
    trusted. A strict ``alpha`` (default 0.001) is usual for this check.

    Returns
    -------
    dict
        ``statistic``, ``df``, ``p_value``, ``flagged`` (bool) and ``note``; ``NaN`` and not
        flagged when there are no users or fewer than two planned variants.

    Raises
    ------
    ParamsError
        When a variant with users is missing from ``planned`` or a share is negative.
    """
    extra = sorted(v for v, o in observed.items() if o > 0 and v not in planned)
    if extra:
        raise ParamsError(
            f"planned split {dict(planned)} lacks variant(s) {extra} seen in the assignments; "
            "list every variant under campaigns[].planned_split in the period YAML"
        )
    if any(s < 0 for s in planned.values()):
        raise ParamsError(f"planned split {dict(planned)} has a negative share")
    variants = [v for v in planned if planned[v] > 0 or observed.get(v, 0) > 0]
    obs = np.array([float(observed.get(v, 0)) for v in variants])
    if np.any(obs < 0):
        raise ReviewError(f"observed users per variant must be ≥ 0, got {dict(observed)}")
    shares = np.array([float(planned[v]) for v in variants])
    result: dict[str, Any] = {"statistic": math.nan, "df": max(len(variants) - 1, 0),
                              "p_value": math.nan, "flagged": False, "note": None}
    total = obs.sum()
    if total == 0 or len(variants) < 2:
        result["note"] = "no users" if total == 0 else "fewer than two planned variants"
        return result
    expected = total * shares / shares.sum()
    # a variant planned at 0 % that received users is an infinite mismatch
    zero = np.any(expected == 0)
    stat = math.inf if zero else float(np.sum((obs - expected) ** 2 / expected))
    p_value = float(_chi2.sf(stat, len(variants) - 1))
    result.update(statistic=stat, p_value=p_value, flagged=bool(p_value < alpha))
    return result


# -- experiment readout -----------------------------------------------------------------------
#: Columns of :func:`experiment_readout`'s result (``campaign_id`` first when given).
READOUT_COLUMNS: tuple[str, ...] = (
    "variant", "users", "conversions", "rate", "control_users", "control_conversions",
    "control_rate", "abs_lift", "abs_lo", "abs_hi", "rel_lift", "rel_lo", "rel_hi",
    "p_value", "p_holm", "significant", "direction", "srm_chi2", "srm_p", "srm_flag", "note",
)


def experiment_readout(counts: pd.DataFrame, *, control: str = "control",
                       planned_split: Mapping[str, float] | None = None,
                       confidence: float = 0.95, alpha: float = 0.05,
                       srm_alpha: float = 0.001) -> pd.DataFrame:
    """Readout of an A/B(/n) test: every variant against the control.

    Parameters
    ----------
    counts
        One row per variant: ``variant``, ``users`` (assigned), ``conversions``; with a
        ``campaign_id`` column, one readout per campaign. Not modified.
    control
        Name of the control variant (must be present in every campaign).
    planned_split
        Variant → planned share for the sample-ratio check; ``None`` = equal split over the
        variants present. The same split is used for every campaign in ``counts``.
    confidence
        Two-sided level of the lift intervals.
    alpha
        Significance level applied to the Holm-adjusted p-values.
    srm_alpha
        Level of the sample-ratio-mismatch check (:func:`srm_check`).

    Returns
    -------
    pandas.DataFrame
        One row per non-control variant (per campaign), columns :data:`READOUT_COLUMNS`:
        ``users``, ``conversions``, ``rate`` = conversions ÷ users (share); ``control_*``
        the same for the control; ``abs_lift``/``abs_lo``/``abs_hi`` rate difference with
        its interval and ``rel_lift``/``rel_lo``/``rel_hi`` relative lift with its interval
        (see :func:`lift`); ``p_value`` pooled two-proportion z-test
        (:func:`two_proportion_test`); ``p_holm`` Holm-adjusted across the non-control
        variants of the same campaign (:func:`holm`); ``significant`` = ``p_holm < alpha``;
        ``direction`` ``"better"``/``"worse"`` (significant, by the sign of ``abs_lift``) or
        ``"none"``; ``srm_chi2``, ``srm_p``, ``srm_flag`` the campaign's sample-ratio check,
        repeated on each of its rows; ``note`` why something is ``NaN`` (else ``None``).

    Raises
    ------
    ReviewError
        When a column is missing, a variant appears twice, or the control is absent.
    ParamsError
        When ``planned_split`` lacks a variant that has users.
    """
    need = {"variant", "users", "conversions"}
    missing = sorted(need - set(counts.columns))
    if missing:
        raise ReviewError(
            f"experiment counts lack column(s) {missing}; expected one row per variant with "
            "columns variant, users, conversions (optionally campaign_id)"
        )
    by_campaign = "campaign_id" in counts.columns
    columns = (["campaign_id"] if by_campaign else []) + list(READOUT_COLUMNS)
    groups = counts.groupby("campaign_id", sort=True, dropna=False) if by_campaign \
        else [(None, counts)]
    rows: list[dict[str, Any]] = []
    for cid, g in groups:
        if g.empty:
            continue
        rows.extend(_readout_one(cid, g, control=control, planned_split=planned_split,
                                 confidence=confidence, alpha=alpha, srm_alpha=srm_alpha))
    out = pd.DataFrame(rows, columns=columns)
    for c in ("users", "conversions", "control_users", "control_conversions"):
        out[c] = out[c].astype("int64")
    for c in ("significant", "srm_flag"):
        out[c] = out[c].astype("bool")
    return out


def _readout_one(cid: Any, g: pd.DataFrame, *, control: str,
                 planned_split: Mapping[str, float] | None, confidence: float, alpha: float,
                 srm_alpha: float) -> list[dict[str, Any]]:
    where = "experiment counts" + (f" of campaign {cid!r}" if cid is not None else "")
    dup = g["variant"][g["variant"].duplicated()].tolist()
    if dup:
        raise ReviewError(f"{where}: variant(s) {dup} appear more than once; give one row each")
    users = dict(zip(g["variant"].astype(str), g["users"].astype("int64"), strict=True))
    convs = dict(zip(g["variant"].astype(str), g["conversions"].astype("int64"), strict=True))
    if control not in users:
        raise ReviewError(
            f"{where}: no {control!r} variant among {sorted(users)}; a readout compares every "
            "variant with the control"
        )
    split = planned_split if planned_split is not None else {v: 1.0 for v in users}
    try:
        srm = srm_check(users, split, alpha=srm_alpha)
    except ParamsError as exc:
        raise ParamsError(f"{where}: {exc}") from None
    n0, x0 = int(users[control]), int(convs[control])
    rows = []
    for v in users:
        if v == control:
            continue
        n1, x1 = int(users[v]), int(convs[v])
        lf = lift(x1, n1, x0, n0, confidence=confidence)
        row = {"campaign_id": cid, "variant": v, "users": n1, "conversions": x1,
               "rate": lf["rate"], "control_users": n0, "control_conversions": x0,
               "control_rate": lf["control_rate"],
               **{k: lf[k] for k in ("abs_lift", "abs_lo", "abs_hi",
                                     "rel_lift", "rel_lo", "rel_hi")},
               "p_value": two_proportion_test(x1, n1, x0, n0),
               "srm_chi2": srm["statistic"], "srm_p": srm["p_value"],
               "srm_flag": srm["flagged"], "note": lf["note"]}
        rows.append(row)
    adjusted = holm([r["p_value"] for r in rows])
    for r, ph in zip(rows, adjusted, strict=True):
        r["p_holm"] = float(ph)
        r["significant"] = bool(ph < alpha)  # NaN < alpha is False
        if r["significant"]:
            r["direction"] = "better" if r["abs_lift"] > 0 else "worse"
        else:
            r["direction"] = "none"
    return rows


# -- period-over-period and targets -----------------------------------------------------------
def change(value: float, compare: float) -> tuple[float, float]:
    """Period-over-period change of a KPI.

    ``absolute = value − compare`` (in the KPI's unit); ``relative = (value − compare) /
    |compare|`` (a share: 0.1 = +10 %; the absolute value keeps the sign meaningful for a
    negative ``compare`` such as an NPS of −5). Both ``NaN`` when either input is ``NaN``
    or ``None``; ``relative`` is ``NaN`` when ``compare`` is 0.
    """
    if _isnan(value) or _isnan(compare):
        return math.nan, math.nan
    absolute = float(value) - float(compare)
    relative = absolute / abs(float(compare)) if compare != 0 else math.nan
    return absolute, relative


def rag_status(value: float, target: float | None, direction: Literal["higher", "lower"], *,
               green: float = 1.0, amber: float = 0.9) -> tuple[float | None, str | None]:
    """Attainment of a target and its red/amber/green status.

    ``attainment = value / target`` when higher is better, ``target / value`` when lower is
    better (a value of 0 then meets any target: attainment ``inf``). Status ``"green"`` when
    attainment ≥ ``green``, ``"amber"`` when ≥ ``amber``, else ``"red"``.

    When a ratio has no meaning — higher is better with a target ≤ 0 (e.g. an NPS target
    of 0 or −10), lower is better with a negative value — attainment is ``None`` and the
    status is ``"green"`` if the value meets the target (≥ for higher, ≤ for lower), else
    ``"red"``. ``(None, None)`` when there is no target or the value is ``NaN``.
    """
    if direction not in ("higher", "lower"):
        raise ReviewError(f"direction must be 'higher' or 'lower', got {direction!r}")
    if _isnan(target) or _isnan(value):
        return None, None
    value, target = float(value), float(target)
    if direction == "higher":
        if target <= 0:
            return None, "green" if value >= target else "red"
        attainment = value / target
    else:
        if value < 0 or target < 0:
            return None, "green" if value <= target else "red"
        attainment = math.inf if value == 0 else target / value
    if attainment >= green:
        return attainment, "green"
    if attainment >= amber:
        return attainment, "amber"
    return attainment, "red"


# -- control charts ---------------------------------------------------------------------------
def control_limits(counts: Sequence[int] | ArrayLike, totals: Sequence[int] | ArrayLike, *,
                   baseline_rate: float | None = None, sigmas: float = 3.0) -> pd.DataFrame:
    """p-chart: each point's rate against limits around a centre rate.

    For point ``i`` with ``counts[i]`` events out of ``totals[i]`` (e.g. failed out of
    attempted transactions on day ``i``)::

        rate_i   = counts_i / totals_i                              (share)
        centre   = baseline_rate, or Σ counts / Σ totals when None
        sd_i     = sqrt(centre (1 − centre) / totals_i)
        lcl_i    = max(0, centre − sigmas · sd_i)
        ucl_i    = min(1, centre + sigmas · sd_i)
        flagged_i = rate_i > ucl_i or rate_i < lcl_i

    A point with ``totals_i = 0`` has ``NaN`` rate and limits and is not flagged.

    Returns
    -------
    pandas.DataFrame
        Columns ``count``, ``total``, ``rate``, ``centre``, ``lcl``, ``ucl``, ``flagged``;
        one row per point, keeping the index of ``counts`` when it is a pandas Series.
    """
    index = counts.index if isinstance(counts, pd.Series) else None
    x = np.asarray(counts, dtype="float64").ravel()
    n = np.asarray(totals, dtype="float64").ravel()
    if x.shape != n.shape:
        raise ReviewError(f"control_limits: {x.size} counts but {n.size} totals; give one each")
    if np.any(x < 0) or np.any(x > n):
        raise ReviewError("control_limits: need 0 ≤ counts ≤ totals at every point")
    if baseline_rate is not None and not 0 <= baseline_rate <= 1:
        raise ReviewError(f"control_limits: baseline_rate must lie in [0, 1], got {baseline_rate}")
    safe_n = np.where(n > 0, n, np.nan)
    rate = x / safe_n
    if baseline_rate is not None:
        centre = float(baseline_rate)
    else:
        centre = float(x.sum() / n.sum()) if n.sum() > 0 else math.nan
    sd = np.sqrt(centre * (1 - centre) / safe_n)
    lcl = np.maximum(0.0, centre - sigmas * sd)
    ucl = np.minimum(1.0, centre + sigmas * sd)
    with np.errstate(invalid="ignore"):
        flagged = (rate > ucl) | (rate < lcl)
    return pd.DataFrame({
        "count": x, "total": n, "rate": rate, "centre": np.full(x.shape, centre),
        "lcl": lcl, "ucl": ucl, "flagged": np.asarray(flagged, dtype=bool),
    }, index=index)

"""Typed, strict parameters of one campaign period: the single front door for configuration.

A period YAML (``params/<period>.yaml``) becomes one :class:`Params` object. Its top-level
keys are exactly the notebooks' papermill parameters, so the same file drives
``papermill nb.ipynb out.ipynb -f params/2026-09.yaml`` and ``review run``.

Rules
-----
* Unknown keys, wrong types and impossible values are :class:`~review.errors.ParamsError`
  naming the file and the key (``targets.mau_ratio.value``).
* Dates are ISO strings (``"2026-09-01"``). Unquoted YAML dates are accepted too: papermill
  turns them into strings anyway (papermill#345) and we parse both.
* Credentials appear only as ``${ENV_VAR}`` references inside ``source``; they are resolved
  at connect time (:func:`review.data.connect`) and never stored in ``Params``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from review.core.calendar import is_month_end, month_end, month_start
from review.core.validation import format_validation_error
from review.data.contract import SPEND_CATEGORIES
from review.errors import ParamsError
from review.kpis import KPI_CATALOG

Direction = Literal["higher", "lower"]


#: ``currency``: an ISO 4217-like code (``CNY``) or a short symbol (``¥``, ``US$``); it is
#: printed next to every amount, so no markup, spaces or long text.
CURRENCY_PATTERN = r"^(?:[A-Z]{3}|[A-Z]{0,2}[^\sA-Za-z0-9<>&\"'`=\\/\x00-\x1f\x7f]{1,2})$"


#: Names the outputs folder uses for itself (compared case-insensitively): a period id must not
#: be one of them, or its build would replace the index or the runner's own files. Ids
#: starting with "." are refused by the pattern of ``period``.
RESERVED_PERIOD_IDS = frozenset({
    "index.html", "index.htm", "report.html", "manifest.json", "metrics.json",
})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """A KPI target: the value to reach and whether higher or lower is better."""

    value: float
    direction: Direction | None = None  # default: the KPI catalog's direction


class Budget(_Strict):
    """The period's budget plan: total (in ``currency``) and the share of each category."""

    total: float = Field(ge=0)
    shares: dict[str, float]

    @field_validator("shares")
    @classmethod
    def _shares_valid(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(SPEND_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown spend categories {unknown}; allowed: {list(SPEND_CATEGORIES)}")
        if any(s < 0 for s in v.values()):
            raise ValueError("shares must be ≥ 0")
        if v and abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, they sum to {sum(v.values()):.4f}")
        return v


class Milestone(_Strict):
    """A planned milestone; ``actual`` is empty until it is reached."""

    name: str
    planned: date
    actual: date | None = None


class CampaignScope(_Strict):
    """A campaign in scope; ``planned_split`` (variant → share) feeds the sample-ratio check."""

    id: str
    planned_split: dict[str, float] | None = None

    @field_validator("planned_split")
    @classmethod
    def _split_sums_to_one(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"planned_split must sum to 1, it sums to {sum(v.values()):.4f}")
        return v


class Thresholds(_Strict):
    """Analysis thresholds; every field has a default (definitions in docs/metrics.md)."""

    dormancy_days: int = Field(180, gt=0)
    eligible_aum: float = Field(500_000, ge=0)
    hnw_aum: float = Field(1_000_000, gt=0)
    conversion_window_days: int = Field(30, gt=0)
    rag_green: float = Field(1.0, gt=0)
    rag_amber: float = Field(0.9, gt=0)
    min_cell_users: int = Field(10, ge=1)
    light_ops: tuple[str, ...] = ("account_query", "transfer", "wealth")
    #: a sample-ratio check with p below ``srm_warn`` is shown amber, below ``srm_alert`` red
    srm_warn: float = Field(0.01, gt=0, lt=1)
    srm_alert: float = Field(0.001, gt=0, lt=1)
    #: days before P from which control-chart centre lines and limits are set
    baseline_days: int = Field(84, gt=0, le=730)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.eligible_aum >= self.hnw_aum:
            raise ValueError("eligible_aum must be below hnw_aum")
        if self.rag_amber > self.rag_green:
            raise ValueError("rag_amber must not exceed rag_green")
        if self.srm_alert > self.srm_warn:
            raise ValueError("srm_alert must not exceed srm_warn")
        return self


class Revenue(_Strict):
    """Revenue assumptions for ROI and LTV (one value function, see README "Definitions").

    ``margin_per_txn``: margin per successful transaction, by type (currency).
    ``aum_margin_annual``: the bank's annual margin on customer AUM (net interest margin or
    fee rate, e.g. 0.01); a user's value over a window is their transaction margins plus
    their month-end AUM × ``aum_margin_annual`` ÷ 12 for each month end in the window.
    """

    margin_per_txn: dict[str, float] = Field(default_factory=dict)
    aum_margin_annual: float = Field(0.0, ge=0, lt=1)
    monthly_discount_rate: float = Field(0.01, ge=0, lt=1)
    ltv_horizon_months: int = Field(24, gt=0, le=120)


class Params(_Strict):
    """All parameters of one period. Field names are the notebooks' parameter names."""

    period: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z_.-]*$")
    start: date
    end: date
    compare_start: date | None = None
    compare_end: date | None = None
    lang: Literal["zh", "en"] = "en"
    source: str = "data/demo.duckdb"
    currency: str = "CNY"
    campaigns: tuple[CampaignScope, ...] = ()
    targets: dict[str, Target] = Field(default_factory=dict)
    budget: Budget | None = None
    milestones: tuple[Milestone, ...] = ()
    thresholds: Thresholds = Field(default_factory=Thresholds)
    revenue: Revenue = Field(default_factory=Revenue)
    #: per language, display names of data-borne names (regions, campaigns, milestones,
    #: benchmark sources): ``{zh: {Wenzhou: 温州}, en: {推荐有礼: Referral rewards}}``
    labels: dict[Literal["zh", "en"], dict[str, str]] = Field(default_factory=dict)

    @field_validator("period")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v.lower() in RESERVED_PERIOD_IDS:
            raise ValueError(f"{v!r} is a name the outputs folder uses for itself; choose a "
                             "period id like 2026-09 or 2026-Q3")
        return v

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, v: str) -> str:
        if not re.fullmatch(CURRENCY_PATTERN, v):
            raise ValueError(f"{v!r} is not a currency: give an ISO 4217 code (CNY, USD) or "
                             "a short symbol (¥, US$)")
        return v

    @field_validator("targets")
    @classmethod
    def _known_kpis(cls, v: dict[str, Target]) -> dict[str, Target]:
        unknown = sorted(set(v) - set(KPI_CATALOG))
        if unknown:
            raise ValueError(f"unknown KPI {unknown}; known: {sorted(KPI_CATALOG)}")
        return v

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, v: date, info: ValidationInfo) -> date:
        # a field validator (not a model one) so that it is reported with the other errors
        start = info.data.get("start")
        if start is not None and v < start:
            raise ValueError(f"end {v} is before start {start}")
        return v

    @model_validator(mode="after")
    def _comparison_complete(self) -> Params:
        if (self.compare_start is None) != (self.compare_end is None):
            raise ValueError("give both compare_start and compare_end, or neither")
        if self.compare_start and self.compare_end and self.compare_end < self.compare_start:
            raise ValueError("compare_end is before compare_start")
        return self

    # -- derived values -------------------------------------------------------------------
    @property
    def comparison(self) -> tuple[date, date]:
        """The comparison period: explicit, else the previous period of the same shape.

        A calendar month compares with the previous month, a calendar quarter with the
        previous quarter, any other span with the same number of days just before it.
        """
        if self.compare_start and self.compare_end:
            return self.compare_start, self.compare_end
        return previous_period(self.start, self.end)

    @property
    def last_year(self) -> tuple[date, date]:
        """The same period one year earlier (29 Feb falls back to 28 Feb)."""
        return _minus_year(self.start), _minus_year(self.end)

    def target_for(self, kpi: str) -> Target | None:
        """The target of ``kpi`` with its direction filled in from the catalog."""
        t = self.targets.get(kpi)
        if t is None:
            return None
        return t if t.direction else t.model_copy(update={"direction": KPI_CATALOG[kpi].direction})

    def notebook_parameters(self) -> dict[str, Any]:
        """The parameters as papermill receives them: JSON-safe, dates as ISO strings.

        Unset optional keys are passed as ``None`` so that they replace the notebooks'
        demo defaults instead of silently keeping them.
        """
        return self.model_dump(mode="json")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "<params>") -> Params:
        """Validate a mapping; every problem is reported at once, naming ``origin`` and key."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ParamsError(format_validation_error(
                exc, origin=origin, what="parameters",
                unknown_key_hint="see README.md, 'The analyst's guide'")) from None

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any], *, origin: str = "notebook") -> Params:
        """Build from a notebook's globals: picks exactly the fields of :class:`Params`."""
        return cls.from_dict({k: namespace[k] for k in cls.model_fields if k in namespace},
                             origin=origin)


def load_params(path: str | Path) -> Params:
    """Read and validate ``params/<period>.yaml``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read parameters file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of parameters at the top level")
    return Params.from_dict(data, origin=str(path))


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period just before ``[start, end]`` with the same calendar shape (see Params)."""
    if start.day == 1 and is_month_end(end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        prev_end = start - timedelta(days=1)
        prev_start = month_start(start, -months)
        return prev_start, prev_end
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def period_dates(period: str) -> tuple[date, date]:
    """Calendar dates of a period id: ``2026-09`` (month) or ``2026-Q3`` (quarter)."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        y, mo = int(m[1]), int(m[2])
        return date(y, mo, 1), month_end(date(y, mo, 1))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        y, q = int(m[1]), int(m[2])
        first = date(y, 3 * q - 2, 1)
        return first, month_end(month_start(first, 2))
    raise ParamsError(f"period id {period!r}: expected YYYY-MM or YYYY-Qn")


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)

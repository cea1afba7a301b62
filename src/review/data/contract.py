"""The data contract (README.md, "Bring your own data") as data: tables, columns, types, keys and allowed values.

Every other module reads the contract from here: the validator checks it, the demo generator
and the importer produce it, the metrics rely on it. Types are Ibis type names. Required
columns are listed; extra columns in a source are kept and ignored. Timestamps are the bank's
local time (naive); money is in the params' currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One contract column: Ibis type, nullability and the values it may take."""

    name: str
    dtype: str  # "string" | "int64" | "float64" | "boolean" | "date" | "timestamp"
    nullable: bool = False
    allowed: tuple[str, ...] | None = None  # the codes it accepts (listed + other/unknown)
    min: float | None = None
    max: float | None = None
    #: what an import writes when a mapping leaves the column out or a cell is empty
    default: str | float | bool | None = None
    #: for a nullable column whose empty values change what the report counts: what happens
    #: to those rows (validation reports their count as a warning, shown in the report)
    null_means: str | None = None

    @property
    def optional(self) -> bool:
        """Whether a mapping may leave the column out (nullable, or with a default)."""
        return self.nullable or self.default is not None


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its grain, columns, primary key and foreign keys."""

    name: str
    grain: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    #: column → (table, column) it must exist in
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: columns whose values must lie in a sane time window (see validate)
    time_columns: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


FEATURES = (
    "account_query", "transfer", "wealth", "bill_pay", "loan", "insurance",
    "scene_medical", "scene_transport",
)
EVENTS = ("login", "bind_card", *FEATURES, "crash")
AUTH_METHODS = ("password", "sms", "fingerprint", "face")
PLATFORMS = ("ios", "android", "harmony")
TXN_TYPES = ("transfer", "bill_pay", "wealth", "loan", "insurance", "scene_payment")
TXN_CHANNELS = ("mobile", "branch", "web", "atm")
ACQUISITION_CHANNELS = ("digital_ads", "branch", "referral", "kol", "partnership", "organic")
SPEND_CHANNELS = ("digital_ads", "branch", "referral", "kol", "partnership", "internal")
SPEND_CATEGORIES = (
    "digital_ads", "offline", "training", "kol", "partnership", "tech", "service", "reserve",
)
SEGMENTS = ("student", "mass", "affluent", "hnw", "senior")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
CITY_TIERS = ("key", "lower")
CAMPAIGN_KINDS = ("onboarding_tiers", "referral", "themed_promo", "tiered_benefits",
                  "telemarketing", "experiment")
#: the demo draws from the first five; ``phone`` is an outbound call
TOUCH_CHANNELS = ("push", "sms", "in_app", "branch", "wechat", "phone", "email")
SEVERITIES = ("low", "medium", "high")

#: Codes every coded column accepts besides its listed ones: real exports hold values that fit
#: no listed code (``other``) or none at all (``unknown``); reports show 其他 / 未知.
OPEN_CODES = ("other", "unknown")


def codes(listed: tuple[str, ...]) -> tuple[str, ...]:
    """The codes a coded column accepts: its listed codes plus ``other`` and ``unknown``."""
    return (*listed, *(c for c in OPEN_CODES if c not in listed))


C = Column
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "users", "one row per customer",
            (
                C("user_id", "string"),
                C("registered_at", "timestamp", nullable=True,  # campaign-only lists
                  null_means="left out of new-user, funnel and cohort metrics; they count in "
                             "campaign and value metrics"),
                C("acquisition_channel", "string", allowed=codes(ACQUISITION_CHANNELS)),
                C("region", "string"),
                C("city_tier", "string", allowed=codes(CITY_TIERS)),
                C("age_band", "string", allowed=codes(AGE_BANDS)),
                C("segment", "string", allowed=codes(SEGMENTS)),
            ),
            primary_key=("user_id",),
            references={"region": ("regions", "region")},
            time_columns=("registered_at",),
        ),
        TableSpec(
            "events", "one row per app event",
            (
                C("user_id", "string"),
                C("ts", "timestamp"),
                C("event", "string", allowed=EVENTS),
                C("session_seconds", "float64", nullable=True, min=0),
                C("auth_method", "string", nullable=True, allowed=codes(AUTH_METHODS)),
                C("platform", "string", nullable=True, allowed=codes(PLATFORMS)),
                C("risk_flag", "boolean", nullable=True),
            ),
            references={"user_id": ("users", "user_id")},
            time_columns=("ts",),
        ),
        TableSpec(
            "transactions", "one row per attempted transaction",
            (
                C("txn_id", "string"),
                C("user_id", "string"),
                C("ts", "timestamp"),
                C("type", "string", allowed=codes(TXN_TYPES)),
                C("channel", "string", allowed=codes(TXN_CHANNELS)),
                C("amount", "float64", min=0),
                C("status", "string", allowed=("success", "failed")),
            ),
            primary_key=("txn_id",),
            references={"user_id": ("users", "user_id")},
            time_columns=("ts",),
        ),
        TableSpec(
            "balances", "one row per customer per month end",
            (
                C("user_id", "string"),
                C("month", "date"),  # the month-end date
                C("aum", "float64", min=0),
            ),
            primary_key=("user_id", "month"),
            references={"user_id": ("users", "user_id")},
            time_columns=("month",),
        ),
        TableSpec(
            "campaigns", "one row per campaign",
            (
                C("campaign_id", "string"),
                C("name", "string"),
                C("kind", "string", allowed=codes(CAMPAIGN_KINDS)),
                C("start", "date"),
                C("end", "date"),
                C("target_segment", "string", nullable=True),
            ),
            primary_key=("campaign_id",),
            time_columns=("start", "end"),
        ),
        TableSpec(
            "assignments", "one row per customer per campaign",
            (
                C("user_id", "string"),
                C("campaign_id", "string"),
                C("variant", "string"),
                C("touch_channel", "string", allowed=codes(TOUCH_CHANNELS), default="unknown"),
                C("assigned_at", "timestamp"),
                C("reached", "boolean", default=True),
                C("converted_at", "timestamp", nullable=True),
                C("reward_cost", "float64", min=0, default=0.0),
            ),
            primary_key=("user_id", "campaign_id"),
            references={"user_id": ("users", "user_id"),
                        "campaign_id": ("campaigns", "campaign_id")},
            time_columns=("assigned_at", "converted_at"),
        ),
        TableSpec(
            "spend", "one row per day × channel × category",
            (
                C("date", "date"),
                C("channel", "string", allowed=codes(SPEND_CHANNELS)),
                C("category", "string", allowed=codes(SPEND_CATEGORIES)),
                C("campaign_id", "string", nullable=True),
                C("amount", "float64", min=0),
                C("impressions", "int64", min=0),
                C("clicks", "int64", min=0),
            ),
            references={"campaign_id": ("campaigns", "campaign_id")},
            time_columns=("date",),
        ),
        TableSpec(
            "surveys", "one row per response",
            (
                C("response_id", "string"),
                C("date", "date"),
                C("nps_score", "int64", min=0, max=10),
                C("aware_unaided", "boolean", nullable=True),
            ),
            primary_key=("response_id",),
            time_columns=("date",),
        ),
        TableSpec(
            "complaints", "one row per ticket",
            (
                C("ticket_id", "string"),
                C("created_at", "timestamp"),
                C("category", "string"),
                C("severity", "string", allowed=SEVERITIES),
                C("resolved_at", "timestamp", nullable=True),
            ),
            primary_key=("ticket_id",),
            time_columns=("created_at", "resolved_at"),
        ),
        TableSpec(
            "regions", "one row per region",
            (
                C("region", "string"),
                C("city_tier", "string", allowed=codes(CITY_TIERS)),
                C("population", "int64", min=0),
            ),
            primary_key=("region",),
        ),
        TableSpec(
            "benchmarks", "external market figures typed in by analysts",
            (
                C("period", "string"),
                C("source", "string"),
                C("metric", "string"),
                C("subject", "string"),
                C("value", "float64"),
            ),
        ),
    ]
}

#: Tables some block of each report section reads (a block whose tables are missing shows a
#: note naming them; the rest of the section renders): what adding a table would unlock.
SECTION_TABLES: dict[str, tuple[str, ...]] = {
    "summary": ("users", "events", "transactions", "balances", "campaigns", "assignments",
                "spend", "surveys", "complaints"),
    "market_analysis": ("users", "events", "transactions", "regions", "benchmarks"),
    "goals": ("users", "events", "transactions", "balances"),
    "execution": ("campaigns", "assignments", "events", "transactions"),
    "budget": ("spend", "users", "campaigns", "assignments", "transactions", "balances"),
    "evaluation": ("users", "events", "transactions", "campaigns", "assignments", "surveys",
                   "complaints"),
}

#: Not part of the contract: the demo generator writes the planted truths here.
GROUND_TRUTH_TABLE = "ground_truth"


def unlocks(table: str) -> tuple[str, ...]:
    """The report sections that need ``table`` (what adding it to a source would unlock)."""
    return tuple(s for s, needs in SECTION_TABLES.items() if table in needs)

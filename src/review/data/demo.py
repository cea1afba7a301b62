"""Deterministic demo data for the workbook, with planted truths to test the metrics against.

:func:`generate` writes one DuckDB file holding every table of the data contract
(:data:`review.data.contract.TABLES`) for a synthetic regional bank's mobile channel in
Zhejiang, plus a ``ground_truth`` table of effects planted on purpose. Tests, findings and
the report check that the metrics recover them.

The story the data tells
------------------------
* **Users** register more and more over time (growth, Spring Festival and Double-11 bumps,
  a referral campaign lifting the referral channel); about a fifth registered before the
  data window. Channels differ in volume and quality: referral and branch users churn least,
  digital-ads and KOL users most. Segments and age bands are correlated (students 18-24,
  seniors 55+); 12 regions, each a ``key`` or ``lower`` tier city. Extra PII columns
  ``name`` and ``phone`` are present and must never reach a report.
* **Activity**: each user alternates between active spells and churn; a churned user may
  reactivate (the dormant-user campaign C04 forces some). In a spell a user logs in on a day
  with a per-user probability (3-5 logins per active day), more in the first weeks after
  registration and less in the month before churning. Logins carry session length, auth
  method (biometric common when young, rare at 65+), platform and a risk flag (~0.1%);
  feature events follow logins (over 70% light operations; HNW use ``wealth``, seniors
  ``bill_pay``, students ``scene_transport``); crashes ~1 per 1,000 logins.
* **Transactions** move online: the mobile share of transactions rises from about 55% to
  about 80%; mobile failures run at ~1.2% except on the incident days.
* **Balances**: month-end AUM per user (lognormal by segment, monthly drift and windfalls),
  so some customers cross from ``[eligible_aum, hnw_aum)`` to ``≥ hnw_aum``
  (:class:`review.config.Thresholds` defaults).
* **Campaigns** C01 (onboarding tiers, an A/B/control experiment), C02 (referral), C03
  (themed promotion), C04 (tiered benefits for dormant users) and up to two older ones; every
  campaign has a control group. A conversion of C01 (reaching the first onboarding tier)
  brings 100,000 CNY of new funds and one of C03 (a wealth product bought) 50,000 CNY, kept
  in the customer's AUM from the conversion's month end on (any variant: a variant that
  converts more earns more), so campaign value and ROI have a planted truth: C01 A pays back
  over the LTV horizon at a 1 % AUM margin, C01 B (no lift) does not. **Spend** follows the budget plan (600,000 CNY a month at
  20,000 users, scaled by ``users / 20_000``); acquisition spend is charged to its channel
  so CAC is 60-150 CNY except KOL (several times the median).
* **Surveys** (~300 a month at 20,000 users, NPS 25-40, awareness rising), **complaints**
  (about 30 tickets per 10,000 active users a month), **benchmarks** (industry and three
  peers) and **regions** (populations set so penetration ends near 75% / 50%).

Planted truths (``ground_truth``: ``key`` VARCHAR, ``value`` DOUBLE, ``detail`` JSON VARCHAR)
-------------------------------------------------------------------------------------------
``users.total``
    Number of users.
``experiment.<campaign>.control.rate``
    True conversion probability of an assigned control user over the whole campaign
    (intention to treat: converted ÷ assigned); detail: variants and planned split.
``experiment.<campaign>.<variant>.true_lift_abs``
    True conversion probability of the variant minus the control's (absolute, a ratio).
    C01: A +0.06, B 0.
``failure_incident``
    Detail: JSON list of the ISO dates of the incident (the 14th-16th of the month before
    ``end``'s month); value: the mobile failure rate on those days as generated (failed ÷
    attempted mobile transactions).
``failure_incident.baseline_rate``
    Mobile failure rate of the other days of that month.
``complaint_surge``
    Detail: ``{"category", "start", "end", "baseline_start", "baseline_end"}`` (ISO dates,
    inclusive); value: mean daily tickets of the category in ``[start, end]`` ÷ its mean
    daily tickets in ``[baseline_start, baseline_end]`` (the 84 days before), as generated.
    About 4× at the default size; in small stores more, so that the week's count clears a
    one-sided 3σ (p ≤ 0.00135) Poisson limit of the usual count.
``crash_spike``
    Detail: the same dates as the complaint surge (a faulty app release); value: crashes per
    1,000 logins in that week ÷ the same rate in the other days of the data.
``worst_cac_channel``
    Detail: ``"kol"``; value: its CAC ÷ the median CAC of the paid channels, whole data window.
``cac.<channel>``
    CAC of each paid channel over the whole data window: spend rows of that ``channel`` ÷
    users with that ``acquisition_channel`` registered in the window (currency per user).
``hnw_conversions.YYYY-MM``
    For every month but the first: users whose AUM at the previous month end lies in
    ``[eligible_aum, hnw_aum)`` and whose AUM at this month end is ``≥ hnw_aum``, counted
    exactly from ``balances``; detail ``{"eligible": n}``.
``penetration.key`` / ``penetration.lower``
    Registered users at the end of the data ÷ population, by city tier.

Determinism and size
--------------------
Every random draw comes from :class:`numpy.random.Generator` streams seeded by ``seed`` and
the chunk number, so the same arguments (``chunk_users`` included) give identical tables.
Users are simulated ``chunk_users`` at a time, month by month, and appended through Arrow:
memory is bounded by one chunk-month whatever the number of users.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from review.config import Thresholds
from review.core.calendar import month_end as _month_end
from review.core.calendar import month_start as _month_start
from review.core.files import remove_path, temporary_sibling
from review.data.contract import (
    ACQUISITION_CHANNELS,
    AGE_BANDS,
    AUTH_METHODS,
    EVENTS,
    FEATURES,
    GROUND_TRUTH_TABLE,
    PLATFORMS,
    SEGMENTS,
    SEVERITIES,
    TABLES,
    TOUCH_CHANNELS,
    TXN_CHANNELS,
    TXN_TYPES,
)
from review.errors import ReviewError

__all__ = ["generate"]

# -- sizes and calendar -----------------------------------------------------------------------
#: The demo store's generator arguments (``make demo``, ``review demo-data``, the demo params).
DEFAULT_USERS = 20_000
DEFAULT_MONTHS = 18
DEFAULT_END = date(2026, 10, 31)
DEFAULT_SEED = 7
MIN_USERS = 100
MIN_MONTHS = 6
MAX_MONTHS = 120
_US_PER_DAY = 86_400_000_000
_US = 1_000_000
_NEVER = 10**9  # "no end" of an active spell, in window days
_NO_LOGIN = -(10**6)  # last_login of a user who never logged in, in window days
_NEVER_US = np.iinfo(np.int64).max // 2  # "never", in µs

# -- users ------------------------------------------------------------------------------------
_PRE_WINDOW_SHARE = 0.20  # users registered before the data window
_PRE_WINDOW_DAYS = 730
_PRE_WINDOW_ACTIVE = 0.62  # of them, in an active spell at the window's start
_GROWTH = 3.6  # registrations per day at the window's end ÷ at its start

#: (region, city tier, share of users); Zhejiang cities in pinyin
_REGIONS = (
    ("Hangzhou", "key", 0.22), ("Ningbo", "key", 0.15), ("Wenzhou", "key", 0.11),
    ("Jiaxing", "key", 0.07), ("Shaoxing", "key", 0.07), ("Huzhou", "lower", 0.05),
    ("Jinhua", "lower", 0.07), ("Taizhou", "lower", 0.07), ("Quzhou", "lower", 0.03),
    ("Zhoushan", "lower", 0.02), ("Lishui", "lower", 0.03), ("Yiwu", "lower", 0.04),
)
_PENETRATION = {"key": 0.75, "lower": 0.50}

# per acquisition channel: share of new users, monthly churn hazard, share churning within
# two weeks of registration, engagement multiplier, share transacting on mobile as soon as
# the card is bound, target CAC (CNY), spend category
_CHANNEL = {
    #               share  churn  early  engage  txn   cac    category
    "digital_ads": (0.30, 0.070, 0.28, 0.90, 0.58, 105.0, "digital_ads"),
    "branch":      (0.18, 0.030, 0.10, 1.05, 0.72, 85.0, "offline"),
    "referral":    (0.14, 0.025, 0.08, 1.10, 0.72, 65.0, "digital_ads"),
    "kol":         (0.07, 0.095, 0.38, 0.80, 0.48, 560.0, "kol"),
    "partnership": (0.10, 0.045, 0.18, 0.95, 0.62, 135.0, "partnership"),
    "organic":     (0.21, 0.040, 0.15, 1.00, 0.68, float("nan"), ""),
}
_LATE_TRANSACTORS = 0.30  # of new users, start transacting on mobile weeks later; rest never
_LATE_DAYS = 45.0  # mean delay of the late ones
_PAID_CHANNELS = ("digital_ads", "branch", "referral", "kol", "partnership")

# segment mix per acquisition channel (rows follow ACQUISITION_CHANNELS, columns SEGMENTS)
_SEGMENT_BY_CHANNEL = {
    "digital_ads": (0.18, 0.62, 0.14, 0.01, 0.05),
    "branch":      (0.04, 0.42, 0.26, 0.08, 0.20),
    "referral":    (0.10, 0.55, 0.22, 0.04, 0.09),
    "kol":         (0.30, 0.58, 0.09, 0.01, 0.02),
    "partnership": (0.12, 0.60, 0.18, 0.03, 0.07),
    "organic":     (0.12, 0.55, 0.17, 0.03, 0.13),
}
_AGE_BY_SEGMENT = {  # columns AGE_BANDS
    "student":  (0.95, 0.05, 0.00, 0.00, 0.00, 0.00),
    "mass":     (0.10, 0.34, 0.28, 0.20, 0.08, 0.00),
    "affluent": (0.02, 0.20, 0.34, 0.28, 0.14, 0.02),
    "hnw":      (0.00, 0.06, 0.30, 0.38, 0.20, 0.06),
    "senior":   (0.00, 0.00, 0.00, 0.00, 0.45, 0.55),
}
# per segment: daily login probability in a spell, transactions a month, monthly
# reactivation hazard when churned, churn multiplier, iOS share
_SEGMENT = {
    "student":  (0.42, 5.0, 0.075, 1.20, 0.35),
    "mass":     (0.32, 9.0, 0.065, 1.00, 0.28),
    "affluent": (0.36, 13.0, 0.065, 0.85, 0.38),
    "hnw":      (0.30, 16.0, 0.055, 0.80, 0.50),
    "senior":   (0.22, 7.0, 0.050, 0.90, 0.15),
}
# per segment: AUM at registration (median CNY, log sigma), monthly log drift and volatility
_AUM = {
    "student":  (6_000.0, 0.9, 0.010, 0.10),
    "mass":     (60_000.0, 1.0, 0.005, 0.08),
    "affluent": (420_000.0, 0.5, 0.008, 0.07),
    "hnw":      (1_800_000.0, 0.5, 0.004, 0.06),
    "senior":   (150_000.0, 1.0, 0.003, 0.05),
}
_WINDFALL = 0.02  # monthly chance of a windfall (bonus, inheritance, maturing deposit)

# -- activity -----------------------------------------------------------------------------
_LOGINS_BY_AGE = (4.3, 4.0, 3.8, 3.6, 3.3, 3.0)  # mean logins per active day, by age band
_BIOMETRIC_BY_AGE = (0.78, 0.74, 0.64, 0.50, 0.32, 0.12)  # at the window's start
_DOW_LOGIN = (1.0, 1.0, 1.0, 1.0, 1.02, 0.88, 0.85)  # Monday first
_HOURS = np.array([0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1.2, 2.5, 4.0, 3.5, 3.0, 3.5,
                   5.0, 4.0, 3.0, 3.0, 3.2, 3.8, 4.2, 5.0, 5.5, 5.5, 4.0, 2.0])
_FEATURES_PER_LOGIN = 0.45
_FEATURE_MIX = {  # columns FEATURES: account_query, transfer, wealth, bill_pay, loan,
    #                                 insurance, scene_medical, scene_transport
    "student":  (0.42, 0.23, 0.05, 0.06, 0.02, 0.01, 0.02, 0.19),
    "mass":     (0.46, 0.21, 0.10, 0.08, 0.04, 0.03, 0.03, 0.05),
    "affluent": (0.40, 0.20, 0.18, 0.08, 0.05, 0.04, 0.02, 0.03),
    "hnw":      (0.33, 0.17, 0.33, 0.06, 0.04, 0.04, 0.02, 0.01),
    "senior":   (0.40, 0.13, 0.09, 0.20, 0.02, 0.05, 0.09, 0.02),
}
_CRASH_PER_LOGIN = 0.00095
_CRASH_PLATFORM = {"ios": 0.7, "android": 1.0, "harmony": 1.8}
_RISK_BIOMETRIC, _RISK_OTHER = 0.0005, 0.0018  # risk-flag probability per login

# -- transactions -------------------------------------------------------------------------
_MOBILE_SHARE = (0.70, 0.93)  # mobile share of an app-active user's transactions, first → last
#: multiplier of the mobile share by age band (AGE_BANDS order): the young do everything on
#: mobile, older customers still combine the app with branches (线上+网点)
_MOBILE_BY_AGE = np.array([1.06, 1.04, 1.0, 0.92, 0.80, 0.62])
_OFFLINE_CHANNELS = (("branch", 0.42), ("web", 0.28), ("atm", 0.30))
_TXN_MIX = {  # columns TXN_TYPES: transfer, bill_pay, wealth, loan, insurance, scene_payment
    "student":  (0.40, 0.15, 0.03, 0.02, 0.01, 0.39),
    "mass":     (0.42, 0.20, 0.08, 0.06, 0.04, 0.20),
    "affluent": (0.40, 0.15, 0.20, 0.06, 0.07, 0.12),
    "hnw":      (0.35, 0.10, 0.35, 0.05, 0.10, 0.05),
    "senior":   (0.38, 0.32, 0.12, 0.02, 0.08, 0.08),
}
_AMOUNT = {  # median CNY, log sigma
    "transfer": (900.0, 1.1), "bill_pay": (180.0, 0.8), "wealth": (25_000.0, 1.0),
    "loan": (3_500.0, 0.8), "insurance": (2_200.0, 0.7), "scene_payment": (35.0, 0.9),
}
_FAILURE = {"mobile": 0.012, "branch": 0.003, "web": 0.010, "atm": 0.008}
_INCIDENT_FAILURE = 0.09
_INCIDENT_DAYS = (14, 15, 16)  # of the month before `end`'s month

# -- complaints, surveys, spend ---------------------------------------------------------------
_COMPLAINTS_PER_10K = 30.0  # tickets a month per 10,000 active users
_COMPLAINT_FLOOR = 6.0  # at least this many tickets a month (tiny stores)
_COMPLAINT_MIX = (("login", 0.18), ("transfer_failure", 0.20), ("fees", 0.14),
                  ("app_crash", 0.25), ("service", 0.15), ("card", 0.08))
_SURGE_CATEGORY = "app_crash"
_SURGE_MULTIPLE = 4.0
_SURGE_START_DAY, _SURGE_DAYS = 5, 7  # the 5th-11th of `end`'s month
_SURGE_BASELINE_DAYS = 84
_SURGE_PROFILE = np.array([0.30, 0.22, 0.16, 0.12, 0.09, 0.06, 0.05])  # release, then hotfix
_SURVEYS_PER_MONTH = 300.0
_PLAN_PER_MONTH = 600_000.0
_BUDGET_SHARES = {"digital_ads": 0.40, "kol": 0.10, "partnership": 0.10, "offline": 0.20,
                  "training": 0.10, "reserve": 0.10}
_CPM = {"digital_ads": 28.0, "kol": 65.0, "partnership": 40.0}  # CNY per 1,000 impressions
_CTR = {"digital_ads": 0.012, "kol": 0.025, "partnership": 0.008}

# -- names -----------------------------------------------------------------------------------
_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
                  "于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷")
_GIVEN = tuple("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文辉玲婷宇浩鑫欣怡佳俊晨博轩"
               "子梓涵一诺雨思萱嘉瑶志红云飞燕")

#: Spring Festival (Chinese New Year) dates, for the registration and referral bumps
_SPRING_FESTIVAL = {
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
    2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31),
    2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}


# == public API ===============================================================================
def generate(out: str | Path, *, users: int = DEFAULT_USERS, months: int = DEFAULT_MONTHS,
             end: date = DEFAULT_END, seed: int = DEFAULT_SEED, chunk_users: int = 100_000,
             progress: bool = False) -> pd.DataFrame:
    """Write a deterministic demo store with every contract table and the planted truths.

    Parameters
    ----------
    out
        The DuckDB file to write (replaced atomically if it exists; its folder is created).
    users
        Number of customers (≥ 100). Spend, surveys and complaints scale with
        ``users / 20_000``.
    months
        Number of calendar months of data (6-120), ending with the month of ``end``.
    end
        A day of the last month of data; the data runs to that month's last day.
    seed
        Seed of every random draw: the same arguments give identical tables.
    chunk_users
        Users simulated and appended at a time; bounds memory (peak RSS about 1.3 GB at
        100,000, 0.5 GB at 20,000; DuckDB's own cache is capped at 512 MB).
        The output depends on it too (each chunk has its own random stream).
    progress
        Show a progress bar, one step per chunk.

    Returns
    -------
    pandas.DataFrame
        The ``ground_truth`` table (``key``, ``value``, ``detail``), sorted by ``key``; see
        the module docstring for the keys.

    Raises
    ------
    ReviewError
        When an argument is out of range; ``out`` is then left untouched.
    """
    _check_arguments(users, months, seed, chunk_users)
    out = Path(out)
    cal = _Calendar.build(end, months)
    campaigns = _campaigns(cal)
    scale = users / DEFAULT_USERS
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(out)  # renamed over `out` when complete (review.core.files)
    # one thread: the appends are sequential; more threads cost CPU without making them
    # faster on a shared 2-core machine (measured: 9 s vs 14 s CPU at 20,000 users).
    # A memory limit: DuckDB's cache otherwise grows with the store (~100 MB per 20,000 users)
    con = duckdb.connect(str(tmp), config={"threads": 1, "memory_limit": "512MB"})
    try:
        con.execute("SET enable_progress_bar = false")
        _create_tables(con)
        totals = _Totals.empty(cal, len(_REGIONS))
        reg = _RegistrationModel.build(cal, campaigns)
        chunks = range(0, users, chunk_users)
        for i, first in enumerate(tqdm(chunks, disable=not progress, unit="chunk",
                                       desc="demo data")):
            rng = np.random.default_rng([seed, 1, i])
            n = min(chunk_users, users - first)
            _simulate_chunk(con, rng, cal, campaigns, reg, first, n, users, totals)
        rng = np.random.default_rng([seed, 2])
        _append(con, "campaigns", _campaigns_table(campaigns))
        _append(con, "regions", _regions_table(rng, totals))
        _append(con, "spend", _spend_table(rng, cal, campaigns, totals, scale))
        _append(con, "surveys", _surveys_table(rng, cal, scale))
        complaints, surge = _complaints_table(rng, cal, totals)
        _append(con, "complaints", complaints)
        _append(con, "benchmarks", _benchmarks_table(rng, cal))
        truth = _ground_truth(con, cal, campaigns, totals, surge, users)
        _append(con, GROUND_TRUTH_TABLE, pa.Table.from_pandas(truth, preserve_index=False))
        con.close()
        os.replace(tmp, out)
    except BaseException:
        con.close()
        remove_path(tmp)
        raise
    return truth


# == arguments and calendar ===================================================================
def _check_arguments(users: int, months: int, seed: int, chunk_users: int) -> None:
    problems = []
    if users < MIN_USERS:
        problems.append(f"users={users}: give at least {MIN_USERS}")
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        problems.append(f"months={months}: give {MIN_MONTHS} to {MAX_MONTHS} (the campaigns "
                        "and the 180-day dormancy need half a year of data)")
    if seed < 0:
        problems.append(f"seed={seed}: give a non-negative integer")
    if chunk_users < 1:
        problems.append(f"chunk_users={chunk_users}: give a positive number")
    if problems:
        raise ReviewError("demo data generator: " + "; ".join(problems))


@dataclass(frozen=True)
class _Calendar:
    """The data window: window days are integers, day 0 = the first day of the first month."""

    start: date
    end: date
    month_first: tuple[int, ...]  # window day of each month's first day, then days + 1 more
    labels: tuple[str, ...]  # 'YYYY-MM' of each month
    epoch_day: int  # days from 1970-01-01 to ``start``

    @classmethod
    def build(cls, end: date, months: int) -> _Calendar:
        last = _month_start(end)
        first = _month_start(last, -(months - 1))
        starts = [_month_start(first, i) for i in range(months + 1)]
        return cls(
            start=first,
            end=_month_end(last),
            month_first=tuple((s - first).days for s in starts),
            labels=tuple(f"{s.year:04d}-{s.month:02d}" for s in starts[:-1]),
            epoch_day=(first - date(1970, 1, 1)).days,
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> int:
        return len(self.labels)

    @property
    def end_us(self) -> int:
        """First instant after the window (exclusive bound), µs since the epoch."""
        return (self.epoch_day + self.days) * _US_PER_DAY

    def day(self, d: date) -> int:
        return (d - self.start).days

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    def month_bounds(self, m: int) -> tuple[int, int]:
        return self.month_first[m], self.month_first[m + 1]

    def month_end_date(self, m: int) -> date:
        return self.date_of(self.month_first[m + 1] - 1)

    def day_us(self, day: np.ndarray | int) -> np.ndarray:
        """Midnight of window day(s), µs since the epoch (naive local time)."""
        return (np.asarray(day, dtype=np.int64) + self.epoch_day) * _US_PER_DAY

    def weekday(self, day: np.ndarray) -> np.ndarray:
        """0 = Monday … 6 = Sunday (1970-01-01 was a Thursday)."""
        return (np.asarray(day, dtype=np.int64) + self.epoch_day + 3) % 7

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """Month index of window day(s) inside the window."""
        return np.searchsorted(np.asarray(self.month_first), day, side="right") - 1


# == campaigns ===============================================================================
@dataclass(frozen=True)
class _Campaign:
    """A campaign and how its assignments are drawn (rates are true ITT probabilities)."""

    id: str
    name: str
    kind: str
    start: date
    end: date
    target_segment: str | None
    variants: tuple[str, ...]
    split: tuple[float, ...]
    rates: tuple[float, ...]
    rewards: tuple[float, ...]
    eligibility: str  # "new" | "active30" | "active60_wealth" | "dormant"
    assign_share: float
    touch: tuple[float, ...]  # probabilities over TOUCH_CHANNELS
    spend_category: str | None = None  # internal spend of this category carries its id
    spend_channel: str | None = None  # acquisition spend of this channel carries its id
    deposit: float = 0.0  # new funds (CNY, kept in AUM) a conversion brings, any variant


_TOUCH_DEFAULT = (0.35, 0.20, 0.25, 0.05, 0.15)  # push, sms, in_app, branch, wechat
_TOUCH_DORMANT = (0.15, 0.50, 0.00, 0.15, 0.20)
_TOUCH_ONBOARDING = (0.30, 0.10, 0.45, 0.05, 0.10)


def _campaigns(cal: _Calendar) -> tuple[_Campaign, ...]:
    """C01-C04 relative to the last month E; older ones when they fit in the window."""
    e = _month_start(cal.end)
    out = [
        _Campaign("C01", "新客成长计划", "onboarding_tiers", _month_start(e, -2) + timedelta(14),
                  e + timedelta(14), "new", ("control", "A", "B"), (0.5, 0.25, 0.25),
                  (0.12, 0.18, 0.12), (10.0, 38.0, 28.0), "new", 0.92, _TOUCH_ONBOARDING,
                  spend_category="digital_ads", deposit=100_000.0),
        _Campaign("C02", "推荐有礼", "referral", _month_start(e, -4), cal.end, None,
                  ("control", "A"), (0.2, 0.8), (0.03, 0.07), (50.0, 50.0), "active30", 0.45,
                  _TOUCH_DEFAULT, spend_channel="referral"),
        _Campaign("C03", "国庆财富节", "themed_promo", _month_start(e, -1) + timedelta(19),
                  e + timedelta(9), "affluent", ("control", "A"), (0.2, 0.8), (0.05, 0.085),
                  (0.0, 88.0), "active60_wealth", 0.60, _TOUCH_DEFAULT,
                  spend_category="partnership", deposit=50_000.0),
        _Campaign("C04", "沉睡客户分层权益", "tiered_benefits", _month_start(e, -4),
                  _month_start(e) - timedelta(1), "dormant", ("control", "A"), (0.3, 0.7),
                  (0.03, 0.09), (0.0, 30.0), "dormant", 1.0, _TOUCH_DORMANT,
                  spend_category="offline"),
    ]
    c01_start = out[0].start
    # the latest Double-11 and Spring Festival before C01 that lie inside the window
    nov = date(c01_start.year if c01_start.month > 11 else c01_start.year - 1, 11, 1)
    older = []
    if nov >= cal.start:
        older.append(_Campaign("", "双十一理财节", "themed_promo", nov, nov + timedelta(10), None,
                               ("control", "A"), (0.2, 0.8), (0.04, 0.06), (0.0, 20.0),
                               "active30", 0.5, _TOUCH_DEFAULT, spend_category="digital_ads"))
    festivals = [d for d in _SPRING_FESTIVAL.values()
                 if cal.start <= d - timedelta(14) and d + timedelta(14) < c01_start]
    if festivals:
        sf = max(festivals)
        older.append(_Campaign("", "新春推荐有礼", "referral", sf - timedelta(14),
                               sf + timedelta(14), None, ("control", "A"), (0.2, 0.8),
                               (0.03, 0.05), (50.0, 50.0), "active30", 0.4, _TOUCH_DEFAULT,
                               spend_channel="referral"))
    older.sort(key=lambda c: c.start)
    for i, c in enumerate(older):
        out.append(replace(c, id=f"C{5 + i:02d}"))
    return tuple(out)


def _campaigns_table(campaigns: tuple[_Campaign, ...]) -> pa.Table:
    return pa.table({
        "campaign_id": [c.id for c in campaigns],
        "name": [c.name for c in campaigns],
        "kind": [c.kind for c in campaigns],
        "start": pa.array([c.start for c in campaigns], pa.date32()),
        "end": pa.array([c.end for c in campaigns], pa.date32()),
        "target_segment": pa.array([c.target_segment for c in campaigns], pa.string()),
    })


# == registrations ==========================================================================
@dataclass(frozen=True)
class _RegistrationModel:
    """Daily registration weights over the window and each day's channel mix."""

    day_cdf: np.ndarray  # cumulative share of in-window registrations by window day
    channel_cdf: np.ndarray  # (days, channels) cumulative channel mix of each day

    @classmethod
    def build(cls, cal: _Calendar, campaigns: tuple[_Campaign, ...]) -> _RegistrationModel:
        days = np.arange(cal.days)
        t = days / max(cal.days - 1, 1)
        w = np.exp(np.log(_GROWTH) * t)
        dates = [cal.date_of(d) for d in days]
        festival = np.array([any(abs((d - sf).days) <= 10 for sf in _SPRING_FESTIVAL.values())
                             for d in dates])
        double11 = np.array([d.month == 11 and d.day <= 11 for d in dates])
        w = w * np.where(festival, 1.35, 1.0) * np.where(double11, 1.5, 1.0)
        base = np.array([_CHANNEL[c][0] for c in ACQUISITION_CHANNELS])
        mix = np.tile(base, (cal.days, 1))
        ref = ACQUISITION_CHANNELS.index("referral")
        kol = ACQUISITION_CHANNELS.index("kol")
        ads = ACQUISITION_CHANNELS.index("digital_ads")
        for c in campaigns:
            if c.kind == "referral":
                on = (days >= cal.day(c.start)) & (days <= cal.day(c.end))
                mix[on, ref] *= 1.8
        mix[double11, kol] *= 1.6
        mix[double11, ads] *= 1.3
        mix = mix / mix.sum(axis=1, keepdims=True)
        return cls(np.cumsum(w) / w.sum(), np.cumsum(mix, axis=1))


# == per-chunk simulation ===================================================================
@dataclass
class _Totals:
    """Per-month totals gathered over the chunks for the user-independent tables."""

    new_users: np.ndarray  # (months, channels): in-window registrations
    active_users: np.ndarray  # (months,): distinct users with a login
    logins: np.ndarray  # (days,)
    crashes: np.ndarray  # (days,)
    mobile_attempts: np.ndarray  # (days,)
    mobile_failed: np.ndarray  # (days,)
    hnw_converted: np.ndarray  # (months,)
    hnw_eligible: np.ndarray  # (months,)
    registered_by_region: np.ndarray  # (regions,): registered by the window's end
    next_txn: int = 0

    @classmethod
    def empty(cls, cal: _Calendar, regions: int) -> _Totals:
        m, d = cal.months, cal.days
        z = np.zeros
        return cls(z((m, len(ACQUISITION_CHANNELS)), np.int64), z(m, np.int64), z(d, np.int64),
                   z(d, np.int64), z(d, np.int64), z(d, np.int64), z(m, np.int64),
                   z(m, np.int64), z(regions, np.int64))


@dataclass
class _Users:
    """One chunk of users: attributes (fixed) and state (advanced month by month)."""

    ids: pa.Array
    reg_day: np.ndarray
    reg_us: np.ndarray
    channel: np.ndarray
    segment: np.ndarray
    age: np.ndarray
    region: np.ndarray
    platform: np.ndarray
    p_login: np.ndarray
    lam_login: np.ndarray
    tau: np.ndarray
    churn: np.ndarray
    react: np.ndarray
    reg_login: np.ndarray
    bind_us: np.ndarray  # when the card is bound (``_NEVER_US``: never)
    txn_from_us: np.ndarray  # first instant the user may transact on mobile
    # state
    act_from: np.ndarray
    act_until: np.ndarray
    last_login: np.ndarray
    force_day: np.ndarray
    aum: np.ndarray
    assignments: list[pa.Table] = field(default_factory=list)
    #: new money brought by campaign conversions: (users, day of conversion, amount) each
    deposits: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.reg_day)


def _cum(rows: dict[str, tuple[float, ...]], order: tuple[str, ...]) -> np.ndarray:
    a = np.array([rows[k] for k in order], dtype=np.float64)
    return np.cumsum(a / a.sum(axis=1, keepdims=True), axis=1)


def _draw(rng: np.random.Generator, cdf: np.ndarray) -> np.ndarray:
    """One category index per row of ``cdf`` (rows are cumulative probabilities)."""
    u = rng.random(cdf.shape[0])
    idx = (u[:, None] >= cdf).sum(axis=1)
    return np.minimum(idx, cdf.shape[1] - 1).astype(np.int8)


def _draw_by(rng: np.random.Generator, cdf: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One category index per element of ``group``, drawn from row ``cdf[group]``.

    Same draws as ``_draw(rng, cdf[group])`` without the ``n × categories`` temporary.
    """
    u = rng.random(len(group))
    out = np.zeros(len(group), np.int8)
    for g in range(cdf.shape[0]):
        hit = group == g
        out[hit] = np.searchsorted(cdf[g], u[hit], side="right")
    return np.minimum(out, cdf.shape[1] - 1)


def _draw_n(rng: np.random.Generator, probs: np.ndarray | list[float], n: int) -> np.ndarray:
    """``n`` draws from one categorical distribution."""
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64))
    cdf = cdf / cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"),
                      len(cdf) - 1).astype(np.int8)


def _seconds_of_day(rng: np.random.Generator, n: int, hours: np.ndarray = _HOURS) -> np.ndarray:
    """Second of the day following an hourly profile."""
    h = _draw_n(rng, hours, n).astype(np.int64)
    return h * 3600 + rng.integers(0, 3600, n)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width=width,
                          padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _make_users(rng: np.random.Generator, cal: _Calendar, reg: _RegistrationModel,
                first: int, n: int, total: int) -> _Users:
    pre = rng.random(n) < _PRE_WINDOW_SHARE
    in_day = np.minimum(np.searchsorted(reg.day_cdf, rng.random(n), side="right"),
                        cal.days - 1)
    reg_day = np.where(pre, -rng.integers(1, _PRE_WINDOW_DAYS + 1, n), in_day).astype(np.int64)
    base_cdf = np.cumsum([_CHANNEL[c][0] for c in ACQUISITION_CHANNELS])
    chan_cdf = np.where(pre[:, None], base_cdf[None, :], reg.channel_cdf[np.maximum(reg_day, 0)])
    channel = _draw(rng, chan_cdf)
    segment = _draw_by(rng, _cum(_SEGMENT_BY_CHANNEL, ACQUISITION_CHANNELS), channel)
    age = _draw_by(rng, _cum(_AGE_BY_SEGMENT, SEGMENTS), segment)
    region = _draw_n(rng, [r[2] for r in _REGIONS], n)
    t = np.clip(reg_day / cal.days, 0.0, 1.0)
    harmony = 0.03 + 0.12 * t
    ios = np.array([_SEGMENT[s][4] for s in SEGMENTS])[segment]
    u = rng.random(n)
    platform = np.where(u < ios, PLATFORMS.index("ios"),
                        np.where(u < ios + harmony, PLATFORMS.index("harmony"),
                                 PLATFORMS.index("android"))).astype(np.int8)
    branch = channel == ACQUISITION_CHANNELS.index("branch")
    sec = np.where(branch, 9 * 3600 + rng.integers(0, 8 * 3600, n), _seconds_of_day(rng, n))
    reg_us = cal.day_us(reg_day) + sec * _US

    seg = np.array([_SEGMENT[s] for s in SEGMENTS])
    chan = np.array([_CHANNEL[c][:5] for c in ACQUISITION_CHANNELS])
    p_login = np.clip(seg[segment, 0] * chan[channel, 3] * rng.lognormal(0.0, 0.45, n),
                      0.02, 0.9)
    lam_login = np.maximum(np.array(_LOGINS_BY_AGE)[age] * rng.lognormal(0.0, 0.1, n), 1.2)
    tau = seg[segment, 1] * rng.lognormal(0.0, 0.5, n)
    churn = chan[channel, 1] * seg[segment, 3]
    react = seg[segment, 2]

    early = (~pre) & (rng.random(n) < chan[channel, 2])
    act_from = reg_day.copy()
    act_until = np.where(early, reg_day + rng.integers(1, 15, n), _NEVER).astype(np.int64)
    last_login = np.full(n, _NO_LOGIN, np.int64)
    pre_active = pre & (rng.random(n) < _PRE_WINDOW_ACTIVE)
    pre_churned = pre & ~pre_active
    # churned before the window: their last login lies between registration and day -1
    churned_at = reg_day + 1 + np.floor(rng.random(n) * (-reg_day)).astype(np.int64)
    act_until = np.where(pre_churned, np.minimum(churned_at, 0), act_until)
    last_login = np.where(pre_churned, act_until - 1, last_login)
    last_login = np.where(pre_active, -rng.integers(1, 6, n), last_login)

    # one bind_card per user, mostly within a day of registration; some never bind; users
    # transact on mobile only once bound, some weeks later, some never
    r = rng.random(n)
    bind_days = np.where(r < 0.80, rng.exponential(0.8, n),
                         np.where(r < 0.92, rng.uniform(7, 240, n), np.inf))
    bind_us = np.where(np.isinf(bind_days), _NEVER_US,
                       reg_us + (np.where(np.isinf(bind_days), 0, bind_days) * _US_PER_DAY
                                 ).astype(np.int64))
    r = rng.random(n)
    soon = chan[channel, 4]
    late_us = reg_us + (rng.exponential(_LATE_DAYS, n) * _US_PER_DAY).astype(np.int64)
    txn_from_us = np.where(r < soon, bind_us,
                           np.where(r < soon + _LATE_TRANSACTORS, np.maximum(bind_us, late_us),
                                    _NEVER_US))
    txn_from_us = np.where(pre, 0, txn_from_us)

    width = max(7, len(str(total - 1)))
    return _Users(
        ids=_ids("U", np.arange(first, first + n), width),
        reg_day=reg_day, reg_us=reg_us, channel=channel, segment=segment, age=age,
        region=region, platform=platform, p_login=p_login, lam_login=lam_login, tau=tau,
        churn=churn, react=react, reg_login=(~pre) & (rng.random(n) < 0.96),
        bind_us=bind_us, txn_from_us=txn_from_us,
        act_from=act_from, act_until=act_until, last_login=last_login,
        force_day=np.full(n, -1, np.int64), aum=np.full(n, np.nan),
    )


def _users_table(rng: np.random.Generator, u: _Users) -> pa.Table:
    n = u.n
    surname = pa.array(_SURNAMES).take(pa.array(rng.integers(0, len(_SURNAMES), n)))
    given1 = pa.array(_GIVEN).take(pa.array(rng.integers(0, len(_GIVEN), n)))
    two = rng.random(n) < 0.7
    given2 = pa.array(("",) + _GIVEN).take(
        pa.array(np.where(two, rng.integers(1, len(_GIVEN) + 1, n), 0)))
    name = pc.binary_join_element_wise(surname, given1, given2, "")
    phone = (10_000_000_000 + rng.integers(3, 10, n) * 1_000_000_000
             + rng.integers(0, 1_000_000_000, n))
    tiers = [r[1] for r in _REGIONS]
    return pa.table({
        "user_id": u.ids,
        "registered_at": pa.array(u.reg_us, pa.timestamp("us")),
        "acquisition_channel": _dict(u.channel, ACQUISITION_CHANNELS),
        "region": _dict(u.region, [r[0] for r in _REGIONS]),
        "city_tier": pa.array(tiers).take(pa.array(u.region.astype(np.int64))),
        "age_band": _dict(u.age, AGE_BANDS),
        "segment": _dict(u.segment, SEGMENTS),
        "name": name,
        "phone": pa.array(phone, pa.int64()).cast(pa.string()),
    })


def _dict(codes: np.ndarray, values: tuple[str, ...] | list[str],
          null: np.ndarray | None = None) -> pa.DictionaryArray:
    """A dictionary-encoded string column (cheap to build, VARCHAR in DuckDB)."""
    idx = pa.array(codes.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), pa.string()))


def _simulate_chunk(con: duckdb.DuckDBPyConnection, rng: np.random.Generator, cal: _Calendar,
                    campaigns: tuple[_Campaign, ...], reg: _RegistrationModel, first: int,
                    n: int, total: int, totals: _Totals) -> None:
    """Generate one chunk of users month by month and append its rows to the store."""
    u = _make_users(rng, cal, reg, first, n, total)
    _append(con, "users", _users_table(rng, u))
    inside = u.reg_day >= 0
    np.add.at(totals.new_users, (cal.month_of(u.reg_day[inside]), u.channel[inside]), 1)
    totals.registered_by_region += np.bincount(u.region, minlength=len(_REGIONS))
    _append(con, "events", _bind_card_events(cal, u))
    starts = {c.id: cal.day(c.start) for c in campaigns}
    for m in range(cal.months):
        d0, d1 = cal.month_bounds(m)
        for c in campaigns:
            if d0 <= starts[c.id] < d1:
                u.assignments.append(_assign(rng, cal, c, u))
        act, idx = _activity(rng, cal, u, m)
        _append(con, "events", _month_events(rng, cal, u, m, act, idx, totals))
        _append(con, "transactions", _month_transactions(rng, cal, u, m, act, idx, totals))
        _append(con, "balances", _month_balances(rng, cal, u, m, totals))
    if u.assignments:
        _append(con, "assignments", pa.concat_tables(u.assignments))


def _bind_card_events(cal: _Calendar, u: _Users) -> pa.Table:
    """The ``bind_card`` events that fall inside the window (one per user at most)."""
    keep = (u.bind_us >= cal.day_us(0)) & (u.bind_us < cal.end_us)
    who = np.flatnonzero(keep)
    return _events_table(u, who, u.bind_us[keep], np.full(len(who), EVENTS.index("bind_card")),
                         None, None, None)


def _events_table(u: _Users, who: np.ndarray, ts: np.ndarray, event: np.ndarray,
                  session: np.ndarray | None, auth: np.ndarray | None,
                  risk: np.ndarray | None) -> pa.Table:
    """Events of users ``who`` (chunk indices); logins only carry session, auth and risk."""
    n = len(who)
    null = np.ones(n, bool)
    return pa.table({
        "user_id": pa.DictionaryArray.from_arrays(pa.array(who.astype(np.int32)), u.ids),
        "ts": pa.array(ts, pa.timestamp("us")),
        "event": _dict(event, EVENTS),
        "session_seconds": pa.nulls(n, pa.float64()) if session is None
        else pa.array(session, pa.float64(), mask=np.isnan(session)),
        "auth_method": _dict(np.zeros(n, np.int8) if auth is None else auth, AUTH_METHODS,
                             null if auth is None else auth < 0),
        "platform": _dict(u.platform[who], PLATFORMS),
        "risk_flag": pa.nulls(n, pa.bool_()) if risk is None
        else pa.array(risk, pa.bool_(), mask=np.asarray(~_is_login(event))),
    })


def _is_login(event: np.ndarray) -> np.ndarray:
    return event == EVENTS.index("login")


def _activity(rng: np.random.Generator, cal: _Calendar, u: _Users,
              m: int) -> tuple[np.ndarray, np.ndarray]:
    """Advance the spell state to month ``m`` and draw its active days.

    Returns the boolean matrix ``act`` (users with a spell this month × days of the month)
    and ``idx``, the chunk indices of its rows.
    """
    d0, d1 = cal.month_bounds(m)
    nd = d1 - d0
    started = u.reg_day < d0
    in_spell = started & (u.act_from <= d0) & (u.act_until > d0)
    draw = rng.random(u.n)
    churn = in_spell & (u.act_until >= _NEVER) & (draw < u.churn)
    u.act_until[churn] = d0 + rng.integers(0, nd, int(churn.sum()))
    react = started & (u.act_until <= d0) & (draw < u.react)
    u.act_from[react] = d0 + rng.integers(0, nd, int(react.sum()))
    u.act_until[react] = _NEVER
    forced = (u.force_day >= d0) & (u.force_day < d1)
    off = forced & ~((u.act_from <= u.force_day) & (u.act_until > u.force_day))
    u.act_from[off] = u.force_day[off]
    u.act_until[off] = _NEVER

    lo = np.clip(u.act_from - d0, 0, nd)
    hi = np.clip(u.act_until - d0, 0, nd)
    idx = np.flatnonzero((u.reg_day < d1) & (hi > lo))
    days = np.arange(nd)
    abs_days = d0 + days
    within = (days[None, :] >= lo[idx, None]) & (days[None, :] < hi[idx, None])
    dow = np.array(_DOW_LOGIN)[cal.weekday(abs_days)]
    tenure = np.maximum(abs_days[None, :] - u.reg_day[idx, None], 0)
    boost = 1.0 + 0.8 * np.exp(-tenure / 10.0)  # curiosity in the first weeks
    ramp = np.clip((u.act_until[idx, None] - abs_days[None, :]) / 30.0, 0.25, 1.0)
    p = np.minimum(u.p_login[idx, None] * dow[None, :] * boost * ramp, 0.95)
    act = within & (rng.random(p.shape) < p)
    rd = u.reg_day[idx]
    new = (rd >= d0) & (rd < d1) & u.reg_login[idx]
    act[np.flatnonzero(new), rd[new] - d0] = True
    fd = u.force_day[idx]
    f = (fd >= d0) & (fd < d1)
    act[np.flatnonzero(f), fd[f] - d0] = True
    any_day = act.any(axis=1)
    last = d0 + nd - 1 - np.argmax(act[:, ::-1], axis=1)
    u.last_login[idx[any_day]] = last[any_day]
    return act, idx


def _after_registration(rng: np.random.Generator, ts: np.ndarray,
                        reg_us: np.ndarray) -> np.ndarray:
    """Move instants that fall before the user's registration to just after it."""
    early = ts < reg_us
    out = ts.copy()
    out[early] = reg_us[early] + rng.integers(30, 3 * 3600, int(early.sum())) * _US
    return out


def _month_events(rng: np.random.Generator, cal: _Calendar, u: _Users, m: int,
                  act: np.ndarray, idx: np.ndarray, totals: _Totals) -> pa.Table:
    """Logins (with session, auth, risk), feature events and crashes of month ``m``."""
    d0, _ = cal.month_bounds(m)
    rows, cols = np.nonzero(act)
    totals.active_users[m] += int(act.any(axis=1).sum())
    who, day = idx[rows], d0 + cols
    k = 1 + rng.poisson(u.lam_login[who] - 1.0)
    lw, ld = np.repeat(who, k), np.repeat(day, k)
    n = len(lw)
    lts = cal.day_us(ld) + _seconds_of_day(rng, n) * _US
    lts = np.minimum(_after_registration(rng, lts, u.reg_us[lw]), cal.end_us - _US)
    ld = lts // _US_PER_DAY - cal.epoch_day  # moving after registration may cross midnight
    age = u.age[lw]
    session = np.round(rng.lognormal(np.log(140.0) + 0.12 * age, 0.8), 1)
    frac = m / max(cal.months - 1, 1)
    bio = rng.random(n) < np.minimum(np.array(_BIOMETRIC_BY_AGE)[age] + 0.08 * frac, 0.97)
    face = rng.random(n) < 0.40 + 0.15 * frac
    pw = rng.random(n) < 0.55
    auth = np.where(bio, np.where(face, AUTH_METHODS.index("face"),
                                  AUTH_METHODS.index("fingerprint")),
                    np.where(pw, AUTH_METHODS.index("password"), AUTH_METHODS.index("sms")))
    risk = rng.random(n) < np.where(bio, _RISK_BIOMETRIC, _RISK_OTHER)
    np.add.at(totals.logins, ld, 1)

    nf = rng.poisson(_FEATURES_PER_LOGIN, n)
    fw = np.repeat(lw, nf)
    fts = np.repeat(lts, nf) + (rng.random(len(fw)) * np.repeat(session, nf) * _US
                                ).astype(np.int64)
    feature = _draw_by(rng, _cum(_FEATURE_MIX, SEGMENTS), u.segment[fw])
    feature_event = np.array([EVENTS.index(f) for f in FEATURES])[feature]

    crash_p = (_CRASH_PER_LOGIN * np.array([_CRASH_PLATFORM[p] for p in PLATFORMS])[u.platform[lw]]
               * _crash_factor(cal)[ld])
    crash = rng.random(n) < crash_p
    cw = lw[crash]
    cts = lts[crash] + (rng.random(len(cw)) * session[crash] * _US).astype(np.int64)
    # a crash stays on its login's day, so daily crash rates equal the planted ones exactly
    cts = np.minimum(cts, cal.day_us(ld[crash] + 1) - _US)
    np.add.at(totals.crashes, ld[crash], 1)

    who_all = np.concatenate([lw, fw, cw])
    ts = np.minimum(np.concatenate([lts, fts, cts]), cal.end_us - _US)
    event = np.concatenate([np.full(n, EVENTS.index("login")), feature_event,
                            np.full(len(cw), EVENTS.index("crash"))])
    nan_f, nan_c = np.full(len(fw), np.nan), np.full(len(cw), np.nan)
    none_f, none_c = np.full(len(fw), -1), np.full(len(cw), -1)
    return _events_table(
        u, who_all, ts, event,
        np.concatenate([session, nan_f, nan_c]),
        np.concatenate([auth, none_f, none_c]),
        np.concatenate([risk, np.zeros(len(fw), bool), np.zeros(len(cw), bool)]),
    )


def _incident_days(cal: _Calendar) -> np.ndarray:
    prev = _month_start(_month_start(cal.end), -1)
    return np.array([cal.day(prev.replace(day=d)) for d in _INCIDENT_DAYS])


def _surge_days(cal: _Calendar) -> np.ndarray:
    first = _month_start(cal.end).replace(day=_SURGE_START_DAY)
    return cal.day(first) + np.arange(_SURGE_DAYS)


def _crash_factor(cal: _Calendar) -> np.ndarray:
    """Crash probability multiplier per window day: a faulty release in the surge week."""
    f = np.ones(cal.days)
    f[_surge_days(cal)] = 1.0 + 12.0 * _SURGE_PROFILE
    return f


def _month_transactions(rng: np.random.Generator, cal: _Calendar, u: _Users, m: int,
                        act: np.ndarray, idx: np.ndarray, totals: _Totals) -> pa.Table:
    """Transactions of month ``m``: mobile ones on active days, the rest in other channels."""
    d0, d1 = cal.month_bounds(m)
    nd = d1 - d0
    frac = m / max(cal.months - 1, 1)
    share = _MOBILE_SHARE[0] + (_MOBILE_SHARE[1] - _MOBILE_SHARE[0]) * frac
    rows, cols = np.nonzero(act)
    who, day = idx[rows], d0 + cols
    expected_days = np.clip(u.p_login * 30.4 * 0.96, 1.0, 30.0)
    share_of = np.minimum(share * _MOBILE_BY_AGE[u.age], 0.97)  # per user
    k = rng.poisson(np.minimum(share_of[who] * u.tau[who] / expected_days[who], 3.0))
    mw, md = np.repeat(who, k), np.repeat(day, k)

    active = np.zeros(u.n, bool)
    active[idx[act.any(axis=1)]] = True
    reg = np.flatnonzero(u.reg_day < d1)
    begin = np.maximum(u.reg_day[reg], d0)
    frac_month = (d1 - begin) / nd
    sr = share_of[reg]
    lam = u.tau[reg] * frac_month * ((1.0 - sr) + np.where(active[reg], 0.0, 0.25 * sr))
    k_off = rng.poisson(lam)
    ow = np.repeat(reg, k_off)
    ob = np.repeat(begin, k_off)
    od = ob + np.floor(rng.random(len(ow)) * (d1 - ob)).astype(np.int64)

    n_m, n_o = len(mw), len(ow)
    off_channel = _draw_n(rng, [c[1] for c in _OFFLINE_CHANNELS], n_o)
    channel_names = ("mobile",) + tuple(c[0] for c in _OFFLINE_CHANNELS)
    chan = np.concatenate([np.zeros(n_m, np.int8), off_channel + 1])
    who_all = np.concatenate([mw, ow])
    day_all = np.concatenate([md, od])
    sec = _seconds_of_day(rng, n_m + n_o)
    branch = chan == channel_names.index("branch")
    sec[branch] = 9 * 3600 + rng.integers(0, 8 * 3600, int(branch.sum()))
    ts = _after_registration(rng, cal.day_us(day_all) + sec * _US, u.reg_us[who_all])
    ts = np.minimum(ts, cal.end_us - _US)
    keep = (chan != 0) | (ts >= u.txn_from_us[who_all])  # mobile only once able to
    who_all, day_all, chan, ts = who_all[keep], day_all[keep], chan[keep], ts[keep]

    ttype = _draw_by(rng, _cum(_TXN_MIX, SEGMENTS), u.segment[who_all])
    scene = ttype == TXN_TYPES.index("scene_payment")
    ttype[scene & (chan != 0)] = TXN_TYPES.index("transfer")
    med = np.array([_AMOUNT[t][0] for t in TXN_TYPES])[ttype]
    sig = np.array([_AMOUNT[t][1] for t in TXN_TYPES])[ttype]
    hnw_wealth = (ttype == TXN_TYPES.index("wealth")) & (u.segment[who_all] ==
                                                          SEGMENTS.index("hnw"))
    med = np.where(hnw_wealth, med * 4.0, med)
    amount = np.round(rng.lognormal(np.log(med), sig), 2)
    fail_p = np.array([_FAILURE[c] for c in channel_names])[chan]
    mobile = chan == 0
    incident = np.isin(day_all, _incident_days(cal))
    fail_p = np.where(mobile & incident, _INCIDENT_FAILURE, fail_p)
    failed = rng.random(len(ts)) < fail_p
    np.add.at(totals.mobile_attempts, day_all[mobile], 1)
    np.add.at(totals.mobile_failed, day_all[mobile & failed], 1)

    order = np.argsort(ts, kind="stable")
    ids = _ids("T", np.arange(totals.next_txn, totals.next_txn + len(order)), 10)
    totals.next_txn += len(order)
    mapped = np.array([TXN_CHANNELS.index(c) for c in channel_names])[chan]
    return pa.table({
        "txn_id": ids,
        "user_id": pa.DictionaryArray.from_arrays(pa.array(who_all[order].astype(np.int32)),
                                                  u.ids),
        "ts": pa.array(ts[order], pa.timestamp("us")),
        "type": _dict(ttype[order], TXN_TYPES),
        "channel": _dict(mapped[order], TXN_CHANNELS),
        "amount": pa.array(amount[order], pa.float64()),
        "status": _dict(failed[order].astype(np.int8), ("success", "failed")),
    })


def _month_balances(rng: np.random.Generator, cal: _Calendar, u: _Users, m: int,
                    totals: _Totals) -> pa.Table:
    """Month-end AUM of every registered user; counts HNW conversions on the way."""
    _, d1 = cal.month_bounds(m)
    reg = np.flatnonzero(u.reg_day < d1)
    seg = u.segment[reg]
    params = np.array([_AUM[s] for s in SEGMENTS])
    had = ~np.isnan(u.aum[reg])
    prev = u.aum[reg]
    start = rng.lognormal(np.log(params[seg, 0]), params[seg, 1])
    step = rng.normal(params[seg, 2], params[seg, 3])
    windfall = np.where(rng.random(len(reg)) < _WINDFALL, rng.lognormal(-1.6, 0.6, len(reg)),
                        0.0)
    grown = prev * np.exp(step) * (1.0 + windfall)
    new = np.where(had, grown, start)
    d0, _ = cal.month_bounds(m)
    pos = np.full(u.n, -1, np.int64)
    pos[reg] = np.arange(len(reg))
    for who, day, amount in u.deposits:  # campaign conversions of this month add new funds
        hit = (day >= d0) & (day < d1) & (pos[who] >= 0)
        np.add.at(new, pos[who[hit]], amount)
    new = np.round(new, 2)
    u.aum[reg] = new
    if m > 0:
        th = Thresholds()
        eligible = had & (prev >= th.eligible_aum) & (prev < th.hnw_aum)
        totals.hnw_eligible[m] += int(eligible.sum())
        totals.hnw_converted[m] += int((eligible & (new >= th.hnw_aum)).sum())
    month_end = cal.epoch_day + d1 - 1
    return pa.table({
        "user_id": pa.DictionaryArray.from_arrays(pa.array(reg.astype(np.int32)), u.ids),
        "month": pa.array(np.full(len(reg), month_end, np.int32), pa.date32()),
        "aum": pa.array(new, pa.float64()),
    })


def _assign(rng: np.random.Generator, cal: _Calendar, c: _Campaign, u: _Users) -> pa.Table:
    """Assignments of campaign ``c`` among the chunk's eligible users (at its start)."""
    cs, ce = cal.day(c.start), cal.day(c.end)
    if c.eligibility == "new":  # customers in their first three years, and those joining
        eligible = (u.reg_day >= cs - 3 * 365) & (u.reg_day <= ce)
    elif c.eligibility == "active30":
        eligible = (u.reg_day < cs) & (u.last_login >= cs - 30)
    elif c.eligibility == "active60_wealth":
        wealth = np.isin(u.segment, [SEGMENTS.index(s) for s in ("mass", "affluent", "hnw")])
        eligible = (u.reg_day < cs) & (u.last_login >= cs - 60) & wealth
    else:  # dormant: no login in the 180 days before the start
        eligible = (u.reg_day < cs - 180) & (u.last_login < cs - 180)
    pick = eligible & (rng.random(u.n) < c.assign_share)
    who = np.flatnonzero(pick)
    n = len(who)
    variant = _draw_n(rng, c.split, n)
    start_us = int(cal.day_us(cs)) + 9 * 3600 * _US
    end_us = int(cal.day_us(ce + 1)) - _US
    joined = u.reg_us[who] > start_us
    assigned = np.where(joined, u.reg_us[who] + rng.integers(60, 2 * 3600, n) * _US,
                        start_us + rng.integers(0, 2 * 86_400, n) * _US)
    assigned = np.minimum(assigned, end_us)
    rate = np.array(c.rates)[variant]
    converted = rng.random(n) < rate
    # most convert within days of the touch; a delay past the end is redrawn inside it
    delay = (rng.exponential(7.0, n) * _US_PER_DAY).astype(np.int64)
    inside = rng.random(n) * (end_us - assigned)
    conv_us = np.where(assigned + delay <= end_us, assigned + delay,
                       assigned + inside.astype(np.int64))
    reached = converted | (rng.random(n) < (0.85 - rate) / (1.0 - rate))
    touch = _draw_n(rng, c.touch, n)
    reward = np.where(converted, np.array(c.rewards)[variant], 0.0)
    days = conv_us[converted] // _US_PER_DAY - cal.epoch_day
    if c.kind == "tiered_benefits":  # a conversion is a reactivation: a login that day
        u.force_day[who[converted]] = days
    if c.deposit:  # a tier reached / a product bought: new funds kept from that day on
        u.deposits.append((who[converted], days, c.deposit))
    return pa.table({
        "user_id": pa.DictionaryArray.from_arrays(pa.array(who.astype(np.int32)), u.ids),
        "campaign_id": pa.array(np.full(n, c.id), pa.string()),
        "variant": _dict(variant, c.variants),
        "touch_channel": _dict(touch, TOUCH_CHANNELS),
        "assigned_at": pa.array(assigned, pa.timestamp("us")),
        "reached": pa.array(reached, pa.bool_()),
        "converted_at": pa.array(conv_us, pa.timestamp("us"), mask=~converted),
        "reward_cost": pa.array(reward, pa.float64()),
    })


# == user-independent tables ================================================================
def _regions_table(rng: np.random.Generator, totals: _Totals) -> pa.Table:
    """Populations chosen so that registered ÷ population ends near the tier's target."""
    target = np.array([_PENETRATION[r[1]] for r in _REGIONS]) * rng.uniform(0.93, 1.07,
                                                                             len(_REGIONS))
    population = np.maximum(np.round(totals.registered_by_region / target), 100).astype(np.int64)
    return pa.table({
        "region": [r[0] for r in _REGIONS],
        "city_tier": [r[1] for r in _REGIONS],
        "population": pa.array(population, pa.int64()),
    })


def _active_campaign(campaigns: tuple[_Campaign, ...], d: date, *, category: str | None = None,
                     channel: str | None = None) -> str | None:
    for c in campaigns:
        if c.start <= d <= c.end and (
                (category is not None and c.spend_category == category)
                or (channel is not None and c.spend_channel == channel)):
            return c.id
    return None


def _spend_table(rng: np.random.Generator, cal: _Calendar, campaigns: tuple[_Campaign, ...],
                 totals: _Totals, scale: float) -> pa.Table:
    """Daily spend by channel and category: acquisition spend per channel, the rest internal.

    Acquisition spend of a paid channel in a month = its target CAC × its new users × noise,
    charged to the channel's category; the rest of each category's plan is ``internal``
    (carrying the id of the campaign it serves, when one runs). KOL has no internal part.
    """
    cols: dict[str, list] = {k: [] for k in ("date", "channel", "category", "campaign_id",
                                             "amount", "impressions", "clicks")}

    def add(days: np.ndarray, channel: str, category: str, amount: float, weights: np.ndarray,
            campaign_of: Callable[[date], str | None]) -> None:
        if amount <= 0 or len(days) == 0:
            return
        daily = np.round(amount * weights / weights.sum(), 2)
        for d, a in zip(days, daily, strict=True):
            if a <= 0:
                continue
            when = cal.date_of(d)
            impressions = clicks = 0
            if category in _CPM:
                impressions = int(a / _CPM[category] * 1000 * rng.lognormal(0.0, 0.1))
                clicks = int(rng.binomial(impressions, _CTR[category]))
            cols["date"].append(when)
            cols["channel"].append(channel)
            cols["category"].append(category)
            cols["campaign_id"].append(campaign_of(when))
            cols["amount"].append(float(a))
            cols["impressions"].append(impressions)
            cols["clicks"].append(clicks)

    plan_total = _PLAN_PER_MONTH * scale
    for m in range(cal.months):
        d0, d1 = cal.month_bounds(m)
        days = np.arange(d0, d1)
        weekday = cal.weekday(days) < 5
        flat = rng.lognormal(0.0, 0.25, len(days))
        office = flat * np.where(weekday, 1.0, 0.3)
        acquired: dict[str, float] = {}
        for ch in _PAID_CHANNELS:
            cac, category = _CHANNEL[ch][5], _CHANNEL[ch][6]
            new = totals.new_users[m, ACQUISITION_CHANNELS.index(ch)]
            amount = cac * new * rng.lognormal(0.0, 0.08)
            acquired[category] = acquired.get(category, 0.0) + amount
            w = office if category == "offline" else rng.lognormal(0.0, 0.25, len(days))
            add(days, ch, category, amount, w,
                lambda d, ch=ch: _active_campaign(campaigns, d, channel=ch))
        for category in ("digital_ads", "offline", "partnership"):
            plan = plan_total * _BUDGET_SHARES[category]
            rest = max(plan * rng.lognormal(0.02, 0.05) - acquired.get(category, 0.0),
                       0.1 * plan)
            w = office if category == "offline" else rng.lognormal(0.0, 0.25, len(days))
            add(days, "internal", category, rest, w,
                lambda d, cat=category: _active_campaign(campaigns, d, category=cat))
        workdays = days[weekday]
        training = rng.choice(workdays, size=min(4, len(workdays)), replace=False)
        add(np.sort(training), "internal", "training",
            plan_total * _BUDGET_SHARES["training"] * rng.lognormal(0.0, 0.08),
            rng.uniform(0.5, 1.5, len(training)), lambda d: None)
        lumps = np.sort(rng.choice(days, size=int(rng.integers(1, 3)), replace=False))
        add(lumps, "internal", "reserve",
            plan_total * _BUDGET_SHARES["reserve"] * rng.uniform(0.3, 1.0),
            rng.uniform(0.5, 1.5, len(lumps)), lambda d: None)
        add(workdays, "internal", "tech", plan_total * 0.012 * rng.lognormal(0.0, 0.2),
            np.ones(len(workdays)), lambda d: None)
        add(workdays, "internal", "service", plan_total * 0.006 * rng.lognormal(0.0, 0.2),
            np.ones(len(workdays)), lambda d: None)
    order = sorted(range(len(cols["date"])),
                   key=lambda i: (cols["date"][i], cols["channel"][i], cols["category"][i]))
    return pa.table({
        "date": pa.array([cols["date"][i] for i in order], pa.date32()),
        "channel": pa.array([cols["channel"][i] for i in order], pa.string()),
        "category": pa.array([cols["category"][i] for i in order], pa.string()),
        "campaign_id": pa.array([cols["campaign_id"][i] for i in order], pa.string()),
        "amount": pa.array([cols["amount"][i] for i in order], pa.float64()),
        "impressions": pa.array([cols["impressions"][i] for i in order], pa.int64()),
        "clicks": pa.array([cols["clicks"][i] for i in order], pa.int64()),
    })


def _surveys_table(rng: np.random.Generator, cal: _Calendar, scale: float) -> pa.Table:
    """Monthly survey responses: NPS around 28 → 36 (a dip in the last month), awareness up."""
    dates, scores, aware, null = [], [], [], []
    for m in range(cal.months):
        d0, d1 = cal.month_bounds(m)
        t = m / max(cal.months - 1, 1)
        n = max(int(rng.poisson(_SURVEYS_PER_MONTH * scale)), 20)
        promoter = 0.42 + 0.07 * t
        detractor = 0.15 - 0.03 * t + (0.03 if m == cal.months - 1 else 0.0)
        kind = _draw_n(rng, [detractor, 1.0 - promoter - detractor, promoter], n)
        score = np.where(kind == 2, rng.choice([9, 10], n, p=[0.6, 0.4]),
                         np.where(kind == 1, rng.choice([7, 8], n, p=[0.5, 0.5]),
                                  rng.choice(7, n, p=[0.05, 0.05, 0.08, 0.1, 0.12, 0.25, 0.35])))
        dates.append(d0 + rng.integers(0, d1 - d0, n))
        scores.append(score)
        aware.append(rng.random(n) < 0.30 + 0.20 * t)
        null.append(rng.random(n) < 0.08)
    day = np.concatenate(dates)
    order = np.argsort(day, kind="stable")
    return pa.table({
        "response_id": _ids("R", np.arange(1, len(day) + 1), 6),
        "date": pa.array((day[order] + cal.epoch_day).astype(np.int32), pa.date32()),
        "nps_score": pa.array(np.concatenate(scores)[order], pa.int64()),
        "aware_unaided": pa.array(np.concatenate(aware)[order], pa.bool_(),
                                  mask=np.concatenate(null)[order]),
    })


@dataclass(frozen=True)
class _Surge:
    days: np.ndarray
    baseline: tuple[int, int]  # first and last window day of the baseline
    multiple: float


def _complaints_table(rng: np.random.Generator, cal: _Calendar,
                      totals: _Totals) -> tuple[pa.Table, _Surge]:
    """Tickets proportional to active users, plus the planted app-crash surge.

    Transfer-failure tickets triple on the incident days and the two days after. The surge
    adds tickets to the surge week (decaying after a faulty release) so that its mean daily
    count is about ``_SURGE_MULTIPLE`` × the mean daily count of the 84 days before.
    """
    cats = [c for c, _ in _COMPLAINT_MIX]
    mix = np.array([s for _, s in _COMPLAINT_MIX])
    per_day = np.zeros(cal.days)
    for m in range(cal.months):
        d0, d1 = cal.month_bounds(m)
        monthly = max(_COMPLAINTS_PER_10K * totals.active_users[m] / 10_000, _COMPLAINT_FLOOR)
        per_day[d0:d1] = monthly / (d1 - d0)
    lam = per_day[:, None] * mix[None, :]
    tf = cats.index("transfer_failure")
    hit = np.unique(np.concatenate([_incident_days(cal) + k for k in range(3)]))
    lam[hit[hit < cal.days], tf] *= 3.0
    counts = rng.poisson(lam)  # (days, categories)

    surge = _surge_days(cal)
    sc = cats.index(_SURGE_CATEGORY)
    b0, b1 = int(surge[0] - _SURGE_BASELINE_DAYS), int(surge[0] - 1)
    usual = counts[max(b0, 0):b1 + 1, sc].sum() / (b1 - max(b0, 0) + 1)
    usual = max(usual, 1.0 / _SURGE_BASELINE_DAYS)
    if counts[max(b0, 0):b1 + 1, sc].sum() == 0:  # tiny store: plant one usual ticket
        counts[b1, sc] += 1
    # about 4× the usual count, and at small sizes at least enough to clear a one-sided 3σ
    # Poisson limit of the week (with a margin): detectable at any size
    expected = usual * _SURGE_DAYS
    target = max(int(np.ceil(_SURGE_MULTIPLE * expected)), _poisson_limit(expected) + 2)
    extra = max(target - int(counts[surge, sc].sum()), 0)
    counts[surge, sc] += _apportion(extra, _SURGE_PROFILE)
    base_sum = counts[max(b0, 0):b1 + 1, sc].sum() / (b1 - max(b0, 0) + 1)
    multiple = (counts[surge, sc].sum() / _SURGE_DAYS) / base_sum

    day_idx, cat_idx = np.nonzero(counts)
    reps = counts[day_idx, cat_idx]
    day = np.repeat(day_idx, reps)
    cat = np.repeat(cat_idx, reps)
    n = len(day)
    created = cal.day_us(day) + _seconds_of_day(rng, n) * _US
    order = np.argsort(created, kind="stable")
    created, cat = created[order], cat[order]
    hours = rng.lognormal(np.log(18.0), 1.3, n)
    resolved = created + (hours * 3600 * _US).astype(np.int64)
    open_ = (rng.random(n) < 0.04) | (resolved >= cal.end_us)
    severity = _draw_n(rng, [0.6, 0.3, 0.1], n)
    table = pa.table({
        "ticket_id": _ids("K", np.arange(1, n + 1), 6),
        "created_at": pa.array(created, pa.timestamp("us")),
        "category": _dict(cat, cats),
        "severity": _dict(severity, SEVERITIES),
        "resolved_at": pa.array(resolved, pa.timestamp("us"), mask=open_),
    })
    return table, _Surge(surge, (max(b0, 0), b1), float(multiple))


def _poisson_limit(mu: float, alpha: float = 0.00135) -> int:
    """The smallest ``k`` with ``P(X > k) ≤ alpha`` for ``X ~ Poisson(mu)``."""
    k, pmf = 0, math.exp(-mu)
    cdf = pmf
    while 1.0 - cdf > alpha:
        k += 1
        pmf *= mu / k
        cdf += pmf
    return k


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` by ``weights`` (largest remainders)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - out.sum()
    out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def _benchmarks_table(rng: np.random.Generator, cal: _Calendar) -> pa.Table:
    """Industry and three peers, monthly: MAU ratio, NPS, mobile share, app rating."""
    subjects = {"industry": 0.0, "Peer Bank A": 0.06, "Peer Bank B": -0.04, "Peer Bank C": 0.02}
    metrics = {  # metric: (source, level at start, trend over the window, noise, digits)
        "mau_ratio": ("QuestMobile", 0.55, 0.04, 0.01, 3),
        "nps": ("Industry NPS survey", 27.0, 4.0, 2.0, 1),
        "mobile_share": ("Banking association", 0.60, 0.15, 0.01, 3),
        "app_rating": ("App stores", 4.3, 0.1, 0.05, 2),
    }
    rows: dict[str, list] = {k: [] for k in ("period", "source", "metric", "subject", "value")}
    for m, label in enumerate(cal.labels):
        t = m / max(cal.months - 1, 1)
        for metric, (source, level, trend, noise, digits) in metrics.items():
            for subject, edge in subjects.items():
                unit = {"nps": 50.0, "app_rating": 2.0}.get(metric, 1.0)
                v = level + trend * t + edge * unit + rng.normal(0.0, noise)
                rows["period"].append(label)
                rows["source"].append(source)
                rows["metric"].append(metric)
                rows["subject"].append(subject)
                rows["value"].append(round(float(v), digits))
    return pa.table({k: pa.array(v) for k, v in rows.items()})


# == ground truth ===========================================================================
def _ground_truth(con: duckdb.DuckDBPyConnection, cal: _Calendar,
                  campaigns: tuple[_Campaign, ...], totals: _Totals, surge: _Surge,
                  users: int) -> pd.DataFrame:
    rows: list[tuple[str, float | None, str | None]] = [("users.total", float(users), None)]
    for c in campaigns:
        split = dict(zip(c.variants, c.split, strict=True))
        rows.append((f"experiment.{c.id}.control.rate", c.rates[0],
                     _json({"variants": list(c.variants), "planned_split": split,
                                 "definition": "P(converted_at not null | assigned), "
                                               "whole campaign"})))
        for v, r in zip(c.variants[1:], c.rates[1:], strict=True):
            rows.append((f"experiment.{c.id}.{v}.true_lift_abs", round(r - c.rates[0], 10),
                         None))

    inc = _incident_days(cal)
    d0, d1 = cal.month_bounds(int(cal.month_of(inc[0])))
    other = np.setdiff1d(np.arange(d0, d1), inc)
    rows.append(("failure_incident",
                 _rate(totals.mobile_failed[inc], totals.mobile_attempts[inc]),
                 _json([cal.date_of(d).isoformat() for d in inc])))
    rows.append(("failure_incident.baseline_rate",
                 _rate(totals.mobile_failed[other], totals.mobile_attempts[other]),
                 _json({"start": cal.date_of(d0).isoformat(),
                             "end": cal.date_of(d1 - 1).isoformat(),
                             "excluding": [cal.date_of(d).isoformat() for d in inc]})))
    surge_detail = {"category": _SURGE_CATEGORY,
                    "start": cal.date_of(surge.days[0]).isoformat(),
                    "end": cal.date_of(surge.days[-1]).isoformat(),
                    "baseline_start": cal.date_of(surge.baseline[0]).isoformat(),
                    "baseline_end": cal.date_of(surge.baseline[1]).isoformat()}
    rows.append(("complaint_surge", surge.multiple, _json(surge_detail)))
    rest = np.setdiff1d(np.arange(cal.days), surge.days)
    rows.append(("crash_spike",
                 _rate(totals.crashes[surge.days], totals.logins[surge.days])
                 / _rate(totals.crashes[rest], totals.logins[rest]),
                 _json({"start": surge_detail["start"], "end": surge_detail["end"]})))

    spend = dict(con.execute(
        "SELECT channel, sum(amount) FROM spend WHERE channel <> 'internal' GROUP BY channel"
    ).fetchall())
    new = totals.new_users.sum(axis=0)
    cac = {ch: _rate(spend.get(ch, 0.0), new[ACQUISITION_CHANNELS.index(ch)])
           for ch in _PAID_CHANNELS}
    definition = ("sum(spend.amount) of the channel ÷ users of that acquisition_channel "
                  f"registered in {cal.start.isoformat()}..{cal.end.isoformat()}")
    for ch, v in cac.items():
        rows.append((f"cac.{ch}", v, _json({"definition": definition})))
    median = float(np.nanmedian(list(cac.values())))
    worst = max(cac, key=lambda k: -np.inf if np.isnan(cac[k]) else cac[k])
    rows.append(("worst_cac_channel", cac[worst] / median, _json(worst)))

    for m in range(1, cal.months):
        rows.append((f"hnw_conversions.{cal.labels[m]}", float(totals.hnw_converted[m]),
                     _json({"eligible": int(totals.hnw_eligible[m])})))
    pen = con.execute(
        "WITH reg AS (SELECT r.city_tier AS tier, count(u.user_id) AS n FROM regions r "
        "LEFT JOIN users u ON u.region = r.region GROUP BY 1), "
        "pop AS (SELECT city_tier AS tier, sum(population) AS n FROM regions GROUP BY 1) "
        "SELECT tier, reg.n / pop.n FROM reg JOIN pop USING (tier)").fetchall()
    for tier, v in sorted(pen):
        rows.append((f"penetration.{tier}", float(v), None))
    df = pd.DataFrame(rows, columns=["key", "value", "detail"])
    df["value"] = df["value"].astype("float64")
    return df.sort_values("key", ignore_index=True)


def _json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _rate(num: np.ndarray | float, den: np.ndarray | float) -> float:
    n, d = float(np.sum(num)), float(np.sum(den))
    return n / d if d else float("nan")


# == the store ==============================================================================
_DUCK_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE",
               "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}
_EXTRA_COLUMNS = {"users": (("name", "VARCHAR"), ("phone", "VARCHAR"))}


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for spec in TABLES.values():
        cols = [f'"{c.name}" {_DUCK_TYPES[c.dtype]}' for c in spec.columns]
        cols += [f'"{n}" {t}' for n, t in _EXTRA_COLUMNS.get(spec.name, ())]
        con.execute(f'CREATE TABLE "{spec.name}" ({", ".join(cols)})')
    con.execute(f'CREATE TABLE "{GROUND_TRUTH_TABLE}" '
                '("key" VARCHAR, "value" DOUBLE, "detail" VARCHAR)')


def _append(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Append an Arrow table to store table ``name`` (same column order)."""
    con.register("_demo_batch", table)
    try:
        con.execute(f'INSERT INTO "{name}" SELECT * FROM _demo_batch')
    finally:
        con.unregister("_demo_batch")



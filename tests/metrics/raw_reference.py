"""The raw-event path of the families that now read daily rollups: a reference for tests only.

These are the engine queries of retention, funnel, lifecycle, satisfaction (active users),
market (monthly MAU ratio and mobile share) and ``activity_trend`` as they were before the
rollups (:mod:`review.data.rollup`), reading raw ``events`` and ``transactions``. The
exactness tests check that the rollup path gives the same tables, to the last digit, on the
demo store. Not used by the package.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

import ibis
import pandas as pd

from review.metrics.acquisition import trend_months, user_trend
from review.metrics.common import Window, elapsed_seconds, execute, ratio_column
from review.metrics.lifecycle import dormancy_window
from review.metrics.market import OWN_METRICS, _awareness_aggregates, _with_share
from review.metrics.retention import DAY_N
from review.metrics.satisfaction import nps_aggregates, with_nps_interval
from review.metrics.value import month_index, month_of_index, successful_transactions


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time.min)


def day_n_retention(users: ibis.Table, events: ibis.Table, w: Window,
                    days: Sequence[int] = DAY_N, *, by: str | None = None,
                    until: date | None = None) -> pd.DataFrame:
    """Day-N retention of the users registered in ``w`` (one users query, one events query).

    Parameters
    ----------
    users, events
        Contract tables.
    w
        The period whose new users form the cohort.
    days
        The N values (calendar days after the registration date).
    by
        Optional ``users`` column to break the cohort down by (e.g. ``acquisition_channel``).
    until
        Last date of follow-up (default ``w.end``): day N is observable iff
        ``date(registered_at) + N ≤ until``; logins after ``until`` are ignored.

    Returns
    -------
    DataFrame
        ``[by,] day, new_users, eligible_users, excluded_users, retained_users, retention``;
        retention = retained ÷ eligible (ratio 0–1, NaN when nobody is eligible). Counts of
        users. Sorted by ``by`` then ``day``.
    """
    until = w.end if until is None else until
    keys = [by] if by else []
    new = users.filter(w.has_ts(users.registered_at))
    # observable iff reg date + N ≤ until  ⇔  registered_at < (until − N + 1 day) 00:00
    sizes = _aggregate(new, keys, new_users=new.count(), **{
        f"eligible_{n}": new.count(where=new.registered_at < ibis.literal(
            _midnight(until - timedelta(days=n - 1)))) for n in days})
    lo = _midnight(w.start + timedelta(days=min(days)))
    hi = _midnight(until + timedelta(days=1))
    logins = events.filter((events.event == "login") & (events.ts >= ibis.literal(lo))
                           & (events.ts < ibis.literal(hi)))
    j = logins.select("user_id", day=logins.ts.date()).join(
        new.select("user_id", *keys, reg_day=new.registered_at.date()), "user_id")
    # date + interval: calendar days on every engine (no elapsed-time difference involved)
    hit = {n: j.day == (j.reg_day + ibis.interval(days=n)) for n in days}
    agg = {f"retained_{n}": j.user_id.nunique(where=cond) for n, cond in hit.items()}
    retained = _aggregate(j, keys, **agg)
    s, r = execute(sizes), execute(retained)
    df = s.merge(r, on=keys, how="left") if keys else pd.concat([s, r], axis=1)
    out = []
    for n in days:
        part = df[keys + ["new_users"]].copy()
        part["day"] = n
        part["eligible_users"] = df[f"eligible_{n}"].fillna(0).astype("int64")
        part["excluded_users"] = part["new_users"] - part["eligible_users"]
        part["retained_users"] = df[f"retained_{n}"].fillna(0).astype("int64")
        out.append(part)
    res = pd.concat(out, ignore_index=True)
    res["retention"] = ratio_column(res["retained_users"], res["eligible_users"])
    res = res.sort_values(keys + ["day"], ignore_index=True)
    return res[keys + ["day", "new_users", "eligible_users", "excluded_users",
                       "retained_users", "retention"]]


def _aggregate(t: ibis.Table, keys: list[str], **metrics: ibis.Scalar) -> ibis.Table:
    """``t`` aggregated by ``keys``, or into one row when ``keys`` is empty."""
    return t.group_by(keys).aggregate(**metrics) if keys else t.aggregate(**metrics)


def weekly_cohorts(users: ibis.Table, events: ibis.Table, end: date, weeks: int = 12
                   ) -> pd.DataFrame:
    """Weekly registration cohorts and their retention by week offset (a cohort triangle).

    Cohorts: the ``weeks`` ISO weeks (Monday start) ending with the week of ``end``; users
    registered after ``end`` are left out. retention(w, k) = users of cohort w with ≥1 login
    in week w + k ÷ cohort users, k = 0 … ``weeks`` − 1. Weeks that end after ``end`` are
    unobservable: NaN, ``observable = False``. One users query and one events query.

    Returns
    -------
    DataFrame
        ``cohort_week`` (Monday, date), ``week`` (k), ``cohort_users``, ``retained_users``,
        ``retention`` (ratio 0–1), ``observable``; ``weeks × weeks`` rows, sorted.
        Not suppressed: :func:`breakdowns` applies ``suppress_small_cells``.
    """
    last_cohort = end - timedelta(days=end.weekday())
    first_cohort = last_cohort - timedelta(weeks=weeks - 1)
    # the last week we may look at: the one whose Sunday is on or before `end`
    last_seen = last_cohort if end.weekday() == 6 else last_cohort - timedelta(weeks=1)
    reg = users.registered_at
    cohort = users.filter((reg >= ibis.literal(_midnight(first_cohort)))
                          & (reg < ibis.literal(_midnight(end + timedelta(days=1)))))
    cohort = cohort.select("user_id", cohort_week=cohort.registered_at.truncate("W").date())
    sizes = execute(cohort.group_by("cohort_week").aggregate(cohort_users=cohort.count()))
    logins = events.filter((events.event == "login")
                           & (events.ts >= ibis.literal(_midnight(first_cohort)))
                           & (events.ts < ibis.literal(_midnight(last_seen + timedelta(weeks=1)))))
    j = logins.select("user_id", login_week=logins.ts.truncate("W").date()).join(
        cohort, "user_id")
    seen = execute(j.group_by(["cohort_week", "login_week"])
                   .aggregate(retained_users=j.user_id.nunique()))
    for c in ("cohort_week", "login_week"):
        seen[c] = pd.to_datetime(seen[c]).dt.date
    sizes["cohort_week"] = pd.to_datetime(sizes["cohort_week"]).dt.date
    seen["week"] = [(lw - cw).days // 7 for cw, lw in zip(seen["cohort_week"],
                                                         seen["login_week"], strict=True)]
    found = seen.set_index(["cohort_week", "week"])["retained_users"]
    size = sizes.set_index("cohort_week")["cohort_users"]
    records = []
    for i in range(weeks):
        cw = first_cohort + timedelta(weeks=i)
        for k in range(weeks):
            observable = cw + timedelta(weeks=k) <= last_seen
            n = int(found.get((cw, k), 0)) if observable else float("nan")
            records.append((cw, k, int(size.get(cw, 0)), n, observable))
    out = pd.DataFrame.from_records(records, columns=[
        "cohort_week", "week", "cohort_users", "retained_users", "observable"])
    out["retained_users"] = out["retained_users"].astype("float64")
    out["retention"] = ratio_column(out["retained_users"], out["cohort_users"])
    out["observable"] = out["observable"].astype(bool)
    return out[["cohort_week", "week", "cohort_users", "retained_users", "retention",
                "observable"]]


def funnel_users(users: ibis.Table, events: ibis.Table, transactions: ibis.Table, w: Window,
                 window_days: int, by: str | None = None) -> ibis.Table:
    """Per-user funnel times (an Ibis expression, not executed).

    Returns
    -------
    ibis.Table
        One row per user registered in ``w``: ``user_id``, ``by`` (if given),
        ``registered_at``, ``bound_at`` and ``txn_at`` (timestamps, null when the step was
        not reached within the window), ``hours_to_bind`` and ``hours_to_txn`` (elapsed
        hours from the previous step, float, null when not reached).
    """
    keys = [by] if by else []
    win_s = window_days * 86_400
    new = users.filter(w.has_ts(users.registered_at)).select(
        "user_id", *keys, "registered_at")
    # pre-filter the big tables to the only instants that can count: [start, end + W + 1 day)
    lo, hi = ibis.literal(w.ts_lo), ibis.literal(w.ts_hi + timedelta(days=window_days))
    binds = events.filter((events.event == "bind_card") & (events.ts >= lo) & (events.ts < hi))
    jb = binds.select("user_id", "ts").join(new, "user_id")
    # elapsed seconds (epoch arithmetic), not engine `delta`: see the module docstring
    since_reg = elapsed_seconds(jb.ts, jb.registered_at)
    bound = (jb.filter((since_reg >= 0) & (since_reg < win_s))
             .group_by("user_id").aggregate(bound_at=jb.ts.min()))
    step2 = new.left_join(bound, "user_id").select(*new.columns, "bound_at")
    txns = transactions.filter((transactions.status == "success")
                               & (transactions.channel == "mobile")
                               & (transactions.ts >= lo) & (transactions.ts < hi))
    jt = txns.select("user_id", "ts").join(
        step2.filter(step2.bound_at.notnull()).select("user_id", "registered_at", "bound_at"),
        "user_id")
    since_reg_t = elapsed_seconds(jt.ts, jt.registered_at)
    first_txn = (jt.filter((jt.ts >= jt.bound_at) & (since_reg_t < win_s))
                 .group_by("user_id").aggregate(txn_at=jt.ts.min()))
    per_user = step2.left_join(first_txn, "user_id").select(*step2.columns, "txn_at")
    return per_user.mutate(
        hours_to_bind=elapsed_seconds(per_user.bound_at, per_user.registered_at) / 3600.0,
        hours_to_txn=elapsed_seconds(per_user.txn_at, per_user.bound_at) / 3600.0,
    )


def user_states(users: ibis.Table, events: ibis.Table, w: Window, dormancy_days: int
                ) -> ibis.Table:
    """The lifecycle state of every user registered by ``w.end`` (an Ibis expression).

    One pass over the logins of ``[min(previous, dormancy window).start, w.end]``.

    Returns
    -------
    ibis.Table
        ``user_id``, ``state`` (one of :data:`STATES`, see module docstring).
    """
    prev = w.shifted(-w.days)
    dorm = dormancy_window(w, dormancy_days)
    lo = min(prev.ts_lo, dorm.ts_lo)
    logins = events.filter((events.event == "login") & (events.ts >= ibis.literal(lo))
                           & (events.ts < ibis.literal(w.ts_hi)))
    flags = logins.group_by("user_id").aggregate(
        n_p=logins.count(where=w.has_ts(logins.ts)),
        n_prev=logins.count(where=prev.has_ts(logins.ts)),
        n_dorm=logins.count(where=dorm.has_ts(logins.ts)),
    )
    base = users.filter(users.registered_at < ibis.literal(w.ts_hi)).select(
        "user_id", "registered_at")
    u = base.left_join(flags, "user_id").select(
        "user_id", "registered_at", "n_p", "n_prev", "n_dorm")
    active = u.n_p.fill_null(0) > 0
    active_prev = u.n_prev.fill_null(0) > 0
    dormant = u.n_dorm.fill_null(0) == 0
    state = ibis.cases(
        (u.registered_at >= ibis.literal(w.ts_lo), "new"),
        (dormant & active, "reactivated"),
        (dormant, "dormant"),
        (active & active_prev, "returning"),
        (active, "resurrected"),
        (active_prev, "churned"),
        else_="inactive",
    )
    return u.select("user_id", state=state)


def lifecycle_trend(users: ibis.Table, events: ibis.Table, end: date, dormancy_days: int,
                    months: int = 12) -> pd.DataFrame:
    """Dormant users at each month's start and how many were reactivated in the month.

    One grouped events query: logins of ``[first month − D days, end]`` are reduced to one
    row per (user, active month) with the last login date, the previous active month's last
    login date (``lag``) and the next active month (``lead``), then crossed with the
    ``months`` target months. A user is *not* dormant at month m's start when the latest
    active month before m has its last login on or after ``m − D``; dormant users are the
    users registered before m minus those. Reactivated: active in m, registered before m,
    and the previous login (if any) before ``m − D``.

    Returns
    -------
    DataFrame
        ``month``, ``dormant_at_start``, ``reactivated``, ``reactivation_rate``.
    """
    month_list = trend_months(end, months)
    lo = datetime.combine(month_list[0] - timedelta(days=dormancy_days), time.min)
    hi = datetime.combine(end + timedelta(days=1), time.min)
    logins = events.filter((events.event == "login") & (events.ts >= ibis.literal(lo))
                           & (events.ts < ibis.literal(hi)))
    day = logins.ts.date()
    um = logins.group_by(user_id=logins.user_id, month=day.truncate("M")).aggregate(
        last_login=day.max())
    by_user = ibis.window(group_by="user_id", order_by="month")
    um = um.mutate(prev_last=um.last_login.lag().over(by_user),
                   next_month=um.month.lead().over(by_user))
    um = um.join(users.select("user_id", "registered_at"), "user_id")
    targets = ibis.memtable({
        "t_month": month_list,
        "t_from": [m - timedelta(days=dormancy_days) for m in month_list],
        "t_ts": [datetime.combine(m, time.min) for m in month_list],
    })
    x = um.cross_join(targets)
    still_active = ((x.month < x.t_month)
                    & (x.next_month.isnull() | (x.next_month >= x.t_month))
                    & (x.last_login >= x.t_from))
    back = ((x.month == x.t_month) & (x.registered_at < x.t_ts)
            & (x.prev_last.isnull() | (x.prev_last < x.t_from)))
    got = execute(x.group_by(month=x.t_month).aggregate(
        not_dormant=x.count(where=still_active), reactivated=x.count(where=back)))
    got["month"] = pd.to_datetime(got["month"]).dt.date
    got = got.set_index("month")
    # users registered before month m = registered base at the end of the month before m
    base_before = user_trend(users, end, months + 1)["registered_base"].iloc[:-1].tolist()
    out = pd.DataFrame({"month": month_list})
    not_dormant = [int(got["not_dormant"].get(m, 0)) for m in month_list]
    out["dormant_at_start"] = [b - n for b, n in zip(base_before, not_dormant, strict=True)]
    out["reactivated"] = [int(got["reactivated"].get(m, 0)) for m in month_list]
    out = out.astype({"dormant_at_start": "int64", "reactivated": "int64"})
    out["reactivation_rate"] = ratio_column(out["reactivated"], out["dormant_at_start"])
    return out


def active_users(events: ibis.Table, w: Window) -> int:
    """Period active users: distinct users with ≥1 ``login`` event in P (count)."""
    e = events.filter(events.event == "login", w.has_ts(events.ts))
    return int(execute(e.aggregate(n=e.user_id.nunique()))["n"].iloc[0])


def activity_trend(events: ibis.Table, users: ibis.Table, end: date, months: int = 12
                   ) -> pd.DataFrame:
    """Monthly MAU, MAU ratio, logins per active day and stickiness (one events query).

    Months are the ``months`` calendar months ending with the month of ``end``; the last one
    is cut at ``end``. Per month: MAU = distinct users with a login; MAU ratio = MAU ÷
    registered base at the month's (cut) end; logins per active day = logins ÷ active
    user-days; stickiness = active user-days ÷ (days × MAU).

    Returns
    -------
    DataFrame
        ``month``, ``active_users``, ``registered_base``, ``mau_ratio``, ``logins``,
        ``active_user_days``, ``logins_per_active_day``, ``stickiness``.
    """
    month_list = trend_months(end, months)
    lo = datetime.combine(month_list[0], time.min)
    hi = datetime.combine(end + timedelta(days=1), time.min)
    e = events.filter((events.event == "login") & (events.ts >= ibis.literal(lo))
                      & (events.ts < ibis.literal(hi)))
    per_day = e.group_by(user_id=e.user_id, day=e.ts.date()).aggregate(n=e.count())
    expr = per_day.group_by(month=per_day.day.truncate("M")).aggregate(
        active_users=per_day.user_id.nunique(),
        logins=per_day.n.sum(),
        active_user_days=per_day.count(),
    )
    got = execute(expr)
    got["month"] = pd.to_datetime(got["month"]).dt.date
    got = got.set_index("month")
    out = user_trend(users, end, months)[["month", "registered_base"]]
    for c in ("active_users", "logins", "active_user_days"):
        out[c] = [int(got[c].get(m, 0)) for m in out["month"]]
    days = [min(calendar.monthrange(m.year, m.month)[1], (end - m).days + 1)
            for m in out["month"]]
    out["mau_ratio"] = ratio_column(out["active_users"], out["registered_base"])
    out["logins_per_active_day"] = ratio_column(out["logins"], out["active_user_days"])
    out["stickiness"] = ratio_column(out["active_user_days"],
                                     pd.Series(days, index=out.index) * out["active_users"])
    return out[["month", "active_users", "registered_base", "mau_ratio", "logins",
                "active_user_days", "logins_per_active_day", "stickiness"]]


def own_monthly_values(t: Mapping[str, ibis.Table], w: Window,
                       metrics: tuple[str, ...] = tuple(OWN_METRICS)) -> pd.DataFrame:
    """Our value of each metric in ``metrics`` for each month of P (module docstring).

    One grouped query per metric family of tables; metrics whose tables are missing are
    skipped. Columns: ``period`` ('YYYY-MM'), ``metric``, ``own_value``.
    """
    rows: list[pd.DataFrame] = []

    def add(metric: str, months: pd.Series, values: pd.Series) -> None:
        rows.append(pd.DataFrame({
            "period": [month_of_index(i).strftime("%Y-%m") for i in months],
            "metric": metric, "own_value": values.astype("float64").to_numpy()}))

    def have(metric: str) -> bool:
        return metric in metrics and all(n in t for n in OWN_METRICS[metric])

    if have("nps") or have("awareness"):
        s = t["surveys"].filter(w.has_date(t["surveys"].date))
        df = execute(s.group_by(month_idx=month_index(s.date)).aggregate(
            **{**nps_aggregates(s), **_awareness_aggregates(s)}))
        if have("nps"):
            add("nps", df["month_idx"], with_nps_interval(df, 0.95)["nps"])
        if have("awareness"):
            add("awareness", df["month_idx"], _with_share(df)["awareness"])
    if have("mau_ratio"):
        e = t["events"].filter(t["events"].event == "login", w.has_ts(t["events"].ts))
        mau = execute(e.group_by(month_idx=month_index(e.ts)).aggregate(
            active=e.user_id.nunique()))
        u = t["users"].filter(t["users"].registered_at < ibis.literal(w.ts_hi))
        reg = execute(u.group_by(month_idx=month_index(u.registered_at)).aggregate(n=u.count()))
        base = [int(reg.loc[reg["month_idx"] <= m, "n"].sum()) for m in mau["month_idx"]]
        add("mau_ratio", mau["month_idx"], ratio_column(mau["active"], pd.Series(base)))
    if have("mobile_share"):
        s = successful_transactions(t["transactions"], w)
        df = execute(s.group_by(month_idx=month_index(s.ts)).aggregate(
            n=s.count(), mobile=s.count(where=s.channel == "mobile")))
        add("mobile_share", df["month_idx"], ratio_column(df["mobile"], df["n"]))
    if not rows:
        return pd.DataFrame({"period": pd.Series(dtype="str"), "metric": pd.Series(dtype="str"),
                             "own_value": pd.Series(dtype="float64")})
    return pd.concat(rows, ignore_index=True)

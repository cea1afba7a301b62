"""A first import mapping drafted from an export's header and a sample of its rows.

``review import FILE --draft`` calls :func:`draft_mapping`: each source column is placed on a
contract column by its header (a Chinese/English synonym list: 客户号/客户编号/cust_id →
``user_id``, 开户日期 → ``registered_at``, 渠道 → ``acquisition_channel`` …); the distinct
values of coded columns are listed with a guessed contract code each; date formats are guessed
from the sample; what could not be placed is marked. The result is a commented mapping YAML
for the analyst to finish (format: ``docs/importing.md``). Nothing is imported.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from review.data.contract import TABLES
from review.data.importer import (
    EXCEL_SUFFIXES,
    FALSE_TEXTS,
    TRUE_TEXTS,
    _decode,
    _text,
    detect_delimiter,
)
from review.errors import ImportMappingError

#: Rows read to guess formats and codes.
SAMPLE_ROWS = 2000
#: A column with at most this many distinct values in the sample is listed value by value.
MAX_CODES = 30


def _norm(text: str) -> str:
    """A header compared without case, spaces, ``_``, ``-``, ``.`` or brackets' contents."""
    text = re.sub(r"[（(].*?[)）]", "", text)
    return re.sub(r"[\s_\-.:：]", "", text).lower()


#: Contract column → header synonyms (compared by :func:`_norm`). ``"@converted"`` is a yes/no
#: outcome without a date (made into ``converted_at`` with ``when:``).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "user_id": ("客户号", "客户编号", "客户id", "客户代码", "用户id", "用户号", "用户编号",
                "客户账号", "cust_id", "customer_id", "custid", "cust_no", "customer_no",
                "cust", "customer", "user_id", "userid", "user", "uid", "client_id", "client"),
    "registered_at": ("开户日期", "开户时间", "注册日期", "注册时间", "开通日期", "开通时间",
                      "registered_at", "register_date", "reg_date", "reg_dt", "open_date",
                      "signup_date", "registration_date", "reg_time"),
    "acquisition_channel": ("渠道", "获客渠道", "来源渠道", "注册渠道", "acquisition_channel",
                            "acq_channel", "acq_chnl", "channel", "source"),
    "region": ("地区", "所属地区", "区域", "城市", "所属城市", "region", "city", "area"),
    "city_tier": ("城市等级", "城市级别", "城市类型", "city_tier", "tier"),
    "age_band": ("年龄段", "年龄区间", "年龄组", "age_band", "age_group", "agegrp", "age_grp"),
    "segment": ("客群", "客户分层", "客户类型", "客户分群", "segment", "cust_segment", "seg",
                "customer_segment", "cust_seg"),
    "campaign_id": ("活动编号", "活动id", "活动代码", "活动号", "campaign_id", "campaign",
                    "camp_id", "cmp_id", "campaign_code", "camp"),
    "name": ("活动名称", "campaign_name", "camp_name", "name"),
    "kind": ("活动类型", "campaign_type", "camp_type", "kind"),
    "start": ("开始日期", "活动开始", "开始时间", "start_date", "start", "begin_date"),
    "end": ("结束日期", "活动结束", "结束时间", "end_date", "end"),
    "variant": ("分组", "组别", "实验分组", "variant", "group", "arm", "grp", "test_group",
                "ab_group"),
    "touch_channel": ("触达渠道", "触达方式", "联系方式", "外呼渠道", "营销渠道",
                      "touch_channel", "contact", "contact_channel", "contact_type",
                      "touch_chnl"),
    "assigned_at": ("触达日期", "触达时间", "分配日期", "名单日期", "联系日期", "外呼日期",
                    "assigned_at", "contact_date", "assign_date", "sent_at", "send_date",
                    "shown_at", "exposure_time", "call_date"),
    "reached": ("是否触达", "触达成功", "reached", "is_reached", "delivered", "reach_flag"),
    "converted_at": ("转化日期", "转化时间", "成交日期", "成交时间", "converted_at",
                     "conversion_date", "conv_date", "conv_dt", "conversion_time"),
    "@converted": ("是否转化", "是否成交", "是否办理", "converted", "conversion", "y",
                   "outcome", "result", "subscribed", "clicked", "is_converted", "conv_flag"),
    "@year": ("年", "年份", "year", "yr"),
    "@month": ("月", "月份", "month", "mon", "mth"),
    "@day": ("日", "日期日", "day", "dd"),
    "reward_cost": ("奖励金额", "奖励", "奖励成本", "激励金额", "reward_cost", "reward", "bonus",
                    "incentive", "cost"),
    "txn_id": ("交易流水号", "流水号", "交易编号", "txn_id", "trans_id", "transaction_id"),
    "ts": ("交易时间", "交易日期", "txn_time", "trans_time", "txn_date", "trans_date"),
    "type": ("交易类型", "txn_type", "trans_type"),
    "amount": ("金额", "交易金额", "amount", "amt", "txn_amt", "trans_amt"),
    "status": ("状态", "交易状态", "status", "txn_status"),
}
#: Which contract table a placed column points to; shared keys go to every table drafted.
COLUMN_TABLE = {
    "registered_at": "users", "acquisition_channel": "users", "region": "users",
    "city_tier": "users", "age_band": "users", "segment": "users",
    "name": "campaigns", "kind": "campaigns", "start": "campaigns", "end": "campaigns",
    "variant": "assignments", "touch_channel": "assignments", "assigned_at": "assignments",
    "reached": "assignments", "converted_at": "assignments", "@converted": "assignments",
    "reward_cost": "assignments",
    "txn_id": "transactions", "ts": "transactions", "type": "transactions",
    "amount": "transactions", "status": "transactions",
}
#: Source value → contract code, per contract column (compared lower-case, trimmed).
VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "acquisition_channel": {
        **dict.fromkeys(("网点", "柜面", "branch", "柜台"), "branch"),
        **dict.fromkeys(("广告", "线上广告", "数字广告", "ads", "digital_ads", "ad"),
                        "digital_ads"),
        **dict.fromkeys(("推荐", "老带新", "referral", "转介绍"), "referral"),
        **dict.fromkeys(("kol", "达人", "网红"), "kol"),
        **dict.fromkeys(("合作", "合作伙伴", "partner", "partnership"), "partnership"),
        **dict.fromkeys(("自然", "自然流量", "自然增长", "organic"), "organic"),
    },
    "touch_channel": {
        **dict.fromkeys(("短信", "sms", "text"), "sms"),
        **dict.fromkeys(("推送", "push", "app推送"), "push"),
        **dict.fromkeys(("app内", "应用内", "in_app", "inapp", "弹窗", "banner"), "in_app"),
        **dict.fromkeys(("电话", "外呼", "电销", "cellular", "telephone", "phone", "call",
                         "mobile"), "phone"),
        **dict.fromkeys(("邮件", "email", "e-mail", "mail"), "email"),
        **dict.fromkeys(("微信", "wechat", "企业微信"), "wechat"),
        **dict.fromkeys(("网点", "branch", "柜面"), "branch"),
    },
    "city_tier": {
        **dict.fromkeys(("重点城市", "一线", "二线", "一线城市", "二线城市", "key"), "key"),
        **dict.fromkeys(("一般城市", "下沉", "下沉市场", "三线", "四线", "三线城市", "lower"),
                        "lower"),
    },
    "segment": {
        **dict.fromkeys(("学生", "student"), "student"),
        **dict.fromkeys(("大众", "大众客户", "mass"), "mass"),
        **dict.fromkeys(("富裕", "富裕客户", "affluent"), "affluent"),
        **dict.fromkeys(("高净值", "私行", "hnw"), "hnw"),
        **dict.fromkeys(("老年", "老年客户", "senior"), "senior"),
    },
    "variant": {
        **dict.fromkeys(("对照组", "对照", "control", "ctrl", "holdout", "控制组"), "control"),
        **dict.fromkeys(("实验组", "treatment", "test", "实验组a", "a", "方案a"), "A"),
        **dict.fromkeys(("实验组b", "b", "方案b"), "B"),
    },
    "kind": {
        **dict.fromkeys(("新手礼", "新客礼", "onboarding"), "onboarding_tiers"),
        **dict.fromkeys(("推荐有礼", "推荐", "referral"), "referral"),
        **dict.fromkeys(("主题活动", "主题营销", "promo"), "themed_promo"),
        **dict.fromkeys(("会员权益", "分层权益"), "tiered_benefits"),
        **dict.fromkeys(("电销", "电话营销", "外呼", "telemarketing"), "telemarketing"),
        **dict.fromkeys(("实验", "ab测试", "experiment", "ab_test"), "experiment"),
    },
    "status": {**dict.fromkeys(("成功", "success", "ok"), "success"),
               **dict.fromkeys(("失败", "failed", "fail"), "failed")},
}
UNKNOWN_TEXTS = frozenset({"未知", "unknown", "不详", "-", "?", "其他未知"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d/%m/%Y",
                "%m/%d/%Y", "%d.%m.%Y")

_SYNONYM_INDEX = {_norm(s): col for col, syns in SYNONYMS.items() for s in syns}


@dataclass
class Placed:
    """One source column and what the draft made of it."""

    header: str
    column: str | None  # contract column (or "@converted"); None: not placed
    distinct: list[str] = field(default_factory=list)
    more: bool = False  # more distinct values than listed
    format: str | None = None


@dataclass
class Draft:
    """A drafted mapping: the YAML text and how each source column was placed."""

    path: Path
    placed: list[Placed]
    tables: list[str]
    text: str

    def column_of(self, header: str) -> str | None:
        return next(p.column for p in self.placed if p.header == header)


def _guess_column(header: str) -> str | None:
    key = _norm(header)
    if key in _SYNONYM_INDEX:
        return _SYNONYM_INDEX[key]
    # a Chinese header that contains a synonym (客户编号(脱敏) → user_id): longest wins
    hits = [(len(s), c) for s, c in _SYNONYM_INDEX.items()
            if len(s) >= 2 and not s.isascii() and s in key]
    return max(hits)[1] if hits else None


def _sample(path: Path) -> tuple[list[str], list[list[str]]]:
    if path.suffix.lower() in EXCEL_SUFFIXES:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            it = wb.worksheets[0].iter_rows(values_only=True)
            head = [("" if v is None else str(v).strip()) for v in next(it, ())]
            rows = [[_text(v) or "" for v in r] for _, r in zip(range(SAMPLE_ROWS), it,
                                                                   strict=False)]
        finally:
            wb.close()
        return head, rows
    with path.open("rb") as f:
        data = f.read(4 << 20)
    text = _decode(data, None, path)
    if len(data) == 4 << 20:  # a sample of a big file: drop the cut last line
        text = text[:text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    head = [h.strip() for h in next(reader, [])]
    rows = [[c.strip() for c in r] for _, r in zip(range(SAMPLE_ROWS), reader, strict=False)
            if r]
    return head, rows


def _guess_format(values: list[str]) -> str | None:
    """The first format that reads every sampled value ("" for ISO, None when none does)."""
    vals = [v for v in values if v][:200]
    if not vals:
        return None
    try:
        for v in vals:
            datetime.fromisoformat(v)
        return ""
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            for v in vals:
                datetime.strptime(v, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _code_for(column: str, value: str) -> str | None:
    v = value.strip().lower()
    if column in ("reached", "@converted"):
        return "true" if v in TRUE_TEXTS else "false" if v in FALSE_TEXTS else None
    if v == "" or v in UNKNOWN_TEXTS:
        return "unknown"
    table = COLUMN_TABLE.get(column, "users")
    allowed = TABLES[table].column(column).allowed if column in TABLES[table].column_names \
        else None
    if allowed and v in allowed:
        return v
    return VALUE_SYNONYMS.get(column, {}).get(v)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


CODED = {"acquisition_channel", "city_tier", "age_band", "segment", "variant", "touch_channel",
         "kind", "type", "status", "reached", "@converted"}
TEMPORAL = {"registered_at", "start", "end", "assigned_at", "converted_at", "ts"}


def draft_mapping(path: str | Path) -> Draft:
    """Draft an import mapping for the export ``path`` (CSV or Excel) from its header and
    a sample of rows. Raises :class:`~review.errors.ImportMappingError` for an unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportMappingError(f"{path}: file not found")
    header, rows = _sample(path)
    if not any(header):
        raise ImportMappingError(f"{path}: no header row; check the file (or skip_rows)")
    placed: list[Placed] = []
    taken: set[str] = set()
    for j, h in enumerate(header):
        col = _guess_column(h) if h else None
        if col in taken:
            col = None  # a second header for the same column: leave it to the analyst
        if col:
            taken.add(col)
        values = [r[j] if j < len(r) else "" for r in rows]
        p = Placed(h, col)
        if col in CODED:
            distinct = sorted(set(values))
            p.distinct, p.more = distinct[:MAX_CODES], len(distinct) > MAX_CODES
        if col in TEMPORAL:
            p.format = _guess_format(values)
        placed.append(p)
    by_col = {p.column: p for p in placed if p.column}
    tables = [t for t in ("users", "campaigns", "assignments", "transactions")
              if any(COLUMN_TABLE.get(c) == t for c in by_col)]
    if not tables:
        tables = ["users"] if "user_id" in by_col else []
    text = _render(path, header, placed, by_col, tables)
    return Draft(path, placed, tables, text)


def _render(path: Path, header: list[str], placed: list[Placed], by_col: dict[str, Placed],
            tables: list[str]) -> str:
    out = [f"# Import mapping drafted by `review import {path.name} --draft` from its header and",
           f"# {SAMPLE_ROWS} sample rows. Check every line, fill the TODOs, then run:",
           f"#   review import {path.name} --mapping THIS.yaml --into data/bank.duckdb",
           "# Format and examples: docs/importing.md.",
           "#",
           "# Source columns: " + ", ".join(
               f"{p.header} → {p.column or '?'}" for p in placed)]
    unplaced = [p.header for p in placed if not p.column]
    out.append("# (@converted: a yes/no outcome; @year/@month/@day: parts of a date)")
    if unplaced:
        out.append("# NOT PLACED (left out of the store unless you map them): "
                   + ", ".join(unplaced))
    if not tables:
        out.append("# TODO: no contract table recognised; see docs/importing.md")
    out += ["sources:", f"  - files: {_q(path.name)}"]
    no_year = {"@month", "@day"} <= set(by_col) and "@year" not in by_col \
        and "assigned_at" not in by_col
    if no_year:
        month, day = _ident(by_col["@month"].header), _ident(by_col["@day"].header)
        out += ["    # TODO the file has month and day but no year. If its rows are in time order,",
                "    # this derives the year from the month roll-overs (set the first year):",
                "    derive:",
                f"      month_no: {_q(f'month_number({month})')}",
                "      rollover: \"CASE WHEN month_no < lag(month_no) OVER (ORDER BY _row) "
                "THEN 1 ELSE 0 END\"",
                "      year: \"2026 + sum(rollover) OVER (ORDER BY _row)\"   # TODO first year",
                "      contact_date: "
                + _q(f"make_date(CAST(year AS INTEGER), month_no, CAST({day} AS INTEGER))")]
        by_col = {**by_col, "assigned_at": Placed("contact_date", "assigned_at", format="")}
    out.append("    tables:")
    if "campaign_id" in by_col and "campaigns" not in tables and "assignments" in tables:
        out += _campaign_lines(by_col)
    for table in tables:
        spec = TABLES[table]
        out.append(f"      {table}:")
        if table == "users" and "assignments" in tables:
            out.append("        dedup: first   # a customer is listed once per campaign")
        out.append("        columns:")
        for c in spec.columns:
            key = c.name
            p = by_col.get(key)
            if key == "assigned_at" and p is None and {"@month", "@day"} <= set(by_col):
                out += _parts_lines(by_col)
                continue
            if key == "converted_at" and p is None and "@converted" in by_col:
                out += _conversion_lines(by_col["@converted"], by_col.get("assigned_at"))
                continue
            if p is None:
                if c.optional:
                    what = (f"default {json.dumps(c.default)}" if c.default is not None
                            else "empty")
                    out.append(f"          # {key}: not found; left out ({what})")
                elif table == "users" and key != "user_id":
                    out.append(f"          {key}: {{value: unknown}}   # not in the export")
                else:
                    out.append(f"          # TODO {key}: required, not found in the header; "
                               f"map it: {key}: {{from: <header>}}, {{value: ...}} or "
                               "{sql: ...}")
                    if key == "user_id":
                        out.append("          #   (no customer id: when each row is another "
                                   "customer, user_id: {surrogate: row_number, prefix: U})")
                    if key == "variant":
                        out.append("          #   (no groups: everyone treated, variant: "
                                   "{value: A})")
                continue
            out += _column_lines(key, p, c.allowed)
    return "\n".join(out) + "\n"


def _column_lines(key: str, p: Placed, allowed: tuple[str, ...] | None) -> list[str]:
    lines = [f"          {key}:", f"            from: {_q(p.header)}"]
    if key in TEMPORAL:
        if p.format is None:
            lines.append("            # TODO format: the sample's dates match no common "
                         "format; add format: \"%d/%m/%Y\" or similar")
        elif p.format:
            lines.append(f"            format: {_q(p.format)}")
    if p.distinct and key != "age_band":
        lines.append("            values:" + ("   # the first values only: add the rest"
                                               if p.more else ""))
        for v in p.distinct:
            code = _code_for(key, v)
            if code is None:
                choices = ", ".join(allowed or ("true", "false"))
                lines.append(f"              {_q(v)}: other   # TODO not recognised; one of "
                             f"{choices}")
            elif code != v:
                lines.append(f"              {_q(v)}: {code}")
    elif key == "age_band" and p.distinct:
        bad = [v for v in p.distinct if _code_for(key, v) is None]
        if bad:
            lines.append("            values:   # TODO map these to an age band or unknown")
            lines += [f"              {_q(v)}: unknown" for v in bad]
    if lines[-1] == "            values:":
        lines.pop()  # every value already a contract code
    return lines


def _campaign_lines(by_col: dict[str, Placed]) -> list[str]:
    """A campaigns table made from the contact list itself (commented: to check)."""
    when = by_col.get("assigned_at")
    date = _ident(when.header) if when else "TODO_date_column"
    cast = (f"CAST(strptime({date}, {_sql_text(when.format)}) AS DATE)"
            if when and when.format else f"CAST({date} AS DATE)")
    cid = _ident(by_col["campaign_id"].header)
    return ["      # The export has campaign ids but no campaign list: this makes one row per",
            "      # campaign from the contacts (name, kind and dates to check).",
            "      campaigns:",
            "        dedup: first",
            "        columns:",
            f"          campaign_id: {_q(by_col['campaign_id'].header)}",
            f"          name: {_q(by_col['campaign_id'].header)}   # TODO a readable name: "
            "{value: ...}",
            "          kind: {value: other}   # TODO telemarketing, experiment, referral, …",
            f"          start: {{sql: {_q(f'min({cast}) OVER (PARTITION BY {cid})')}}}",
            f"          end: {{sql: {_q(f'max({cast}) OVER (PARTITION BY {cid})')}}}"]


def _parts_lines(by_col: dict[str, Placed]) -> list[str]:
    year = by_col.get("@year")
    lines = ["          assigned_at:   # built from the date parts",
             "            parts:",
             f"              year: {_q(year.header) if year else _q('TODO')}",
             f"              month: {_q(by_col['@month'].header)}",
             f"              day: {_q(by_col['@day'].header)}"]
    if not year:
        lines.append("            # TODO year: no year column; derive it (docs/importing.md, "
                     "\"a contact list without years\") or use {value: ...} in sql:")
    return lines


def _conversion_lines(flag: Placed, when: Placed | None) -> list[str]:
    yes = [v for v in flag.distinct if _code_for("@converted", v) == "true"]
    cond = (f"{_ident(flag.header)} = {_sql_text(yes[0])}" if yes
            else f"{_ident(flag.header)} = 'TODO yes value'")
    then = _ident(when.header) if when else "TODO_date_column"
    lines = ["          converted_at:   # the outcome column says yes: converted on that date",
             f"            when: {_q(cond)}",
             f"            then: {_q(then)}"]
    if not when:
        lines.append("            # TODO then: no date column found; give the conversion date")
    elif when.format:
        lines.append(f"            format: {_q(when.format)}")
    return lines


def _ident(header: str) -> str:
    if re.fullmatch(r"[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*", header):
        return header
    return '"' + header.replace('"', '""') + '"'


def _sql_text(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


__all__ = ["Draft", "Placed", "SYNONYMS", "draft_mapping"]

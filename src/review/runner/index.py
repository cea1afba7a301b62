"""``outputs/index.html``: every period found under the outputs folder, on one page.

One row per period: the headline KPIs (:data:`review.kpis.HEADLINE_KPIS`) with their RAG
status, links to ``report.html`` and to each section, the last run and its status (``ok``,
``failed`` or ``skipped``). The page is self-contained (inline CSS, no scripts, no external
URLs) and links are relative, so the outputs folder can be zipped or copied to a share.

It is rebuilt from what is on disk (period folders, their ``metrics.json`` and
``manifest.json``, and ``.state/<period>.json``), never from a run's memory, so it also lists
periods built by earlier runs.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.core.files import atomic_write_text
from review.kpis import HEADLINE_KPIS, KPI_CATALOG
from review.runner import outputs
from review.runner.manifest import METRICS, REPORT, read_manifest

INDEX = "index.html"

#: Page chrome (the report's own texts live in the i18n catalog).
LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Campaign reviews", "zh": "营销活动工作通报"},
    "period": {"en": "Period", "zh": "期间"},
    "status": {"en": "Status", "zh": "状态"},
    "last_run": {"en": "Last run", "zh": "最近运行"},
    "report": {"en": "Report", "zh": "报告"},
    "sections": {"en": "Sections", "zh": "章节"},
    "ok": {"en": "ok", "zh": "成功"},
    "failed": {"en": "failed", "zh": "失败"},
    "skipped": {"en": "skipped (unchanged)", "zh": "跳过（无变化）"},
    "none": {"en": "no periods yet: run `review run --all`",
             "zh": "暂无期间：请运行 `review run --all`"},
    "kept": {"en": "showing the last good build", "zh": "显示上次成功的结果"},
}
_STATUS = {"built": "ok", "skipped": "skipped", "failed": "failed"}
_RAG_CLASS = {"green": "g", "amber": "a", "red": "r"}


@dataclass
class PeriodRow:
    """What the index shows for one period."""

    period: str
    status: str  # ok | failed | skipped
    last_run: str | None
    message: str | None = None
    has_report: bool = False
    sections: list[tuple[str, str]] = field(default_factory=list)  # (section id, file stem)
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    currency: str = "CNY"


def collect(out_dir: Path) -> list[PeriodRow]:
    """One :class:`PeriodRow` per period found under ``out_dir``, sorted by period id."""
    out_dir = Path(out_dir)
    states = outputs.read_states(out_dir)
    rows = []
    for period in sorted(set(outputs.built_periods(out_dir)) | set(states)):
        folder = outputs.period_dir(out_dir, period)
        manifest = read_manifest(folder) or {}
        state = states.get(period, {})
        metrics = _read_json(folder / METRICS) or {}
        status = _STATUS.get(state.get("status", ""), "ok" if manifest else "failed")
        last_run = state.get("finished") or manifest.get("run", {}).get("finished")
        rows.append(PeriodRow(
            period=period, status=status, last_run=last_run, message=state.get("message"),
            has_report=(folder / REPORT).is_file(),
            sections=[(s["id"], s["stem"]) for s in manifest.get("sections", [])
                      if (folder / f"{s['stem']}.html").is_file()],
            kpis=metrics.get("kpis", {}), currency=metrics.get("currency", "CNY"),
        ))
    return rows


def build_index(out_dir: Path, *, lang: str = "en") -> Path:
    """Write ``out_dir/index.html`` atomically from what is on disk; return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = render_index(collect(out_dir), lang=lang)
    path = out_dir / INDEX
    atomic_write_text(path, page)
    return path


def render_index(rows: list[PeriodRow], *, lang: str = "en") -> str:
    """The index page as one self-contained HTML string."""
    from review.report.i18n import t

    e = html.escape
    head = [LABELS["period"][lang], LABELS["status"][lang], LABELS["last_run"][lang]]
    head += [t(f"kpi.{k}", lang) for k in HEADLINE_KPIS]
    head += [LABELS["sections"][lang]]
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(LABELS['title'][lang])}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(LABELS['title'][lang])}</h1>",
    ]
    if not rows:
        lines.append(f"<p>{e(LABELS['none'][lang])}</p>")
    else:
        lines.append('<div class="scroll"><table>')
        lines.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead>")
        lines.append("<tbody>")
        lines.extend(_row(r, lang) for r in rows)
        lines.append("</tbody></table></div>")
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


def _row(r: PeriodRow, lang: str) -> str:
    from review.report.i18n import t
    from review.report.numbers import format_value  # the report's own number formats

    e = html.escape
    href = f"{r.period}/{REPORT}"
    period = (f'<a href="{e(href, quote=True)}">{e(r.period)}</a>' if r.has_report
              else e(r.period))
    status = LABELS[r.status][lang]
    if r.status == "failed":
        detail = r.message or ""
        if r.has_report:
            detail = f"{detail} ({LABELS['kept'][lang]})".strip()
        status_cell = f'<td class="st failed" title="{e(detail, quote=True)}">{e(status)}</td>'
    else:
        status_cell = f'<td class="st {r.status}">{e(status)}</td>'
    cells = [f"<td>{period}</td>", status_cell, f"<td>{e(r.last_run or '—')}</td>"]
    for key in HEADLINE_KPIS:
        k = r.kpis.get(key) or {}
        unit = KPI_CATALOG[key].unit
        value = format_value(k.get("value"), unit, lang, currency=r.currency, compact=True)
        rag = k.get("rag")
        title = t(f"rag.{rag}", lang) if rag in _RAG_CLASS else t("rag.none", lang)
        if k.get("target") is not None:
            title += " · " + format_value(k["target"], unit, lang, currency=r.currency)
        cls = f' class="rag {_RAG_CLASS[rag]}"' if rag in _RAG_CLASS else ""
        cells.append(f'<td{cls} title="{e(title, quote=True)}">{e(value)}</td>')
    links = " · ".join(
        f'<a href="{e(f"{r.period}/{stem}.html", quote=True)}">{e(_section_label(sid, lang))}</a>'
        for sid, stem in r.sections)
    cells.append(f"<td>{links}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _section_label(section_id: str, lang: str) -> str:
    from review.report import i18n

    key = f"section.{section_id}"
    return i18n.t(key, lang) if i18n.has(key) else section_id


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;white-space:nowrap}
th,td{border:1px solid #d0d7de;padding:.35rem .55rem;text-align:right}
th{background:#f6f8fa;font-weight:600;text-align:center;white-space:normal;min-width:4.5rem}
td:first-child,td:nth-child(2),td:nth-child(3),td:last-child{text-align:left}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
.rag.g{background:#dafbe1}.rag.a{background:#fff8c5}.rag.r{background:#ffebe9}
.st.ok{color:#1a7f37}.st.skipped{color:#57606a}.st.failed{color:#cf222e;font-weight:600}
""".strip()

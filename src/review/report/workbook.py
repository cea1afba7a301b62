"""``tables.xlsx``: every table of the report, one sheet each, as the reader sees it.

The workbook is read from the assembled report page itself, so each sheet holds exactly what
that table shows: its headers in the report's language, the same small cells suppressed (—),
the same rounding. Row 1 is the table's title (its caption, else the nearest heading above
it), then the header row(s) in bold, then the body; panes are frozen under the header. Cells
that read as plain numbers (``1,234``, ``-5.2``) or percentages (``12.5%``) are stored as
numbers (a percentage as a fraction with a percent format); everything else stays text, and
text is never a formula (a region called ``=HYPERLINK(…)`` is shown as written).
Sheet names are the titles cut to Excel's 31 characters and made unique. Same page, same
bytes (no timestamps in the file). A page without tables gives no workbook.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bs4 import BeautifulSoup, Tag

TABLES_XLSX = "tables.xlsx"
_NUMBER = re.compile(r"^[+\-−]?\d{1,3}(,\d{3})*(\.\d+)?$|^[+\-−]?\d+(\.\d+)?$")
_PERCENT = re.compile(r"^([+\-−]?\d+(\.\d+)?)\s?%$")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_FIXED_TIME = datetime(2000, 1, 1)


@dataclass
class ReportTable:
    """One ``<table>`` of the page: its title, header rows and body rows (cell texts)."""

    title: str
    header: list[list[str]] = field(default_factory=list)
    body: list[list[str]] = field(default_factory=list)


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _title(table: Tag, n: int) -> str:
    caption = table.find("caption")
    if caption is not None and _text(caption):
        return _text(caption)
    heading = table.find_previous(["h2", "h3", "h4"])
    return _text(heading) if heading is not None and _text(heading) else f"Table {n}"


def report_tables(html: str) -> list[ReportTable]:
    """Every table of the page's ``<main>`` (or body), in document order."""
    soup = BeautifulSoup(html, "html.parser")
    root = soup.find("main") or soup
    out = []
    for n, table in enumerate(root.find_all("table"), start=1):
        t = ReportTable(_title(table, n))
        for tr in table.find_all("tr"):
            cells = [_text(c) for c in tr.find_all(["th", "td"], recursive=False)]
            in_head = tr.find_parent("thead") is not None or (
                not t.body and tr.find("td") is None and tr.find_parent("tbody") is None)
            (t.header if in_head else t.body).append(cells)
        out.append(t)
    return out


def cell_value(text: str) -> tuple[object, str | None]:
    """``(value, number format)`` of one cell's text: numbers as numbers, else the text."""
    s = text.replace("−", "-").strip()
    if _NUMBER.match(s):
        number = float(s.replace(",", ""))
        return (int(number) if number.is_integer() and "." not in s else number), None
    m = _PERCENT.match(s)
    if m:
        decimals = len(m[2]) - 1 if m[2] else 0
        return float(m[1]) / 100, "0" + ("." + "0" * decimals if decimals else "") + "%"
    return text, None


def _sheet_name(title: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", title).strip().strip("'")[:31] or "Table"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
    used.add(name.lower())
    return name


def workbook_bytes(tables: list[ReportTable]) -> bytes:
    """The ``.xlsx`` file of ``tables`` (deterministic bytes)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "campaign-review"
    wb.properties.created = wb.properties.modified = _FIXED_TIME
    used: set[str] = set()
    bold = Font(bold=True)
    for t in tables:
        ws = wb.create_sheet(_sheet_name(t.title, used))
        ws.append([t.title])
        ws.cell(row=1, column=1).font = Font(bold=True, size=12)
        ws.cell(row=1, column=1).data_type = "s"
        for row in t.header:
            ws.append(row)
            for c in ws[ws.max_row]:
                c.font = bold
                c.data_type = "s"
        for row in t.body:
            values = [cell_value(x) for x in row]
            ws.append([v for v, _ in values])
            for c, (value, fmt) in zip(ws[ws.max_row], values, strict=False):
                if fmt:
                    c.number_format = fmt
                if isinstance(value, str):
                    c.data_type = "s"  # text, never a formula ("=HYPERLINK(…)" in a name)
        ws.freeze_panes = ws.cell(row=2 + len(t.header), column=2)
        widths: dict[int, int] = {}
        for row in [*t.header, *t.body]:
            for i, x in enumerate(row, start=1):
                widths[i] = max(widths.get(i, 0), min(40, len(x) + 2))
        for i, w in widths.items():
            ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(w, 8)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry's timestamp fixed (openpyxl stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_workbook(html: str, path: Path) -> int:
    """Write ``path`` with every table of the page ``html``; the number of sheets (0: no file)."""
    tables = report_tables(html)
    if not tables:
        return 0
    Path(path).write_bytes(workbook_bytes(tables))
    return len(tables)

"""Why a CSV table file of a folder source cannot be read, in plain words.

DuckDB's CSV sniffer either fails with a long dialect report or, on a file cut off mid-row,
silently falls back to reading every line as one column (whose name is the whole header).
:func:`diagnose` reads the file itself (streamed, bytes only) and names the problem: an empty
file, a quote that is never closed, a last row cut short, a line over the reader's limit.
It is only called once DuckDB has failed, so a good file costs nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

#: DuckDB's default ``max_line_size`` (bytes): longer lines are refused by its CSV reader.
MAX_LINE_BYTES = 2_000_000


def _fields(line: bytes) -> int:
    """Number of comma-separated fields of one (complete) CSV line."""
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    reader = csv.reader(io.StringIO(text))
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        return len(next(reader, []))
    except csv.Error:
        return text.count(",") + 1


def diagnose(path: Path) -> str | None:
    """The problem of CSV file ``path`` as one sentence (what and what to do), or ``None``."""
    path = Path(path)
    if path.stat().st_size == 0:
        return "the file is empty (not even a header row); export the table again"
    header_fields = 0
    in_quote, open_line = False, 0
    longest, longest_line = 0, 0
    lineno, last = 0, b""
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):  # noqa: B007 (lineno used after the loop)
            if lineno == 1:
                if not line.strip():
                    return "the first line is blank: a CSV table needs a header row first"
                header_fields = _fields(line)
            if len(line) > longest:
                longest, longest_line = len(line), lineno
            if line.count(b'"') % 2:
                in_quote = not in_quote
                if in_quote:
                    open_line = lineno
            last = line
    if in_quote:
        return (f"a quote opened on line {open_line} is never closed (an unterminated quoted "
                "field, or the file was cut off inside one); close the quote or export the "
                "file again")
    if lineno > 1 and not last.endswith(b"\n") and _fields(last) < header_fields:
        return (f"the last line (line {lineno}) has {_fields(last)} of {header_fields} fields "
                "and no line end: the file looks truncated (cut off mid-row); copy or export "
                "it again")
    if longest > MAX_LINE_BYTES:
        return (f"line {longest_line} is {longest:,} bytes long, over the CSV reader's limit of "
                f"{MAX_LINE_BYTES:,} bytes (a very long text field); shorten that field or "
                "store the table as Parquet")
    return None


def single_column_fallback(columns: list[str]) -> bool:
    """Whether DuckDB read the file as one column named after the whole header line."""
    return len(columns) == 1 and "," in columns[0]


def first_line(text: str, limit: int = 200) -> str:
    """The first line of an engine message, cut to ``limit`` characters (they quote data)."""
    line = next((s for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"

"""Scaffold the next period's params file from an existing one (``review params new``).

The new file is the old one with ``period``, ``start`` and ``end`` replaced (dates from the
period id via :func:`review.config.period_dates`, written as quoted ISO strings) and an
explicit comparison period dropped (the default, the previous period, then applies).
Everything else (targets, budget, milestones, thresholds, comments) is kept as written, so
the analyst edits only what changed. The result is validated before it is written, and an
existing file is never overwritten.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from review.config import Params, period_dates
from review.errors import ParamsError

_DROPPED = ("compare_start", "compare_end")


def _replace_top_level(text: str, key: str, value: str | None) -> tuple[str, int]:
    """Replace (or with ``None`` delete) the line ``key: …`` at the top level of ``text``."""
    pattern = re.compile(rf"^{key}:[^\n]*\n?", re.MULTILINE)
    return pattern.subn("" if value is None else f'{key}: "{value}"\n', text)


def _dump(data: dict[str, Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, date):
            return v.isoformat()  # safe_dump quotes ISO-looking strings
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return yaml.safe_dump(plain(data), allow_unicode=True, sort_keys=False)


def new_params_file(period: str, from_file: Path, *, dest: Path | None = None) -> Path:
    """Write ``<folder of from_file>/<period>.yaml`` for ``period``; return its path.

    Parameters
    ----------
    period
        The new period id, ``YYYY-MM`` or ``YYYY-Qn``.
    from_file
        The params file to copy (e.g. ``params/2026-10.yaml``).
    dest
        Where to write; default next to ``from_file``.

    Raises
    ------
    ParamsError
        Bad period id, unreadable or invalid source file, or ``dest`` already exists.
    """
    start, end = period_dates(period)
    dest = Path(dest) if dest else Path(from_file).with_name(f"{period}.yaml")
    if dest.exists():
        raise ParamsError(f"{dest}: already exists; edit it, or delete it to scaffold again")
    try:
        text = Path(from_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamsError(f"{from_file}: cannot read parameters file ({exc.strerror})") from None
    new = {"period": period, "start": start.isoformat(), "end": end.isoformat()}
    out, ok = text, True
    for key, value in new.items():
        out, n = _replace_top_level(out, key, value)
        ok = ok and n == 1
    for key in _DROPPED:
        out, _ = _replace_top_level(out, key, None)
    try:
        data = yaml.safe_load(out)
    except yaml.YAMLError:
        data, ok = None, False
    if not ok or not isinstance(data, dict) or data.get("period") != period:
        # not plain block style: rebuild from the parsed file (comments are lost)
        original = yaml.safe_load(text)
        if not isinstance(original, dict):
            raise ParamsError(f"{from_file}: expected a mapping of parameters at the top level")
        data = {**{k: v for k, v in original.items() if k not in _DROPPED}, **new}
        out = _dump(data)
    Params.from_dict(yaml.safe_load(out), origin=str(dest))  # refuse to write an invalid file
    try:
        with dest.open("x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(out)
    except FileExistsError:
        raise ParamsError(f"{dest}: already exists; edit it, or delete it to scaffold again"
                          ) from None
    return dest


def new_commentary_file(period: str, folder: Path) -> Path | None:
    """Write the empty ``<folder>/<period>.commentary.md``; ``None`` when one exists already.

    One ``## <section>`` heading per section (:mod:`review.report.commentary`).
    """
    from review.report.commentary import template

    dest = Path(folder) / f"{period}.commentary.md"
    try:
        with dest.open("x", encoding="utf-8") as fh:
            fh.write(template(period))
    except FileExistsError:
        return None
    return dest

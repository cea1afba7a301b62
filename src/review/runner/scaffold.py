"""Scaffold the next period's params file from an existing one (``review params new``).

The new file is the old one with ``period``, ``start`` and ``end`` replaced (dates from the
period id via :func:`review.config.period_dates`, written as quoted ISO strings) and an
explicit comparison period dropped (the default, the previous period, then applies).
Everything else (targets, budget, milestones, thresholds, comments) is kept as written, so
the analyst edits only what changed — except when the period length changes (a quarter from
a month, say): flow targets (:data:`review.kpis.FLOW_KPIS`: counts and amounts) and the budget
total are then scaled by ``months of the new period ÷ months of the old one``, and
:func:`scaffold_params` says which values it scaled. Ratios need no scaling: a period longer
than a month reports its activity ratios as the mean of its months. The result is validated
before it is written, and an existing file is never overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from review.config import Params, period_dates
from review.core.calendar import month_index
from review.errors import ParamsError
from review.kpis import FLOW_KPIS

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


@dataclass(frozen=True)
class Scaffold:
    """What :func:`scaffold_params` wrote: the file, the scale factor of flow targets and the
    scaled values (key → (old, new))."""

    path: Path
    factor: float = 1.0
    scaled: dict[str, tuple[float, float]] = field(default_factory=dict)

    def message(self) -> str:
        """One line for the operator: where, and which values were scaled."""
        text = f"wrote {self.path}: check targets, budget and milestones"
        if self.scaled:
            items = ", ".join(f"{k} {_num(a)} → {_num(b)}" for k, (a, b) in self.scaled.items())
            text += (f"\nperiod length changed: flow targets and budget scaled ×{self.factor:g}"
                     f" ({items}); ratio targets kept (a multi-month period reports the mean"
                     " of its months)")
        return text


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4g}"


def _months(start: date, end: date) -> int:
    return month_index(end) - month_index(start) + 1


def _scale_targets(text: str, data: dict[str, Any], factor: float
                   ) -> tuple[str, dict[str, tuple[float, float]], bool]:
    """Scale flow targets and the budget total in ``text`` (block style); report what changed
    and whether every value was found in the text."""
    scaled: dict[str, tuple[float, float]] = {}
    ok = True
    targets = data.get("targets") or {}
    for key in FLOW_KPIS:
        tgt = targets.get(key)
        if isinstance(tgt, dict) and isinstance(tgt.get("value"), (int, float)):
            old = float(tgt["value"])
            new = _round(old * factor)
            pat = re.compile(rf"^(\s+{key}:\s*\{{\s*value:\s*)([-+0-9.eE_]+)", re.MULTILINE)
            text, n = pat.subn(lambda m, v=new: m.group(1) + _num_yaml(v), text)
            ok = ok and n == 1
            scaled[f"targets.{key}"] = (old, new)
    budget = data.get("budget") or {}
    if isinstance(budget, dict) and isinstance(budget.get("total"), (int, float)):
        old = float(budget["total"])
        new = _round(old * factor)
        pat = re.compile(r"^(\s+total:\s*)([-+0-9.eE_]+)", re.MULTILINE)
        text, n = pat.subn(lambda m, v=new: m.group(1) + _num_yaml(v), text)
        ok = ok and n == 1
        scaled["budget.total"] = (old, new)
    return text, scaled, ok


def _round(v: float) -> float:
    return float(round(v)) if abs(v - round(v)) < 1e-9 or abs(v) >= 100 else round(v, 6)


def _num_yaml(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


def new_params_file(period: str, from_file: Path, *, dest: Path | None = None) -> Path:
    """Write ``<folder of from_file>/<period>.yaml`` for ``period``; return its path
    (:func:`scaffold_params` without the report)."""
    return scaffold_params(period, from_file, dest=dest).path


def scaffold_params(period: str, from_file: Path, *, dest: Path | None = None) -> Scaffold:
    """Write ``<folder of from_file>/<period>.yaml`` for ``period``; say what was scaled.

    Parameters
    ----------
    period
        The new period id, ``YYYY-MM`` or ``YYYY-Qn``.
    from_file
        The params file to copy (e.g. ``params/2026-10.yaml``).
    dest
        Where to write; default next to ``from_file``.

    Returns
    -------
    Scaffold
        The path written, and the flow targets and budget total scaled when the period's
        number of months differs from the source's.

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
        original = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{from_file}: not valid YAML: {exc}") from None
    if not isinstance(original, dict):
        raise ParamsError(f"{from_file}: expected a mapping of parameters at the top level")
    factor = 1.0
    try:
        old_months = _months(date.fromisoformat(str(original["start"])),
                             date.fromisoformat(str(original["end"])))
        factor = _months(start, end) / old_months
    except (KeyError, ValueError):
        pass  # an invalid source is reported by the validation below
    scaled: dict[str, tuple[float, float]] = {}
    if factor != 1.0:
        out, scaled, found = _scale_targets(out, original, factor)
        ok = ok and found
    try:
        data = yaml.safe_load(out)
    except yaml.YAMLError:
        data, ok = None, False
    if not ok or not isinstance(data, dict) or data.get("period") != period:
        # not plain block style: rebuild from the parsed file (comments are lost)
        data = {**{k: v for k, v in original.items() if k not in _DROPPED}, **new}
        if scaled:
            data = yaml.safe_load(yaml.safe_dump(data))  # a deep copy
            for key, (_, value) in scaled.items():
                section, name = key.split(".")
                if section == "targets":
                    data["targets"][name]["value"] = value
                else:
                    data["budget"]["total"] = value
        out = _dump(data)
    Params.from_dict(yaml.safe_load(out), origin=str(dest))  # refuse to write an invalid file
    try:
        with dest.open("x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(out)
    except FileExistsError:
        raise ParamsError(f"{dest}: already exists; edit it, or delete it to scaffold again"
                          ) from None
    return Scaffold(dest, factor, scaled)


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

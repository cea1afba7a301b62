"""Run one notebook of one period with papermill (in-process) and export it to HTML.

A *section* is one notebook ``notebooks/NN_<id>.ipynb``; its id (``market_analysis``) names it
in ``--only``, in i18n (``section.<id>``) and in the report. :func:`run_notebook` is the unit
of work of the batch's process pool: it never raises, it returns a :class:`NotebookResult`
that says what failed, where and why (period, notebook, cell, error name and message).

papermill runs *in this process* (``papermill.execute_notebook``), which starts only the
kernel; the papermill and nbconvert command lines would each start a fresh Python that pays
the imports again (about 5 s per notebook on our machines, see benchmarks/bench_batch.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.errors import RunError
from review.runner.outputs import redact_text

#: Notebooks of the report: ``NN_<section id>.ipynb``.
NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"
SUMMARY = "summary"
KERNEL_NAME = "python3"
#: Set for every kernel: stable ``hash()`` of strings, so sets and dicts iterate alike.
KERNEL_ENV = {"PYTHONHASHSEED": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


@dataclass(frozen=True)
class Section:
    """One report section: its id (``budget``), notebook stem (``04_budget``) and file."""

    id: str
    stem: str
    path: Path


def discover_sections(notebooks_dir: Path) -> tuple[Section, ...]:
    """The report's sections, in report order: the summary first, then by file name.

    Raises
    ------
    RunError
        When ``notebooks_dir`` holds no ``NN_<id>.ipynb`` notebook.
    """
    paths = sorted(Path(notebooks_dir).glob(NOTEBOOK_PATTERN))
    if not paths:
        raise RunError(f"{notebooks_dir}: no notebooks named like {NOTEBOOK_PATTERN}")
    sections = [Section(re.sub(r"^\d+_", "", p.stem), p.stem, p) for p in paths]
    return tuple(sorted(sections, key=lambda s: (s.id != SUMMARY, s.stem)))


def select_sections(sections: Sequence[Section], only: Sequence[str]) -> tuple[Section, ...]:
    """The sections named in ``only`` (ids like ``budget`` or stems like ``04_budget``).

    An empty ``only`` selects every section. Unknown names raise :class:`RunError` listing
    the known ones.
    """
    if not only:
        return tuple(sections)
    known = {s.id: s for s in sections} | {s.stem: s for s in sections}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise RunError(f"--only: unknown section(s) {unknown}; "
                       f"known: {[s.id for s in sections]}")
    wanted = {known[name].stem for name in only}
    return tuple(s for s in sections if s.stem in wanted)


@dataclass(frozen=True)
class NotebookTask:
    """Everything a worker needs to run one section of one period (picklable)."""

    period: str
    section: Section
    parameters: dict[str, Any]
    lang: str
    source: str  # as written (``${VAR}`` unresolved): only used to redact messages
    build_dir: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    cell_timeout: float | None = None


@dataclass(frozen=True)
class Failure:
    """What went wrong: the stage, the failing cell (when known) and the error."""

    stage: str  # "execute" (the kernel) or "export" (the HTML)
    ename: str
    evalue: str
    cell: int | None = None  # execution count, as shown in Jupyter: In [cell]
    cell_index: int | None = None  # position in the executed notebook, from 0

    def describe(self) -> str:
        """One plain-language line, e.g. ``cell In [5] raised KeyError: 'x'``."""
        where = ""
        if self.cell is not None:
            where = f"cell In [{self.cell}] "
        elif self.cell_index is not None:
            where = f"cell #{self.cell_index + 1} "
        what = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        if self.stage == "export":
            return f"HTML export failed: {what}"
        return f"{where}raised {what}" if where else what


@dataclass(frozen=True)
class NotebookResult:
    """The outcome of one :class:`NotebookTask`."""

    period: str
    section: Section
    ok: bool
    duration_s: float
    notebook: Path  # the executed notebook (in the build folder)
    failure: Failure | None = None


@contextlib.contextmanager
def environ(extra: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's file descriptor 2 (and so the kernel's stderr) to ``path``.

    Kernels inherit the worker's stderr; their log lines ("Kernel is running over TCP…")
    would otherwise interleave with the progress display.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with path.open("wb") as fh:
            os.dup2(fh.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def execute_notebook(task: NotebookTask, output: Path) -> Any:
    """Execute ``task``'s notebook with papermill in this process; return the notebook.

    Raises papermill's ``PapermillExecutionError`` when a cell fails (the executed notebook,
    with the error shown, is written to ``output`` first).
    """
    import papermill

    return papermill.execute_notebook(
        str(task.section.path), str(output), parameters=task.parameters,
        kernel_name=KERNEL_NAME, progress_bar=False, cwd=str(task.cwd),
        request_save_on_cell_execute=False, execution_timeout=task.cell_timeout,
    )


def section_title(section_id: str, lang: str) -> str:
    """The section's title from the i18n catalog (``section.<id>``), else its id."""
    from review.report import i18n

    key = f"section.{section_id}"
    return i18n.t(key, lang) if i18n.has(key) else section_id


def export_html(nb: Any, section_id: str, lang: str) -> str:
    """The section as self-contained HTML (``review.report.render.notebook_to_html``)."""
    from review.report import render

    return render.notebook_to_html(nb, title=section_title(section_id, lang), lang=lang)


def run_notebook(task: NotebookTask) -> NotebookResult:
    """Execute and export one section; never raises (failures are in the result).

    Writes ``<stem>.ipynb`` (executed, also when a cell failed) and ``<stem>.html`` into
    ``task.build_dir``; when execution fails, the kernel's stderr too (``<stem>.stderr.txt``).
    """
    started = time.perf_counter()
    output = task.build_dir / f"{task.section.stem}.ipynb"
    log = task.build_dir / f"{task.section.stem}.stderr.txt"
    try:
        with environ({**KERNEL_ENV, **task.env}), stderr_to(log):
            nb = execute_notebook(task, output)
    except Exception as exc:  # the kernel's stderr is kept next to the failed notebook
        return _failed(task, output, started, _execution_failure(exc, task.source))
    log.unlink(missing_ok=True)
    try:
        html = export_html(nb, task.section.id, task.lang)
        (task.build_dir / f"{task.section.stem}.html").write_text(html, encoding="utf-8")
    except Exception as exc:
        failure = Failure("export", type(exc).__name__,
                          _first_line(redact_text(str(exc), task.source)))
        return _failed(task, output, started, failure)
    return NotebookResult(task.period, task.section, True, time.perf_counter() - started, output)


def _failed(task: NotebookTask, output: Path, started: float, failure: Failure
            ) -> NotebookResult:
    return NotebookResult(task.period, task.section, False, time.perf_counter() - started,
                          output, failure)


def _execution_failure(exc: BaseException, source: str) -> Failure:
    ename = getattr(exc, "ename", None)
    if ename is not None:  # papermill's PapermillExecutionError: the failing cell is known
        return Failure("execute", str(ename), _first_line(redact_text(str(exc.evalue), source)),
                       cell=getattr(exc, "exec_count", None),
                       cell_index=getattr(exc, "cell_index", None))
    return Failure("execute", type(exc).__name__, _first_line(redact_text(str(exc), source)))


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


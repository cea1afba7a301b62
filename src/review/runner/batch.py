"""The batch: every period × every notebook, in parallel, incremental and atomic.

:func:`run_batch` is the Python API behind ``review run``. Per period:

1. **Parameters** of every file are validated first; any error stops the batch before a
   kernel starts (one :class:`~review.errors.ParamsError` naming each file and key).
2. **Plan**: fingerprint the inputs (params, data source, ``review`` code, notebooks) and
   compare them with the previous ``manifest.json``. A section whose inputs key is unchanged
   and whose files exist is *reused*; a period with nothing to run and a complete previous
   output is *skipped* (``--force`` runs everything selected).
3. **Prepare** (in a worker): a temporary build folder ``.tmp-<period>-…`` next to the final
   one, reused sections copied in, the data validated and the KPI set computed once through
   the cache (:func:`review.cache.period_metrics`), ``metrics.json`` written.
4. **Notebooks** (in workers, all periods' notebooks in one pool): papermill in-process, then
   the HTML export of the section (:mod:`review.runner.execute`).
5. **Finalize** (in a worker): ``report.html`` assembled from the sections (summary first)
   with the analyst's commentary (:mod:`review.report.commentary`), ``tables.xlsx``
   (:mod:`review.report.workbook`), ``report.pdf`` when a Chromium is present
   (:mod:`review.runner.pdf`), ``manifest.json`` written, resolved secrets scrubbed, the
   build swapped in, and ``.state/<period>.json`` recorded at once. A changed commentary
   alone re-runs only this step.

Scheduling: tasks wait in a priority queue (earlier period first; within a period finalize,
then notebooks, then prepare) and at most ``jobs`` are in the pool, so each period is final as
soon as its own notebooks are done: a batch killed half-way keeps every finished period.

A failure anywhere fails only its period: the build goes to ``.failed/<period>/`` (with the
executed notebook that shows the failing cell), the previous good output stays byte for byte,
the other periods go on. Afterwards ``.state/<period>.json`` records the attempt and
``index.html`` is rebuilt.

Parallelism: a process pool of ``jobs`` workers (default: the number of cores). On POSIX the
workers are *forked* after the parent has imported papermill, nbconvert and the report code,
so no worker pays those imports again; the parent never opens a data engine before forking
(engine-URL sources are fingerprinted in the workers). ``jobs=1`` runs everything in this
process, in order. Workers die with the batch and close their copy of the lock
(:func:`worker_init`), so a killed run never leaves ``outputs/.lock`` held.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from review import paths
from review.config import Params, load_params
from review.errors import ParamsError, ReviewError
from review.runner import fingerprint, outputs
from review.runner.execute import (
    NotebookResult,
    NotebookTask,
    Section,
    discover_sections,
    environ,
    run_notebook,
    section_title,
    select_sections,
)
from review.runner.manifest import (
    METRICS,
    REPORT,
    Inputs,
    build_manifest,
    environment_info,
    now,
    params_hash,
    read_manifest,
    relative_to_project,
    write_json,
)

Status = Literal["built", "skipped", "failed"]


@dataclass(frozen=True)
class RunOptions:
    """Options of a batch run (the ``review run`` flags)."""

    out_dir: Path = paths.OUTPUTS_DIR
    notebooks_dir: Path = paths.NOTEBOOKS_DIR
    jobs: int | None = None  # default: os.cpu_count()
    only: tuple[str, ...] = ()  # section ids or notebook stems
    force: bool = False
    cache_dir: Path | None = None  # default: <out_dir>/.cache
    cell_timeout: float | None = None  # seconds per cell; None: no limit
    progress: bool = True
    index_lang: str = "en"

    @property
    def cache(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path(self.out_dir) / ".cache"


@dataclass
class PeriodResult:
    """The outcome of one period: what was done, why, how long, where to look."""

    period: str
    status: Status
    reason: str
    duration_s: float
    output: Path | None  # report.html (built/skipped), or the failing notebook / build folder
    failures: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)  # notebook stems run this time

    @property
    def label(self) -> str:
        return f"{self.status} ({self.reason})" if self.reason else self.status


@dataclass
class BatchResult:
    """Every period's result, the index page and the wall time."""

    periods: list[PeriodResult]
    index: Path | None
    duration_s: float
    notes: list[str] = field(default_factory=list)  # problems outside any period (the index)

    @property
    def ok(self) -> bool:
        """``True`` when no period failed."""
        return all(p.status != "failed" for p in self.periods)

    def summary(self) -> str:
        """The closing table (period, status, duration, output) and the failures."""
        rows = [("period", "status", "duration", "output")]
        for p in self.periods:
            rows.append((p.period, p.label, f"{p.duration_s:.1f} s",
                         _show_path(p.output) if p.output else "—"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
        failures = [f for p in self.periods for f in p.failures] + self.notes
        if failures:
            lines += ["", "failures:"] + [f"  {f}" for f in failures]
        n_failed = sum(p.status == "failed" for p in self.periods)
        lines += ["", f"{len(self.periods)} period(s), {n_failed} failed, "
                      f"{self.duration_s:.1f} s" + (f"; index: {_show_path(self.index)}"
                                                     if self.index else "")]
        return "\n".join(lines)


def _show_path(path: Path) -> str:
    """A path as messages show it: relative to the project root when inside it."""
    return relative_to_project(path)


# -- parameters -----------------------------------------------------------------------------
def load_params_files(files: Sequence[Path]) -> list[tuple[Path, Params]]:
    """Load and validate every params file; all problems in one :class:`ParamsError`.

    Also refuses two files for the same period id (their outputs would collide).
    """
    loaded, problems = [], []
    seen: dict[str, Path] = {}
    for f in files:
        try:
            params = load_params(f)
        except ParamsError as exc:
            problems.append(str(exc))
            continue
        if params.period in seen:
            problems.append(f"{f}: period {params.period!r} is already defined in "
                            f"{seen[params.period]}; give each period one params file")
            continue
        seen[params.period] = Path(f)
        loaded.append((Path(f), params))
    if problems:
        raise ParamsError("\n".join(problems))
    if not loaded:
        raise ParamsError("no params files given (name files or use --all)")
    return loaded


# -- planning -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What to do for one period and why."""

    params_file: Path
    params: Params
    decision: Literal["build", "skip", "defer", "fail"]
    reason: str
    inputs: Inputs | None = None  # None until the data is fingerprinted (engine URLs)
    to_run: tuple[Section, ...] = ()
    reuse: tuple[Section, ...] = ()
    report: tuple[Section, ...] = ()  # sections of the report, in report order

    @property
    def period(self) -> str:
        return self.params.period


def decide(params_file: Path, params: Params, inputs: Inputs, sections: Sequence[Section],
           selected: Sequence[Section], previous: dict[str, Any] | None, folder: Path,
           *, force: bool) -> Plan:
    """Which sections to run and which to reuse, from the inputs and the previous manifest.

    A section is up to date when the previous manifest has the same inputs key for it and its
    executed notebook and HTML exist. Selected sections that are not up to date (all selected
    ones with ``force``) run; every other section with a previous build is reused. The period
    is skipped when nothing runs and the previous report has exactly these sections.
    """
    prev_sections = {s["stem"]: s for s in (previous or {}).get("sections", [])}
    complete = (previous is not None and (folder / REPORT).is_file()
                and (folder / METRICS).is_file())

    def built(s: Section) -> bool:
        return (s.stem in prev_sections and (folder / f"{s.stem}.ipynb").is_file()
                and (folder / f"{s.stem}.html").is_file())

    def current(s: Section) -> bool:
        return (complete and built(s)
                and prev_sections[s.stem].get("inputs_key") == inputs.section_key(s.stem))

    to_run = tuple(s for s in selected if force or not current(s))
    reuse = tuple(s for s in sections if s not in to_run and built(s))
    report = tuple(s for s in sections if s in to_run or s in reuse)
    same_layout = [s.stem for s in report] == list(prev_sections)
    same_notes = (previous or {}).get("inputs", {}).get("commentary", "") == inputs.commentary
    if not to_run and complete and same_layout and same_notes:
        return Plan(params_file, params, "skip", "unchanged", inputs, (), reuse, report)
    reason = "forced" if force else _why(inputs, previous, sections, complete, built)
    return Plan(params_file, params, "build", reason, inputs, to_run, reuse, report)


def _why(inputs: Inputs, previous: dict[str, Any] | None, sections: Sequence[Section],
         complete: bool, built: Callable[[Section], bool]) -> str:
    if previous is None:
        return "new"
    before = previous.get("inputs", {})
    reasons = []
    if before.get("params_hash") != inputs.params_hash:
        reasons.append("params changed")
    if before.get("data") != inputs.data:
        reasons.append("data changed")
    if before.get("code") != inputs.code:
        reasons.append("code changed")
    old_nbs = before.get("notebooks", {})
    changed = [s.stem for s in sections
               if s.stem in old_nbs and old_nbs[s.stem] != inputs.notebooks[s.stem]]
    if changed:
        reasons.append("notebook changed: " + ", ".join(changed))
    added = [s.stem for s in sections if s.stem not in old_nbs]
    if added:
        reasons.append("new notebook: " + ", ".join(added))
    removed = sorted(set(old_nbs) - {s.stem for s in sections})
    if removed:
        reasons.append("notebook removed: " + ", ".join(removed))
    if before.get("commentary", "") != inputs.commentary:
        reasons.append("commentary changed")
    if not reasons and (not complete or not all(built(s) for s in sections)):
        reasons.append("previous output incomplete")
    return ", ".join(reasons) or "sections selected"


# -- work done in the pool ------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What every task of a batch shares (picklable)."""

    out_dir: Path
    cache_dir: Path
    notebooks_dir: Path
    code: str
    notebooks: dict[str, str]
    sections: tuple[Section, ...]
    selected: tuple[Section, ...]
    force: bool
    cell_timeout: float | None


@dataclass(frozen=True)
class Prepared:
    """A period ready for its notebooks (or why not)."""

    plan: Plan
    started: str = ""  # local time, for the manifest
    t0: float = 0.0  # time.time() at the start, for the period's duration
    build_dir: Path | None = None
    tables: dict[str, dict] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    failure: str | None = None


@dataclass(frozen=True)
class Finalized:
    """A period swapped in (``failure`` is ``None``) or not."""

    period: str
    failure: str | None = None


def inputs_for(params: Params, data_fp: str, ctx: Context, params_file: Path) -> Inputs:
    """The :class:`Inputs` of a period once its data fingerprint is known."""
    from review.report.commentary import commentary_hash

    return Inputs(params_hash(params), data_fp, ctx.code, dict(ctx.notebooks),
                  commentary_hash(params_file, params.period, params.lang))


def prepare_period(plan: Plan, ctx: Context) -> Prepared:
    """Fingerprint (engine URLs), make the build folder, validate and compute the KPIs.

    Never raises: a failure is returned in :attr:`Prepared.failure`.
    """
    from review import cache

    params = plan.params
    started, t0 = now(), time.time()
    build = None
    try:
        if plan.inputs is None:  # an engine URL: fingerprinted here, not in the parent
            data_fp = fingerprint.source_fingerprint(
                params.source, memo_dir=ctx.cache_dir / "fingerprints")
            folder = outputs.period_dir(ctx.out_dir, params.period)
            plan = decide(plan.params_file, params,
                          inputs_for(params, data_fp, ctx, plan.params_file),
                          ctx.sections, ctx.selected, read_manifest(folder), folder,
                          force=ctx.force)
            if plan.decision == "skip":
                return Prepared(plan, started, t0)
        assert plan.inputs is not None
        build = outputs.new_build_dir(ctx.out_dir, params.period)
        final = outputs.period_dir(ctx.out_dir, params.period)
        for s in plan.reuse:
            for suffix in (".ipynb", ".html"):
                shutil.copy2(final / f"{s.stem}{suffix}", build / f"{s.stem}{suffix}")
        env = cache.kernel_environment(params, plan.inputs.data, ctx.cache_dir)
        with environ(env):
            pm = cache.period_metrics(params, cache_dir=ctx.cache_dir)
        write_json(build / METRICS, pm.to_json())
        tables = fingerprint.table_fingerprints(
            params.source, source_fp=plan.inputs.data, memo_dir=ctx.cache_dir / "fingerprints")
        return Prepared(plan, started, t0, build, tables, env)
    except Exception as exc:
        return Prepared(plan, started, t0, build, failure=_explain(exc, params.source, build))


def finalize_period(prepared: Prepared, results: dict[str, NotebookResult],
                    environment: dict[str, Any], ctx: Context) -> Finalized:
    """Assemble ``report.html``, write ``manifest.json``, scrub secrets, swap the build in.

    Never raises: a failure is returned in :attr:`Finalized.failure` and the build is left
    for the caller to keep in ``.failed/``.
    """
    plan, build = prepared.plan, prepared.build_dir
    params = plan.params
    assert build is not None and plan.inputs is not None
    try:
        import nbformat

        from review.report import commentary, i18n, render

        nbs = [(s.id, nbformat.read(build / f"{s.stem}.ipynb", as_version=4))
               for s in plan.report]
        title = f"{i18n.t('report.title', params.lang)} · {params.period}"
        notes = commentary.load(plan.params_file, params.period, params.lang)
        html = render.assemble_report(nbs, title=title, lang=params.lang,
                                      **({"commentary": notes} if notes else {}))
        (build / REPORT).write_text(html, encoding="utf-8")
        from review.report.workbook import TABLES_XLSX, write_workbook
        from review.runner import pdf

        write_workbook(html, build / TABLES_XLSX)
        pdf_note = (pdf.write_pdf(build / REPORT, build / pdf.PDF) if pdf.enabled()
                    else f"report.pdf not written: {pdf.PDF_ENV}=0")
        final = outputs.period_dir(ctx.out_dir, params.period)
        previous = {s["stem"]: s for s in (read_manifest(final) or {}).get("sections", [])}
        sections = []
        for s in plan.report:
            if s.stem in results:
                entry = {"id": s.id, "stem": s.stem, "title": section_title(s.id, params.lang),
                         "status": "executed", "inputs_key": plan.inputs.section_key(s.stem),
                         "duration_s": round(results[s.stem].duration_s, 3)}
            else:
                entry = {**previous[s.stem], "status": "reused"}
            sections.append(entry)
        manifest = build_manifest(
            params=params, params_file=plan.params_file, inputs=plan.inputs,
            tables=prepared.tables, sections=sections, environment=environment,
            started=prepared.started, finished=now(), duration_s=time.time() - prepared.t0)
        manifest["pdf"] = pdf_note or pdf.PDF
        write_json(build / "manifest.json", manifest)
        outputs.scrub_folder(build, params.source)
        outputs.swap_in(build, final)
        return Finalized(params.period)
    except Exception as exc:
        return Finalized(params.period, _explain(exc, params.source, build))


def _explain(exc: BaseException, source: str, build: Path | None) -> str:
    """A failure in plain words; unexpected errors also leave a traceback in the build."""
    if isinstance(exc, ReviewError):
        return outputs.redact_text(str(exc), source)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS,
                                                  errno.EACCES, errno.EPERM):
        return outputs.redact_text(str(outputs.writable_error(
            exc, build or Path("."), "write the build")), source)
    if build is not None and build.is_dir():
        (build / "error.txt").write_text(
            outputs.redact_text(traceback.format_exc(), source), encoding="utf-8")
    return outputs.redact_text(f"{type(exc).__name__}: {exc}", source)


# -- the executor ---------------------------------------------------------------------------
class InlineExecutor:
    """Runs each task at submission, in this process (``jobs=1``; tests' monkeypatches hold)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # task functions do not raise; this is a safety net
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


def _warm_imports() -> None:
    """Import what the workers need once, in the parent, before they are forked."""
    import importlib

    for name in ("papermill", "nbformat", "review.report.render", "review.report.i18n",
                 "review.cache", "review.metrics.period", "review.data.validate"):
        try:
            importlib.import_module(name)
        except ImportError:  # a missing piece fails its own tasks, with its name
            continue


#: ``prctl`` option: the signal the kernel sends this process when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def worker_init(parent_pid: int, lock_fd: int | None = None) -> None:
    """Run in every pool worker at its start: die with the batch, never hold its lock.

    A worker must not outlive the batch that forked it (``kill -9`` of the runner would
    leave it running, writing into the outputs folder). On Linux the kernel kills it when
    its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere a daemon thread checks
    every second that the parent is still there. The worker also closes its inherited copy
    of the lock file, so that the lock is released as soon as the batch itself is gone.
    """
    import signal

    if lock_fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        import threading

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="review-parent-watch", daemon=True).start()


def make_executor(jobs: int, lock_fd: int | None = None) -> Any:
    """:class:`InlineExecutor` for one job, else a process pool (forked workers on POSIX).

    Pool workers run :func:`worker_init` (they die with this process and do not hold the
    outputs lock ``lock_fd``).
    """
    if jobs <= 1:
        return InlineExecutor()
    _warm_imports()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=worker_init,
                               initargs=(os.getpid(), lock_fd))


# -- the batch ------------------------------------------------------------------------------
def run_batch(params_files: Sequence[Path], options: RunOptions | None = None) -> BatchResult:
    """Build the report of every period in ``params_files``.

    Parameters
    ----------
    params_files
        Period YAML files; all are validated before anything runs.
    options
        See :class:`RunOptions`.

    Returns
    -------
    BatchResult
        One :class:`PeriodResult` per period (``built``, ``skipped`` or ``failed``), the
        index page and the wall time. Period failures are results, not exceptions.

    Raises
    ------
    ParamsError
        A params file is invalid (nothing has run).
    RunError
        No notebooks, an unknown ``--only`` section, or another batch holds the outputs.
    """
    options = options or RunOptions()
    t0 = time.perf_counter()
    loaded = load_params_files(params_files)
    sections = discover_sections(options.notebooks_dir)
    selected = select_sections(sections, options.only)
    out = Path(options.out_dir)
    with outputs.locked(out) as lock_fd:
        try:
            outputs.recover(out)
        except OSError as exc:
            raise outputs.writable_error(exc, out, "clean up the outputs folder") from None
        from review.data.rollup import refresh_sources  # daily rollups first: periods read them

        refresh_sources([p.source for _, p in loaded],
                        say=(lambda m: print(m, file=sys.stderr)) if options.progress else None)
        ctx = Context(out_dir=out, cache_dir=options.cache, notebooks_dir=options.notebooks_dir,
                      code=fingerprint.code_hash(),
                      notebooks={s.stem: fingerprint.notebook_hash(s.path) for s in sections},
                      sections=sections, selected=selected, force=options.force,
                      cell_timeout=options.cell_timeout)
        plans = [_plan(f, p, ctx) for f, p in loaded]
        results = _Runner(plans, ctx, options, lock_fd).run()  # records each period at once
        from review.runner.index import build_index

        notes: list[str] = []
        try:
            index = build_index(out, lang=options.index_lang)
        except OSError as exc:
            index = None
            notes.append(str(outputs.writable_error(exc, out / "index.html",
                                                    "write the index page")))
    return BatchResult(results, index, time.perf_counter() - t0, notes)


def _plan(params_file: Path, params: Params, ctx: Context) -> Plan:
    """Plan a period in the parent: local sources are fingerprinted here (no engine)."""
    try:
        if fingerprint.local_source_path(params.source) is None:
            return Plan(params_file, params, "defer", "")
        data_fp = fingerprint.source_fingerprint(params.source,
                                                 memo_dir=ctx.cache_dir / "fingerprints")
    except ReviewError as exc:
        return Plan(params_file, params, "fail", outputs.redact_text(str(exc), params.source))
    folder = outputs.period_dir(ctx.out_dir, params.period)
    return decide(params_file, params, inputs_for(params, data_fp, ctx, params_file),
                  ctx.sections,
                  ctx.selected, read_manifest(folder), folder, force=ctx.force)


def _record(out: Path, r: PeriodResult) -> None:
    """Write ``.state/<period>.json`` as soon as the period is done (a later crash keeps it).

    A write that fails (disk full, read-only) is added to the period's failures: the closing
    table is still printed.
    """
    try:
        if r.status != "failed":
            outputs.clear_failed(out, r.period)
        outputs.write_state(out, r.period, {
            "period": r.period, "status": r.status, "reason": r.reason, "finished": now(),
            "duration_s": round(r.duration_s, 3),
            "message": "; ".join(r.failures) or None,
            "output": relative_to_project(r.output) if r.output else None,
            "executed": r.executed,
        })
    except OSError as exc:
        r.failures.append(f"{r.period}: " + str(outputs.writable_error(
            exc, Path(out) / outputs.STATE_DIR, "record the run's state")))


def _disk_full(lines: Sequence[str]) -> bool:
    """Whether a failure's text says the disk (or the quota) is full."""
    marks = ("No space left on device", "Disk quota exceeded", f"[Errno {errno.ENOSPC}]",
             f"[Errno {errno.EDQUOT}]", "the disk is full")
    return any(m in line for line in lines for m in marks)


#: Scheduling rank of a task kind within a period: finishing work first.
_RANK = {"finalize": 0, "notebook": 1, "prepare": 2}


class _Runner:
    """Schedules prepare → notebooks → finalize of every period on one executor.

    Tasks wait in a priority queue and at most ``jobs`` are in the pool at a time, so a
    ready task of an earlier period (in the order given) always runs before any task of a
    later one, and a period's finalisation before anything else of it: each period is
    swapped in (and its state recorded) as soon as its own notebooks are done, not when the
    whole batch is.
    """

    def __init__(self, plans: list[Plan], ctx: Context, options: RunOptions,
                 lock_fd: int | None = None):
        self.plans, self.ctx, self.options, self.lock_fd = plans, ctx, options, lock_fd
        self.results: dict[str, PeriodResult] = {}
        self.started: dict[str, float] = {}
        self.prepared: dict[str, Prepared] = {}
        self.done: dict[str, dict[str, NotebookResult]] = {}
        self.pending: dict[Future, tuple[str, str]] = {}
        self.queue: list[tuple[int, int, int, str, str, Callable, tuple]] = []
        self.order = {p.period: i for i, p in enumerate(plans)}
        self.capacity, self.seq = 1, 0
        self.environment: dict[str, Any] | None = None
        self.bar: Any = None
        self.deferred = {p.period: p.decision == "defer" for p in plans}

    def run(self) -> list[PeriodResult]:
        work = [p for p in self.plans if p.decision in ("build", "defer")]
        for p in self.plans:
            if p.decision == "skip":
                self._finish(p.period, "skipped", p.reason, 0.0)
            elif p.decision == "fail":
                self._finish(p.period, "failed", "data", 0.0, [f"{p.period}: {p.reason}"])
        if work:
            self.environment = environment_info()
            tasks = sum(len(p.to_run) for p in work) + sum(p.decision == "defer" for p in work)
            jobs = max(1, min(self.options.jobs or os.cpu_count() or 1, tasks))
            self._open_bar(sum(len(p.to_run) for p in work))
            executor = make_executor(jobs, self.lock_fd)
            self.capacity = jobs
            try:
                for p in work:
                    self.started[p.period] = time.perf_counter()
                    self._submit(executor, "prepare", p.period, prepare_period, p, self.ctx)
                self._pump(executor)
                while self.pending:
                    finished, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
                    for fut in finished:
                        kind, name = self.pending.pop(fut)
                        self._handle(executor, kind, name, fut)
                    self._pump(executor)
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
                if self.bar is not None:
                    self.bar.close()
        order = [p.period for p in self.plans]
        return [self.results[period] for period in order]

    # -- plumbing ---------------------------------------------------------------------------
    def _submit(self, executor: Any, kind: str, name: str, fn: Callable, *args: Any) -> None:
        """Queue a task; :meth:`_pump` hands it to the executor when a worker is free."""
        period = name.split("/", 1)[0]
        self.seq += 1  # ties: first queued, first run (and functions are never compared)
        heapq.heappush(self.queue, (self.order.get(period, len(self.order)), _RANK[kind],
                                    self.seq, kind, name, fn, args))

    def _pump(self, executor: Any) -> None:
        """Start queued tasks, most urgent first, while fewer than ``jobs`` are running."""
        while self.queue and len(self.pending) < self.capacity:
            *_, kind, name, fn, args = heapq.heappop(self.queue)
            try:
                self.pending[executor.submit(fn, *args)] = (kind, name)
            except Exception as exc:  # a broken pool (a worker was killed): fail the period
                period = name.split("/", 1)[0]
                if period not in self.results:
                    self._fail(period, [f"{period}: worker process failed "
                                        f"({type(exc).__name__}: {exc})"])

    def _open_bar(self, total: int) -> None:
        if not self.options.progress:
            return
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: workers are forked from this process
        self.bar = tqdm(total=total, desc="notebooks", unit="nb", file=sys.stderr,
                        dynamic_ncols=True, leave=True)

    def _say(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)

    def _handle(self, executor: Any, kind: str, name: str, fut: Future) -> None:
        try:
            value = fut.result()
        except Exception as exc:  # the pool itself broke (a worker was killed)
            period = name.split("/", 1)[0]
            self._fail(period, [f"{period}: worker process failed ({type(exc).__name__}: "
                                f"{exc})"])
            return
        if kind == "prepare":
            self._prepared(executor, value)
        elif kind == "notebook":
            self._notebook_done(executor, value)
        else:
            self._finalized(value)

    def _prepared(self, executor: Any, prep: Prepared) -> None:
        period = prep.plan.period
        self.prepared[period] = prep
        if prep.failure is not None:
            self._fail(period, [f"{period}: {prep.failure}"], "data")
            return
        if prep.plan.decision == "skip":  # a deferred plan turned out unchanged
            self._finish(period, "skipped", prep.plan.reason,
                         time.perf_counter() - self.started[period])
            return
        if self.bar is not None:
            if self.deferred.get(period):  # its notebooks were not counted yet
                self.bar.total += len(prep.plan.to_run)
                self.bar.refresh()
            self._say(f"{period}: data ready, {len(prep.plan.to_run)} notebook(s) to run"
                      f" ({prep.plan.reason})")
        self.done[period] = {}
        if not prep.plan.to_run:
            self._finalize(executor, prep)
            return
        for s in prep.plan.to_run:
            task = NotebookTask(
                period=period, section=s, parameters=prep.plan.params.notebook_parameters(),
                lang=prep.plan.params.lang, source=prep.plan.params.source,
                build_dir=prep.build_dir, cwd=self.ctx.notebooks_dir, env=prep.env,
                cell_timeout=self.ctx.cell_timeout)
            self._submit(executor, "notebook", f"{period}/{s.stem}", run_notebook, task)

    def _notebook_done(self, executor: Any, r: NotebookResult) -> None:
        prep = self.prepared[r.period]
        self.done[r.period][r.section.stem] = r
        if self.bar is not None:
            mark = "ok  " if r.ok else "FAIL"
            self._say(f"  {mark} {r.period} · {r.section.stem}  {r.duration_s:.1f} s")
            self.bar.set_postfix_str(f"{r.period} · {r.section.stem}", refresh=False)
            self.bar.update(1)
        if len(self.done[r.period]) < len(prep.plan.to_run):
            return
        failed = sorted((x for x in self.done[r.period].values() if not x.ok),
                        key=lambda x: x.section.stem)
        if failed:
            kept = outputs.failed_dir(self.ctx.out_dir, r.period)
            lines = [f"{x.period} / {x.section.stem}: {x.failure.describe()} "
                     f"(see {_show_path(kept / x.notebook.name)})" for x in failed if x.failure]
            self._fail(r.period, lines, "notebook", failed[0].notebook.name)
            return
        self._finalize(executor, prep)

    def _finalize(self, executor: Any, prep: Prepared) -> None:
        self._submit(executor, "finalize", prep.plan.period, finalize_period, prep,
                     self.done.get(prep.plan.period, {}), self.environment, self.ctx)

    def _finalized(self, fin: Finalized) -> None:
        prep = self.prepared[fin.period]
        if fin.failure is not None:
            self._fail(fin.period, [f"{fin.period}: {fin.failure}"], "report")
            return
        self._finish(fin.period, "built", prep.plan.reason,
                     time.perf_counter() - self.started[fin.period],
                     executed=[s.stem for s in prep.plan.to_run])

    def _fail(self, period: str, lines: list[str], stage: str = "",
              notebook: str | None = None) -> None:
        prep = self.prepared.get(period)
        shown: Path | None = None
        if prep is not None and prep.build_dir is not None and prep.build_dir.is_dir():
            build = prep.build_dir
            if _disk_full(lines):  # keep only what shows the error, free the rest
                _prune_build(build, notebook)
            try:
                outputs.scrub_folder(build, prep.plan.params.source)
                kept = outputs.keep_failed(build, self.ctx.out_dir, period)
                shown = kept / notebook if notebook and (kept / notebook).is_file() else kept
            except OSError as exc:  # nothing half-kept (it might hold an unscrubbed secret)
                shutil.rmtree(build, ignore_errors=True)
                lines = [*lines, f"{period}: " + str(outputs.writable_error(
                    exc, outputs.failed_dir(self.ctx.out_dir, period), "keep the failed build"))]
        final = outputs.period_dir(self.ctx.out_dir, period) / REPORT
        if final.is_file():
            lines = [*lines, f"{period}: previous report kept: {_show_path(final)}"]
        self._finish(period, "failed", stage,
                     time.perf_counter() - self.started.get(period, time.perf_counter()),
                     lines, output=shown)

    def _finish(self, period: str, status: Status, reason: str, duration: float,
                failures: list[str] | None = None, output: Path | None = None,
                executed: list[str] | None = None) -> None:
        if output is None and status != "failed":
            output = outputs.period_dir(self.ctx.out_dir, period) / REPORT
        result = PeriodResult(period, status, reason, duration, output, failures or [],
                              executed or [])
        _record(self.ctx.out_dir, result)
        self.results[period] = result


def _prune_build(build: Path, notebook: str | None) -> None:
    """Delete everything in a failed build but the notebook that shows the error (with its
    kernel log) and ``error.txt``: after a disk-full failure, ``.failed/`` stays small."""
    keep = {"error.txt"}
    if notebook:
        keep |= {notebook, f"{Path(notebook).stem}.stderr.txt"}
    for entry in build.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


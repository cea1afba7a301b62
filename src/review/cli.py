"""``review``: the command line. It parses arguments and calls the Python API, nothing more.

::

    review run PARAMS.yaml [...] | --all [--jobs N] [--only SECTION] [--force] [--out DIR]
    review demo [--users N] [--out DIR] [--jobs N]
    review demo-data --out PATH [--users N] [--months M] [--seed S]
    review validate [PARAMS.yaml ... | --source SOURCE]
    review rollup [PARAMS.yaml ... | --source SOURCE] [--full]
    review params new 2026-11 --from 2026-10
    review init DIR [--period 2026-10]
    review --project DIR COMMAND ...      (default: the current folder's project)
    review import SOURCE... --mapping mapping.yaml --into STORE
    review import EXPORT.csv --draft [--out mapping.yaml]

Exit codes: 0 success; 1 a period failed or the data breaks the contract; 2 a usage error or
any :class:`~review.errors.ReviewError` (printed as one message, without a traceback);
130 interrupted.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from review import __version__, paths
from review.errors import ReviewError

PathArg = click.Path(path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="review")
@click.option("--project", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The project folder (default: the current folder, or the nearest one "
                   "above it with params/).")
@click.pass_context
def cli(ctx: click.Context, project: Path | None) -> None:
    """Campaign Review Workbook: parameterised, reproducible campaign review reports."""
    ctx.obj = {"project_given": project is not None}
    paths.set_project(project or paths.PROJECT_ROOT)  # exported: notebook kernels inherit it


def _adopt_project(files: Sequence[Path]) -> None:
    """Without ``--project``, params files given by path bring their own project (the folder
    above their ``params/``), so relative paths in them resolve there."""
    ctx = click.get_current_context()
    if (ctx.obj or {}).get("project_given") or not files:
        return
    projects = {paths.project_of(f) for f in files}
    if len(projects) > 1:
        raise click.UsageError("the params files belong to different projects ("
                               + ", ".join(sorted(str(p) for p in projects))
                               + "); run each project on its own or give --project")
    (root,) = projects
    if root != paths.PROJECT_ROOT:
        paths.set_project(root)


# -- run ------------------------------------------------------------------------------------
def _split_only(only: Sequence[str]) -> tuple[str, ...]:
    return tuple(name for item in only for name in item.split(",") if name)


def _params_files(files: Sequence[Path], all_: bool) -> list[Path]:
    chosen = list(files)
    if all_:
        chosen += [p for p in sorted(paths.PARAMS_DIR.glob("*.yaml")) if p not in chosen]
    if not chosen:
        raise click.UsageError("name one or more params files, or use --all")
    return chosen


def _run_options(*, out: Path | None, jobs: int | None, only: Sequence[str] = (),
                 force: bool = False, notebooks: Path | None = None,
                 cache_dir: Path | None = None, cell_timeout: float | None = None,
                 quiet: bool = False, index_lang: str = "en"):
    from review.runner.batch import RunOptions

    return RunOptions(out_dir=out or paths.OUTPUTS_DIR,
                      notebooks_dir=notebooks or paths.NOTEBOOKS_DIR, jobs=jobs,
                      only=_split_only(only), force=force, cache_dir=cache_dir,
                      cell_timeout=cell_timeout, progress=not quiet, index_lang=index_lang)


_run_flags = [
    click.option("--jobs", "-j", type=click.IntRange(min=1),
                 help="Parallel workers (default: the number of cores)."),
    click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                 help="Outputs folder (default: outputs/)."),
    click.option("--quiet", "-q", is_flag=True, help="No progress display."),
    click.option("--index-lang", type=click.Choice(["en", "zh"]), default="en",
                 show_default=True, help="Language of outputs/index.html."),
]


def run_flags(fn):
    for flag in reversed(_run_flags):
        fn = flag(fn)
    return fn


@cli.command()
@click.argument("params_files", nargs=-1, type=PathArg)
@click.option("--all", "all_", is_flag=True, help="Every params/*.yaml.")
@click.option("--only", multiple=True, metavar="SECTION",
              help="Run only these sections (repeat, or comma-separate): summary, budget, …")
@click.option("--force", is_flag=True, help="Rebuild even when the inputs are unchanged.")
@click.option("--notebooks", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the section notebooks (default: notebooks/).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Metrics cache (default: <out>/.cache).")
@click.option("--cell-timeout", type=float, metavar="SECONDS",
              help="Fail a notebook whose cell runs longer than this.")
@run_flags
def run(params_files: tuple[Path, ...], all_: bool, only: tuple[str, ...], force: bool,
        notebooks: Path | None, cache_dir: Path | None, cell_timeout: float | None,
        jobs: int | None, out: Path | None, quiet: bool, index_lang: str) -> int:
    """Build the report of each period: PARAMS.yaml files, or --all."""
    from review.runner.batch import run_batch

    _adopt_project(params_files)
    options = _run_options(out=out, jobs=jobs, only=only, force=force, notebooks=notebooks,
                           cache_dir=cache_dir, cell_timeout=cell_timeout, quiet=quiet,
                           index_lang=index_lang)
    result = run_batch(_params_files(params_files, all_), options)
    click.echo(result.summary())
    return 0 if result.ok else 1


# -- demo -----------------------------------------------------------------------------------
@cli.command()
@click.option("--users", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Customers in the synthetic store.")
@click.option("--force", is_flag=True, help="Rebuild every report even when unchanged.")
@run_flags
def demo(users: int, force: bool, jobs: int | None, out: Path | None, quiet: bool,
         index_lang: str) -> int:
    """Build data/demo.duckdb when needed, then the report of every params/*.yaml."""
    from review.runner.demo import run_demo

    options = _run_options(out=out, jobs=jobs, force=force, quiet=quiet, index_lang=index_lang)
    result = run_demo(users=users, options=options)
    click.echo(result.summary())
    if result.index is not None:
        click.echo(f"open {result.index}")
    return 0 if result.ok else 1


@cli.command("demo-data")
@click.option("--out", type=PathArg, help="The DuckDB file to write (default: "
              "data/demo.duckdb in the project).")
@click.option("--users", type=click.IntRange(min=1), help="Default: as `make demo`.")
@click.option("--months", type=click.IntRange(min=1), help="Default: as `make demo`.")
@click.option("--seed", type=int, help="Default: as `make demo`.")
def demo_data(out: Path | None, users: int | None, months: int | None, seed: int | None
              ) -> int:
    """Write a synthetic store that follows the data contract (with planted truths)."""
    from review.data.demo import generate

    out = out or paths.DEMO_STORE

    out.parent.mkdir(parents=True, exist_ok=True)
    given = {"users": users, "months": months, "seed": seed}
    generate(out, progress=True, **{k: v for k, v in given.items() if v is not None})
    click.echo(f"wrote {out}")
    return 0


# -- validate -------------------------------------------------------------------------------
@cli.command()
@click.argument("params_files", nargs=-1, type=PathArg)
@click.option("--source", help="Validate this data source (path or URL) instead.")
def validate(params_files: tuple[Path, ...], source: str | None) -> int:
    """Check params files and their data against the contract (nothing runs)."""
    from review.runner.batch import load_params_files

    if source and params_files:
        raise click.UsageError("give params files or --source, not both")
    if source:
        sources = [source]
    else:
        _adopt_project(params_files)
        files = list(params_files) or sorted(paths.PARAMS_DIR.glob("*.yaml"))
        loaded = load_params_files(files)
        click.echo(f"parameters ok: {', '.join(str(f) for f, _ in loaded)}")
        sources = list(dict.fromkeys(p.source for _, p in loaded))
    failed = False
    for src in sources:
        failed = not _validate_source(src) or failed
    return 1 if failed else 0


def _redacted(text: str, source: str) -> str:
    """``text`` through the one redactor: no resolved ``${SECRET}`` of ``source``, no password."""
    from review.secrets import redact

    return redact(text, source)


def _validate_source(src: str) -> bool:
    """Validate one source and print its report; every message is redacted. ``True``: no error.

    An engine that fails mid-way (a truncated or corrupt DuckDB file) becomes a
    :class:`~review.errors.DataSourceError` naming the source, not a traceback.
    """
    from review.data.connect import connect
    from review.data.csvcheck import first_line
    from review.data.validate import validate as validate_source
    from review.errors import DataSourceError

    try:
        con = connect(src)
        try:
            report = validate_source(con)
        finally:
            with contextlib.suppress(Exception):
                con.disconnect()
    except ReviewError as exc:
        raise type(exc)(_redacted(str(exc), src)) from None
    except Exception as exc:  # the engine's own errors (duckdb.IOException, …)
        raise DataSourceError(_redacted(
            f"data source {src}: cannot be read ({type(exc).__name__}: {first_line(exc)}); "
            "the file may be truncated or corrupt: restore it from a copy or rebuild it "
            "(`review import`, `review demo-data`)", src)) from None
    click.echo(_redacted(report.format(f"data source {src}"), src))
    return report.ok


# -- rollup ---------------------------------------------------------------------------------
@cli.command()
@click.argument("params_files", nargs=-1, type=PathArg)
@click.option("--source", help="Roll up this data source (a DuckDB file or a folder).")
@click.option("--full", is_flag=True, help="Rebuild every day, not only new or changed ones.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def rollup(params_files: tuple[Path, ...], source: str | None, full: bool, quiet: bool) -> int:
    """Build or refresh the daily rollups the metrics read (only new or changed days)."""
    from review.data.rollup import refresh
    from review.runner.batch import load_params_files

    if source and params_files:
        raise click.UsageError("give params files or --source, not both")
    if source:
        sources = [source]
    else:
        files = list(params_files) or sorted(paths.PARAMS_DIR.glob("*.yaml"))
        sources = list(dict.fromkeys(p.source for _, p in load_params_files(files)))
    for src in sources:
        say = None if quiet else (lambda msg, s=src: click.echo(_redacted(f"{s}: {msg}", s)))
        click.echo(_redacted(refresh(src, full=full, say=say).summary(), src))
    return 0


# -- params ---------------------------------------------------------------------------------
@cli.group()
def params() -> None:
    """Manage period params files."""


@params.command("new")
@click.argument("period")
@click.option("--from", "from_", required=True, metavar="PERIOD|FILE",
              help="The period (params/<id>.yaml) or file to copy.")
def params_new(period: str, from_: str) -> int:
    """Scaffold params/PERIOD.yaml of the project from an earlier period (or any file)."""
    from review.runner.scaffold import new_commentary_file, scaffold_params

    source = Path(from_)
    if not source.suffix:
        source = paths.PARAMS_DIR / f"{from_}.yaml"
    paths.PARAMS_DIR.mkdir(parents=True, exist_ok=True)
    done = scaffold_params(period, source, dest=paths.PARAMS_DIR / f"{period}.yaml")
    click.echo(done.message())
    notes = new_commentary_file(period, done.path.parent)
    if notes is not None:
        click.echo(f"wrote {notes}: the analyst's commentary (empty sections are not shown)")
    return 0


# -- init -----------------------------------------------------------------------------------
@cli.command()
@click.argument("folder", type=PathArg)
@click.option("--period", default="2026-10", show_default=True,
              help="The example period copied into params/.")
def init(folder: Path, period: str) -> int:
    """Create a project folder: params/, notebooks/, outputs/, data/ and an example period."""
    from review.runner.project import init_project

    root = init_project(folder, period=period)
    click.echo(f"created {root}: cd there, then `review demo-data` and "
               f"`review run params/{period}.yaml` (see its README.md)")
    return 0


# -- import ---------------------------------------------------------------------------------
@cli.command("import")
@click.argument("sources", nargs=-1, required=True, type=PathArg)
@click.option("--mapping", type=PathArg, help="Column mapping YAML.")
@click.option("--into", type=PathArg, help="The DuckDB store to write.")
@click.option("--draft", is_flag=True,
              help="Draft a mapping for one export from its header and a sample (nothing is "
                   "imported).")
@click.option("--out", "draft_out", type=PathArg,
              help="With --draft: where to write the mapping (default: ./<file>.mapping.yaml).")
def import_(sources: tuple[Path, ...], mapping: Path | None, into: Path | None, draft: bool,
            draft_out: Path | None) -> int:
    """Import analysts' CSV/Excel exports into a contract store using a column mapping."""
    if draft:
        if len(sources) != 1 or mapping or into:
            raise click.UsageError("--draft takes one export file and no --mapping/--into")
        from review.data.draft import draft_mapping

        result = draft_mapping(sources[0])
        dest = draft_out or Path(f"{sources[0].stem}.mapping.yaml")
        if dest.exists():
            raise click.UsageError(f"{dest} exists; give another --out or remove it")
        dest.write_text(result.text, encoding="utf-8")
        placed = sum(1 for p in result.placed if p.column)
        click.echo(f"wrote {dest}: {placed} of {len(result.placed)} source columns placed "
                   f"({', '.join(result.tables) or 'no table recognised'}); finish the TODOs, "
                   f"then: review import {sources[0]} --mapping {dest} --into STORE")
        return 0
    if mapping is None or into is None:
        raise click.UsageError("give --mapping and --into (or --draft to draft a mapping)")
    from review.data.importer import import_files, load_mapping

    result = import_files(list(sources), load_mapping(mapping), into)
    click.echo(result.summary())
    return 0


# -- entry point ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (``review`` is ``sys.exit(main())``).

    The project chosen for the command (``--project``, or a params file's own) is this call's
    only: the caller's project and ``$REVIEW_PROJECT`` are restored afterwards.
    """
    before_env, before_root = os.environ.get(paths.PROJECT_ENV), paths.PROJECT_ROOT
    try:
        return _main(argv)
    finally:
        paths.set_project(before_root)
        if before_env is None:
            os.environ.pop(paths.PROJECT_ENV, None)
        else:
            os.environ[paths.PROJECT_ENV] = before_env


def _main(argv: Sequence[str] | None) -> int:
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="review",
                      standalone_mode=False)
    except ReviewError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except OSError as exc:  # a file system refusal not caught closer to it: a message, no trace
        from review.runner.outputs import writable_error

        click.echo(f"error: {writable_error(exc, Path('.'), 'read or write a file')}", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())

"""The layout of the outputs folder, atomic replacement of a period, and secret scrubbing.

::

    outputs/
    ├── index.html                   all periods (rebuilt after every run)
    ├── <period>/                    the last *good* build of a period (never half-written)
    │   ├── report.html  metrics.json  manifest.json
    │   └── NN_<section>.ipynb  NN_<section>.html
    ├── .tmp-<period>-<hex>/         a build in progress (sibling of the final folder)
    ├── .old-<period>-<hex>/         the previous build during the swap (removed right after)
    ├── .failed/<period>/            the last failed build: executed notebooks showing the error
    ├── .state/<period>.json         the last attempt: built / skipped / failed, when, why
    ├── .cache/                      metrics cache and fingerprint memos (review.cache)
    └── .lock                        held by the running batch (its pid inside)

A period is built in ``.tmp-…`` and swapped in with two renames (final → ``.old-…``,
``.tmp-…`` → final) and the backup is deleted; :func:`recover` puts a backup back if a run was
killed between the two renames. A failed build goes to ``.failed/<period>`` and the final
folder is left untouched, byte for byte.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from review.core.files import atomic_write_json
from review.errors import RunError
from review.secrets import MIN_SECRET_LENGTH, env_refs
from review.secrets import redact as redact_text  # the one redactor, under its runner name

TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
FAILED_DIR = ".failed"
STATE_DIR = ".state"
LOCK_FILE = ".lock"


def period_dir(out: Path, period: str) -> Path:
    """The final folder of ``period``."""
    return Path(out) / period


def failed_dir(out: Path, period: str) -> Path:
    """Where the last failed build of ``period`` is kept for inspection."""
    return Path(out) / FAILED_DIR / period


def new_build_dir(out: Path, period: str) -> Path:
    """A fresh, empty temporary sibling of the final folder."""
    path = Path(out) / f"{TMP_PREFIX}{period}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def swap_in(build: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``build`` (two renames on one file system)."""
    backup = final.with_name(f"{OLD_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}")
    had_old = final.exists()
    if had_old:
        final.rename(backup)
    try:
        build.rename(final)
    except OSError:
        if had_old:
            backup.rename(final)
        raise
    if had_old:
        shutil.rmtree(backup, ignore_errors=True)


def keep_failed(build: Path, out: Path, period: str) -> Path:
    """Move a failed build to ``.failed/<period>`` (replacing an older one); return it."""
    dest = failed_dir(out, period)
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    build.rename(dest)
    return dest


def clear_failed(out: Path, period: str) -> None:
    """Forget the failed build of ``period`` (after a good build or an up-to-date skip)."""
    shutil.rmtree(failed_dir(out, period), ignore_errors=True)


def recover(out: Path) -> None:
    """Clean up after a run that was killed: drop builds in progress, restore backups."""
    out = Path(out)
    if not out.is_dir():
        return
    for entry in sorted(out.iterdir()):
        if entry.name.startswith(TMP_PREFIX):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(OLD_PREFIX):
            period = entry.name[len(OLD_PREFIX):].rsplit("-", 1)[0]
            final = period_dir(out, period)
            if final.exists():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.rename(final)


def writable_error(exc: OSError, path: Path, doing: str) -> RunError:
    """A :class:`RunError` for a failed write: the path, the cause and what to do."""
    what = {
        errno.EROFS: "the file system is read-only; use --out to write somewhere else",
        errno.ENOSPC: "the disk is full; free some space (e.g. delete old outputs/.failed "
                      "and outputs/.cache) and run again",
        errno.EDQUOT: "the disk quota is exhausted; free some space and run again",
        errno.EACCES: "permission denied; fix the folder's permissions or use --out",
        errno.EPERM: "permission denied; fix the folder's permissions or use --out",
    }.get(exc.errno or 0, "check the folder and run again")
    where = exc.filename or path
    return RunError(f"{where}: cannot {doing} ({exc.strerror or exc}): {what}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _holder(lock: Path) -> int | None:
    """The pid recorded in the lock file by the batch that took it (``None``: unknown)."""
    try:
        text = lock.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def locked(out: Path, *, say: Callable[[str], None] | None = None) -> Iterator[int | None]:
    """Hold ``out/.lock`` so that two batches never write the same outputs folder.

    Yields the lock file's descriptor (``None`` where there is no ``flock``): forked workers
    must close it (:func:`review.runner.batch.worker_init`) so that only the batch itself
    holds the lock. The lock file records the holder's pid; a lock whose holder is gone
    (a killed run whose orphaned children still hold the old file) is taken over, with a
    message through ``say`` (default: standard error).
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield None
        return
    except OSError as exc:
        raise writable_error(exc, out, "create the outputs folder") from None
    lock = out / LOCK_FILE
    for attempt in (1, 2):
        try:
            fh = lock.open("a+")
        except OSError as exc:
            raise writable_error(exc, lock, "create the lock file") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            fh.close()
            pid = _holder(lock)
            if attempt == 1 and pid is not None and pid != os.getpid() and not _pid_alive(pid):
                (say or _stderr)(f"{lock}: the run that held it (pid {pid}) is gone; "
                                 "taking the lock over")
                lock.unlink(missing_ok=True)  # its orphans keep the old file; a new one
                continue
            held = f" (pid {pid})" if pid else ""
            raise RunError(f"{out}: another `review run`{held} is writing this outputs folder; "
                           "wait for it to finish or use --out to write elsewhere") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield fh.fileno()
    finally:
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- state of the last attempt per period -----------------------------------------------------
def write_state(out: Path, period: str, record: dict[str, Any]) -> None:
    """Record the last attempt of ``period`` (status, times, message) atomically."""
    atomic_write_json(Path(out) / STATE_DIR / f"{period}.json", record)


def read_states(out: Path) -> dict[str, dict[str, Any]]:
    """``{period: record}`` of every recorded attempt."""
    folder = Path(out) / STATE_DIR
    states: dict[str, dict[str, Any]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                states[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
    return states


def built_periods(out: Path) -> list[str]:
    """Periods with a final folder (a manifest inside), sorted."""
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(p.name for p in out.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file())


# -- secrets ----------------------------------------------------------------------------------
def secret_values(source: str) -> list[str]:
    """The resolved values of the ``${VAR}`` references in ``source`` (longest first)."""
    values = {os.environ.get(name, "") for name in env_refs(source)}
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def scrub_folder(folder: Path, source: str) -> list[Path]:
    """Redact resolved secrets of ``source`` from every text file under ``folder``.

    A last line of defence: nothing the runner writes contains them, but a kernel's
    traceback might (a resolved path in an error message). Returns the files changed.
    """
    if not secret_values(source):
        return []
    changed = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        clean = redact_text(text, source)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            changed.append(path)
    return changed

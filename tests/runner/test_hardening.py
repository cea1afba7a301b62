"""The runner under faults: kill -9, stale locks, disk full, read-only outputs, bad period ids.

The crash tests run a real batch (``--jobs 2``, forked workers) in a subprocess with the
doubles of ``conftest.py``; the notebooks of one period block until the process is killed.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import review
from review import cli
from review.errors import ParamsError, RunError
from review.runner import batch, outputs
from review.runner.batch import run_batch

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(review.__file__).resolve().parents[1]  # the package under test

DRIVER = """
import os, sys, time, pathlib
sys.path[:0] = [{src!r}, {root!r}]
import review.metrics, review.report
from review.core import fingerprint
from review.runner import batch, execute
from tests.runner import conftest as c

fingerprint.PACKAGE_DIR = pathlib.Path({code!r})  # the code hash of the `fakes` fixture
review.metrics.compute_period = c.fake_compute_period([])
render = c.fake_render_module()
sys.modules["review.report.render"] = render
review.report.render = render
fast = c.fake_execute([])

def execute_notebook(task, output):
    if task.period == {blocked!r}:  # runs until the batch is killed
        marker = pathlib.Path({markers!r}) / f"{{task.section.stem}}.pid"
        marker.write_text(str(os.getpid()))
        while True:
            time.sleep(0.1)
    return fast(task, output)

execute.execute_notebook = execute_notebook
batch.run_batch([pathlib.Path(f) for f in {files!r}],
                batch.RunOptions(out_dir=pathlib.Path({out!r}),
                                 notebooks_dir=pathlib.Path({notebooks!r}), jobs=2,
                                 progress=False))
"""


def _wait(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")
def test_kill_9_mid_batch_keeps_the_finished_period_and_leaves_no_lock(project, fakes, tmp_path):
    """2026-01 runs first and finishes; 2026-02's notebooks hang; the runner is killed -9."""
    first, second = project.params("2026-01"), project.params("2026-02")
    markers = tmp_path / "markers"
    markers.mkdir()
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(
        src=str(SRC), root=str(ROOT), code=str(tmp_path / "code_under_test"),
        blocked="2026-02", markers=str(markers), files=[str(first), str(second)],
        out=str(project.out), notebooks=str(project.notebooks))))
    log = (tmp_path / "driver.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=log, stderr=log,
                            start_new_session=True)
    workers: list[int] = []
    try:
        report = project.out / "2026-01" / "report.html"
        _wait(lambda: len(list(markers.glob("*.pid"))) == 2 or proc.poll() is not None,
              "both notebooks of 2026-02 to start")
        assert proc.poll() is None, (tmp_path / "driver.log").read_text()
        workers = [int(p.read_text()) for p in markers.glob("*.pid")]
        # 2026-01 was finalised as soon as its own notebooks were done
        _wait(report.is_file, "2026-01 to be swapped in", timeout=30)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # the workers die with their parent and so do not hold outputs/.lock
        _wait(lambda: not any(_alive(w) for w in workers), "the workers to die", timeout=30)
    finally:
        for pid in [proc.pid, *workers]:  # only processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()

    manifest = json.loads((project.out / "2026-01" / "manifest.json").read_text())
    assert manifest["period"] == "2026-01"
    assert {s["status"] for s in manifest["sections"]} == {"executed"}
    state = json.loads((project.out / ".state" / "2026-01.json").read_text())
    assert state["status"] == "built"
    # a rerun needs no cleanup: it takes the outputs, keeps 2026-01 and builds 2026-02
    result = run_batch([first, second], project.options())
    assert {p.period: p.status for p in result.periods} == {"2026-01": "skipped",
                                                           "2026-02": "built"}


def test_a_lock_whose_holder_is_gone_is_taken_over_with_a_message(tmp_path):
    """An orphan still holds the flock, but the pid in the lock file is dead."""
    out = tmp_path / "outputs"
    out.mkdir()
    lock = out / outputs.LOCK_FILE
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, sys, time
            fh = open({str(lock)!r}, "a+")
            fcntl.flock(fh, fcntl.LOCK_EX)
            print("locked", flush=True)
            time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        said: list[str] = []
        with outputs.locked(out, say=said.append):
            assert lock.read_text().strip() == str(os.getpid())
        assert said == [f"{lock}: the run that held it (pid {dead.pid}) is gone; "
                        "taking the lock over"]
        # a live holder is still refused, naming its pid
        lock.write_text(f"{holder.pid}\n")
        fh = lock.open("a+")
        import fcntl

        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            refused = rf"another `review run` \(pid {holder.pid}\)"
            with pytest.raises(RunError, match=refused), outputs.locked(out):
                pass
        finally:
            fh.close()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="Linux /proc")
def test_workers_do_not_keep_the_lock_file_open(tmp_path):
    """worker_init closes the inherited lock descriptor (the batch alone holds the lock)."""
    out = tmp_path / "outputs"
    with outputs.locked(out) as fd:
        assert str(out / outputs.LOCK_FILE) in _open_files()  # this process holds it
        executor = batch.make_executor(2, fd)
        try:
            files = executor.submit(_open_files).result()
        finally:
            executor.shutdown()
        assert str(out / outputs.LOCK_FILE) not in files


def _open_files() -> set[str]:
    """What this process's file descriptors point at (Linux)."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("period", ["index.html", "INDEX.HTML", "Manifest.json"])
def test_period_ids_that_name_outputs_files_are_refused(project, fakes, period):
    path = project.params_dir / "bad.yaml"
    path.write_text(f"period: {period!r}\nstart: '2026-01-01'\nend: '2026-01-31'\n"
                    f"source: {str(project.store)!r}\n")
    with pytest.raises(ParamsError) as err:
        run_batch([path], project.options())
    assert str(path) in str(err.value) and "outputs folder uses" in str(err.value)
    assert not (project.out / period).exists()


def test_period_ids_starting_with_a_dot_are_refused(project, fakes):
    path = project.params_dir / "dot.yaml"
    path.write_text(f"period: '.state'\nstart: '2026-01-01'\nend: '2026-01-31'\n"
                    f"source: {str(project.store)!r}\n")
    with pytest.raises(ParamsError, match=r"dot\.yaml"):
        run_batch([path], project.options())


def _enospc(path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def test_disk_full_in_the_state_writer_keeps_the_closing_table(project, fakes, monkeypatch,
                                                               capsys):
    def full(out, period, record):
        raise _enospc(Path(out) / ".state" / f"{period}.json")

    monkeypatch.setattr(outputs, "write_state", full)
    files = [project.params("2026-01")]
    rc = cli.main(["run", "--out", str(project.out), "--notebooks", str(project.notebooks),
                   "--jobs", "1", "--quiet", *map(str, files)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "2026-01  built (new)" in captured.out  # the closing table
    assert "cannot record the run's state (No space left on device): the disk is full" \
        in captured.out
    assert rc == 0  # the report itself was built


def test_disk_full_while_finalising_keeps_only_what_shows_the_error(project, fakes,
                                                                     monkeypatch):
    real = batch.write_json

    def full(path, data):
        if Path(path).name == "manifest.json":
            raise _enospc(path)
        return real(path, data)

    monkeypatch.setattr(batch, "write_json", full)
    result = run_batch([project.params("2026-01")], project.options())
    [period] = result.periods
    assert period.status == "failed"
    assert any("manifest.json: cannot write the build (No space left on device): the disk "
               "is full" in f for f in period.failures), period.failures
    kept = outputs.failed_dir(project.out, "2026-01")
    assert sorted(p.name for p in kept.iterdir()) == []  # no notebook failed: nothing to show


def test_disk_full_in_a_notebook_keeps_only_that_notebook(project, fakes, monkeypatch):
    real = batch.run_notebook

    def run_notebook(task):
        r = real(task)
        if task.section.stem == "01_details":
            from review.runner.execute import Failure

            return batch.NotebookResult(r.period, r.section, False, r.duration_s, r.notebook,
                                        Failure("execute", "OSError",
                                                "[Errno 28] No space left on device", cell=3))
        return r

    monkeypatch.setattr(batch, "run_notebook", run_notebook)
    result = run_batch([project.params("2026-01")], project.options())
    assert result.periods[0].status == "failed"
    kept = outputs.failed_dir(project.out, "2026-01")
    assert sorted(p.name for p in kept.iterdir()) == ["01_details.ipynb"]
    assert result.periods[0].output == kept / "01_details.ipynb"


def test_a_read_only_outputs_folder_is_a_clear_error(project, fakes, monkeypatch, capsys):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if str(self).startswith(str(project.out)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    rc = cli.main(["run", "--out", str(project.out), "--notebooks", str(project.notebooks),
                   "--jobs", "1", "--quiet", str(project.params("2026-01"))])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"error: {project.out}: cannot create the outputs folder (Read-only file system): " \
           "the file system is read-only; use --out to write somewhere else" in err


def test_a_broken_pool_fails_the_remaining_periods_with_a_message(project, fakes, monkeypatch):
    """A worker killed from outside breaks the pool: queued tasks fail their period, cleanly."""
    from concurrent.futures.process import BrokenProcessPool

    class Breaks(batch.InlineExecutor):
        def __init__(self):
            self.calls = 0

        def submit(self, fn, /, *args):
            self.calls += 1
            if self.calls > 3:  # prepare 2026-01, its two notebooks; then the pool is gone
                raise BrokenProcessPool("a process in the pool was terminated abruptly")
            return super().submit(fn, *args)

    monkeypatch.setattr(batch, "make_executor", lambda jobs, lock_fd=None: Breaks())
    result = run_batch([project.params("2026-01"), project.params("2026-02")],
                       project.options())
    assert {p.period: p.status for p in result.periods} == {"2026-01": "failed",
                                                           "2026-02": "failed"}
    assert result.periods[1].failures == [
        "2026-02: worker process failed (BrokenProcessPool: a process in the pool was "
        "terminated abruptly)"]
    assert "2026-01: worker process failed" in result.periods[0].failures[0]
    assert not list(project.out.glob(".tmp-*"))  # nothing half-written left behind

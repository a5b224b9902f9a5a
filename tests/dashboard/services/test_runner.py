"""The job runner: bounded worker processes, a queue with positions, cancel, errors, and no orphans.

The process jobs here run small stand-in targets (module-level, so the worker can import them);
real comparisons through the runner are covered by the Train page tests (tests/dashboard/test_app.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from dashboard.services import errors
from dashboard.services import runner as RN
from dashboard.services.jobs import Job
from dashboard.services.worker import TrainTask

REPO = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------------------------ worker stand-ins
def wait_for_release(payload: dict[str, Any], conn: Any, stop: Any) -> None:
    """Reports a stage, then waits until ``payload['release']`` exists (-> saved) or stop is set (-> cancelled)."""
    Path(payload["started"]).write_text(str(os.getpid()))
    conn.send(("stage", "working"))
    while not stop.is_set():
        if Path(payload["release"]).exists():
            conn.send(("saved",))
            return
        time.sleep(0.05)
    conn.send(("cancelled",))


def ignore_stop(payload: dict[str, Any], conn: Any, stop: Any) -> None:
    """Never looks at ``stop``: only terminating the process ends it."""
    Path(payload["started"]).write_text(str(os.getpid()))
    while True:
        time.sleep(0.05)


def crash(payload: Any, conn: Any, stop: Any) -> None:
    """Ends the process without a word, as the out-of-memory killer would."""
    os._exit(3)


# ------------------------------------------------------------------------------ helpers
def _job(name: str) -> Job:
    return Job(id=f"{name}-{os.urandom(4).hex()}", session="S", digest="0" * 64, config={})


def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.fixture
def runner():
    r = RN.Runner(slots=1, target=wait_for_release)
    yield r
    r.shutdown()


def _task(tmp_path: Path, name: str, result: Any = None, target=None) -> RN.ProcessTask:
    payload = {"started": str(tmp_path / f"{name}.started"), "release": str(tmp_path / f"{name}.release")}
    return RN.ProcessTask(payload=payload, load=lambda: result, target=target)


# ------------------------------------------------------------------------------ tests
def test_slots_default_to_one_per_core_and_the_variable_overrides(monkeypatch):
    monkeypatch.delenv(RN.WORKERS_ENV, raising=False)
    assert RN.default_slots() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(RN.WORKERS_ENV, "3")
    assert RN.default_slots() == 3
    monkeypatch.setenv(RN.WORKERS_ENV, "many")
    with pytest.raises(ValueError, match=RN.WORKERS_ENV):
        RN.default_slots()


def test_jobs_wait_in_order_with_their_position_and_run_one_at_a_time(runner, tmp_path):
    jobs = [_job(n) for n in ("a", "b", "c")]
    tasks = [_task(tmp_path, n, result=n.upper()) for n in ("a", "b", "c")]
    for job, task in zip(jobs, tasks, strict=True):
        runner.submit(job, task)
    a, b, c = jobs
    _until(lambda: a.snapshot()["stage"] == "working")
    assert a.status == "running" and a.position is None
    assert [runner.position(b), runner.position(c)] == [1, 2]
    assert (b.status, b.snapshot()["position"], c.snapshot()["position"]) == ("queued", 1, 2)
    assert "position 2 of 2" in c.snapshot()["stage"]
    assert runner.load() == (1, 2)
    assert not (tmp_path / "b.started").exists()  # one slot: nothing else started
    (tmp_path / "a.release").touch()
    _until(lambda: a.status == "done")
    assert a.result == "A" and a.error is None
    _until(lambda: b.status == "running")
    assert runner.position(c) == 1 and c.snapshot()["position"] == 1
    (tmp_path / "b.release").touch()
    (tmp_path / "c.release").touch()
    _until(lambda: c.status == "done")
    assert (b.result, c.result) == ("B", "C")


def test_cancel_takes_a_queued_job_out_and_stops_a_running_one(runner, tmp_path):
    a, b, c = (_job(n) for n in ("a", "b", "c"))
    for job, name in ((a, "a"), (b, "b"), (c, "c")):
        runner.submit(job, _task(tmp_path, name, result=name))
    _until(lambda: a.snapshot()["stage"] == "working")
    b.cancel.set()
    _until(lambda: b.status == "cancelled")
    assert runner.position(c) == 1 and c.snapshot()["position"] == 1  # moved up
    assert not (tmp_path / "b.started").exists()  # a cancelled queued job never starts
    a.cancel.set()  # running: its worker sees the stop event and ends
    _until(lambda: a.status == "cancelled")
    assert a.result is None
    _until(lambda: c.status == "running")
    (tmp_path / "c.release").touch()
    _until(lambda: c.status == "done")


def test_a_worker_that_ignores_cancel_is_terminated(monkeypatch, tmp_path):
    monkeypatch.setattr(RN, "CANCEL_GRACE_S", 0.3)
    r = RN.Runner(slots=1, target=ignore_stop)
    try:
        job = _job("stubborn")
        r.submit(job, _task(tmp_path, "stubborn"))
        _until(lambda: (tmp_path / "stubborn.started").exists(), timeout=180)  # a worker starts slowly on busy cores
        pid = int((tmp_path / "stubborn.started").read_text())
        job.cancel.set()
        _until(lambda: job.status == "cancelled", timeout=60)
        _until(lambda: not _alive(pid), timeout=60)
    finally:
        r.shutdown()


def test_a_crashed_worker_fails_its_job_and_the_queue_goes_on(runner, tmp_path):
    bad, good = _job("bad"), _job("good")
    runner.submit(bad, _task(tmp_path, "bad", target=crash))
    runner.submit(good, _task(tmp_path, "good", result=1))
    _until(lambda: bad.status == "error")
    snap = bad.snapshot()
    assert "ended without a result" in snap["error"] and "exit code 3" in snap["error"] and snap["error_id"]
    (tmp_path / "good.release").touch()
    _until(lambda: good.status == "done")


def test_a_failing_comparison_reports_an_id_whose_log_entry_has_the_traceback(store):
    r = RN.Runner(slots=1)  # the real worker body
    try:
        job = _job("real")
        task = TrainTask(scenario=None, compare_kwargs={"epochs": 1}, digest="0" * 64, cache_dir=store)
        r.submit(job, RN.ProcessTask(payload=task, load=lambda: None))
        _until(lambda: job.status == "error", timeout=120)
    finally:
        r.shutdown()
    snap = job.snapshot()
    assert snap["error_id"] and snap["error"]
    for h in errors.logger().handlers:
        h.flush()
    entry = errors.log_file().read_text(encoding="utf-8").split(f"error id {snap['error_id']}", 1)[1]
    assert "Traceback" in entry and "worker.py" in entry  # the worker's traceback reached the server log


def test_a_full_queue_refuses_further_jobs_with_a_message(monkeypatch, runner, tmp_path):
    monkeypatch.setattr(RN, "MAX_QUEUED", 1)
    first, waiting, refused = _job("a"), _job("b"), _job("c")
    runner.submit(first, _task(tmp_path, "a"))
    _until(lambda: first.status == "running")  # running jobs do not count against the queue
    runner.submit(waiting, _task(tmp_path, "b"))
    runner.submit(refused, _task(tmp_path, "c"))
    assert refused.status == "error" and "busy" in refused.snapshot()["error"]
    assert waiting.status == "queued"


def test_sweep_jobs_take_the_free_slots_up_to_what_they_ask(tmp_path):
    r = RN.Runner(slots=3, target=wait_for_release)
    release = threading.Event()
    given: list[int] = []

    def sweep_body(slots: int) -> str:
        given.append(slots)
        release.wait(30)
        return "table"

    try:
        proc_job, sweep_job, queued = _job("p"), _job("s"), _job("q")
        r.submit(proc_job, _task(tmp_path, "p", result=1))
        _until(lambda: proc_job.status == "running")
        r.submit(sweep_job, RN.ThreadTask(run=sweep_body, save=lambda d, res: None, max_slots=5))
        r.submit(queued, _task(tmp_path, "q", result=2))
        _until(lambda: given != [])
        assert given == [2] and queued.status == "queued" and r.load() == (3, 1)
        release.set()
        _until(lambda: sweep_job.status == "done")
        assert sweep_job.result == "table"
        _until(lambda: queued.status == "running")
        (tmp_path / "p.release").touch()
        (tmp_path / "q.release").touch()
        _until(lambda: queued.status == "done")
    finally:
        release.set()
        r.shutdown()


# ------------------------------------------------------------------------------ no orphans
def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dashboard.services.jobs import Job
    from dashboard.services.runner import ProcessTask, Runner
    from tests.dashboard.services.test_runner import ignore_stop

    out = Path(sys.argv[1])
    r = Runner(slots=2, target=ignore_stop)
    for name in ("one", "two"):
        job = Job(id=name, session="S", digest="0" * 64, config={})
        r.submit(job, ProcessTask(payload={"started": str(out / name)}, load=lambda: None))
    time.sleep(600)
    """
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_end_with_the_server(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path)], cwd=REPO)
    try:
        _until(lambda: (tmp_path / "one").exists() and (tmp_path / "two").exists(), timeout=120)
        pids = [int((tmp_path / n).read_text()) for n in ("one", "two")]
        assert all(_alive(p) for p in pids)
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    _until(lambda: not any(_alive(p) for p in pids), timeout=30)


def unsaved(payload: Any, conn: Any, stop: Any) -> None:
    """A worker whose store was full: the result itself comes through the pipe."""
    conn.send(("unsaved", {"regret": 0.5}, "OSError: [Errno 28] No space left on device: '/srv/store/x.tmp-1'"))


def test_a_result_the_worker_could_not_store_is_shown_with_the_reason(runner, tmp_path):
    job = _job("full")
    runner.submit(job, _task(tmp_path, "full", target=unsaved))
    _until(lambda: job.status == "done")
    assert job.result == {"regret": 0.5} and "No space left" in job.snapshot()["store_error"]


def test_workers_do_not_rerun_the_page_script_streamlit_installs_as_main(runner, tmp_path, monkeypatch):
    marker = tmp_path / "page-script-ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    page = types.ModuleType("__main__")  # what Streamlit's script runner puts in sys.modules while a page runs
    page.__file__, page.__spec__ = str(script), None
    monkeypatch.setitem(sys.modules, "__main__", page)
    job = _job("m")
    runner.submit(job, _task(tmp_path, "m", result=1))
    _until(lambda: job.snapshot()["stage"] == "working")
    (tmp_path / "m.release").touch()
    _until(lambda: job.status == "done")
    assert not marker.exists()

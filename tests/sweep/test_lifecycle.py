"""Process lifetime: a signalled sweep stops its pool; a killed sweep (CLI or host process) leaves no process behind.

The integration tests start real sweeps in subprocesses, record every descendant process (the
resource tracker, the forkserver and the workers) while the sweep runs, since they are re-parented
once their parent dies, then signal the sweep and wait for each of them to end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dff_core.sweep import SweepInterrupted, interrupt_on_signals, load_config, read_runs, sweep
from tests.sweep.test_store import fake_compare

REPO = Path(__file__).resolve().parents[2]
#: Seconds allowed for a sweep to start its workers (imports and the forkserver's preload are slow on busy machines).
START_TIMEOUT = 600.0
#: Seconds allowed for every process of a signalled or killed sweep to end (interpreter teardown included).
END_TIMEOUT = 60.0

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process tree read from /proc (Linux)")


# ---------------------------------------------------------------------------- process tree from /proc
def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of process ``pid``, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of ``root``: pid -> start time (the pair names a process even after pid reuse)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) is not None:
            children.setdefault(st[0], []).append(int(name))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            st = _stat(child)
            if st is not None and st[1] not in "ZX":
                found[child] = st[2]
                todo.append(child)
    return found


def running(procs: dict[int, int]) -> list[int]:
    """The processes of ``procs`` still running (a zombie has ended: it holds no memory, only an exit status)."""
    out = []
    for pid, start in procs.items():
        st = _stat(pid)
        if st is not None and st[2] == start and st[1] not in "ZX":
            out.append(pid)
    return out


def wait_until_gone(procs: dict[int, int], timeout: float = END_TIMEOUT) -> list[int]:
    """Wait for every process of ``procs`` to end; returns those still running after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (left := running(procs)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def wait_for_workers(proc: subprocess.Popen, log: Path, runs_csv: Path | None, workers: int = 2) -> dict[int, int]:
    """Wait until ``proc`` runs its pool (tracker, forkserver and ``workers`` workers) and, if given, ``runs_csv``
    has a finished row; returns its descendants then."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended early (exit {proc.returncode}):\n{log.read_text()[-3000:]}")
        procs = descendants(proc.pid)
        rows = runs_csv.read_text().count("\n") - 1 if runs_csv is not None and runs_csv.is_file() else 0
        if len(procs) >= 2 + workers and (runs_csv is None or rows >= 1):
            return procs
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the sweep did not start {workers} workers in {START_TIMEOUT:.0f}s:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------- signals in this process
@pytest.fixture
def default_handlers() -> Any:
    """Python's default SIGTERM/SIGINT handlers in the test (Ray, for one, installs its own); restored after."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("default_handlers")
def test_signals_become_sweep_interrupted_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SweepInterrupted) as info, interrupt_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
    assert info.value.exit_code == 143 and info.value.signame == "SIGTERM"
    assert isinstance(info.value, KeyboardInterrupt)  # generic `except Exception` does not swallow it
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.usefixtures("default_handlers")
def test_a_signal_during_cleanup_waits_until_it_is_done():
    steps: list[str] = []
    with pytest.raises(SweepInterrupted) as info, interrupt_on_signals() as guard, guard.held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        steps.append("cleanup finished")
    assert steps == ["cleanup finished"] and info.value.exit_code == 130


@pytest.mark.usefixtures("default_handlers")
def test_a_host_handler_and_other_threads_are_left_alone():
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with interrupt_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)

    installed: list[Any] = []

    def in_thread() -> None:
        with interrupt_on_signals():
            installed.append(signal.getsignal(signal.SIGTERM))

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert installed == [signal.getsignal(signal.SIGTERM)]  # nothing installed from a thread


# ---------------------------------------------------------------------------- real sweeps, signalled or killed
def _cli_config(city_dir: Path, tmp_path: Path) -> Path:
    """24 runs of the tiny city (a few seconds each), so the sweep is still running when it is signalled."""
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            [scenario]
            kind = "traffic"
            readings = "{(city_dir / "readings.csv").as_posix()}"
            sensors = "{(city_dir / "sensors.csv").as_posix()}"
            [train]
            epochs = 200
            [grid]
            epsilon = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
            seed = [0, 1, 2]
            """
        )
    )
    return cfg


@pytest.mark.slow
@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_signalled_cli_sweep_leaves_no_process_and_resumes(city_dir, tmp_path, sig):
    cfg, out, log = _cli_config(city_dir, tmp_path), tmp_path / "out", tmp_path / "sweep.log"
    cmd = [sys.executable, "-m", "dff_core", "sweep", "--config", str(cfg), "--workers", "2", "--out", str(out)]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)
        try:
            procs = wait_for_workers(proc, log, out / "runs.csv")
            proc.send_signal(sig)
            code = proc.wait(timeout=END_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert len(procs) == 4  # resource tracker, forkserver, two workers
    assert wait_until_gone(procs) == [], "processes left running after the sweep was signalled"
    text = log.read_text()
    if sig == signal.SIGTERM:
        assert code == 143, text
        assert "interrupted by SIGTERM" in text and "run the same command again to resume" in text
        # Every row written is whole and kept.
        raw = (out / "runs.csv").read_text()
        assert raw.endswith("\n")
        kept = read_runs(out / "runs.csv")
        assert len(kept) == raw.count("\n") - 1 >= 1
    else:
        assert code == -signal.SIGKILL
        kept = read_runs(out / "runs.csv")
        assert len(kept) >= 1
    assert kept["run_id"].is_unique and kept["regret_dff"].notna().all()

    # The same sweep resumes: finished runs are not recomputed (the rest runs on a fast stand-in).
    cfg_ = load_config(cfg)
    res = sweep(cfg_.scenario, cfg_.grid, train=cfg_.train, out_dir=out, max_workers=2, run_fn=fake_compare)
    assert res.complete and res.n_resumed == len(kept) and res.n_ran == 24 - len(kept)
    resumed = res.runs.set_index("run_id").loc[kept["run_id"], "regret_dff"]
    pd.testing.assert_series_equal(resumed, kept.set_index("run_id")["regret_dff"], check_names=False)


def slow_run(scenario: Any, epsilon: float, seed: int, **kw: Any) -> dict[str, float]:
    """A run that takes two minutes (the host test kills its sweep long before)."""
    time.sleep(120)
    return {"regret_dff": epsilon}


HOST = """
import sys, threading
sys.path.insert(0, {repo!r})

from dff_core.sweep import sweep
from tests.sweep.conftest import GRID, array_scenario
from tests.sweep.test_lifecycle import slow_run


def main():
    # A host process (like the dashboard's server) running a sweep from a thread.
    t = threading.Thread(
        target=sweep, args=(array_scenario(), GRID), kwargs=dict(max_workers=2, out_dir={out!r}, run_fn=slow_run)
    )
    t.start()
    t.join()


if __name__ == "__main__":
    main()
"""


@pytest.mark.slow
@needs_proc
def test_killed_host_of_a_threaded_sweep_leaves_no_process(tmp_path):
    script, log = tmp_path / "host.py", tmp_path / "host.log"
    script.write_text(HOST.format(repo=str(REPO), out=str(tmp_path / "out")))
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=fh, stderr=subprocess.STDOUT)
        try:
            procs = wait_for_workers(proc, log, None)
            time.sleep(1.0)  # the workers are in their runs
            proc.kill()
            proc.wait(timeout=END_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert len(procs) == 4
    assert wait_until_gone(procs) == [], "processes left running after their host was killed"

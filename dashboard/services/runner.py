"""The job runner: a bounded number of jobs at a time, in worker processes; the others wait in a queue.

Training never runs in the Streamlit server's threads. One dispatcher thread per server (started
on demand, ended when idle) owns the queue:

* a **process job** (a comparison) gets one slot and a worker process started from the engine's
  ``forkserver`` (:func:`dff_core.sweep.mp_context`: a clean, single-threaded parent with the
  engine preloaded, safe in a threaded server). Its :class:`~dff_core.progress.ProgressEvent`
  objects and status messages come back through a pipe; the result comes back through the run
  folder on disk (see :mod:`dashboard.services.worker`).
* a **thread job** (the ε sweep) gets the free slots, up to what it asks for, and runs a light
  driver thread in the server whose own worker processes (the engine's sweep pool) do the work.

Slots default to one per core (``$DFF_JOB_WORKERS`` overrides); at most :data:`MAX_QUEUED` jobs
wait, further ones are refused with a message. Cancelling a queued job removes it from the queue;
a running one is asked to stop (its ``should_stop``), then terminated after :data:`CANCEL_GRACE_S`.
Workers are daemonic (ended when the server exits) and end themselves when the server is killed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing import spawn as mp_spawn
from multiprocessing.connection import Connection, wait
from typing import Any

from dashboard.services import cache, errors
from dashboard.services.jobs import Job, work
from dashboard.services.worker import main as worker_main
from dashboard.services.worker import run_training
from dff_core.sweep import mp_context

#: Environment variable overriding the number of jobs that run at once.
WORKERS_ENV = "DFF_JOB_WORKERS"
#: Jobs that may wait in the queue; a further Start is refused ("the server is busy").
MAX_QUEUED = 16
#: Seconds a running job has to stop by itself after Cancel before its process is terminated.
CANCEL_GRACE_S = 5.0
#: Seconds after SIGTERM before a worker that still runs is killed.
KILL_GRACE_S = 5.0
#: Longest wait of the dispatcher between checks for Cancel (the pipes wake it at once otherwise).
POLL_S = 0.25


_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")


def _preparation_without_main(name: str) -> dict[str, Any]:
    """:func:`multiprocessing.spawn.get_preparation_data` minus the main module to re-run in the child."""
    data = _original_preparation(name)
    for key in _MAIN_KEYS:
        data.pop(key, None)
    return data


_original_preparation = mp_spawn.get_preparation_data


def keep_main_script_out_of_workers() -> None:
    """Stop child processes of this server from re-running its ``__main__`` (idempotent, process-wide).

    Streamlit installs the running page script as ``__main__``, so a worker started while any
    session's script runs would execute the whole app (loading data, calling ``st.*`` without a
    session) before its job. Every target here (the job workers, the ε sweep's pool) is importable
    by name, so children never need the main module.
    """
    mp_spawn.get_preparation_data = _preparation_without_main


def default_slots() -> int:
    """Jobs that run at once: ``$DFF_JOB_WORKERS``, else one per core this process may use."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            raise ValueError(f"{WORKERS_ENV}={raw!r}: give a whole number of jobs, e.g. {WORKERS_ENV}=2") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class ProcessTask:
    """A job run in one worker process: ``target(payload, conn, stop)``; ``load()`` reads its saved result."""

    payload: Any
    load: Callable[[], Any]
    target: Callable[..., None] | None = None  # default: the runner's target (the comparison worker)


@dataclass
class ThreadTask:
    """A job driven from a server thread: ``run(slots)`` uses at most ``slots`` worker processes of its own."""

    run: Callable[[int], Any]
    save: Callable[[str, Any], Any] | None = None
    max_slots: int = 1


@dataclass
class _Active:
    job: Job
    task: ProcessTask | ThreadTask
    slots: int
    proc: Any = None
    conn: Connection | None = None
    stop: Any = None
    thread: threading.Thread | None = None
    stop_sent: float | None = None
    term_sent: float | None = None
    outcome: tuple | None = None  # the worker's last status message
    done: bool = field(default=False)


class Runner:
    """The queue and the running jobs of one server process (see the module docstring)."""

    def __init__(self, slots: int | None = None, target: Callable[..., None] = run_training) -> None:
        self.slots = slots or default_slots()
        keep_main_script_out_of_workers()
        #: What a process job runs unless its task names another (importable by name: it is pickled by reference).
        self.target = target
        self._lock = threading.RLock()
        self._queue: deque[tuple[Job, ProcessTask | ThreadTask]] = deque()
        self._active: dict[str, _Active] = {}
        self._thread: threading.Thread | None = None
        self._ctx: Any = None
        # Start the worker parent (it imports torch and the engine, several seconds) now, in the
        # background, so the first Start does not wait for it.
        threading.Thread(target=self._warm_up, name="dff-job-warm-up", daemon=True).start()

    # ------------------------------------------------------------------------ public
    def submit(self, job: Job, task: ProcessTask | ThreadTask) -> Job:
        """Queue ``job``; it starts as soon as a slot is free. A full queue fails the job with a message."""
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                with job.lock:
                    job.status, job.stage = "error", "error"
                    job.error = (
                        f"The server is busy: {len(self._queue)} jobs are already waiting. Try again in a few minutes."
                    )
                    job.finished = time.perf_counter()
                return job
            with job.lock:
                job.status, job.queued_at = "queued", time.perf_counter()
            self._queue.append((job, task))
            self._update_positions()
            self._ensure_thread()
        return job

    def position(self, job: Job) -> int | None:
        """1-based place of ``job`` in the queue, ``None`` when it is not waiting."""
        with self._lock:
            for i, (queued, _) in enumerate(self._queue, start=1):
                if queued is job:
                    return i
        return None

    def load(self) -> tuple[int, int]:
        """(slots in use, jobs waiting)."""
        with self._lock:
            return sum(a.slots for a in self._active.values()), len(self._queue)

    def shutdown(self) -> None:
        """Cancel everything (tests; the server's exit ends daemonic workers by itself)."""
        with self._lock:
            for job, _ in self._queue:
                job.cancel.set()
            for a in self._active.values():
                a.job.cancel.set()
        t = self._thread
        if t is not None:
            t.join(CANCEL_GRACE_S + KILL_GRACE_S + 5)

    # ------------------------------------------------------------------------ dispatcher
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="dff-job-runner", daemon=True)
            self._thread.start()

    def _context(self) -> Any:
        with self._lock:
            if self._ctx is None:
                self._ctx = mp_context()
            return self._ctx

    def _warm_up(self) -> None:
        """Start the forkserver that workers are forked from (no-op for ``spawn``); errors surface at the first job."""
        with contextlib.suppress(Exception):
            if self._context().get_start_method() == "forkserver":
                forkserver.ensure_running()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._cancel_requested()
                self._dispatch()
                if not self._active and not self._queue:
                    self._thread = None
                    return
                waitables: list[Any] = []
                for a in self._active.values():
                    if a.conn is not None:
                        waitables += [a.conn, a.proc.sentinel]
            if waitables:
                try:
                    wait(waitables, timeout=POLL_S)
                except OSError:  # a pipe closed under us: the checks below see it
                    time.sleep(POLL_S)
            else:
                time.sleep(POLL_S)
            for a in list(self._active.values()):
                try:
                    self._poll(a)
                except Exception as exc:  # keep serving the other jobs
                    self._fail(a.job, f"the job runner lost this job ({type(exc).__name__})", exc=exc)
                    a.done = True
                    if a.proc is not None and a.proc.is_alive():
                        a.proc.kill()
                        a.proc.join(KILL_GRACE_S)
                    self._release(a)
                if a.done:
                    with self._lock:
                        self._active.pop(a.job.id, None)

    def _update_positions(self) -> None:
        n = len(self._queue)
        for i, (job, _) in enumerate(self._queue, start=1):
            with job.lock:
                job.position = i
                job.stage = f"waiting for a free worker: position {i} of {n} in the queue"

    def _cancel_requested(self) -> None:
        kept = deque()
        for job, task in self._queue:
            if job.cancel.is_set():
                with job.lock:
                    job.status = job.stage = "cancelled"
                    job.position, job.finished = None, time.perf_counter()
            else:
                kept.append((job, task))
        if len(kept) != len(self._queue):
            self._queue = kept
            self._update_positions()
        now = time.monotonic()
        for a in self._active.values():
            if a.proc is None or not a.job.cancel.is_set():
                continue
            if a.stop_sent is None:
                a.stop.set()
                a.stop_sent = now
                with a.job.lock:
                    a.job.stage = "cancelling"
            elif a.term_sent is None and now - a.stop_sent > CANCEL_GRACE_S and a.proc.is_alive():
                a.proc.terminate()
                a.term_sent = now
            elif a.term_sent is not None and now - a.term_sent > KILL_GRACE_S and a.proc.is_alive():
                a.proc.kill()

    def _dispatch(self) -> None:
        used = sum(a.slots for a in self._active.values())
        started = False
        while self._queue and used < self.slots:
            job, task = self._queue.popleft()
            started = True
            slots = 1 if isinstance(task, ProcessTask) else max(1, min(task.max_slots, self.slots - used))
            a = _Active(job, task, slots)
            with job.lock:
                job.status, job.position = "running", None
                job.stage, job.started = "starting", time.perf_counter()
            try:
                if isinstance(task, ProcessTask):
                    self._start_process(a)
                else:
                    self._start_thread(a)
            except Exception as exc:
                self._fail(job, f"the job could not be started ({type(exc).__name__})", exc=exc)
                continue
            self._active[job.id] = a
            used += slots
        if started:
            self._update_positions()

    def _start_process(self, a: _Active) -> None:
        task = a.task
        assert isinstance(task, ProcessTask)
        ctx = self._context()
        reader, writer = ctx.Pipe(duplex=False)
        a.stop = ctx.Event()
        a.proc = ctx.Process(
            target=worker_main,
            args=(task.target or self.target, task.payload, writer, a.stop),
            name=f"dff-job-{a.job.id[:8]}",
            daemon=True,
        )
        a.proc.start()
        writer.close()  # the worker holds the only write end: EOF here means it ended
        a.conn = reader

    def _start_thread(self, a: _Active) -> None:
        task = a.task
        assert isinstance(task, ThreadTask)
        a.thread = threading.Thread(
            target=work,
            args=(a.job, lambda: task.run(a.slots), task.save),
            name=f"dff-job-{a.job.id[:8]}",
            daemon=True,
        )
        a.thread.start()

    # ------------------------------------------------------------------------ one running job
    def _poll(self, a: _Active) -> None:
        if a.thread is not None:
            if not a.thread.is_alive():
                a.done = True
            return
        assert a.conn is not None
        try:
            while a.conn.poll():
                self._message(a, a.conn.recv())
        except (EOFError, OSError):
            pass  # the worker closed its end: it has ended or is ending
        if a.proc.is_alive():
            return
        try:
            while a.conn.poll():
                self._message(a, a.conn.recv())
        except (EOFError, OSError):
            pass
        a.proc.join(1)
        self._finish(a)
        a.done = True
        self._release(a)

    def _message(self, a: _Active, msg: tuple) -> None:
        kind = msg[0]
        job = a.job
        if kind == "event":
            job.record(msg[1])
        elif kind == "stage":
            with job.lock:
                job.stage = str(msg[1])
        else:
            a.outcome = msg

    def _finish(self, a: _Active) -> None:
        job, outcome = a.job, a.outcome or ()
        kind = outcome[0] if outcome else None
        if kind == "saved":
            try:
                result = a.task.load()  # type: ignore[union-attr]
            except Exception as exc:
                self._fail(job, "the finished result could not be read back from the result store", exc=exc)
                return
            self._done(job, result)
        elif kind == "unsaved":
            with job.lock:
                job.store_error = str(outcome[2])
            self._done(job, outcome[1])
        elif kind == "cancelled" or (kind is None and job.cancel.is_set()):
            with job.lock:
                job.status = job.stage = "cancelled"
                job.finished = time.perf_counter()
        elif kind == "error":
            _, name, message, tb = outcome
            self._fail(job, f"{name}: {message}", text=tb)
        else:
            code = a.proc.exitcode
            why = "killed, perhaps out of memory" if code is not None and code < 0 else f"exit code {code}"
            self._fail(job, f"the worker process ended without a result ({why})")

    @staticmethod
    def _done(job: Job, result: Any) -> None:
        with job.lock:
            job.result, job.status, job.stage = result, "done", "done"
            job.finished = time.perf_counter()

    @staticmethod
    def _fail(job: Job, message: str, exc: BaseException | None = None, text: str | None = None) -> None:
        error_id = errors.new_error_id()
        if exc is not None:
            errors.report(exc, f"job {job.id}", job.session, error_id=error_id)
        else:
            errors.log_text(error_id, f"job {job.id}", f"{message}\n{text or ''}", job.session)
        with job.lock:
            job.status, job.stage = "error", "error"
            job.error, job.error_id, job.traceback = message, error_id, text
            job.finished = time.perf_counter()

    @staticmethod
    def _release(a: _Active) -> None:
        if a.conn is not None:
            a.conn.close()
        if a.proc is not None:
            with contextlib.suppress(ValueError):  # still running (not after join): left to the exit handler
                a.proc.close()


def runner() -> Runner:
    """The server's one job runner."""
    return cache.job_runner(Runner)

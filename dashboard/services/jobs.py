"""Job records: one per training run or ε sweep, and the table sessions find them in.

A job runs outside the script threads (:mod:`dashboard.services.runner`: a queue and worker
processes); whatever runs it writes progress into its :class:`Job` record, never calls ``st.*``,
and watches the record's cancel ``Event``. Pages poll the record from an
``@st.fragment(run_every=...)``. Starting jobs (which needs the training engine) lives in
:mod:`dashboard.services.training`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard.services import cache, errors
from dashboard.services.state import STAGE_LABELS
from dashboard.services.store import save_result
from dff_core.progress import ProgressEvent

#: Finished jobs are dropped from the table after this many seconds (their results live in the store).
JOB_TTL_S = 1800.0
_JOBS_LOCK = threading.Lock()


@dataclass
class Job:
    """One training run or ε sweep. Written by the job runner, read by the polling fragment."""

    id: str
    session: str
    digest: str
    config: dict[str, Any]
    status: str = "queued"  # queued | running | done | error | cancelled
    stage: str = "starting"
    events: list[ProgressEvent] = field(default_factory=list)
    error: str | None = None  # what went wrong, for the page (server paths removed when shown)
    error_id: str | None = None  # the id of the server log entry with the full story
    traceback: str | None = None  # server side only (logged), never shown
    result: Any = None  # ComparisonResult (training) or DataFrame (ε sweep)
    store_error: str | None = None  # set when the result is shown but could not be stored
    position: int | None = None  # 1-based place in the queue while waiting
    cancel: threading.Event = field(default_factory=threading.Event)
    queued_at: float = field(default_factory=time.perf_counter)
    started: float | None = None  # when a worker took it
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        """Seconds since a worker took the job (while waiting: since it was queued)."""
        return (self.finished or time.perf_counter()) - (self.started or self.queued_at)

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the progress for display (the error without server paths)."""
        with self.lock:
            return {
                "status": self.status,
                "stage": self.stage,
                "events": list(self.events),
                "error": None if self.error is None else errors.public_message(self.error),
                "error_id": self.error_id,
                "store_error": self.store_error,
                "position": self.position,
                "elapsed": self.elapsed,
            }

    def progress_fraction(self) -> float:
        """Share of the configured epochs done, over the trained methods (approximate)."""
        training = self.config.get("training", {})
        epochs = max(1, int(training.get("epochs", 1)))
        trained = [m for m in training.get("methods", ()) if m != "two_stage"] or ["dff"]
        with self.lock:
            done: dict[str, int] = {}
            for e in self.events:
                if e.stage == "train" and e.method in trained:
                    done[e.method] = max(done.get(e.method, 0), int(e.epoch))
        if self.status == "done":
            return 1.0
        return float(min(0.99, sum(min(v, epochs) for v in done.values()) / (epochs * len(trained))))

    def record(self, event: ProgressEvent) -> None:
        """Append an engine progress event; its message (else what is running) becomes the job's stage."""
        with self.lock:
            self.events.append(event)
            self.stage = event.message or STAGE_LABELS.get(event.label, event.label)


#: Pages poll a running job once a second at first, then every :data:`SLOW_POLL_S` once it is older
#: than :data:`FAST_POLL_FOR_S`: each poll is a script run in the server, and a long queue of waiting
#: sessions polling fast would take the server's time from new visitors.
FAST_POLL_S = 1.0
SLOW_POLL_S = 3.0
FAST_POLL_FOR_S = 30.0


def poll_interval(job: Job | None) -> float | None:
    """Seconds between a page's polls of ``job`` (``None``: not running, no polling)."""
    if job is None or not job.running:
        return None
    age = time.perf_counter() - job.queued_at
    return FAST_POLL_S if age < FAST_POLL_FOR_S else SLOW_POLL_S


def poll_slower(job: Job | None, every: float | None) -> bool:
    """Whether a page drawn to poll ``job`` every ``every`` seconds should redraw to poll less often.

    A fragment's interval is fixed when it is drawn, so slowing down takes one full rerun of the page.
    """
    now = poll_interval(job)
    return every is not None and now is not None and now > every


def jobs() -> dict[str, Job]:
    """The process-wide job table. Sessions only reach their own jobs through the id in their session state."""
    return cache.job_table()


def register(job: Job) -> None:
    """Add ``job`` to the table, dropping finished jobs past :data:`JOB_TTL_S` and this session's older ones."""
    now = time.perf_counter()
    with _JOBS_LOCK:
        table = jobs()
        for jid, j in list(table.items()):
            stale = j.finished is not None and now - j.finished > JOB_TTL_S
            replaced = j.session == job.session and not j.running and j.config.get("sweep") == job.config.get("sweep")
            if stale or replaced:
                table.pop(jid, None)
        table[job.id] = job


def get_job(job_id: str | None, session: str) -> Job | None:
    """This session's job with ``job_id`` (other sessions' jobs are invisible)."""
    if not job_id:
        return None
    job = jobs().get(job_id)
    return job if job is not None and job.session == session else None


def work(job: Job, compute: Callable[[], Any], save: Callable[[str, Any], Any] | None = None) -> None:
    """Body of a job driven from a server thread (the ε sweep, whose own processes do the work).

    Runs ``compute`` and stores its result (default: the result store); never touches ``st``. A
    result that cannot be stored is still handed to the page, with :attr:`Job.store_error` set.
    """
    with job.lock:
        job.status = "running"
        job.started = job.started or time.perf_counter()
    try:
        result = compute()
        if job.cancel.is_set():
            with job.lock:
                job.status, job.stage = "cancelled", "cancelled"
            return
        with job.lock:
            job.stage = "saving"
        try:
            (save or save_result)(job.digest, result)
        except OSError as exc:  # full disk, read-only store: show the result anyway, and say so
            with job.lock:
                job.store_error = f"{type(exc).__name__}: {exc}"
            errors.report(exc, f"saving job {job.id}", job.session)
        with job.lock:
            job.result, job.status, job.stage = result, "done", "done"
    except Exception as exc:
        with job.lock:
            if job.cancel.is_set():
                job.status, job.stage = "cancelled", "cancelled"
            else:
                job.status, job.stage = "error", "error"
                job.error = f"{type(exc).__name__}: {exc}"
                job.error_id = errors.report(exc, f"job {job.id}", job.session)
    finally:
        job.finished = time.perf_counter()

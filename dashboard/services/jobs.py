"""Background jobs: one thread per training run or ε sweep, and the table sessions find them in.

The thread never calls ``st.*``: it writes progress into its :class:`Job` record and checks a
cancel ``Event``. Pages poll the record from an ``@st.fragment(run_every=...)``. Starting jobs
(which needs the training engine) lives in :mod:`dashboard.services.training`.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard.services import cache
from dashboard.services.state import STAGE_LABELS
from dashboard.services.store import save_result
from dff_core.progress import ProgressEvent

#: Finished jobs are dropped from the table after this many seconds (their results live in the store).
JOB_TTL_S = 1800.0
_JOBS_LOCK = threading.Lock()


@dataclass
class Job:
    """One training run or ε sweep. Written by its worker thread, read by the polling fragment."""

    id: str
    session: str
    digest: str
    config: dict[str, Any]
    status: str = "queued"  # queued | running | done | error | cancelled
    stage: str = "starting"
    events: list[ProgressEvent] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    result: Any = None  # ComparisonResult (training) or DataFrame (ε sweep)
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the progress for display."""
        with self.lock:
            return {
                "status": self.status,
                "stage": self.stage,
                "events": list(self.events),
                "error": self.error,
                "traceback": self.traceback,
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
    """Worker thread body: runs ``compute`` and stores its result (default: the result store); never touches ``st``."""
    with job.lock:
        job.status = "running"
    try:
        result = compute()
        if job.cancel.is_set():
            with job.lock:
                job.status, job.stage = "cancelled", "cancelled"
            return
        with job.lock:
            job.stage = "saving"
        if save is None:
            save_result(job.digest, result)
        else:
            save(job.digest, result)
        with job.lock:
            job.result, job.status, job.stage = result, "done", "done"
    except Exception as exc:
        with job.lock:
            if job.cancel.is_set():
                job.status, job.stage = "cancelled", "cancelled"
            else:
                job.status, job.stage = "error", "error"
                job.error = f"{type(exc).__name__}: {exc}"
                job.traceback = traceback.format_exc(limit=6)
    finally:
        job.finished = time.perf_counter()

"""Job records: progress, session isolation, the worker, the job table."""

from __future__ import annotations

import threading

import pytest

from dashboard.services import errors
from dashboard.services import jobs as J
from dashboard.services import store as R
from dff_core.progress import ProgressEvent


def _job(jid: str) -> J.Job:
    return J.Job(id=jid, session="A", digest="0" * 64, config={})


def test_job_progress_and_session_isolation():
    job = J.Job(
        id="j1",
        session="A",
        digest="0" * 64,
        config={"training": {"epochs": 4, "methods": ["two_stage", "dff", "dfl"]}},
    )
    job.status = "running"
    job.events += [
        ProgressEvent("backbone", epoch=1, epochs=1, status="done"),
        ProgressEvent("train", method="dff", epoch=4, epochs=4),
        ProgressEvent("train", method="dfl", epoch=2, epochs=4),
    ]
    assert job.progress_fraction() == pytest.approx(6 / 8)
    J.jobs()[job.id] = job
    assert J.get_job("j1", "A") is job
    assert J.get_job("j1", "B") is None  # another browser tab cannot reach it
    assert J.get_job(None, "A") is None


def test_pages_poll_a_running_job_fast_at_first_then_slower():
    job = _job("poll")
    assert J.poll_interval(job) == J.FAST_POLL_S  # queued just now
    job.queued_at -= J.FAST_POLL_FOR_S + 1
    assert J.poll_interval(job) == J.SLOW_POLL_S > J.FAST_POLL_S
    job.status = "done"
    assert J.poll_interval(job) is None
    assert J.poll_interval(None) is None


def test_recorded_events_name_the_stage():
    job = _job("j3")
    job.record(ProgressEvent("backbone", epoch=0, epochs=1, status="fitting"))
    assert job.stage == "fitting the backbone"
    job.record(ProgressEvent("train", method="dff", epoch=1, epochs=4, metrics={"val_regret": 0.5}))
    assert job.stage == "training DFF"
    job.record(ProgressEvent("train", method="dff", epoch=2, epochs=5, message="2 of 5 ε values done"))
    assert job.stage == "2 of 5 ε values done" and len(job.snapshot()["events"]) == 3


def test_worker_records_errors_and_never_saves_them():
    job = J.Job(id="j2", session="A", digest="1" * 64, config={})

    def boom():
        raise ValueError("bad input at row 3")

    t = threading.Thread(target=J.work, args=(job, boom))
    t.start()
    t.join(10)
    snap = job.snapshot()
    assert job.status == "error" and "row 3" in snap["error"] and "traceback" not in snap  # never sent to the page
    assert snap["error_id"] and not R.has_result(job.digest)
    for h in errors.logger().handlers:
        h.flush()
    log = errors.log_file().read_text(encoding="utf-8")
    entry = log[log.index(snap["error_id"]) :]
    assert "Traceback" in entry and "bad input at row 3" in entry  # the id leads to the full story


def test_worker_hands_a_finished_result_to_its_saver():
    job = J.Job(id="j4", session="A", digest="4" * 64, config={})
    saved = {}
    J.work(job, lambda: 42, lambda digest, result: saved.setdefault(digest, result))
    assert job.status == "done" and job.result == 42 and saved == {"4" * 64: 42}
    cancelled = J.Job(id="j5", session="A", digest="5" * 64, config={})
    cancelled.cancel.set()
    J.work(cancelled, lambda: 1, lambda digest, result: saved.setdefault(digest, result))
    assert cancelled.status == "cancelled" and "5" * 64 not in saved


def test_a_result_that_cannot_be_stored_is_still_shown():
    job = J.Job(id="j6", session="A", digest="6" * 64, config={})

    def full_disk(digest, result):
        raise OSError(28, "No space left on device", "/srv/dff/.dff_cache/x.tmp-1/arrays.npz")

    J.work(job, lambda: 7, full_disk)
    snap = job.snapshot()
    assert job.status == "done" and job.result == 7
    assert "No space left" in snap["store_error"]


def test_job_table_drops_stale_and_replaced_jobs(monkeypatch):
    table = J.jobs()
    table.clear()
    old = J.Job(id="old", session="A", digest="2" * 64, config={}, status="done", finished=0.0)
    other = J.Job(id="other", session="B", digest="3" * 64, config={}, status="running")
    table.update({"old": old, "other": other})
    monkeypatch.setattr(J, "JOB_TTL_S", 1e12)  # nothing is stale: only replacement applies
    J.register(J.Job(id="new", session="A", digest="4" * 64, config={}))
    assert set(table) == {"other", "new"}  # A's finished job replaced, B's running job kept
    monkeypatch.setattr(J, "JOB_TTL_S", 0.0)
    table["new"].status, table["new"].finished = "done", 0.0
    J.register(J.Job(id="sweep", session="C", digest="5" * 64, config={"sweep": [0.1]}))
    assert set(table) == {"other", "sweep"}  # finished long ago: dropped
    table.clear()

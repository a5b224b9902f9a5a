"""The job worker's body, run in this process with a real pipe: what it sends back in each outcome."""

from __future__ import annotations

import multiprocessing as mp
import threading
from typing import Any

from dashboard.services import worker as W


class _Scenario:
    """Stands in for a scenario: ``compare`` is replaced below, so only identity matters."""


def _messages(monkeypatch, compare, tmp_path, stop: threading.Event | None = None) -> list[tuple]:
    monkeypatch.setattr(W, "compare", compare)
    reader, writer = mp.Pipe(duplex=False)
    task = W.TrainTask(scenario=_Scenario(), compare_kwargs={"epochs": 1}, digest="a" * 64, cache_dir=tmp_path)
    W.run_training(task, writer, stop or threading.Event())
    out = []
    try:
        while True:
            out.append(reader.recv())
    except EOFError:  # the worker closed its end: everything it sent was read
        return out


def test_a_finished_run_is_saved_and_announced(monkeypatch, tmp_path):
    saved: dict[str, Any] = {}
    monkeypatch.setattr(W, "save_result", lambda digest, result: saved.setdefault(digest, result))
    msgs = _messages(monkeypatch, lambda scenario, **kw: "result", tmp_path)
    assert msgs == [("stage", "training"), ("stage", "saving"), ("saved",)]
    assert saved == {"a" * 64: "result"}


def test_progress_events_travel_through_the_pipe(monkeypatch, tmp_path):
    monkeypatch.setattr(W, "save_result", lambda digest, result: None)

    def compare(scenario, on_progress, **kw):
        on_progress("event-1")
        return "r"

    assert ("event", "event-1") in _messages(monkeypatch, compare, tmp_path)


def test_a_full_store_sends_the_result_itself(monkeypatch, tmp_path):
    def full(digest, result):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(W, "save_result", full)
    last = _messages(monkeypatch, lambda scenario, **kw: [1, 2], tmp_path)[-1]
    assert last[:2] == ("unsaved", [1, 2]) and "No space left" in last[2]


def test_errors_and_cancel_are_reported_not_raised(monkeypatch, tmp_path):
    def bad(scenario, **kw):
        raise ValueError("sensor S9 has no readings")

    last = _messages(monkeypatch, bad, tmp_path)[-1]
    assert last[:3] == ("error", "ValueError", "sensor S9 has no readings") and "Traceback" in last[3]
    stop = threading.Event()

    def stopped(scenario, should_stop, **kw):
        stop.set()
        assert should_stop()
        return "partial"

    assert _messages(monkeypatch, stopped, tmp_path, stop)[-1] == ("cancelled",)


def test_workers_run_below_the_server(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(W.os, "nice", lambda inc: calls.append(inc) or 0)
    W.lower_priority()
    assert calls == [W.WORKER_NICENESS]

"""Train page's start/progress part: a job waiting in the queue shows its place, and Cancel takes it out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import services as S
from dashboard.components.train_run import live_curve
from dashboard.services import runner as RN
from dashboard.services.jobs import Job
from dff_core.progress import ProgressEvent
from tests.dashboard.services.test_runner import wait_for_release

REPO = Path(__file__).resolve().parents[3]
APP = str(REPO / "dashboard" / "app.py")

pytestmark = pytest.mark.skipif(not (REPO / "sample_data" / "readings.csv").is_file(), reason="sample_data/ is missing")


@pytest.fixture
def busy_server(tmp_path, monkeypatch):
    """The app's job runner with one slot, taken by a job of another session until released."""
    monkeypatch.setenv("DFF_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv(RN.WORKERS_ENV, "1")
    st.cache_data.clear()
    st.cache_resource.clear()
    runner = RN.runner()
    other = Job(id="other-session-job", session="other", digest="0" * 64, config={})
    payload = {"started": str(tmp_path / "other.started"), "release": str(tmp_path / "other.release")}
    runner.submit(other, RN.ProcessTask(payload=payload, load=lambda: None, target=wait_for_release))
    deadline = time.monotonic() + 120
    while other.snapshot()["stage"] != "working":
        assert time.monotonic() < deadline, "the blocking job did not start"
        time.sleep(0.1)
    yield runner
    (tmp_path / "other.release").touch()
    runner.shutdown()
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_queued_job_shows_its_place_and_cancel_takes_it_out(busy_server):
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="cfg_epochs").set_value(2)
    at.button(key="start").click().run()
    assert not at.exception, at.exception
    job = S.get_job(at.session_state["job_id"], at.session_state["session_id"])
    assert job.status == "queued" and busy_server.position(job) == 1
    assert any("runs 1 comparison at a time" in c.value for c in at.caption)
    progress = [p.proto.text for p in at.get("progress")]
    assert any("position 1 of 1 in the queue" in t for t in progress), progress
    # Once the job is older than the fast-polling period the page redraws once with the slower interval
    # (no rerun loop: the run ends) and still shows the queue.
    job.queued_at -= 31.0
    at.run()
    assert not at.exception, at.exception
    assert S.poll_interval(job) == 3.0
    assert any("position 1 of 1 in the queue" in p.proto.text for p in at.get("progress"))
    assert not at.button(key="cancel").disabled
    at.button(key="cancel").click().run()
    deadline = time.monotonic() + 30
    while job.running:
        assert time.monotonic() < deadline, "the queued job was not taken out"
        time.sleep(0.1)
    assert job.status == "cancelled" and job.started is None  # it never ran
    at.run()
    assert not at.exception
    assert any("cancelled" in w.value for w in at.warning)
    assert not S.has_result(job.digest)


def _epoch(method: str, epoch: int, val_regret: float | None) -> ProgressEvent:
    metrics = {"train_loss": 1.0 / (epoch + 1)} | ({} if val_regret is None else {"val_regret": val_regret})
    return ProgressEvent("train", method=method, epoch=epoch, epochs=5, status="epoch", metrics=metrics)


def test_the_live_curve_is_rebuilt_only_when_a_new_epoch_was_scored():
    state: dict = {}
    events = [_epoch("dff", 0, 0.5), _epoch("dff", 1, 0.4)]
    first = live_curve(state, "job-1", events, "vehicle-minutes")
    assert [list(t.y) for t in first.data] == [[0.5, 0.4]]
    assert live_curve(state, "job-1", list(events), "vehicle-minutes") is first  # a poll without news: the same figure
    events.append(_epoch("dff", 2, None))  # an event without a validation score changes nothing drawn
    assert live_curve(state, "job-1", events, "vehicle-minutes") is first
    events.append(_epoch("dff", 3, 0.3))
    newer = live_curve(state, "job-1", events, "vehicle-minutes")
    assert newer is not first and [list(t.y) for t in newer.data] == [[0.5, 0.4, 0.3]]
    other = live_curve(state, "job-2", events, "vehicle-minutes")  # another job (same events) is drawn anew
    assert other is not newer

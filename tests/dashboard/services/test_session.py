"""Switching the session's data: runs on the old data go, a folder-opened run and the last upload stay."""

from __future__ import annotations

from dashboard.services import session
from dashboard.services.data import Loaded
from dashboard.services.jobs import Job, register
from dashboard.services.state import RUN_PARAM, SAMPLE_NAME, UPLOADED_NAME, Session


def _loaded(name: str, digest: str) -> Loaded:
    return Loaded(name, digest, None, None, *([None] * 3))


def _state(**kw) -> dict:
    base = {Session.ID: "me", Session.LOADED: _loaded(SAMPLE_NAME, "a"), Session.JOB_ID: None,
            Session.SWEEP_JOB_ID: None, Session.RESULT: "r", Session.RESULT_DIGEST: "d", Session.RESULT_CONFIG: {},
            Session.OPENED_DIR: None}  # fmt: skip
    return {**base, **kw}


def test_new_data_cancels_jobs_and_drops_results():
    job = Job(id="j1", session="me", digest="x", config={})
    job.status = "running"
    register(job)
    state, params = _state(**{Session.JOB_ID: "j1"}), {RUN_PARAM: "d"}
    upload = _loaded(UPLOADED_NAME, "b")
    assert session.activate(state, upload, params)
    assert state[Session.LOADED] is upload and state[Session.UPLOADED] is upload
    assert job.cancel.is_set() and state[Session.JOB_ID] is None
    assert state[Session.RESULT] is None and RUN_PARAM not in params


def test_the_same_data_again_changes_nothing():
    state, params = _state(), {RUN_PARAM: "d"}
    assert not session.activate(state, _loaded(SAMPLE_NAME, "a"), params)
    assert state[Session.RESULT] == "r" and params == {RUN_PARAM: "d"}
    assert Session.UPLOADED not in state  # the sample is not an upload


def test_a_run_opened_from_a_folder_stays_shown():
    state, params = _state(**{Session.OPENED_DIR: "/runs/a"}), {}
    session.forget_runs(state, params)
    assert state[Session.RESULT] == "r" and state[Session.OPENED_DIR] == "/runs/a"

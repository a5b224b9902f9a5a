"""Switching the session's data: the new dataset becomes active and runs on the old one are dropped.

Shared by the start page (run the sample) and the Data page (sample, upload, back to an upload).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from dashboard.services.data import Loaded
from dashboard.services.jobs import get_job
from dashboard.services.state import RUN_PARAM, Session, show_result

__all__ = ["activate", "forget_runs"]


def forget_runs(state: MutableMapping[str, Any], params: MutableMapping[str, Any]) -> None:
    """New data: stop the session's running jobs and drop results computed on the old data.

    ``state`` is the session state, ``params`` the URL's query parameters (the shown run's digest
    leaves the URL with it). A run opened from a folder stays: it does not depend on the loaded data.
    """
    for key in (Session.JOB_ID, Session.SWEEP_JOB_ID):
        job = get_job(state.get(key), state.get(Session.ID))
        if job is not None and job.running:
            job.cancel.set()
    state[Session.JOB_ID] = state[Session.SWEEP_JOB_ID] = None
    if not state.get(Session.OPENED_DIR):
        show_result(state, None, None, None)
        params.pop(RUN_PARAM, None)


def activate(state: MutableMapping[str, Any], loaded: Loaded, params: MutableMapping[str, Any]) -> bool:
    """Make ``loaded`` the session's data and forget runs on other data; False when it already was.

    An uploaded dataset is also kept as the session's last upload (choosing "Upload" again brings it back).
    """
    current = state.get(Session.LOADED)
    if current is not None and current.digest == loaded.digest:
        return False
    state[Session.LOADED] = loaded
    if not loaded.is_sample:
        state[Session.UPLOADED] = loaded
    forget_runs(state, params)
    return True

"""Train page: reuse a stored run, start and cancel a job, and follow its progress (or its place in the queue)."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import errors
from dashboard.services import training as T
from dashboard.services.runner import runner
from dashboard.services.state import Session, Widget
from dff_core.progress import ProgressEvent


def live_curve(state: MutableMapping[str, Any], job_id: str, events: Sequence[ProgressEvent], unit: str) -> go.Figure:
    """The live validation-regret curve of job ``job_id``, rebuilt only when a new epoch was scored since the last poll.

    Each poll of a training session is a script run in the server; most polls bring no new epoch,
    and rebuilding the plotly figure was the largest part of a poll's own work.
    """
    key = (job_id, sum("val_regret" in e.metrics for e in events), unit)
    cached = state.get(Session.LIVE_CURVE)
    if cached is None or cached[0] != key:
        cached = (key, F.progress_curve(events, unit=unit))
        state[Session.LIVE_CURVE] = cached
    return cached[1]


def render(loaded: S.Loaded, config: dict, job: S.Job | None, running: bool, opened: str | None) -> str:
    """Start/Cancel buttons and the live progress; returns the run digest of ``config``."""
    ss = st.session_state
    chosen = config["training"]["methods"]
    # A run finished earlier (in this or any session, or before a browser refresh) is loaded, not recomputed.
    current = S.run_digest(loaded.digest, config)
    if not running and not opened and ss[Session.RESULT_DIGEST] != current:
        stored = S.load_stored(loaded, config)
        if stored is not None:
            S.show_result(ss, stored[1], stored[0], config)

    b1, b2, _ = st.columns([1, 1, 3])
    start = b1.button(
        "Start",
        type="primary",
        icon=":material/play_arrow:",
        disabled=running or "two_stage" not in chosen or len(chosen) < 2,
        key=Widget.START,
    )
    cancel = b2.button("Cancel", icon=":material/stop:", disabled=not running, key=Widget.CANCEL)
    if "two_stage" not in chosen or len(chosen) < 2:
        st.caption("Choose the plain method and at least one other to compare.")
    if start:
        job = T.start_job(ss[Session.ID], loaded, config)
        ss[Session.JOB_ID] = job.id
        S.show_result(ss, None, None, None)
        st.query_params.pop(S.RUN_DIR_PARAM, None)
        st.rerun()
    if cancel and job is not None:
        queued = job.status == "queued"
        job.cancel.set()
        st.toast("Taken out of the queue." if queued else "Cancelling after the current batch…", icon=":material/stop:")

    # Poll once a second, then every few seconds once the job is older (S.poll_interval): each poll is a script
    # run in the server, and the progress lives in the job record (the training runs in a worker process, see
    # services/runner.py).
    every = S.poll_interval(job) if running else None

    @st.fragment(run_every=every)
    @errors.guard
    def monitor() -> None:
        """Polls the job record; the worker process itself never calls Streamlit."""
        job = S.get_job(ss[Session.JOB_ID], ss[Session.ID])
        if job is None:
            return
        if S.poll_slower(job, every):
            st.rerun(scope="app")
        snap = job.snapshot()
        if snap["status"] == "queued":
            st.progress(0.0, text=f"{snap['stage']} · {snap['elapsed']:.0f} s")
            busy = runner()
            st.caption(
                f"This server runs {busy.slots} comparison{'s' if busy.slots > 1 else ''} at a time; "
                "yours starts as soon as one ends. **Cancel** takes it out of the queue."
            )
            return
        if snap["status"] == "running":
            events = snap["events"]
            text = f"{snap['stage']} · {snap['elapsed']:.0f} s"
            if events:
                last = events[-1]
                vr = last.metrics.get("val_regret")
                text += f" · {F.label(last.label)} epoch {last.epoch}"
                text += f" · validation regret {vr:.3f}" if isinstance(vr, float) and np.isfinite(vr) else ""
            st.progress(job.progress_fraction(), text=text)
            if any("val_regret" in e.metrics for e in events):
                st.plotly_chart(
                    live_curve(ss, job.id, events, S.scenario_unit(loaded, job.config)),
                    key="live_curve",
                    config={"displaylogo": False},
                    alt="Validation regret per epoch while training",
                )
            return
        # Finished: hand the result to the session and redraw the whole page once.
        if snap["status"] == "done" and job.result is not None and ss[Session.RESULT_DIGEST] != job.digest:
            S.show_result(ss, job.result, job.digest, job.config)
            st.rerun(scope="app")
        elif snap["status"] == "done" and snap["store_error"] and ss[Session.RESULT_DIGEST] == job.digest:
            st.warning(
                "These results are shown from memory: they could not be saved to the result store "
                f"({errors.public_message(snap['store_error'])}). They are lost when the server restarts, and a "
                "link to this run will not reopen them; download what you need on the Export page.",
                icon=":material/save:",
            )
        elif snap["status"] == "error":
            what = "Training failed" if job.started is not None else "Not started"
            ref = f" (error id `{snap['error_id']}` in the server log)" if snap["error_id"] else ""
            message = errors.public_message(snap["error"] or "unknown error")
            st.error(f"{what}: {message}{ref}", icon=":material/error:")
        elif snap["status"] == "cancelled":
            st.warning("Training cancelled; nothing was stored.", icon=":material/cancel:")
        if running:  # the page was drawn with disabled controls: redraw it enabled
            st.rerun(scope="app")

    monitor()
    return current

"""DFF Studio dashboard entry point: page config, session defaults and navigation.

Run from the repository root: ``python -m streamlit run dashboard/app.py``.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # import dff_core and dashboard without installing the package
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard import services as S  # noqa: E402
from dashboard.services import cache, server_gc  # noqa: E402
from dashboard.services.errors import run_page  # noqa: E402
from dashboard.services.runner import runner  # noqa: E402
from dashboard.services.state import Session  # noqa: E402

st.set_page_config(page_title="DFF Studio", page_icon=":material/alt_route:", layout="wide")
ss = st.session_state
runner()  # the job runner (one per server) starts its worker parent now, not at the first Start

# Per-session defaults (each browser tab is its own session; nothing per-user lives in globals).
if Session.ID not in ss:
    ss[Session.ID] = uuid.uuid4().hex
if Session.LOADED not in ss:
    try:
        ss[Session.LOADED] = S.load_sample_data()
        ss[Session.LOAD_ERROR] = None
    except Exception as exc:  # the app still opens and says what is wrong
        ss[Session.LOADED] = None
        ss[Session.LOAD_ERROR] = f"The sample city could not be loaded: {exc}"
for key in S.SESSION_DEFAULTS:
    ss.setdefault(key, None)
# Once per server, with the engine and the sample city loaded: no full garbage collection per script run (each
# training session's progress poll is one), and the start-up heap exempt from Python's own full collections.
cache.server_tuned(server_gc.tune)
# After a browser refresh (a new session) the URL still names the run shown before: reopen it with its settings.
if Session.RESTORED not in ss:
    ss[Session.RESTORED] = True
    run = st.query_params.get(S.RUN_PARAM)
    if run and ss[Session.LOADED] is not None and ss[Session.RESULT] is None:
        found = S.stored_run(ss[Session.LOADED], run)
        if found is not None:
            cfg, result = found
            S.show_result(ss, result, run, cfg)
            ss.update(S.widget_state(cfg, ss[Session.LOADED]))

pages = [
    st.Page("app_pages/start.py", title="Start", icon=":material/home:", url_path="start", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/database:", url_path="data"),
    st.Page("app_pages/train.py", title="Train & compare", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/decisions.py", title="Decisions", icon=":material/route:", url_path="decisions"),
    st.Page("app_pages/interpretability.py", title="Interpretability", icon=":material/insights:", url_path="explain"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
page = st.navigation(pages)
sidebar = st.sidebar.container()


def describe_session() -> None:
    """The sidebar's summary of the session: the data, the shown run, a running job (hashes in a details box)."""
    loaded = ss[Session.LOADED]
    with sidebar:
        if loaded is not None:
            size = f"{loaded.readings.shape[1]} sensors" if loaded.dataset is not None else "allocation table"
            st.caption(f":material/database: Data: **{loaded.name}** ({size})")
            road = loaded.network
            if road is not None:
                st.caption(f":material/route: Road network: **{road.name}** ({road.n_links:,} links)")
        job = S.get_job(ss[Session.JOB_ID], ss[Session.ID])
        if job is not None and job.running:
            st.caption(":material/hourglass_top: training in progress")
        elif ss[Session.RESULT] is not None:
            opened = ss[Session.OPENED_DIR]
            st.caption(f":material/check_circle: Results: {'saved run opened' if opened else 'comparison finished'}")
        st.caption("DFF fine-tunes a trusted forecaster by at most ±ε per value so that its decisions cost less.")
        if loaded is not None:
            with st.expander("Details"):
                st.caption(f"Data digest `{loaded.digest[:12]}`")
                if ss[Session.RESULT_DIGEST]:
                    st.caption(f"Run `{ss[Session.RESULT_DIGEST][:12]}`")


# The sidebar is drawn after the page, so it shows what the page changed in this run (a new upload, a finished
# run); `finally` also draws it when the page stops early (st.stop) or reruns. Unexpected errors in the page
# show one friendly line and an id from the server log.
try:
    run_page(page)
finally:
    describe_session()

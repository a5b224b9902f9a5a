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

st.set_page_config(page_title="DFF Studio", page_icon=":material/alt_route:", layout="wide")

# Per-session defaults (each browser tab is its own session; nothing per-user lives in globals).
if "session_id" not in st.session_state:
    st.session_state.session_id = uuid.uuid4().hex
if "loaded" not in st.session_state:
    try:
        st.session_state.loaded = S.load_sample_data()
        st.session_state.load_error = None
    except Exception as exc:  # the app still opens and says what is wrong
        st.session_state.loaded = None
        st.session_state.load_error = f"The sample city could not be loaded: {exc}"
for key in ("job_id", "result", "result_digest", "result_config", "sweep_job_id", "upload_issues"):
    st.session_state.setdefault(key, None)
# After a browser refresh (a new session) the URL still names the run shown before: reopen it with its settings.
if "restored" not in st.session_state:
    st.session_state.restored = True
    run = st.query_params.get("run")
    if run and st.session_state.loaded is not None and st.session_state.result is None:
        found = S.stored_run(st.session_state.loaded, run)
        if found is not None:
            cfg, result = found
            st.session_state.result, st.session_state.result_digest, st.session_state.result_config = result, run, cfg
            st.session_state.update(S.widget_state(cfg, st.session_state.loaded))

pages = [
    st.Page("app_pages/data.py", title="Data", icon=":material/database:", url_path="data", default=True),
    st.Page("app_pages/train.py", title="Train & compare", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/decisions.py", title="Decisions", icon=":material/route:", url_path="decisions"),
    st.Page("app_pages/interpretability.py", title="Interpretability", icon=":material/insights:", url_path="explain"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
page = st.navigation(pages)

with st.sidebar:
    loaded = st.session_state.loaded
    if loaded is not None:
        st.caption(f"Data: **{loaded.name}** · digest `{loaded.digest[:10]}`")
    job = S.get_job(st.session_state.job_id, st.session_state.session_id)
    if job is not None and job.running:
        st.caption(":material/hourglass_top: training in progress")
    elif st.session_state.result is not None:
        st.caption(f"Result: run `{st.session_state.result_digest[:10]}`")
    st.caption("DFF corrects a trusted predictor by at most ±ε per value to lower decision regret.")

page.run()

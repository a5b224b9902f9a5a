"""Train & compare page: choose the scenario and settings, run plain vs DFF vs DFL, read the results."""

from __future__ import annotations

import streamlit as st

from dashboard import services as S
from dashboard.components import open_run, train_results, train_run, train_settings
from dashboard.services.state import Session

st.title("Train & compare")
ss = st.session_state
loaded = ss[Session.LOADED]
if loaded is None:
    st.error("Load data first.", icon=":material/error:")
    st.page_link("app_pages/data.py", label="Go to Data", icon=":material/database:")
    st.stop()

job = S.get_job(ss[Session.JOB_ID], ss[Session.ID])
running = job is not None and job.running


opened = open_run.render(running)
config = train_settings.render(loaded, running)
current = train_run.render(loaded, config, job, running, opened)
train_results.render(current, running, opened)

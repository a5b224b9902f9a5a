"""Train page: open a run folder written by ``python -m dff_core compare --out DIR``."""

from __future__ import annotations

import streamlit as st

from dashboard import services as S
from dashboard.services import errors
from dashboard.services import runs as R
from dashboard.services.state import Session, Widget


def open_folder(path: str) -> str | None:
    """Show the run saved in folder ``path`` on every page; the reason when it cannot be read."""
    try:
        run = R.open_run(path)
    except (ValueError, KeyError, OSError) as err:  # DataError is a ValueError
        return str(err)
    except Exception as exc:  # e.g. the scenario rebuilt from the run's spec fails: one line and an id
        error_id = errors.report(exc, "opening a saved run", st.session_state.get(Session.ID))
        return f"The run could not be opened (error id `{error_id}` in the server log)."
    S.show_result(st.session_state, run.result, run.digest, run.config, opened=str(run.folder))
    return None


def render(running: bool) -> str | None:
    """The "Open a saved run" expander; returns the folder of the opened run, if one is shown."""
    ss = st.session_state
    # A browser refresh while a saved run was shown: the URL names its folder, open it again (once).
    url_dir = st.query_params.get(S.RUN_DIR_PARAM)
    if url_dir and ss[Session.RESULT] is None and not running and ss.get(Session.OPEN_TRIED) != url_dir:
        ss[Session.OPEN_TRIED] = ss[Widget.RUN_DIR] = url_dir
        open_folder(url_dir)
    opened = ss[Session.OPENED_DIR]

    with st.expander("Open a saved run", icon=":material/folder_open:", expanded=bool(opened)):
        st.caption(
            "The folder of a run written by `python -m dff_core compare --out DIR`: its results are shown on every "
            "page. The data files the run names are read again, so they must still be where the run found them."
        )
        o1, o2, o3 = st.columns([4, 1, 1], vertical_alignment="bottom")
        folder = o1.text_input("Run folder", key=Widget.RUN_DIR, placeholder="runs/traffic", disabled=running)
        if o2.button("Open", icon=":material/folder_open:", key=Widget.OPEN_RUN, disabled=running):
            with st.spinner("Opening the run and rebuilding its scenario…"):
                problem = open_folder(folder)
            if problem is None:
                st.rerun()
            st.error(problem, icon=":material/error:")
        if o3.button("Close", icon=":material/close:", key=Widget.CLOSE_RUN, disabled=not opened):
            S.show_result(ss, None, None, None)
            st.query_params.pop(S.RUN_DIR_PARAM, None)
            st.rerun()
    return opened

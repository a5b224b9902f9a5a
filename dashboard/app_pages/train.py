"""Train & compare page: choose the scenario and settings, run plain vs DFF vs DFL, read the results."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import runs as R
from dashboard.services import training as T
from dashboard.services.state import Session, Widget

st.title("Train & compare")
ss = st.session_state
loaded = ss[Session.LOADED]
if loaded is None:
    st.error("Load data first.", icon=":material/error:")
    st.page_link("app_pages/data.py", label="Go to Data", icon=":material/database:")
    st.stop()

job = S.get_job(ss[Session.JOB_ID], ss[Session.ID])
running = job is not None and job.running


def open_folder(path: str) -> str | None:
    """Show the run saved in folder ``path`` on every page; the reason when it cannot be read."""
    try:
        run = R.open_run(path)
    except (ValueError, KeyError, OSError) as err:  # DataError is a ValueError
        return str(err)
    S.show_result(ss, run.result, run.digest, run.config, opened=str(run.folder))
    return None


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

has_readings = loaded.dataset is not None
scenarios = (["traffic"] if has_readings and loaded.dataset.is_speed and len(loaded.links) else []) + ["allocation"]

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    scenario = c1.radio(
        "Scenario",
        scenarios,
        format_func=S.SCENARIO_LABELS.get,
        key=Widget.SCENARIO,
        disabled=running,
        persist_state="session",
        help="Traffic routing: trips take the fastest route on predicted travel times. "
        "Allocation: send a budget of response units to where the predicted delay is highest.",
    )
    backbone = c2.selectbox(
        "Backbone (the trusted predictor)",
        T.backbone_choices(),
        format_func=lambda b: S.BACKBONE_LABELS.get(b, b),
        key=Widget.BACKBONE,
        disabled=running,
        persist_state="session",
    )
    loss = c3.selectbox(
        "Decision loss",
        S.LOSSES,
        format_func=S.LOSS_LABELS.get,
        key=Widget.LOSS,
        disabled=running,
        persist_state="session",
        help="The loss DFF and DFL minimise. SPO+ is a convex upper bound of regret.",
    )
    c1, c2, c3 = st.columns(3)
    epsilon = c1.slider(
        "Trust region ε",
        0.05,
        0.5,
        value=S.DEFAULT_EPSILON,
        step=0.05,
        key=Widget.EPSILON,
        disabled=running,
        persist_state="session",
        help="Each corrected prediction stays within ±ε·100 % of the backbone's prediction.",
    )
    horizon = c2.selectbox(
        "Forecast horizon",
        S.HORIZONS,
        index=S.HORIZONS.index(S.DEFAULT_HORIZON),
        key=Widget.HORIZON,
        disabled=running or not has_readings,
        persist_state="session",
    )
    epochs = c3.number_input(
        "Epochs",
        min_value=1,
        max_value=200,
        value=S.DEFAULT_EPOCHS,
        step=1,
        key=Widget.EPOCHS,
        disabled=running,
        persist_state="session",
        help="Training epochs of DFF and DFL (the best validation epoch is kept).",
    )
    c1, c2 = st.columns([2, 1])
    methods = c1.multiselect(
        "Methods",
        list(F.METHODS),
        default=list(S.DEFAULT_METHODS),
        format_func=F.label,
        key=Widget.METHODS,
        disabled=running,
        persist_state="session",
    )
    extra: dict = {}
    if scenario == "traffic":
        pairs = c2.multiselect(
            "Trips (origin → destination)",
            S.candidate_pairs(loaded),
            key=Widget.PAIRS,
            disabled=running,
            persist_state="session",
            placeholder="automatic: 5 long trips",
            help="Leave empty to route 5 long trips across the network chosen automatically.",
        )
        extra["pairs"] = [p.split(" → ") for p in pairs] or None
    else:
        sources = (["readings"] if has_readings else []) + (["items"] if loaded.items is not None else [])
        extra["source"] = c2.radio(
            "Allocate to",
            sources,
            format_func=S.ALLOCATION_SOURCES.get,
            key=Widget.SOURCE,
            disabled=running,
            persist_state="session",
            horizontal=True,
        )
        extra["budget"] = c2.number_input(
            "Budget (units)",
            min_value=1,
            max_value=100,
            value=S.DEFAULT_BUDGET,
            key=Widget.BUDGET,
            disabled=running,
            persist_state="session",
        )

config = S.run_config(
    S.scenario_spec(scenario, horizon=horizon, sample=loaded.is_sample, **extra),
    backbone=backbone,
    epsilon=float(epsilon),
    loss=loss,
    epochs=int(epochs),
    methods=[m for m in F.METHODS if m in methods],
)
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
    job.cancel.set()
    st.toast("Cancelling after the current batch…", icon=":material/stop:")


# Poll once a second: at 0.5 s the reruns kept the server's threads busy enough to starve the worker of
# the GIL (the sample comparison took 110-265 s instead of 5-8 s on the 2-core test machine).
@st.fragment(run_every=1.0 if running else None)
def monitor() -> None:
    """Polls the job record; the worker thread itself never calls Streamlit."""
    job = S.get_job(ss[Session.JOB_ID], ss[Session.ID])
    if job is None:
        return
    snap = job.snapshot()
    if snap["status"] in ("queued", "running"):
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
                F.progress_curve(events, unit=S.scenario_unit(loaded, job.config)),
                key="live_curve",
                config={"displaylogo": False},
                alt="Validation regret per epoch while training",
            )
        return
    # Finished: hand the result to the session and redraw the whole page once.
    if snap["status"] == "done" and job.result is not None and ss[Session.RESULT_DIGEST] != job.digest:
        S.show_result(ss, job.result, job.digest, job.config)
        st.rerun(scope="app")
    elif snap["status"] == "error":
        st.error(f"Training failed: {snap['error']}", icon=":material/error:")
        if snap["traceback"]:
            with st.expander("Details"):
                st.code(snap["traceback"])
    elif snap["status"] == "cancelled":
        st.warning("Training cancelled; nothing was stored.", icon=":material/cancel:")
    if running:  # the page was drawn with disabled controls: redraw it enabled
        st.rerun(scope="app")


monitor()

result = ss[Session.RESULT]
digest = ss[Session.RESULT_DIGEST]
if result is None:
    if not running:
        st.info("Press **Start** to compare the methods on this data.", icon=":material/info:")
    st.stop()

# A browser refresh reopens this run: from the store (see app.py) or from its folder (above).
st.query_params.pop(S.RUN_PARAM if opened else S.RUN_DIR_PARAM, None)
st.query_params[S.RUN_DIR_PARAM if opened else S.RUN_PARAM] = opened or digest
unit = result.unit
k = F.kpi_table(result)
st.subheader("Results on the test period")
if opened:
    st.info(
        f"Saved run opened from `{opened}`. **Close** it (under *Open a saved run*) to compare with the settings "
        "above.",
        icon=":material/folder_open:",
    )
elif digest != current and not running:
    st.warning(
        "These results are for the previous settings; press **Start** to compare with the current ones.",
        icon=":material/history:",
    )
st.caption(
    f"{result.n_test} test instances · {result.n_train} training · {result.n_val} validation · regret in {unit} · "
    f"run `{digest[:10]}` · {sum(result.timings.values()):.1f} s"
)
has_dff = "dff" in set(k["method"])
cells = iter(st.columns(len(k) + (2 if has_dff else 0)))
for r in k.itertuples():
    delta = None if r.method == "two_stage" or not np.isfinite(r.rel_change) else f"{100 * r.rel_change:+.1f} %"
    next(cells).metric(
        f"{F.label(r.method, short=True)} regret",
        f"{r.regret_mean:.3f}",
        delta=delta,
        delta_color="inverse",
        delta_description="vs plain" if delta else None,
        border=True,
        help=f"{r.label}: mean test regret in {unit}, the extra cost of acting on its predictions instead of "
        "perfect foresight.",
    )
if has_dff:
    d = k.set_index("method").loc["dff"]
    next(cells).metric(
        "DFF max shift",
        f"{100 * d.max_relative_shift:.1f} %",
        delta=f"bound ε = {100 * d.shift_bound:.0f} %",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Largest |c̃−ĉ|/|ĉ| over the test set; DFF guarantees it is at most ε.",
    )
    next(cells).metric(
        "DFF min cosine",
        f"{d.min_cosine:.4f}",
        delta=f"bound {d.cosine_bound:.4f}",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Smallest cosine similarity between corrected and backbone predictions; the bound is √(1−ε²).",
    )

c1, c2 = st.columns(2)
with c1:
    st.plotly_chart(
        F.regret_distribution(result),
        key="regret_chart",
        config={"displaylogo": False},
        alt="Per-instance regret distribution per method",
    )
with c2:
    if "dff" in result.methods:
        st.plotly_chart(
            F.paired_regret_scatter(result),
            key="paired_chart",
            config={"displaylogo": False},
            alt="Plain regret against DFF regret per test instance",
        )
st.plotly_chart(
    F.training_curves(result), key="curves_chart", config={"displaylogo": False}, alt="Validation regret per epoch"
)
with st.expander("All metrics"):
    st.dataframe(result.metrics, key="metrics_table")
st.page_link("app_pages/decisions.py", label="Next: inspect decisions", icon=":material/arrow_forward:")

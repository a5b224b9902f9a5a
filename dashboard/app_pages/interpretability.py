"""Interpretability page: where and when DFF corrects, which inputs drive it, what it changed, the ε trade-off."""

from __future__ import annotations

import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import training as T
from dashboard.services import views as V
from dashboard.services.state import Session, Widget

st.title("Interpretability")
ss = st.session_state
result = ss[Session.RESULT]
loaded = ss[Session.LOADED]
if result is None or loaded is None:
    st.info("Run a comparison first: DFF's corrections are explained here.")
    st.page_link("app_pages/train.py", label="Go to Train & compare", icon=":material/model_training:")
    st.stop()
if "dff" not in result.methods:
    st.info("This run has no DFF model; include DFF in the methods on the Train page.")
    st.stop()

eps = result.config.get("epsilon")
unit = result.unit

st.subheader("Correction factors")
table = V.corrections_by_hour(result)
if table is not None:
    st.plotly_chart(
        F.correction_heatmap(table, epsilon=eps, row_label=V.row_label(result)),
        key="correction_heatmap",
        config={"displaylogo": False},
        alt="Mean DFF correction factor per sensor and hour of day",
    )
    st.caption(f"φ = 1 leaves the prediction unchanged; DFF keeps every φ within [{1 - eps:g}, {1 + eps:g}].")

st.subheader("Feature attribution")
attr = V.feature_attribution(result, ss[Session.RESULT_DIGEST] or "run")
if attr is None or attr.empty:
    st.caption("Feature attribution needs the fitted DFF model, which this run does not have.")
else:
    st.plotly_chart(
        F.attribution_bars(attr, value_label="Mean |attribution| (logit units)"),
        key="attribution_chart",
        config={"displaylogo": False},
        alt="Feature attribution of the correction",
    )
    st.caption(
        "Integrated gradients of the correction's logits from the training-mean input; blue: the feature "
        "pushes predictions up on average, red: down."
    )

st.subheader("Decisions DFF changed")
diff = V.decision_differences(result)
if diff is None or diff.empty:
    st.caption("DFF made the same decisions as plain at every test time.")
else:
    st.plotly_chart(
        F.decision_changes(diff, unit=unit),
        key="changes_chart",
        config={"displaylogo": False},
        alt="Regret saved at each test time where DFF changed the decision",
    )

st.subheader("ε trade-off")
st.caption(
    "Runs the engine's local sweep (`dff_core.sweep`, one process per core): a plain-vs-DFF comparison with this "
    "run's settings for each trust-region size ε. A larger ε lets DFF move predictions further for (possibly) "
    "lower regret. Runs in the background; finished ε values are kept if you cancel."
)
cfg = ss[Session.RESULT_CONFIG]
# A run opened from a folder may be on other data than the loaded data the sweep would run on.
can_sweep = cfg is not None and not ss[Session.OPENED_DIR]
if not can_sweep:
    st.caption(
        "This run was opened from a folder: sweep ε on its data with `python -m dff_core sweep`, or run the "
        "comparison here on the loaded data."
    )
eps_list = S.SWEEP_EPSILONS
sweep_job = S.get_job(ss[Session.SWEEP_JOB_ID], ss[Session.ID])
sweeping = sweep_job is not None and sweep_job.running
table = S.stored_sweep(loaded, cfg, eps_list) if can_sweep else None
c1, c2, _ = st.columns([1, 1, 3])
if c1.button(
    "Run ε sweep",
    icon=":material/tune:",
    disabled=sweeping or table is not None or not can_sweep,
    key=Widget.START_SWEEP,
):
    ss[Session.SWEEP_JOB_ID] = T.start_sweep(ss[Session.ID], loaded, cfg, eps_list).id
    st.rerun()
if c2.button("Cancel sweep", icon=":material/stop:", disabled=not sweeping, key=Widget.CANCEL_SWEEP):
    sweep_job.cancel.set()


@st.fragment(run_every=1.0 if sweeping else None)
def sweep_monitor() -> None:
    job = S.get_job(ss[Session.SWEEP_JOB_ID], ss[Session.ID])
    if job is None:
        return
    snap = job.snapshot()
    if job.running:
        st.progress(0.0, text=f"sweep: {snap['stage']} · {snap['elapsed']:.0f} s")
    elif snap["status"] == "error":
        st.error(f"Sweep failed: {snap['error']}", icon=":material/error:")
    elif snap["status"] == "cancelled":
        st.warning("Sweep cancelled.", icon=":material/cancel:")
    if sweeping and not job.running:
        st.rerun(scope="app")


sweep_monitor()
if table is not None and len(table):
    st.plotly_chart(
        F.epsilon_tradeoff(table, unit=unit),
        key="tradeoff_chart",
        config={"displaylogo": False},
        alt="Regret against prediction shift for each epsilon",
    )

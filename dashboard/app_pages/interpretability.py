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
    n_rows = len(table)
    row_label = V.row_label(result)
    c1, c2, c3 = st.columns([1, 1, 2])
    k = c1.number_input(
        f"{row_label}s shown",
        min_value=1,
        max_value=max(1, n_rows),
        value=min(20, n_rows),
        step=5,
        key=Widget.TOP_K,
        help=f"How many {row_label.lower()}s to show: those DFF corrects most (mean |φ − 1| over the hours).",
    )
    order = c2.selectbox(
        "Order",
        list(V.CORRECTION_ORDERS),
        format_func=V.CORRECTION_ORDERS.get,
        key=Widget.CORRECTION_ORDER,
        help="Largest correction either way, largest increase (φ > 1), largest decrease (φ < 1), or by name.",
    )
    query = c3.text_input(
        f"Find a {row_label.lower()}",
        key=Widget.CORRECTION_SEARCH,
        placeholder="id or part of its name",
        help="Shows only the rows whose id or name contains this text.",
    )
    top = V.rank_corrections(table, int(k), order, query, V.sensor_names(result))
    if top.empty:
        st.caption(f"No {row_label.lower()} matches “{query}”.")
    else:
        st.plotly_chart(
            F.correction_heatmap(top, epsilon=eps, row_label=row_label, total=n_rows),
            key="correction_heatmap",
            config={"displaylogo": False},
            alt="Mean DFF correction factor per sensor and hour of day",
        )
    st.caption(
        f"φ = 1 leaves the prediction unchanged; DFF keeps every φ within [{1 - eps:g}, {1 + eps:g}] (the trust "
        "region ε). Red: DFF predicts a higher cost than the backbone; blue: lower."
    )

st.subheader("Feature attribution")
attr = V.feature_attribution(result, ss[Session.RESULT_DIGEST] or "run")
if attr is None or attr.empty:
    st.caption("Feature attribution needs the fitted DFF model, which this run does not have.")
else:
    st.plotly_chart(
        F.attribution_bars(V.readable_features(attr, result), value_label="Mean influence on the correction"),
        key="attribution_chart",
        config={"displaylogo": False},
        alt="Feature attribution of the correction",
    )
    st.caption(
        "How much each input moves DFF's correction, averaged over test times (integrated gradients, measured on "
        "the correction before it is bounded to ±ε). Blue: the input pushes predictions up on average; red: down."
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
    "Compares plain and DFF again with this run's settings for each trust-region size ε (one process per core). "
    "A larger ε lets DFF move predictions further for (possibly) lower regret. Runs in the background; finished "
    "ε values are kept if you cancel."
)
cfg = ss[Session.RESULT_CONFIG]
# A run opened from a folder may be on other data than the loaded data the sweep would run on.
can_sweep = cfg is not None and not ss[Session.OPENED_DIR]
if not can_sweep:
    st.caption(
        "This run was opened from a folder: sweep ε on its data with the command line (`python -m dff_core "
        "sweep`), or run the comparison here on the loaded data."
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


sweep_every = S.poll_interval(sweep_job) if sweeping else None


@st.fragment(run_every=sweep_every)
def sweep_monitor() -> None:
    job = S.get_job(ss[Session.SWEEP_JOB_ID], ss[Session.ID])
    if job is None:
        return
    if S.poll_slower(job, sweep_every):
        st.rerun(scope="app")
    snap = job.snapshot()
    if job.running:
        st.progress(V.sweep_fraction(snap["events"]), text=f"sweep: {snap['stage']} · {snap['elapsed']:.0f} s")
    elif snap["status"] == "error":
        st.error(f"Sweep failed: {snap['error']}", icon=":material/error:")
    elif snap["status"] == "cancelled":
        st.warning("Sweep cancelled.", icon=":material/cancel:")
    if sweeping and not job.running:
        st.rerun(scope="app")


sweep_monitor()
if table is not None and len(table):
    st.plotly_chart(
        F.epsilon_tradeoff(V.tradeoff_table(table, result), unit=unit),
        key="tradeoff_chart",
        config={"displaylogo": False},
        alt="Regret against prediction shift for each epsilon",
    )
    st.caption(
        "Each point is one ε; the dashed line joins the best trade-offs (no other point has both lower regret and "
        "a smaller shift). Points further right move the predictions more."
    )

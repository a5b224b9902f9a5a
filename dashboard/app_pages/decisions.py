"""Decisions page: what each method decided at one test time, against what really happened."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import views as V
from dashboard.services.state import Session, Widget

st.title("Decisions")
ss = st.session_state
result = ss[Session.RESULT]
if result is None:
    st.info("Run a comparison first: the decisions of each method on the test period appear here.")
    st.page_link("app_pages/train.py", label="Go to Train & compare", icon=":material/model_training:")
    st.stop()

times = V.time_labels(result)
if ss.get(Session.DECISION_RUN) != ss[Session.RESULT_DIGEST]:  # a new run: open at the time DFF differed most
    ss[Session.DECISION_RUN] = ss[Session.RESULT_DIGEST]
    ss[Widget.DECISION_TIME] = V.most_changed_instance(result)
i = st.select_slider(
    "Test time",
    options=list(range(result.n_test)),
    format_func=lambda k: times[k],
    key=Widget.DECISION_TIME,
    help="Opens at the test time where DFF's regret differs most from plain's.",
)
reg = pd.DataFrame({F.label(m): [float(result.methods[m].regret[i])] for m in result.methods}, index=["regret"])

if result.config.get("scenario") == "traffic":
    pairs = result.extra.get("pairs") or [tuple(p) for p in result.config.get("pairs") or []]
    opts = [None, *range(len(pairs))]
    pair = st.selectbox(
        "Trip",
        opts,
        format_func=lambda k: "all trips" if k is None else f"{pairs[k][0]} → {pairs[k][1]}",
        key=Widget.DECISION_PAIR,
    )
    flows, tt = V.route_decisions(result, i, pair)
    loaded = ss[Session.LOADED]
    own = V.result_sensors(result) if ss[Session.OPENED_DIR] else None  # a saved run may be on other data
    sensors = own if own is not None else loaded.sensors if loaded is not None else pd.DataFrame()
    links = S.links_segments(result.extra.get("links"), sensors)
    od = []
    if pair is not None and len(sensors):
        pos = sensors.set_index("sensor_id")
        for role, sid in zip(("origin", "destination"), pairs[pair]):
            if str(sid) in pos.index:
                od.append((float(pos.loc[str(sid), "lon"]), float(pos.loc[str(sid), "lat"]), f"{role} {sid}"))
    unit = "min" if pair is not None and result.extra.get("demand", [1])[pair] == 1 else result.unit
    st.plotly_chart(
        F.route_map(links, flows, tt, unit=unit, sensors=sensors, od=od, time_label=times[i]),
        key="route_map",
        config={"displaylogo": False, "scrollZoom": True},
        alt="Routes of each method on the map with realised travel times",
    )
    shown = [m for m in F.ORDER if m in tt]
    for col, m in zip(st.columns(len(shown)), shown):
        delta = None if m == "hindsight" else f"{tt[m] - tt['hindsight']:+.2f} vs hindsight"
        col.metric(
            f"{F.label(m, short=True)} realised",
            f"{tt[m]:.1f}",
            delta=delta,
            delta_color="inverse",
            border=True,
            help=f"Realised travel time in {unit}.",
        )
    same = [m for m in result.methods if m != "two_stage" and np.allclose(flows[m], flows["two_stage"])]
    if same:
        st.caption("Same route as plain: " + ", ".join(F.label(m) for m in same) + ".")
else:
    items = list(result.output_names) or [str(k) for k in range(result.C_test.shape[1])]
    alloc, value = V.allocation_decisions(result, i)
    st.plotly_chart(
        F.allocation_bars(items, alloc, result.C_test[i], unit=result.unit, time_label=times[i]),
        key="allocation_chart",
        config={"displaylogo": False},
        alt="Units allocated by each method against the realised value",
    )
    shown = [m for m in F.ORDER if m in value]
    for col, m in zip(st.columns(len(shown)), shown):
        delta = None if m == "hindsight" else f"{value[m] - value['hindsight']:+.2f} vs hindsight"
        col.metric(f"{F.label(m, short=True)} realised value", f"{value[m]:.2f}", delta=delta, border=True)
st.caption(f"Regret at this time ({result.unit}):")
st.dataframe(reg, key="decision_regret")

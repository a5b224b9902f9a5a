"""Decisions page: what each method decided at one test time, on the map, against what really happened."""

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

CHART = {"displaylogo": False, "scrollZoom": True}
times = V.time_labels(result)
if ss.get(Session.DECISION_RUN) != ss[Session.RESULT_DIGEST]:  # a new run: open at the time DFF differed most
    ss[Session.DECISION_RUN] = ss[Session.RESULT_DIGEST]
    ss[Widget.DECISION_TIME] = V.most_changed_instance(result)
c_time, c_street = st.columns([4, 1], vertical_alignment="bottom")
i = c_time.select_slider(
    "Test time",
    options=list(range(result.n_test)),
    format_func=lambda k: times[k],
    key=Widget.DECISION_TIME,
    help="Opens at the test time where DFF's regret differs most from plain's.",
)
street = c_street.toggle(
    "Street map",
    key=Widget.DECISION_STREET,
    help="Draws the maps over online street tiles: needs internet. Off, the maps use only this run's own "
    "layers and work offline.",
)
if street:
    st.caption(":material/public: Street tiles load from the internet; turn *Street map* off to work offline.")

loaded = ss[Session.LOADED]
own = V.result_sensors(result) if ss[Session.OPENED_DIR] else None  # a saved run may be on other data
sensors = own if own is not None else loaded.sensors if loaded is not None else pd.DataFrame()
sites = V.site_frame(result, sensors)
trip_tt = None

if result.config.get("scenario") == "traffic":
    pairs = result.extra.get("pairs") or [tuple(p) for p in result.config.get("pairs") or []]
    opts = [None, *range(len(pairs))]
    pair = st.selectbox(
        "Trip",
        opts,
        format_func=lambda k: "all trips" if k is None else f"{pairs[k][0]} → {pairs[k][1]}",
        key=Widget.DECISION_PAIR,
        help="One origin → destination trip, or every trip of the run together (their travel times add up).",
    )
    flows, tt = V.route_decisions(result, i, pair)
    trip_tt = tt if pair is not None else None
    links, geometry, places = V.route_layers(result, sensors)
    unit = "min" if pair is not None and result.extra.get("demand", [1])[pair] == 1 else result.unit
    st.plotly_chart(
        F.route_map(
            links,
            flows,
            tt,
            unit=unit,
            sensors=sites if sites is not None else sensors,
            od=V.trip_points(pairs, places, pair),
            time_label=times[i],
            sensor_values=result.C_test[i] if sites is not None else None,
            value_label="realised pace (min/km)",
            street=street,
            geometry=geometry,
        ),
        key="route_map",
        config=CHART,
        alt="Routes of each method on the map with realised travel times",
    )
    st.caption(
        "Routes that share a road are drawn side by side (plain left of hindsight, DFF and DFL right); the wide "
        "pale band is the hindsight route. Sensors are coloured by the pace really measured at this time."
    )
    shown = [m for m in F.ORDER if m in tt]
    st.caption(f"Realised travel time of each method's routes at this time, in {unit} (the unit stays out of the cards "
               "so the numbers fit).")  # fmt: skip
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
    realised = result.C_test[i]
    unit = result.unit
    shown = [m for m in F.ORDER if m in alloc]
    if sites is not None:
        links = S.links_segments(result.extra.get("links"), sensors)
        view = st.segmented_control(
            "Show",
            ["Side by side", "One method"],
            default="Side by side",
            key=Widget.DECISION_VIEW,
            help="Every method's allocation on its own small map, or one method on a large map.",
        )
        limits = F.robust_limits(realised)  # one colour scale for every map, so they compare
        if view == "One method":
            m = st.selectbox("Method", shown, format_func=F.label, key=Widget.DECISION_METHOD)
            st.plotly_chart(
                F.allocation_map(sites, alloc[m], realised, m, unit, links, limits, street, height=620),
                key="allocation_map",
                config=CHART,
                alt="Units one method allocated at each site, coloured by realised value",
            )
        else:
            cols = st.columns(2)
            for k, m in enumerate(shown):
                with cols[k % 2]:
                    st.plotly_chart(
                        F.allocation_map(sites, alloc[m], realised, m, unit, links, limits, street),
                        key=f"allocation_map_{m}",
                        config=CHART,
                        alt=f"Units {F.label(m)} allocated at each site, coloured by realised value",
                    )
        st.caption(
            "Large ringed markers: sites that got units (size = units); every site is coloured by the value per "
            f"unit really realised at this time ({unit}; colours clipped to the 2nd-98th percentile)."
        )
    table = V.allocation_table(items, alloc, realised)
    st.plotly_chart(
        F.allocation_ranked(table, unit=unit, time_label=times[i]),
        key="allocation_chart",
        config={"displaylogo": False},
        alt="Items ranked by realised value with the units each method allocated",
    )
    with st.expander("Ranked table", expanded=sites is None):
        st.dataframe(
            table.rename(columns={"item": "Item", "realised": f"Realised value per unit ({unit})"}).rename(
                columns={m: f"{F.label(m, short=True)} units" for m in shown}
            ),
            hide_index=True,
            key="allocation_table",
        )
    for col, m in zip(st.columns(len(shown)), shown):
        delta = None if m == "hindsight" else f"{value[m] - value['hindsight']:+.2f} vs hindsight"
        col.metric(
            f"{F.label(m, short=True)} realised value",
            f"{value[m]:.2f}",
            delta=delta,
            border=True,
            help=f"Value really realised by this allocation at this time, in {unit}.",
        )
what = "this trip" if trip_tt is not None else "this time"
st.caption(f"Regret at {what} ({unit if trip_tt is not None else result.unit}):")
st.dataframe(V.regret_at(result, i, trip_tt), hide_index=True, key="decision_regret")

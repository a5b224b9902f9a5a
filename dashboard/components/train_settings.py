"""Train page: the settings form; what it returns is the run configuration.

Only the scenarios and allocation values that fit the loaded data are offered (the engine's
:func:`~dff_core.scenarios.choices.scenario_choices`); the others are named with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import labels as L
from dashboard.services import training as T
from dashboard.services.state import Session, Widget
from dff_core.scenarios import bpr
from dff_core.scenarios.choices import Choice, allocation_values, scenario_choices


def _keep_valid(key: str, options: Sequence[Any]) -> None:
    """Forget a remembered widget value that the current data no longer offer (e.g. after a new upload):
    the widget then starts from its default."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def not_offered(loaded: S.Loaded, choices: list[Choice], scenario: str) -> list[str]:
    """Plain sentences naming the scenario settings the data do not support, and why.

    Allocation values are named while allocation is chosen; of the two traffic choices one always
    fits (travel times from speeds or from counts), so only missing readings or links are named.
    """
    ds = loaded.dataset
    if ds is None:
        return ["Traffic routing needs sensor readings with locations; only an allocation table is loaded."]
    out = []
    what = f"the readings are {'counts' if ds.value_kind == 'count' else 'speeds'} ({ds.unit})"
    for c in choices:
        if c.ok or c.kind != "allocation" or scenario != "allocation":
            continue
        needs = "speed readings" if c.value == "delay" else "count readings"
        out.append(f"Allocation by {L.ALLOCATION_VALUE_LABELS.get(c.value, c.value)} needs {needs}; {what}.")
    if not len(loaded.links) and loaded.network is None:
        out.append("Traffic routing needs road links between the sensors; none were given or could be inferred.")
    return out


def bpr_assumptions(loaded: S.Loaded) -> None:
    """How routing turns counts into travel times, in plain words (shown for count data)."""
    ds = loaded.dataset
    per_hour = pd.Timedelta("1h") / pd.Timedelta(ds.freq)
    with st.expander("How travel times come from counts (assumptions)", icon=":material/info:"):
        st.markdown(
            f"""
- Each count becomes a flow per hour: counts are *{ds.unit}*, so flow = count × {per_hour:g}.
- The forecaster predicts these flows; a standard road-engineering curve (BPR) turns each flow into a
  travel time per km: **free-flow time × (1 + {bpr.DEFAULT_ALPHA:g} × (flow ÷ capacity)^{bpr.DEFAULT_BETA:g})**.
  Roads slow down little at low flow and sharply as the flow nears capacity.
- **Capacity** of a sensor's road: the links file's `capacity` column, else `lanes` ×
  {bpr.DEFAULT_LANE_CAPACITY:,.0f} vehicles per hour per lane, else the sensor's usual peak
  ({bpr.CAPACITY_PERCENTILE}th percentile of its flow in the training period).
- **Free-flow speed**: the links file's `free_flow_kmh` column, else {bpr.DEFAULT_FREE_FLOW_KMH:g} km/h.
- A link's travel time is its length × the mean time per km of its two end sensors.
- DFF corrects the resulting travel times by at most ±ε, like any other backbone's forecasts.
"""
        )


def scenario_controls(loaded: S.Loaded, running: bool, col: Any) -> tuple[str, list[Choice]]:
    """The scenario choice (only kinds that fit the data); returns it and the engine's choices."""
    choices = scenario_choices(loaded.dataset) if loaded.dataset is not None else []
    has_graph = len(loaded.links) > 0 or loaded.network is not None
    traffic_ok = any(c.kind == "traffic" and c.ok for c in choices) and has_graph
    scenarios = (["traffic"] if traffic_ok else []) + ["allocation"]
    _keep_valid(Widget.SCENARIO, scenarios)
    scenario = col.radio(
        "Scenario",
        scenarios,
        format_func=S.SCENARIO_LABELS.get,
        key=Widget.SCENARIO,
        disabled=running,
        persist_state="session",
        help=L.HELP["scenario"],
    )
    if scenario == "traffic" and loaded.dataset is not None:
        counts = loaded.dataset.value_kind == "count"
        col.caption(
            "Travel times from counts through the BPR curve (assumptions below)."
            if counts
            else "Travel time per km = 60 ÷ the speed at each sensor."
        )
        road = loaded.network
        if road is not None:
            col.caption(
                f":material/route: Routes on the road network **{road.name}** ({road.n_links:,} links; "
                f"{road.matched} sensors on its links price them)."
            )
    return scenario, choices


def allocation_controls(loaded: S.Loaded, running: bool, col: Any) -> dict[str, Any]:
    """Where the units go, what they are allocated by, and the budget; returns the spec's options."""
    has_readings = loaded.dataset is not None
    sources = (["readings"] if has_readings else []) + (["items"] if loaded.items is not None else [])
    _keep_valid(Widget.SOURCE, sources)
    extra: dict[str, Any] = {}
    extra["source"] = col.radio(
        "Allocate to",
        sources,
        format_func=S.ALLOCATION_SOURCES.get,
        key=Widget.SOURCE,
        disabled=running,
        persist_state="session",
        horizontal=True,
        help=L.HELP["source"],
    )
    if extra["source"] == "readings":
        fitting = [v for v, problem in allocation_values(loaded.dataset).items() if problem is None]
        _keep_valid(Widget.ALLOC_VALUE, fitting)
        extra["alloc_value"] = col.radio(
            "Allocate by",
            fitting,
            format_func=lambda v: L.ALLOCATION_VALUE_LABELS.get(v, v),
            key=Widget.ALLOC_VALUE,
            disabled=running,
            persist_state="session",
            horizontal=True,
            help=L.HELP["alloc_value"],
        )
    extra["budget"] = col.number_input(
        "Budget (units per decision)",
        min_value=1,
        max_value=100,
        value=S.DEFAULT_BUDGET,
        key=Widget.BUDGET,
        disabled=running,
        persist_state="session",
        help=L.HELP["budget"],
    )
    return extra


def traffic_controls(loaded: S.Loaded, running: bool, col: Any) -> dict[str, Any]:
    """The trips to route; returns the spec's options."""
    candidates = S.candidate_pairs(loaded)
    if Widget.PAIRS in st.session_state:
        st.session_state[Widget.PAIRS] = [p for p in st.session_state[Widget.PAIRS] or [] if p in candidates]
    pairs = col.multiselect(
        "Trips (origin → destination)",
        candidates,
        key=Widget.PAIRS,
        disabled=running,
        persist_state="session",
        placeholder="automatic: 5 long trips",
        help=L.HELP["pairs_network" if loaded.network is not None else "pairs"],
    )
    return {"pairs": [p.split(" → ") for p in pairs] or None}


def start_sample_run(loaded: S.Loaded, config: dict, running: bool) -> None:
    """Start the comparison the start page's "Run the sample" button asked for (once)."""
    ss = st.session_state
    if not ss.pop(Session.RUN_SAMPLE, False) or running:
        return
    job = T.start_job(ss[Session.ID], loaded, config)
    ss[Session.JOB_ID] = job.id
    S.show_result(ss, None, None, None)
    st.query_params.pop(S.RUN_DIR_PARAM, None)
    st.rerun()


def render(loaded: S.Loaded, running: bool) -> dict:
    """Draw the scenario and training settings; returns the run configuration they describe."""
    has_readings = loaded.dataset is not None

    with st.container(border=True):
        c1, c2, c3 = st.columns(3)
        scenario, choices = scenario_controls(loaded, running, c1)
        backbone = c2.selectbox(
            "Backbone (the trusted forecaster)",
            T.backbone_choices(),
            format_func=lambda b: S.BACKBONE_LABELS.get(b, b),
            key=Widget.BACKBONE,
            disabled=running,
            persist_state="session",
            help=L.HELP["backbone"],
        )
        loss = c3.selectbox(
            "Decision loss",
            S.LOSSES,
            format_func=S.LOSS_LABELS.get,
            key=Widget.LOSS,
            disabled=running,
            persist_state="session",
            help=L.HELP["loss"],
        )
        c1, c2, c3 = st.columns(3)
        epsilon = c1.slider(
            "Trust region ε (share of each forecast)",
            0.05,
            0.5,
            value=S.DEFAULT_EPSILON,
            step=0.05,
            key=Widget.EPSILON,
            disabled=running,
            persist_state="session",
            help=L.HELP["epsilon"],
        )
        c1.caption(f"DFF moves each forecast by at most ±{100 * epsilon:.0f} %.")
        horizons, default_horizon = S.horizon_choices(loaded.dataset.freq if has_readings else None)
        _keep_valid(Widget.HORIZON, horizons)
        horizon = c2.selectbox(
            "Forecast horizon",
            horizons,
            index=horizons.index(default_horizon),
            format_func=L.duration_label,
            key=Widget.HORIZON,
            disabled=running or not has_readings,
            persist_state="session",
            help=L.HELP["horizon"],
        )
        epochs = c3.number_input(
            "Epochs (training passes)",
            min_value=1,
            max_value=200,
            value=S.DEFAULT_EPOCHS,
            step=1,
            key=Widget.EPOCHS,
            disabled=running,
            persist_state="session",
            help=L.HELP["epochs"],
        )
        c1, c2 = st.columns([2, 1])
        methods = c1.multiselect(
            "Methods",
            list(F.METHODS),
            default=list(S.DEFAULT_METHODS),
            format_func=L.method_label,
            key=Widget.METHODS,
            disabled=running,
            persist_state="session",
            help=L.HELP["methods"],
        )
        c1.caption(" · ".join(f"**{L.method_label(m)}**: {L.METHOD_HELP[m]}" for m in F.METHODS))
        if scenario == "traffic":
            extra = traffic_controls(loaded, running, c2)
        else:
            extra = allocation_controls(loaded, running, c2)
        for line in not_offered(loaded, choices, scenario):
            st.caption(f":material/block: Not offered: {line}")
        if scenario == "traffic" and has_readings and loaded.dataset.value_kind == "count":
            bpr_assumptions(loaded)

    config = S.run_config(
        S.scenario_spec(
            scenario,
            horizon=horizon,
            sample=loaded.is_sample,
            read=loaded.options,
            network=loaded.network.spec if loaded.network is not None else None,
            **extra,
        ),
        backbone=backbone,
        epsilon=float(epsilon),
        loss=loss,
        epochs=int(epochs),
        methods=[m for m in F.METHODS if m in methods],
    )
    start_sample_run(loaded, config, running)
    return config

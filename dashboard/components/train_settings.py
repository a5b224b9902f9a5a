"""Train page: the settings form; what it returns is the run configuration."""

from __future__ import annotations

import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import training as T
from dashboard.services.state import Widget


def render(loaded: S.Loaded, running: bool) -> dict:
    """Draw the scenario and training settings; returns the run configuration they describe."""
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
    return config

"""Data page: the optional road network upload, what matching the sensors onto it found, and its map."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import labels as L
from dashboard.services.state import Widget

#: File types offered for the links file and for the node coordinates.
LINK_TYPES = ["tntp", "csv", "txt", "geojson", "json", "gpkg"]
NODE_TYPES = ["tntp", "csv", "txt", "geojson", "json"]


def upload() -> tuple[dict[str, tuple[str, bytes]], dict[str, Any]]:
    """The road network's uploaders and options; returns ``{kind: (name, bytes)}`` and the options as set."""
    with st.container(border=True):
        st.markdown("**Road network (optional)**")
        st.caption(
            "Route on a road network's links instead of the graph between the sensors: each sensor is put on its "
            "nearest link, and the travel times it predicts price every link."
        )
        files: dict[str, tuple[str, bytes]] = {}
        cols = st.columns(2)
        labels = {"network": "Road network links", "network_nodes": "Node coordinates"}
        for col, kind, types in zip(cols, S.NETWORK_KINDS, (LINK_TYPES, NODE_TYPES)):
            up = col.file_uploader(
                f"{labels[kind]} (max {S.MAX_UPLOAD_MB} MB)", type=types, key=Widget.upload(kind), help=L.HELP[kind]
            )
            if up is not None:
                files[kind] = (up.name, up.getvalue())
        c1, c2 = st.columns(2)
        crs = c1.text_input(
            "Coordinate system of the network",
            key=Widget.UPLOAD_NETWORK_CRS,
            placeholder="latitude/longitude (WGS84)",
            help=L.HELP["network_crs"],
            persist_state="session",
        )
        distance = c2.number_input(
            "Maximum matching distance (m)",
            min_value=1.0,
            max_value=50_000.0,
            value=float(S.NETWORK_DEFAULTS["match_distance"]),
            step=50.0,
            key=Widget.UPLOAD_MATCH_DISTANCE,
            help=L.HELP["match_distance"],
            persist_state="session",
        )
    return files, {"network_crs": crs, "match_distance": distance}


def match_sentence(road: S.RoadView, n_sensors: int) -> str:
    """How the sensors sit on the network, in one sentence (the validation numbers)."""
    med, top = road.distances()
    return (
        f"Road network **{road.name}**: {road.matched} of {n_sensors} sensors matched onto its links (distance "
        f"median {med:,.0f} m, max {top:,.0f} m); {road.dropped} dropped: farther than "
        f"{road.match.max_distance_m:g} m from every link."
    )


def summary(loaded: S.Loaded) -> None:
    """The network's size and the matching's numbers, as tiles and a sentence."""
    road = loaded.network
    if road is None:
        return
    med, top = road.distances()
    c = st.container(horizontal=True)
    c.metric("Road links", f"{road.n_links:,}", border=True, help=f"Links of {road.name}: routes use them.")
    c.metric("Sensors on links", road.matched, border=True, help="Sensors matched onto their nearest link.")
    c.metric(
        "Not matched",
        road.dropped,
        border=True,
        help=f"Sensors farther than {road.match.max_distance_m:g} m from every link: left out of the routing.",
    )
    c.metric("Match distance (median)", f"{med:,.0f} m", border=True)
    c.metric("Match distance (max)", f"{top:,.0f} m", border=True)
    st.caption(match_sentence(road, len(loaded.sensors)))


def figure(loaded: S.Loaded, selected: list[str]) -> go.Figure:
    """The network map of the Data page: links, sensors, each sensor's matched link."""
    road = loaded.network
    assert road is not None
    return F.network_map(
        road.network.geometry,
        road.network.links,
        loaded.sensors,
        road.match.table,
        value="mean_value",
        value_label=f"Mean {loaded.value_label}",
        max_distance_m=road.match.max_distance_m,
        selected=selected,
    )

"""Maps of an uploaded road network: its links, the sensors placed on them, and each sensor's matched link.

Like every map of the dashboard they render offline (``white-bg`` and our own layers; ``street=True``
for online tiles). The network is one thin grey line trace however many links it has
(:func:`~dashboard.figures.geometry.line_coords`); hover names links only on networks small enough
for it to stay light (:data:`~dashboard.figures.geometry.HOVER_MAX_LINKS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.geometry import finite, line_coords, link_names, road_trace
from dashboard.figures.maps import _finish_map, _scale_trace, selected_trace
from dashboard.figures.style import SENSOR_COLOR, robust_limits

MATCHED_COLOR = "#F97316"
UNMATCHED_COLOR = "#6B7280"


def network_map(
    geometry: Sequence,
    links: pd.DataFrame,
    sensors: pd.DataFrame,
    matches: pd.DataFrame,
    value: str | None = None,
    value_label: str = "",
    max_distance_m: float | None = None,
    selected: Sequence[str] = (),
    street: bool = False,
) -> go.Figure:
    """The road network, the sensors on it and, highlighted, the link each sensor was matched onto.

    ``geometry`` (WGS84 LineStrings) and ``links`` (``from_id``, ``to_id``) are the network's links,
    row for row; ``sensors`` has ``sensor_id, lat, lon`` (and ``value``, e.g. the mean reading);
    ``matches`` has ``sensor_id``, ``link`` (row) and ``distance_m``. Sensors without a match (farther
    than ``max_distance_m`` from every link) are drawn grey.
    """
    fig = go.Figure()
    base = road_trace(geometry, links)
    fig.add_trace(base)
    rows = np.unique(matches["link"].to_numpy(np.int64))
    mlon, mlat, which = line_coords(geometry, rows)
    names = link_names(links)
    fig.add_trace(
        go.Scattermap(
            lon=mlon,
            lat=mlat,
            mode="lines",
            line={"color": MATCHED_COLOR, "width": 4},
            name=f"Links holding sensors ({len(rows):,})",
            text=np.where(which >= 0, names[np.maximum(which, 0)], ""),
            hovertemplate="link %{text}<extra>holds a sensor</extra>",
            meta={"links": len(rows)},
        )
    )
    ids = sensors["sensor_id"].astype(str)
    m = matches.assign(sensor_id=matches["sensor_id"].astype(str)).set_index("sensor_id")
    on = ids.isin(m.index).to_numpy()
    placed = sensors[on]
    link_of = m.reindex(ids[on])
    vals = placed[value].to_numpy(float) if value is not None and value in placed else np.full(len(placed), np.nan)
    marker: dict = {"size": 9, "color": SENSOR_COLOR}
    if value is not None and value in placed and len(placed):
        lo, hi = robust_limits(placed[value])
        marker = {
            "size": 10, "color": vals, "colorscale": "Viridis", "cmin": lo, "cmax": hi,
            "colorbar": {"title": {"text": value_label or value}},
        }  # fmt: skip
    custom = np.column_stack(
        [ids[on].to_numpy(), names[link_of["link"].to_numpy(np.int64)], link_of["distance_m"].to_numpy(float), vals]
    )
    fig.add_trace(
        go.Scattermap(
            lon=placed["lon"],
            lat=placed["lat"],
            mode="markers",
            marker=marker,
            name=f"Sensors on links ({int(on.sum())})",
            customdata=custom,
            hovertemplate=(
                "sensor %{customdata[0]}<br>on link %{customdata[1]} (%{customdata[2]:.0f} m away)"
                + (f"<br>{value_label or value} %{{customdata[3]:.2f}}" if value is not None else "")
                + "<extra></extra>"
            ),
            meta={"role": "matched"},
        )
    )
    if (~on).any():
        off = sensors[~on]
        beyond = f"farther than {max_distance_m:g} m" if max_distance_m else "too far"
        fig.add_trace(
            go.Scattermap(
                lon=off["lon"],
                lat=off["lat"],
                mode="markers",
                marker={"size": 9, "color": UNMATCHED_COLOR, "opacity": 0.7},
                name=f"Not matched: {beyond} ({int((~on).sum())})",
                text=off["sensor_id"].astype(str),
                hovertemplate=f"sensor %{{text}}<extra>not matched: {beyond} from every link</extra>",
                meta={"role": "unmatched"},
            )
        )
    if len(selected):
        fig.add_trace(selected_trace(sensors, selected, color="#DC2626", opacity=0.6))
    lon_a = np.r_[finite(base.lon), sensors["lon"].to_numpy(float)]
    lat_a = np.r_[finite(base.lat), sensors["lat"].to_numpy(float)]
    fig.add_trace(_scale_trace(lon_a, lat_a))
    return _finish_map(fig, lon_a, lat_a, "Road network, sensors and the links they were matched onto", street=street)

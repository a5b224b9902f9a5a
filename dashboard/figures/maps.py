"""Maps of sensors, road links and routes.

Maps use ``map_style="white-bg"`` with our own layers, so they render without internet access
(tile styles fetch from CDNs; ``*_mapbox`` traces are gone in plotly 7). Hover shows the sensor
id and value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import COLORS, CONTEXT_FILL, LINK_COLOR, SELECTED_COLOR, SENSOR_COLOR, label


# ----------------------------------------------------------------------------- maps
def _bounds(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    lat, lon = lat[np.isfinite(lat)], lon[np.isfinite(lon)]
    if lat.size == 0:
        return -1.0, 1.0, -1.0, 1.0
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _map_view(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    span = max(lon1 - lon0, (lat1 - lat0) * 1.6, 1e-3)
    zoom = float(np.clip(np.log2(360.0 / span) - 0.6, 1, 16))
    return {"center": {"lat": (lat0 + lat1) / 2, "lon": (lon0 + lon1) / 2}, "zoom": zoom}


def _context_layer(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    """A shaded study-area rectangle drawn from our own GeoJSON (no network needed)."""
    px_, py_ = (lon1 - lon0) * 0.08 + 1e-3, (lat1 - lat0) * 0.08 + 1e-3
    ring = [[lon0 - px_, lat0 - py_], [lon1 + px_, lat0 - py_], [lon1 + px_, lat1 + py_], [lon0 - px_, lat1 + py_]]
    ring.append(ring[0])
    geo = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return {"source": geo, "sourcetype": "geojson", "type": "fill", "color": CONTEXT_FILL, "below": "traces"}


def _links_trace(links: pd.DataFrame) -> go.Scattermap:
    """The road network as one line trace (the base layer of every map)."""
    lon, lat, text = _segments(links)
    return go.Scattermap(
        lon=lon,
        lat=lat,
        mode="lines",
        line={"color": LINK_COLOR, "width": 2},
        name="Road links",
        text=text,
        hovertemplate="link %{text}<extra></extra>",
    )


def _segments(links: pd.DataFrame, mask: np.ndarray | None = None) -> tuple[list, list, list]:
    """Line coordinates for link segments (None-separated), with hover text per vertex."""
    L = links if mask is None else links.loc[np.asarray(mask, bool)]
    lon, lat, text = [], [], []
    for row in L.itertuples(index=False):
        d = row._asdict()
        tip = str(d.get("link_id", ""))
        lon += [d["lon0"], d["lon1"], None]
        lat += [d["lat0"], d["lat1"], None]
        text += [tip, tip, None]
    return lon, lat, text


def _finish_map(fig: go.Figure, lon: np.ndarray, lat: np.ndarray, title: str, height: int = 640) -> go.Figure:
    b = _bounds(lat, lon)
    fig.update_layout(
        map={"style": "white-bg", "layers": [_context_layer(*b)], **_map_view(*b)},
        title={"text": title},
        margin={"l": 0, "r": 0, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.01, "x": 0},
        height=height,
    )
    return fig


def sensor_map(
    sensors: pd.DataFrame,
    links: pd.DataFrame | None = None,
    value: str | None = None,
    value_label: str = "",
    selected: Sequence[str] = (),
) -> go.Figure:
    """Sensors as markers over the road links (our own layers; renders offline).

    ``sensors`` has ``sensor_id``, ``lat``, ``lon`` (and optionally ``value``, e.g. mean speed);
    ``links`` has ``lon0, lat0, lon1, lat1`` (and optionally ``link_id``).
    """
    fig = go.Figure()
    lon_all = list(sensors["lon"])
    lat_all = list(sensors["lat"])
    if links is not None and len(links):
        base = _links_trace(links)
        fig.add_trace(base)
        lon_all += [v for v in base.lon if v is not None]
        lat_all += [v for v in base.lat if v is not None]
    marker: dict = {"size": 9, "color": SENSOR_COLOR}
    if value is not None and value in sensors:
        marker = {
            "size": 10,
            "color": sensors[value],
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": value_label or value}},
        }
    vals = sensors[value] if value is not None and value in sensors else pd.Series([np.nan] * len(sensors))
    fig.add_trace(
        go.Scattermap(
            lon=sensors["lon"],
            lat=sensors["lat"],
            mode="markers",
            marker=marker,
            name="Sensors",
            customdata=np.column_stack([sensors["sensor_id"].astype(str), vals.to_numpy()]),
            hovertemplate=(
                "sensor %{customdata[0]}<br>lat %{lat:.4f}, lon %{lon:.4f}"
                + (f"<br>{value_label or value} %{{customdata[1]:.2f}}" if value is not None else "")
                + "<extra></extra>"
            ),
        )
    )
    if len(selected):
        sel = sensors[sensors["sensor_id"].astype(str).isin([str(s) for s in selected])]
        fig.add_trace(
            go.Scattermap(
                lon=sel["lon"],
                lat=sel["lat"],
                mode="markers",
                marker={"size": 15, "color": SELECTED_COLOR},
                name="Selected sensors",
                text=sel["sensor_id"].astype(str),
                hovertemplate="sensor %{text}<extra>selected</extra>",
            )
        )
    return _finish_map(fig, np.asarray(lon_all, float), np.asarray(lat_all, float), "Sensors and road links")


def route_map(
    links: pd.DataFrame,
    routes: Mapping[str, np.ndarray],
    travel_times: Mapping[str, float],
    unit: str = "min",
    sensors: pd.DataFrame | None = None,
    od: Sequence[tuple[float, float, str]] = (),
    time_label: str = "",
) -> go.Figure:
    """Routes chosen by each method (link masks over ``links``) with their realised travel times.

    ``routes`` maps method key (incl. ``"hindsight"``) -> boolean/flow array over the rows of
    ``links``; ``od`` lists ``(lon, lat, name)`` of the origin and destination.
    """
    fig = go.Figure()
    base = _links_trace(links)
    fig.add_trace(base)
    widths = {"hindsight": 12, "two_stage": 8, "dfl": 5.5, "dff": 3.5}
    # Widest first, so every route stays visible where they share links (hindsight at the bottom).
    for name in [m for m in ("hindsight", "two_stage", "dfl", "dff") if m in routes]:
        mask = np.asarray(routes[name]) > 1e-9
        rlon, rlat, rtext = _segments(links, mask)
        tt = travel_times.get(name)
        tt_txt = f"{tt:.1f} {unit}" if tt is not None else "n/a"
        fig.add_trace(
            go.Scattermap(
                lon=rlon,
                lat=rlat,
                mode="lines",
                line={"color": COLORS[name], "width": widths.get(name, 4)},
                opacity=0.35 if name == "hindsight" else 0.95,
                name=f"{label(name)}: {tt_txt}",
                text=rtext,
                hovertemplate=f"{label(name)} route<br>link %{{text}}<br>realised {tt_txt} {time_label}<extra></extra>",
                meta={"method": name},
            )
        )
    if sensors is not None and len(sensors):
        fig.add_trace(
            go.Scattermap(
                lon=sensors["lon"],
                lat=sensors["lat"],
                mode="markers",
                marker={"size": 5, "color": SENSOR_COLOR},
                name="Sensors",
                text=sensors["sensor_id"].astype(str),
                hovertemplate="sensor %{text}<extra></extra>",
            )
        )
    if od:
        fig.add_trace(
            go.Scattermap(
                lon=[p[0] for p in od],
                lat=[p[1] for p in od],
                mode="markers",
                marker={"size": 16, "color": "#DC2626"},
                name="Origin / destination",
                text=[p[2] for p in od],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    all_lon = np.asarray([v for v in base.lon if v is not None], float)
    all_lat = np.asarray([v for v in base.lat if v is not None], float)
    title = "Routes and realised travel times" + (f" at {time_label}" if time_label else "")
    return _finish_map(fig, all_lon, all_lat, title)

"""Maps of sensors, road links and routes.

Offline maps (the default) are plain SVG charts of longitude and latitude, drawn at the true aspect ratio of
the study area: no tiles, no WebGL, so they render without internet access and about twice as fast as a
web map in a browser without a GPU (``benchmarks/bench_dashboard.py``). ``street=True`` draws the same
traces on a MapLibre web map with online street tiles. Every map has a scale bar, colour scales use robust
(2nd-98th percentile) limits, and hover shows the sensor id and value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.geometry import finite, line_coords, link_names, road_trace
from dashboard.figures.style import (
    COLORS,
    CONTEXT_FILL,
    LINK_COLOR,
    SELECTED_COLOR,
    SENSOR_COLOR,
    label,
    robust_limits,
)

#: The optional street basemap: online tiles (needs internet); every map is offline without it.
STREET_STYLE = "open-street-map"
KM_PER_DEG_LAT = 111.32
#: Lengths a scale bar may have (km).
SCALE_STEPS_KM = (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000)
ORIGIN_COLOR = "#16A34A"
DESTINATION_COLOR = "#DC2626"


# ----------------------------------------------------------------------------- maps
def _bounds(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    lat, lon = (a[np.isfinite(a)] for a in (np.asarray(lat, float), np.asarray(lon, float)))
    if lat.size == 0:
        return -1.0, 1.0, -1.0, 1.0
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


#: Map area assumed when choosing the zoom (CSS px): the chart's own width is only known in the browser.
MAP_WIDTH_PX, NARROW_MAP_WIDTH_PX = 900, 440
#: Room the title and the legend under the map take from the figure's height (px).
MAP_CHROME_PX = 150
#: Share of the map the study area (with its margin and the scale bar) may fill.
MAP_FILL = 0.8


def map_view(lon0: float, lat0: float, lon1: float, lat1: float, width_px: float, height_px: float) -> dict:
    """Centre and the largest zoom at which the box fits ``MAP_FILL`` of a ``width_px`` x ``height_px`` web map."""
    lat_mid = (lat0 + lat1) / 2
    lon_span, lat_span = max(lon1 - lon0, 1e-4), max(lat1 - lat0, 1e-4)
    # Web Mercator in MapLibre (512 px tiles): 512 * 2**zoom px per 360 degrees of longitude; a degree of latitude
    # is 1/cos(lat) longer on the map.
    z_lon = np.log2(MAP_FILL * width_px * 360.0 / (512.0 * lon_span))
    z_lat = np.log2(MAP_FILL * height_px * 360.0 * np.cos(np.radians(lat_mid)) / (512.0 * lat_span))
    zoom = float(np.clip(min(z_lon, z_lat), 1, 16))
    return {"center": {"lat": lat_mid, "lon": (lon0 + lon1) / 2}, "zoom": zoom}


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


def _finish_map(
    fig: go.Figure,
    lon: np.ndarray,
    lat: np.ndarray,
    title: str,
    height: int = 640,
    street: bool = False,
    width_px: float = MAP_WIDTH_PX,
) -> go.Figure:
    """Offline by default (a plane map: :func:`to_plane`); ``street`` puts the traces on online map tiles."""
    b = _bounds(lat, lon)
    layout = {
        "title": {"text": title},
        "margin": {"l": 0, "r": 0, "t": 40, "b": 10},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.01, "x": 0},
        "height": height,
    }
    if not street:
        return to_plane(fig, b, layout)
    view = map_view(*b, width_px=width_px, height_px=max(height - MAP_CHROME_PX, 200))
    fig.update_layout(map={"style": STREET_STYLE, **view}, **layout)
    return fig


#: Keys of a ``scattermap`` trace (and of its marker and line) that mean the same on a ``scatter`` trace.
_PLANE_KEYS = {
    "mode", "name", "text", "hovertext", "customdata", "hovertemplate", "hoverinfo", "showlegend", "legendgroup",
    "legendrank", "meta", "opacity", "visible", "fill", "fillcolor", "connectgaps", "uid", "textposition",
}  # fmt: skip
_PLANE_MARKER_KEYS = {
    "size", "color", "colorscale", "cmin", "cmax", "cmid", "colorbar", "opacity", "showscale", "sizemode",
    "sizeref", "sizemin", "reversescale", "autocolorscale", "coloraxis",
}  # fmt: skip


def _plane_trace(tr: go.Scattermap) -> go.Scatter:
    """The same layer as an SVG ``scatter`` trace: x = longitude, y = latitude, hover fields renamed."""
    d = tr.to_plotly_json()
    out: dict = {k: v for k, v in d.items() if k in _PLANE_KEYS}
    out["x"], out["y"] = d.get("lon"), d.get("lat")
    if "marker" in d:
        out["marker"] = {k: v for k, v in d["marker"].items() if k in _PLANE_MARKER_KEYS}
    if "line" in d:
        out["line"] = {k: v for k, v in d["line"].items() if k in ("color", "width")}
    if "hovertemplate" in out:
        out["hovertemplate"] = str(out["hovertemplate"]).replace("%{lat", "%{y").replace("%{lon", "%{x")
    return go.Scatter(**out)


def to_plane(fig: go.Figure, bounds: tuple[float, float, float, float], layout: dict) -> go.Figure:
    """Redraw a map figure's ``scattermap`` traces as SVG lines and markers on hidden lon/lat axes.

    One degree of latitude is drawn ``1/cos(latitude)`` times as long as one of longitude, so distances look
    as on a map of the area (the scale bar stays true); the study area is a shaded rectangle and the scale
    bar is labelled with its length.
    """
    lon0, lat0, lon1, lat1 = bounds
    lat_mid = (lat0 + lat1) / 2
    out = go.Figure([_plane_trace(t) if isinstance(t, go.Scattermap) else t for t in fig.data])
    px_, py_ = (lon1 - lon0) * 0.08 + 1e-3, (lat1 - lat0) * 0.08 + 1e-3
    out.add_shape(
        type="rect", x0=lon0 - px_, x1=lon1 + px_, y0=lat0 - py_, y1=lat1 + py_, fillcolor=CONTEXT_FILL,
        line={"width": 0}, layer="below",
    )  # fmt: skip
    for t in out.data:
        km = (t.meta or {}).get("scale_km") if isinstance(t.meta, dict) else None
        if km is not None:
            xs = [v for v in t.x if v is not None]
            ys = [v for v in t.y if v is not None]
            out.add_annotation(
                x=(min(xs) + max(xs)) / 2, y=min(ys), text=f"{km:g} km", showarrow=False, yanchor="top",
                font={"size": 12, "color": "#111827"},
            )  # fmt: skip
    axis = {"visible": False, "showgrid": False, "zeroline": False}
    out.update_layout(
        **layout,
        xaxis={**axis, "range": [lon0 - 1.5 * px_, lon1 + 1.5 * px_], "constrain": "domain"},
        yaxis={
            **axis,
            "range": [lat0 - 1.5 * py_, lat1 + 1.5 * py_],
            "scaleanchor": "x",
            "scaleratio": 1 / max(float(np.cos(np.radians(lat_mid))), 1e-6),
            "constrain": "domain",
        },
        plot_bgcolor="white",
        hovermode="closest",
    )
    return out


def _km_per_deg_lon(lat: float) -> float:
    return KM_PER_DEG_LAT * max(np.cos(np.radians(lat)), 1e-6)


def scale_bar(lon0: float, lat0: float, lon1: float, lat1: float) -> tuple[list, list, float]:
    """A scale bar of a round length (about a quarter of the map's width) in the lower-left corner.

    Returns ``(lon, lat, km)``: the bar with end ticks as None-separated line coordinates, and its length.
    """
    lat_mid = (lat0 + lat1) / 2
    width_km = max((lon1 - lon0) * _km_per_deg_lon(lat_mid), 1e-3)
    km = max([s for s in SCALE_STEPS_KM if s <= width_km / 4] or [SCALE_STEPS_KM[0]])
    dlon = km / _km_per_deg_lon(lat_mid)
    h = max(lat1 - lat0, 1e-3)
    x0, y0 = lon0 + 0.02 * max(lon1 - lon0, 1e-3), lat0 - 0.04 * h
    tick = 0.015 * h
    lon = [x0, x0 + dlon, None, x0, x0, None, x0 + dlon, x0 + dlon, None]
    lat = [y0, y0, None, y0 - tick, y0 + tick, None, y0 - tick, y0 + tick, None]
    return lon, lat, km


def _scale_trace(lon: np.ndarray, lat: np.ndarray) -> go.Scattermap:
    blon, blat, km = scale_bar(*_bounds(lat, lon))
    return go.Scattermap(
        lon=blon,
        lat=blat,
        mode="lines",
        line={"color": "#111827", "width": 3},
        name=f"Scale bar: {km:g} km",
        hoverinfo="skip",
        meta={"scale_km": km},
    )


def selected_trace(
    sensors: pd.DataFrame, selected: Sequence[str], color: str = SELECTED_COLOR, opacity: float | None = None
) -> go.Scattermap:
    """Large markers over the sensors the user picked (the time-series preview's sensors)."""
    sel = sensors[sensors["sensor_id"].astype(str).isin([str(s) for s in selected]).to_numpy()]
    return go.Scattermap(
        lon=sel["lon"],
        lat=sel["lat"],
        mode="markers",
        marker={"size": 15, "color": color, **({"opacity": opacity} if opacity is not None else {})},
        name="Selected sensors",
        text=sel["sensor_id"].astype(str),
        hovertemplate="sensor %{text}<extra>selected</extra>",
    )


def sensor_map(
    sensors: pd.DataFrame,
    links: pd.DataFrame | None = None,
    value: str | None = None,
    value_label: str = "",
    selected: Sequence[str] = (),
    street: bool = False,
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
        lo, hi = robust_limits(sensors[value])
        marker = {
            "size": 10,
            "color": sensors[value],
            "colorscale": "Viridis",
            "cmin": lo,
            "cmax": hi,
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
        fig.add_trace(selected_trace(sensors, selected))
    lon_a, lat_a = np.asarray(lon_all, float), np.asarray(lat_all, float)
    fig.add_trace(_scale_trace(lon_a, lat_a))
    return _finish_map(fig, lon_a, lat_a, "Sensors and road links", street=street)


# ----------------------------------------------------------------------------- routes
#: Route line widths and sideways offsets (in units of :data:`ROUTE_OFFSET` of the map's span): routes that
#: share a link are drawn side by side instead of on top of each other; hindsight is the wide band in the middle.
ROUTE_STYLE = {"hindsight": (12, 0.0), "two_stage": (4, -1.0), "dff": (4, 1.0), "dfl": (4, 2.0)}
ROUTE_OFFSET = 0.004


def offset_segments(links: pd.DataFrame, mask: np.ndarray, offset: float) -> tuple[list, list, list]:
    """Like :func:`_segments`, each segment shifted sideways (to the right of its direction) by ``offset`` degrees."""
    L = links.loc[np.asarray(mask, bool)]
    lon, lat, text = [], [], []
    for row in L.itertuples(index=False):
        d = row._asdict()
        k = _km_per_deg_lon((d["lat0"] + d["lat1"]) / 2) / KM_PER_DEG_LAT  # degrees of lon are shorter
        dx, dy = (d["lon1"] - d["lon0"]) * k, d["lat1"] - d["lat0"]
        n = float(np.hypot(dx, dy)) or 1.0
        ox, oy = dy / n * offset / k, -dx / n * offset
        tip = str(d.get("link_id", ""))
        lon += [d["lon0"] + ox, d["lon1"] + ox, None]
        lat += [d["lat0"] + oy, d["lat1"] + oy, None]
        text += [tip, tip, None]
    return lon, lat, text


def _od_traces(od: Sequence[tuple[float, float, str, str]]) -> list[go.Scattermap]:
    """Origins (green) and destinations (red), each over a dark halo so they stand out from the routes."""
    out = []
    for role, color in (("origin", ORIGIN_COLOR), ("destination", DESTINATION_COLOR)):
        pts = [p for p in od if p[3] == role]
        if not pts:
            continue
        lon, lat, names = [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]
        out.append(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": 24, "color": "#111827"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        out.append(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": 18 if role == "origin" else 15, "color": color},
                name="Origin" if role == "origin" else "Destination",
                text=names,
                hovertemplate=f"{role} %{{text}}<extra></extra>",
                meta={"role": role},
            )
        )
    return out


def route_map(
    links: pd.DataFrame,
    routes: Mapping[str, np.ndarray],
    travel_times: Mapping[str, float],
    unit: str = "min",
    sensors: pd.DataFrame | None = None,
    od: Sequence[tuple[float, float, str, str]] = (),
    time_label: str = "",
    sensor_values: np.ndarray | None = None,
    value_label: str = "",
    street: bool = False,
    height: int = 680,
    geometry: Sequence | None = None,
) -> go.Figure:
    """Routes chosen by each method (link masks over ``links``) with their realised travel times.

    ``routes`` maps method key (incl. ``"hindsight"``) -> boolean/flow array over the rows of
    ``links``; ``od`` lists ``(lon, lat, name, role)`` with role ``"origin"`` or ``"destination"``.
    Routes are drawn side by side where they share links; ``sensor_values`` (one per row of
    ``sensors``, e.g. the true pace at this time) colours the sensors with robust limits.
    ``geometry`` (one WGS84 LineString per row of ``links``, which then has ``from_id``/``to_id``)
    draws a road network's links and the routes along them instead of straight segments.
    """
    fig = go.Figure()
    base = _links_trace(links) if geometry is None else road_trace(geometry, links)
    fig.add_trace(base)
    all_lon, all_lat = finite(base.lon), finite(base.lat)
    b = _bounds(all_lat, all_lon)
    step = ROUTE_OFFSET * max(b[2] - b[0], b[3] - b[1], 1e-3)
    if sensors is not None and len(sensors):
        marker: dict = {"size": 6, "color": SENSOR_COLOR}
        if sensor_values is not None:
            lo, hi = robust_limits(sensor_values)
            marker = {
                "size": 8, "color": np.asarray(sensor_values, float), "colorscale": "YlOrRd", "cmin": lo, "cmax": hi,
                "colorbar": {"title": {"text": value_label}, "len": 0.6, "y": 0.7},
            }  # fmt: skip
        vals = np.full(len(sensors), np.nan) if sensor_values is None else np.asarray(sensor_values, float)
        fig.add_trace(
            go.Scattermap(
                lon=sensors["lon"],
                lat=sensors["lat"],
                mode="markers",
                marker=marker,
                name="Sensors" + (f" ({value_label})" if sensor_values is not None else ""),
                customdata=np.column_stack([sensors["sensor_id"].astype(str), vals]),
                hovertemplate="sensor %{customdata[0]}"
                + (f"<br>{value_label} %{{customdata[1]:.2f}}" if sensor_values is not None else "")
                + "<extra></extra>",
            )
        )
    # Hindsight first (the wide band underneath), then each method beside it.
    for name in [m for m in ("hindsight", "two_stage", "dfl", "dff") if m in routes]:
        width, side = ROUTE_STYLE[name]
        mask = np.asarray(routes[name]) > 1e-9
        if geometry is None:
            rlon, rlat, rtext = offset_segments(links, mask, side * step)
        else:
            rlon, rlat, which = line_coords(geometry, np.flatnonzero(mask), side * step)
            rtext = np.where(which >= 0, link_names(links)[np.maximum(which, 0)], "")
        tt = travel_times.get(name)
        tt_txt = f"{tt:.1f} {unit}" if tt is not None else "n/a"
        fig.add_trace(
            go.Scattermap(
                lon=rlon,
                lat=rlat,
                mode="lines",
                line={"color": COLORS[name], "width": width},
                opacity=0.3 if name == "hindsight" else 0.95,
                name=f"{label(name)}: {tt_txt}",
                text=rtext,
                hovertemplate=f"{label(name)} route<br>link %{{text}}<br>realised {tt_txt} {time_label}<extra></extra>",
                meta={"method": name},
            )
        )
    for tr in _od_traces(od):
        fig.add_trace(tr)
    fig.add_trace(_scale_trace(all_lon, all_lat))
    title = "Routes and realised travel times" + (f" at {time_label}" if time_label else "")
    return _finish_map(fig, all_lon, all_lat, title, height=height, street=street)


# ----------------------------------------------------------------------------- allocation
def allocation_map(
    sensors: pd.DataFrame,
    units: np.ndarray,
    realised: np.ndarray,
    method: str,
    unit: str = "value units",
    links: pd.DataFrame | None = None,
    limits: tuple[float, float] | None = None,
    street: bool = False,
    height: int = 460,
) -> go.Figure:
    """Units one method allocated, as sized markers at the sensors, coloured by the realised value per unit.

    ``sensors`` (``sensor_id, lat, lon``) has one row per item, aligned with ``units`` and ``realised``
    (the true value per unit at this time). Every site is drawn small in its colour, so missed high-value
    sites show; allocated sites are large (size grows with the units) over a dark ring. ``limits`` fixes the
    colour scale (to compare methods side by side); by default the 2nd-98th percentiles of ``realised``.
    """
    units = np.asarray(units, float)
    realised = np.asarray(realised, float)
    lo, hi = limits if limits is not None else robust_limits(realised)
    ids = sensors["sensor_id"].astype(str).to_numpy()
    fig = go.Figure()
    lon_all, lat_all = list(sensors["lon"]), list(sensors["lat"])
    if links is not None and len(links):
        base = _links_trace(links)
        fig.add_trace(base)
    color = {"colorscale": "YlOrRd", "cmin": lo, "cmax": hi}
    fig.add_trace(
        go.Scattermap(
            lon=sensors["lon"],
            lat=sensors["lat"],
            mode="markers",
            marker={"size": 7, "color": realised, **color, "colorbar": {"title": {"text": f"Realised ({unit})"}}},
            name="Sites (colour: realised value per unit)",
            customdata=np.column_stack([ids, realised]),
            hovertemplate=f"%{{customdata[0]}}<br>realised %{{customdata[1]:.2f}} {unit} per unit<extra></extra>",
        )
    )
    got = units > 1e-9
    top = max(float(units.max(initial=0.0)), 1e-9)
    size = 14 + 16 * units[got] / top
    fig.add_trace(
        go.Scattermap(
            lon=sensors["lon"][got],
            lat=sensors["lat"][got],
            mode="markers",
            marker={"size": size + 5, "color": "#111827"},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scattermap(
            lon=sensors["lon"][got],
            lat=sensors["lat"][got],
            mode="markers",
            marker={"size": size, "color": realised[got], **color},
            name=f"{label(method)}: units (marker size)",
            customdata=np.column_stack([ids[got], units[got], realised[got]]),
            hovertemplate=(
                f"%{{customdata[0]}}<br>{label(method)}: %{{customdata[1]:.2f}} units<br>"
                f"realised %{{customdata[2]:.2f}} {unit} per unit<extra></extra>"
            ),
            meta={"method": method},
        )
    )
    lon_a, lat_a = np.asarray(lon_all, float), np.asarray(lat_all, float)
    fig.add_trace(_scale_trace(lon_a, lat_a))
    total = float(realised @ units)
    title = f"{label(method)}: {units.sum():g} units at {int(got.sum())} sites, realised {total:.2f} {unit}"
    width = MAP_WIDTH_PX if height >= 600 else NARROW_MAP_WIDTH_PX  # small maps are drawn two abreast
    return _finish_map(fig, lon_a, lat_a, title, height=height, street=street, width_px=width)

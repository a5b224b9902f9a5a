"""Road link drawings as map coordinates: many polylines as one gap-separated line (one trace, any size).

A road network of tens of thousands of links is drawn as a single line trace: every link's
vertices, then a gap (NaN), then the next link. Building that is vectorised (shapely's
coordinate export, numpy scatter), so a 40,000-link network takes tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from shapely import get_coordinates

#: Decimal places kept for map coordinates (1e-6 degree is about 0.1 m). The arrays are float32 (steps
#: below 1 m anywhere on the globe): half the bytes sent to the browser, the same picture.
DIGITS = 6
#: Above this many links the network layer has no hover text (it would multiply the figure's size).
HOVER_MAX_LINKS = 5000
ROAD_COLOR = "#9CA3AF"


def line_coords(
    geometry: Sequence, rows: Sequence[int] | np.ndarray | None = None, offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lon, lat, which)``: the links ``rows`` of ``geometry`` (WGS84 LineStrings; all when ``None``) as
    gap-separated coordinate arrays (NaN between links: plotly breaks the line there, like ``None``), and
    per entry the link's row (``-1`` at the gaps).

    Numbers rather than lists with ``None``: plotly checks a list element by element (about 1 s for
    Chicago Sketch's 2,950 links) and an array at once, and sends it to the browser as a compact
    binary array.

    ``offset`` (degrees of latitude) shifts each link sideways, to the right of its direction from its
    first to its last point, so routes sharing a link can be drawn side by side.
    """
    geoms = np.asarray(geometry, dtype=object)
    rows = np.arange(len(geoms)) if rows is None else np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    xy, idx = get_coordinates(geoms[rows], return_index=True)
    if offset:
        first = np.searchsorted(idx, np.arange(len(rows)), side="left")
        last = np.searchsorted(idx, np.arange(len(rows)), side="right") - 1
        a, b = xy[first], xy[last]
        k = np.maximum(np.cos(np.radians((a[:, 1] + b[:, 1]) / 2)), 1e-6)  # degrees of longitude are shorter
        dx, dy = (b[:, 0] - a[:, 0]) * k, b[:, 1] - a[:, 1]
        n = np.hypot(dx, dy)
        n[n == 0] = 1.0
        xy = xy + np.column_stack([dy / n * offset / k, -dx / n * offset])[idx]
    size = len(xy) + len(rows)
    pos = np.arange(len(xy)) + idx  # line j's points move right by the j gaps before them
    lon = np.full(size, np.nan, dtype=np.float32)
    lat = np.full(size, np.nan, dtype=np.float32)
    lon[pos] = np.round(xy[:, 0], DIGITS)
    lat[pos] = np.round(xy[:, 1], DIGITS)
    which = np.full(size, -1, dtype=np.int64)
    which[pos] = rows[idx]
    return lon, lat, which


def finite(values: Sequence | np.ndarray) -> np.ndarray:
    """The numbers of a gap-separated coordinate list or array (``None`` and NaN left out)."""
    arr = np.asarray([np.nan if v is None else v for v in values] if isinstance(values, (list, tuple)) else values,
                     dtype=float)  # fmt: skip
    return arr[np.isfinite(arr)]


def link_names(links: pd.DataFrame) -> np.ndarray:
    """``"from → to"`` per link row (a network's ``from_id``/``to_id``)."""
    return (links["from_id"].astype(str) + " → " + links["to_id"].astype(str)).to_numpy(dtype=object)


def road_trace(geometry: Sequence, links: pd.DataFrame | None = None, name: str | None = None) -> go.Scattermap:
    """Every link of a road network as one thin grey line (hover names the link on small networks)."""
    lon, lat, which = line_coords(geometry)
    hover = links is not None and len(geometry) <= HOVER_MAX_LINKS
    text = None
    if hover:
        names = link_names(links)
        text = np.where(which >= 0, names[np.maximum(which, 0)], "")
    return go.Scattermap(
        lon=lon,
        lat=lat,
        mode="lines",
        line={"color": ROAD_COLOR, "width": 1},
        name=name or f"Road links ({len(geometry):,})",
        text=text,
        hovertemplate="link %{text}<extra></extra>" if hover else None,
        hoverinfo=None if hover else "skip",
        meta={"links": len(geometry)},
    )

"""Maps of sensors, links and routes (offline layers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import figures as F


def _by_method(fig: go.Figure) -> dict[str, go.BaseTraceType]:
    return {t.meta["method"]: t for t in fig.data if isinstance(t.meta, dict) and "method" in t.meta}


SENSORS = pd.DataFrame({"sensor_id": ["a", "b", "c"], "lat": [34.0, 34.1, 34.2], "lon": [-118.3, -118.2, -118.1]})
LINKS = pd.DataFrame(
    {
        "link_id": ["l0", "l1"],
        "lon0": [-118.3, -118.2],
        "lat0": [34.0, 34.1],
        "lon1": [-118.2, -118.1],
        "lat1": [34.1, 34.2],
    }
)


def test_sensor_map_offline_style_and_layers():
    fig = F.sensor_map(SENSORS, LINKS, selected=["b"])
    assert all(isinstance(t, go.Scattermap) for t in fig.data)
    assert fig.layout.map.style == "white-bg"
    assert fig.layout.map.layers[0].sourcetype == "geojson"
    links, sensors, sel = fig.data
    assert list(links.lon) == [-118.3, -118.2, None, -118.2, -118.1, None]
    assert list(sensors.customdata[:, 0]) == ["a", "b", "c"]
    assert list(sel.text) == ["b"]
    assert 34.0 < fig.layout.map.center.lat < 34.2


def test_route_map_draws_each_method_with_travel_time():
    routes = {"two_stage": np.array([1, 0]), "dff": np.array([0, 1]), "hindsight": np.array([0, 1])}
    fig = F.route_map(LINKS, routes, {"two_stage": 12.0, "dff": 9.5, "hindsight": 9.5}, unit="min", sensors=SENSORS)
    tr = _by_method(fig)
    assert set(tr) == {"two_stage", "dff", "hindsight"}
    assert tr["dff"].line.color == F.COLORS["dff"]
    assert "9.5 min" in tr["dff"].name and "12.0 min" in tr["two_stage"].name
    assert list(tr["two_stage"].lon) == [-118.3, -118.2, None]
    assert fig.layout.map.style == "white-bg"

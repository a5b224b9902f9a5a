"""The road network map: links, sensors on them, each sensor's link highlighted, unmatched sensors apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from shapely import LineString

from dashboard import figures as F

GEOMS = [LineString([(5.0 + k / 100, 52.0), (5.01 + k / 100, 52.0)]) for k in range(4)]
LINKS = pd.DataFrame({"from_id": ["1", "2", "3", "4"], "to_id": ["2", "3", "4", "5"]})
SENSORS = pd.DataFrame(
    {"sensor_id": ["s1", "s2", "far"], "lat": [52.0, 52.0, 53.0], "lon": [5.005, 5.025, 5.0], "mean_value": [40, 50, 9]}
)
MATCHES = pd.DataFrame({"sensor_id": ["s1", "s2"], "link": [0, 2], "distance_m": [3.0, 7.5]})


def _role(fig, role):
    return next(t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == role)


def test_network_map_draws_links_matches_and_unmatched_sensors_offline():
    fig = F.network_map(GEOMS, LINKS, SENSORS, MATCHES, value="mean_value", max_distance_m=200)
    assert isinstance(fig.data[0], go.Scatter) and fig.layout.yaxis.scaleanchor == "x"  # offline plane map
    roads, held = fig.data[0], fig.data[1]
    assert roads.meta["links"] == 4 and np.isnan(np.asarray(roads.x, float)).sum() == 4
    assert held.meta["links"] == 2 and sorted(set(held.text) - {""}) == ["1 → 2", "3 → 4"]
    on = _role(fig, "matched")
    assert [row[0] for row in on.customdata] == ["s1", "s2"] and on.customdata[1][1] == "3 → 4"
    assert float(on.customdata[1][2]) == 7.5
    off = _role(fig, "unmatched")
    assert list(off.text) == ["far"] and "200 m" in off.name
    assert any(isinstance(t.meta, dict) and "scale_km" in t.meta for t in fig.data)


def test_route_map_follows_the_link_drawings():
    bent = [LineString([(5.0, 52.0), (5.005, 52.003), (5.01, 52.0)]), *GEOMS[1:]]
    route = np.array([1, 1, 0, 0], float)
    fig = F.route_map(LINKS, {"hindsight": route, "dff": route}, {"hindsight": 2.0, "dff": 2.0}, geometry=bent)
    hind = next(t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("method") == "hindsight")
    lat = np.asarray(hind.y, float)  # offline plane map: latitude on y
    assert np.nanmax(lat) > 52.002  # the bend of the first link, not a straight segment
    assert np.isnan(lat).sum() == 2  # two links

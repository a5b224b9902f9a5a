"""Maps of sensors, links and routes (offline plane maps; street tiles on request)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

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


def _offline(fig: go.Figure) -> bool:
    """An offline map: SVG traces only (no tiles, no WebGL), drawn at the study area's true aspect ratio."""
    return all(isinstance(t, go.Scatter) for t in fig.data) and fig.layout.yaxis.scaleanchor == "x"


def test_sensor_map_offline_style_and_layers():
    fig = F.sensor_map(SENSORS, LINKS, selected=["b"])
    assert _offline(fig) and not fig.layout.map.style
    # One degree of latitude is 1/cos(lat) times as long as one of longitude, as on a map of the area.
    assert fig.layout.yaxis.scaleratio == pytest.approx(1 / np.cos(np.radians(34.1)))
    assert fig.layout.shapes[0].type == "rect"  # the shaded study area, under the traces
    links, sensors, sel, scale = fig.data
    assert scale.meta["scale_km"] > 0
    assert "km" in scale.name
    assert [a.text for a in fig.layout.annotations] == [f"{scale.meta['scale_km']:g} km"]  # labelled on the map
    assert _no_map_text(fig)
    assert list(links.x) == [-118.3, -118.2, None, -118.2, -118.1, None]
    assert list(links.y) == [34.0, 34.1, None, 34.1, 34.2, None]
    assert list(sensors.customdata[:, 0]) == ["a", "b", "c"]
    assert "%{y:.4f}" in sensors.hovertemplate and "%{lat" not in sensors.hovertemplate
    assert list(sel.text) == ["b"]
    lo, hi = fig.layout.yaxis.range
    assert lo < 34.0 and hi > 34.2  # the whole study area is in view


def _no_map_text(fig: go.Figure) -> bool:
    """Map text needs font glyphs from the internet: offline maps (and image export) must not draw any."""
    return all("text" not in (t.mode or "") for t in fig.data)


def _meta(fig: go.Figure, key: str, value) -> list:
    return [t for t in fig.data if isinstance(t.meta, dict) and t.meta.get(key) == value]


def test_sensor_map_robust_colour_limits_ignore_an_outlier():
    s = pd.concat([SENSORS] * 20, ignore_index=True).assign(v=np.r_[np.linspace(1, 2, 59), 1000.0])
    marker = F.sensor_map(s, value="v").data[0].marker
    assert marker.colorbar.title.text == "v"
    assert 1.0 <= marker.cmin < marker.cmax < 3.0  # the 1000 outlier does not flatten the scale


def test_robust_limits_percentiles_and_constant_input():
    assert F.robust_limits(np.r_[np.arange(100.0), np.nan]) == pytest.approx(
        (np.percentile(np.arange(100.0), 2), np.percentile(np.arange(100.0), 98))
    )
    lo, hi = F.robust_limits([5.0, 5.0])
    assert lo < 5.0 < hi
    assert F.robust_limits([]) == (0.0, 1.0)


def test_scale_bar_is_a_round_length_of_about_a_quarter_of_the_width():
    lon, lat, km = F.scale_bar(-118.5, 34.0, -118.0, 34.3)  # about 46 km wide
    assert km == 10
    length_km = (lon[1] - lon[0]) * 111.32 * np.cos(np.radians(34.15))
    assert length_km == pytest.approx(10, rel=1e-6)
    assert lat[0] < 34.0  # under the data, so it covers nothing


def test_route_map_draws_each_method_with_travel_time():
    routes = {"two_stage": np.array([1, 0]), "dff": np.array([0, 1]), "hindsight": np.array([0, 1])}
    fig = F.route_map(LINKS, routes, {"two_stage": 12.0, "dff": 9.5, "hindsight": 9.5}, unit="min", sensors=SENSORS)
    tr = _by_method(fig)
    assert set(tr) == {"two_stage", "dff", "hindsight"}
    assert tr["dff"].line.color == F.COLORS["dff"]
    assert "9.5 min" in tr["dff"].name and "12.0 min" in tr["two_stage"].name
    assert tr["two_stage"].x[2] is None and len(tr["two_stage"].x) == 3  # one link drawn
    assert tr["two_stage"].x[0] == pytest.approx(-118.3, abs=0.01)
    assert _offline(fig)
    assert fig.layout.height >= 600
    assert _no_map_text(fig)
    assert _scale_km(fig) > 0


def _scale_km(fig: go.Figure) -> float:
    return next(t.meta["scale_km"] for t in fig.data if isinstance(t.meta, dict) and "scale_km" in t.meta)


def test_route_map_offsets_routes_that_share_a_link():
    both = np.array([1, 1])
    routes = {"two_stage": both, "dff": both, "hindsight": both}
    fig = F.route_map(LINKS, routes, {"two_stage": 9.0, "dff": 9.0, "hindsight": 9.0})
    tr = _by_method(fig)
    plain, dff, best = (
        np.asarray([v for v in tr[m].x if v is not None], float) for m in ("two_stage", "dff", "hindsight")
    )
    np.testing.assert_allclose(best, [-118.3, -118.2, -118.2, -118.1])  # hindsight in the middle
    assert not np.allclose(plain, dff)  # the same links, drawn side by side
    assert tr["hindsight"].line.width > tr["dff"].line.width


def test_route_map_origin_and_destination_distinct():
    od = [(-118.3, 34.0, "a", "origin"), (-118.1, 34.2, "c", "destination")]
    fig = F.route_map(LINKS, {"hindsight": np.array([1, 1])}, {"hindsight": 9.0}, od=od)
    o, d = _meta(fig, "role", "origin")[0], _meta(fig, "role", "destination")[0]
    assert o.marker.color != d.marker.color
    assert (o.name, d.name) == ("Origin", "Destination")
    assert list(o.text) == ["a"] and list(d.text) == ["c"]


def test_street_basemap_is_opt_in():
    assert _offline(F.route_map(LINKS, {}, {}))
    fig = F.route_map(LINKS, {}, {}, street=True)
    assert all(isinstance(t, go.Scattermap) for t in fig.data)
    assert fig.layout.map.style == "open-street-map" and not fig.layout.map.layers
    assert 34.0 < fig.layout.map.center.lat < 34.2


def test_allocation_map_sizes_by_units_and_colours_by_realised_value():
    fig = F.allocation_map(SENSORS, np.array([0, 2.0, 1.0]), np.array([3.0, 5.0, -1.0]), "dff", "calls",
                           limits=(0.0, 5.0))  # fmt: skip
    got = _by_method(fig)["dff"]
    assert list(got.customdata[:, 0]) == ["b", "c"]  # only sites that got units
    assert got.marker.size[0] > got.marker.size[1]  # 2 units larger than 1
    assert list(got.marker.color) == [5.0, -1.0]
    assert (got.marker.cmin, got.marker.cmax) == (0.0, 5.0)  # shared limits, to compare maps
    assert _no_map_text(fig)
    assert "3 units at 2 sites" in fig.layout.title.text and "realised 9.00 calls" in fig.layout.title.text
    assert _offline(fig)


def test_map_view_fits_the_study_area_snugly():
    box = (-118.5, 34.0, -118.0, 34.3)
    for w, h in ((900, 530), (440, 310), (900, 2000)):
        view = F.map_view(*box, width_px=w, height_px=h)
        px_per_deg = 512 * 2 ** view["zoom"] / 360  # MapLibre: 512 px tiles
        width = (box[2] - box[0]) * px_per_deg
        height = (box[3] - box[1]) * px_per_deg / np.cos(np.radians(34.15))
        assert width <= 0.8 * w + 1e-6 and height <= 0.8 * h + 1e-6  # it fits with its margin ...
        assert max(width / w, height / h) == pytest.approx(0.8)  # ... and fills the tighter side
        assert view["center"] == {"lat": pytest.approx(34.15), "lon": pytest.approx(-118.25)}

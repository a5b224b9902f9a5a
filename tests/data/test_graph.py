"""The inferred road graph: valid at any latitude and across the date line, refusing implausible links."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from dff_core.data import DataError
from dff_core.data.graph import (
    DETOUR_FACTOR,
    MAX_INFERRED_LINK_KM,
    haversine_km,
    knn_links,
    link_lines,
    n_components,
)


def sensors(points: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    ids = list(points)
    lat = [points[s][0] for s in ids]
    lon = [points[s][1] for s in ids]
    return gpd.GeoDataFrame(
        {"latitude": lat, "longitude": lon}, geometry=gpd.points_from_xy(lon, lat), index=ids, crs="EPSG:4326"
    )


def test_sensors_above_84_degrees(tmp_path) -> None:
    pts = {f"S{i}": (85.0 + 0.01 * (i % 3), 10.0 + 0.05 * (i // 3)) for i in range(9)}
    links, _ = knn_links(sensors(pts), k=2)
    assert n_components(list(pts), links) == 1
    assert links["length_km"].between(0.5, 10).all()


def test_neighbours_across_the_date_line() -> None:
    pts = {"W": (0.0, 179.99), "E": (0.0, -179.99), "far": (0.0, 179.8)}
    links, _ = knn_links(sensors(pts), k=1)
    we = links[(links.from_id == "W") & (links.to_id == "E")]
    assert len(we) == 1  # 2.2 km apart, although their longitudes differ by 360 degrees
    assert we["length_km"].iloc[0] == pytest.approx(DETOUR_FACTOR * haversine_km(0, 179.99, 0, -179.99))


def test_lengths_are_great_circle_times_detour() -> None:
    pts = {"A": (52.0, 5.0), "B": (52.0, 5.015), "C": (52.01, 5.0), "D": (52.01, 5.015)}
    links, added = knn_links(sensors(pts), k=3)
    assert added == 0 and len(links) == 12
    la = {s: p[0] for s, p in pts.items()}
    lo = {s: p[1] for s, p in pts.items()}
    expected = DETOUR_FACTOR * haversine_km(
        links.from_id.map(la), links.from_id.map(lo), links.to_id.map(la), links.to_id.map(lo)
    )
    np.testing.assert_allclose(links["length_km"], expected)


def test_sensors_on_different_continents_are_refused() -> None:
    pts = {"LA1": (34.0, -118.2), "LA2": (34.01, -118.2), "AMS1": (52.37, 4.9), "AMS2": (52.38, 4.9)}
    with pytest.raises(DataError) as exc:
        knn_links(sensors(pts), k=1)
    msg = str(exc.value)
    assert "km link from" in msg and f"{MAX_INFERRED_LINK_KM:g} km" in msg and "links file" in msg
    assert "10,7" in msg or "10,8" in msg  # Los Angeles - Amsterdam is about 8,950 km, x 1.2


def test_the_limit_is_an_option() -> None:
    pts = {"A": (52.0, 5.0), "B": (52.1, 5.0)}  # 11.1 km x 1.2
    knn_links(sensors(pts), k=1)
    with pytest.raises(DataError, match="longer than the 10 km allowed"):
        knn_links(sensors(pts), k=1, max_km=10)


def test_link_lines_gives_one_line_per_link_in_every_layout() -> None:
    ends = np.array([[[0.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 2.0]]])  # (links, points, 2)
    assert [list(g.coords) for g in link_lines(ends)] == [[(0, 0), (1, 0)], [(1, 0), (1, 2)]]
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [5.0, 5.0], [6.0, 5.0]])
    lines = link_lines(points, indices=np.array([0, 0, 0, 1, 1]))  # drawn links of 3 and 2 points
    assert [len(g.coords) for g in lines] == [3, 2]
    assert len(link_lines(ends[0])) == 1  # a lone (points, 2) array is one link, still in a list

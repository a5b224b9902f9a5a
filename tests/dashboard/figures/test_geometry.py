"""Road links as one gap-separated line: every link once, its points in order, sideways offsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from shapely import LineString

from dashboard.figures.geometry import HOVER_MAX_LINKS, line_coords, road_trace

GEOMS = [
    LineString([(5.0, 52.0), (5.01, 52.0)]),  # eastward
    LineString([(5.0, 52.0), (5.0, 52.005), (5.0, 52.01)]),  # northward, three points
    LineString([(5.01, 52.01), (5.0, 52.01)]),  # westward
]
LINKS = pd.DataFrame({"from_id": ["a", "a", "c"], "to_id": ["b", "c", "d"]})


def test_links_are_separated_by_gaps_and_keep_their_points():
    lon, lat, which = line_coords(GEOMS)
    assert len(lon) == 2 + 3 + 2 + 3  # points plus one gap after each link
    gaps = np.flatnonzero(np.isnan(lon))
    assert gaps.tolist() == [2, 6, 9] and (which[gaps] == -1).all()
    assert which[~np.isnan(lon)].tolist() == [0, 0, 1, 1, 1, 2, 2]
    np.testing.assert_allclose(lat[3:6], [52.0, 52.005, 52.01], atol=1e-5)


def test_a_subset_of_links_and_an_offset_to_the_right_of_travel():
    _, lat, which = line_coords(GEOMS, [0, 2], offset=0.001)
    assert set(which[which >= 0]) == {0, 2}
    east = lat[which == 0]
    west = lat[which == 2]
    np.testing.assert_allclose(east, 52.0 - 0.001, atol=1e-5)  # right of eastward travel is south
    np.testing.assert_allclose(west, 52.01 + 0.001, atol=1e-5)  # right of westward travel is north
    empty = line_coords(GEOMS, [])
    assert all(len(a) == 0 for a in empty)


def test_the_road_layer_names_links_on_hover_only_for_small_networks():
    small = road_trace(GEOMS, LINKS)
    assert small.hoverinfo is None and small.text[0] == "a → b" and small.meta["links"] == 3
    many = [GEOMS[0]] * (HOVER_MAX_LINKS + 1)
    big = road_trace(many, pd.concat([LINKS.iloc[:1]] * len(many), ignore_index=True))
    assert big.hoverinfo == "skip" and big.text is None
    assert big.lon.dtype == np.float32  # compact on the wire

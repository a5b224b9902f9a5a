"""dff_core.data.links: links checked against the sensors, lengths estimated where missing."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from dff_core.data.graph import DETOUR_FACTOR
from dff_core.data.io import read_table
from dff_core.data.links import infer_links, parse_links
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.data.sensors import Sensors
from tests.data.conftest import to_csv


def sensors(listed: set[str] | None = None) -> Sensors:
    lat = np.array([52.0, 52.0, 52.01])
    lon = np.array([5.0, 5.015, 5.0])
    frame = gpd.GeoDataFrame(
        {"latitude": lat, "longitude": lon, "name": ["A", "B", "C"]},
        index=pd.Index(["A", "B", "C"], name="sensor_id"),
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    return Sensors(frame, listed or {"A", "B", "C"})


def parse(rows: list[list], known: Sensors, header=("from_id", "to_id", "length_km")):
    report = ValidationReport()
    issues = IssueCollector(report)
    table = read_table(to_csv(list(header), rows), "l.csv", issues)
    return parse_links(table, known, issues, report), report


def test_links_to_dropped_sensors_go_unknown_ones_are_errors():
    links, report = parse([["A", "B", 1.0], ["B", "X", 1.0]], sensors({"A", "B", "C", "X"}))
    assert links is not None and links[["from_id", "to_id"]].values.tolist() == [["A", "B"]]
    assert report.dropped_links == 1 and "dropped" in report.warnings[0].message
    links, report = parse([["A", "B", 1.0], ["B", "Y", 1.0]], sensors())
    assert links is None and report.errors[0].row == 3 and report.errors[0].column == "to_id"


def test_missing_lengths_are_straight_line_times_detour():
    links, report = parse([["A", "B", ""], ["A", "C", "2.5"]], sensors())
    assert links is not None and links.loc[1, "length_km"] == 2.5
    # 0.015 degrees of longitude at 52 N
    straight = 0.015 * np.pi / 180 * 6371.0088 * np.cos(np.radians(52.0))
    assert links.loc[0, "length_km"] == pytest.approx(DETOUR_FACTOR * straight, rel=1e-6)
    assert any("estimated" in m for m in report.info)


def test_bad_lengths_and_capacities_are_named():
    rows = [["A", "B", "x", "900"], ["B", "A", "-1", "0"]]
    links, report = parse(rows, sensors(), header=("from_id", "to_id", "length_km", "capacity"))
    assert links is None
    found = {(e.row, e.column, e.message) for e in report.errors}
    assert found == {
        (2, "length_km", "'x' is not a number."),
        (3, "length_km", "length -1 km must be positive."),
        (3, "capacity", "capacity 0 must be positive."),
    }


def test_inferred_graph_is_noted():
    report = ValidationReport()
    links = infer_links(sensors(), 1, report)
    assert len(links) >= 4 and "1-nearest-neighbour" in report.info[0]


def test_lengths_in_metres_are_converted() -> None:
    links, report = parse([["A", "B", 1200.0], ["B", "C", 900.0]], sensors(), header=("from_id", "to_id", "length_m"))
    np.testing.assert_allclose(links["length_km"], [1.2, 0.9])
    assert any("metres" in m for m in report.info)


def test_unitless_lengths_that_look_like_metres_are_read_as_metres_with_a_warning() -> None:
    links, report = parse([["A", "B", 1230.0], ["B", "C", 1560.0]], sensors(), header=("from_id", "to_id", "length"))
    np.testing.assert_allclose(links["length_km"], [1.23, 1.56])
    assert any("read as metres" in w.message for w in report.warnings)


def test_km_lengths_that_look_like_metres_are_an_error_saying_so() -> None:
    links, report = parse([["A", "B", 1230.0], ["B", "C", 1560.0]], sensors())
    assert links is None and "look like metres" in report.errors[0].message and "length_m" in report.errors[0].message


def test_lanes_and_free_flow_speed_are_kept_when_given() -> None:
    header = ("from_id", "to_id", "length_km", "lanes", "speed_limit")
    links, _ = parse([["A", "B", 1.2, 2, 50], ["B", "C", 1.0, "", 30]], sensors(), header=header)
    assert links["lanes"].tolist()[0] == 2.0 and np.isnan(links["lanes"].tolist()[1])
    assert links["free_flow_kmh"].tolist() == [50.0, 30.0]
    plain, _ = parse([["A", "B", 1.2]], sensors())
    assert "lanes" not in plain.columns and "free_flow_kmh" not in plain.columns

"""dff_core.data.sensors: ids and coordinates, and which sensors other files may still name."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from dff_core.data.crs import check_crs
from dff_core.data.io import read_table
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.data.sensors import parse_sensors, read_sensor_rows
from tests.data.conftest import to_csv


def parse(rows: list[list], header=("sensor_id", "latitude", "longitude")):
    report = ValidationReport()
    issues = IssueCollector(report)
    table = read_table(to_csv(list(header), rows), "s.csv", issues)
    sensor_rows = read_sensor_rows(table, issues)
    assert sensor_rows is not None
    return parse_sensors(sensor_rows, "s.csv", issues, report), report


def test_a_sensor_with_bad_coordinates_is_dropped_but_stays_listed():
    rows = [[f"S{i}", 52.0 + i / 100, 5.0] for i in range(9)] + [["X", 0, 0]]
    sensors, report = parse(rows)
    assert sensors is not None and "X" not in sensors.frame.index and "X" in sensors.listed
    assert report.dropped_sensors == ["X"] and report.warnings[0].row == 11
    assert list(sensors.frame.columns) == ["latitude", "longitude", "name", "geometry"]
    assert sensors.frame.loc["S3", "name"] == "S3"  # no name column: the id


def test_ids_from_spreadsheets_and_aliases_are_normalised():
    sensors, report = parse([["717.0", 52.0, 5.0], ["718", 52.1, 5.1]], header=("id", "lat", "lon"))
    assert sensors is not None and list(sensors.frame.index) == ["717", "718"]
    assert {w.column for w in report.warnings} == {"id", "lat", "lon"}  # read as the canonical columns


def test_repeated_ids_are_errors_naming_both_lines():
    sensors, report = parse([["A", 52.0, 5.0], ["B", 52.1, 5.1], ["A", 52.2, 5.2]])
    assert sensors is None and report.errors[0].row == 4 and "line 2" in report.errors[0].message


UTM31 = "EPSG:32631"  # UTM zone 31N, where the test sensors (52 N, 5 E) lie


def _utm_rows() -> tuple[list[list], list[tuple[float, float]]]:
    to_utm = Transformer.from_crs("EPSG:4326", UTM31, always_xy=True)
    degrees = [(52.0 + i / 100, 5.0 + i / 200) for i in range(6)]
    rows = [[f"S{i}", *(round(v, 2) for v in to_utm.transform(lon, lat))] for i, (lat, lon) in enumerate(degrees)]
    return rows, degrees


def test_projected_x_y_with_crs_become_degrees() -> None:
    rows, degrees = _utm_rows()
    report = ValidationReport()
    issues = IssueCollector(report)
    table = read_table(to_csv(["sensor_id", "x", "y"], rows), "s.csv", issues)
    sensors = parse_sensors(read_sensor_rows(table, issues), "s.csv", issues, report, crs=UTM31)
    assert sensors is not None and not report.errors
    np.testing.assert_allclose(sensors.frame["latitude"], [d[0] for d in degrees], atol=1e-6)
    np.testing.assert_allclose(sensors.frame["longitude"], [d[1] for d in degrees], atol=1e-6)
    assert any(UTM31 in m for m in report.info) and report.quality()["crs"] == UTM31


def test_projected_coordinates_without_crs_are_an_error_that_suggests_it() -> None:
    rows, _ = _utm_rows()
    sensors, report = parse(rows, header=("sensor_id", "x", "y"))
    assert sensors is None and not report.dropped_sensors  # nothing dropped silently
    summary = report.errors[0]
    assert summary.row is None and "projected" in summary.message and "crs=" in summary.message
    assert "--crs EPSG:" in summary.message
    assert {e.row for e in report.errors[1:]} == set(range(2, 8)) and all("'S" in e.message for e in report.errors[1:])


def test_x_y_in_degrees_without_crs_are_read_as_longitude_latitude() -> None:
    sensors, report = parse([["A", 5.0, 52.0], ["B", 5.1, 52.1]], header=("sensor_id", "x", "y"))
    assert sensors is not None and sensors.frame.loc["A", "latitude"] == 52.0
    assert any("read as longitude/latitude" in w.message for w in report.warnings)


def test_a_crs_that_misses_the_data_is_an_error_naming_the_sensors() -> None:
    rows, _ = _utm_rows()
    _, report = parse_with_crs(rows, "EPSG:4326")
    assert any("outside the globe" in e.message for e in report.errors)


def test_bad_crs_names_the_argument() -> None:
    with pytest.raises(ValueError, match="crs='EPSG:999999'"):
        check_crs("EPSG:999999")


def parse_with_crs(rows: list[list], crs: str):
    report = ValidationReport()
    issues = IssueCollector(report)
    table = read_table(to_csv(["sensor_id", "x", "y"], rows), "s.csv", issues)
    return parse_sensors(read_sensor_rows(table, issues), "s.csv", issues, report, crs=crs), report

"""dff_core.data.sensors: ids and coordinates, and which sensors other files may still name."""

from __future__ import annotations

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

"""dff_core.data.readings: layout detection and the long shape every layout is brought into."""

from __future__ import annotations

import pandas as pd
import pytest

from dff_core.data.io import read_table
from dff_core.data.readings import detect_layout, to_long
from dff_core.data.report import IssueCollector, ValidationReport
from tests.data.conftest import to_csv


def table(header: list[str], rows: list[list]):
    issues = IssueCollector(ValidationReport())
    t = read_table(to_csv(header, rows), "r.csv", issues)
    assert t is not None and not issues.has_errors()
    return t


@pytest.mark.parametrize(
    ("header", "row", "known", "start", "layout"),
    [
        (["timestamp", "sensor_id", "value"], ["2025-01-06 00:00", "A", 50], None, None, "long"),
        (["time", "detector", "speed"], ["2025-01-06 00:00", "A", 50], None, None, "long"),
        (["timestamp", "A", "B", "C"], ["2025-01-06 00:00", 1, 2, 3], None, None, "wide"),
        (["timestamp", "A", "B"], ["2025-01-06 00:00", 1, 2], {"A", "B"}, None, "wide"),
        (["A", "B", "C", "D"], [1, 2, 3, 4], None, "2012-03-01", "wide_nots"),
        (["A", "B", "C", "D"], [1, 2, 3, 4], None, None, "wide_missing_ts"),
        (["717.0", "718.0"], [1, 2], {"717", "718"}, "2012-03-01", "wide_nots"),  # spreadsheet ids
    ],
)
def test_layouts(header, row, known, start, layout):
    assert detect_layout(table(header, [row]), known, start) == layout


def test_long_file_keeps_lines_columns_and_locations():
    rows = [["2025-01-06 00:00", "A", 50, 52.0, 5.0], ["2025-01-06 00:15", "A", 51, 52.0, 5.0]]
    rows += [["2025-01-06 00:00", "7.0", 40, 52.1, 5.1]]
    issues = IssueCollector(ValidationReport())
    long = to_long(table(["time", "sensor", "speed", "lat", "lon"], rows), "long", None, None, issues)
    assert long is not None and long.time_column == "time" and long.value_column == "speed"
    assert long.frame["line"].tolist() == [2, 3, 4] and set(long.frame["col"]) == {"speed"}
    assert long.first_line == {"A": 2, "7": 4}
    assert long.column_of("7") == "sensor"  # messages about a sensor point at the id column
    assert long.locations is not None and long.locations.frame["sensor_id"].tolist() == ["A", "7"]
    assert long.locations.columns["latitude"] == "lat"


def test_wide_file_names_each_sensors_column():
    rows = [["2025-01-06 00:00", 1, 2], ["2025-01-06 00:15", 3, 4]]
    long = to_long(table(["ts", "A", "7.0"], rows), "wide", None, None, IssueCollector(ValidationReport()))
    assert long is not None and long.time_column == "ts" and long.value_column is None
    assert long.frame["sensor"].tolist() == ["A", "A", "7", "7"] and long.frame["raw"].tolist() == ["1", "3", "2", "4"]
    assert long.column_of("7") == "7.0" and long.first_line == {"A": 1, "7": 1}
    assert long.locations is None and not long.generated_times


def test_rows_without_timestamps_are_dated_from_start_and_freq():
    t = table(["A", "B"], [[1, 2], [3, 4], [5, 6]])
    issues = IssueCollector(ValidationReport())
    long = to_long(t, "wide_nots", pd.Timestamp("2012-03-01"), pd.Timedelta("5min"), issues)
    assert long is not None and long.generated_times and long.time_column == "timestamp"
    assert pd.to_datetime(long.frame["ts_raw"]).iloc[2] == pd.Timestamp("2012-03-01 00:10")
    assert to_long(t, "wide_nots", pd.Timestamp("2012-03-01"), None, issues) is None
    assert any("freq=" in i.message for i in issues.report.errors)

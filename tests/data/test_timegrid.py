"""dff_core.data.timegrid: values and timestamps onto a regular grid, then short gaps filled."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dff_core.data.readings import LongReadings
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.data.timegrid import fill_gaps, to_grid


def long_readings(times: list[str], values: list[str], sensor: str = "A") -> LongReadings:
    frame = pd.DataFrame(
        {"ts_raw": times, "sensor": sensor, "raw": values, "line": np.arange(2, len(times) + 2), "col": "value"}
    )
    return LongReadings(frame, time_column="timestamp", first_line={sensor: 2})


def run(readings: LongReadings, freq=None, value: str = "speed_kmh"):
    report = ValidationReport()
    issues = IssueCollector(report)
    return to_grid(readings, "r.csv", value, freq, issues, report), report


def test_grid_keeps_holes_as_missing():
    grid, report = run(long_readings(["2025-01-06 00:00", "2025-01-06 00:05", "2025-01-06 00:15"], ["1", "2", "4"]))
    assert grid is not None and report.ok and grid.step == pd.Timedelta("5min")
    assert grid.wide.index[-1] == pd.Timestamp("2025-01-06 00:15") and grid.wide.index.name == "timestamp"
    np.testing.assert_array_equal(grid.wide["A"].to_numpy(), [1.0, 2.0, np.nan, 4.0])


def test_coarser_freq_averages_and_finer_is_refused():
    times = [f"2025-01-06 00:{m:02d}" for m in range(0, 20, 5)]
    grid, report = run(long_readings(times, ["1", "3", "5", "7"]), freq=pd.Timedelta("10min"))
    assert grid is not None and grid.wide["A"].tolist() == [2.0, 6.0]
    assert any("averaged" in m for m in report.info)
    grid, report = run(long_readings(times, ["1", "3", "5", "7"]), freq=pd.Timedelta("1min"))
    assert grid is None and "invent" in report.errors[0].message and "5 min" in report.errors[0].message


def test_off_grid_timestamp_is_named_with_its_line():
    times = ["2025-01-06 00:00", "2025-01-06 00:05", "2025-01-06 00:07", "2025-01-06 00:10", "2025-01-06 00:15"]
    grid, report = run(long_readings(times, ["1", "2", "3", "4", "5"]))
    assert grid is None and len(report.errors) == 1
    err = report.errors[0]
    assert err.row == 4 and err.column == "timestamp" and "00:07" in err.message and "2 min after" in err.message


def test_a_few_impossible_speeds_become_missing():
    times = [str(pd.Timestamp("2025-01-06") + k * pd.Timedelta("5min")) for k in range(200)]
    values = ["50"] * 200
    values[7] = "900"
    grid, report = run(long_readings(times, values))
    assert grid is not None and np.isnan(grid.wide["A"].iloc[7]) and report.warnings[0].row == 9


def test_fill_gaps_interpolates_short_runs_and_drops_long_ones():
    index = pd.date_range("2025-01-06", periods=100, freq="15min", name="timestamp")
    a = np.arange(100.0)
    a[[5, 6]] = np.nan  # short gap: interpolated
    b = np.full(100, 30.0)
    b[20:26] = np.nan  # long gap (but only 6% of the steps): its time steps go
    wide = pd.DataFrame({"A": a, "B": b}, index=index)
    report = ValidationReport()
    issues = IssueCollector(report)
    out = fill_gaps(wide, 3, "r.csv", pd.Timedelta("15min"), issues, report)
    assert out.loc[index[5], "A"] == 5.0 and out.loc[index[6], "A"] == 6.0 and report.filled_values == 2
    assert len(out) == 94 and list(out.columns) == ["A", "B"] and report.dropped_timestamps == 6
    assert not out.isna().any().any()
    assert "15 min each" in report.warnings[0].message and str(index[20]) in report.warnings[0].message


def test_one_wrong_year_does_not_build_a_grid_of_decades():
    times = ["2025-01-06 00:00", "2025-01-06 00:05", "2025-01-06 00:10", "2095-01-06 00:15"]
    grid, report = run(long_readings(times, ["1", "2", "3", "4"]))  # 7.4 million 5-minute steps
    assert grid is None
    (err,) = report.errors
    assert err.column == "timestamp" and "2095-01-06 00:15:00 (line 5)" in err.message
    assert "only 4 distinct times" in err.message and "wrong date" in err.message


def test_months_of_sparse_data_are_still_read():
    hour = lambda day: [str(t) for t in pd.date_range(day, periods=12, freq="5min")]  # noqa: E731
    times = hour("2025-01-06") + hour("2025-06-05")  # 24 readings, 150 days apart: under the step floor
    grid, report = run(long_readings(times, ["1"] * 24))
    assert grid is not None and report.ok and len(grid.wide) == 150 * 288 + 12

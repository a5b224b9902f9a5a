"""Timestamps with UTC offsets: one stated local time zone, correct local hours across daylight saving."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dff_core.data import DataError, load_dataset
from dff_core.data.timezones import choose_zone, offset_minutes, resolve_zone
from dff_core.scenarios import build_traffic_scenario
from tests.data.conftest import SENSORS, to_csv

HEADER = ["timestamp", "sensor_id", "value"]


def _amsterdam_rows(start: str = "2025-03-27 00:00", days: int = 6) -> tuple[list[list], pd.DatetimeIndex]:
    """Hourly readings written with the offsets of Europe/Amsterdam, across the change of 30 March 2025."""
    local = pd.date_range(start, periods=days * 24, freq="1h", tz="Europe/Amsterdam")
    rows = []
    for i, t in enumerate(local):
        stamp = t.isoformat()  # 2025-03-30T03:00:00+02:00
        rows += [[stamp, s, 40 + 10 * np.sin(i / 5 + k)] for k, (s, _, _) in enumerate(SENSORS)]
    return rows, local


def test_offsets_that_change_at_daylight_saving_keep_local_hours(sensors_csv) -> None:
    rows, local = _amsterdam_rows()
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv)
    idx = ds.readings.index
    assert len(idx) == len(local) and (np.diff(idx.asi8) == pd.Timedelta("1h").value).all()  # no gap, no repeat
    assert list(idx.hour) == list(local.hour) and list(idx.day_of_week) == list(local.day_of_week)
    assert 2 not in set(idx[idx.day == 30].hour)  # 02:00 does not exist on that day
    assert rep.timezone is not None and rep.timezone.startswith("Europe/")
    note = next(m for m in rep.info if "daylight-saving" in m)
    assert "+01:00 and +02:00" in note and rep.timezone in note
    assert any(rep.timezone in line for line in rep.summary_lines())


def test_calendar_features_of_a_daylight_saving_file_are_local(sensors_csv) -> None:
    rows, _ = _amsterdam_rows(days=8)
    ds, _ = load_dataset(to_csv(HEADER, rows), sensors_csv, timezone="Europe/Amsterdam")
    sc = build_traffic_scenario(ds, n_pairs=1)
    assert sc.options["horizon"] == "1h" and sc.options["every"] == "1h"  # hourly data: no refusal
    hours = sc.X[:, sc.feature_names.index("slot_of_day")]
    np.testing.assert_array_equal(hours, sc.times.hour)
    week = sc.X[:, sc.feature_names.index("slot_of_week")]
    np.testing.assert_array_equal(week, sc.times.day_of_week * 24 + sc.times.hour)


def test_a_named_zone_converts_utc_timestamps(sensors_csv) -> None:
    rows, local = _amsterdam_rows(days=5)
    for r in rows:
        r[0] = pd.Timestamp(r[0]).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv, timezone="Europe/Amsterdam")
    assert list(ds.readings.index.hour) == list(local.hour) and rep.timezone == "Europe/Amsterdam"
    utc, rep_utc = load_dataset(to_csv(HEADER, rows), sensors_csv)
    assert rep_utc.timezone == "UTC" and utc.readings.index[0].hour == local[0].tz_convert("UTC").hour


def test_timestamps_without_an_offset_among_ones_with_are_errors(sensors_csv) -> None:
    rows, _ = _amsterdam_rows(days=5)
    rows[9][0] = "2025-03-27 02:00"
    with pytest.raises(DataError) as exc:
        load_dataset(to_csv(HEADER, rows), sensors_csv)
    p = next(p for p in exc.value.problems if "no UTC offset" in p.message)
    assert p.row == 11 and p.column == "timestamp"


def test_zone_arguments_and_offsets() -> None:
    assert resolve_zone("UTC") is dt.UTC and str(resolve_zone("+05:30")) == "UTC+05:30"
    assert str(resolve_zone("Europe/Paris")) == "Europe/Paris"
    with pytest.raises(ValueError, match="timezone='Mars/Olympus'"):
        resolve_zone("Mars/Olympus")
    cells = pd.Series(["2025-03-03T07:15:00+01:00", "2025-03-03 07:15Z", "2025-03-03 07:15-0530", "2025-03-03"])
    np.testing.assert_array_equal(offset_minutes(cells).to_numpy(), [60, 0, -330, np.nan])


def test_offsets_no_zone_matches_fall_back_to_the_first_with_a_warning() -> None:
    instants = pd.Series(pd.to_datetime(["2025-01-10 00:00", "2025-01-11 00:00"], utc=True))
    choice = choose_zone(instants, pd.Series([60.0, 37.0]), None)
    assert choice.warning and str(choice.zone) == "UTC+01:00" and "timezone=" in choice.note

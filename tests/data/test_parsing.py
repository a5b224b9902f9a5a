"""dff_core.data.parsing: ids, numbers, timestamps and durations as every loader and argument reads them."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from dff_core.data.parsing import (
    format_duration,
    normalize_id,
    normalize_ids,
    parse_duration,
    parse_numbers,
    parse_times,
    parse_timestamp,
)


def test_spreadsheet_float_ids_become_integers_and_text_ids_stay():
    assert normalize_id(" 717447.0 ") == "717447"
    assert normalize_id("-3.00") == "-3"
    assert normalize_id("7.5") == "7.5" and normalize_id("A1.0x") == "A1.0x"
    out = normalize_ids(pd.Series(["717447.0", " B ", "12"]))
    assert out.tolist() == ["717447", "B", "12"] and out.dtype == object


def test_numbers_separate_missing_tokens_from_bad_cells():
    values, missing, bad = parse_numbers(pd.Series(["1.5", "", "NA", "n/a", "abc", "inf", "-2", " 3 "]))
    assert missing.tolist() == [False, True, True, True, False, False, False, False]
    assert bad.tolist() == [False, False, False, False, True, True, False, False]
    np.testing.assert_array_equal(values[[0, 6, 7]], [1.5, -2.0, 3.0])
    assert np.isnan(values[1:6]).all()


def test_times_read_iso_and_other_formats_and_reject_typos():
    cells = ["2025-03-03 07:15", "2025-03-03T07:30:00", "03/03/2025 07:45", "x", "3025-01-01"]
    times, note, lacks, _ = parse_times(pd.Series(cells))
    assert note is None and lacks is None and times.dtype == "datetime64[ns]"
    assert times.iloc[0] == pd.Timestamp("2025-03-03 07:15") and times.iloc[1] == pd.Timestamp("2025-03-03 07:30")
    assert times.iloc[2] == pd.Timestamp("2025-03-03 07:45")
    assert pd.isna(times.iloc[3]) and pd.isna(times.iloc[4])  # unreadable, and a year no reading has


def test_times_with_one_offset_are_local_time_in_that_offset_and_say_so():
    times, note, _, warning = parse_times(pd.Series(["2025-03-03 07:15+01:00", "2025-03-03 07:30+01:00"]))
    assert times.iloc[0] == pd.Timestamp("2025-03-03 07:15", tz="UTC+01:00")
    assert times.iloc[0].hour == 7 and not warning
    assert note is not None and "+01:00" in note and "UTC+01:00" in note


def test_times_with_a_named_zone_are_converted_to_it():
    times, note, _, _ = parse_times(pd.Series(["2025-03-03T06:15:00Z", "2025-03-03T06:30:00Z"]), "Europe/Amsterdam")
    assert times.iloc[0].hour == 7 and str(times.dt.tz) == "Europe/Amsterdam" and "Europe/Amsterdam" in note


def test_times_mixing_offsets_and_none_mark_the_cells_without():
    parsed = parse_times(pd.Series(["2025-03-03 07:15+01:00", "2025-03-03 07:30"]))
    assert parsed.lacks_offset.tolist() == [False, True] and pd.isna(parsed.times.iloc[1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15min", pd.Timedelta(minutes=15)),
        ("1h", pd.Timedelta(hours=1)),
        ("h", pd.Timedelta(hours=1)),  # a bare frequency alias
        ("1.5h", pd.Timedelta(minutes=90)),
        ("1 day", pd.Timedelta(days=1)),
        (pd.Timedelta("5min"), pd.Timedelta(minutes=5)),
        (dt.timedelta(seconds=30), pd.Timedelta(seconds=30)),
    ],
)
def test_durations_are_read(value, expected):
    assert parse_duration(value, "freq") == expected


@pytest.mark.parametrize("value", ["often", "", "nan", "1Y", object()])
def test_unreadable_durations_name_the_argument(value):
    with pytest.raises(ValueError, match=r"^horizon must be a duration such as '15min' or '1h'; got "):
        parse_duration(value, "horizon")


def test_zero_and_negative_durations():
    with pytest.raises(ValueError, match="every must be a positive duration"):
        parse_duration("0min", "every")
    assert parse_duration("0min", "every", allow_zero=True) == pd.Timedelta(0)
    with pytest.raises(ValueError, match=r"split\[0\] must be a non-negative duration"):
        parse_duration("-5min", "split[0]", allow_zero=True)
    assert parse_duration(None, "rolling") is None


@pytest.mark.parametrize(
    ("td", "prose", "compact"),
    [
        ("15min", "15 min", "15min"),
        ("1h", "1 h", "1h"),
        ("90min", "90 min", "90min"),
        ("1D", "24 h", "1D"),
        ("2D", "48 h", "2D"),
        ("30s", "30 s", "30s"),
        ("1500ms", "1.5 s", "1.5s"),
        ("0s", "0 s", "0s"),
    ],
)
def test_durations_print_in_their_largest_whole_unit(td, prose, compact):
    assert format_duration(pd.Timedelta(td)) == prose
    assert format_duration(pd.Timedelta(td), compact=True) == compact


def test_compact_durations_read_back_as_the_same_duration():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated unit either
        for td in ["5min", "45min", "2h", "1D", "3D", "10s", "1500ms"]:
            assert parse_duration(format_duration(pd.Timedelta(td), compact=True), "x") == pd.Timedelta(td)


def test_timestamps_as_arguments():
    assert parse_timestamp("2012-03-01", "start") == pd.Timestamp("2012-03-01")
    for bad in ["someday", ""]:
        with pytest.raises(ValueError, match=r"^start=.* is not a date and time"):
            parse_timestamp(bad, "start")

"""Every kind of bad input becomes an Issue naming the file, line and column, and what to do."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from dff_core.data import DataError, load_dataset
from dff_core.data.report import MAX_ISSUES_PER_KIND
from tests.data.conftest import N_STEPS, SENSORS, long_rows, readings_line, to_csv

HEADER = ["timestamp", "sensor_id", "value"]


def errors_of(*args, **kwargs) -> list:
    with pytest.raises(DataError) as exc:
        load_dataset(*args, **kwargs)
    err = exc.value
    assert err.problems, "DataError without problems"
    assert str(err).count("\n") == len(err.problems) - 1
    return err.problems


def find(issues, **attrs):
    hits = [i for i in issues if all(getattr(i, k) == v for k, v in attrs.items())]
    assert hits, f"no issue with {attrs} in:\n" + "\n".join(map(str, issues))
    return hits[0]


# ------------------------------------------------------------------------------- columns


def test_misnamed_readings_column_suggests_closest(rows, sensors_csv):
    issues = errors_of(to_csv(["timestmp", "sensor_id", "value"], rows), sensors_csv)
    i = find(issues, file="readings.csv", row=1, column="timestamp")
    assert "missing" in i.message and "'timestmp'" in i.message and "rename" in i.message


def test_missing_sensor_columns(readings_csv):
    sensors = to_csv(["sensor_id", "latitud", "lng_deg"], [list(s) for s in SENSORS])
    issues = errors_of(readings_csv, sensors, sensors_name="stations.csv")
    lat = find(issues, file="stations.csv", row=1, column="latitude")
    assert "'latitud'" in lat.message
    find(issues, file="stations.csv", row=1, column="longitude")


def test_missing_links_column(readings_csv, sensors_csv):
    links = to_csv(["from_id", "too"], [["A", "B"]])
    issues = errors_of(readings_csv, sensors_csv, links)
    i = find(issues, file="links.csv", row=1, column="to_id")
    assert "'too'" in i.message


# ------------------------------------------------------------------------- timestamps


def test_unparsable_timestamps(rows, sensors_csv):
    rows[7][0] = "yesterday"
    rows[13][0] = ""
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    a = find(issues, file="readings.csv", row=9, column="timestamp")
    assert "'yesterday'" in a.message and "ISO" in a.message
    find(issues, row=15, column="timestamp")


def test_irregular_interval(rows, sensors_csv):
    line = readings_line(rows, lambda r: r[0] == "2025-01-06 05:00" and r[1] == "A")
    for r in rows:
        if r[0] == "2025-01-06 05:00":
            r[0] = "2025-01-06 05:07"
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    i = find(issues, row=line, column="timestamp")
    assert "05:07" in i.message and "15 min" in i.message and "grid" in i.message


def test_duplicate_timestamp_sensor(rows, sensors_csv):
    dup = [rows[5][0], rows[5][1], 99.0]
    rows.insert(40, dup)
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    i = find(issues, row=42, column="timestamp")
    assert "line 7" in i.message and f"'{rows[5][1]}'" in i.message


def test_identical_duplicate_is_a_warning(rows, sensors_csv):
    rows.insert(40, list(rows[5]))
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv)
    w = find(rep.warnings, row=42, column="timestamp")
    assert "line 7" in w.message and ds.readings.shape == (N_STEPS, 4)


# ------------------------------------------------------------------------------ values


def test_non_numeric_values(rows, sensors_csv):
    rows[3][2] = "fast"
    rows[20][2] = '"12,5"'
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    i = find(issues, row=5, column="value")
    assert "'fast'" in i.message and "not a number" in i.message
    find(issues, row=22, column="value")


def test_missing_tokens_are_gaps_not_errors(rows, sensors_csv):
    rows[8][2] = "NA"
    rows[9][2] = ""
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv)
    assert rep.filled_values == 2 and not ds.readings.isna().any().any()


def test_few_impossible_speeds_are_warnings_with_rows(sensors_csv):
    rows = long_rows(n_steps=300)
    rows[10][2] = -5
    rows[11][2] = 300
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv)
    neg = find(rep.warnings, row=12, column="value")
    fast = find(rep.warnings, row=13, column="value")
    assert "negative" in neg.message and "missing" in neg.message
    assert "250" in fast.message and "value='count'" in fast.message
    assert rep.filled_values == 2 and ds.readings.to_numpy().max() < 250


def test_many_impossible_speeds_are_errors(rows, sensors_csv):
    for r in rows[:50]:
        r[2] = -1
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    find(issues, row=2, column="value")
    # only MAX_ISSUES_PER_KIND listed one by one, the rest summarised with their count
    summary = [i for i in issues if i.row is None and "more row(s)" in i.message]
    assert len([i for i in issues if i.row is not None]) == MAX_ISSUES_PER_KIND
    assert summary and f"{50 - MAX_ISSUES_PER_KIND} more" in summary[0].message


def test_mph_limit(rows, sensors_csv):
    for r in rows[:60]:
        r[2] = 200  # plausible km/h, impossible mph
    load_dataset(to_csv(HEADER, rows), sensors_csv, value="speed_kmh")
    issues = errors_of(to_csv(HEADER, rows), sensors_csv, value="speed_mph")
    assert "mph" in find(issues, row=2, column="value").message


def test_too_few_time_steps(sensors_csv):
    issues = errors_of(to_csv(HEADER, long_rows(n_steps=30)), sensors_csv, min_steps=96)
    i = find(issues, file="readings.csv", column="timestamp")
    assert "30" in i.message and "96" in i.message and "24 h" in i.message


# ---------------------------------------------------------------------- sensor matching


def test_sensor_in_readings_not_in_sensor_file(rows, sensors_csv):
    rows.append([rows[-1][0], "X9", 40.0])
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    i = find(issues, file="readings.csv", row=len(rows) + 1, column="sensor_id")
    assert "'X9'" in i.message and "sensors.csv" in i.message


def test_sensor_without_readings_is_a_warning(readings_csv):
    sensors = to_csv(["sensor_id", "latitude", "longitude"], [*map(list, SENSORS), ["E", 52.02, 5.0]])
    ds, rep = load_dataset(readings_csv, sensors)
    w = find(rep.warnings, file="sensors.csv")
    assert "E" in w.message and "no readings" in w.message
    assert "E" not in ds.sensors.index


def test_wide_unknown_sensor_column(sensors_csv):
    rows = [[f"2025-01-06 {i // 4:02d}:{15 * (i % 4):02d}", 50, 50, 50, 50, 50] for i in range(96)]
    issues = errors_of(to_csv(["timestamp", "A", "B", "C", "D", "Q7"], rows), sensors_csv)
    i = find(issues, row=1, column="Q7")
    assert "'Q7'" in i.message


# ------------------------------------------------------------------------- coordinates


def test_few_missing_or_placeholder_coordinates_dropped_with_warning(readings_csv):
    sensors = [[s, la, lo] for s, la, lo in SENSORS] + [["E", 0, 0], ["F", "", 5.0]]
    sensors += [[f"G{i}", 52.0 + i / 1000, 5.03] for i in range(6)]
    ds, rep = load_dataset(readings_csv, to_csv(["sensor_id", "latitude", "longitude"], sensors))
    e = find(rep.warnings, row=6, column="latitude")
    assert "'E'" in e.message and "0/0" in e.message and "dropped" in e.message
    f = find(rep.warnings, row=7, column="latitude")
    assert "empty" in f.message
    summary = [w for w in rep.warnings if "dropped 2 of 12 sensors" in w.message]
    assert summary and "E, F" in summary[0].message
    assert set(rep.dropped_sensors) >= {"E", "F"} and "E" not in ds.sensors.index
    assert rep.drop_reasons["E"] == "at 0/0" and rep.drop_reasons["F"] == "without coordinates"


def test_a_latitude_out_of_range_is_an_error_not_a_silent_drop(readings_csv):
    sensors = [[s, la, lo] for s, la, lo in SENSORS] + [["F", 95.0, 5.0]]
    issues = errors_of(readings_csv, to_csv(["sensor_id", "latitude", "longitude"], sensors))
    f = find(issues, row=6, column="latitude")
    assert "'F'" in f.message and "between -90 and 90" in f.message
    assert not any("swapped" in i.message for i in issues)  # one typo, not swapped columns


def test_bad_coordinates_of_a_sensor_with_readings(rows):
    sensors = [[s, la, lo] for s, la, lo in SENSORS] + [[f"G{i}", 52.0 + i / 1000, 5.03] for i in range(8)]
    sensors[1][2] = "abc"  # B's longitude
    rows += [[r[0], f"G{i}", 40.0] for r in rows[::4] for i in range(8)]
    ds, rep = load_dataset(to_csv(HEADER, rows), to_csv(["sensor_id", "latitude", "longitude"], sensors))
    w = find(rep.warnings, row=3, column="longitude")
    assert "'abc'" in w.message and "'B'" in w.message
    assert "B" not in ds.readings.columns and "B" in rep.dropped_sensors


def test_many_bad_coordinates_are_errors(readings_csv):
    sensors = [[s, lo, la * 4] for s, la, lo in SENSORS]  # garbage longitudes
    issues = errors_of(readings_csv, to_csv(["sensor_id", "latitude", "longitude"], sensors))
    i = find(issues, file="sensors.csv", row=2, column="longitude")
    assert "'A'" in i.message and "between -180 and 180" in i.message


def test_duplicate_sensor_rows(readings_csv):
    sensors = [list(s) for s in SENSORS] + [["B", 52.0, 5.0]]
    issues = errors_of(readings_csv, to_csv(["sensor_id", "latitude", "longitude"], sensors))
    assert "line 3" in find(issues, row=6, column="sensor_id").message


# ------------------------------------------------------------------------------- links


def test_links_with_unknown_sensors(readings_csv, sensors_csv):
    links = to_csv(["from_id", "to_id", "length_km"], [["A", "B", 1], ["B", "Z", 1], ["Y", "A", "x"]])
    issues = errors_of(readings_csv, sensors_csv, links, links_name="roads.csv")
    assert "'Z'" in find(issues, file="roads.csv", row=3, column="to_id").message
    assert "'Y'" in find(issues, file="roads.csv", row=4, column="from_id").message
    assert "'x'" in find(issues, file="roads.csv", row=4, column="length_km").message


def test_links_bad_numbers_and_disconnected_warning(readings_csv, sensors_csv):
    issues = errors_of(readings_csv, sensors_csv, to_csv(["from_id", "to_id", "length_km"], [["A", "B", -2]]))
    assert "positive" in find(issues, row=2, column="length_km").message
    _ds, rep = load_dataset(readings_csv, sensors_csv, to_csv(["from_id", "to_id"], [["A", "B"], ["C", "D"]]))
    assert any("2 separate parts" in w.message for w in rep.warnings)


# ----------------------------------------------------------------------- file formats


def test_xlsx_content(sensors_csv):
    fake = b"PK\x03\x04" + b"\x00" * 200
    issues = errors_of(fake, sensors_csv, readings_name="speeds.xlsx")
    i = find(issues, file="speeds.xlsx")
    assert "Excel" in i.message and "CSV" in i.message


def test_binary_content(readings_csv):
    issues = errors_of(readings_csv, bytes(range(256)) * 4, sensors_name="sensors.csv")
    assert "binary" in find(issues, file="sensors.csv").message


def test_json_content(sensors_csv):
    data = json.dumps([{"timestamp": "2025-01-06", "sensor_id": "A", "value": 1}]).encode()
    assert "JSON" in find(errors_of(data, sensors_csv), file="readings.csv").message


def test_empty_file(sensors_csv, readings_csv):
    assert "empty" in find(errors_of(b"", sensors_csv), file="readings.csv").message
    assert "empty" in find(errors_of(readings_csv, b"\n \n"), file="sensors.csv").message
    header_only = errors_of(readings_csv, b"sensor_id,latitude,longitude\n")
    assert "no data rows" in find(header_only, file="sensors.csv").message


def test_missing_file(tmp_path, sensors_csv):
    issues = errors_of(tmp_path / "nope.csv", sensors_csv)
    assert "not found" in find(issues, file="nope.csv").message


def test_utf8_bom_is_transparent(readings_csv, sensors_csv):
    ds, rep = load_dataset(b"\xef\xbb\xbf" + readings_csv, b"\xef\xbb\xbf" + sensors_csv)
    assert rep.ok and not rep.warnings and ds.readings.shape == (N_STEPS, 4)


def test_semicolon_delimiter_with_decimal_commas(rows, sensors_csv):
    data = to_csv(HEADER, [[t, s, str(v).replace(".", ",")] for t, s, v in rows], sep=";")
    ds, rep = load_dataset(data, sensors_csv, readings_name="export.csv")
    w = find(rep.warnings, file="export.csv", row=1)
    assert "';'" in w.message
    assert ds.readings.iloc[0, 0] == rows[0][2]


def test_gzip_is_read(readings_csv, sensors_csv):
    ds, _ = load_dataset(gzip.compress(readings_csv), sensors_csv)
    assert ds.readings.shape == (N_STEPS, 4)


def test_ragged_row(rows, sensors_csv):
    data = to_csv(HEADER, rows).replace(b"\n", b"\n2025-01-06 00:00,A,1,extra\n", 1)
    i = find(errors_of(data, sensors_csv), row=2)
    assert "4 fields" in i.message and "3" in i.message


def test_no_sensor_file_and_no_coordinates(readings_csv):
    assert "sensor_id,latitude,longitude" in find(errors_of(readings_csv), file="sensors.csv").message


def test_all_errors_reported_at_once(rows):
    rows[2][0] = "not-a-time"
    rows[30][2] = "n/a?"
    sensors = to_csv(["sensor_id", "latitude"], [["A", 52.0]])
    links = io.BytesIO(b"")
    links.name = "links.csv"
    issues = errors_of(to_csv(HEADER, rows), sensors, links)
    files = {i.file for i in issues}
    assert files == {"readings.csv", "sensors.csv", "links.csv"}
    find(issues, row=4, column="timestamp")
    find(issues, row=32, column="value")
    find(issues, file="sensors.csv", column="longitude")


def test_bad_arguments_name_the_argument(readings_csv, sensors_csv):
    with pytest.raises(ValueError, match="freq"):
        load_dataset(readings_csv, sensors_csv, freq="often")
    with pytest.raises(ValueError, match="max_gap_steps"):
        load_dataset(readings_csv, sensors_csv, max_gap_steps=-1)
    with pytest.raises(ValueError, match="start"):
        load_dataset(readings_csv, sensors_csv, start="someday")


def test_out_of_range_year_is_an_issue(rows, sensors_csv):
    rows[4][0] = "20255-01-06 01:00"
    assert "'20255-01-06 01:00'" in find(errors_of(to_csv(HEADER, rows), sensors_csv), row=6).message


def test_identical_coordinates_warn(readings_csv):
    sensors = to_csv(["sensor_id", "latitude", "longitude"], [[s, 52.0, 5.0] for s, _, _ in SENSORS])
    ds, rep = load_dataset(readings_csv, sensors)
    assert any("identical coordinates" in w.message and w.file == "sensors.csv" for w in rep.warnings)
    assert (ds.links["length_km"] > 0).all()


def test_two_sensor_wide_file_is_recognised_without_sensor_file():
    rows = [[f"2025-01-06 {i // 4:02d}:{15 * (i % 4):02d}", 50, 51] for i in range(96)]
    issues = errors_of(to_csv(["timestamp", "A", "B"], rows))
    assert [i.file for i in issues] == ["sensors.csv"] and "no sensor file" in issues[0].message


def test_mutated_files_never_raise_anything_but_data_error(readings_csv, sensors_csv):
    """Random corruption of valid files gives a DataError (or loads), never a raw exception."""
    import random

    from dff_core.data import load_items

    rnd = random.Random(7)
    items = to_csv(["period", "item_id", "value", "f"], [[p, it, 1, 2] for p in range(12) for it in "ab"])
    for _ in range(60):
        target = rnd.choice(["readings", "sensors", "items"])
        data = bytearray({"readings": readings_csv[:4000], "sensors": sensors_csv, "items": items}[target])
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(len(data))] = rnd.choice(b',;\n"x0.-: \t\xff')
        try:
            if target == "items":
                load_items(bytes(data))
            elif target == "sensors":
                load_dataset(readings_csv, bytes(data))
            else:
                load_dataset(bytes(data), sensors_csv, min_steps=2)
        except DataError as err:
            assert all(str(p) for p in err.problems)


def test_odd_first_timestamp_is_the_one_flagged(rows, sensors_csv):
    for r in rows[:4]:
        r[0] = "2025-01-05 23:52"
    issues = errors_of(to_csv(HEADER, rows), sensors_csv)
    rows_flagged = {i.row for i in issues}
    assert rows_flagged == {2}, rows_flagged


def test_freq_finer_or_not_a_multiple(readings_csv, sensors_csv):
    finer = find(errors_of(readings_csv, sensors_csv, freq="5min"), column="timestamp")
    assert "15 min" in finer.message and "5 min" in finer.message and "invent" in finer.message
    odd = find(errors_of(readings_csv, sensors_csv, freq="20min"), column="timestamp")
    assert "multiple of 15 min" in odd.message

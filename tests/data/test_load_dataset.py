"""load_dataset on valid inputs: layouts, units, graph building, gap filling, report and digest."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from dff_core.data import MPH_TO_KMH, DataError, Issue, ValidationReport, load_dataset
from tests.data.conftest import FREQ, N_STEPS, SENSORS, START, long_rows, speed, to_csv


def test_long_format_contract(readings_csv, sensors_csv, links_csv):
    ds, rep = load_dataset(readings_csv, sensors_csv, links_csv)
    assert rep.ok and not rep.warnings
    r = ds.readings
    assert isinstance(r.index, pd.DatetimeIndex) and r.index.name == "timestamp"
    assert list(r.columns) == ["A", "B", "C", "D"] and all(isinstance(c, str) for c in r.columns)
    assert r.shape == (N_STEPS, 4) and r.dtypes.eq(np.float64).all()
    assert (r.index[1:] - r.index[:-1] == FREQ).all() and ds.freq == FREQ
    assert r.loc[START, "C"] == speed(0, 2)
    assert isinstance(ds.sensors, gpd.GeoDataFrame) and ds.sensors.crs.to_epsg() == 4326
    assert ds.sensors.index.name == "sensor_id" and list(ds.sensors.index) == ["A", "B", "C", "D"]
    assert {"latitude", "longitude", "name", "geometry"} <= set(ds.sensors.columns)
    assert ds.sensors.loc["B", "geometry"].x == pytest.approx(5.015)
    assert list(ds.links.columns) == ["from_id", "to_id", "length_km", "capacity"]
    assert len(ds.links) == 8 and not ds.graph_inferred and ds.value_kind == "speed_kmh"
    assert ds.source == "upload"


def test_wide_with_timestamp_column(sensors_csv):
    rows = [[(START + i * FREQ).isoformat(), *[speed(i, k) for k in range(4)]] for i in range(N_STEPS)]
    ds, rep = load_dataset(to_csv(["timestamp", "A", "B", "C", "D"], rows), sensors_csv)
    assert rep.ok and ds.readings.shape == (N_STEPS, 4)
    assert ds.readings.iloc[5, 3] == speed(5, 3)


def test_wide_without_timestamps_needs_start_and_freq(sensors_csv):
    rows = [[speed(i, k) for k in range(4)] for i in range(N_STEPS)]
    data = to_csv(["A", "B", "C", "D"], rows)
    ds, _ = load_dataset(data, sensors_csv, start="2012-03-01", freq="5min", value="speed_mph")
    assert ds.readings.index[0] == pd.Timestamp("2012-03-01") and ds.freq == pd.Timedelta("5min")
    assert ds.readings.index[-1] == pd.Timestamp("2012-03-01") + (N_STEPS - 1) * pd.Timedelta("5min")
    with pytest.raises(DataError) as exc:
        load_dataset(data, sensors_csv, readings_name="speeds.csv")
    msg = str(exc.value)
    assert "speeds.csv" in msg and "'timestamp'" in msg and "start=" in msg and "freq=" in msg


def test_mph_conversion_and_counts(readings_csv, sensors_csv):
    ds, _ = load_dataset(readings_csv, sensors_csv, value="speed_mph")
    np.testing.assert_allclose(ds.speeds_kmh().to_numpy(), ds.readings.to_numpy() * MPH_TO_KMH)
    counts, _ = load_dataset(readings_csv, sensors_csv, value="count")
    with pytest.raises(DataError, match="counts"):
        counts.speeds_kmh()
    with pytest.raises(ValueError, match="value="):
        load_dataset(readings_csv, sensors_csv, value="kmh")


def test_knn_graph_when_no_links(readings_csv, sensors_csv):
    ds, rep = load_dataset(readings_csv, sensors_csv, k_neighbours=1)
    assert ds.graph_inferred
    assert any("nearest-neighbour road graph" in m and "no links file" in m for m in rep.info)
    pairs = set(zip(ds.links["from_id"], ds.links["to_id"]))
    assert all((t, f) in pairs for f, t in pairs)  # both directions
    # A-B is 1.03 km east-west; with the 1.2 detour factor the link is about 1.24 km
    ab = ds.links[(ds.links.from_id == "A") & (ds.links.to_id == "B")]
    if len(ab):
        assert ab["length_km"].iloc[0] == pytest.approx(1.2 * 1.027, rel=0.02)
    assert ds.links["capacity"].isna().all()


def test_knn_graph_joins_far_clusters():
    sensors = [("N1", 52.0, 5.0), ("N2", 52.0, 5.001), ("N3", 52.001, 5.0), ("F1", 52.2, 5.2), ("F2", 52.2, 5.201)]
    rows = long_rows(sensors=sensors)
    ds, rep = load_dataset(
        to_csv(["timestamp", "sensor_id", "value"], rows),
        to_csv(["sensor_id", "latitude", "longitude"], [list(s) for s in sensors]),
        k_neighbours=1,
    )
    from dff_core.data.graph import n_components

    assert n_components(list(ds.sensors.index), ds.links) == 1
    assert any("joining separate clusters" in m for m in rep.info)


def test_missing_link_length_uses_haversine(readings_csv, sensors_csv):
    links = to_csv(["from_id", "to_id"], [["A", "B"], ["B", "A"], ["A", "C"], ["C", "D"], ["D", "B"]])
    ds, rep = load_dataset(readings_csv, sensors_csv, links, links_name="roads.csv")
    ac = ds.links[(ds.links.from_id == "A") & (ds.links.to_id == "C")]["length_km"].iloc[0]
    assert ac == pytest.approx(1.2 * 1.112, rel=0.01)  # 0.01 deg latitude = 1.112 km
    assert any("roads.csv" in m and "1.2" in m for m in rep.info)


def test_short_gaps_interpolated_long_gaps_dropped(rows, sensors_csv):
    t = lambda i: (START + i * FREQ).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    short = {t(10), t(11)}  # 2 missing steps for sensor A
    long = {t(i) for i in range(40, 46)}  # 6 missing steps for sensor B
    kept = [r for r in rows if not (r[1] == "A" and r[0] in short) and not (r[1] == "B" and r[0] in long)]
    ds, rep = load_dataset(to_csv(["timestamp", "sensor_id", "value"], kept), sensors_csv, max_gap_steps=3)
    assert rep.filled_values == 2
    a = ds.readings["A"]
    expected = speed(9, 0) + (speed(12, 0) - speed(9, 0)) / 3
    assert a.loc[START + 10 * FREQ] == pytest.approx(expected)
    assert rep.dropped_timestamps == 6 and len(ds.readings) == N_STEPS - 6
    assert not ds.readings.isna().any().any()
    assert any("6 time step(s)" in str(w) and "max_gap_steps" in str(w) for w in rep.warnings)
    # with a larger limit the long gap is interpolated too
    ds2, rep2 = load_dataset(to_csv(["timestamp", "sensor_id", "value"], kept), sensors_csv, max_gap_steps=6)
    assert rep2.filled_values == 8 and len(ds2.readings) == N_STEPS


def test_sparse_sensor_dropped(rows, sensors_csv):
    kept = [r for i, r in enumerate(rows) if not (r[1] == "D" and (i // 4) % 3 != 0 and (i // 4) > 30)]
    ds, rep = load_dataset(to_csv(["timestamp", "sensor_id", "value"], kept), sensors_csv, max_gap_steps=1)
    assert "D" not in ds.readings.columns and "D" in rep.dropped_sensors
    assert any("'D'" in str(w) and "dropped" in str(w) for w in rep.warnings)


def test_resample_to_coarser_freq(readings_csv, sensors_csv):
    ds, rep = load_dataset(readings_csv, sensors_csv, freq="30min", min_steps=50)
    assert ds.freq == pd.Timedelta("30min") and len(ds.readings) == N_STEPS // 2
    assert ds.readings["A"].iloc[0] == pytest.approx((speed(0, 0) + speed(1, 0)) / 2)
    assert any("averaged" in m for m in rep.info)


def test_uploaded_file_name_and_file_like(readings_csv, sensors_csv, tmp_path):
    up = io.BytesIO(readings_csv)
    up.name = "my_readings.csv"
    p = tmp_path / "s.csv"
    p.write_bytes(sensors_csv)
    ds, _ = load_dataset(up, str(p))
    assert ds.readings.shape == (N_STEPS, 4)
    bad = io.BytesIO(readings_csv.replace(b",A,", b",Z,", 1))
    bad.name = "my_readings.csv"
    with pytest.raises(DataError, match=r"my_readings\.csv"):
        load_dataset(bad, p)


def test_sensors_from_readings_coordinates():
    rows = [[*r, *next((la, lo) for s, la, lo in SENSORS if s == r[1])] for r in long_rows()]
    ds, rep = load_dataset(to_csv(["timestamp", "sensor_id", "value", "latitude", "longitude"], rows))
    assert list(ds.sensors.index) == ["A", "B", "C", "D"]
    assert any("latitude/longitude columns" in m for m in rep.info)


def test_aliases_are_read_with_warning(rows):
    sensors = to_csv(["id", "lat", "lon"], [list(s) for s in SENSORS])
    ds, rep = load_dataset(to_csv(["time", "sensor", "speed"], rows), sensors)
    assert ds.readings.shape == (N_STEPS, 4)
    cols = {w.column for w in rep.warnings}
    assert {"time", "sensor", "speed", "id", "lat", "lon"} <= cols


def test_digest_is_stable_and_content_sensitive(readings_csv, sensors_csv, links_csv):
    a, _ = load_dataset(readings_csv, sensors_csv, links_csv)
    b, _ = load_dataset(readings_csv, sensors_csv, links_csv)
    c, _ = load_dataset(readings_csv.replace(b",A,45.0", b",A,45.1", 1), sensors_csv, links_csv)
    assert a.digest() == b.digest() and len(a.digest()) == 64
    assert a.digest() != c.digest()


def test_links_gdf(readings_csv, sensors_csv, links_csv):
    ds, _ = load_dataset(readings_csv, sensors_csv, links_csv)
    g = ds.links_gdf()
    assert g.crs.to_epsg() == 4326 and len(g) == len(ds.links)
    assert (g.geometry.geom_type == "LineString").all()
    first = g.iloc[0]
    (x0, y0), (x1, y1) = first.geometry.coords
    assert (y0, x0) == tuple(ds.sensors.loc[first.from_id, ["latitude", "longitude"]])
    assert (y1, x1) == tuple(ds.sensors.loc[first.to_id, ["latitude", "longitude"]])


def test_report_formats():
    rep = ValidationReport(
        errors=[Issue("readings.csv", 12, "value", "'abc' is not a number.", "error")],
        warnings=[Issue("sensors.csv", None, None, "dropped 1 sensor.", "warning")],
        info=["built a graph"],
    )
    assert str(rep.errors[0]) == "readings.csv, line 12, column 'value': 'abc' is not a number."
    assert not rep.ok
    frame = rep.to_frame()
    assert list(frame.columns) == ["severity", "file", "row", "column", "message"]
    assert list(frame["severity"]) == ["error", "warning", "info"]
    assert str(rep).splitlines()[1] == "warning: sensors.csv: dropped 1 sensor."
    with pytest.raises(ValueError):
        Issue("f", None, None, "m", "fatal")


def test_unit_in_column_name_contradicting_declaration(rows, sensors_csv):
    _, rep = load_dataset(to_csv(["timestamp", "sensor_id", "speed_mph"], rows), sensors_csv)
    w = next(w for w in rep.warnings if w.column == "speed_mph" and "value='speed_mph'" in w.message)
    assert w.row == 1
    _, rep = load_dataset(to_csv(["timestamp", "sensor_id", "speed_mph"], rows), sensors_csv, value="speed_mph")
    assert not [w for w in rep.warnings if "suggests" in w.message]


def test_row_number_column_is_ignored(sensors_csv):
    rows = [[i, (START + i * FREQ).isoformat(), *[speed(i, k) for k in range(4)]] for i in range(N_STEPS)]
    ds, rep = load_dataset(to_csv(["", "timestamp", "A", "B", "C", "D"], rows), sensors_csv)
    assert list(ds.readings.columns) == ["A", "B", "C", "D"]
    assert any(w.column == "index" for w in rep.warnings)


def test_blank_lines_keep_editor_line_numbers(rows, sensors_csv):
    rows[20][2] = "oops"
    text = to_csv(["timestamp", "sensor_id", "value"], rows).decode().splitlines()
    text = [*text[:5], "", "  ", *text[5:]]  # two blank lines after line 5
    with pytest.raises(DataError) as exc:
        load_dataset("\n".join(text).encode(), sensors_csv)
    assert exc.value.problems[0].row == 24 and text[23].endswith("oops")


def test_time_zone_offsets_keep_local_clock_in_the_files_zone(rows, sensors_csv):
    for r in rows:
        r[0] = r[0].replace(" ", "T") + "+01:00"
    ds, rep = load_dataset(to_csv(["timestamp", "sensor_id", "value"], rows), sensors_csv)
    assert ds.readings.index[0] == START.tz_localize("UTC+01:00") and ds.readings.index[0].hour == START.hour
    assert rep.timezone == "UTC+01:00" and any("offset" in m for m in rep.info)
    assert any("UTC+01:00" in line for line in rep.summary_lines())


def test_numeric_ids_from_spreadsheets_match(sensors_csv):
    coords = [[717 + k, la, lo] for k, (_, la, lo) in enumerate(SENSORS)]
    sensors = to_csv(["sensor_id", "latitude", "longitude"], coords)
    rows = [[t, f"{717 + 'ABCD'.index(s)}.0", v] for t, s, v in long_rows()]
    ds, _ = load_dataset(to_csv(["timestamp", "sensor_id", "value"], rows), sensors)
    assert list(ds.readings.columns) == ["717", "718", "719", "720"]

"""The real-data gauntlet: files shaped like agency exports, run through ``compare`` on the command line.

Each variant is written by the test into a temporary folder from the METR-LA week in the shared
data folder (skipped when it is absent): ten neighbouring Los Angeles freeway sensors, their
real speeds, and counts derived from those speeds with a speed-flow curve. Every variant runs
``python -m dff_core compare`` (via ``dff_core.cli.main``) for each scenario it supports, with
default flags, or first without and then with the one flag the error message names.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from dff_core import cli
from dff_core.data import shared_data_dir

SHARED = shared_data_dir()
METR = SHARED / "metr-la-week" if SHARED is not None else None
START = pd.Timestamp("2012-03-01 00:00")
N_SENSORS = 10
#: Few epochs and two trips: the gauntlet checks that real-shaped files run, not how well.
FAST = ["--epochs", "2", "--n-pairs", "2", "--quiet"]

pytestmark = pytest.mark.skipif(
    METR is None or not (METR / "los_speed.csv").exists(),
    reason="real data metr-la-week not found (set DFF_SHARED_DATA or place ../shared/data)",
)


@pytest.fixture(scope="module")
def base() -> dict[str, pd.DataFrame]:
    """Ten neighbouring sensors: 5-minute speeds (km/h), sensor coordinates, and 15-minute counts."""
    loc = pd.read_csv(METR / "graph_sensor_locations.csv", dtype={"sensor_id": str})
    centre = loc[["latitude", "longitude"]].median()
    dist = np.hypot(loc["latitude"] - centre["latitude"], loc["longitude"] - centre["longitude"])
    chosen = loc.loc[np.argsort(dist.to_numpy())[:N_SENSORS]]
    ids = chosen["sensor_id"].tolist()
    speed = pd.read_csv(METR / "los_speed.csv", usecols=ids)[ids] * 1.609344
    speed.index = pd.date_range(START, periods=len(speed), freq="5min", name="timestamp")
    free = speed.quantile(0.99)
    # Greenshields: flow = capacity x 4 (v / v_free)(1 - v / v_free), 6,000 vehicles per hour at its peak
    ratio = (speed / free).clip(upper=1.0)
    flow_5min = 6000.0 * 4 * ratio * (1 - ratio) / 12
    counts = flow_5min.resample("15min").sum().round()
    sensors = chosen[["sensor_id", "latitude", "longitude"]].reset_index(drop=True)
    return {"speed": speed.resample("15min").mean().round(2), "counts": counts, "sensors": sensors}


def _long(wide: pd.DataFrame, column: str) -> pd.DataFrame:
    out = wide.rename_axis("timestamp").reset_index().melt("timestamp", var_name="sensor_id", value_name=column)
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    return out


def _write(folder: Path, readings: pd.DataFrame, sensors: pd.DataFrame, links: pd.DataFrame | None = None) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    readings.to_csv(folder / "readings.csv", index=False)
    sensors.to_csv(folder / "sensors.csv", index=False)
    args = ["--readings", str(folder / "readings.csv"), "--sensors", str(folder / "sensors.csv")]
    if links is not None:
        links.to_csv(folder / "links.csv", index=False)
        args += ["--links", str(folder / "links.csv")]
    return args


def _compare(scenario: str, data: list, out: Path, *extra: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = cli.main(["compare", "--scenario", scenario, *data, *FAST, *extra, "--out", str(out)])
    return rc, stdout.getvalue(), stderr.getvalue()


def _ran(rc: int, out: Path, stdout: str, stderr: str) -> dict:
    assert rc == 0, stderr
    assert "Traceback" not in stderr and stdout.startswith("data quality:")
    summary = json.loads((out / "summary.json").read_text())
    dff = summary["methods"]["dff"]
    assert dff["max_relative_shift"] <= 0.2 + 1e-9 and summary["n_test"] > 0
    return summary


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_hourly_boardings_run_with_defaults_fitted_to_the_interval(base, tmp_path: Path, scenario: str) -> None:
    hourly = base["counts"].resample("1h").sum()
    data = _write(tmp_path / "in", _long(hourly, "count"), base["sensors"])
    rc, stdout, stderr = _compare(scenario, data, tmp_path / "out", "--value", "count", "--count-unit", "boardings")
    summary = _ran(rc, tmp_path / "out", stdout, stderr)
    config = summary["config"]
    assert config["horizon"] == "1h" and config["every"] == "1h" and "horizon" in config["auto"]
    assert config["count_unit"] == "boardings per hour" and "settings: horizon 1 h (auto" in stdout
    if scenario == "allocation":
        assert summary["unit"] == "boardings per hour" and config["value"] == "count"
    else:
        assert summary["unit"] == "vehicle-minutes" and config["bpr_alpha"] == 0.15


def test_counts_declared_as_speeds_name_the_value_to_pass(base, tmp_path: Path) -> None:
    data = _write(tmp_path / "in", _long(base["counts"], "count"), base["sensors"])
    rc, _, stderr = _compare("allocation", data, tmp_path / "out")
    assert rc == 2 and "value='count'" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_conflicting_duplicates_name_the_option_and_merge_with_it(base, tmp_path: Path, scenario: str) -> None:
    long = _long(base["counts"], "count")
    first = base["sensors"]["sensor_id"].iloc[0]
    again = long[long["sensor_id"] == first].iloc[::3].copy()
    again["count"] += 7  # the export repeats a detector with a different value
    data = _write(tmp_path / "in", pd.concat([long, again]), base["sensors"])
    rc, _, stderr = _compare(scenario, data, tmp_path / "refused", "--value", "count")
    assert rc == 2 and "--duplicates mean" in stderr
    assert sum("different readings" in line for line in stderr.splitlines()) == 1  # one line for the sensor
    rc, stdout, stderr = _compare(scenario, data, tmp_path / "out", "--value", "count", "--duplicates", "mean")
    _ran(rc, tmp_path / "out", stdout, stderr)
    assert f"{2 * len(again)} conflicting readings at 1 sensor(s) merged (mean per timestamp)" in stdout


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_sensors_in_utm_metres_need_the_crs_the_message_names(base, tmp_path: Path, scenario: str) -> None:
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32611", always_xy=True)  # UTM zone 11N (Los Angeles)
    s = base["sensors"]
    x, y = to_utm.transform(s["longitude"].to_numpy(), s["latitude"].to_numpy())
    utm = pd.DataFrame({"sensor_id": s["sensor_id"], "x": np.round(x, 1), "y": np.round(y, 1)})
    data = _write(tmp_path / "in", _long(base["speed"], "speed"), utm)
    rc, _, stderr = _compare(scenario, data, tmp_path / "refused")
    assert rc == 2 and "--crs" in stderr and "projected" in stderr
    rc, stdout, stderr = _compare(scenario, data, tmp_path / "out", "--crs", "EPSG:32611")
    _ran(rc, tmp_path / "out", stdout, stderr)
    assert "sensor coordinates converted from EPSG:32611 to WGS84 degrees" in stdout


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_a_sensor_at_zero_zero_is_dropped_and_said_first(base, tmp_path: Path, scenario: str) -> None:
    s = base["sensors"].copy()
    s.loc[3, ["latitude", "longitude"]] = 0.0
    data = _write(tmp_path / "in", _long(base["speed"], "speed"), s)
    rc, stdout, stderr = _compare(scenario, data, tmp_path / "out")
    _ran(rc, tmp_path / "out", stdout, stderr)
    assert f"1 sensor dropped: 1 at 0/0 ({s.loc[3, 'sensor_id']})" in stdout.splitlines()[1]


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_days_missing_for_some_sensors(base, tmp_path: Path, scenario: str) -> None:
    long = _long(base["speed"], "speed")
    ids = base["sensors"]["sensor_id"]
    t = pd.to_datetime(long["timestamp"])
    two_days = long["sensor_id"].isin(ids.iloc[:2]) & t.dt.day.isin([2, 3])
    morning = (long["sensor_id"] == ids.iloc[5]) & (t.dt.day == 6) & (t.dt.hour < 6)
    data = _write(tmp_path / "in", long[~(two_days | morning)], base["sensors"])
    rc, stdout, stderr = _compare(scenario, data, tmp_path / "out")
    _ran(rc, tmp_path / "out", stdout, stderr)
    # two sensors miss 2 of 7 days (dropped); one misses a morning (kept; those 24 time steps removed)
    assert "2 sensors dropped: 2 missing over 10% of time steps" in stdout
    assert "24 time steps in long gaps removed" in stdout


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_a_links_file_with_lengths_in_metres(base, tmp_path: Path, scenario: str) -> None:
    s = base["sensors"].set_index("sensor_id")
    ids = list(s.index)
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 : i + 4]]
    pairs += [(b, a) for a, b in pairs]
    lat, lon = np.radians(s["latitude"]), np.radians(s["longitude"])
    metres = [round(1200 * 6371 * np.hypot((lat[b] - lat[a]), (lon[b] - lon[a]) * np.cos(lat[a])), 1) for a, b in pairs]
    links = pd.DataFrame({"from_id": [a for a, _ in pairs], "to_id": [b for _, b in pairs], "length_m": metres})
    data = _write(tmp_path / "in", _long(base["counts"], "count"), base["sensors"], links)
    rc, stdout, stderr = _compare(scenario, data, tmp_path / "out", "--value", "count")
    summary = _ran(rc, tmp_path / "out", stdout, stderr)
    assert summary["config"]["value"] == "count"

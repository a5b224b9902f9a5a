"""Fixtures shared across test packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.scenarios.conftest import make_grid_dataset


@pytest.fixture
def csv_files(tmp_path: Path) -> dict[str, Path]:
    """A user's files: long readings (timestamp,sensor_id,value), wide readings, sensors, links."""
    ds = make_grid_dataset(3, 3, days=2, freq="15min")
    long = (
        ds.readings.rename_axis("timestamp")
        .reset_index()
        .melt(id_vars="timestamp", var_name="sensor_id", value_name="value")
    )
    long["timestamp"] = long["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    paths = {
        "long": tmp_path / "readings_long.csv",
        "wide": tmp_path / "readings_wide.csv",
        "sensors": tmp_path / "sensors.csv",
        "links": tmp_path / "links.csv",
    }
    long.round(3).to_csv(paths["long"], index=False)
    ds.readings.round(3).to_csv(paths["wide"], index=False)  # no timestamp column: needs --start/--freq
    ds.sensors.reset_index().to_csv(paths["sensors"], index=False)
    ds.links.drop(columns="capacity").to_csv(paths["links"], index=False)
    return paths


@pytest.fixture(scope="session")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny city's files (sweeps): 3x3 sensors, 3 days of 15-minute speeds (links inferred by the loader)."""
    d = tmp_path_factory.mktemp("city")
    rng = np.random.default_rng(0)
    ids = [f"S{i}" for i in range(9)]
    pd.DataFrame(
        {
            "sensor_id": ids,
            "latitude": np.repeat(np.arange(3), 3) * 0.009 + 34.0,
            "longitude": np.tile(np.arange(3), 3) * 0.011 - 118.0,
        }
    ).to_csv(d / "sensors.csv", index=False)
    idx = pd.date_range("2024-03-04", periods=3 * 96, freq="15min")
    hours = (idx.hour + idx.minute / 60).to_numpy()
    rush = np.exp(-((hours - 8) ** 2) / 2) + np.exp(-((hours - 17.5) ** 2) / 2)
    speeds = rng.uniform(50, 90, 9) * (1 - rng.uniform(0.1, 0.6, 9) * rush[:, None]) + rng.normal(0, 4, (len(idx), 9))
    readings = pd.DataFrame(np.clip(speeds, 2, None).round(2), columns=ids)
    readings.insert(0, "timestamp", idx.strftime("%Y-%m-%d %H:%M"))
    readings.to_csv(d / "readings.csv", index=False)
    return d

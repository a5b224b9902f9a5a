"""Fixtures shared across test packages."""

from __future__ import annotations

from pathlib import Path

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

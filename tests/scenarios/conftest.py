"""Small hand-made traffic datasets, loaded through ``dff_core.data.load_dataset`` like a user's files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.data import Dataset, load_dataset


def make_dataset(
    readings: pd.DataFrame, sensors: pd.DataFrame, links: pd.DataFrame, value_kind: str = "speed_kmh"
) -> Dataset:
    """A validated :class:`Dataset` from wide readings (time index x sensor columns), sensors and links.

    The readings go through the loader in long format (timestamp, sensor_id, value); they must
    be complete, so the dataset holds exactly the values given.
    """
    long = (
        readings.rename_axis("timestamp")
        .reset_index()
        .melt(id_vars="timestamp", var_name="sensor_id", value_name="value")
    )
    ds, report = load_dataset(
        long, sensors.reset_index(), links, value=value_kind, min_steps=2, max_gap_steps=0, source="test grid"
    )
    assert report.ok and not report.warnings, str(report)
    return ds


def make_grid_dataset(
    h: int = 3, w: int = 3, days: float = 3.0, freq: str = "15min", seed: int = 0, value_kind: str = "speed_kmh"
) -> Dataset:
    """An h x w grid of sensors, two-way links of ~1 km, speeds with rush hours and noise."""
    rng = np.random.default_rng(seed)
    ids = [f"S{i:02d}" for i in range(h * w)]
    lat = np.repeat(np.arange(h), w) * 0.009 + 34.0
    lon = np.tile(np.arange(w), h) * 0.011 - 118.0
    sensors = pd.DataFrame({"latitude": lat, "longitude": lon, "name": ids}, index=pd.Index(ids, name="sensor_id"))
    rows = []
    for i in range(h):
        for j in range(w):
            v = i * w + j
            if j + 1 < w:
                rows += [(ids[v], ids[v + 1]), (ids[v + 1], ids[v])]
            if i + 1 < h:
                rows += [(ids[v], ids[v + w]), (ids[v + w], ids[v])]
    links = pd.DataFrame(rows, columns=["from_id", "to_id"])
    links["length_km"] = rng.uniform(0.8, 1.2, len(links))
    links["capacity"] = np.nan
    index = pd.date_range("2024-03-04", periods=int(days * pd.Timedelta("1D") / pd.Timedelta(freq)), freq=freq)
    hours = index.hour.to_numpy() + index.minute.to_numpy() / 60
    rush = np.exp(-((hours - 8) ** 2) / 2) + np.exp(-((hours - 17.5) ** 2) / 2)
    base = rng.uniform(50, 90, len(ids))
    sens = rng.uniform(0.1, 0.6, len(ids))
    noise = rng.normal(0, 4, (len(index), len(ids)))
    speeds = np.clip(base * (1 - sens * rush[:, None]) + noise, 2, None)
    readings = pd.DataFrame(speeds, index=index, columns=ids)
    if value_kind == "count":
        readings = pd.DataFrame(rng.poisson(50 + 40 * rush[:, None], (len(index), len(ids))), index=index, columns=ids)
        readings = readings.astype(float)
    return make_dataset(readings, sensors, links, value_kind)


@pytest.fixture
def grid_dataset() -> Dataset:
    return make_grid_dataset()

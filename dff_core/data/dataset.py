"""The validated traffic dataset shared by scenarios, the CLI and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from dff_core.data.digest import dataset_digest
from dff_core.data.graph import link_lines
from dff_core.data.parsing import format_duration
from dff_core.errors import DataError

__all__ = ["DEFAULT_COUNT_UNIT", "MPH_TO_KMH", "VALUE_KINDS", "Dataset", "per_interval", "value_unit"]

MPH_TO_KMH = 1.609344
VALUE_KINDS = ("speed_kmh", "speed_mph", "count")
#: What counts count when no unit is given.
DEFAULT_COUNT_UNIT = "vehicles"


def per_interval(freq: pd.Timedelta | None) -> str:
    """``"per hour"``, ``"per 15 min"``, ``"per day"``: the interval a count covers, for unit labels."""
    if freq is None:
        return "per interval"
    td = pd.Timedelta(freq)
    named = {pd.Timedelta("1h"): "per hour", pd.Timedelta("1D"): "per day", pd.Timedelta("1min"): "per minute"}
    return named.get(td) or f"per {format_duration(td)}"


def value_unit(value_kind: str, freq: pd.Timedelta | None = None, count_unit: str | None = None) -> str:
    """The unit of one reading: ``"km/h"``, ``"mph"``, or the count unit per interval."""
    if value_kind == "speed_kmh":
        return "km/h"
    if value_kind == "speed_mph":
        return "mph"
    return f"{count_unit or DEFAULT_COUNT_UNIT} {per_interval(freq)}"


@dataclass
class Dataset:
    """Sensor readings on a regular time grid, sensor locations and a road graph between sensors.

    ``readings`` is wide (index ``timestamp``, one float column per sensor id) without missing
    values: short gaps are interpolated, timestamps inside long gaps are removed, so the index
    lies on a grid of step ``freq`` but may have holes (``readings.asfreq(freq)`` restores them as NaN).
    The index is naive local clock time, or carries a time zone when the file's timestamps had UTC
    offsets (then hours and weekdays are local to that zone). ``count_unit`` names what counts count
    (``"vehicles"`` unless given, e.g. ``"boardings"``).
    """

    readings: pd.DataFrame
    sensors: gpd.GeoDataFrame
    links: pd.DataFrame
    value_kind: str
    freq: pd.Timedelta
    graph_inferred: bool
    source: str
    count_unit: str | None = None

    @property
    def sensor_ids(self) -> list[str]:
        return [str(c) for c in self.readings.columns]

    @property
    def is_speed(self) -> bool:
        return self.value_kind.startswith("speed")

    @property
    def unit(self) -> str:
        """What one reading measures, for labels: ``"km/h"``, ``"mph"``, ``"vehicles per 15 min"``."""
        return value_unit(self.value_kind, self.freq, self.count_unit)

    def speeds_kmh(self) -> pd.DataFrame:
        """Readings in km/h (mph are converted); raises :class:`DataError` for counts."""
        if self.value_kind == "speed_kmh":
            return self.readings.copy()
        if self.value_kind == "speed_mph":
            return self.readings * MPH_TO_KMH
        raise DataError(
            [
                f"{self.source}: the readings are counts ({self.unit}), not speeds. Load speed readings "
                "(value='speed_kmh' or 'speed_mph'), or route on travel times from counts (the traffic scenario "
                "does so through a link performance function)."
            ]
        )

    def links_gdf(self) -> gpd.GeoDataFrame:
        """Links as straight LineStrings between their sensors (EPSG:4326), for maps."""
        lon = self.sensors["longitude"]
        lat = self.sensors["latitude"]
        f, t = self.links["from_id"], self.links["to_id"]
        coords = np.stack(
            [
                np.column_stack([lon.loc[f].to_numpy(), lat.loc[f].to_numpy()]),
                np.column_stack([lon.loc[t].to_numpy(), lat.loc[t].to_numpy()]),
            ],
            axis=1,
        )
        geom = link_lines(coords) if len(coords) else []
        return gpd.GeoDataFrame(self.links.reset_index(drop=True).copy(), geometry=geom, crs="EPSG:4326")

    def complete_index(self) -> pd.DatetimeIndex:
        """The full regular time grid from the first to the last reading."""
        return pd.date_range(self.readings.index[0], self.readings.index[-1], freq=self.freq, name="timestamp")

    def digest(self) -> str:
        """SHA-256 of the content (readings, sensors, links, units, step), stable across runs; for caching."""
        return dataset_digest(self)

    def __repr__(self) -> str:
        idx = self.readings.index
        span = f"{idx[0]} .. {idx[-1]}" if len(idx) else "empty"
        return (
            f"Dataset(source={self.source!r}, sensors={self.readings.shape[1]}, steps={len(idx)}, "
            f"freq={self.freq}, value_kind={self.value_kind!r}, unit={self.unit!r}, links={len(self.links)}, "
            f"graph_inferred={self.graph_inferred}, span={span})"
        )

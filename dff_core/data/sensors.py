"""Sensor locations: read the id / latitude / longitude rows and validate them into a GeoDataFrame.

Sensors come from a sensors file or from the latitude/longitude columns of long-format
readings; both arrive as :class:`SensorRows`. A few sensors with unusable coordinates are
dropped with a warning; many are an error, since that usually means a wrong file or swapped
columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from dff_core.data.graph import MIN_LINK_KM
from dff_core.data.io import Table, match_columns
from dff_core.data.parsing import normalize_ids, parse_numbers
from dff_core.data.report import IssueCollector, ValidationReport

__all__ = [
    "LAT_ALIASES",
    "LON_ALIASES",
    "MAX_DROP_SHARE",
    "SENSOR_ALIASES",
    "SensorRows",
    "Sensors",
    "parse_sensors",
    "read_sensor_rows",
]

#: Up to this share of sensors with unusable coordinates is dropped with a warning; more is an error.
MAX_DROP_SHARE = 0.2

SENSOR_ALIASES = ["sensor", "sensorid", "id", "detector", "detector_id", "station", "station_id", "node", "node_id"]
LAT_ALIASES = ["lat", "y", "lat_deg"]
LON_ALIASES = ["lon", "lng", "long", "x", "lon_deg"]


@dataclass
class SensorRows:
    """Sensor rows as read: ``frame`` has ``sensor_id`` (normalised), ``lat_raw``, ``lon_raw``, ``name``
    (text) and ``_line``; ``columns`` maps ``sensor_id``/``latitude``/``longitude`` to the file's names."""

    frame: pd.DataFrame
    columns: dict[str, str]

    @classmethod
    def from_columns(cls, df: pd.DataFrame, cols: dict[str, str], ids: pd.Series | None = None) -> SensorRows:
        """Pick the sensor columns ``cols`` of a table frame; ``ids`` overrides the normalised id column."""
        frame = pd.DataFrame(
            {
                "sensor_id": normalize_ids(df[cols["sensor_id"]]) if ids is None else ids,
                "lat_raw": df[cols["latitude"]],
                "lon_raw": df[cols["longitude"]],
                "name": df[cols["name"]] if "name" in cols else "",
                "_line": df["_line"],
            }
        )
        return cls(frame, cols)

    @property
    def ids(self) -> set[str]:
        """Every id listed (including empty and repeated ones)."""
        return set(self.frame["sensor_id"])


@dataclass
class Sensors:
    """Validated sensor locations (index ``sensor_id``; ``latitude``, ``longitude``, ``name``; EPSG:4326).

    ``listed`` holds every id in the file, including sensors dropped for bad coordinates, so that
    other files may still name them (their readings and links are then dropped, not rejected).
    """

    frame: gpd.GeoDataFrame
    listed: set[str]


def read_sensor_rows(table: Table, issues: IssueCollector) -> SensorRows | None:
    """The sensor columns of a sensors file; ``None`` (with an error) when a required column is missing."""
    cols = match_columns(
        table,
        ["sensor_id", "latitude", "longitude"],
        ["name"],
        {"sensor_id": SENSOR_ALIASES, "latitude": LAT_ALIASES, "longitude": LON_ALIASES, "name": ["label"]},
        issues,
        what="sensor files",
    )
    if cols is None:
        return None
    return SensorRows.from_columns(table.frame(), cols)


def _check_ids(rows: SensorRows, name: str, issues: IssueCollector) -> tuple[pd.DataFrame, bool]:
    """Report empty and repeated ids; returns the rows with one row per non-empty id, and whether all were fine."""
    raw, cols = rows.frame, rows.columns
    ok = True
    empty = raw["sensor_id"] == ""
    for ln in raw.loc[empty, "_line"]:
        issues.error(name, int(ln), cols["sensor_id"], "the sensor id is empty. Give every sensor an id.", kind="id")
        ok = False
    raw = raw[~empty]
    first: dict[str, int] = {}
    for sid, ln in zip(raw["sensor_id"], raw["_line"]):
        if sid in first:
            issues.error(
                name,
                int(ln),
                cols["sensor_id"],
                f"sensor '{sid}' is listed twice (also on line {first[sid]}). Keep one row per sensor.",
                kind="duplicate sensor",
            )
            ok = False
        else:
            first[sid] = int(ln)
    return raw.drop_duplicates("sensor_id"), ok


def _coordinate_problem(row: pd.Series, zero: bool, lat_bad: bool, cols: dict[str, str]) -> tuple[str, str]:
    """The column and the reason why one sensor's coordinates are unusable."""
    if zero:
        return cols["latitude"], "coordinates are 0/0 (a placeholder, not a location)"
    if lat_bad:
        if not str(row["lat_raw"]).strip():
            return cols["latitude"], "latitude is empty"
        return cols["latitude"], f"latitude '{row['lat_raw']}' is not a number between -90 and 90"
    if not str(row["lon_raw"]).strip():
        return cols["longitude"], "longitude is empty"
    return cols["longitude"], f"longitude '{row['lon_raw']}' is not a number between -180 and 180"


def _warn_same_coordinates(
    raw: pd.DataFrame, coords: pd.DataFrame, name: str, column: str, issues: IssueCollector
) -> None:
    """Warn (for up to 10 groups) about sensors that share one location: their links get the minimum length."""
    same = coords.duplicated(keep=False).to_numpy()
    if not same.any():
        return
    groups = raw[same].groupby([coords["lat"][same].to_numpy(), coords["lon"][same].to_numpy()])
    for _, grp in list(groups)[:10]:
        ids = grp["sensor_id"].tolist()
        issues.warn(
            name,
            int(grp["_line"].iloc[1]),
            column,
            f"sensors {', '.join(repr(i) for i in ids)} have identical coordinates; links between them get "
            f"the minimum length of {MIN_LINK_KM * 1000:g} m. Check their coordinates.",
            kind="same coordinates",
        )


def parse_sensors(rows: SensorRows, name: str, issues: IssueCollector, report: ValidationReport) -> Sensors | None:
    """Validate ids and coordinates; drop a few sensors with unusable coordinates (warning).

    Returns ``None`` when an error was recorded (ids empty or repeated, too many bad coordinates).
    """
    cols = rows.columns
    raw, ok = _check_ids(rows, name, issues)
    lat = parse_numbers(raw["lat_raw"]).values
    lon = parse_numbers(raw["lon_raw"]).values
    lat_bad = ~np.isfinite(lat) | (np.abs(lat) > 90)
    lon_bad = ~np.isfinite(lon) | (np.abs(lon) > 180)
    zero = (lat == 0) & (lon == 0)
    bad = lat_bad | lon_bad | zero
    n, nbad = len(raw), int(bad.sum())
    swapped = (
        nbad > 0
        and bool(np.all(np.abs(lat[bad & np.isfinite(lat)]) > 90))
        and bool(np.all(np.abs(lon[np.isfinite(lon)]) <= 90))
    )
    hint = " Latitude and longitude look swapped." if swapped and nbad == n else ""
    droppable = nbad <= MAX_DROP_SHARE * n and n - nbad >= 2
    for i in np.flatnonzero(bad):
        row = raw.iloc[i]
        col, why = _coordinate_problem(row, bool(zero[i]), bool(lat_bad[i]), cols)
        sid, line = row["sensor_id"], int(row["_line"])
        if droppable:
            msg = f"sensor '{sid}': {why}; the sensor was dropped. Fix its coordinates to keep it."
            issues.warn(name, line, col, msg, kind="bad coordinates")
        else:
            msg = f"sensor '{sid}': {why}. Give WGS84 decimal degrees (e.g. 52.37, 4.89).{hint}"
            issues.error(name, line, col, msg, kind="bad coordinates")
            ok = False
    if nbad and droppable:
        dropped = raw.loc[bad, "sensor_id"].tolist()
        issues.warn(
            name,
            None,
            None,
            f"dropped {nbad} of {n} sensors with unusable coordinates: {', '.join(dropped[:20])}"
            f"{', ...' if nbad > 20 else ''}.",
        )
        report.dropped_sensors.extend(dropped)
    if not ok:
        return None
    keep = ~bad
    _warn_same_coordinates(raw[keep], pd.DataFrame({"lat": lat, "lon": lon})[keep], name, cols["latitude"], issues)
    names = raw["name"].astype(str).where(raw["name"].astype(str).str.strip() != "", raw["sensor_id"])
    gdf = gpd.GeoDataFrame(
        {"latitude": lat[keep], "longitude": lon[keep], "name": names[keep].to_numpy(dtype=object)},
        index=pd.Index(raw.loc[keep, "sensor_id"].to_numpy(dtype=object), name="sensor_id"),
        geometry=gpd.points_from_xy(lon[keep], lat[keep]),
        crs="EPSG:4326",
    )
    return Sensors(gdf, set(raw["sensor_id"]))

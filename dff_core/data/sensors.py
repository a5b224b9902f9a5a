"""Sensor locations: read the id / coordinate rows and validate them into a GeoDataFrame.

Sensors come from a sensors file or from the coordinate columns of long-format readings; both
arrive as :class:`SensorRows`. Coordinates are WGS84 ``latitude``/``longitude`` degrees, or
``x``/``y`` in the reference system named by ``crs`` (converted to degrees with pyproj). A few
sensors without coordinates, or at the 0/0 placeholder, are dropped with a warning; many are an
error. Degrees out of range are always an error: they usually mean projected coordinates given
without ``crs``, or swapped columns, and the message says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from dff_core.data.crs import looks_projected, to_lonlat
from dff_core.data.graph import MIN_LINK_KM
from dff_core.data.io import Table, match_columns, normalize_column
from dff_core.data.parsing import normalize_ids, parse_numbers
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.errors import option_hint

__all__ = [
    "LAT_ALIASES",
    "LON_ALIASES",
    "MAX_DROP_SHARE",
    "SENSOR_ALIASES",
    "X_ALIASES",
    "Y_ALIASES",
    "SensorRows",
    "Sensors",
    "coordinate_columns",
    "parse_sensors",
    "read_sensor_rows",
]

#: Up to this share of sensors with unusable coordinates is dropped with a warning; more is an error.
MAX_DROP_SHARE = 0.2

SENSOR_ALIASES = ["sensor", "sensorid", "id", "detector", "detector_id", "station", "station_id", "node", "node_id"]
LAT_ALIASES = ["lat", "lat_deg"]
LON_ALIASES = ["lon", "lng", "long", "lon_deg"]
X_ALIASES = ["easting", "east", "x_m", "xcoord", "x_coord"]
Y_ALIASES = ["northing", "north", "y_m", "ycoord", "y_coord"]


def coordinate_columns(columns: list[str]) -> tuple[list[str], dict[str, list[str]], bool]:
    """Which coordinate columns a header has: ``(canonical names, aliases, xy)``.

    ``latitude``/``longitude`` (or their aliases) when present, else ``x``/``y`` (or easting/northing),
    whose names are then mapped onto ``latitude`` (y) and ``longitude`` (x); ``xy`` says which.
    """
    norm = {normalize_column(c) for c in columns}
    has_lat = "latitude" in norm or any(a in norm for a in LAT_ALIASES)
    has_x = ("x" in norm or any(a in norm for a in X_ALIASES)) and ("y" in norm or any(a in norm for a in Y_ALIASES))
    if not has_lat and has_x:
        return ["x", "y"], {"x": X_ALIASES, "y": Y_ALIASES}, True
    return ["latitude", "longitude"], {"latitude": LAT_ALIASES, "longitude": LON_ALIASES}, False


@dataclass
class SensorRows:
    """Sensor rows as read: ``frame`` has ``sensor_id`` (normalised), ``lat_raw``, ``lon_raw``, ``name``
    (text) and ``_line``; ``columns`` maps ``sensor_id``/``latitude``/``longitude`` to the file's names.

    With ``xy`` the coordinates came from ``x``/``y`` columns: ``lon_raw`` holds x and ``lat_raw`` y.
    """

    frame: pd.DataFrame
    columns: dict[str, str]
    xy: bool = False

    @classmethod
    def from_columns(cls, df: pd.DataFrame, cols: dict[str, str], ids: pd.Series | None = None) -> SensorRows:
        """Pick the sensor columns ``cols`` of a table frame; ``ids`` overrides the normalised id column.

        ``cols`` names ``latitude``/``longitude`` or ``x``/``y`` (then ``xy`` is set).
        """
        xy = "x" in cols and "latitude" not in cols
        if xy:
            rest = {k: v for k, v in cols.items() if k not in ("x", "y")}
            cols = {**rest, "latitude": cols["y"], "longitude": cols["x"]}
        frame = pd.DataFrame(
            {
                "sensor_id": normalize_ids(df[cols["sensor_id"]]) if ids is None else ids,
                "lat_raw": df[cols["latitude"]],
                "lon_raw": df[cols["longitude"]],
                "name": df[cols["name"]] if "name" in cols else "",
                "_line": df["_line"],
            }
        )
        return cls(frame, cols, xy)

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
    coords, aliases, _ = coordinate_columns(table.columns)
    cols = match_columns(
        table,
        ["sensor_id", *coords],
        ["name"],
        {"sensor_id": SENSOR_ALIASES, **aliases, "name": ["label"]},
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


def _unusable(row: pd.Series, cols: dict[str, str]) -> tuple[str, str, str]:
    """The column, the message and the short reason for a sensor whose coordinates are missing or not numbers."""
    for key, raw in (("latitude", row["lat_raw"]), ("longitude", row["lon_raw"])):
        col = cols[key]
        if not str(raw).strip():
            return col, f"{col} is empty", "without coordinates"
        if not np.isfinite(parse_numbers(pd.Series([raw])).values[0]):
            return col, f"{col} '{raw}' is not a number", "coordinates not numbers"
    return cols["latitude"], "coordinates are unusable", "coordinates unusable"


def _range_hint(lat: np.ndarray, lon: np.ndarray, xy: bool, everywhere: bool) -> str:
    """Why degrees are out of range: projected coordinates without crs, swapped columns (when every
    sensor is out of range), or typos."""
    if looks_projected(np.r_[lat, lon]):
        return (
            "The coordinates look projected (metres, e.g. UTM or a national grid), not degrees: pass their "
            f"coordinate system with {option_hint('crs', 'EPSG:32631')} for UTM zone 31N (the data's "
            "documentation names it), or convert them to WGS84 degrees."
        )
    if not xy and everywhere and np.all(np.abs(lat) > 90) and np.all(np.abs(lon) <= 90):
        return "Latitude and longitude look swapped."
    return "Give WGS84 decimal degrees (e.g. 52.37, 4.89), or pass crs= if they are in another system."


def _out_of_range(
    raw: pd.DataFrame,
    lat: np.ndarray,
    lon: np.ndarray,
    out: np.ndarray,
    rows: SensorRows,
    name: str,
    crs: str | None,
    issues: IssueCollector,
) -> None:
    """Errors for coordinates outside the globe: one naming the likely cause, then one per sensor."""
    cols = rows.columns
    if crs is not None:
        issues.error(
            name,
            None,
            None,
            f"{int(out.sum())} sensor(s) cannot be placed: their coordinates converted from crs={crs!r} fall outside "
            "the globe. Check that crs names the system the coordinates are in (x = easting, y = northing).",
        )
        for i in np.flatnonzero(out):
            row = raw.iloc[i]
            issues.error(
                name,
                int(row["_line"]),
                cols["longitude"],
                f"sensor '{row['sensor_id']}': {row['lon_raw']}, {row['lat_raw']} is not a place in {crs}.",
                kind="bad coordinates",
            )
        return
    hint = _range_hint(lat[out], lon[out], rows.xy, everywhere=bool(out.sum() == np.isfinite(lat).sum()))
    issues.error(name, None, None, f"{int(out.sum())} sensor(s) have coordinates that are not degrees. {hint}")
    for i in np.flatnonzero(out):
        row = raw.iloc[i]
        if np.abs(lat[i]) > 90:
            col, why = cols["latitude"], f"latitude '{row['lat_raw']}' is not a number between -90 and 90"
        else:
            col, why = cols["longitude"], f"longitude '{row['lon_raw']}' is not a number between -180 and 180"
        issues.error(name, int(row["_line"]), col, f"sensor '{row['sensor_id']}': {why}.", kind="bad coordinates")


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


def parse_sensors(
    rows: SensorRows, name: str, issues: IssueCollector, report: ValidationReport, crs: str | None = None
) -> Sensors | None:
    """Validate ids and coordinates (converted from ``crs`` when given); drop a few unusable sensors.

    Sensors without (numeric) coordinates or at 0/0 (a common placeholder) are dropped with a
    warning when they are few (at most :data:`MAX_DROP_SHARE`), else they are errors. Coordinates
    outside the globe are always errors. Returns ``None`` when an error was recorded.
    """
    cols = rows.columns
    raw, ok = _check_ids(rows, name, issues)
    y = parse_numbers(raw["lat_raw"]).values
    x = parse_numbers(raw["lon_raw"]).values
    unusable = ~np.isfinite(y) | ~np.isfinite(x)
    zero = (y == 0) & (x == 0)
    if crs is not None:
        lon, lat = to_lonlat(x, y, crs)
        out = ~unusable & ~zero & ~np.isfinite(lat)
        report.info.append(f"{name}: coordinates converted from {crs} to WGS84 longitude/latitude")
        report.crs = str(crs)
    else:
        lat, lon = y, x
        out = ~unusable & ~zero & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
        if rows.xy and not out.any():
            issues.warn(
                name,
                1,
                cols["longitude"],
                f"columns '{cols['longitude']}'/'{cols['latitude']}' were read as longitude/latitude in degrees; "
                "pass crs= if they are in another coordinate system.",
            )
    bad = unusable | zero
    n, nbad = len(raw), int(bad.sum())
    droppable = nbad <= MAX_DROP_SHARE * n and n - nbad - int(out.sum()) >= 2
    for i in np.flatnonzero(bad):
        row = raw.iloc[i]
        if zero[i]:
            col, why, reason = cols["latitude"], "coordinates are 0/0 (a placeholder, not a location)", "at 0/0"
        else:
            col, why, reason = _unusable(row, cols)
        sid, line = row["sensor_id"], int(row["_line"])
        if droppable:
            msg = f"sensor '{sid}': {why}; the sensor was dropped. Fix its coordinates to keep it."
            issues.warn(name, line, col, msg, kind="bad coordinates")
            report.drop_sensor(str(sid), reason)
        else:
            msg = f"sensor '{sid}': {why}. Give every sensor its coordinates (WGS84 degrees, or x/y with crs=)."
            issues.error(name, line, col, msg, kind="bad coordinates")
            ok = False
    if out.any():
        _out_of_range(raw, y, x, out, rows, name, crs, issues)
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

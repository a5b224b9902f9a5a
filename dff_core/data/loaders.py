"""Load and validate sensor readings, sensor locations and road links into a :class:`Dataset`.

:func:`load_dataset` reads every file, collects every problem it finds as an :class:`Issue`
(file, line, column, what to do) and either returns the validated data with a
:class:`ValidationReport` or raises one :class:`DataError` that lists all errors at once.
Problems that leave the rest usable (a few bad coordinates, short gaps, rare impossible values)
become warnings and the data is repaired as the warning says.
"""

from __future__ import annotations

import difflib
import re
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dff_core.data.dataset import MPH_TO_KMH, VALUE_KINDS, Dataset
from dff_core.data.graph import DETOUR_FACTOR, MIN_LINK_KM, haversine_km, knn_links, n_components
from dff_core.data.io import INDEX_COLUMN, Source, Table, _norm, display_name, match_columns, read_table
from dff_core.data.report import Issue, IssueCollector, ValidationReport
from dff_core.errors import DataError

__all__ = ["DEFAULT_MIN_STEPS", "MAX_KMH", "load_dataset"]

#: Fewest complete time steps accepted: lag features plus train/validation/test splits need
#: at least about a day of 15-minute data.
DEFAULT_MIN_STEPS = 96
#: Speeds above this (km/h) are treated as impossible readings.
MAX_KMH = 250.0
#: Up to this share of sensors with unusable coordinates (or readings) is dropped with a warning;
#: more is an error, since it usually means a wrong file or swapped columns.
MAX_DROP_SHARE = 0.2
#: Up to this share of impossible values (negative, too fast) is treated as missing with a warning.
MAX_BAD_VALUE_SHARE = 0.01
#: A sensor still missing more than this share of steps after short gaps are filled is dropped.
MAX_MISSING_SHARE = 0.1

MISSING_TOKENS = {"", "na", "nan", "null", "none", "n/a", "#n/a", "-", "missing"}

TIME_ALIASES = ["time", "datetime", "date_time", "time_stamp", "ts", "date", "period"]
SENSOR_ALIASES = ["sensor", "sensorid", "id", "detector", "detector_id", "station", "station_id", "node", "node_id"]
VALUE_ALIASES = ["speed", "speed_kmh", "speed_mph", "count", "counts", "flow", "volume", "reading", "val"]
LAT_ALIASES = ["lat", "y", "lat_deg"]
LON_ALIASES = ["lon", "lng", "long", "x", "lon_deg"]

_FLOAT_ID = re.compile(r"^(-?\d+)\.0+$")


def _norm_id(s: str) -> str:
    """Sensor ids as text; '717447.0' (a spreadsheet's float) becomes '717447'."""
    s = str(s).strip()
    m = _FLOAT_ID.match(s)
    return m.group(1) if m else s


def _norm_ids(values: pd.Series) -> pd.Series:
    """Vectorised :func:`_norm_id`."""
    return values.astype(str).str.strip().str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True).astype(object)


def _is_missing(values: pd.Series) -> np.ndarray:
    return values.str.strip().str.lower().isin(MISSING_TOKENS).to_numpy()


def _to_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strings -> floats; returns (values, missing mask, unparsable mask)."""
    values = values.astype(str)
    missing = _is_missing(values)
    num = pd.to_numeric(values.where(~missing, None), errors="coerce").to_numpy(dtype=float, copy=True)
    bad = np.isnan(num) & ~missing
    # 'inf' parses but is not a usable reading
    inf = np.isinf(num)
    bad |= inf
    num[inf] = np.nan
    return num, missing, bad


def _parse_times(strings: pd.Series) -> tuple[pd.Series, str | None]:
    """Parse timestamp strings (ISO first, then any common format); unparsable -> NaT."""
    uniq = pd.Series(pd.unique(strings.astype(str)))
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(uniq, errors="coerce", format="ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(uniq, errors="coerce", format="ISO8601", utc=True)
        if parsed.isna().any():
            try:
                alt = pd.to_datetime(uniq, errors="coerce", format="mixed")
            except (ValueError, TypeError):
                alt = pd.to_datetime(uniq, errors="coerce", format="mixed", utc=True)
            if alt.notna().sum() > parsed.notna().sum():
                parsed = alt
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
        note = "timestamps carry a time-zone offset; the local clock time was kept and the offset dropped"
    years = parsed.dt.year
    parsed = parsed.where(years.between(1900, 2200))  # outside this range it is a typo, not a reading
    parsed = parsed.astype("datetime64[ns]")
    lookup = dict(zip(uniq, parsed))
    return strings.astype(str).map(lookup).astype("datetime64[ns]"), note


def _as_timedelta(freq: Any, argname: str = "freq") -> pd.Timedelta:
    try:
        td = pd.Timedelta(pd.tseries.frequencies.to_offset(freq)) if isinstance(freq, str) else pd.Timedelta(freq)
    except (ValueError, TypeError):
        try:
            td = pd.Timedelta(freq)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{argname}={freq!r} is not a time step; use e.g. '5min', '15min' or '1h'.") from exc
    if td <= pd.Timedelta(0):
        raise ValueError(f"{argname}={freq!r} must be a positive time step, e.g. '15min'.")
    return td


def _fmt_td(td: pd.Timedelta) -> str:
    secs = int(td.total_seconds())
    if secs % 3600 == 0:
        return f"{secs // 3600} h"
    if secs % 60 == 0:
        return f"{secs // 60} min"
    return f"{secs} s"


# --------------------------------------------------------------------------------------- sensors


def _sensor_table_frame(table: Table, issues: IssueCollector) -> pd.DataFrame | None:
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
    df = table.frame()
    out = pd.DataFrame(
        {
            "sensor_id": _norm_ids(df[cols["sensor_id"]]),
            "lat_raw": df[cols["latitude"]],
            "lon_raw": df[cols["longitude"]],
            "name": df[cols["name"]] if "name" in cols else "",
            "_line": df["_line"],
        }
    )
    out.attrs["cols"] = cols
    return out


def _parse_sensors(
    raw: pd.DataFrame, name: str, issues: IssueCollector, report: ValidationReport
) -> gpd.GeoDataFrame | None:
    """Validate ids and coordinates; drop a few sensors with unusable coordinates (warning)."""
    cols = raw.attrs["cols"]
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
    raw = raw.drop_duplicates("sensor_id")
    lat, _, _ = _to_float(raw["lat_raw"])
    lon, _, _ = _to_float(raw["lon_raw"])
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
        if zero[i]:
            col, why = cols["latitude"], "coordinates are 0/0 (a placeholder, not a location)"
        elif lat_bad[i]:
            col, why = cols["latitude"], f"latitude '{row['lat_raw']}' is not a number between -90 and 90"
            if not str(row["lat_raw"]).strip():
                why = "latitude is empty"
        else:
            col, why = cols["longitude"], f"longitude '{row['lon_raw']}' is not a number between -180 and 180"
            if not str(row["lon_raw"]).strip():
                why = "longitude is empty"
        if droppable:
            issues.warn(
                name,
                int(row["_line"]),
                col,
                f"sensor '{row['sensor_id']}': {why}; the sensor was dropped. Fix its coordinates to keep it.",
                kind="bad coordinates",
            )
        else:
            issues.error(
                name,
                int(row["_line"]),
                col,
                f"sensor '{row['sensor_id']}': {why}. Give WGS84 decimal degrees (e.g. 52.37, 4.89).{hint}",
                kind="bad coordinates",
            )
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
    coords = pd.DataFrame({"lat": lat, "lon": lon})[keep]
    same = coords.duplicated(keep=False).to_numpy()
    if same.any():
        groups = raw[keep][same].groupby([coords["lat"][same].to_numpy(), coords["lon"][same].to_numpy()])
        for _, grp in list(groups)[:10]:
            ids = grp["sensor_id"].tolist()
            issues.warn(
                name,
                int(grp["_line"].iloc[1]),
                cols["latitude"],
                f"sensors {', '.join(repr(i) for i in ids)} have identical coordinates; links between them get "
                f"the minimum length of {MIN_LINK_KM * 1000:g} m. Check their coordinates.",
                kind="same coordinates",
            )
    names = raw["name"].astype(str).where(raw["name"].astype(str).str.strip() != "", raw["sensor_id"])
    gdf = gpd.GeoDataFrame(
        {"latitude": lat[keep], "longitude": lon[keep], "name": names[keep].to_numpy(dtype=object)},
        index=pd.Index(raw.loc[keep, "sensor_id"].to_numpy(dtype=object), name="sensor_id"),
        geometry=gpd.points_from_xy(lon[keep], lat[keep]),
        crs="EPSG:4326",
    )
    gdf.attrs["lines"] = dict(zip(raw["sensor_id"], raw["_line"].astype(int)))
    gdf.attrs["all_ids"] = set(raw["sensor_id"])
    return gdf


# -------------------------------------------------------------------------------------- readings


def _layout(table: Table, known: set[str] | None, start: Any) -> str:
    norm = {_norm(c) for c in table.columns}
    has_ts = "timestamp" in norm or any(a in norm for a in TIME_ALIASES)
    has_sensor = "sensor_id" in norm or any(a in norm for a in SENSOR_ALIASES)
    has_value = "value" in norm or any(a in norm for a in VALUE_ALIASES)
    if has_ts and has_sensor and has_value:
        return "long"
    others = [_norm_id(c) for c in table.columns if _norm(c) not in (["timestamp", INDEX_COLUMN, *TIME_ALIASES])]
    if known and others and sum(c in known for c in others) >= 0.5 * len(others):
        return "wide" if has_ts else ("wide_nots" if start is not None else "wide_missing_ts")
    if start is not None and not has_ts:
        return "wide_nots"
    long_names = ["sensor_id", "value", *SENSOR_ALIASES, *VALUE_ALIASES]
    near_long = any(difflib.get_close_matches(_norm(c), long_names, n=1, cutoff=0.75) for c in others)
    if has_ts and others and (len(table.columns) > 3 or (not near_long and not has_sensor and not has_value)):
        return "wide"
    if not has_ts and all(re.fullmatch(r"[-+0-9.eE]*", v or "") for v in table.rows[0][: min(5, len(table.rows[0]))]):
        return "wide_missing_ts" if len(table.columns) > 3 else "long"
    return "long"


def _first_lines(long: pd.DataFrame) -> dict[str, int]:
    first = long.drop_duplicates("sensor")
    return dict(zip(first["sensor"].astype(str), first["line"].astype(int)))


def _long_from_table(
    table: Table, layout: str, start: Any, freq: pd.Timedelta | None, issues: IssueCollector
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Any readings layout -> long frame (ts, sensor, raw, line, col)."""
    name = table.name
    meta: dict[str, Any] = {}
    if layout == "wide_missing_ts":
        issues.error(
            name,
            1,
            "timestamp",
            "there is no 'timestamp' column. Add one (e.g. 2025-03-03 07:15) as the first column, or for a file "
            "with one row per time step and no timestamps pass start= and freq= (e.g. start='2012-03-01', "
            "freq='5min').",
        )
        return None
    if layout == "long":
        cols = match_columns(
            table,
            ["timestamp", "sensor_id", "value"],
            ["latitude", "longitude", "name"],
            {
                "timestamp": TIME_ALIASES,
                "sensor_id": SENSOR_ALIASES,
                "value": VALUE_ALIASES,
                "latitude": LAT_ALIASES,
                "longitude": LON_ALIASES,
            },
            issues,
            what="long-format readings",
        )
        if cols is None:
            return None
        df = table.frame()
        long = pd.DataFrame(
            {
                "ts_raw": df[cols["timestamp"]],
                "sensor": _norm_ids(df[cols["sensor_id"]]),
                "raw": df[cols["value"]],
                "line": df["_line"].astype(np.int64),
            }
        )
        long["col"] = cols["value"]
        meta["cols"] = cols
        if "latitude" in cols and "longitude" in cols:
            meta["coords"] = pd.DataFrame(
                {
                    "sensor_id": long["sensor"],
                    "lat_raw": df[cols["latitude"]],
                    "lon_raw": df[cols["longitude"]],
                    "name": df[cols["name"]] if "name" in cols else "",
                    "_line": df["_line"],
                }
            ).drop_duplicates("sensor_id")
            meta["coords"].attrs["cols"] = cols
        for ln in long.loc[long["sensor"] == "", "line"]:
            issues.error(name, int(ln), cols["sensor_id"], "the sensor id is empty. Fill it in.", kind="empty id")
        long = long[long["sensor"] != ""]
        meta["first_line"] = _first_lines(long)
        return long, meta
    # wide layouts
    df = table.frame()
    ts_col = None
    if layout == "wide":
        by = {_norm(c): c for c in table.columns}
        ts_col = by.get("timestamp") or next(by[a] for a in TIME_ALIASES if a in by)
        if ts_col != "timestamp" and _norm(ts_col) != "timestamp":
            issues.warn(name, 1, ts_col, "read as the 'timestamp' column. Rename it to 'timestamp'.")
    sensor_cols = [c for c in table.columns if c != ts_col and c != INDEX_COLUMN]
    if INDEX_COLUMN in table.columns:
        issues.warn(name, 1, INDEX_COLUMN, "looks like a row-number column and was ignored.")
    meta["wide_cols"] = {_norm_id(c): c for c in sensor_cols}
    if len(set(meta["wide_cols"])) < len(sensor_cols):
        return None  # duplicate headers already reported
    if layout == "wide_nots":
        if freq is None:
            issues.error(
                name,
                None,
                None,
                "has no timestamps; pass freq= (the time step, e.g. '5min') together with start=.",
            )
            return None
        t0 = pd.Timestamp(start)
        ts = pd.Series(t0 + freq * np.arange(len(df)), dtype="datetime64[ns]")
        ts_raw = ts.astype(str)
        meta["synthetic_time"] = True
    else:
        ts_raw = df[ts_col]
    n = len(df)
    long = pd.DataFrame(
        {
            "ts_raw": np.tile(ts_raw.to_numpy(dtype=object), len(sensor_cols)),
            "sensor": np.repeat([_norm_id(c) for c in sensor_cols], n),
            "raw": np.concatenate([df[c].to_numpy(dtype=object) for c in sensor_cols]) if sensor_cols else [],
            "line": np.tile(df["_line"].to_numpy(dtype=np.int64), len(sensor_cols)),
            "col": np.repeat(sensor_cols, n),
        }
    )
    meta["ts_col"] = ts_col or "timestamp"
    meta["first_line"] = dict.fromkeys(meta["wide_cols"], 1)
    return long, meta


def _readings_frame(
    long: pd.DataFrame,
    meta: dict[str, Any],
    name: str,
    value: str,
    freq: pd.Timedelta | None,
    issues: IssueCollector,
    report: ValidationReport,
) -> tuple[pd.DataFrame, pd.Timedelta] | None:
    """Validate timestamps and values of the long frame; pivot to a regular wide grid (NaN = missing)."""
    ok = True
    ts_col = meta.get("ts_col") or meta.get("cols", {}).get("timestamp", "timestamp")
    if meta.get("synthetic_time"):
        ts = pd.to_datetime(long["ts_raw"]).astype("datetime64[ns]")
    else:
        ts, note = _parse_times(long["ts_raw"])
        if note:
            report.info.append(f"{name}: {note}")
        bad_ts = ts.isna().to_numpy()
        if bad_ts.any():
            ok = False
            seen: set[int] = set()
            for raw_t, ln in zip(long.loc[bad_ts, "ts_raw"], long.loc[bad_ts, "line"]):
                if ln in seen:
                    continue
                seen.add(int(ln))
                shown = f"'{raw_t}'" if str(raw_t).strip() else "an empty cell"
                issues.error(
                    name,
                    int(ln),
                    ts_col,
                    f"cannot read {shown} as a date and time. Use ISO format, e.g. 2025-03-03 07:15.",
                    kind="bad timestamp",
                )
    num, _missing, bad_num = _to_float(long["raw"])
    if bad_num.any():
        ok = False
        for raw_v, ln, col in zip(long.loc[bad_num, "raw"], long.loc[bad_num, "line"], long.loc[bad_num, "col"]):
            issues.error(
                name,
                int(ln),
                str(col),
                f"'{raw_v}' is not a number. Use a plain number with a '.' decimal point, or leave the cell empty "
                "if the reading is missing.",
                kind="not a number",
            )
    long = long.assign(ts=ts, value=num)
    long = long[long["ts"].notna()]
    # duplicates (same timestamp and sensor)
    dup_mask = long.duplicated(["ts", "sensor"], keep=False).to_numpy()
    if dup_mask.any():
        dups = long[dup_mask].sort_values("line")
        dropped_same = 0
        for (_, sid), grp in dups.groupby(["ts", "sensor"], sort=False):
            first_ln = int(grp["line"].iloc[0])
            vals = grp["value"].to_numpy()
            same = bool(np.all((vals == vals[0]) | (np.isnan(vals) & np.isnan(vals[0]))))
            for ln in grp["line"].iloc[1:]:
                if same:
                    dropped_same += 1
                    issues.warn(
                        name,
                        int(ln),
                        ts_col,
                        f"repeats line {first_ln} (same timestamp, sensor '{sid}' and value); the copy was ignored.",
                        kind="duplicate same",
                    )
                else:
                    ok = False
                    issues.error(
                        name,
                        int(ln),
                        ts_col,
                        f"sensor '{sid}' has two different readings for this timestamp (the other is on line "
                        f"{first_ln}). Keep one row per timestamp and sensor.",
                        kind="duplicate different",
                    )
        long = long.drop_duplicates(["ts", "sensor"], keep="first")
    # value range
    kind_label = {"speed_kmh": "km/h", "speed_mph": "mph", "count": "vehicles"}[value]
    v = long["value"].to_numpy()
    neg = v < 0
    hi = np.zeros_like(neg)
    limit = None
    if value != "count":
        limit = MAX_KMH if value == "speed_kmh" else MAX_KMH / MPH_TO_KMH
        hi = v > limit
    out_of_range = neg | hi
    n_valid = int(np.isfinite(v).sum())
    if out_of_range.any():
        few = out_of_range.sum() <= MAX_BAD_VALUE_SHARE * max(n_valid, 1)
        sub = long[out_of_range]
        for val, ln, col in zip(sub["value"], sub["line"], sub["col"]):
            if val < 0:
                why = f"{val:g} is negative; a {'count' if value == 'count' else 'speed'} cannot be below 0"
            else:
                why = (
                    f"{val:g} {kind_label} is faster than {limit:g} {kind_label}; if the values are counts "
                    "pass value='count', if they are mph pass value='speed_mph'"
                )
            if few:
                issues.warn(name, int(ln), str(col), f"{why}. Treated as missing.", kind="out of range")
            else:
                issues.error(name, int(ln), str(col), f"{why}. Fix the value or the declared unit.", kind="range")
        if few:
            long.loc[out_of_range, "value"] = np.nan
        else:
            ok = False
    if not ok:
        return None
    if long.empty:
        issues.error(name, None, None, "has no readings. Give at least one value per sensor and time step.")
        return None
    # time grid
    uniq = np.sort(long["ts"].unique())
    if len(uniq) < 2:
        issues.error(
            name, None, ts_col, "has readings for only one time step; a time series needs many (see min_steps)."
        )
        return None
    diffs = pd.Series(np.diff(uniq)).astype("timedelta64[ns]")
    native = pd.Timedelta(diffs.mode().iloc[0])
    step = native if freq is None else freq
    if freq is not None and freq != native and (freq < native or freq % native != pd.Timedelta(0)):
        finer = freq < native
        issues.error(
            name,
            None,
            ts_col,
            f"the readings come every {_fmt_td(native)} but freq={_fmt_td(freq)} was requested; "
            + (
                "a finer step would invent readings. Leave freq unset or use a multiple of the data's step."
                if finer
                else f"freq must be a whole multiple of {_fmt_td(native)} (e.g. {_fmt_td(native * 2)}) to average."
            ),
        )
        return None
    # anchor the grid on the most common phase, so one odd first timestamp does not shift the grid
    uniq_ts = pd.DatetimeIndex(uniq)
    phase = pd.Series((uniq_ts - pd.Timestamp(0)) % native)
    t0 = pd.Timestamp(uniq_ts[phase == phase.mode().iloc[0]][0])
    if freq is not None and freq > native:
        long = long.assign(ts=t0 + ((long["ts"] - t0) // freq) * freq)
        long = long.groupby(["ts", "sensor"], as_index=False, sort=False).agg(
            value=("value", "mean"), line=("line", "first"), col=("col", "first")
        )
        report.info.append(f"{name}: readings every {_fmt_td(native)} were averaged to the requested {_fmt_td(freq)}")
    off = ((long["ts"] - t0) % (native if freq is None or freq <= native else freq)) != pd.Timedelta(0)
    if freq is not None and freq > native:
        off[:] = False  # already binned onto the freq grid
    if off.any():
        sub = long[off].drop_duplicates("ts").sort_values("ts")
        prev_of = dict(zip(uniq[1:], uniq[:-1]))
        for t, ln in zip(sub["ts"], sub["line"]):
            prev = prev_of.get(np.datetime64(t, "ns"))
            after = f" ({_fmt_td(pd.Timestamp(t) - pd.Timestamp(prev))} after the previous one)" if prev else ""
            issues.error(
                name,
                int(ln),
                ts_col,
                f"timestamp {pd.Timestamp(t)} is off the regular {_fmt_td(step)} grid that starts at {t0}{after}. "
                "Readings must be evenly spaced: fix or remove this timestamp, or pass freq= to average onto a "
                "coarser step.",
                kind="irregular interval",
            )
        return None
    ts_sorted = long["ts"].sort_values()
    grid = pd.date_range(ts_sorted.iloc[0], ts_sorted.iloc[-1], freq=step, name="timestamp")
    sensor_order = list(dict.fromkeys(long["sensor"]))
    wide = long.pivot(index="ts", columns="sensor", values="value").reindex(index=grid, columns=sensor_order)
    wide = wide.astype(float)
    wide.index.name = "timestamp"
    wide.columns = pd.Index([str(c) for c in wide.columns], dtype=object, name=None)
    return wide, step


def _fill_gaps(
    wide: pd.DataFrame, max_gap: int, name: str, freq: pd.Timedelta, issues: IssueCollector, report: ValidationReport
) -> pd.DataFrame:
    """Interpolate NaN runs up to ``max_gap`` steps; drop sensors / timestamps with longer gaps."""
    mask = wide.isna()
    if not mask.to_numpy().any():
        return wide
    fill = pd.DataFrame(False, index=wide.index, columns=wide.columns)
    for c in wide.columns:
        m = mask[c].to_numpy()
        if not m.any() or m.all():
            continue
        run_id = np.cumsum(~m)
        lengths = pd.Series(run_id[m]).value_counts()
        runlen = np.zeros(len(m), dtype=int)
        runlen[m] = lengths.reindex(run_id[m]).to_numpy()
        fill[c] = m & (runlen <= max_gap)
    interp = wide.interpolate(method="linear", limit_area="inside").ffill().bfill()
    filled = wide.where(~fill, interp)
    n_filled = int(fill.to_numpy().sum())
    report.filled_values += n_filled
    if n_filled:
        report.info.append(
            f"{name}: filled {n_filled} missing value(s) in gaps of up to {max_gap} step(s) by linear interpolation"
        )
    still = filled.isna()
    share = still.mean()
    empty = [c for c in filled.columns if still[c].all()]
    for c in empty:
        issues.warn(name, None, str(c), f"sensor '{c}' has no valid readings; it was dropped.", kind="no readings")
    sparse = [c for c in filled.columns if c not in empty and share[c] > MAX_MISSING_SHARE]
    for c in sparse:
        issues.warn(
            name,
            None,
            str(c),
            f"sensor '{c}' misses {share[c]:.0%} of the time steps even after filling gaps of up to {max_gap} "
            "steps; it was dropped.",
            kind="sparse sensor",
        )
    drop = empty + sparse
    report.dropped_sensors.extend(drop)
    filled = filled.drop(columns=drop)
    rows = filled.isna().any(axis=1)
    if rows.any():
        idx = filled.index[rows]
        # summarise as time ranges
        breaks = np.flatnonzero(np.diff(np.flatnonzero(rows.to_numpy())) != 1)
        pos = np.flatnonzero(rows.to_numpy())
        starts = np.r_[pos[0], pos[breaks + 1]]
        ends = np.r_[pos[breaks], pos[-1]]
        ranges = [
            f"{filled.index[s]}" if s == e else f"{filled.index[s]} to {filled.index[e]}"
            for s, e in zip(starts[:5], ends[:5])
        ]
        more = f" and {len(starts) - 5} more" if len(starts) > 5 else ""
        issues.warn(
            name,
            None,
            None,
            f"{len(idx)} time step(s) in gaps longer than {max_gap} steps ({_fmt_td(freq)} each) were removed: "
            f"{'; '.join(ranges)}{more}. Raise max_gap_steps to interpolate longer gaps.",
        )
        report.dropped_timestamps += len(idx)
        filled = filled[~rows]
    return filled


def _unit_hint(column: str | None, value: str, name: str, issues: IssueCollector) -> None:
    """Warn when the value column's name contradicts the declared unit (e.g. 'speed_mph' read as km/h)."""
    if not column:
        return
    n = _norm(column).replace("/", "")
    named = None
    if "mph" in n:
        named = "speed_mph"
    elif "kmh" in n or "kph" in n:
        named = "speed_kmh"
    elif any(w in n for w in ("count", "flow", "volume")):
        named = "count"
    if named and named != value:
        issues.warn(
            name,
            1,
            column,
            f"the column name suggests {named!r} but value={value!r} was declared; pass value={named!r} "
            "if that is what the readings are.",
        )


# ----------------------------------------------------------------------------------------- links


def _parse_links(
    table: Table,
    sensors: gpd.GeoDataFrame,
    all_ids: set[str],
    issues: IssueCollector,
    report: ValidationReport,
) -> pd.DataFrame | None:
    name = table.name
    cols = match_columns(
        table,
        ["from_id", "to_id"],
        ["length_km", "capacity"],
        {
            "from_id": ["from", "source", "from_sensor", "init_node", "start_id", "origin"],
            "to_id": ["to", "target", "to_sensor", "term_node", "end_id", "destination"],
            "length_km": ["length", "distance_km", "dist_km", "km", "distance"],
            "capacity": ["cap", "capacity_vph"],
        },
        issues,
        what="link files",
    )
    if cols is None:
        return None
    df = table.frame()
    f = _norm_ids(df[cols["from_id"]])
    t = _norm_ids(df[cols["to_id"]])
    lines = df["_line"].astype(int).to_numpy()
    ok = True
    present = set(map(str, sensors.index))
    keep = np.ones(len(df), dtype=bool)
    for ids, col in ((f, cols["from_id"]), (t, cols["to_id"])):
        for i, sid in enumerate(ids):
            if sid == "":
                issues.error(name, int(lines[i]), col, "the sensor id is empty. Fill it in.", kind="empty id")
                ok = False
            elif sid not in all_ids:
                issues.error(
                    name,
                    int(lines[i]),
                    col,
                    f"'{sid}' is not a sensor in the sensor file. Use an id from the sensor file or remove this link.",
                    kind="unknown sensor",
                )
                ok = False
            elif sid not in present:
                keep[i] = False
    n_dropped_sensor = int((~keep).sum())
    if n_dropped_sensor:
        issues.warn(
            name,
            None,
            None,
            f"{n_dropped_sensor} link(s) touch sensors that were dropped (see above); those links were removed.",
        )
    if "length_km" in cols:
        length, _, bad = _to_float(df[cols["length_km"]])
        for i in np.flatnonzero(bad):
            issues.error(
                name,
                int(lines[i]),
                cols["length_km"],
                f"'{df[cols['length_km']].iloc[i]}' is not a number.",
                kind="length nan",
            )
            ok = False
        nonpos = np.isfinite(length) & (length <= 0)
        for i in np.flatnonzero(nonpos):
            issues.error(
                name, int(lines[i]), cols["length_km"], f"length {length[i]:g} km must be positive.", kind="length<=0"
            )
            ok = False
    else:
        length = np.full(len(df), np.nan)
    if "capacity" in cols:
        cap, _, bad = _to_float(df[cols["capacity"]])
        for i in np.flatnonzero(bad):
            issues.error(
                name,
                int(lines[i]),
                cols["capacity"],
                f"'{df[cols['capacity']].iloc[i]}' is not a number.",
                kind="cap nan",
            )
            ok = False
        for i in np.flatnonzero(np.isfinite(cap) & (cap <= 0)):
            issues.error(name, int(lines[i]), cols["capacity"], f"capacity {cap[i]:g} must be positive.", kind="cap<=0")
            ok = False
    else:
        cap = np.full(len(df), np.nan)
    if not ok:
        return None
    links = pd.DataFrame({"from_id": f, "to_id": t, "length_km": length, "capacity": cap, "_line": lines})[keep]
    selfloop = links["from_id"] == links["to_id"]
    for ln, sid in zip(links.loc[selfloop, "_line"], links.loc[selfloop, "from_id"]):
        issues.warn(name, int(ln), cols["to_id"], f"link from '{sid}' to itself was ignored.", kind="self loop")
    links = links[~selfloop]
    dup = links.duplicated(["from_id", "to_id"])
    for ln in links.loc[dup, "_line"]:
        issues.warn(name, int(ln), cols["from_id"], "repeats an earlier link; the repeat was ignored.", kind="dup link")
    links = links[~dup]
    report.dropped_links += n_dropped_sensor + int(selfloop.sum()) + int(dup.sum())
    if links.empty:
        issues.error(name, None, None, "has no usable links between the sensors. Give from_id,to_id rows.")
        return None
    nolen = links["length_km"].isna().to_numpy()
    if nolen.any():
        lat, lon = sensors["latitude"], sensors["longitude"]
        fr, to = links.loc[nolen, "from_id"], links.loc[nolen, "to_id"]
        links.loc[nolen, "length_km"] = np.maximum(
            MIN_LINK_KM,
            DETOUR_FACTOR
            * haversine_km(
                lat.loc[fr].to_numpy(), lon.loc[fr].to_numpy(), lat.loc[to].to_numpy(), lon.loc[to].to_numpy()
            ),
        )
        report.info.append(
            f"{name}: {int(nolen.sum())} link length(s) were not given and were estimated as the straight-line "
            f"distance x {DETOUR_FACTOR} detour factor"
        )
    return links.drop(columns="_line").reset_index(drop=True)


# ------------------------------------------------------------------------------------------- api


def load_dataset(
    readings: Source,
    sensors: Source | None = None,
    links: Source | None = None,
    *,
    value: str = "speed_kmh",
    start: Any = None,
    freq: Any = None,
    readings_name: str | None = None,
    sensors_name: str | None = None,
    links_name: str | None = None,
    max_gap_steps: int = 3,
    k_neighbours: int = 3,
    min_steps: int = DEFAULT_MIN_STEPS,
    source: str | None = None,
) -> tuple[Dataset, ValidationReport]:
    """Read, validate and assemble a traffic :class:`Dataset`.

    Each of ``readings``, ``sensors``, ``links`` may be a path, CSV bytes, a file-like object
    (e.g. a Streamlit upload) or a DataFrame. ``value`` declares what the readings measure:
    ``"speed_kmh"``, ``"speed_mph"`` or ``"count"``. ``start``/``freq`` give the time axis of a
    wide file without timestamps; ``freq`` coarser than the data averages onto that step.
    Without ``links`` a connected ``k_neighbours``-nearest-neighbour road graph is built.
    Without ``sensors`` the long-format readings must carry latitude/longitude columns.

    Returns the dataset and a report of warnings and notes; raises :class:`DataError` listing
    every error (with file, line and column) when the input cannot be used.
    """
    if value not in VALUE_KINDS:
        raise ValueError(f"value={value!r} is not supported; use one of {', '.join(VALUE_KINDS)}.")
    if not isinstance(max_gap_steps, (int, np.integer)) or max_gap_steps < 0:
        raise ValueError(f"max_gap_steps={max_gap_steps!r} must be a non-negative integer.")
    if not isinstance(k_neighbours, (int, np.integer)) or k_neighbours < 1:
        raise ValueError(f"k_neighbours={k_neighbours!r} must be a positive integer.")
    if not isinstance(min_steps, (int, np.integer)) or min_steps < 2:
        raise ValueError(f"min_steps={min_steps!r} must be an integer of at least 2.")
    step = _as_timedelta(freq) if freq is not None else None
    if start is not None:
        try:
            pd.Timestamp(start)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"start={start!r} is not a date and time; use e.g. '2012-03-01 00:00'.") from exc

    report = ValidationReport()
    issues = IssueCollector(report)
    rname = display_name(readings, readings_name, "readings.csv")
    sname = display_name(sensors, sensors_name, "sensors.csv") if sensors is not None else "sensors.csv"
    lname = display_name(links, links_name, "links.csv") if links is not None else "links.csv"
    if source is None:
        source = str(readings) if isinstance(readings, (str,)) and "\n" not in readings else "upload"
        if hasattr(readings, "__fspath__"):
            source = str(readings)

    rt = read_table(readings, rname, issues)
    st = read_table(sensors, sname, issues) if sensors is not None else None
    lt = read_table(links, lname, issues) if links is not None else None

    sraw = _sensor_table_frame(st, issues) if st is not None else None
    known = set(sraw["sensor_id"]) if sraw is not None else None

    wide = None
    meta: dict[str, Any] = {}
    if rt is not None and rt.rows:
        layout = _layout(rt, known, start)
        if start is not None and layout in ("wide", "long"):
            issues.warn(rname, 1, None, "has its own timestamps; start= was ignored.")
        parsed = _long_from_table(rt, layout, start, step, issues)
        if parsed is not None:
            long, meta = parsed
            _unit_hint(meta.get("cols", {}).get("value"), value, rname, issues)
            res = _readings_frame(long, meta, rname, value, step, issues, report)
            if res is not None:
                wide, step = res

    if sraw is None and st is None and "coords" in meta:
        sraw = meta["coords"]
        report.info.append(f"sensor locations were taken from the latitude/longitude columns of {rname}")
        sname = rname
    elif st is None and "first_line" in meta:
        issues.error(
            sname,
            None,
            None,
            "no sensor file was given. Give a sensors file (sensor_id,latitude,longitude[,name]) so the sensors "
            f"can be placed on the map and joined into a road graph, or add latitude/longitude columns to {rname}.",
        )
    sgdf = _parse_sensors(sraw, sname, issues, report) if sraw is not None else None

    # cross-file checks run whenever both sides could be read, even if other problems were found
    reading_ids: list[str] | None = list(meta["first_line"]) if "first_line" in meta else None
    if reading_ids is not None and sgdf is not None:
        all_ids = sgdf.attrs["all_ids"]
        wide_cols = meta.get("wide_cols")
        for sid in [c for c in reading_ids if c not in all_ids]:
            col = wide_cols[sid] if wide_cols else meta.get("cols", {}).get("sensor_id", "sensor_id")
            issues.error(
                rname,
                meta["first_line"][sid],
                col,
                f"sensor '{sid}' has readings but is not in {sname}. Add it (with coordinates) to {sname}, "
                "or remove its readings.",
                kind="unknown sensor",
            )
        have = set(reading_ids)
        unused = [sid for sid in sgdf.index if sid not in have]
        if unused:
            issues.warn(
                sname,
                None,
                None,
                f"{len(unused)} sensor(s) have no readings in {rname} and were left out: "
                f"{', '.join(unused[:20])}{', ...' if len(unused) > 20 else ''}.",
            )
        sgdf = sgdf.loc[[sid for sid in sgdf.index if sid in have]]
    if wide is not None and sgdf is not None and not issues.has_errors():
        wide = wide[[c for c in wide.columns if c in sgdf.index]]  # drops sensors with bad coordinates
        wide = _fill_gaps(wide, int(max_gap_steps), rname, step, issues, report)
        sgdf = sgdf.loc[list(wide.columns)]
        if wide.shape[1] < 2:
            issues.error(
                rname,
                None,
                None,
                f"only {wide.shape[1]} usable sensor(s) remain; a road network needs at least 2. "
                "Check the warnings above.",
            )
        elif len(wide) < min_steps:
            issues.error(
                rname,
                None,
                meta.get("ts_col", "timestamp"),
                f"only {len(wide)} complete time step(s) of {_fmt_td(step)}; at least {min_steps} are needed to "
                f"build lag features and train/validation/test splits. Give a longer period "
                f"(at least {_fmt_td(step * min_steps)}).",
            )
    links_df = None
    graph_inferred = False
    if lt is not None and sgdf is not None:
        all_ids = sgdf.attrs["all_ids"]
        links_df = _parse_links(lt, sgdf, all_ids, issues, report)
        if links_df is not None and not issues.has_errors():
            parts = n_components(list(sgdf.index), links_df)
            if parts > 1:
                issues.warn(
                    lname,
                    None,
                    None,
                    f"the links form {parts} separate parts; no route exists between sensors in different parts. "
                    "Add links that join them.",
                )
    elif lt is None and wide is not None and sgdf is not None and not issues.has_errors():
        links_df, added = knn_links(sgdf, int(k_neighbours))
        graph_inferred = True
        extra = f", plus {added} link(s) joining separate clusters" if added else ""
        report.info.append(
            f"built a {min(k_neighbours, len(sgdf) - 1)}-nearest-neighbour road graph ({len(links_df)} links, "
            f"both directions{extra}) because no links file was given; lengths are straight-line distance "
            f"x {DETOUR_FACTOR}"
        )
    issues.flush()
    if not report.ok or wide is None or sgdf is None or links_df is None:
        if report.ok:  # defensive: every failure path above records an error
            report.errors.append(Issue(rname, None, None, "could not be loaded; see the warnings.", "error"))
        err = DataError(report.errors, warnings=report.warnings)
        err.report = report
        raise err
    sensors_out = sgdf.copy()
    sensors_out.attrs = {}
    wide.columns = pd.Index([str(c) for c in wide.columns], dtype=object)
    ds = Dataset(
        readings=wide,
        sensors=sensors_out,
        links=links_df.astype({"from_id": object, "to_id": object, "length_km": float, "capacity": float}),
        value_kind=value,
        freq=pd.Timedelta(step),
        graph_inferred=graph_inferred,
        source=source,
    )
    report.info.insert(
        0,
        f"loaded {wide.shape[1]} sensors x {len(wide)} time steps of {_fmt_td(step)} "
        f"({wide.index[0]} to {wide.index[-1]}), {len(links_df)} links",
    )
    return ds, report

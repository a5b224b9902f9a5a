"""Sensor readings, step 1: recognise the file's layout and bring it into one long shape.

Readings come long (``timestamp,sensor_id,value``), wide (``timestamp`` plus one column per
sensor) or wide without timestamps (then ``start``/``freq`` date the rows). Each becomes a
:class:`LongReadings`: one text cell per (time, sensor) with the line and column it came from,
so that :mod:`dff_core.data.timegrid` can validate the values and name every bad cell.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from dff_core.data.io import INDEX_COLUMN, Table, match_columns, normalize_column
from dff_core.data.parsing import normalize_id, normalize_ids
from dff_core.data.report import IssueCollector
from dff_core.data.sensors import SENSOR_ALIASES, SensorRows, coordinate_columns

__all__ = [
    "TIME_ALIASES",
    "VALUE_ALIASES",
    "Layout",
    "LongReadings",
    "detect_layout",
    "to_long",
    "warn_unit_mismatch",
]

TIME_ALIASES = ["time", "datetime", "date_time", "time_stamp", "ts", "date", "period"]
VALUE_ALIASES = ["speed", "speed_kmh", "speed_mph", "count", "counts", "flow", "volume", "reading", "val"]

#: ``long``: timestamp,sensor_id,value rows; ``wide``: a timestamp column plus a column per sensor;
#: ``wide_nots``: sensor columns only, dated by start/freq; ``wide_missing_ts``: sensor columns only, undated.
Layout = Literal["long", "wide", "wide_nots", "wide_missing_ts"]


@dataclass
class LongReadings:
    """Readings of any layout as text cells, one row per (time, sensor), and where each came from.

    ``frame`` has ``ts_raw``, ``sensor``, ``raw`` (the cell text), ``line`` and ``col`` (the file's
    line and column of the cell).
    """

    frame: pd.DataFrame
    #: The file's timestamp column ("timestamp" when the times were generated from start/freq).
    time_column: str
    #: Each sensor id and the first line that mentions it (1 = the header, for wide files).
    first_line: dict[str, int]
    #: Long files: the sensor id and value columns; wide files: each sensor id's column header.
    id_column: str = "sensor_id"
    value_column: str | None = None
    sensor_columns: dict[str, str] | None = None
    #: True when the timestamps were generated from start/freq (they need no parsing).
    generated_times: bool = False
    #: Sensor locations from latitude/longitude columns of a long file, if it has them.
    locations: SensorRows | None = None

    def column_of(self, sensor_id: str) -> str:
        """The column to name in a message about ``sensor_id``."""
        return self.sensor_columns[sensor_id] if self.sensor_columns else self.id_column


def detect_layout(table: Table, known: set[str] | None, start: object) -> Layout:
    """Guess the layout from the header, the sensor ids ``known`` from a sensors file and ``start``."""
    norm = {normalize_column(c) for c in table.columns}
    has_ts = "timestamp" in norm or any(a in norm for a in TIME_ALIASES)
    has_sensor = "sensor_id" in norm or any(a in norm for a in SENSOR_ALIASES)
    has_value = "value" in norm or any(a in norm for a in VALUE_ALIASES)
    if has_ts and has_sensor and has_value:
        return "long"
    not_time = ["timestamp", INDEX_COLUMN, *TIME_ALIASES]
    others = [normalize_id(c) for c in table.columns if normalize_column(c) not in not_time]
    if known and others and sum(c in known for c in others) >= 0.5 * len(others):
        return "wide" if has_ts else ("wide_nots" if start is not None else "wide_missing_ts")
    if start is not None and not has_ts:
        return "wide_nots"
    if has_ts and others and (len(table.columns) > 3 or not (has_sensor or has_value or _near_long(others))):
        return "wide"
    if not has_ts and all(re.fullmatch(r"[-+0-9.eE]*", v or "") for v in table.rows[0][: min(5, len(table.rows[0]))]):
        return "wide_missing_ts" if len(table.columns) > 3 else "long"
    return "long"


def _near_long(columns: list[str]) -> bool:
    """Whether a column name is a near-miss of a long-format column ('sensr_id', 'valu'); at most 3 names
    reach here, so the fuzzy match never runs once per column of a wide file."""
    names = ["sensor_id", "value", *SENSOR_ALIASES, *VALUE_ALIASES]
    return any(difflib.get_close_matches(normalize_column(c), names, n=1, cutoff=0.75) for c in columns)


def to_long(
    table: Table, layout: Layout, start: pd.Timestamp | None, freq: pd.Timedelta | None, issues: IssueCollector
) -> LongReadings | None:
    """Any readings layout -> :class:`LongReadings`; ``None`` (with an error) when it cannot be read."""
    if layout == "wide_missing_ts":
        issues.error(
            table.name,
            1,
            "timestamp",
            "there is no 'timestamp' column. Add one (e.g. 2025-03-03 07:15) as the first column, or for a file "
            "with one row per time step and no timestamps pass start= and freq= (e.g. start='2012-03-01', "
            "freq='5min').",
        )
        return None
    if layout == "long":
        return _from_long(table, issues)
    return _from_wide(table, layout, start, freq, issues)


def _from_long(table: Table, issues: IssueCollector) -> LongReadings | None:
    coords, coord_aliases, _ = coordinate_columns(table.columns)
    cols = match_columns(
        table,
        ["timestamp", "sensor_id", "value"],
        [*coords, "name"],
        {"timestamp": TIME_ALIASES, "sensor_id": SENSOR_ALIASES, "value": VALUE_ALIASES, **coord_aliases},
        issues,
        what="long-format readings",
    )
    if cols is None:
        return None
    df = table.frame()
    long = pd.DataFrame(
        {
            "ts_raw": df[cols["timestamp"]],
            "sensor": normalize_ids(df[cols["sensor_id"]]),
            "raw": df[cols["value"]],
            "line": df["_line"].astype(np.int64),
        }
    )
    long["col"] = cols["value"]
    locations = None
    if all(c in cols for c in coords):
        locations = SensorRows.from_columns(df, cols, ids=long["sensor"])
        locations.frame = locations.frame.drop_duplicates("sensor_id")
    empty = (long["sensor"] == "").to_numpy()
    if empty.any():
        for ln in long.loc[empty, "line"]:
            issues.error(table.name, int(ln), cols["sensor_id"], "the sensor id is empty. Fill it in.", kind="empty id")
        long = long[~empty]
    first = long.drop_duplicates("sensor")
    return LongReadings(
        long,
        time_column=cols["timestamp"],
        first_line=dict(zip(first["sensor"].astype(str), first["line"].astype(int))),
        id_column=cols["sensor_id"],
        value_column=cols["value"],
        locations=locations,
    )


def _from_wide(
    table: Table, layout: Layout, start: pd.Timestamp | None, freq: pd.Timedelta | None, issues: IssueCollector
) -> LongReadings | None:
    name = table.name
    df = table.frame()
    ts_col = None
    if layout == "wide":
        by = {normalize_column(c): c for c in table.columns}
        ts_col = by.get("timestamp") or next(by[a] for a in TIME_ALIASES if a in by)
        if ts_col != "timestamp" and normalize_column(ts_col) != "timestamp":
            issues.warn(name, 1, ts_col, "read as the 'timestamp' column. Rename it to 'timestamp'.")
    sensor_cols = [c for c in table.columns if c != ts_col and c != INDEX_COLUMN]
    if INDEX_COLUMN in table.columns:
        issues.warn(name, 1, INDEX_COLUMN, "looks like a row-number column and was ignored.")
    columns = {normalize_id(c): c for c in sensor_cols}
    if len(set(columns)) < len(sensor_cols):
        return None  # duplicate headers already reported
    if layout == "wide_nots":
        if freq is None or start is None:
            issues.error(
                name,
                None,
                None,
                "has no timestamps; pass freq= (the time step, e.g. '5min') together with start=.",
            )
            return None
        ts_raw = pd.Series(start + freq * np.arange(len(df)), dtype="datetime64[ns]").astype(str)
    else:
        ts_raw = df[ts_col]
    n = len(df)
    long = pd.DataFrame(
        {
            "ts_raw": np.tile(ts_raw.to_numpy(dtype=object), len(sensor_cols)),
            "sensor": np.repeat([normalize_id(c) for c in sensor_cols], n),
            "raw": np.concatenate([df[c].to_numpy(dtype=object) for c in sensor_cols]) if sensor_cols else [],
            "line": np.tile(df["_line"].to_numpy(dtype=np.int64), len(sensor_cols)),
            "col": np.repeat(sensor_cols, n),
        }
    )
    return LongReadings(
        long,
        time_column=ts_col or "timestamp",
        first_line=dict.fromkeys(columns, 1),
        sensor_columns=columns,
        generated_times=layout == "wide_nots",
    )


def warn_unit_mismatch(column: str | None, value: str, name: str, issues: IssueCollector) -> None:
    """Warn when the value column's name contradicts the declared unit (e.g. 'speed_mph' read as km/h)."""
    if not column:
        return
    n = normalize_column(column).replace("/", "")
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

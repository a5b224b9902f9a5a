"""Road links between sensors: read and validate a links file, or build a graph when there is none.

A links file names ``from_id,to_id`` and optionally ``length_km`` (or ``length_m``, converted),
``capacity`` (vehicles per hour), ``lanes`` and ``free_flow_kmh``; the last two are kept only when
given (traffic routing from counts uses them for its link performance function).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dff_core.data.graph import DETOUR_FACTOR, MIN_LINK_KM, haversine_km, knn_links
from dff_core.data.io import Table, match_columns, normalize_column
from dff_core.data.parsing import normalize_ids, parse_numbers
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.data.sensors import Sensors

__all__ = ["LINK_COLUMNS", "OPTIONAL_LINK_COLUMNS", "infer_links", "parse_links"]

#: The columns of a dataset's links table.
LINK_COLUMNS = ["from_id", "to_id", "length_km", "capacity"]
#: Columns kept in the links table only when the links file gives them.
OPTIONAL_LINK_COLUMNS = ["lanes", "free_flow_kmh"]
#: Given lengths this many times the straight-line distance between their sensors are taken for metres.
METRES_RATIO = 200.0

_UNITLESS_LENGTH = ["length", "distance"]
_ALIASES = {
    "from_id": ["from", "source", "from_sensor", "init_node", "start_id", "origin"],
    "to_id": ["to", "target", "to_sensor", "term_node", "end_id", "destination"],
    "length_km": [*_UNITLESS_LENGTH, "distance_km", "dist_km", "km"],
    "length_m": ["length_meters", "length_metres", "meters", "metres", "distance_m", "dist_m", "len_m"],
    "capacity": ["cap", "capacity_vph"],
    "lanes": ["num_lanes", "n_lanes", "lane_count", "nlanes"],
    "free_flow_kmh": ["free_flow_speed", "ff_speed", "free_speed", "speed_limit", "speed_limit_kmh", "maxspeed"],
}


def _check_ends(
    ends: list[tuple[pd.Series, str]], sensors: Sensors, lines: np.ndarray, name: str, issues: IssueCollector
) -> tuple[np.ndarray, bool]:
    """Which links join sensors that were kept; empty or unknown ids are errors (False)."""
    ok = True
    present = set(map(str, sensors.frame.index))
    keep = np.ones(len(lines), dtype=bool)
    for ids, col in ends:
        for i, sid in enumerate(ids):
            if sid == "":
                issues.error(name, int(lines[i]), col, "the sensor id is empty. Fill it in.", kind="empty id")
                ok = False
            elif sid not in sensors.listed:
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
    return keep, ok


def _positive_numbers(
    cells: pd.Series | None, label: str, unit: str, kind: str, lines: np.ndarray, name: str, issues: IssueCollector
) -> tuple[np.ndarray, bool]:
    """An optional numeric column (NaN where absent or empty); non-numbers and values <= 0 are errors."""
    if cells is None:
        return np.full(len(lines), np.nan), True
    col = str(cells.name)
    values, _, bad = parse_numbers(cells)
    for i in np.flatnonzero(bad):
        issues.error(name, int(lines[i]), col, f"'{cells.iloc[i]}' is not a number.", kind=f"{kind} nan")
    nonpos = np.flatnonzero(np.isfinite(values) & (values <= 0))
    for i in nonpos:
        issues.error(name, int(lines[i]), col, f"{label} {values[i]:g}{unit} must be positive.", kind=f"{kind}<=0")
    return values, not bad.any() and not len(nonpos)


def _fill_lengths(links: pd.DataFrame, sensors: Sensors, name: str, report: ValidationReport) -> None:
    """Missing lengths become the straight-line distance x :data:`DETOUR_FACTOR` (in place, noted)."""
    nolen = links["length_km"].isna().to_numpy()
    if not nolen.any():
        return
    lat, lon = sensors.frame["latitude"], sensors.frame["longitude"]
    fr, to = links.loc[nolen, "from_id"], links.loc[nolen, "to_id"]
    straight = haversine_km(lat.loc[fr], lon.loc[fr], lat.loc[to], lon.loc[to])
    links.loc[nolen, "length_km"] = np.maximum(MIN_LINK_KM, DETOUR_FACTOR * straight)
    report.info.append(
        f"{name}: {int(nolen.sum())} link length(s) were not given and were estimated as the straight-line "
        f"distance x {DETOUR_FACTOR} detour factor"
    )


def _length_unit(
    links: pd.DataFrame, sensors: Sensors, column: str, name: str, issues: IssueCollector, report: ValidationReport
) -> bool:
    """Lengths in km that are ~1000x the sensors' distance are metres: converted when the column's
    name gives no unit (warning), an error when it says km. False when an error was recorded."""
    have = links["length_km"].notna().to_numpy()
    if not have.any():
        return True
    lat, lon = sensors.frame["latitude"], sensors.frame["longitude"]
    fr, to = links.loc[have, "from_id"], links.loc[have, "to_id"]
    straight = haversine_km(lat.loc[fr], lon.loc[fr], lat.loc[to], lon.loc[to])
    apart = straight > MIN_LINK_KM
    if apart.sum() < 1:
        return True
    ratio = float(np.median(links.loc[have, "length_km"].to_numpy()[apart] / straight[apart]))
    if ratio < METRES_RATIO:
        return True
    what = f"the lengths are about {ratio:,.0f} times the straight-line distance between their sensors"
    if normalize_column(column) in _UNITLESS_LENGTH:
        links["length_km"] = links["length_km"] / 1000.0
        issues.warn(name, 1, column, f"{what}, so they were read as metres. Name the column length_m or length_km.")
        report.info.append(f"{name}: link lengths in '{column}' read as metres")
        return True
    issues.error(
        name,
        1,
        column,
        f"{what}: they look like metres, not km. Rename the column to 'length_m' (metres are converted), or give km.",
    )
    return False


def parse_links(
    table: Table, sensors: Sensors, issues: IssueCollector, report: ValidationReport
) -> pd.DataFrame | None:
    """Validate a links file against the sensors: ``from_id, to_id[, length_km, capacity, lanes, free_flow_kmh]``.

    Links touching sensors dropped for bad coordinates, self-loops and repeated links are dropped
    with a warning; missing lengths are estimated from the coordinates; ``length_m`` is converted
    to km. ``None`` on errors.
    """
    name = table.name
    optional = ["length_km", "length_m", "capacity", *OPTIONAL_LINK_COLUMNS]
    cols = match_columns(table, ["from_id", "to_id"], optional, _ALIASES, issues, what="link files")
    if cols is None:
        return None
    df = table.frame()
    f = normalize_ids(df[cols["from_id"]])
    t = normalize_ids(df[cols["to_id"]])
    lines = df["_line"].astype(int).to_numpy()
    keep, ok = _check_ends([(f, cols["from_id"]), (t, cols["to_id"])], sensors, lines, name, issues)
    n_dropped_sensor = int((~keep).sum())
    if n_dropped_sensor:
        issues.warn(
            name,
            None,
            None,
            f"{n_dropped_sensor} link(s) touch sensors that were dropped (see above); those links were removed.",
        )
    metres = "length_km" not in cols and "length_m" in cols
    length_col = cols.get("length_km") or cols.get("length_m")
    unit = " m" if metres else " km"
    length_cells = df[length_col] if length_col else None
    length, ok_length = _positive_numbers(length_cells, "length", unit, "length", lines, name, issues)
    if metres:
        length = length / 1000.0
        report.info.append(f"{name}: link lengths in '{length_col}' converted from metres to km")
    numbers = {"length_km": length}
    oks = [ok, ok_length]
    for key, label in (("capacity", "capacity"), ("lanes", "lanes"), ("free_flow_kmh", "free-flow speed")):
        cells = df[cols[key]] if key in cols else None
        numbers[key], ok_key = _positive_numbers(cells, label, "", key, lines, name, issues)
        oks.append(ok_key)
    if not all(oks):
        return None
    extra = {k: numbers[k] for k in OPTIONAL_LINK_COLUMNS if k in cols}
    links = pd.DataFrame(
        {"from_id": f, "to_id": t, "length_km": length, "capacity": numbers["capacity"], **extra, "_line": lines}
    )[keep]
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
    if length_col and not metres and not _length_unit(links, sensors, length_col, name, issues, report):
        return None
    _fill_lengths(links, sensors, name, report)
    return links.drop(columns="_line").reset_index(drop=True)


def infer_links(sensors: Sensors, k: int, report: ValidationReport) -> pd.DataFrame:
    """A connected ``k``-nearest-neighbour road graph for data without a links file (noted in the report)."""
    links, added = knn_links(sensors.frame, k)
    extra = f", plus {added} link(s) joining separate clusters" if added else ""
    report.info.append(
        f"built a {min(k, len(sensors.frame) - 1)}-nearest-neighbour road graph ({len(links)} links, "
        f"both directions{extra}) because no links file was given; lengths are straight-line distance "
        f"x {DETOUR_FACTOR}"
    )
    return links

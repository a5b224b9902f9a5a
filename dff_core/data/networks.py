"""Road networks from the Transportation Networks (TNTP) format and GeoJSON link files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dff_core.data.io import read_regular_file, regular_file_problem
from dff_core.errors import DataError

__all__ = ["load_geojson_links", "load_tntp_network"]

_META = re.compile(r"^<([^>]+)>\s*(.*)$")


#: TNTP columns that must not be negative (a negative capacity or length has no meaning).
NON_NEGATIVE = ("capacity", "length", "free_flow_time")
_MAX_LISTED = 20


def _body(lines: list[str], start: int, name: str) -> tuple[list[str], int, list[tuple[int, str]]]:
    """The '~' header after the metadata, its line number, and each link row as (line number, fields text)."""
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, str]] = []
    for i, line in enumerate(lines[start:], start=start + 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("~"):
            header = [c.strip().lower() for c in s.lstrip("~").replace(";", " ").split()]
            header_line = i
            continue
        rows.append((i, s.rstrip(";").strip()))
    if header is None:
        raise DataError([f"{name}: no column header line starting with '~' after the metadata."])
    return header, header_line, rows


def _check_rows(rows: list[tuple[int, str]], header: list[str], header_line: int, name: str) -> None:
    """A :class:`DataError` listing every row whose field count differs from the header's."""
    problems = [
        f"{name}, line {ln}: {n} fields but the '~' header (line {header_line}) names {len(header)}. "
        "Fix the fields on this line."
        for ln, text in rows
        if (n := len(text.split())) != len(header)
    ]
    if problems:
        more = len(problems) - _MAX_LISTED
        raise DataError(problems[:_MAX_LISTED] + ([f"{name}: ... and {more} more such line(s)."] if more > 0 else []))


def _check_values(frame: pd.DataFrame, rows: list[tuple[int, str]], name: str) -> None:
    """Every column numeric and finite, node ids integers, capacity/length/time not negative."""
    problems = []
    lines = [ln for ln, _ in rows]
    for j, col in enumerate(frame.columns):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            problems.append(
                f"{name}, line {lines[k]}, column '{col}': '{rows[k][1].split()[j]}' is not a number"
                f"{f' ({int(bad.sum())} rows in all)' if bad.sum() > 1 else ''}."
            )
        elif col in ("init_node", "term_node") and not pd.api.types.is_integer_dtype(frame[col]):
            problems.append(f"{name}: column '{col}' must hold integer node ids.")
        elif col in NON_NEGATIVE and (values < 0).any():
            k = int(np.flatnonzero(values.to_numpy() < 0)[0])
            problems.append(
                f"{name}, line {lines[k]}, column '{col}': {values.iloc[k]:g} is negative; {col} must be 0 or more."
            )
    if problems:
        raise DataError(problems)


def load_tntp_network(net_file: str | Path) -> pd.DataFrame:
    """Parse a TNTP ``*_net.tntp`` file into one row per directed link.

    Columns are the file's own (lower-case): usually ``init_node, term_node, capacity, length,
    free_flow_time, b, power, speed, toll, link_type``; node ids are integers. The metadata
    (``<NUMBER OF NODES>`` ...) is kept in ``frame.attrs["metadata"]``. A row with more or fewer
    fields than the header, a value that is not a number, a negative capacity, length or free-flow
    time, or a link count that disagrees with ``<NUMBER OF LINKS>`` raises :class:`DataError`
    naming the file and line.
    """
    path = Path(net_file)
    name = path.name
    text = read_regular_file(path).decode("utf-8", errors="replace")
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = None
    for i, line in enumerate(lines):
        m = _META.match(line.strip())
        if m:
            key = m.group(1).strip().upper()
            if key == "END OF METADATA":
                body_start = i + 1
                break
            meta[key] = m.group(2).strip()
    if body_start is None:
        raise DataError([f"{name}: no '<END OF METADATA>' line; is this a TNTP network (*_net.tntp) file?"])
    header, header_line, rows = _body(lines, body_start, name)
    for col in ("init_node", "term_node"):
        if col not in header:
            raise DataError([f"{name}: column '{col}' is missing from the '~' header line (line {header_line})."])
    if len(set(header)) != len(header):
        raise DataError([f"{name}: the '~' header (line {header_line}) names a column twice."])
    if not rows:
        raise DataError([f"{name}: no link rows after the '~' header (line {header_line})."])
    _check_rows(rows, header, header_line, name)
    body = "\n".join(text for _, text in rows)
    frame = pd.read_csv(io.StringIO(body), sep=r"\s+", header=None, names=header, quoting=csv.QUOTE_NONE)
    _check_values(frame, rows, name)
    expected = meta.get("NUMBER OF LINKS")
    if expected and expected.split()[0].isdigit() and int(expected.split()[0]) != len(frame):
        raise DataError([f"{name}: the metadata says {expected} links but {len(frame)} link rows were read."])
    frame.attrs["metadata"] = meta
    return frame


def load_geojson_links(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON file of road links (LineStrings) in WGS84 (EPSG:4326)."""
    path = Path(path)
    problem = regular_file_problem(path)
    if problem:
        raise DataError([f"{path.name}: {problem}"])
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own error types
        raise DataError([f"{path.name}: not a readable GeoJSON file ({exc})."]) from exc
    if gdf.empty:
        raise DataError([f"{path.name}: contains no features."])
    kinds = set(gdf.geometry.geom_type.dropna())
    if not kinds <= {"LineString", "MultiLineString"}:
        raise DataError([f"{path.name}: expected LineString road links, found {', '.join(sorted(kinds))} geometries."])
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    return gdf

"""Road networks from the Transportation Networks (TNTP) format and GeoJSON link files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from dff_core.errors import DataError

__all__ = ["load_geojson_links", "load_tntp_network"]

_META = re.compile(r"^<([^>]+)>\s*(.*)$")


def load_tntp_network(net_file: str | Path) -> pd.DataFrame:
    """Parse a TNTP ``*_net.tntp`` file into one row per directed link.

    Columns are the file's own (lower-case): usually ``init_node, term_node, capacity, length,
    free_flow_time, b, power, speed, toll, link_type``; node ids are integers. The metadata
    (``<NUMBER OF NODES>`` ...) is kept in ``frame.attrs["metadata"]``; a link count that
    disagrees with ``<NUMBER OF LINKS>`` raises :class:`DataError`.
    """
    path = Path(net_file)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError([f"{name}: could not read the file ({exc})."]) from exc
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
    header = None
    rows: list[str] = []
    for line in lines[body_start:]:
        s = line.strip()
        if not s:
            continue
        if s.startswith("~"):
            header = [c for c in s.lstrip("~").replace(";", " ").split()]
            continue
        rows.append(s.rstrip(";").strip())
    if header is None:
        raise DataError([f"{name}: no column header line starting with '~' after the metadata."])
    header = [h.strip().lower() for h in header]
    frame = pd.read_csv(io.StringIO("\n".join(rows)), sep=r"\s+", header=None, names=header, engine="python")
    for col in ("init_node", "term_node"):
        if col not in frame.columns:
            raise DataError([f"{name}: column '{col}' is missing from the '~' header line."])
        if frame[col].isna().any() or not pd.api.types.is_integer_dtype(frame[col]):
            raise DataError([f"{name}: column '{col}' must hold integer node ids."])
    expected = meta.get("NUMBER OF LINKS")
    if expected and expected.split()[0].isdigit() and int(expected.split()[0]) != len(frame):
        raise DataError([f"{name}: the metadata says {expected} links but {len(frame)} link rows were read."])
    frame.attrs["metadata"] = meta
    return frame


def load_geojson_links(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON file of road links (LineStrings) in WGS84 (EPSG:4326)."""
    path = Path(path)
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

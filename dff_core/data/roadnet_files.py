"""Road network files as raw tables: TNTP networks and node files, links CSV, GeoJSON/GeoPackage links.

Every reader returns a :class:`RawNetwork`: one row per link as written (``from_id``, ``to_id``,
``free_flow_min``, ``length``, ``capacity``, the line or feature it came from) and, when the file
gives them, node coordinates in the file's own units. Checking the two against each other (unknown
nodes, duplicates, times, coordinates) is :mod:`dff_core.data.roadnet`'s job; problems found here
(unreadable files, missing columns, values that are not numbers) are recorded as issues with file
and line, never raised as tracebacks.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import from_wkt, get_coordinates
from shapely.errors import GEOSException

from dff_core.data.io import Table, normalize_column, read_table
from dff_core.data.networks import load_tntp_network
from dff_core.data.parsing import normalize_ids, parse_numbers
from dff_core.data.report import IssueCollector
from dff_core.errors import DataError

__all__ = ["GIS_SUFFIXES", "RawNetwork", "find_node_file", "pick_columns", "read_links", "read_nodes"]

#: Link files read with geopandas (anything else is a TNTP ``.tntp`` or a CSV table).
GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")

_LINK_ALIASES = {
    "from_id": ["init_node", "from", "from_node", "source", "a", "u", "tail", "start_node", "fromnode"],
    "to_id": ["term_node", "to", "to_node", "target", "b", "v", "head", "end_node", "tonode"],
    "free_flow_min": ["free_flow_time", "fftt", "fft", "free_flow_minutes", "travel_time_min", "ff_time"],
    "length_km": ["length", "distance_km", "km"],
    "free_flow_kmh": ["free_flow_speed", "speed_kmh", "ff_speed", "maxspeed"],
    "capacity": ["cap", "capacity_vph"],
    "oneway": ["one_way", "directed"],
    "geometry": ["wkt", "geom", "shape"],
}
_NODE_ALIASES = {
    "node_id": ["node", "id", "nodeid", "n"],
    "x": ["longitude", "lon", "lng", "easting", "x_coord", "xcoord"],
    "y": ["latitude", "lat", "northing", "y_coord", "ycoord"],
}
_META = re.compile(r"^<([^>]+)>\s*(.*)$")


@dataclass
class RawNetwork:
    """Links and node coordinates as read, before they are checked against each other.

    ``links`` has ``from_id``, ``to_id`` (text), ``free_flow_min``, ``length``, ``capacity`` (float,
    NaN when not given) and ``where`` (``"line 12"`` or ``"feature 3"``) with ``line`` (editor line or
    ``None``). ``geometry`` holds one coordinate array per link (in ``geometry_crs``) when the file
    draws the links. ``nodes`` has ``x``, ``y`` indexed by node id (``None``: no coordinates yet).
    """

    name: str
    links: pd.DataFrame
    nodes: pd.DataFrame | None = None
    nodes_name: str | None = None
    geometry: list[np.ndarray] | None = None
    geometry_crs: str | None = None
    #: Node ids that are never passed through (TNTP: numbered below ``<FIRST THRU NODE>``).
    zones: list[str] = field(default_factory=list)
    #: Node ids that are the default trip ends (TNTP: the ``<NUMBER OF ZONES>`` centroids).
    centroids: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- TNTP
def _tntp_link_lines(text: str) -> list[int]:
    """Editor line number of each link row of a TNTP network (rows after the metadata and '~' header)."""
    lines = text.splitlines()
    start = next((i + 1 for i, ln in enumerate(lines) if ln.strip().upper().startswith("<END OF METADATA>")), 0)
    return [i + 1 for i in range(start, len(lines)) if lines[i].strip() and not lines[i].strip().startswith("~")]


def _leading_int(value: str | None) -> int | None:
    head = (value or "").split()
    return int(head[0]) if head and head[0].isdigit() else None


def read_tntp(path: Path, issues: IssueCollector) -> RawNetwork | None:
    """A TNTP ``*_net.tntp`` file: links with free-flow times (minutes), zones and centroids."""
    name = path.name
    try:
        frame = load_tntp_network(path)
        text = path.read_text(encoding="utf-8", errors="replace")
    except DataError as exc:
        for msg in exc.problems:
            issues.error(name, None, None, str(msg).removeprefix(f"{name}: "))
        return None
    except (OSError, ValueError, pd.errors.ParserError) as exc:  # malformed rows the reader did not catch
        issues.error(name, None, None, f"is not a readable TNTP network ({str(exc).splitlines()[0]}). Check its rows.")
        return None
    meta = dict(frame.attrs.get("metadata", {}))
    lines = _tntp_link_lines(text)
    if len(lines) != len(frame):
        lines = [None] * len(frame)
    if "free_flow_time" not in frame.columns:
        issues.error(name, None, "free_flow_time", "the '~' header names no free_flow_time column (minutes).")
        return None
    links = pd.DataFrame(
        {
            "from_id": frame["init_node"].astype(np.int64).astype(str).to_numpy(),
            "to_id": frame["term_node"].astype(np.int64).astype(str).to_numpy(),
            "free_flow_min": pd.to_numeric(frame["free_flow_time"], errors="coerce").to_numpy(float),
            "length": pd.to_numeric(frame.get("length", np.nan), errors="coerce"),
            "capacity": pd.to_numeric(frame.get("capacity", np.nan), errors="coerce"),
            "line": lines,
        }
    )
    links["where"] = [f"line {ln}" if ln else f"link row {k + 1}" for k, ln in enumerate(links["line"])]
    n_zones = _leading_int(meta.get("NUMBER OF ZONES")) or 0
    first_thru = _leading_int(meta.get("FIRST THRU NODE")) or 1
    return RawNetwork(
        name,
        links,
        zones=[str(z) for z in range(1, first_thru)],
        centroids=[str(z) for z in range(1, n_zones + 1)],
        metadata=meta,
    )


def _read_tntp_nodes(path: Path, issues: IssueCollector) -> pd.DataFrame | None:
    """A TNTP node file: ``node X Y ;`` rows, with or without a header line."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        issues.error(name, None, None, f"could not read the file ({exc.strerror or exc}).")
        return None
    fast = _fast_nodes(text)
    if fast is not None:
        return fast
    ids, xs, ys, bad = [], [], [], 0
    for ln, raw in enumerate(text.splitlines(), start=1):
        fields = raw.replace(";", " ").split()
        if not fields or _META.match(raw.strip()):
            continue
        if not ids and not bad and not _is_number(fields[0]):
            continue  # header ("node X Y")
        if len(fields) < 3 or not all(_is_number(f) for f in fields[:3]):
            issues.error(name, ln, None, f"expected 'node x y' numbers, found {raw.strip()[:60]!r}.", kind="node row")
            bad += 1
            continue
        ids.append(fields[0].removesuffix(".0"))
        xs.append(float(fields[1]))
        ys.append(float(fields[2]))
    if not ids and not bad:
        issues.error(name, None, None, "has no node rows ('node x y').")
    if bad or not ids:
        return None
    return pd.DataFrame({"x": xs, "y": ys}, index=pd.Index(ids, name="node_id"))


def _fast_nodes(text: str) -> pd.DataFrame | None:
    """Well-formed node files in one C-parser call; ``None`` sends the file to the line-by-line reader."""
    body = text.replace(";", " ")
    first = next((ln.split() for ln in body.splitlines() if ln.strip()), [])
    if not first or "<" in body:
        return None
    try:
        frame = pd.read_csv(
            io.StringIO(body), sep=r"\s+", header=None, skiprows=0 if _is_number(first[0]) else 1,
            usecols=[0, 1, 2], names=["node_id", "x", "y"], dtype={"node_id": str}, skip_blank_lines=True,
        )  # fmt: skip
    except (ValueError, pd.errors.ParserError):
        return None
    x, y = pd.to_numeric(frame["x"], errors="coerce"), pd.to_numeric(frame["y"], errors="coerce")
    if frame.empty or not (np.isfinite(x).all() and np.isfinite(y).all()) or frame["node_id"].isna().any():
        return None
    ids = frame["node_id"].astype(str).str.removesuffix(".0")
    return pd.DataFrame(
        {"x": x.to_numpy(float), "y": y.to_numpy(float)}, index=pd.Index(ids.to_numpy(), name="node_id")
    )


def _is_number(s: str) -> bool:
    try:
        return np.isfinite(float(s))
    except ValueError:
        return False


def find_node_file(net: Path) -> Path | None:
    """The node file next to a TNTP network: ``X_net.tntp`` -> ``X_node.tntp`` (or ``X_nodes.tntp``)."""
    stem = net.name
    for suffix in ("_net.tntp", ".tntp"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for cand in (f"{stem}_node.tntp", f"{stem}_nodes.tntp", f"{stem}_node.csv"):
        p = net.with_name(cand)
        if p.is_file():
            return p
    return None


# ----------------------------------------------------------------------------- tables
def pick_columns(
    columns: list[str], required: list[str], optional: list[str], aliases: dict[str, list[str]]
) -> tuple[dict[str, str], list[str]]:
    """Map canonical names to a file's columns (exact name first, then the usual synonyms, no warnings:
    ``init_node`` is as standard as ``from_id``); returns the mapping and the missing required names."""
    by_norm = {normalize_column(c): c for c in columns}
    found: dict[str, str] = {}
    for canon in required + optional:
        for cand in (canon, *aliases.get(canon, [])):
            if cand in by_norm and by_norm[cand] not in found.values():
                found[canon] = by_norm[cand]
                break
    return found, [c for c in required if c not in found]


def _missing_columns(name: str, missing: list[str], columns: list[str], what: str, issues: IssueCollector) -> None:
    have = ", ".join(f"'{c}'" for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
    for canon in missing:
        also = ", ".join(_LINK_ALIASES.get(canon, _NODE_ALIASES.get(canon, []))[:4])
        issues.error(
            name, 1, canon,
            f"required column '{canon}' is missing ({what}; also accepted: {also}; found: {have}). Rename the column.",
        )  # fmt: skip


def _numbers(frame: pd.DataFrame, col: str | None) -> np.ndarray:
    if col is None:
        return np.full(len(frame), np.nan)
    return parse_numbers(frame[col].astype(str)).values.astype(float)


def _bad_numbers(frame: pd.DataFrame, col: str | None, name: str, issues: IssueCollector, where: list[str]) -> None:
    if col is None:
        return
    bad = parse_numbers(frame[col].astype(str)).bad
    for k in np.flatnonzero(bad):
        issues.error(name, None, col, f"{where[k]}: '{frame[col].iloc[k]}' is not a number.", kind=f"number {col}")


def _link_table(frame: pd.DataFrame, cols: dict[str, str], name: str, where: list[str], issues: IssueCollector):
    """Links from a table of strings whose columns ``cols`` maps (canonical -> file name)."""
    fftt = _numbers(frame, cols.get("free_flow_min"))
    length = _numbers(frame, cols.get("length_km"))
    kmh = _numbers(frame, cols.get("free_flow_kmh"))
    for key in ("free_flow_min", "length_km", "free_flow_kmh", "capacity"):
        _bad_numbers(frame, cols.get(key), name, issues, where)
    if "free_flow_min" not in cols:
        if "length_km" not in cols or "free_flow_kmh" not in cols:
            issues.error(
                name,
                None,
                None,
                "no free-flow travel time: give a free_flow_time column (minutes), or length_km and "
                "free_flow_kmh columns to compute it.",
            )
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            fftt = np.where(kmh > 0, length / kmh * 60.0, np.nan)
        bad = np.flatnonzero(np.isfinite(kmh) & (kmh <= 0))
        for k in bad:
            issues.error(name, None, cols["free_flow_kmh"], f"{where[k]}: the free-flow speed must be above 0.")
    links = pd.DataFrame(
        {
            "from_id": normalize_ids(frame[cols["from_id"]]).to_numpy(),
            "to_id": normalize_ids(frame[cols["to_id"]]).to_numpy(),
            "free_flow_min": fftt,
            "length": length,
            "capacity": _numbers(frame, cols.get("capacity")),
        }
    )
    return links


def _oneway(values: pd.Series) -> np.ndarray:
    text = values.astype(str).str.strip().str.lower()
    return ~text.isin(["0", "false", "no", "n", "f", "both", "two-way", "twoway"]).to_numpy()


def _both_directions(links: pd.DataFrame, oneway: np.ndarray, geometry: list[np.ndarray] | None):
    """Add the reverse of every two-way link (``oneway`` False) right after it."""
    if oneway.all():
        return links, geometry
    rows, geoms = [], []
    for k in range(len(links)):
        rows.append(k)
        if geometry is not None:
            geoms.append(geometry[k])
        if not oneway[k]:
            rows.append(-k - 1)
            if geometry is not None:
                geoms.append(geometry[k][::-1])
    idx = np.array([r if r >= 0 else -r - 1 for r in rows])
    out = links.iloc[idx].reset_index(drop=True)
    rev = np.array([r < 0 for r in rows])
    out.loc[rev, ["from_id", "to_id"]] = out.loc[rev, ["to_id", "from_id"]].to_numpy()
    out.loc[rev, "where"] = out.loc[rev, "where"] + " (reverse)"
    return out, (geoms if geometry is not None else None)


def _endpoint_ids(geometry: list[np.ndarray], digits: int) -> tuple[list[str], list[str], pd.DataFrame]:
    """Node ids for links drawn without them: one node per distinct (rounded) end point."""
    ids: dict[tuple[float, float], str] = {}
    xy: list[tuple[float, float]] = []

    def node(p: np.ndarray) -> str:
        key = (round(float(p[0]), digits), round(float(p[1]), digits))
        if key not in ids:
            ids[key] = f"n{len(ids) + 1}"
            xy.append((float(p[0]), float(p[1])))
        return ids[key]

    f = [node(g[0]) for g in geometry]
    t = [node(g[-1]) for g in geometry]
    nodes = pd.DataFrame(xy, columns=["x", "y"], index=pd.Index(list(ids.values()), name="node_id"))
    return f, t, nodes


def read_links_csv(path: Path, issues: IssueCollector) -> RawNetwork | None:
    """A links CSV: ``from_id,to_id,free_flow_time`` (or length_km + free_flow_kmh), optional WKT ``geometry``."""
    table = read_table(path, path.name, issues)
    if table is None or not table.rows:
        return None
    optional = [k for k in _LINK_ALIASES if k not in ("from_id", "to_id")]
    cols, missing = pick_columns(table.columns, ["from_id", "to_id"], optional, _LINK_ALIASES)
    if missing:
        _missing_columns(path.name, missing, table.columns, "a links file needs from_id and to_id", issues)
        return None
    frame = table.frame()
    where = [f"line {ln}" for ln in table.lines]
    links = _link_table(frame, cols, path.name, where, issues)
    if links is None:
        return None
    links["line"] = table.lines
    links["where"] = where
    geometry = None
    if "geometry" in cols:
        geometry = _wkt_lines(frame[cols["geometry"]], table, cols["geometry"], issues)
        if geometry is None:
            return None
    oneway = _oneway(frame[cols["oneway"]]) if "oneway" in cols else np.ones(len(links), bool)
    links, geometry = _both_directions(links, oneway, geometry)
    return RawNetwork(path.name, links, geometry=geometry)


def _wkt_lines(values: pd.Series, table: Table, col: str, issues: IssueCollector) -> list[np.ndarray] | None:
    out: list[np.ndarray] = []
    for text, ln in zip(values, table.lines):
        try:
            geom = from_wkt(text)
        except (GEOSException, ValueError, TypeError):
            geom = None
        if geom is None or geom.geom_type not in ("LineString", "MultiLineString") or geom.is_empty:
            issues.error(table.name, ln, col, f"'{str(text)[:40]}' is not a WKT LINESTRING.", kind="wkt")
            out.append(np.zeros((0, 2)))
            continue
        out.append(get_coordinates(geom))
    return None if issues.has_errors() else out


def read_links_gis(path: Path, crs: str | None, issues: IssueCollector) -> RawNetwork | None:
    """A GeoJSON / GeoPackage / shapefile of road links (LineStrings), read with geopandas."""
    name = path.name
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own error types
        issues.error(name, None, None, f"is not a readable GIS file of road links ({str(exc).splitlines()[0]}).")
        return None
    if gdf.empty:
        issues.error(name, None, None, "contains no features.")
        return None
    kinds = set(gdf.geometry.geom_type.dropna())
    if not kinds <= {"LineString", "MultiLineString"}:
        issues.error(name, None, None, f"expected LineString road links, found {', '.join(sorted(kinds))} geometries.")
        return None
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str).replace({"None": "", "nan": ""})
    frame["_line"] = np.arange(1, len(frame) + 1)
    optional = [k for k in _LINK_ALIASES if k not in ("from_id", "to_id", "geometry")]
    cols, _ = pick_columns(list(frame.columns[:-1]), [], ["from_id", "to_id", *optional], _LINK_ALIASES)
    where = [f"feature {k}" for k in range(1, len(frame) + 1)]
    has_ids = "from_id" in cols and "to_id" in cols
    if not has_ids:
        cols = {**cols, "from_id": "_line", "to_id": "_line"}  # placeholders, replaced below
    links = _link_table(frame, cols, name, where, issues)
    if links is None:
        return None
    links["line"] = None
    links["where"] = where
    if crs is not None:
        gdf = gdf.set_crs(crs, allow_override=True)
    geometry = [get_coordinates(g) for g in gdf.geometry]
    empty = [k for k, g in enumerate(geometry) if len(g) < 2]
    for k in empty[:20]:
        issues.error(name, None, None, f"{where[k]}: the line has fewer than two points.", kind="empty geometry")
    if empty:
        return None
    nodes = None
    if not has_ids:
        projected = gdf.crs is not None and not gdf.crs.is_geographic
        links["from_id"], links["to_id"], nodes = _endpoint_ids(geometry, 2 if projected else 7)
    oneway = _oneway(frame[cols["oneway"]]) if "oneway" in cols else np.ones(len(links), bool)
    links, geometry = _both_directions(links, oneway, geometry)
    geom_crs = None if gdf.crs is None else gdf.crs.to_string()
    return RawNetwork(name, links, nodes=nodes, nodes_name=name if nodes is not None else None,
                      geometry=geometry, geometry_crs=geom_crs)  # fmt: skip


def read_links(path: Path, crs: str | None, issues: IssueCollector) -> RawNetwork | None:
    """The links of a network file, by its suffix: TNTP, GIS (GeoJSON, GeoPackage...) or CSV."""
    suffix = path.suffix.lower()
    if suffix == ".tntp":
        return read_tntp(path, issues)
    if suffix in GIS_SUFFIXES:
        return read_links_gis(path, crs, issues)
    return read_links_csv(path, issues)


def read_nodes(path: Path, issues: IssueCollector) -> tuple[pd.DataFrame | None, str | None]:
    """Node coordinates ``x``, ``y`` by node id from a TNTP node file, a CSV or a GIS file of points.

    The second value is the coordinate system the file declares (GIS files), else ``None``.
    """
    suffix = path.suffix.lower()
    if suffix == ".tntp":
        return _read_tntp_nodes(path, issues), None
    if suffix in GIS_SUFFIXES:
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:
            issues.error(path.name, None, None, f"is not a readable GIS file of nodes ({str(exc).splitlines()[0]}).")
            return None, None
        if gdf.empty or set(gdf.geometry.geom_type.dropna()) != {"Point"}:
            issues.error(path.name, None, None, "expected Point features (one per node).")
            return None, None
        id_col = next((c for c in gdf.columns if str(c).lower() in ("node_id", "node", "id", "nodeid")), None)
        if id_col is None:
            issues.error(path.name, None, None, "the points need a node id property (node_id, node or id).")
            return None, None
        ids = normalize_ids(gdf[id_col].astype(str))
        frame = pd.DataFrame({"x": gdf.geometry.x.to_numpy(), "y": gdf.geometry.y.to_numpy()}, index=ids.to_numpy())
        return frame.rename_axis("node_id"), (None if gdf.crs is None else gdf.crs.to_string())
    table = read_table(path, path.name, issues)
    if table is None or not table.rows:
        return None, None
    cols, missing = pick_columns(table.columns, ["node_id", "x", "y"], [], _NODE_ALIASES)
    if missing:
        _missing_columns(path.name, missing, table.columns, "a node file needs node_id, x and y", issues)
        return None, None
    frame = table.frame()
    x, y = _numbers(frame, cols["x"]), _numbers(frame, cols["y"])
    where = [f"line {ln}" for ln in table.lines]
    _bad_numbers(frame, cols["x"], path.name, issues, where)
    _bad_numbers(frame, cols["y"], path.name, issues, where)
    ids = normalize_ids(frame[cols["node_id"]]).to_numpy()
    return pd.DataFrame({"x": x, "y": y}, index=pd.Index(ids, name="node_id")), None

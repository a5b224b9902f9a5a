"""Road networks as the decision graph: load, check and place a network, and match sensors onto its links.

:func:`load_road_network` reads a TNTP ``*_net.tntp`` (with its ``*_node.tntp`` coordinates), a
links CSV (``from_id,to_id,free_flow_time`` with a WKT ``geometry`` column or a node file), or a
GeoJSON/GeoPackage of links, and checks it: links naming nodes without coordinates and negative or
missing free-flow times are errors (file, line, what to do); self-loops and repeated links are
dropped with a warning naming them; zero free-flow times off the zone connectors are kept with a
warning. Node coordinates are WGS84 degrees unless ``crs`` names their system; coordinates that
are clearly not degrees (feet, metres, local units) without ``crs`` are an error that says so.

:func:`match_sensors` puts each sensor on its nearest link (``geopandas.sjoin_nearest`` in a local
metric projection, within ``max_distance_m``); sensors farther from every link are left out with
a warning naming them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dff_core.data.crs import WGS84, check_crs, looks_projected, to_lonlat
from dff_core.data.digest import digest_bytes
from dff_core.data.graph import link_lines
from dff_core.data.report import Issue, IssueCollector, ValidationReport
from dff_core.data.roadnet_files import RawNetwork, find_node_file, read_links, read_nodes
from dff_core.errors import DataError, option_hint

__all__ = ["DEFAULT_MATCH_M", "RoadNetwork", "SensorMatch", "load_road_network", "match_sensors"]

#: Sensors farther than this (metres) from every link are not matched.
DEFAULT_MATCH_M = 200.0
_SHOWN = 8
#: Up to this many sensor matches are listed one per line in the report (else the farthest third of it).
_LISTED_MATCHES = 30


def _names(items: list[str], shown: int = _SHOWN) -> str:
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


@dataclass
class RoadNetwork:
    """A checked directed road network.

    ``nodes``: index ``node_id`` (text), ``longitude``/``latitude`` (WGS84). ``links``: one row per
    directed link, ``from_id``, ``to_id``, ``u``, ``v`` (positions in ``nodes``), ``free_flow_min``,
    ``length`` and ``capacity`` (the file's units; NaN when absent), ``where`` (its line or feature).
    ``zones`` are node positions never passed through (TNTP: below ``<FIRST THRU NODE>``), ``centroids``
    node ids that are the default trip ends (TNTP zones). ``geometry`` is one WGS84 LineString per link.
    """

    name: str
    nodes: pd.DataFrame
    links: pd.DataFrame
    zones: np.ndarray
    centroids: list[str]
    geometry: list
    report: ValidationReport
    digest: str
    crs: str | None = None

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def edges(self) -> np.ndarray:
        """``(u, v)`` node positions per link."""
        return self.links[["u", "v"]].to_numpy(dtype=np.int64)

    @property
    def node_ids(self) -> list[str]:
        return list(self.nodes.index)

    def links_gdf(self) -> gpd.GeoDataFrame:
        """Links with their geometry (EPSG:4326), for maps and matching."""
        return gpd.GeoDataFrame(self.links.copy(), geometry=list(self.geometry), crs=WGS84)

    def metric_crs(self) -> str:
        """A local metric projection (UTM zone of the network's centre) for distances in metres."""
        lon, lat = float(self.nodes["longitude"].median()), float(self.nodes["latitude"].median())
        zone = int((lon + 180) // 6) % 60 + 1
        return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"

    def __repr__(self) -> str:
        return (
            f"RoadNetwork({self.name!r}, nodes={self.num_nodes}, links={len(self.links)}, zones={len(self.zones)}, "
            f"centroids={len(self.centroids)})"
        )


# ----------------------------------------------------------------------------- coordinates
def _place(
    nodes: pd.DataFrame, crs: str | None, name: str, issues: IssueCollector, file_crs: str | None = None
) -> pd.DataFrame | None:
    """Node ``x``/``y`` as WGS84 ``longitude``/``latitude``; an error says why coordinates cannot be degrees."""
    x, y = nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)
    given = crs or file_crs
    if given is not None:
        lon, lat = to_lonlat(x, y, given)
        bad = ~np.isfinite(lon)
        if bad.any():
            issues.error(
                name, None, None,
                f"{int(bad.sum())} of {len(x)} node(s) fall outside the globe when read in {given} (e.g. node "
                f"{nodes.index[np.flatnonzero(bad)[0]]}): check that the coordinate system is the file's "
                f"({option_hint('network_crs')}).",
            )  # fmt: skip
            return None
        return pd.DataFrame({"longitude": lon, "latitude": lat}, index=nodes.index)
    if np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        return pd.DataFrame({"longitude": x, "latitude": y}, index=nodes.index)
    if np.all(np.abs(y) <= 180) and np.all(np.abs(x) <= 90):
        hint = "x and y look swapped (x must be the longitude, y the latitude). Swap the columns."
    elif looks_projected(np.r_[x, y]):
        hint = (
            f"they are not degrees (x {np.nanmin(x):,.0f} to {np.nanmax(x):,.0f}, y {np.nanmin(y):,.0f} to "
            f"{np.nanmax(y):,.0f}): they look projected (feet, metres or a local unit). Give their coordinate "
            f"system with {option_hint('network_crs', 'EPSG:26771')} for Chicago Sketch's Illinois State Plane "
            "feet; the network's documentation names it; a PROJ string works for local units."
        )
    else:
        hint = (
            "some are outside -180..180 / -90..90 degrees. Fix them, or give their system with "
            f"{option_hint('network_crs')}."
        )
    issues.error(name, None, None, f"the node coordinates cannot be placed on the map: {hint}")
    return None


# ----------------------------------------------------------------------------- links
def _check_links(
    raw: RawNetwork, nodes: pd.DataFrame, issues: IssueCollector, report: ValidationReport
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Known ends, valid times; drop self-loops and repeats (warning). Returns the kept links."""
    links = raw.links.reset_index(drop=True)
    name = raw.name
    index = pd.Index(nodes.index)
    ends = {col: index.get_indexer(links[col]) for col in ("from_id", "to_id")}
    for col in ("from_id", "to_id"):
        for k in np.flatnonzero(ends[col] < 0):
            issues.error(
                name, links["line"].iloc[k], None,
                f"{links['where'].iloc[k]}: node {links[col].iloc[k]} has no coordinates in "
                f"{raw.nodes_name or 'the node file'}. Add the node, or remove the link.",
                kind="unknown node",
            )  # fmt: skip
    fftt = links["free_flow_min"].to_numpy(float)
    for k in np.flatnonzero(~np.isfinite(fftt)):
        issues.error(
            name, links["line"].iloc[k], "free_flow_time",
            f"{links['where'].iloc[k]}: no free-flow time. Give every link its free-flow travel time in minutes.",
            kind="missing time",
        )  # fmt: skip
    for k in np.flatnonzero(fftt < 0):
        issues.error(
            name, links["line"].iloc[k], "free_flow_time",
            f"{links['where'].iloc[k]}: free-flow time {fftt[k]:g} is negative; travel times are 0 or more.",
            kind="negative time",
        )  # fmt: skip
    if issues.has_errors():
        return None
    links["u"] = ends["from_id"].astype(np.int64)
    links["v"] = ends["to_id"].astype(np.int64)
    keep = np.ones(len(links), bool)
    loops = np.flatnonzero((links["u"] == links["v"]).to_numpy())
    if len(loops):
        keep[loops] = False
        where = [links["where"].iloc[k] for k in loops]
        issues.warn(
            name, None, None, f"{len(loops)} link(s) start and end at the same node and were dropped ({_names(where)})."
        )
    order = links.assign(_k=np.arange(len(links)))[keep].sort_values(["u", "v", "free_flow_min", "_k"], kind="stable")
    dup = order.duplicated(["u", "v"], keep="first")
    if dup.any():
        first = order[~dup].set_index(["u", "v"])["where"]
        dropped = order[dup]
        desc = [
            f"{w} (repeats {first.loc[(u, v)]}: {f} -> {t})"
            for w, u, v, f, t in dropped[["where", "u", "v", "from_id", "to_id"]].itertuples(index=False)
        ]
        issues.warn(
            name, None, None,
            f"{len(dropped)} link(s) repeat a link between the same two nodes and were dropped, keeping the "
            f"faster one: {_names(desc, 5)}.",
        )  # fmt: skip
        keep[dropped["_k"].to_numpy()] = False
    report.dropped_links += int((~keep).sum())
    return links[keep].reset_index(drop=True), np.flatnonzero(keep)


def _zero_times(
    links: pd.DataFrame, centroids: set[str], name: str, issues: IssueCollector, report: ValidationReport
) -> None:
    zero = (links["free_flow_min"] == 0).to_numpy()
    if zero.all():
        issues.error(name, None, "free_flow_time", "every link has a free-flow time of 0; routes need travel times.")
        return
    zones = pd.Index(sorted(centroids))
    connector = (zones.get_indexer(links["from_id"]) >= 0) | (zones.get_indexer(links["to_id"]) >= 0)
    n_conn = int((zero & connector).sum())
    if n_conn:
        report.info.append(f"{name}: {n_conn:,} zone connector(s) have a free-flow time of 0 (they cost nothing)")
    other = np.flatnonzero(zero & ~connector)
    where = list(links["where"].iloc[other])
    if len(other):
        issues.warn(
            name, None, "free_flow_time",
            f"{len(other)} link(s) that do not touch a zone have a free-flow time of 0 ({_names(where, 5)}); "
            "they cost nothing to travel whatever the traffic (TNTP uses 0 for dummy links). If they are roads, "
            "give their free-flow times.",
        )  # fmt: skip


def _geometry(raw: RawNetwork, nodes: pd.DataFrame, kept: np.ndarray, links: pd.DataFrame, crs: str | None) -> list:
    """One WGS84 LineString per kept link: the file's drawing, or a straight line between its nodes."""
    if raw.geometry is not None:
        out = []
        src = crs or raw.geometry_crs
        for k in kept:
            g = raw.geometry[k]
            if src is not None and not check_crs(src).equals(check_crs(WGS84)):
                lon, lat = to_lonlat(g[:, 0], g[:, 1], src)
                g = np.column_stack([lon, lat])
            out.append(g[:, :2])
        sizes = np.array([len(g) for g in out])
        return link_lines(np.concatenate(out), indices=np.repeat(np.arange(len(out)), sizes))
    lon, lat = nodes["longitude"].to_numpy(), nodes["latitude"].to_numpy()
    u, v = links["u"].to_numpy(), links["v"].to_numpy()
    coords = np.stack([np.column_stack([lon[u], lat[u]]), np.column_stack([lon[v], lat[v]])], axis=1)
    return link_lines(coords)


def _file_digest(paths: list[Path | None], crs: str | None) -> str:
    parts = {f"file{i}": p.read_bytes() for i, p in enumerate(paths) if p is not None}
    parts["crs"] = str(crs or "").encode()
    return digest_bytes(parts)


def load_road_network(path: str | Path, nodes: str | Path | None = None, crs: str | None = None) -> RoadNetwork:
    """Read and check a road network (see the module docstring); raises :class:`DataError` listing every error.

    ``nodes`` is the node-coordinate file (default for TNTP: ``X_node.tntp`` next to ``X_net.tntp``;
    not needed when the links file draws its links). ``crs`` names the coordinate system of the node
    coordinates (or of a GIS file without one), e.g. ``"EPSG:26771"``; default WGS84 degrees.
    Warnings and notes are in ``network.report``. The last few networks read are kept (keyed by the
    files' contents), since validating data and building a scenario both read the network; treat
    the result as read-only.
    """
    path = Path(path)
    node_path = Path(nodes) if nodes is not None else None
    implied = node_path or (find_node_file(path) if path.is_file() else None)
    return _load_cached(path, node_path, crs, (_stamp(path), _stamp(implied)))


def _stamp(path: Path | None) -> str | None:
    """The content digest of a file (``None`` when there is none), so an edited file is read again."""
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=4)
def _load_cached(path: Path, nodes: Path | None, crs: str | None, stamp: tuple) -> RoadNetwork:
    return _load(path, nodes, crs)


def _load(path: Path, nodes: Path | None, crs: str | None) -> RoadNetwork:
    report = ValidationReport()
    issues = IssueCollector(report)
    if crs is not None:
        check_crs(crs)
    if not path.is_file():
        raise DataError([f"{path.name}: network file not found ('{path}'). Check the path."])
    raw = read_links(path, crs, issues)
    node_path = Path(nodes) if nodes is not None else None
    if raw is not None and node_path is None and raw.nodes is None and raw.geometry is None:
        node_path = find_node_file(path)
        if node_path is None:
            issues.error(
                path.name, None, None,
                f"the links have no coordinates: give a node file with {option_hint('network_nodes')} (TNTP "
                "X_node.tntp, or a CSV node_id,x,y), or a links file that draws its links (GeoJSON, or a WKT "
                "geometry column).",
            )  # fmt: skip
    node_frame, file_crs, node_name = None, None, None
    if node_path is not None:
        if not node_path.is_file():
            issues.error(node_path.name, None, None, f"node file not found ('{node_path}'). Check the path.")
        else:
            node_frame, file_crs = read_nodes(node_path, issues)
            node_name = node_path.name
    issues.flush()
    report.raise_if_errors()
    assert raw is not None
    if node_frame is None:
        if raw.nodes is None:
            node_frame, node_name = _nodes_from_geometry(raw), raw.name
        else:
            node_frame, node_name = raw.nodes, raw.nodes_name
        file_crs = raw.geometry_crs
    raw.nodes_name = node_name
    node_file = node_name or raw.name
    dup = node_frame.index[node_frame.index.duplicated()]
    if len(dup):
        issues.error(
            node_file,
            None,
            None,
            f"node(s) {_names(list(map(str, dup.unique())))} are listed twice. Keep one row per node.",
        )
    placed = _place(node_frame[~node_frame.index.duplicated()], crs, node_file, issues, file_crs)
    result = None
    if placed is not None:
        result = _check_links(raw, placed, issues, report)
        if result is not None:
            _zero_times(result[0], set(raw.centroids), raw.name, issues, report)
    issues.flush()
    report.raise_if_errors()
    assert placed is not None and result is not None  # each None above came with an error, raised just now
    links, kept = result
    used = np.unique(links[["u", "v"]].to_numpy())
    unused = len(placed) - len(used)
    if unused:
        report.info.append(f"{node_name}: {unused} node(s) without links left out")
        placed = placed.iloc[used]
        pos = pd.Series(np.arange(len(placed)), index=placed.index)
        links["u"] = links["from_id"].map(pos).astype(np.int64)
        links["v"] = links["to_id"].map(pos).astype(np.int64)
    zone_ids = [z for z in raw.zones if z in placed.index]
    zones = np.sort(pd.Series(np.arange(len(placed)), index=placed.index).loc[zone_ids].to_numpy(np.int64))
    centroids = [c for c in raw.centroids if c in placed.index]
    geometry = _geometry(raw, placed, kept, links, crs)
    report.info.insert(
        0,
        f"road network {raw.name}: {len(placed):,} nodes, {len(links):,} links, {len(zones):,} zones never passed "
        f"through, {len(centroids):,} trip-end zones",
    )
    digest = _file_digest([path, node_path], crs)
    return RoadNetwork(raw.name, placed, links.drop(columns=["line"]), zones, centroids, geometry, report, digest, crs)


def _nodes_from_geometry(raw: RawNetwork) -> pd.DataFrame:
    """Node coordinates from the first/last points of drawn links (when the file names node ids)."""
    if raw.geometry is None:
        raise DataError([f"{raw.name}: the links have neither node coordinates nor a drawing; give a node file."])
    rows: dict[str, tuple[float, float]] = {}
    for (f, t), g in zip(raw.links[["from_id", "to_id"]].itertuples(index=False), raw.geometry):
        rows.setdefault(f, (float(g[0, 0]), float(g[0, 1])))
        rows.setdefault(t, (float(g[-1, 0]), float(g[-1, 1])))
    return pd.DataFrame(list(rows.values()), columns=["x", "y"], index=pd.Index(list(rows), name="node_id"))


# ----------------------------------------------------------------------------- matching
@dataclass
class SensorMatch:
    """Which link each sensor lies on: ``table`` has ``sensor_id``, ``link`` (row in ``network.links``),
    ``from_id``, ``to_id`` and ``distance_m``; ``unmatched`` lists sensors beyond ``max_distance_m``."""

    table: pd.DataFrame
    unmatched: list[str]
    max_distance_m: float

    @property
    def sensor_ids(self) -> list[str]:
        return list(self.table["sensor_id"])


def match_sensors(
    network: RoadNetwork,
    sensors: pd.DataFrame,
    max_distance_m: float = DEFAULT_MATCH_M,
    report: ValidationReport | None = None,
) -> SensorMatch:
    """Each sensor's nearest link within ``max_distance_m`` metres (ties: the lowest link row).

    ``sensors`` has ``latitude``/``longitude`` indexed by sensor id. Sensors farther from every link
    are left out with a warning in ``report`` naming them; when none is close, :class:`DataError`
    says how far the nearest was and what to check.
    """
    if not max_distance_m > 0:
        raise ValueError(f"match_distance must be a positive number of metres; got {max_distance_m!r}.")
    metric = network.metric_crs()
    pts = gpd.GeoDataFrame(
        {"sensor_id": [str(s) for s in sensors.index]},
        geometry=gpd.points_from_xy(sensors["longitude"].astype(float), sensors["latitude"].astype(float)),
        crs=WGS84,
    ).to_crs(metric)
    lines = network.links_gdf()[["geometry"]].to_crs(metric)
    lines["link"] = np.arange(len(lines))
    joined = gpd.sjoin_nearest(pts, lines, how="left", max_distance=float(max_distance_m), distance_col="distance_m")
    joined = joined.sort_values(["sensor_id", "link"], kind="stable").drop_duplicates("sensor_id", keep="first")
    joined = joined.set_index("sensor_id").reindex(pts["sensor_id"])
    ok = joined["link"].notna().to_numpy()
    unmatched = list(joined.index[~ok])
    if not ok.any():
        nearest = gpd.sjoin_nearest(pts, lines, distance_col="d")["d"].min()
        raise DataError([
            f"no sensor lies within {max_distance_m:g} m of a link of {network.name} (the closest is "
            f"{nearest / 1000:,.1f} km away). Check that the sensors and the network are the same place and that "
            f"the network's coordinate system is right ({option_hint('network_crs')}), or raise "
            f"{option_hint('match_distance')}."
        ])  # fmt: skip
    table = joined[ok].reset_index()[["sensor_id", "link", "distance_m"]]
    table["link"] = table["link"].astype(np.int64)
    table["from_id"] = network.links["from_id"].to_numpy()[table["link"]]
    table["to_id"] = network.links["to_id"].to_numpy()[table["link"]]
    table = table[["sensor_id", "link", "from_id", "to_id", "distance_m"]]
    if report is not None:
        if unmatched:
            message = (
                f"{len(unmatched)} sensor(s) are farther than {max_distance_m:g} m from every link of "
                f"{network.name} and were left out of the routing: {_names(unmatched)}. Raise "
                f"{option_hint('match_distance')} if they belong to the network."
            )
            report.warnings.append(Issue("sensors", None, None, message, "warning"))
            for s in unmatched:
                report.drop_sensor(s, f"farther than {max_distance_m:g} m from every link")
        d = table["distance_m"]
        report.sensor_links = table
        report.info.append(
            f"{len(table)} sensor(s) matched onto links of {network.name} (distance median {d.median():.0f} m, "
            f"max {d.max():.0f} m)"
        )
        shown = table if len(table) <= _LISTED_MATCHES else table.nlargest(_LISTED_MATCHES // 3, "distance_m")
        if len(shown) < len(table):
            report.info.append(f"the {len(shown)} farthest of them (all in report.sensor_links):")
        report.info.extend(
            f"  sensor {s} -> link {f} -> {t} ({dist:.0f} m)"
            for s, f, t, dist in shown[["sensor_id", "from_id", "to_id", "distance_m"]].itertuples(index=False)
        )
    return SensorMatch(table, unmatched, float(max_distance_m))

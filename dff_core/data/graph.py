"""Road-graph helpers: great-circle distances and a connected k-nearest-neighbour graph of sensors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely import LineString, linestrings

from dff_core.errors import DataError

__all__ = ["DETOUR_FACTOR", "MAX_INFERRED_LINK_KM", "MIN_LINK_KM", "haversine_km", "knn_links", "n_components"]

#: Road distance is longer than the straight line; 1.2 is a common urban average detour factor.
DETOUR_FACTOR = 1.2
EARTH_RADIUS_KM = 6371.0088
#: Shortest estimated link (km), so that sensors at the same spot do not get zero-length links.
MIN_LINK_KM = 0.01
#: Longest link the nearest-neighbour graph may invent (km, after the detour factor). Sensors farther
#: apart than this are not plausibly joined by one road stretch (e.g. files mixing two regions).
MAX_INFERRED_LINK_KM = 50.0


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (vectorised)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def link_lines(coords: np.ndarray, indices: np.ndarray | None = None) -> list[LineString]:
    """One ``LineString`` per link: ``coords`` of shape (n, k, 2), or a (m, 2) point list with ``indices``
    naming each point's link. (shapely returns a single line for a lone (k, 2) array; that is wrapped.)"""
    lines = linestrings(coords, indices=indices)
    return [lines] if isinstance(lines, LineString) else list(lines)


def n_components(ids: list[str], links: pd.DataFrame) -> int:
    """Number of weakly connected components of the graph on ``ids`` with edges ``links``."""
    pos = {s: i for i, s in enumerate(ids)}
    i = links["from_id"].map(pos).to_numpy()
    j = links["to_id"].map(pos).to_numpy()
    m = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(ids), len(ids)))
    return int(connected_components(m, directed=True, connection="weak")[0])


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: straight-line (chord) order is great-circle order, everywhere on Earth."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def knn_links(sensors: gpd.GeoDataFrame, k: int = 3, max_km: float = MAX_INFERRED_LINK_KM) -> tuple[pd.DataFrame, int]:
    """Links to each sensor's ``k`` nearest neighbours, both directions, made connected.

    Neighbours are found on the sphere (valid at any latitude, across the date line) and lengths are
    great-circle distances multiplied by :data:`DETOUR_FACTOR`. Separate clusters are joined by their
    closest pair of sensors, so a route exists between any two sensors. A link longer than ``max_km``
    raises :class:`DataError` (sensors that far apart need a links file). Returns the links and the
    number of joining edges added.
    """
    ids = [str(s) for s in sensors.index]
    n = len(ids)
    if n < 2:
        return pd.DataFrame({"from_id": [], "to_id": [], "length_km": [], "capacity": []}), 0
    lat, lon = sensors.geometry.y.to_numpy(dtype=float), sensors.geometry.x.to_numpy(dtype=float)
    xyz = _unit_xyz(lat, lon)
    kk = min(k, n - 1)
    tree = cKDTree(xyz)
    _, nb = tree.query(xyz, k=kk + 1)
    pairs = {(i, int(j)) for i in range(n) for j in np.atleast_1d(nb[i])[1:] if int(j) != i}
    pairs |= {(j, i) for i, j in pairs}
    added = 0
    while True:
        if not pairs:
            labels = np.arange(n)
        else:
            a = np.array(sorted(pairs))
            m = coo_matrix((np.ones(len(a)), (a[:, 0], a[:, 1])), shape=(n, n))
            _, labels = connected_components(m, directed=False)
        if labels.max() == 0:
            break
        inside = np.flatnonzero(labels == labels[0])
        outside = np.flatnonzero(labels != labels[0])
        dist, idx = cKDTree(xyz[outside]).query(xyz[inside], k=1)
        best = int(np.argmin(dist))
        u, v = int(inside[best]), int(outside[idx[best]])
        pairs |= {(u, v), (v, u)}
        added += 1
    a = np.array(sorted(pairs))
    length = np.maximum(
        MIN_LINK_KM, DETOUR_FACTOR * haversine_km(lat[a[:, 0]], lon[a[:, 0]], lat[a[:, 1]], lon[a[:, 1]])
    )
    longest = int(np.argmax(length))
    if length[longest] > max_km:
        u, v = a[longest]
        raise DataError(
            [f"no links file was given, and joining the sensors by their nearest neighbours would need a "
             f"{length[longest]:,.0f} km link from '{ids[u]}' to '{ids[v]}', longer than the {max_km:g} km "
             "allowed for an inferred link. Check their coordinates, give a links file (from_id,to_id,"
             "length_km), or load one region at a time."]
        )  # fmt: skip
    links = pd.DataFrame(
        {
            "from_id": [ids[i] for i in a[:, 0]],
            "to_id": [ids[j] for j in a[:, 1]],
            "length_km": length.astype(float),
            "capacity": np.full(len(a), np.nan),
        }
    )
    return links, added

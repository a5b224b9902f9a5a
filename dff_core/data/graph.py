"""Road-graph helpers: great-circle distances and a connected k-nearest-neighbour graph of sensors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["DETOUR_FACTOR", "MIN_LINK_KM", "haversine_km", "knn_links", "n_components"]

#: Road distance is longer than the straight line; 1.2 is a common urban average detour factor.
DETOUR_FACTOR = 1.2
EARTH_RADIUS_KM = 6371.0088
#: Shortest estimated link (km), so that sensors at the same spot do not get zero-length links.
MIN_LINK_KM = 0.01


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (vectorised)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def n_components(ids: list[str], links: pd.DataFrame) -> int:
    """Number of weakly connected components of the graph on ``ids`` with edges ``links``."""
    pos = {s: i for i, s in enumerate(ids)}
    i = links["from_id"].map(pos).to_numpy()
    j = links["to_id"].map(pos).to_numpy()
    m = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(ids), len(ids)))
    return int(connected_components(m, directed=True, connection="weak")[0])


def knn_links(sensors: gpd.GeoDataFrame, k: int = 3) -> tuple[pd.DataFrame, int]:
    """Links to each sensor's ``k`` nearest neighbours, both directions, made connected.

    Distances are measured in a local UTM projection (``estimate_utm_crs``) and multiplied by
    :data:`DETOUR_FACTOR`. Separate clusters are joined by their closest pair of sensors, so a
    route exists between any two sensors. Returns the links and the number of joining edges added.
    """
    ids = [str(s) for s in sensors.index]
    n = len(ids)
    if n < 2:
        return pd.DataFrame({"from_id": [], "to_id": [], "length_km": [], "capacity": []}), 0
    metric = sensors.geometry.to_crs(sensors.geometry.estimate_utm_crs())
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    kk = min(k, n - 1)
    tree = cKDTree(xy)
    _, nb = tree.query(xy, k=kk + 1)
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
        dist, idx = cKDTree(xy[outside]).query(xy[inside], k=1)
        best = int(np.argmin(dist))
        u, v = int(inside[best]), int(outside[idx[best]])
        pairs |= {(u, v), (v, u)}
        added += 1
    a = np.array(sorted(pairs))
    length = np.maximum(MIN_LINK_KM, np.hypot(*(xy[a[:, 0]] - xy[a[:, 1]]).T) / 1000.0 * DETOUR_FACTOR)
    links = pd.DataFrame(
        {
            "from_id": [ids[i] for i in a[:, 0]],
            "to_id": [ids[j] for j in a[:, 1]],
            "length_km": length.astype(float),
            "capacity": np.full(len(a), np.nan),
        }
    )
    return links, added

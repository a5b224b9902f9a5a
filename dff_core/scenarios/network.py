"""Traffic routing on a road network: sensors predict, every link of the network is priced.

The decision graph is the road network (:class:`~dff_core.data.roadnet.RoadNetwork`), not the
sensor graph. Each sensor sits on its nearest link (:func:`~dff_core.data.roadnet.match_sensors`)
and predicts its pace (minutes per km). A link's travel time is its free-flow time times a
*slowdown*, the ratio of predicted pace to free-flow pace:

* a link holding sensors takes their slowdown (the mean when several sit on it);
* any other link takes the inverse-distance weighted mean slowdown of the ``k`` nearest sensors
  in space (distance from the link's midpoint to the sensor, weights ``1 / (d + d0)^2`` with
  ``k = 4`` and ``d0 = 50`` m).

A sensor's free-flow pace is the 5th percentile of its training-period paces (its 95th-percentile
speed), or, for counts, the BPR map's free-flow pace. The map from sensor paces to link times is
fixed and linear, ``A[link, sensor] = free_flow_min[link] * w[link, sensor] / free_flow_pace[sensor]``,
so the problem is ``PaceRouting(ShortestPath(network), A)``: DFF corrects sensor predictions and
the corrections reach every link. Zones (TNTP nodes below ``<FIRST THRU NODE>``) start and end
trips but are never passed through.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, dijkstra
from scipy.spatial import cKDTree
from shapely import get_coordinates, line_interpolate_point

from dff_core.data.digest import json_digest
from dff_core.data.graph import haversine_km
from dff_core.data.roadnet import RoadNetwork, SensorMatch
from dff_core.problems import ShortestPath
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.bpr import BPR, DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_FREE_FLOW_KMH, DEFAULT_LANE_CAPACITY
from dff_core.scenarios.features import chronological_split, infer_freq, make_features, resolve_timing
from dff_core.scenarios.traffic import MIN_SPEED_KMH, PaceRouting, _demand, _hull_nodes, _paces, routing_scenario

__all__ = [
    "FREE_FLOW_QUANTILE",
    "IDW_K",
    "IDW_OFFSET_M",
    "build_network_scenario",
    "network_pairs",
    "slowdown_weights",
    "trip_ends",
]

#: Neighbouring sensors whose slowdowns a link without a sensor averages.
IDW_K = 4
#: Offset (metres) added to distances in the inverse-distance weights, so a sensor at distance 0 is finite.
IDW_OFFSET_M = 50.0
#: A sensor's free-flow pace is this quantile of its training paces (its 95th-percentile speed).
FREE_FLOW_QUANTILE = 0.05


def _metric_xy(lon: np.ndarray, lat: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Local equirectangular x/y in metres around (lat0, lon0): enough for nearest-sensor weights."""
    k = 111_320.0
    return np.column_stack([(lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k])


def slowdown_weights(
    network: RoadNetwork, match: SensorMatch, sensors: pd.DataFrame, k: int = IDW_K, offset_m: float = IDW_OFFSET_M
) -> sp.csr_matrix:
    """``W`` (links x matched sensors): each link's weights on the sensors' slowdowns (rows sum to 1).

    Links holding sensors weigh those sensors equally; other links weigh the ``k`` nearest sensors
    by ``1 / (distance + offset_m)^2`` (distances from link midpoints to sensor positions).
    """
    ids = match.sensor_ids
    m, n = len(network.links), len(ids)
    col = {s: j for j, s in enumerate(ids)}
    lat0 = float(network.nodes["latitude"].median())
    lon0 = float(network.nodes["longitude"].median())
    mids = get_coordinates(line_interpolate_point(np.asarray(network.geometry, dtype=object), 0.5, normalized=True))
    link_xy = _metric_xy(mids[:, 0], mids[:, 1], lat0, lon0)
    s = sensors.loc[ids]
    sensor_xy = _metric_xy(s["longitude"].to_numpy(float), s["latitude"].to_numpy(float), lat0, lon0)
    held = match.table["link"].to_numpy()
    has = np.zeros(m, bool)
    has[held] = True
    rows, cols, vals = [], [], []
    counts = np.bincount(held, minlength=m)
    rows.append(held)
    cols.append(np.array([col[x] for x in match.table["sensor_id"]]))
    vals.append(1.0 / counts[held])
    free = np.flatnonzero(~has)
    if len(free):
        kk = min(k, n)
        dist, nb = cKDTree(sensor_xy).query(link_xy[free], k=kk)
        dist, nb = dist.reshape(len(free), kk), nb.reshape(len(free), kk)
        w = 1.0 / (dist + offset_m) ** 2
        w /= w.sum(axis=1, keepdims=True)
        rows.append(np.repeat(free, kk))
        cols.append(nb.ravel())
        vals.append(w.ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n))


# ----------------------------------------------------------------------------- trips
def _zone_free_graph(network: RoadNetwork, weight: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The arcs not leaving a zone (weighted), and a mask of zone nodes."""
    N = network.num_nodes
    E = network.edges
    zone = np.zeros(N, bool)
    zone[network.zones] = True
    keep = ~zone[E[:, 0]]
    g = sp.csr_matrix((weight[keep], (E[keep, 0], E[keep, 1])), shape=(N, N))
    return g, zone


def _from_origin(network: RoadNetwork, base: sp.csr_matrix, zone: np.ndarray, weight: np.ndarray, s: int):
    """The graph searched from origin ``s``: zone-free arcs plus ``s``'s own arcs when ``s`` is a zone."""
    if not zone[s]:
        return base
    E = network.edges
    own = E[:, 0] == s
    extra = sp.csr_matrix((weight[own], (E[own, 0], E[own, 1])), shape=base.shape)
    return (base + extra).tocsr()


def _reachable(network: RoadNetwork, P: np.ndarray) -> list[int]:
    """Indices of pairs in ``P`` whose destination cannot be reached without passing through a zone."""
    ones = np.ones(len(network.links))
    base, zone = _zone_free_graph(network, ones)
    bad = []
    for s in np.unique(P[:, 0]):
        seen = set(
            breadth_first_order(
                _from_origin(network, base, zone, ones, int(s)), int(s), return_predecessors=False
            ).tolist()
        )
        bad += [k for k in np.flatnonzero(P[:, 0] == s) if int(P[k, 1]) not in seen]
    return sorted(bad)


def network_pairs(
    network: RoadNetwork, candidates: list[str], n_pairs: int = 5, seed: int = 0
) -> list[tuple[str, str]]:
    """Reproducible long trips among ``candidates`` (node ids): far apart by free-flow time, connected
    without passing through zones.

    Origins and destinations are the candidates on the convex hull (all candidates when the hull
    gives too few pairs); ``n_pairs`` are drawn (seeded) from the longest quarter of the reachable
    pairs, preferring distinct origins and destinations.
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be at least 1; got {n_pairs}.")
    pos = pd.Series(np.arange(network.num_nodes), index=network.nodes.index)
    nodes = pos.loc[candidates].to_numpy()
    weight = np.maximum(network.links["free_flow_min"].to_numpy(float), 1e-6)
    base, zone = _zone_free_graph(network, weight)
    lat = network.nodes["latitude"].to_numpy()[nodes]
    lon = network.nodes["longitude"].to_numpy()[nodes]

    def pairs_among(ends: np.ndarray) -> list[tuple[int, int, float]]:
        out = []
        for s in ends:
            dist = dijkstra(_from_origin(network, base, zone, weight, int(s)), indices=int(s))
            out += [(int(s), int(t), float(dist[t])) for t in ends if t != s and np.isfinite(dist[t])]
        return out

    cands = pairs_among(nodes[_hull_nodes(lat, lon)])
    if len(cands) < n_pairs:
        cands = pairs_among(nodes[: min(len(nodes), 200)])
    if not cands:
        raise ValueError(
            f"traffic scenario: no two of the {len(candidates)} candidate trip ends of {network.name} are connected "
            "(without passing through a zone); give pairs, or check link directions."
        )
    cands.sort(key=lambda t: (-t[2], t[0], t[1]))
    pool = cands[: max(4 * n_pairs, len(cands) // 4)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))
    chosen: list[tuple[int, int]] = []
    used: set[int] = set()
    for k in order:
        s, t, _ = pool[k]
        if s not in used and t not in used and len(chosen) < n_pairs:
            chosen.append((s, t))
            used |= {s, t}
    for k in order:
        s, t, _ = pool[k]
        if len(chosen) < n_pairs and (s, t) not in chosen:
            chosen.append((s, t))
    ids = network.node_ids
    return [(ids[s], ids[t]) for s, t in chosen]


def trip_ends(network: RoadNetwork, match: SensorMatch) -> list[str]:
    """Default trip ends: the TNTP zones, else the nodes of links holding sensors."""
    if len(network.centroids) >= 2:
        return list(network.centroids)
    ends = pd.unique(np.r_[match.table["from_id"].to_numpy(object), match.table["to_id"].to_numpy(object)])
    return [str(e) for e in ends]


def _checked_pairs(network: RoadNetwork, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    pos = pd.Series(np.arange(network.num_nodes), index=network.nodes.index)
    out = []
    for k, (a, b) in enumerate(pairs):
        for role, node in (("origin", a), ("destination", b)):
            if node not in pos.index:
                raise ValueError(
                    f"traffic scenario: pair {k} {role} {node!r} is not a node of {network.name}; pairs name network "
                    "node ids (e.g. TNTP zone numbers) when a network is given."
                )
        out.append((int(pos[a]), int(pos[b])))
    P = np.asarray(out, dtype=np.int64).reshape(-1, 2)
    bad = _reachable(network, P)
    if bad:
        k = bad[0]
        raise ValueError(
            f"traffic scenario: pair {k} ({pairs[k][0]} -> {pairs[k][1]}) has no route through {network.name} that "
            f"avoids passing through zones{f' ({len(bad)} pairs in all)' if len(bad) > 1 else ''}; choose other "
            "pairs or check link directions."
        )
    return P


# ----------------------------------------------------------------------------- scenario
def build_network_scenario(
    dataset: Any,
    network: RoadNetwork,
    match: SensorMatch,
    *,
    horizon: str | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    n_pairs: int = 5,
    demand: float | Sequence[float] | None = None,
    split: Sequence[Any] = (0.6, 0.2, 0.2),
    seed: int = 0,
    every: str | None = "auto",
    min_speed_kmh: float = MIN_SPEED_KMH,
    bpr_alpha: float = DEFAULT_ALPHA,
    bpr_beta: float = DEFAULT_BETA,
    free_flow_kmh: float = DEFAULT_FREE_FLOW_KMH,
    lane_capacity: float = DEFAULT_LANE_CAPACITY,
    algorithm: Literal["auto", "dijkstra", "cch"] = "auto",
) -> Scenario:
    """Routing of ``pairs`` trips (network node ids; default :func:`network_pairs`) on ``network``,
    priced from the matched sensors' predicted paces ``horizon`` ahead (see the module docstring).

    Arguments as :func:`~dff_core.scenarios.traffic.build_traffic_scenario`; ``match`` says which
    sensors are used (the others are left out) and where they sit.
    """
    kind = getattr(dataset, "value_kind", "speed_kmh")
    sensor_ids = match.sensor_ids
    sensors = dataset.sensors.copy()
    sensors.index = sensors.index.astype(str)
    pairs = [(str(a), str(b)) for a, b in (pairs or network_pairs(network, trip_ends(network, match), n_pairs, seed))]
    if not pairs:
        raise ValueError("traffic scenario: pairs is empty; give at least one (origin, destination) node pair.")
    P = _checked_pairs(network, pairs)
    dem = _demand(demand, len(P))

    freq = getattr(dataset, "freq", None)
    freq = pd.Timedelta(freq) if freq is not None else infer_freq(dataset.readings.index)
    timing = resolve_timing(freq, horizon, every)
    bpr_kw = {"alpha": bpr_alpha, "beta": bpr_beta, "free_flow_kmh": free_flow_kmh, "lane_capacity": lane_capacity}
    t0 = time.perf_counter()
    source, pace, wrap, extra_value, assumptions = _paces(dataset, split, freq, min_speed_kmh, bpr_kw)
    if kind == "count":  # BPR per sensor: keep the matched sensors' columns of the counts and the map
        keep = [list(source.columns).index(s) for s in sensor_ids]
        sources = [wrap.capacity_source[j] for j in keep]
        wrap = BPR(wrap.free_flow_pace[keep], wrap.capacity[keep], wrap.alpha, wrap.beta, sources)
        free_pace = wrap.free_flow_pace
    fs = make_features(source[sensor_ids], pace[sensor_ids], horizon=timing.horizon, freq=freq, every=timing.every)
    parts = chronological_split(fs.times, split, target_times=fs.target_times)
    if kind != "count":
        train = fs.C[parts["train"]] if len(parts["train"]) else fs.C
        free_pace = np.maximum(np.quantile(train, FREE_FLOW_QUANTILE, axis=0), 60.0 / 250.0)
    W = slowdown_weights(network, match, sensors)
    fftt = network.links["free_flow_min"].to_numpy(float)
    A = sp.csr_matrix(sp.diags(fftt) @ W @ sp.diags(1.0 / free_pace))
    A.eliminate_zeros()
    t_features = time.perf_counter() - t0
    base = ShortestPath(network.num_nodes, network.edges, pairs=P, demand=dem, zones=network.zones, algorithm=algorithm)
    problem = PaceRouting(base, A)

    links = network.links[["from_id", "to_id", "u", "v", "free_flow_min", "length", "capacity"]].copy()
    ends = np.array([[g.coords[0], g.coords[-1]] for g in network.geometry])
    links["length_km"] = haversine_km(ends[:, 0, 1], ends[:, 0, 0], ends[:, 1, 1], ends[:, 1, 0])
    options = {
        **timing.options(),
        "pairs": [list(p) for p in pairs],
        "n_pairs": len(pairs),
        "demand": dem.tolist(),
        "capacities": False,
        "split": [str(s) for s in split],
        "seed": int(seed),
        "min_speed_kmh": float(min_speed_kmh),
        "value": kind,
        "network": network.name,
        "match_distance": match.max_distance_m,
    }
    if kind == "count":
        options.update({f"bpr_{k}" if k in ("alpha", "beta") else k: float(v) for k, v in bpr_kw.items()})
        options["count_unit"] = extra_value["count_unit"]
    assumptions = [
        *assumptions,
        "a link's travel time = its free-flow time x the slowdown (predicted pace / free-flow pace) of the sensors "
        f"on it, else the inverse-distance weighted slowdown of the {IDW_K} nearest sensors (1/(d + "
        f"{IDW_OFFSET_M:g} m)^2)",
        "a sensor's free-flow pace = "
        + ("its BPR free-flow pace" if kind == "count" else "the 5th percentile of its training paces"),
    ]
    shown = {
        "sensors": sensors.loc[sensor_ids],
        "links": links,
        "nodes": network.nodes,
        "link_geometry": network.geometry,
        "zones": network.zones.tolist(),
        "matches": match.table,
        "unmatched_sensors": list(match.unmatched),
        "network": {"name": network.name, "nodes": network.num_nodes, "links": len(links), "zones": len(network.zones)},
        "node_ids": network.node_ids,
        "sensor_ids": sensor_ids,
        "free_flow_pace": free_pace,
    }
    return routing_scenario(
        problem,
        fs,
        parts,
        shown=shown,
        trips=(pairs, P, dem),
        link_sensor_map=A,
        freq=freq,
        timing=timing,
        paces=(wrap, extra_value, assumptions),
        data_digest=json_digest({"readings": dataset.digest(), "network": network.digest}),
        options=options,
        timings={"features": t_features, "network_index": base.preprocess_seconds},
    )

"""Traffic routing: route trips through the sensor network on predicted travel times.

Graph nodes are the sensors and arcs the links. The predicted quantity per sensor is its
*pace* in minutes per km: from speed readings 60 / speed (speeds floored at ``min_speed_kmh``
so paces stay finite); from count readings the BPR link performance function of the flow
(:mod:`dff_core.scenarios.bpr`). A link's travel time is its length times the mean pace of its
two end sensors, which is linear in the paces, so the problem is
``LinearMapped(ShortestPath(...), A)`` with ``A[link, sensor] = length_km / 2`` for both ends:
the correction acts per sensor, and regret is in vehicle-minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import ConvexHull, QhullError

from dff_core.data.dataset import value_unit
from dff_core.data.graph import haversine_km
from dff_core.problems import LinearMapped, MinCostFlow, ShortestPath
from dff_core.problems.base import OptProblem
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.bpr import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_FREE_FLOW_KMH,
    DEFAULT_LANE_CAPACITY,
    bpr_paces,
)
from dff_core.scenarios.features import (
    FeatureSet,
    Timing,
    chronological_split,
    infer_freq,
    make_features,
    resolve_timing,
)

#: Speeds below this (km/h) are treated as this, so paces (min/km) stay finite.
MIN_SPEED_KMH = 3.0
#: Predicted speeds above this (km/h), or negative paces, are routed as this speed.
MAX_SPEED_KMH = 250.0


class PaceRouting(LinearMapped):
    """Routing on predicted sensor paces: :class:`LinearMapped` that raises predicted paces below
    ``min_pace`` (a physically possible floor) to it before solving.

    A regression backbone can predict a negative or near-zero pace for a fast sensor; the router
    would then take that link as free. Every method's predictions go through the same floor, and
    objectives and regret are computed on the true paces, so the comparison stays fair. The
    decision-loss surrogate (``solve_surrogate``) is left unclipped: it is defined for any costs.
    """

    def __init__(self, base: OptProblem, A: Any, min_pace: float = 60.0 / MAX_SPEED_KMH) -> None:
        super().__init__(base, A)
        self.min_pace = float(min_pace)
        self.requires_nonnegative = False  # negatives are floored, not refused

    def _solve(self, C: np.ndarray) -> np.ndarray:
        return super()._solve(np.maximum(C, self.min_pace))

    def solve_base(self, C: np.ndarray) -> np.ndarray:
        return super().solve_base(np.maximum(np.atleast_2d(np.asarray(C, dtype=np.float64)), self.min_pace))


def paces_min_per_km(speeds_kmh: pd.DataFrame, min_speed_kmh: float = MIN_SPEED_KMH) -> pd.DataFrame:
    """Minutes per km from km/h, with speeds floored at ``min_speed_kmh`` (NaN stays NaN)."""
    return 60.0 / speeds_kmh.clip(lower=min_speed_kmh)


def network_arcs(dataset: Any, node_ids: list[str]) -> pd.DataFrame:
    """Directed arcs between known sensors: ``from_id, to_id, u, v, length_km, capacity``.

    Self-loops are dropped; duplicate arcs keep the shortest. Missing lengths are filled
    with the straight-line distance between the sensors.
    """
    links = getattr(dataset, "links", None)
    if links is None or len(links) == 0:
        raise ValueError(
            "traffic scenario: the dataset has no links; give a links file (from_id,to_id,length_km) "
            "or let the loader infer the graph."
        )
    links = pd.DataFrame(links).copy()
    for col in ("from_id", "to_id"):
        if col not in links.columns:
            raise ValueError(f"traffic scenario: links need a column {col!r}; found {list(links.columns)}.")
        links[col] = links[col].astype(str)
    pos = {s: i for i, s in enumerate(node_ids)}
    unknown = sorted((set(links["from_id"]) | set(links["to_id"])) - set(pos))
    if unknown:
        raise ValueError(
            f"traffic scenario: links name sensors without readings: {', '.join(unknown[:5])}"
            f"{' ...' if len(unknown) > 5 else ''}; add their readings or remove those links."
        )
    links["u"] = links["from_id"].map(pos).astype(np.int64)
    links["v"] = links["to_id"].map(pos).astype(np.int64)
    links = links[links["u"] != links["v"]]
    if "length_km" not in links.columns:
        links["length_km"] = np.nan
    if "capacity" not in links.columns:
        links["capacity"] = np.nan
    links["length_km"] = pd.to_numeric(links["length_km"], errors="coerce").astype(float)
    miss = ~np.isfinite(links["length_km"].to_numpy()) | (links["length_km"].to_numpy() <= 0)
    if miss.any():
        s = dataset.sensors
        lat = s["latitude"].astype(float).reindex(node_ids).to_numpy()
        lon = s["longitude"].astype(float).reindex(node_ids).to_numpy()
        u, v = links["u"].to_numpy()[miss], links["v"].to_numpy()[miss]
        links.loc[miss, "length_km"] = np.maximum(haversine_km(lat[u], lon[u], lat[v], lon[v]), 0.01)
    links = links.sort_values(["u", "v", "length_km"], kind="stable").drop_duplicates(["u", "v"], keep="first")
    if links.empty:
        raise ValueError("traffic scenario: no usable links (all were self-loops).")
    return links[["from_id", "to_id", "u", "v", "length_km", "capacity"]].reset_index(drop=True)


def default_pairs(
    node_ids: list[str],
    lat: np.ndarray,
    lon: np.ndarray,
    arcs: pd.DataFrame,
    n_pairs: int = 5,
    seed: int = 0,
    common_origin: bool = False,
) -> list[tuple[str, str]]:
    """Reproducible long trips: far-apart reachable pairs among the sensors on the convex hull.

    Candidates are (origin, destination) pairs of hull sensors ordered by free-flow route
    length; ``n_pairs`` are drawn (seeded) from the longest quarter, preferring distinct
    origins and destinations. Falls back to all sensors when the hull gives too few pairs.
    With ``common_origin`` every trip leaves from the origin of the first drawn trip (to the
    sensors farthest from it), as a single-commodity capacitated flow needs.
    """
    n = len(node_ids)
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be at least 1; got {n_pairs}.")
    graph = sp.csr_matrix(
        (np.maximum(arcs["length_km"].to_numpy(), 1e-6), (arcs["u"].to_numpy(), arcs["v"].to_numpy())), shape=(n, n)
    )
    hull = _hull_nodes(lat, lon)
    cands = _reachable_pairs(graph, hull)
    if len(cands) < n_pairs:
        cands = _reachable_pairs(graph, np.arange(n))
    if not cands:
        raise ValueError("traffic scenario: no sensor can reach another through the links; check link directions.")
    cands.sort(key=lambda t: (-t[2], t[0], t[1]))
    pool = cands[: max(4 * n_pairs, len(cands) // 4)]
    rng = np.random.default_rng(seed)
    if common_origin:
        origin = pool[int(rng.integers(len(pool)))][0]
        dist = dijkstra(graph, directed=True, indices=origin)
        far = [
            int(t) for t in np.argsort(-np.where(np.isfinite(dist), dist, -1), kind="stable") if np.isfinite(dist[t])
        ]
        far = [t for t in far if t != origin][:n_pairs]
        return [(node_ids[origin], node_ids[t]) for t in far]
    order = rng.permutation(len(pool))
    chosen: list[tuple[int, int]] = []
    used: set[int] = set()
    for k in order:  # first pass: distinct endpoints
        s, t, _ = pool[k]
        if s not in used and t not in used:
            chosen.append((s, t))
            used |= {s, t}
        if len(chosen) == n_pairs:
            break
    for k in order:  # second pass: fill up
        if len(chosen) == n_pairs:
            break
        s, t, _ = pool[k]
        if (s, t) not in chosen:
            chosen.append((s, t))
    return [(node_ids[s], node_ids[t]) for s, t in chosen]


def _hull_nodes(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    xy = np.column_stack([np.asarray(lon) * np.cos(np.radians(np.nanmean(lat))), np.asarray(lat)])
    if len(xy) < 3 or not np.isfinite(xy).all():
        return np.arange(len(xy))
    try:
        return np.sort(ConvexHull(xy).vertices)
    except (QhullError, ValueError):
        return np.arange(len(xy))


def _reachable_pairs(graph: sp.csr_matrix, nodes: np.ndarray) -> list[tuple[int, int, float]]:
    dist = dijkstra(graph, directed=True, indices=nodes)
    out = []
    for a, s in enumerate(nodes):
        for t in nodes:
            if t != s and np.isfinite(dist[a, t]):
                out.append((int(s), int(t), float(dist[a, t])))
    return out


def _capacitated_flow(
    n: int,
    arcs: pd.DataFrame,
    P: np.ndarray,
    dem: np.ndarray,
    pairs: list[tuple[str, str]],
    *,
    demand_given: bool,
) -> Any:
    """Single-commodity min-cost flow of the trips under link capacities (exact when trips share
    an origin or a destination). Uncapacitated links get the total demand as capacity, which
    no optimal flow exceeds and which keeps the surrogate LP bounded for negative costs."""
    if not demand_given:
        raise ValueError(
            "traffic scenario: capacities=True needs demand (vehicles per pair, in the unit of the link "
            "capacities, e.g. vehicles per hour); with 1 vehicle per trip no capacity ever binds."
        )
    if len(set(P[:, 0].tolist())) > 1 and len(set(P[:, 1].tolist())) > 1:
        raise ValueError(
            "traffic scenario: with capacities all trips must share one origin or one destination (a single "
            f"flow of vehicles); got {len(set(P[:, 0].tolist()))} origins and {len(set(P[:, 1].tolist()))} "
            "destinations. Give such pairs, or leave pairs unset."
        )
    total = float(dem.sum())
    cap = pd.to_numeric(arcs["capacity"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(cap).any():
        raise ValueError("traffic scenario: capacities=True, but no link has a capacity; add a capacity column.")
    cap = np.where(np.isfinite(cap), np.minimum(cap, total), total)
    supplies = np.zeros(n)
    np.add.at(supplies, P[:, 0], dem)
    np.add.at(supplies, P[:, 1], -dem)
    try:
        problem = MinCostFlow(n, arcs[["u", "v"]].to_numpy(), cap, supplies)
        problem.solve(np.ones((1, problem.d)))
    except Exception as exc:  # infeasible: the capacities cannot carry the demand
        trips = ", ".join(f"{a}->{b}" for a, b in pairs)
        raise ValueError(
            f"traffic scenario: the link capacities cannot carry the demand of the trips ({trips}, "
            f"{total:g} vehicles in total): {exc}. Lower the demand or raise capacities."
        ) from exc
    return problem


def _checked_pairs(
    pairs: Sequence[tuple[str, str]] | None,
    node_ids: list[str],
    lat: np.ndarray,
    lon: np.ndarray,
    arcs: pd.DataFrame,
    *,
    n_pairs: int,
    seed: int,
    common_origin: bool,
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The trips (default: :func:`default_pairs`) as ids and node positions; each must have a route."""
    pos = {s: i for i, s in enumerate(node_ids)}
    if pairs is None:
        pairs = default_pairs(node_ids, lat, lon, arcs, n_pairs=n_pairs, seed=seed, common_origin=common_origin)
    pairs = [(str(a), str(b)) for a, b in pairs]
    if not pairs:
        raise ValueError("traffic scenario: pairs is empty; give at least one (origin, destination) sensor pair.")
    for k, (a, b) in enumerate(pairs):
        for role, s in (("origin", a), ("destination", b)):
            if s not in pos:
                raise ValueError(f"traffic scenario: pair {k} {role} {s!r} is not a sensor with readings.")
        if a == b:
            raise ValueError(
                f"traffic scenario: pairs: trip {k} ({a}:{b}) starts and ends at the same sensor, so there is no "
                "route to choose. Give a different destination (pairs are ORIGIN:DESTINATION)."
            )
    P = np.array([(pos[a], pos[b]) for a, b in pairs], dtype=np.int64)
    n = len(node_ids)
    graph = sp.csr_matrix((np.ones(len(arcs)), (arcs["u"], arcs["v"])), shape=(n, n))
    reach = dijkstra(graph, directed=True, indices=np.unique(P[:, 0]), unweighted=True)
    row = {int(s): i for i, s in enumerate(np.unique(P[:, 0]))}
    for k, (s, t) in enumerate(P):
        if not np.isfinite(reach[row[int(s)], t]):
            raise ValueError(
                f"traffic scenario: pair {k} ({pairs[k][0]} -> {pairs[k][1]}) has no route through the links; "
                "choose another pair or check link directions."
            )
    return pairs, P


def _demand(demand: float | Sequence[float] | None, n: int) -> np.ndarray:
    if demand is None:
        return np.ones(n)
    dem = np.asarray(demand, dtype=float)
    if dem.ndim == 0:
        return np.full(n, float(dem))
    if dem.shape != (n,):
        raise ValueError(f"traffic scenario: demand needs one value per pair ({n}); got {len(dem)}.")
    return dem


def _paces(dataset: Any, split: Sequence[Any], freq: pd.Timedelta, min_speed_kmh: float, bpr_kw: dict) -> tuple:
    """``(features source, pace targets, backbone wrapper, extra, assumptions)`` for speed or count readings."""
    kind = getattr(dataset, "value_kind", "speed_kmh")
    if kind != "count":
        speeds = dataset.speeds_kmh() if callable(getattr(dataset, "speeds_kmh", None)) else dataset.readings
        speeds = speeds.copy()
        speeds.columns = [str(c) for c in speeds.columns]
        pace = paces_min_per_km(speeds, min_speed_kmh)
        return pace, pace, None, {"quantity": "pace (min/km)"}, []
    counts = dataset.readings.copy()
    counts.columns = [str(c) for c in counts.columns]
    pace, bpr, table = bpr_paces(counts, freq, getattr(dataset, "links", None), split, **bpr_kw)
    unit = value_unit("count", freq, getattr(dataset, "count_unit", None))
    per_hour = pd.Timedelta("1h") / freq
    used = pd.Series(bpr.capacity_source).value_counts().to_dict()
    assumptions = [
        f"counts are {unit}; flow per hour = count x {per_hour:g}",
        "a sensor's flow is the flow on the road it measures; a link's travel time is its length x the mean pace "
        "of its two end sensors",
        f"pace = free-flow pace x (1 + {bpr.alpha:g} (flow / capacity)^{bpr.beta:g}) (BPR)",
        "capacity per sensor from its links' capacity, else lanes x lane capacity, else its 95th-percentile "
        f"training flow ({', '.join(f'{v} from {k}' for k, v in used.items())})",
        "free-flow speed from the links' free_flow_kmh, else "
        f"{bpr_kw.get('free_flow_kmh', DEFAULT_FREE_FLOW_KMH):g} km/h",
    ]
    extra = {"quantity": "pace (min/km) from counts (BPR)", "bpr": table, "count_unit": unit}
    return counts, pace, bpr, extra, assumptions


def routing_scenario(
    problem: PaceRouting,
    fs: FeatureSet,
    parts: dict[str, np.ndarray],
    *,
    shown: dict[str, Any],
    trips: tuple[list, np.ndarray, np.ndarray],
    link_sensor_map: sp.csr_matrix,
    freq: pd.Timedelta,
    timing: Timing,
    paces: tuple[Callable[[Any], Any] | None, dict[str, Any], list[str]],
    data_digest: str,
    options: dict[str, Any],
    timings: dict[str, float],
) -> Scenario:
    """The traffic :class:`Scenario` of trips routed on predicted paces, shared by the sensor-graph and the
    road-network builders.

    ``shown`` is the builder's own display payload (sensors, links, ...); the trips (``pairs``, their node
    indices ``P``, ``demand``), the pace-to-cost map, timing and the value payload of :func:`_paces` are
    added to it the same way for both. ``paces`` is ``(wrap_backbone, extra_value, assumptions)``.
    """
    pairs, P, dem = trips
    wrap, extra_value, assumptions = paces
    extra = {
        **shown,
        "pairs": pairs,
        "pair_nodes": P.tolist(),
        "demand": dem.tolist(),
        "link_sensor_map": link_sensor_map,
        "min_pace": problem.min_pace,
        "freq": str(freq),
        "timing": timing.describe(),
        "assumptions": assumptions,
        **extra_value,
    }
    return Scenario(
        kind="traffic",
        problem=problem,
        X=fs.X,
        C=fs.C,
        times=fs.times,
        feature_names=fs.feature_names,
        output_names=fs.output_names,
        split=parts,
        unit="vehicle-minutes",
        extra=extra,
        data_digest=data_digest,
        options=options,
        key_column=fs.slot_column,
        timings=timings,
        wrap_backbone=wrap,
    )


def build_traffic_scenario(
    dataset: Any,
    *,
    horizon: str | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    n_pairs: int = 5,
    demand: float | Sequence[float] | None = None,
    capacities: bool = False,
    split: Sequence[Any] = (0.6, 0.2, 0.2),
    seed: int = 0,
    every: str | None = "auto",
    min_speed_kmh: float = MIN_SPEED_KMH,
    bpr_alpha: float = DEFAULT_ALPHA,
    bpr_beta: float = DEFAULT_BETA,
    free_flow_kmh: float = DEFAULT_FREE_FLOW_KMH,
    lane_capacity: float = DEFAULT_LANE_CAPACITY,
) -> Scenario:
    """Routing of ``pairs`` trips on predicted sensor paces ``horizon`` ahead.

    Parameters
    ----------
    dataset:
        A :class:`dff_core.data.Dataset` with sensors (coordinates) and links. Speeds give paces
        directly; counts give paces through the BPR link performance function (see
        :mod:`dff_core.scenarios.bpr`: ``bpr_alpha``, ``bpr_beta``, ``free_flow_kmh``,
        ``lane_capacity``), and the scenario's backbone becomes the count forecaster followed by
        that map (``scenario.wrap_backbone``), whose travel times DFF corrects.
    horizon:
        How far ahead to predict; ``None`` = the smallest multiple of the reading interval of at
        least 30 minutes (see :func:`~dff_core.scenarios.features.resolve_timing`).
    pairs:
        Origin-destination sensor ids; default :func:`default_pairs` (``n_pairs`` long trips).
    demand:
        Vehicles per pair (a number for all pairs, or one per pair); default 1.
    capacities:
        Route the trips as one flow under the links' ``capacity`` (a min-cost flow; all trips
        share an origin or a destination, and ``demand`` is needed in the capacities' unit).
    split:
        Chronological train/val/test fractions or durations (see :func:`chronological_split`).
    every:
        Spacing of decision times; ``"auto"`` = the smallest multiple of the interval of at least
        15 min; ``None`` = every reading.
    """
    kind = getattr(dataset, "value_kind", "speed_kmh")
    node_ids = [str(c) for c in dataset.readings.columns]
    sensors_idx = dataset.sensors.copy()
    sensors_idx.index = sensors_idx.index.astype(str)
    missing = [s for s in node_ids if s not in sensors_idx.index]
    if missing:
        raise ValueError(
            f"traffic scenario: sensors without coordinates: {', '.join(missing[:5])}; add them to the sensors file."
        )
    lat = sensors_idx.loc[node_ids, "latitude"].astype(float).to_numpy()
    lon = sensors_idx.loc[node_ids, "longitude"].astype(float).to_numpy()
    arcs = network_arcs(dataset, node_ids)
    pairs, P = _checked_pairs(
        pairs, node_ids, lat, lon, arcs, n_pairs=n_pairs, seed=seed, common_origin=capacities
    )  # fmt: skip
    dem = _demand(demand, len(P))
    n = len(node_ids)
    edges = arcs[["u", "v"]].to_numpy()
    L = arcs["length_km"].to_numpy()
    m = len(arcs)
    A = sp.csr_matrix(
        (np.concatenate([L / 2, L / 2]), (np.r_[np.arange(m), np.arange(m)], np.r_[edges[:, 0], edges[:, 1]])),
        shape=(m, n),
    )
    if capacities:
        base = _capacitated_flow(n, arcs, P, dem, pairs, demand_given=demand is not None)
    else:
        base = ShortestPath(n, edges, pairs=P, demand=dem)
    problem = PaceRouting(base, A)

    freq = getattr(dataset, "freq", None)
    freq = pd.Timedelta(freq) if freq is not None else infer_freq(dataset.readings.index)
    timing = resolve_timing(freq, horizon, every)
    bpr_kw = {"alpha": bpr_alpha, "beta": bpr_beta, "free_flow_kmh": free_flow_kmh, "lane_capacity": lane_capacity}
    t0 = time.perf_counter()
    source, pace, wrap, extra_value, assumptions = _paces(dataset, split, freq, min_speed_kmh, bpr_kw)
    fs = make_features(source, pace, horizon=timing.horizon, freq=freq, every=timing.every)
    parts = chronological_split(fs.times, split, target_times=fs.target_times)
    options = {
        **timing.options(),
        "pairs": [list(p) for p in pairs],
        "n_pairs": len(pairs),
        "demand": dem.tolist(),
        "capacities": bool(capacities),
        "split": [str(s) for s in split],
        "seed": int(seed),
        "min_speed_kmh": float(min_speed_kmh),
        "value": kind,
    }
    if kind == "count":
        options.update({f"bpr_{k}" if k in ("alpha", "beta") else k: float(v) for k, v in bpr_kw.items()})
        options["count_unit"] = extra_value["count_unit"]
    return routing_scenario(
        problem,
        fs,
        parts,
        shown={"sensors": sensors_idx.loc[node_ids], "links": arcs, "node_ids": node_ids},
        trips=(pairs, P, dem),
        link_sensor_map=A,
        freq=freq,
        timing=timing,
        paces=(wrap, extra_value, assumptions),
        data_digest=dataset.digest(),
        options=options,
        timings={"features": time.perf_counter() - t0},
    )

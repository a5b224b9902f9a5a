"""What the Decisions, Interpretability and Export pages draw, prepared from a comparison result.

The engine's decisions at one test instance (:func:`route_decisions`, :func:`allocation_decisions`
from :mod:`dff_core.decisions`) and thin adapters over its explanations that shape their output
for the figures (labels, pivots, one row per test time). Imports the explanation engine (torch):
only the pages that show a result import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from dashboard.services import cache
from dashboard.services.data import links_segments, sensors_frame
from dashboard.services.labels import feature_label, method_label
from dashboard.services.network import node_frame
from dff_core.decisions import HINDSIGHT, allocation_decisions, route_decisions
from dff_core.explain import correction_summary
from dff_core.explain import decision_differences as engine_decision_differences
from dff_core.explain import feature_attribution as engine_feature_attribution
from dff_core.problems import LinearMapped, ShortestPath
from dff_core.results import ComparisonResult

T = TypeVar("T")

__all__ = [
    "allocation_decisions",
    "allocation_table",
    "allocations_table",
    "correction_factors_table",
    "corrections_by_hour",
    "decision_differences",
    "feature_attribution",
    "is_routing",
    "most_changed_instance",
    "rank_corrections",
    "readable_features",
    "reading_word",
    "regret_at",
    "result_sensors",
    "route_decisions",
    "route_layers",
    "routes_table",
    "row_label",
    "sensor_names",
    "site_frame",
    "sweep_fraction",
    "time_labels",
    "tradeoff_table",
    "trip_points",
]


# ------------------------------------------------------------------------------ decisions
def result_sensors(result: ComparisonResult) -> pd.DataFrame | None:
    """``sensor_id, name, lat, lon`` of the sensors a result's scenario decided over, if it has them.

    A run opened from a folder may be on other data than the dashboard's, so its own sensors place
    the routes' origins and destinations on the map.
    """
    g = result.extra.get("sensors")
    return None if g is None or not len(g) else sensors_frame(g)


def time_labels(result: ComparisonResult) -> list[str]:
    """Test times as labels (``instance k`` when the result has no times)."""
    if result.times is not None and len(result.times) == result.n_test:
        return [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in result.times]
    return [f"instance {k}" for k in range(result.n_test)]


def most_changed_instance(result: ComparisonResult) -> int:
    """Test instance where DFF's (else DFL's) regret differs most from plain's; 0 when none differs."""
    other = "dff" if "dff" in result.methods else ("dfl" if "dfl" in result.methods else None)
    if other is None or "two_stage" not in result.methods:
        return 0
    gap = np.abs(np.asarray(result.methods["two_stage"].regret) - np.asarray(result.methods[other].regret))
    return int(np.argmax(gap)) if gap.size and gap.max() > 0 else 0


# ------------------------------------------------------------------------------ interpretability
def corrections_by_hour(result: ComparisonResult) -> pd.DataFrame | None:
    """Mean DFF factor φ per predicted value (rows, problem order) and hour of day (columns).

    ``None`` when the run has no DFF factors.
    """
    m = result.methods.get("dff")
    if m is None or m.factors is None:
        return None
    by = ("output", "hour") if result.times is not None else "output"
    table = correction_summary(result, by=by)
    if by == "output":
        table = table.assign(hour="all")
    wide = table.pivot(index="output", columns="hour", values="mean")
    order = [str(o) for o in result.output_names] or list(wide.index)
    wide.index = wide.index.astype(str)
    return wide.reindex([o for o in order if o in wide.index])


def decision_differences(result: ComparisonResult) -> pd.DataFrame | None:
    """Test instances where DFF decided differently from plain: ``instance, time, n_changed, saved``."""
    if "dff" not in result.methods or "two_stage" not in result.methods:
        return None
    d = engine_decision_differences(result, level="instance")
    d = d[d["n_changed"] > 0].rename(columns={"regret_saved": "saved"})
    labels = time_labels(result)
    return d.assign(time=[labels[int(k)] for k in d["instance"]]).reset_index(drop=True)


def row_label(result: ComparisonResult) -> str:
    """What one predicted value is: a sensor (readings-based scenarios) or an item (allocation table)."""
    from_items = result.config.get("source") == "items" or result.extra.get("sensors") is None
    return "Item" if result.config.get("scenario") == "allocation" and from_items else "Sensor"


def _attribution(result: ComparisonResult, n_max: int) -> pd.DataFrame | None:
    model = result.methods["dff"].model
    idx = np.linspace(0, result.n_test - 1, min(n_max, result.n_test)).astype(int)
    names = list(result.feature_names) or None
    return engine_feature_attribution(model, result.X_test[idx], result.C_hat[idx], feature_names=names, steps=16)


def feature_attribution(result: ComparisonResult, run: str, n_max: int = 64) -> pd.DataFrame | None:
    """``feature, value, signed``: integrated-gradients importance of each input for DFF's correction
    (on up to ``n_max`` evenly spread test instances), or ``None`` when the run has no DFF model.

    Cached by ``run`` (the run's digest): one run, one attribution.
    """
    m = result.methods.get("dff")
    if m is None or m.model is None or not hasattr(m.model, "module_"):
        return None
    out = cache.attribution(run, n_max, lambda: _attribution(result, n_max))
    return out.rename(columns={"importance": "value"})[["feature", "value", "signed"]]


# ------------------------------------------------------------------------------ decisions at one time
def trip_points(pairs: list, sensors: pd.DataFrame, pair: int | None = None) -> list[tuple[float, float, str, str]]:
    """``(lon, lat, name, role)`` of the origin and destination of trip ``pair`` (of every trip when ``None``)."""
    if sensors is None or not len(sensors):
        return []
    pos = sensors.assign(sensor_id=sensors["sensor_id"].astype(str)).drop_duplicates("sensor_id").set_index("sensor_id")
    out = []
    for k, (o, d) in enumerate(pairs):
        if pair is not None and k != pair:
            continue
        for role, sid in (("origin", str(o)), ("destination", str(d))):
            if sid in pos.index:
                out.append((float(pos.loc[sid, "lon"]), float(pos.loc[sid, "lat"]), f"{sid} (trip {o} → {d})", role))
    return out


def route_layers(
    result: ComparisonResult, sensors: pd.DataFrame | None
) -> tuple[pd.DataFrame, list | None, pd.DataFrame | None]:
    """What a route map of ``result`` draws: its links (rows = the problem's arcs), their drawings, and the
    places trips start and end (``sensor_id, lat, lon``).

    On a road network: the network's links, one WGS84 LineString per link, and its nodes. On the sensor
    graph: straight segments between ``sensors``, no drawings (``None``), and the sensors.
    """
    geometry, nodes = result.extra.get("link_geometry"), result.extra.get("nodes")
    if geometry is not None and nodes is not None:
        return pd.DataFrame(result.extra["links"]).reset_index(drop=True), list(geometry), node_frame(nodes)
    return links_segments(result.extra.get("links"), sensors), None, sensors


def regret_at(result: ComparisonResult, instance: int, travel_times: dict[str, float] | None = None) -> pd.DataFrame:
    """Regret of each method at one test time, one row per method (``Method``, ``Regret``).

    With ``travel_times`` of one trip (from :func:`route_decisions` with a pair) the regret is that
    trip's realised time minus its hindsight time, so it matches the trip's cards; else it is the
    method's regret over all trips.
    """
    rows = []
    for m in result.methods:
        if travel_times is not None:
            r = float(travel_times[m] - travel_times[HINDSIGHT])
        else:
            r = float(result.methods[m].regret[instance])
        rows.append({"Method": method_label(m), "Regret": r})
    return pd.DataFrame(rows)


def site_frame(result: ComparisonResult, sensors: pd.DataFrame | None) -> pd.DataFrame | None:
    """``sensor_id, lat, lon`` of each predicted value (rows in the problem's order), or ``None`` when the
    values have no places (an items table) or a site is missing from ``sensors``."""
    if sensors is None or not len(sensors) or not {"sensor_id", "lat", "lon"} <= set(sensors.columns):
        return None
    names = [str(o) for o in result.output_names]
    pos = sensors.assign(sensor_id=sensors["sensor_id"].astype(str)).drop_duplicates("sensor_id").set_index("sensor_id")
    if not names or not set(names) <= set(pos.index):
        return None
    out = pos.reindex(names)[["lat", "lon"]].reset_index()
    return out if out[["lat", "lon"]].notna().all().all() else None


def allocation_table(
    items: list[str], allocations: dict[str, np.ndarray], realised: np.ndarray, n_top: int = 15
) -> pd.DataFrame:
    """Items ranked by realised value per unit (best first): ``item``, ``realised`` and each method's units.

    Keeps the ``n_top`` best items and every item any method allocated to, so no decision is hidden.
    """
    df = pd.DataFrame({"item": [str(i) for i in items], "realised": np.asarray(realised, float)})
    for m, a in allocations.items():
        df[m] = np.asarray(a, float)
    df = df.sort_values("realised", ascending=False, kind="stable").reset_index(drop=True)
    used = (df[list(allocations)].to_numpy(float) > 1e-9).any(axis=1) if allocations else np.zeros(len(df), bool)
    return df[(df.index < n_top) | used].reset_index(drop=True)


# ------------------------------------------------------------------------------ exports
def _pair_problem(result: ComparisonResult, pair: int) -> LinearMapped:
    prob = result.problem
    base = prob.base
    sub = ShortestPath(base.num_nodes, base.edges, pairs=[tuple(base.pairs[pair])], demand=[base.demand[pair]])
    return LinearMapped(sub, prob.A)


def is_routing(result: ComparisonResult) -> bool:
    """Whether the result's decisions are routes (a shortest-path problem over sensor values)."""
    prob = result.problem
    return isinstance(prob, LinearMapped) and isinstance(prob.base, ShortestPath)


def routes_table(result: ComparisonResult) -> pd.DataFrame | None:
    """Routes per test time and trip for every method and hindsight: ``time, trip, method, travel_time,
    regret, n_links, route`` (links in travel order), or ``None`` for a result that is not a routing one."""
    if not is_routing(result):
        return None
    base = result.problem.base
    edges = np.asarray(base.edges)
    names = [str(n) for n in (result.extra.get("node_ids") or range(base.num_nodes))]
    link_ids = np.asarray([f"{names[u]} → {names[v]}" for u, v in edges], dtype=object)
    times = time_labels(result)
    costs = {m: r.C_pred for m, r in result.methods.items()}
    costs[HINDSIGHT] = result.C_test
    frames = []
    for p in range(len(base.pairs)):
        sub = _pair_problem(result, p)
        true_link = sub.base_costs(result.C_test)
        o, d = (int(x) for x in base.pairs[p])
        trip = f"{names[o]} → {names[d]}"
        flows = {m: sub.solve_base(C) for m, C in costs.items()}
        tt = {m: np.einsum("ij,ij->i", true_link, f) for m, f in flows.items()}
        for m, f in flows.items():
            routes = ["; ".join(_follow(link_ids, edges, row > 1e-9, o)) for row in f]
            frames.append(
                pd.DataFrame(
                    {
                        "time": times,
                        "trip": trip,
                        "method": m,
                        "method_name": method_label(m),
                        "travel_time": tt[m],
                        "regret": tt[m] - tt[HINDSIGHT],
                        "n_links": (f > 1e-9).sum(axis=1),
                        "route": routes,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    return out.assign(unit=result.unit)


def _follow(link_ids: np.ndarray, edges: np.ndarray, mask: np.ndarray, origin: int) -> list[str]:
    """The used links in travel order from ``origin`` (then, in arc order, any that cannot be followed)."""
    used = [int(k) for k in np.flatnonzero(mask)]
    by_tail: dict[int, list[int]] = {}
    for k in used:
        by_tail.setdefault(int(edges[k, 0]), []).append(k)
    out, node, seen = [], origin, set()
    while by_tail.get(node):
        k = by_tail[node].pop(0)
        seen.add(k)
        out.append(str(link_ids[k]))
        node = int(edges[k, 1])
    return out + [str(link_ids[k]) for k in used if k not in seen]


def allocations_table(result: ComparisonResult) -> pd.DataFrame:
    """Allocations per test time and item: ``time, item, realised_per_unit`` and each method's units
    (hindsight included), one row per (time, item) where any of them allocated."""
    times = time_labels(result)
    items = [str(o) for o in result.output_names] or [str(k) for k in range(result.C_test.shape[1])]
    n, d = result.C_test.shape
    cols = {m: np.asarray(r.W, float) for m, r in result.methods.items()}
    cols[HINDSIGHT] = np.asarray(result.W_test, float)
    df = pd.DataFrame(
        {
            "time": np.repeat(times, d),
            "item": np.tile(np.asarray(items, dtype=object), n),
            "realised_per_unit": result.C_test.ravel(),
            **{f"units_{m}": w.ravel() for m, w in cols.items()},
        }
    )
    used = np.column_stack([w.ravel() for w in cols.values()]) > 1e-9
    return df[used.any(axis=1)].reset_index(drop=True).assign(unit=result.unit)


def correction_factors_table(result: ComparisonResult) -> pd.DataFrame | None:
    """DFF's correction at every test time and predicted value: ``time, output, backbone, factor, corrected``."""
    m = result.methods.get("dff")
    if m is None or m.factors is None:
        return None
    n, d = m.factors.shape
    outs = [str(o) for o in result.output_names] or [str(k) for k in range(d)]
    return pd.DataFrame(
        {
            "time": np.repeat(time_labels(result), d),
            "output": np.tile(np.asarray(outs, dtype=object), n),
            "backbone": np.asarray(result.C_hat, float).ravel(),
            "factor": np.asarray(m.factors, float).ravel(),
            "corrected": np.asarray(m.C_pred, float).ravel(),
        }
    )


# ------------------------------------------------------------------------------ interpretability controls
#: How the correction heatmap's rows can be ordered.
CORRECTION_ORDERS = {
    "largest": "largest correction first",
    "raises": "largest increase first",
    "lowers": "largest decrease first",
    "name": "by name",
}


def rank_corrections(
    table: pd.DataFrame, k: int, order: str = "largest", query: str = "", names: dict[str, str] | None = None
) -> pd.DataFrame:
    """The ``k`` rows of a sensor x hour factor table that DFF corrects most, ordered and filtered.

    Size of a row's correction: its mean |φ − 1| over the hours. ``order`` is a key of
    :data:`CORRECTION_ORDERS`; ``query`` keeps rows whose id or name contains it (case-insensitive);
    ``names`` maps ids to display labels (the returned index).
    """
    if order not in CORRECTION_ORDERS:
        raise ValueError(f"rank_corrections: order must be one of {list(CORRECTION_ORDERS)}; got {order!r}.")
    names = names or {}
    ids = table.index.astype(str)
    labels = pd.Index([names.get(i, i) for i in ids])
    keep = np.ones(len(table), bool)
    if query.strip():
        q = query.strip().lower()
        keep = np.asarray([q in i.lower() or q in lab.lower() for i, lab in zip(ids, labels)])
    dev = table.to_numpy(float) - 1.0
    size = np.nanmean(np.abs(dev), axis=1)
    signed = np.nanmean(dev, axis=1)
    key = {"largest": -size, "raises": -signed, "lowers": signed, "name": None}[order]
    idx = np.flatnonzero(keep)
    if key is None:
        idx = idx[np.argsort(labels[idx].to_numpy(str), kind="stable")]
    else:
        idx = idx[np.argsort(key[idx], kind="stable")]
    top = table.iloc[idx[: max(int(k), 0)]].copy()
    top.index = labels[idx[: max(int(k), 0)]]
    return top


def sensor_names(result: ComparisonResult) -> dict[str, str]:
    """``id -> "id · name"`` for sensors that have a name in the result's scenario (else empty)."""
    g = result.extra.get("sensors")
    if g is None or not len(g) or "name" not in getattr(g, "columns", ()):
        return {}
    names = pd.Series(g["name"]).dropna().astype(str)
    return {str(i): f"{i} · {n}" for i, n in names.items() if n.strip() and n != str(i)}


def sweep_fraction(events: list) -> float:
    """Share of an ε sweep's runs done, from its progress events (``epoch`` runs done of ``epochs``)."""
    last = [e for e in events if getattr(e, "epochs", 0)]
    if not last:
        return 0.0
    e = last[-1]
    return float(min(1.0, max(0.0, e.epoch / e.epochs)))


def tradeoff_table(sweep: pd.DataFrame, result: ComparisonResult | None = None) -> pd.DataFrame:
    """The ε sweep's rows, plus the unconstrained correction (``epsilon = inf``) when the shown run has one."""
    out = sweep.copy()
    if result is not None and "dff_unbounded" in result.metrics.index:
        row = result.metrics.loc["dff_unbounded"]
        extra = {"epsilon": np.inf, "regret_mean": float(row["regret_mean"])}
        extra["mean_relative_shift"] = float(row.get("mean_relative_shift", np.nan))
        out = pd.concat([out, pd.DataFrame([extra])], ignore_index=True)
    return out


def reading_word(result: ComparisonResult) -> str:
    """What the sensor features measure, for feature labels: ``pace``, ``count`` or ``value`` (items)."""
    if result.config.get("source") == "items":
        return "value"
    return "count" if result.config.get("value") == "count" else "pace"


def readable_features(attr: pd.DataFrame, result: ComparisonResult) -> pd.DataFrame:
    """``attr`` with its ``feature`` column in words (``S39@t-1d`` -> ``S39 pace, 1 day earlier``)."""
    word = reading_word(result)
    return attr.assign(feature=[feature_label(f, quantity=word) for f in attr["feature"]])


def cached(run: str, what: str, make: Callable[[], T]) -> T:
    """``make()`` once per run digest and name (figures, verdicts: pure functions of the run)."""
    return cache.result_view(run, what, make)

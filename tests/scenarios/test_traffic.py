"""Traffic routing scenario: sensor paces -> link travel times -> routes, regret in vehicle-minutes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from dff_core import problems
from dff_core.data import Dataset
from dff_core.metrics import regret
from dff_core.problems import LinearMapped
from dff_core.scenarios import build_traffic_scenario
from dff_core.scenarios.traffic import paces_min_per_km
from tests.scenarios.conftest import make_dataset, make_grid_dataset


def _diamond(speeds: dict[str, list[float]]) -> Dataset:
    """A -> B -> D and A -> C -> D, 2 km links, readings given per sensor."""
    ids = ["A", "B", "C", "D"]
    idx = pd.date_range("2024-03-04", periods=len(speeds["A"]), freq="15min")
    sensors = pd.DataFrame(
        {"latitude": [52.0, 52.01, 51.99, 52.0], "longitude": [5.0, 5.01, 5.01, 5.02], "name": ids},
        index=pd.Index(ids, name="sensor_id"),
    )
    links = pd.DataFrame(
        {"from_id": ["A", "B", "A", "C"], "to_id": ["B", "D", "C", "D"], "length_km": 2.0, "capacity": np.nan}
    )
    return make_dataset(pd.DataFrame(speeds, index=idx), sensors, links)


def test_paces_are_minutes_per_km_with_a_speed_floor() -> None:
    p = paces_min_per_km(pd.DataFrame({"a": [60.0, 30.0, 0.0, np.nan]}))
    np.testing.assert_allclose(p["a"].to_numpy()[:3], [1.0, 2.0, 20.0])
    assert np.isnan(p["a"].iloc[3])


def test_diamond_route_and_objective_by_hand() -> None:
    n = 40
    ds = _diamond({"A": [60.0] * n, "B": [20.0] * n, "C": [60.0] * n, "D": [60.0] * n})
    sc = build_traffic_scenario(ds, pairs=[("A", "D")], horizon="15min", split=(0.5, 0.25, 0.25))
    assert isinstance(sc.problem, LinearMapped)
    assert sc.C.shape[1] == 4
    np.testing.assert_allclose(sc.C[0], [1.0, 3.0, 1.0, 1.0])  # min/km at 60, 20, 60, 60 km/h
    W = sc.problem.solve(sc.C[:1])
    # route A -> C -> D: 2 km x (1+1)/2 + 2 km x (1+1)/2 = 4 minutes
    np.testing.assert_allclose(sc.problem.objective(sc.C[:1], W), [4.0])
    links = sc.extra["links"]
    flows = sc.problem.solve_base(sc.C[:1])[0]
    used = {(a, b) for a, b, f in zip(links["from_id"], links["to_id"], flows, strict=True) if f > 0}
    assert used == {("A", "C"), ("C", "D")}
    # predicting B fast sends the trip via B, which really takes 2*(1+3)/2 + 2*(3+1)/2 = 8 minutes
    wrong = sc.C[:1].copy()
    wrong[0, 1] = 0.5
    np.testing.assert_allclose(regret(sc.problem, sc.C[:1], wrong), [4.0])


def test_objective_is_realised_vehicle_minutes_of_chosen_routes() -> None:
    ds = make_grid_dataset(3, 4, days=2)
    sc = build_traffic_scenario(ds, n_pairs=3, demand=[1.0, 2.0, 0.5])
    C = sc.C[:6]
    W = sc.problem.solve(C)
    links = sc.extra["links"]
    u, v, L = links["u"].to_numpy(), links["v"].to_numpy(), links["length_km"].to_numpy()
    n = len(sc.extra["node_ids"])
    for i in range(len(C)):
        minutes = L * (C[i, u] + C[i, v]) / 2  # link travel times from the sensor paces
        g = sp.csr_matrix((minutes, (u, v)), shape=(n, n))
        best = sum(
            dem * dijkstra(g, indices=s)[t]
            for (s, t), dem in zip(sc.extra["pair_nodes"], sc.extra["demand"], strict=True)
        )
        assert sc.problem.objective(C[i : i + 1], W[i : i + 1])[0] == pytest.approx(best, rel=1e-9)


def test_default_pairs_are_reproducible_reachable_and_long() -> None:
    ds = make_grid_dataset(4, 4, days=2)
    a = build_traffic_scenario(ds, n_pairs=4, seed=3)
    b = build_traffic_scenario(ds, n_pairs=4, seed=3)
    assert a.extra["pairs"] == b.extra["pairs"]
    assert len(set(map(tuple, a.extra["pairs"]))) == 4
    lat = ds.sensors["latitude"]
    lon = ds.sensors["longitude"]
    span = np.hypot(lat.max() - lat.min(), lon.max() - lon.min())
    for o, d in a.extra["pairs"]:
        assert o != d
        assert np.hypot(lat[o] - lat[d], lon[o] - lon[d]) >= 0.3 * span  # trips cross the network


def test_mph_readings_are_converted() -> None:
    kmh = make_grid_dataset(days=2)
    mph = make_grid_dataset(days=2)
    mph.readings = kmh.readings / 1.609344
    mph.value_kind = "speed_mph"
    a = build_traffic_scenario(kmh, n_pairs=2)
    b = build_traffic_scenario(mph, n_pairs=2)
    np.testing.assert_allclose(a.C, b.C)


def test_split_is_chronological_and_metadata_complete() -> None:
    sc = build_traffic_scenario(make_grid_dataset(days=3), n_pairs=2)
    tr, va, te = (sc.times[sc.split[k]] for k in ("train", "val", "test"))
    assert tr.max() < va.min() and va.max() < te.min()
    assert sc.unit == "vehicle-minutes"
    assert sc.data_digest
    assert sc.key_column == sc.feature_names.index("slot_of_week")
    assert {"sensors", "links", "pairs", "node_ids", "link_sensor_map"} <= set(sc.extra)
    text = sc.describe()
    assert "traffic" in text and "vehicle-minutes" in text and "test:" in text


def test_surrogate_with_negative_costs_stays_bounded() -> None:
    """SPO+'s 2ĉ - c may have negative link costs on a graph with cycles: the LP keeps flows in [0, 1]."""
    sc = build_traffic_scenario(make_grid_dataset(days=2), n_pairs=2)
    q = 2 * 0.2 * sc.C[:2] - sc.C[:2]  # all negative
    Wq = sc.problem.solve_surrogate(q)
    assert np.isfinite(Wq).all()
    base_flows = sc.problem.base.solve_surrogate(sc.problem.base_costs(q))
    # each pair's unit flow is in [0, 1] per link, so the total is at most the total demand
    assert base_flows.min() >= -1e-9 and base_flows.max() <= sum(sc.extra["demand"]) + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pairs": [("S00", "nowhere")]}, "nowhere"),
        ({"capacities": True}, "demand|MinCostFlow"),
        ({"horizon": "7min"}, "horizon"),
        ({"demand": [1.0, 2.0]}, "demand"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_traffic_scenario(make_grid_dataset(days=2), n_pairs=1, **kwargs)


def test_unreachable_pairs_are_refused() -> None:
    ds = _diamond({"A": [60.0] * 40, "B": [20.0] * 40, "C": [60.0] * 40, "D": [60.0] * 40})
    with pytest.raises(ValueError, match="no route"):
        build_traffic_scenario(ds, pairs=[("D", "A")])


needs_mcf = pytest.mark.skipif(not hasattr(problems, "MinCostFlow"), reason="no MinCostFlow in dff_core.problems")


@needs_mcf
def test_capacities_split_the_flow_when_the_fast_route_is_full() -> None:
    n = 40
    ds = _diamond({"A": [60.0] * n, "B": [20.0] * n, "C": [60.0] * n, "D": [60.0] * n})
    ds.links["capacity"] = [10.0, 10.0, 1.0, np.nan]  # A->C carries at most 1 vehicle
    sc = build_traffic_scenario(ds, pairs=[("A", "D")], demand=3, capacities=True, split=(0.5, 0.25, 0.25))
    flows = sc.problem.solve_base(sc.C[:1])[0]
    used = dict(zip(zip(sc.extra["links"]["from_id"], sc.extra["links"]["to_id"], strict=True), flows, strict=True))
    assert used[("A", "C")] == pytest.approx(1) and used[("A", "B")] == pytest.approx(2)
    # 1 vehicle x 4 min via C + 2 vehicles x 8 min via B
    assert sc.problem.objective(sc.C[:1], sc.problem.solve(sc.C[:1]))[0] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="cannot carry"):
        ds.links["capacity"] = [1.0, 1.0, 1.0, 1.0]
        build_traffic_scenario(ds, pairs=[("A", "D")], demand=3, capacities=True)


@needs_mcf
def test_capacities_need_one_origin_or_destination() -> None:
    ds = make_grid_dataset(days=2)
    ds.links["capacity"] = 5.0
    with pytest.raises(ValueError, match="share one origin"):
        build_traffic_scenario(ds, pairs=[("S00", "S08"), ("S02", "S06")], demand=1, capacities=True)
    sc = build_traffic_scenario(ds, n_pairs=3, demand=2, capacities=True)
    assert len({o for o, _ in sc.extra["pairs"]}) == 1 and len(sc.extra["pairs"]) == 3


def test_negative_predicted_paces_are_floored_not_refused() -> None:
    """A regression backbone may predict a negative pace; the router treats it as the fastest possible pace."""
    n = 40
    ds = _diamond({"A": [60.0] * n, "B": [20.0] * n, "C": [60.0] * n, "D": [60.0] * n})
    sc = build_traffic_scenario(ds, pairs=[("A", "D")], horizon="15min", split=(0.5, 0.25, 0.25))
    pred = sc.C[:1].copy()
    pred[0, 1] = -0.5  # B predicted "faster than instant": floored to 60/250 min/km, route via B
    floored = pred.copy()
    floored[0, 1] = sc.problem.min_pace
    np.testing.assert_array_equal(sc.problem.solve(pred), sc.problem.solve(floored))
    np.testing.assert_allclose(regret(sc.problem, sc.C[:1], pred), [4.0])
    with pytest.raises(ValueError, match="non-finite"):
        sc.problem.solve(np.full((1, 4), np.nan))


def test_five_minute_readings_decide_every_fifteen_minutes_by_default() -> None:
    ds = make_grid_dataset(days=2, freq="5min")
    sc = build_traffic_scenario(ds, n_pairs=1)
    assert sc.options["every"] == "15min"
    assert set(np.diff(sc.times.as_unit("ns").asi8).tolist()) == {pd.Timedelta("15min").value}
    assert sc.C.shape[0] == len(sc.times) and all(t.minute % 15 == 0 for t in sc.times)

"""Decisions at one test instance: routes with realised travel times, allocations with realised values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from dff_core.decisions import allocation_decisions, route_decisions
from dff_core.metrics import regret
from dff_core.problems import Allocation, LinearMapped, ShortestPath
from dff_core.results import ComparisonResult, MethodResult


def _result(problem, C_test: np.ndarray, preds: dict[str, np.ndarray]) -> ComparisonResult:
    W_test = problem.solve(C_test)
    methods = {
        name: MethodResult(name, C, problem.solve(C), regret(problem, C_test, C), 0.0) for name, C in preds.items()
    }
    return ComparisonResult(
        problem, np.zeros((len(C_test), 1)), C_test, W_test, problem.objective(C_test, W_test), preds["two_stage"],
        methods, pd.DataFrame(), pd.DataFrame(),
    )  # fmt: skip


@pytest.fixture
def routing() -> tuple[ComparisonResult, ShortestPath, np.ndarray]:
    grid = ShortestPath.grid(3, 3)
    base = ShortestPath(grid.num_nodes, grid.edges, pairs=[(0, 8), (1, 7)], demand=[1.0, 2.0])
    k = 5  # predicted values ("sensors"); every arc's time is a fixed mix of them
    rng = np.random.default_rng(3)
    A = rng.uniform(0.1, 1.0, (base.d, k))
    problem = LinearMapped(base, A)
    C = rng.uniform(1.0, 3.0, (6, k))
    preds = {"two_stage": C * rng.uniform(0.5, 1.5, C.shape), "dff": C * rng.uniform(0.8, 1.2, C.shape)}
    return _result(problem, C, preds), base, A


def test_routes_and_realised_times_of_every_method(routing) -> None:
    result, _, _ = routing
    for i in range(result.n_test):
        flows, times = route_decisions(result, i)
        assert set(flows) == set(times) == {"two_stage", "dff", "hindsight"}
        for m in ("two_stage", "dff"):
            assert times[m] - times["hindsight"] == pytest.approx(result.methods[m].regret[i], abs=1e-9)
            assert times[m] >= times["hindsight"] - 1e-9


def test_one_trip_is_routed_alone(routing) -> None:
    result, base, A = routing
    i = 2
    flows, times = route_decisions(result, i, pair=1)
    link = A @ result.C_test[i]
    graph = sp.csr_matrix((link, (np.asarray(base.edges)[:, 0], np.asarray(base.edges)[:, 1])), shape=(9, 9))
    shortest = dijkstra(graph, indices=1)[7]
    assert times["hindsight"] == pytest.approx(2.0 * shortest)  # two vehicles on the shortest path 1 -> 7
    assert set(np.unique(np.round(flows["hindsight"], 9))) == {0.0, 2.0}  # one path, two vehicles
    assert times["two_stage"] == pytest.approx(link @ flows["two_stage"])


def test_bad_instance_pair_or_problem(routing) -> None:
    result, _, _ = routing
    with pytest.raises(ValueError, match=r"instance must be a test instance index in 0\.\.5"):
        route_decisions(result, 6)
    with pytest.raises(ValueError, match=r"pair must be an index in 0\.\.1"):
        route_decisions(result, 0, pair=2)
    alloc = _result(Allocation(np.ones(3), 1.0), np.eye(3), {"two_stage": np.eye(3)[::-1]})
    with pytest.raises(ValueError, match="not a routing"):
        route_decisions(alloc, 0)


def test_allocations_and_realised_values() -> None:
    rng = np.random.default_rng(4)
    problem = Allocation(np.ones(6), 2.0)
    C = rng.uniform(0.0, 10.0, (5, 6))
    preds = {"two_stage": C + rng.normal(0, 3, C.shape), "dff": C + rng.normal(0, 1, C.shape)}
    result = _result(problem, C, preds)
    for i in range(result.n_test):
        alloc, values = allocation_decisions(result, i)
        np.testing.assert_array_equal(alloc["hindsight"], result.W_test[i])
        np.testing.assert_array_equal(alloc["dff"], result.methods["dff"].W[i])
        assert values["hindsight"] == pytest.approx(result.z_test[i])
        for m in preds:  # a maximisation: hindsight's value minus the method's is its regret
            assert values["hindsight"] - values[m] == pytest.approx(result.methods[m].regret[i], abs=1e-9)
    with pytest.raises(ValueError, match="instance"):
        allocation_decisions(result, -1)

"""ShortestPath: exactness against networkx, PyEPO arc order, determinism, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

import dff_core.problems.shortest_path as spmod
from dff_core.problems import ShortestPath


def _nx_cost(problem: ShortestPath, c: np.ndarray) -> float:
    G = nx.DiGraph()
    for j, (u, v) in enumerate(problem.edges):
        G.add_edge(int(u), int(v), weight=float(c[j]))
    return sum(
        dem * nx.shortest_path_length(G, int(s), int(t), weight="weight")
        for (s, t), dem in zip(problem.pairs, problem.demand)
    )


def _random_cyclic_graph(rng: np.random.Generator, n: int = 30, m: int = 120) -> np.ndarray:
    ring = [(i, (i + 1) % n) for i in range(n)] + [((i + 1) % n, i) for i in range(n)]
    extra = set()
    while len(extra) < m:
        u, v = rng.integers(0, n, 2)
        if u != v and (u, v) not in ring:
            extra.add((int(u), int(v)))
    return np.array(ring + sorted(extra))


def test_grid_matches_pyepo_arc_order() -> None:
    p = ShortestPath.grid(5, 5)
    assert p.d == 40 and p.sense == "min"
    assert tuple(p.edges[0]) == (0, 1) and tuple(p.edges[4]) == (0, 5)
    assert tuple(p.edges[-1]) == (23, 24)


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (2, 2)])
def test_grid_paths_are_optimal(shape: tuple[int, int]) -> None:
    p = ShortestPath.grid(*shape)
    rng = np.random.default_rng(1)
    C = rng.random((40, p.d))
    W = p.solve(C)
    assert set(np.unique(W)) <= {0.0, 1.0}
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(_nx_cost(p, C[i]), abs=1e-9)


def test_cyclic_graph_several_pairs_with_demand_is_optimal() -> None:
    rng = np.random.default_rng(2)
    E = _random_cyclic_graph(rng)
    p = ShortestPath(30, E, pairs=[(0, 15), (3, 22), (0, 7)], demand=[2.0, 1.0, 0.5])
    C = rng.random((25, p.d))
    C[:, :10] = 0.0  # zero-cost arcs must still count as arcs
    W = p.solve(C)
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(_nx_cost(p, C[i]), abs=1e-9)


def test_paths_are_flows_from_source_to_target() -> None:
    rng = np.random.default_rng(3)
    E = _random_cyclic_graph(rng)
    p = ShortestPath(30, E, 4, 19)
    W = p.solve(rng.random((10, p.d)))
    for w in W:
        net = np.zeros(30)
        np.add.at(net, E[:, 0], w)
        np.subtract.at(net, E[:, 1], w)
        expected = np.zeros(30)
        expected[4], expected[19] = 1, -1
        np.testing.assert_allclose(net, expected)


def test_deterministic_under_ties() -> None:
    p = ShortestPath.grid(4, 4)
    C = np.ones((5, p.d))
    W1, W2 = p.solve(C), p.solve(C.copy())
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(W1[0], W1[1])


def test_single_vector_in_single_decision_out() -> None:
    p = ShortestPath.grid(3, 3)
    w = p.solve(np.ones(p.d))
    assert w.shape == (p.d,)


@pytest.mark.parametrize(
    ("costs", "match"),
    [
        (np.ones((2, 39)), r"shape \(n, 40\)"),
        (np.full((2, 40), np.nan), "non-finite .* instance 0"),
    ],
)
def test_bad_costs_name_argument_and_instance(costs: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ShortestPath.grid(5, 5).solve(costs)


def test_negative_costs_rejected_on_graphs_with_cycles_only() -> None:
    rng = np.random.default_rng(4)
    p = ShortestPath(30, _random_cyclic_graph(rng), 0, 9)
    C = np.ones((3, p.d))
    C[2, 7] = -1.0
    with pytest.raises(ValueError, match=r"negative cost .* instance 2, coefficient 7"):
        p.solve(C)
    # acyclic graphs are exact for any real costs (PyEPO's grid accepts them too)
    g = ShortestPath.grid(3, 3)
    c = -rng.random(g.d)
    assert c @ g.solve(c) == pytest.approx(_nx_cost_neg_dag(g, c))


def _nx_cost_neg_dag(problem: ShortestPath, c: np.ndarray) -> float:
    G = nx.DiGraph()
    for j, (u, v) in enumerate(problem.edges):
        G.add_edge(int(u), int(v), weight=float(c[j]))
    return nx.bellman_ford_path_length(G, int(problem.pairs[0, 0]), int(problem.pairs[0, 1]))


def test_surrogate_solve_bounded_flow_lp_with_negative_cycles() -> None:
    from scipy.optimize import linprog

    rng = np.random.default_rng(5)
    E = _random_cyclic_graph(rng, n=12, m=30)
    p = ShortestPath(12, E, 0, 6)
    C = rng.random((4, p.d)) - 0.4
    W = p.solve_surrogate(C)
    inc = np.zeros((12, p.d))
    inc[E[:, 0], np.arange(p.d)] = 1
    inc[E[:, 1], np.arange(p.d)] = -1
    b = np.zeros(12)
    b[0], b[6] = 1, -1
    for i in range(len(C)):
        ref = linprog(C[i], A_eq=inc, b_eq=b, bounds=(0, 1), method="highs").fun
        assert C[i] @ W[i] == pytest.approx(ref, abs=1e-8)
    pos = rng.random((3, p.d))
    np.testing.assert_array_equal(p.solve_surrogate(pos), p.solve(pos))


def test_bad_graphs_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="unknown node"):
        ShortestPath(3, [(0, 1), (1, 5)], 0, 1)
    with pytest.raises(ValueError, match="not reachable"):
        ShortestPath(3, [(0, 1), (2, 1)], 0, 2)
    with pytest.raises(ValueError, match="appears more than once"):
        ShortestPath(3, [(0, 1), (0, 1), (1, 2)], 0, 2)
    with pytest.raises(ValueError, match="unknown target"):
        ShortestPath(3, [(0, 1)], pairs=[(0, 9)])


@pytest.mark.parametrize("backend", ["numba", "scipy"])
def test_both_backends_exact_on_cyclic_graph(backend: str) -> None:
    """The compiled kernels and the scipy/HiGHS fallback give optimal paths and surrogate flows."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(6)
    E = _random_cyclic_graph(rng, n=15, m=40)
    p = ShortestPath(15, E, pairs=[(0, 7), (3, 11), (0, 12)], demand=[1.0, 2.0, 0.5])
    assert p.backend == "numba"
    p.backend = backend
    C = rng.random((12, p.d))
    W = p.solve(C)
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(_nx_cost(p, C[i]), abs=1e-9)
    Q = rng.random((6, p.d)) - 0.35
    Wq = p.solve_surrogate(Q)
    inc = np.zeros((15, p.d))
    inc[E[:, 0], np.arange(p.d)] = 1
    inc[E[:, 1], np.arange(p.d)] = -1
    for i in range(len(Q)):
        ref = 0.0
        for (s, t), dem in zip(p.pairs, p.demand):
            b = np.zeros(15)
            b[s], b[t] = 1, -1
            ref += dem * linprog(Q[i], A_eq=inc, b_eq=b, bounds=(0, 1), method="highs").fun
        assert Q[i] @ Wq[i] == pytest.approx(ref, abs=1e-8)
    np.testing.assert_array_equal(p.solve_surrogate(Q), Wq)  # deterministic


def _shared_data() -> Path:
    env = os.environ.get("DFF_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_metr_la_sensor_graph_paths_and_surrogate_are_exact() -> None:
    """The real METR-LA sensor graph (207 nodes, 1,515 arcs without self loops)."""
    f = _shared_data() / "metr-la-week" / "adj_mx.npz"
    if not f.exists():
        pytest.skip(f"METR-LA adjacency not found at {f} (set DFF_SHARED_DATA)")
    from scipy.optimize import linprog

    with np.load(f, allow_pickle=False) as z:
        adj = z["adj"]
    u, v = np.nonzero(adj > 0)
    E = np.stack([u[u != v], v[u != v]], axis=1)
    assert len(E) == 1515
    p = ShortestPath(207, E, 92, 8)
    assert p.backend == "numba"
    rng = np.random.default_rng(7)
    C = rng.uniform(1, 2, (6, p.d))
    W = p.solve(C)
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(_nx_cost(p, C[i]), abs=1e-9)
    Q = 2 * C * rng.uniform(0.3, 1.5, C.shape) - C  # SPO+ costs, many negative arcs
    Wq = p.solve_surrogate(Q)
    inc = np.zeros((207, p.d))
    inc[E[:, 0], np.arange(p.d)] = 1
    inc[E[:, 1], np.arange(p.d)] = -1
    b = np.zeros(207)
    b[92], b[8] = 1, -1
    for i in range(3):
        ref = linprog(Q[i], A_eq=inc, b_eq=b, bounds=(0, 1), method="highs").fun
        assert Q[i] @ Wq[i] == pytest.approx(ref, abs=1e-7)


def test_compiled_and_numpy_dag_programmes_agree_exactly_including_ties() -> None:
    rng = np.random.default_rng(8)
    small_dag = ShortestPath(4, [(0, 1), (1, 2), (0, 2), (2, 3), (1, 3)], pairs=[(0, 3), (1, 3)], demand=[1.0, 2.0])
    for p in (ShortestPath.grid(5, 5), small_dag):
        assert p.backend == "numba"
        for C in (rng.normal(size=(30, p.d)), np.ones((3, p.d)), rng.integers(0, 3, (30, p.d)).astype(float)):
            W = p.solve(C)
            p.backend = "numpy"
            np.testing.assert_array_equal(p.solve(C), W)
            p.backend = "numba"


def test_heap_and_tree_dijkstra_give_identical_optimal_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large graphs use a binary heap; it settles nodes in the tree's order, so paths match."""
    k = 50
    idx = np.arange(k * k).reshape(k, k)
    right = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    down = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    E = np.concatenate([right, right[:, ::-1], down, down[:, ::-1]])
    pairs = [(0, k * k - 1), (k - 1, k * (k - 1)), (1234, 17)]
    p = ShortestPath(k * k, E, pairs=pairs, algorithm="dijkstra")
    assert p.num_nodes > spmod.HEAP_MIN_NODES
    rng = np.random.default_rng(9)
    C = np.vstack([rng.uniform(1, 2, (6, p.d)), rng.integers(1, 3, (6, p.d)).astype(float)])  # ties too
    W_heap = p.solve(C)
    monkeypatch.setattr(spmod, "HEAP_MIN_NODES", 10**9)
    np.testing.assert_array_equal(p.solve(C), W_heap)
    for i in range(len(C)):
        g = csr_matrix((C[i], (E[:, 0], E[:, 1])), shape=(k * k, k * k))
        ref = sum(dijkstra(g, indices=s)[t] for s, t in pairs)
        assert C[i] @ W_heap[i] == pytest.approx(ref, rel=1e-12)

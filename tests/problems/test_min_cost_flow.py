"""MinCostFlow: agrees with a direct cvxpy LP, deterministic, clear errors."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from dff_core.errors import SolverError
from dff_core.problems import MinCostFlow
from dff_core.problems._lp import incidence


def _network(rng: np.random.Generator, n: int = 20, m: int = 70) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ring = [(i, (i + 1) % n) for i in range(n)] + [((i + 1) % n, i) for i in range(n)]
    extra = []
    while len(extra) < m - len(ring):
        u, v = rng.integers(0, n, 2)
        if u != v:
            extra.append((int(u), int(v)))
    E = np.array(ring + extra)
    cap = rng.uniform(1.0, 4.0, len(E))
    sup = np.zeros(n)
    sup[[0, 3]] = [2.0, 1.5]
    sup[[9, 14]] = [-3.0, -0.5]
    return E, cap, sup


def _cvxpy_value(E, cap, sup, c) -> float:
    A = incidence(len(sup), E).toarray()
    f = cp.Variable(len(E))
    prob = cp.Problem(cp.Minimize(c @ f), [A @ f == sup, f >= 0, f <= cap])
    prob.solve(solver="CLARABEL")
    return prob.value


def test_matches_cvxpy_on_random_instances_with_signed_costs() -> None:
    rng = np.random.default_rng(0)
    E, cap, sup = _network(rng)
    p = MinCostFlow(20, E, cap, sup)
    C = rng.normal(0.5, 1.0, (8, p.d))  # negative costs are fine: every arc is capacitated
    W = p.solve(C)
    A = incidence(20, E).toarray()
    for i in range(len(C)):
        np.testing.assert_allclose(A @ W[i], sup, atol=1e-9)
        assert (W[i] >= 0).all() and (cap + 1e-9 >= W[i]).all()
        assert C[i] @ W[i] == pytest.approx(_cvxpy_value(E, cap, sup, C[i]), abs=1e-6)


def test_deterministic_regardless_of_solve_history() -> None:
    rng = np.random.default_rng(1)
    E, cap, sup = _network(rng)
    p = MinCostFlow(20, E, cap, sup)
    C = np.ones((1, p.d))  # many tied optima
    first = p.solve(C)
    p.solve(rng.normal(size=(5, p.d)))
    np.testing.assert_array_equal(p.solve(C), first)


def test_uncapacitated_negative_cycle_is_unbounded_with_instance_index() -> None:
    E = np.array([(0, 1), (1, 2), (2, 0), (1, 0)])
    p = MinCostFlow(3, E, [np.inf, np.inf, np.inf, 5.0], [1.0, 0.0, -1.0])
    ok = p.solve(np.ones(4))
    assert ok[:2] @ np.ones(2) == pytest.approx(2.0)
    C = np.ones((3, 4))
    C[2, :3] = -1.0
    with pytest.raises(SolverError, match=r"MinCostFlow.*instance 2.*unbounded"):
        p.solve(C)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"edges": [(0, 5)]}, "unknown node"),
        ({"edges": [(1, 1)]}, "self loop"),
        ({"capacities": [1.0]}, "one value per edge"),
        ({"capacities": [1.0, -1.0]}, r"capacities\[1\]"),
        ({"capacities": [1.0, np.nan]}, r"capacities\[1\]"),
        ({"supplies": [1.0, 0.0]}, "one value per node"),
        ({"supplies": [1.0, 0.0, 0.0]}, "sum to"),
        ({"supplies": [np.inf, 0.0, 0.0]}, r"supplies\[0\]"),
        ({"capacities": [0.5, 0.5]}, "no feasible decision"),
    ],
)
def test_bad_construction(kwargs, match) -> None:
    args = {"num_nodes": 3, "edges": [(0, 1), (1, 2)], "capacities": [2.0, 2.0], "supplies": [1.0, 0.0, -1.0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        MinCostFlow(**args)


def test_bad_costs_name_instance() -> None:
    p = MinCostFlow(3, [(0, 1), (1, 2)], [2.0, 2.0], [1.0, 0.0, -1.0])
    with pytest.raises(ValueError, match=r"MinCostFlow.*'C'.*shape \(n, 2\)"):
        p.solve(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"non-finite .* instance 1, coefficient 0"):
        p.solve(np.array([[1.0, 1.0], [np.nan, 1.0]]))


def test_works_after_cvxpy_used_highs_in_the_same_process() -> None:
    """cvxpy's HiGHS run starts HiGHS's global scheduler; our models must still run after it."""
    x = cp.Variable(2)
    cp.Problem(cp.Minimize(np.ones(2) @ x), [x >= 0]).solve(solver="HIGHS")
    p = MinCostFlow(3, [(0, 1), (1, 2), (0, 2)], [2.0, 2.0, 2.0], [1.0, 0.0, -1.0])
    np.testing.assert_allclose(p.solve(np.array([1.0, 1.0, 3.0])), [1.0, 1.0, 0.0])

"""PyEPO-style generators: the same numbers as PyEPO's ``genData`` for the same seed, numpy only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dff_core.data.synthetic import (
    SyntheticData,
    allocation_data,
    knapsack_data,
    portfolio_data,
    shortest_path_data,
)
from dff_core.problems import Allocation, Knapsack, Portfolio, ShortestPath

CASES = [(1, 0.0, 3), (2, 0.5, 7), (4, 0.5, 11), (6, 0.25, 135)]  # (degree, noise, seed)


@pytest.fixture(scope="module")
def pyepo_data():
    return pytest.importorskip("pyepo.data")


@pytest.mark.parametrize(("deg", "noise", "seed"), CASES)
@pytest.mark.parametrize(("grid", "p"), [((5, 5), 5), ((3, 4), 4)])
def test_shortest_path_equals_pyepo(pyepo_data, grid, p: int, deg: int, noise: float, seed: int) -> None:
    X, C = pyepo_data.shortestpath.genData(50, p, grid, deg=deg, noise_width=noise, seed=seed)
    ours = shortest_path_data(50, p, grid=grid, deg=deg, noise_width=noise, seed=seed)
    np.testing.assert_array_equal(ours.X, X)
    np.testing.assert_array_equal(ours.C, C.astype(np.float64))
    assert ours.C.dtype == np.float64 and ours.problem.d == ours.C.shape[1] == C.shape[1]
    assert isinstance(ours.problem, ShortestPath) and ours.problem.num_nodes == grid[0] * grid[1]


def test_shortest_path_default_grid_and_any_graph(pyepo_data) -> None:
    _, C = pyepo_data.shortestpath.genData(20, 5, (5, 5), deg=2, noise_width=0.5, seed=1)
    default = shortest_path_data(20, deg=2, noise_width=0.5, seed=1)
    np.testing.assert_array_equal(default.C, C)
    np.testing.assert_array_equal(default.problem.edges, ShortestPath.grid(5, 5).edges)
    # the formula depends only on the number of arcs: a 12-arc ring gets the 3x3 grid's (12-arc) costs
    ring = ShortestPath(12, [(i, (i + 1) % 12) for i in range(12)], 0, 6)
    data = shortest_path_data(20, 4, problem=ring, deg=3, seed=2)
    assert data.problem is ring and data.C.shape == (20, 12)
    np.testing.assert_array_equal(data.C, shortest_path_data(20, 4, grid=(3, 3), deg=3, seed=2).C)
    with pytest.raises(ValueError, match="either problem or grid"):
        shortest_path_data(5, problem=ring, grid=(3, 3))


@pytest.mark.parametrize(("deg", "noise", "seed"), CASES)
@pytest.mark.parametrize("dim", [1, 2])
def test_knapsack_equals_pyepo(pyepo_data, dim: int, deg: int, noise: float, seed: int) -> None:
    weights, X, C = pyepo_data.knapsack.genData(40, 5, 24, dim=dim, deg=deg, noise_width=noise, seed=seed)
    ours = knapsack_data(40, 5, 24, dim=dim, deg=deg, noise_width=noise, seed=seed)
    np.testing.assert_array_equal(ours.X, X)
    np.testing.assert_array_equal(ours.C, C)
    np.testing.assert_array_equal(ours.extra["weights"], weights)
    assert isinstance(ours.problem, Knapsack)
    np.testing.assert_array_equal(ours.problem.weights, weights)
    np.testing.assert_array_equal(ours.problem.capacity, [20.0] * dim)
    assert (np.round(ours.C) == ours.C).all() and (ours.C >= 1).all()


def test_knapsack_capacity_is_per_dimension() -> None:
    data = knapsack_data(5, num_items=8, dim=3, capacity=[10, 12.5, 30], seed=0)
    np.testing.assert_array_equal(data.problem.capacity, [10.0, 12.5, 30.0])
    np.testing.assert_array_equal(knapsack_data(5, num_items=8, dim=2, capacity=15, seed=0).problem.capacity, [15, 15])


@pytest.mark.parametrize(("deg", "seed"), [(1, 0), (2, 5), (4, 135)])
def test_portfolio_equals_pyepo(pyepo_data, deg: int, seed: int) -> None:
    cov, X, R = pyepo_data.portfolio.genData(30, 5, 20, deg=deg, noise_level=0.5, seed=seed)
    ours = portfolio_data(30, 5, 20, deg=deg, noise_level=0.5, seed=seed)
    np.testing.assert_array_equal(ours.X, X)
    np.testing.assert_array_equal(ours.C, R)
    np.testing.assert_array_equal(ours.extra["covariance"], cov)
    assert isinstance(ours.problem, Portfolio)
    assert ours.problem.risk_limit == pytest.approx(2.25 * np.mean(cov), rel=1e-15)


def test_allocation_reproduces_the_paper_benchmark_generator() -> None:
    """Values printed by the paper benchmark's own allocation generator before it moved here
    (``allocation(deg=4, n_train=25, n_test=5, seed=1)``: 30 instances, 20 items, 5 features)."""
    data = allocation_data(30, 5, 20, deg=4, noise_width=0.25, budget_fraction=0.3, seed=1)
    assert isinstance(data.problem, Allocation) and data.problem.sense == "max"
    np.testing.assert_allclose(data.C[0, :3], [0.4291727512361549, 0.27993755912169954, 0.499649233821881], rtol=1e-14)
    np.testing.assert_allclose(data.X[0, :2], [0.05668995489379499, -0.2931022193567212], rtol=1e-14)
    np.testing.assert_allclose(data.C[:25].sum(), 284.51441048347715, rtol=1e-13)
    np.testing.assert_allclose(
        data.problem.weights[:3], [1.1051365892775145, 1.361266684786994, 1.2323608373256045], rtol=1e-14
    )
    assert data.problem.budget == pytest.approx(6.103767839059772, rel=1e-14)
    assert data.problem.budget == pytest.approx(0.3 * data.problem.weights.sum(), rel=1e-14)
    assert (data.C > 0).all() and len(data) == 30


def test_same_seed_same_data_other_seed_other_data() -> None:
    for gen in (shortest_path_data, knapsack_data, allocation_data):
        a, b, c = gen(10, seed=4), gen(10, seed=4), gen(10, seed=5)
        assert isinstance(a, SyntheticData)
        np.testing.assert_array_equal(a.C, b.C)
        assert not np.array_equal(a.C, c.C)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: shortest_path_data(0), "num_data must be a positive integer"),
        (lambda: shortest_path_data(5, deg=1.5), "deg must be a positive integer"),
        (lambda: shortest_path_data(5, noise_width=-0.1), "noise_width must be a finite number >= 0"),
        (lambda: shortest_path_data(5, problem="grid"), "problem must be a ShortestPath"),
        (lambda: knapsack_data(5, num_items=0), "num_items must be a positive integer"),
        (lambda: knapsack_data(5, dim=2, capacity=[1, 2, 3]), r"one value per dimension \(2\)"),
        (lambda: portfolio_data(5, noise_level=float("nan")), "noise_level"),
        (lambda: allocation_data(5, num_items=1), "num_items must be an integer >= 2"),
        (lambda: allocation_data(5, budget_fraction=1.0), r"budget_fraction must be in \(0, 1\)"),
        (lambda: allocation_data(5, noise_width=1.0), "below 1"),
    ],
)
def test_bad_arguments_are_named(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_generators_load_neither_torch_nor_pyepo() -> None:
    code = (
        "import sys\n"
        "from dff_core.data.synthetic import knapsack_data, shortest_path_data, allocation_data\n"
        "shortest_path_data(3); knapsack_data(3); allocation_data(3)\n"
        "print(sorted(m for m in ('torch', 'pyepo') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"

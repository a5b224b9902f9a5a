"""Knapsack: exact against enumeration and PyEPO's OR-Tools model; method choice, ties, errors, training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dff_core import losses
from dff_core.data.synthetic import knapsack_data
from dff_core.dff import DFF
from dff_core.metrics import regret
from dff_core.problems import Knapsack


def _enumerate_best(weights: np.ndarray, capacity: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Best objective per row of ``C`` over every feasible 0/1 selection."""
    m = weights.shape[1]
    every = np.array(list(itertools.product([0.0, 1.0], repeat=m)))
    feasible = every[(every @ weights.T <= capacity + 1e-9).all(axis=1)]
    return (C @ feasible.T).max(axis=1)


@pytest.mark.parametrize("method", ["dp", "mip"])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_optimal_against_enumeration(method: str, dim: int) -> None:
    rng = np.random.default_rng(dim)
    m = 10
    weights = rng.integers(0, 8, (dim, m)).astype(float)
    weights[0, 3] = 50.0  # heavier than any capacity: never fits
    capacity = rng.integers(5, 20, dim).astype(float)
    C = rng.normal(1.0, 1.0, (40, m))
    p = Knapsack(weights, capacity, method=method)
    W = p.solve(C)
    assert p.method == method and W.shape == C.shape and set(np.unique(W)) <= {0.0, 1.0}
    assert (capacity + 1e-9 >= W @ weights.T).all()
    np.testing.assert_allclose(p.objective(C, W), _enumerate_best(weights, capacity, C), atol=1e-12)
    assert not W[C <= 0].any() and not W[:, 3].any()


def test_two_decimal_weights_use_the_dp_and_match_the_mip() -> None:
    data = knapsack_data(30, num_items=16, deg=2, noise_width=0.5, seed=5)
    dp, mip = data.problem, Knapsack(data.problem.weights, data.problem.capacity, method="mip")
    assert dp.method == "dp" and mip.method == "mip"
    rng = np.random.default_rng(0)
    P = data.C * rng.uniform(0.5, 1.5, data.C.shape)  # continuous values: unique optima
    np.testing.assert_array_equal(dp.solve(P), mip.solve(P))
    np.testing.assert_allclose(dp.objective(data.C, dp.solve(data.C)), mip.objective(data.C, mip.solve(data.C)))


def test_automatic_method_depends_on_weights_and_capacity_only() -> None:
    assert Knapsack([[3.0, 4.5, 2.25]], [5.0]).method == "dp"
    assert Knapsack([np.pi, 1.0, 2.0], 4.0).method == "mip"  # not a multiple of 0.001
    assert Knapsack(np.full((2, 32), 3.01), [20.0, 20.0]).method == "mip"  # 2001^2 states x 32 items
    assert Knapsack(np.full((2, 32), 3.0), [20.0, 20.0]).method == "dp"  # 21^2 states
    assert Knapsack([[1.0, 2.0]], [3.0], max_cells=5).method == "mip"
    with pytest.raises(ValueError, match="method='dp' needs weights"):
        Knapsack([np.pi, 1.0], 4.0, method="dp")


def test_ties_and_history_do_not_change_decisions() -> None:
    # three equally valuable items, room for two: the DP keeps the earlier ones
    p = Knapsack([[1.0, 1.0, 1.0]], [2.0])
    np.testing.assert_array_equal(p.solve(np.array([5.0, 5.0, 5.0])), [1.0, 1.0, 0.0])
    # zero-valued items are left out even when they fit
    np.testing.assert_array_equal(p.solve(np.array([0.0, 4.0, 0.0])), [0.0, 1.0, 0.0])
    data = knapsack_data(12, num_items=12, dim=2, deg=4, noise_width=0.5, seed=2)
    mip = data.problem
    assert mip.method == "mip"
    W = mip.solve(data.C)
    np.testing.assert_array_equal(mip.solve(data.C[::-1]), W[::-1])
    np.testing.assert_array_equal(mip.solve(data.C), W)


def test_capacity_edges_and_single_vector() -> None:
    weights = np.array([[2.0, 3.0, 4.0]])
    c = np.array([1.0, -2.0, 3.0])
    everything = Knapsack(weights, [100.0])
    np.testing.assert_array_equal(everything.solve(c), [1.0, 0.0, 1.0])
    assert everything.solve(c).shape == (3,)
    np.testing.assert_array_equal(Knapsack(weights, [0.0]).solve(c), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(Knapsack(weights, [0.0], method="mip").solve(c), [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("weights", "capacity", "match"),
    [
        ([[1.0, -1.0]], [2.0], r"weights\[0, 1\]"),
        ([[1.0, np.nan]], [2.0], r"weights\[0, 1\]"),
        (np.ones((2, 3)), [2.0], "one limit per weight dimension"),
        ([[1.0, 2.0]], [-1.0], r"capacity\[0\]"),
        (np.ones((1, 0)), [1.0], "at least one item"),
    ],
)
def test_bad_input_is_named(weights, capacity, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Knapsack(weights, capacity)


def test_bad_values_are_named() -> None:
    p = Knapsack([[1.0, 2.0]], [2.0])
    with pytest.raises(ValueError, match="instance 1, coefficient 0"):
        p.solve(np.array([[1.0, 1.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        p.solve(np.ones((2, 3)))
    with pytest.raises(ValueError, match="method must be"):
        Knapsack([[1.0]], [1.0], method="greedy")  # type: ignore[arg-type]


# ---------------------------------------------------------------- PyEPO cross-checks
@pytest.fixture(scope="module")
def pyepo_knapsack():
    pytest.importorskip("ortools")
    pyepo_data = pytest.importorskip("pyepo.data.knapsack")
    from pyepo.model.ort import knapsackModel

    return pyepo_data.genData, knapsackModel


def _ortools_objectives(model, C: np.ndarray) -> np.ndarray:
    z = []
    for c in C:
        model.setObj(c)
        _, obj = model.solve()
        z.append(obj)
    return np.array(z)


@pytest.mark.parametrize(("dim", "deg", "seed"), [(1, 1, 3), (1, 4, 7), (2, 2, 11), (3, 6, 19)])
def test_objectives_equal_pyepo_ortools(pyepo_knapsack, dim: int, deg: int, seed: int) -> None:
    gen, model_cls = pyepo_knapsack
    weights, _, C = gen(24, 5, 24, dim=dim, deg=deg, noise_width=0.5, seed=seed)
    capacity = [20.0] * dim
    p = Knapsack(weights, capacity)
    model = model_cls(weights, capacity)
    C = C.astype(np.float64)
    np.testing.assert_allclose(p.objective(C, p.solve(C)), _ortools_objectives(model, C), rtol=1e-7, atol=1e-6)
    P = C * np.random.default_rng(seed).uniform(0.5, 1.5, C.shape)  # predicted (non-integer) values too
    np.testing.assert_allclose(p.objective(P, p.solve(P)), _ortools_objectives(model, P), rtol=1e-7, atol=1e-6)


def test_spo_plus_for_maximisation_equals_pyepo(pyepo_knapsack) -> None:
    import pyepo

    gen, model_cls = pyepo_knapsack
    weights, _, C = gen(24, 5, 16, dim=1, deg=2, noise_width=0.5, seed=4)
    C = C.astype(np.float64)
    p = Knapsack(weights, [20.0])
    rng = np.random.default_rng(4)
    P = C * rng.uniform(0.2, 1.8, C.shape) + rng.normal(0, 0.5, C.shape)
    W, z = losses.true_solutions(p, C)
    ours_in = torch.tensor(P, requires_grad=True)
    ours = losses.spo_plus(p, ours_in, C, W, z, reduction="none")
    ours.sum().backward()
    ref_in = torch.tensor(P, requires_grad=True)
    spo = pyepo.func.SPOPlus(model_cls(weights, [20.0]), processes=1, reduction="none")
    ref = spo(ref_in, torch.as_tensor(C), torch.as_tensor(W), torch.as_tensor(z)[:, None])
    ref.sum().backward()
    assert (ours.detach().numpy() >= -1e-9).all() and ours.detach().numpy().max() > 0
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy().ravel(), rtol=2e-6, atol=1e-5)
    np.testing.assert_allclose(ours_in.grad.numpy(), ref_in.grad.numpy(), atol=1e-7)


# ---------------------------------------------------------------- training
def test_dff_trains_on_a_knapsack_within_its_trust_region() -> None:
    data = knapsack_data(160, num_items=12, deg=4, noise_width=0.5, seed=1)
    p, X, C = data.problem, data.X, data.C
    A = np.c_[X, np.ones(len(X))]
    coef, *_ = np.linalg.lstsq(A[:120], C[:120], rcond=None)
    C_hat = np.abs(A @ coef) + 0.1  # a linear backbone: biased for this degree-4 map
    eps = 0.3
    m = DFF(p, epsilon=eps, epochs=8, lr=1e-2, seed=0).fit(X[:120], C_hat[:120], C[:120])
    C_tilde = m.predict(X[120:], C_hat[120:])
    assert np.all(np.abs(C_tilde - C_hat[120:]) <= eps * np.abs(C_hat[120:]) + 1e-9)
    h = m.history_
    assert np.isfinite(h["train_loss"].iloc[1:]).all() and h["val_regret"].min() <= h["val_regret"].iloc[0]
    assert (regret(p, C[120:], C_tilde) >= -1e-9).all()
    W = m.decide(X[120:], C_hat[120:])
    assert (p.capacity + 1e-9 >= W @ p.weights.T).all()

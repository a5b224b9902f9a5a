"""Metrics: regret properties (hypothesis) and the prediction-shift / cosine helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dff_core import metrics
from dff_core.problems import Allocation, ShortestPath

GRID = ShortestPath.grid(4, 4)
ALLOC = Allocation(np.full(8, 2.0), budget=5.0)
costs = st.floats(0.01, 10.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (6, GRID.d), elements=costs), arrays(np.float64, (6, GRID.d), elements=costs))
def test_regret_nonnegative_and_zero_at_truth(C_true, C_pred) -> None:
    r = metrics.regret(GRID, C_true, C_pred)
    assert (r >= 0).all()
    np.testing.assert_array_equal(metrics.regret(GRID, C_true, C_true), 0.0)


#: Values on a 1e-6 grid: scaling one of them by k in [0.1, 100] stays a normal float, so the order is kept
#: (a subnormal such as 5e-324 times 0.5 underflows to 0 and the decision changes for numerical reasons only).
scalable = st.floats(-5, 5).map(lambda v: round(v, 6))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (5, ALLOC.d), elements=scalable), st.floats(0.1, 100))
def test_positive_scaling_keeps_the_decision(C, k) -> None:
    for p, base in ((ALLOC, C), (GRID, np.abs(C[:, :1]) + np.linspace(0.1, 1, GRID.d))):
        np.testing.assert_allclose(p.solve(base * k), p.solve(base))


def test_normalized_regret_convention() -> None:
    rng = np.random.default_rng(0)
    C = rng.random((20, GRID.d)) + 0.1
    P = C * rng.uniform(0.5, 1.5, C.shape)
    r = metrics.regret(GRID, C, P)
    z = GRID.objective(C, GRID.solve(C))
    assert metrics.normalized_regret(GRID, C, P) == pytest.approx(r.sum() / (np.abs(z).sum() + 1e-7))


def test_accuracy_shift_and_cosine() -> None:
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    B = np.array([[1.5, 2.0], [2.0, 3.0]])
    assert metrics.mse(A, B) == pytest.approx((0.25 + 1.0) / 4)
    assert metrics.mae(A, B) == pytest.approx(1.5 / 4)
    assert metrics.mape(A, B) == pytest.approx(100 * (0.5 + 0.25) / 4)
    np.testing.assert_allclose(metrics.relative_shift(A, B), [[0.5, 0.0], [0.0, 0.25]])
    cos = metrics.cosine_similarity(A, B)
    assert cos[0] == pytest.approx((1.5 + 4) / (np.sqrt(5) * np.sqrt(6.25)))
    with pytest.raises(ValueError, match="shape"):
        metrics.mse(A, B[:, :1])


# ---------------------------------------------------------------- new problems and metrics
from dff_core.problems import MinCostFlow, Portfolio  # noqa: E402

_E = np.array([(0, 1), (1, 2), (0, 2), (2, 3), (1, 3), (3, 1), (2, 0)])
MCF = MinCostFlow(4, _E, np.full(7, 1.5), [2.0, 0.0, 0.0, -2.0])
_rng = np.random.default_rng(11)
_L = _rng.normal(0, 0.1, (5, 2))
PORT = Portfolio(_L @ _L.T + 0.01 * np.eye(5))


@settings(max_examples=15, deadline=None)
@given(arrays(np.float64, (3, MCF.d), elements=st.floats(-5, 5)), arrays(np.float64, (3, MCF.d), elements=costs))
def test_min_cost_flow_regret_properties(C_pred, C_true) -> None:
    assert (metrics.regret(MCF, C_true, C_pred) >= -1e-9).all()
    np.testing.assert_allclose(metrics.regret(MCF, C_true, C_true), 0.0, atol=1e-9)


@settings(max_examples=8, deadline=None)
@given(arrays(np.float64, (2, PORT.d), elements=st.floats(-1, 1)), st.floats(0.5, 20))
def test_portfolio_regret_properties_and_scaling(C, k) -> None:
    C_true = C + np.linspace(0.01, 0.05, PORT.d)
    r = metrics.regret(PORT, C_true, C_true[::-1] * 0.5 + 0.01)
    assert (r >= -1e-6).all()
    np.testing.assert_allclose(metrics.regret(PORT, C_true, C_true), 0.0, atol=1e-12)
    # positive scaling keeps the decision's value (interior-point: near-ties give nearby points)
    W, Wk = PORT.solve(C_true), PORT.solve(C_true * k)
    np.testing.assert_allclose(PORT.objective(C_true, Wk), PORT.objective(C_true, W), rtol=1e-5, atol=1e-7)


def test_min_cost_flow_scaling_keeps_the_decision() -> None:
    C = np.random.default_rng(12).normal(size=(6, MCF.d))
    np.testing.assert_allclose(MCF.solve(7.5 * C), MCF.solve(C), atol=1e-9)


def test_rmse_and_relative_l2_shift() -> None:
    A = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, 0.0]])
    B = np.array([[3.0, 5.0], [0.0, 0.0], [1.0, 0.0]])
    assert metrics.rmse(A, B) == pytest.approx(np.sqrt(2.0 / 6))
    np.testing.assert_allclose(metrics.relative_l2_shift(A, B), [0.2, 0.0, np.inf])


def test_unambiguous_regret_takes_the_worst_tie() -> None:
    p = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(13)
    C = rng.random((5, p.d)) + 0.1
    flat = np.ones_like(C)  # every monotone path ties under this prediction
    worst = np.array([max(_path_costs(c)) for c in C])
    best = np.array([min(_path_costs(c)) for c in C])
    np.testing.assert_allclose(metrics.unambiguous_regret(p, C, flat), worst - best, atol=1e-6)
    assert (metrics.unambiguous_regret(p, C, flat) >= metrics.regret(p, C, flat) - 1e-12).all()
    np.testing.assert_allclose(metrics.unambiguous_regret(p, C, C), 0.0, atol=1e-9)


def _path_costs(c: np.ndarray) -> list[float]:
    """Cost of every monotone path in the 3x3 grid (PyEPO arc order, via ShortestPath.grid)."""
    p = ShortestPath.grid(3, 3)
    arc = {(int(u), int(v)): j for j, (u, v) in enumerate(p.edges)}
    out = []

    def walk(node: int, acc: float) -> None:
        if node == 8:
            out.append(acc)
            return
        r, col = divmod(node, 3)
        if col < 2:
            walk(node + 1, acc + c[arc[(node, node + 1)]])
        if r < 2:
            walk(node + 3, acc + c[arc[(node, node + 3)]])

    walk(0, 0.0)
    return out


def test_shift_metrics_against_a_reference() -> None:
    ref = np.array([[1.0, 2.0, 0.0], [4.0, 5.0, 2.0]])
    new = np.array([[1.1, 1.0, 0.0], [4.0, 5.0, 3.0]])
    out = metrics.shift_metrics(ref, new)
    # shifts: 0.1, 0.5, 0 (0 -> 0) and 0, 0, 0.5
    assert out["mean_relative_shift"] == pytest.approx((0.1 + 0.5 + 0.5) / 6)
    assert out["max_relative_shift"] == pytest.approx(0.5)
    cos = [(1.1 + 2.0) / (np.sqrt(5) * np.sqrt(1.21 + 1.0)), (16 + 25 + 6) / (np.sqrt(45) * np.sqrt(50))]
    assert out["min_cosine"] == pytest.approx(min(cos))
    # a coefficient moved away from a zero reference: infinite max, skipped by the mean
    out = metrics.shift_metrics(np.array([[0.0, 2.0]]), np.array([[1.0, 3.0]]))
    assert out["max_relative_shift"] == np.inf and out["mean_relative_shift"] == pytest.approx(0.5)
    assert metrics.shift_metrics(np.zeros((0, 3)), np.zeros((0, 3))) == {
        "mean_relative_shift": 0.0,
        "max_relative_shift": 0.0,
        "min_cosine": 1.0,
    }

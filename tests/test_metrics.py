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


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (5, ALLOC.d), elements=st.floats(-5, 5)), st.floats(0.1, 100))
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

"""Allocation: closed form and group-capped LP agree with a direct LP solve."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from dff_core.problems import Allocation


def _lp_value(c, cap, budget, weights, A_extra=None, b_extra=None) -> float:
    A = [weights] + ([] if A_extra is None else list(A_extra))
    b = [budget] + ([] if b_extra is None else list(b_extra))
    res = linprog(-c, A_ub=np.array(A), b_ub=np.array(b), bounds=list(zip(np.zeros_like(cap), cap)), method="highs")
    return -res.fun


def test_closed_form_matches_lp() -> None:
    rng = np.random.default_rng(0)
    d = 12
    cap = rng.uniform(0.5, 3, d)
    weights = rng.uniform(1, 4, d)
    p = Allocation(cap, budget=8.0, weights=weights)
    C = rng.normal(size=(50, d))
    W = p.solve(C)
    assert (W >= -1e-12).all() and (cap + 1e-12 >= W).all()
    assert (W @ weights <= 8.0 + 1e-9).all()
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(_lp_value(C[i], cap, 8.0, weights), abs=1e-8)


def test_group_caps_match_lp() -> None:
    rng = np.random.default_rng(1)
    d = 10
    groups = np.array(["a"] * 5 + ["b"] * 5)
    p = Allocation(np.full(d, 2.0), budget=10.0, groups=groups, group_caps={"a": 3.0})
    C = rng.uniform(0, 1, (20, d))
    W = p.solve(C)
    assert (W[:, :5].sum(axis=1) <= 3.0 + 1e-9).all()
    A_extra = [np.where(groups == "a", 1.0, 0.0)]
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(
            _lp_value(C[i], np.full(d, 2.0), 10.0, np.ones(d), A_extra, [3.0]), abs=1e-8
        )


def test_non_positive_values_get_nothing() -> None:
    p = Allocation(np.ones(3), budget=5)
    np.testing.assert_array_equal(p.solve(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Allocation([], 1)
    with pytest.raises(ValueError, match="budget"):
        Allocation([1, 1], -1)
    with pytest.raises(ValueError, match="weights"):
        Allocation([1, 1], 1, weights=[1, 0])
    with pytest.raises(ValueError, match="group_caps names group"):
        Allocation([1, 1], 1, groups=["a", "a"], group_caps={"b": 1})


def test_agrees_with_direct_cvxpy_solve_with_and_without_groups() -> None:
    import cvxpy as cp

    rng = np.random.default_rng(3)
    d = 9
    cap = rng.uniform(0.5, 2.0, d)
    weights = rng.uniform(0.5, 2.0, d)
    groups = np.array(list("aaabbbccc"))
    for group_caps in ({}, {"a": 1.0, "c": 0.7}):
        p = Allocation(cap, 4.0, weights, groups=groups, group_caps=group_caps)
        C = rng.normal(size=(5, d))
        W = p.solve(C)
        for i in range(len(C)):
            x = cp.Variable(d)
            cons = [x >= 0, x <= cap, weights @ x <= 4.0]
            cons += [weights[groups == g] @ x[groups == g] <= v for g, v in group_caps.items()]
            prob = cp.Problem(cp.Maximize(C[i] @ x), cons)
            prob.solve(solver="CLARABEL")
            assert C[i] @ W[i] == pytest.approx(prob.value, abs=1e-6)


def test_bad_costs_name_problem_argument_and_instance() -> None:
    p = Allocation(np.ones(3), 2.0, groups=["a", "a", "b"], group_caps={"a": 1.0})
    with pytest.raises(ValueError, match=r"Allocation: argument 'C' must have shape \(n, 3\)"):
        p.solve(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"Allocation: .* non-finite .* instance 1, coefficient 2"):
        p.solve(np.array([[1.0, 1.0, 1.0], [1.0, 1.0, np.inf]]))

"""CvxpyProblem: sense and size inferred, linear-objective validation, solver errors per instance."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from dff_core.errors import SolverError
from dff_core.problems import Allocation, CvxpyProblem


def _knapsack(sense=cp.Maximize):
    x = cp.Variable(6)
    c = cp.Parameter(6)
    prob = cp.Problem(sense(c @ x), [x >= 0, x <= 1, cp.sum(x) <= 2.5])
    return prob, c, x


def test_matches_allocation_closed_form() -> None:
    prob, c, x = _knapsack()
    p = CvxpyProblem(prob, c, x)
    assert p.d == 6 and p.sense == "max"
    rng = np.random.default_rng(0)
    C = rng.normal(size=(10, 6))
    ref = Allocation(np.ones(6), 2.5)
    np.testing.assert_allclose(p.objective(C, p.solve(C)), ref.objective(C, ref.solve(C)), atol=1e-6)


def test_minimize_sense_and_matrix_parameter() -> None:
    X = cp.Variable((2, 3))
    c = cp.Parameter((2, 3))
    prob = cp.Problem(cp.Minimize(cp.sum(cp.multiply(c, X))), [X >= 0, cp.sum(X, axis=1) == 1])
    p = CvxpyProblem(prob, c, X)
    assert p.sense == "min" and p.d == 6
    C = np.array([[3.0, 1.0, 2.0, 0.5, 4.0, 5.0]])
    np.testing.assert_allclose(p.solve(C), [[0, 1, 0, 1, 0, 0]], atol=1e-6)


def test_objective_must_be_exactly_c_dot_x() -> None:
    x = cp.Variable(3)
    c = cp.Parameter(3)
    cons = [x >= 0, x <= 1]
    with pytest.raises(ValueError, match="not exactly c @ x"):
        CvxpyProblem(cp.Problem(cp.Maximize(c @ x - cp.sum_squares(x)), cons), c, x)
    with pytest.raises(ValueError, match="not exactly c @ x"):
        CvxpyProblem(cp.Problem(cp.Maximize(2 * c @ x), cons), c, x)
    with pytest.raises(ValueError, match="constraint 1"):
        CvxpyProblem(cp.Problem(cp.Maximize(c @ x), [x >= 0, c @ x <= 1]), c, x)
    y = cp.Variable(2)
    with pytest.raises(ValueError, match=r"'decision_variable' .* does not appear"):
        CvxpyProblem(cp.Problem(cp.Maximize(c @ x), cons), c, y)
    with pytest.raises(ValueError, match=r"has 3 entries .* 2"):
        CvxpyProblem(cp.Problem(cp.Maximize(c @ x), [*cons, y >= 0]), c, y)
    with pytest.raises(ValueError, match=r"must be a cvxpy\.Parameter"):
        CvxpyProblem(cp.Problem(cp.Maximize(c @ x), cons), np.ones(3), x)


def test_unbounded_and_infeasible_name_the_instance() -> None:
    x = cp.Variable(2)
    c = cp.Parameter(2)
    p = CvxpyProblem(cp.Problem(cp.Minimize(c @ x), [x >= 0]), c, x)
    with pytest.raises(SolverError, match=r"CvxpyProblem: instance 1 is unbounded"):
        p.solve(np.array([[1.0, 1.0], [-1.0, 1.0]]))
    q = CvxpyProblem(cp.Problem(cp.Minimize(c @ x), [x >= 1, x <= 0]), c, x, name="Shifts")
    with pytest.raises(SolverError, match=r"Shifts: instance 0 is infeasible"):
        q.solve(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        p.solve(np.ones((1, 3)))

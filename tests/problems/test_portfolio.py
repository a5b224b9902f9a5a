"""Portfolio: PyEPO's feasible set and risk budget, agreement with a direct cvxpy solve, solver choice.

The compiled kernel's cross-checks and edge cases are in ``test_portfolio_kernel.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from dff_core.problems import Portfolio


def _cov(rng: np.random.Generator, d: int = 8) -> np.ndarray:
    L = rng.normal(0, 0.05, (d, 3))
    return L @ L.T + np.diag(rng.uniform(1e-4, 4e-4, d))


def test_pyepo_risk_budget_and_constraints() -> None:
    pyepo_data = pytest.importorskip("pyepo.data.portfolio")
    cov, _, C = pyepo_data.genData(30, 5, 12, deg=2, noise_level=1, seed=3)
    p = Portfolio(cov)
    assert p.sense == "max" and p.d == 12
    assert p.risk_limit == pytest.approx(2.25 * np.mean(cov))
    W = p.solve(C[:10])
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-6)
    assert (W >= 0).all()
    assert (np.einsum("ij,jk,ik->i", W, cov, W) <= p.risk_limit * (1 + 1e-6)).all()


@pytest.mark.parametrize("solver", ["auto", "CLARABEL"])
def test_matches_direct_cvxpy_solve(solver: str) -> None:
    rng = np.random.default_rng(0)
    S = _cov(rng)
    p = Portfolio(S, risk_limit=0.6 * float(np.mean(np.diag(S))), solver=solver)
    assert p.solver == solver and p.min_variance <= p.risk_limit
    C = rng.normal(0.05, 0.03, (6, 8))
    W = p.solve(C)
    assert (W >= 0).all() and (W <= 1).all()
    for i in range(len(C)):
        x = cp.Variable(8)
        cons: list[Any] = [cp.sum(x) == 1, x >= 0, cp.quad_form(x, cp.psd_wrap(S)) <= p.risk_limit]
        prob = cp.Problem(cp.Maximize(C[i] @ x), cons)
        prob.solve(solver="CLARABEL")
        assert C[i] @ W[i] == pytest.approx(prob.value, rel=1e-5, abs=1e-7)


def test_solvers_agree_and_repr() -> None:
    rng = np.random.default_rng(3)
    S = _cov(rng, 10)
    fast, conic = Portfolio(S), Portfolio(S, solver="CLARABEL")
    assert repr(fast) == f"Portfolio(assets=10, risk_limit={fast.risk_limit:.4g}, solver='auto')"
    assert "solver='CLARABEL'" in repr(conic)
    C = rng.normal(0.05, 0.03, (5, 10))
    np.testing.assert_allclose(fast.objective(C, fast.solve(C)), conic.objective(C, conic.solve(C)), rtol=1e-6)


def test_kernel_path_does_not_import_cvxpy() -> None:
    code = (
        "import sys, numpy as np\n"
        "from dff_core.problems import Portfolio\n"
        "p = Portfolio(np.eye(4) * 0.04 + 0.01)\n"
        "p.solve(np.arange(8.0).reshape(2, 4))\n"
        "assert 'cvxpy' not in sys.modules, 'cvxpy imported'\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("solver", ["auto", "CLARABEL"])
def test_infeasible_budget(solver: str) -> None:
    S = _cov(np.random.default_rng(1), 4)
    with pytest.raises(ValueError, match="no portfolio meets risk_limit"):
        Portfolio(S, risk_limit=1e-9, solver=solver)


def test_bad_input() -> None:
    rng = np.random.default_rng(1)
    S = _cov(rng, 4)
    with pytest.raises(ValueError, match="square"):
        Portfolio(np.ones((3, 4)))
    with pytest.raises(ValueError, match="symmetric"):
        Portfolio(S + np.triu(np.ones((4, 4)), 1))
    with pytest.raises(ValueError, match="positive semi-definite"):
        Portfolio(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"covariance\[0, 1\]"):
        Portfolio(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="risk_limit"):
        Portfolio(S, risk_limit=-1.0)
    with pytest.raises(ValueError, match="no portfolio meets risk_limit"):
        Portfolio(S, risk_limit=1e-9)
    with pytest.raises(ValueError, match="solver must be"):
        Portfolio(S, solver="")
    with pytest.raises(ValueError, match=r"non-finite .* instance 1"):
        Portfolio(S).solve(np.array([np.ones(4), [np.inf, 0, 0, 0]]))

"""The compiled portfolio kernel against independent references.

References: cvxpy with CLARABEL at tight tolerances (a conic interior-point method, nothing in
common with the kernel's pivoting), and closed forms where the optimum is known (one or two
assets, the interior least risky mix, a budget that does not bind). Objectives are compared
relative to the row's largest return (the objective of a portfolio is a weighted mean of returns).
"""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest

from benchmarks.paper.data import portfolio as paper_portfolio
from dff_core.data.synthetic import portfolio_data
from dff_core.problems import Portfolio, _portfolio_kernel

TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10, "max_iter": 500}


def reference(S: np.ndarray, rho: float, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal objectives from CLARABEL at tight tolerances, and how far each answer exceeds the budget."""
    lam, V = np.linalg.eigh(S)
    G = V * np.sqrt(np.clip(lam, 0, None)) / np.sqrt(rho)
    x = cp.Variable(len(S))
    r = cp.Parameter(len(S))
    cons = [cp.sum(x) == 1, x >= 0, cp.sum_squares(G.T @ x) <= 1.0]
    prob = cp.Problem(cp.Maximize(r @ x), cons)  # pyright: ignore[reportArgumentType]
    z, over = [], []
    for row in R:
        r.value = row
        with warnings.catch_warnings():  # "may be inaccurate": the budget check below measures it
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver="CLARABEL", **TIGHT)
        xv = np.asarray(x.value)
        z.append(prob.value)
        over.append(max(0.0, xv @ S @ xv / rho - 1))
    return np.array(z), np.array(over)


def assert_feasible(p: Portfolio, W: np.ndarray) -> None:
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=0, atol=1e-9)
    assert (W >= 0).all() and (W <= 1).all()
    risk = np.einsum("ij,jk,ik->i", W, p.covariance, W)
    assert (risk <= p.risk_limit * (1 + 1e-9) + 1e-300).all(), (risk / p.risk_limit - 1).max()


def assert_matches_reference(p: Portfolio, R: np.ndarray, rtol: float = 1e-7) -> np.ndarray:
    """Solve ``R`` with the kernel; feasible, and the objective equals the reference's."""
    W = p.solve(R)
    assert p.fallback_rows == 0
    assert_feasible(p, W)
    z_ref, over = reference(p.covariance, p.risk_limit, R)
    # where the reference itself exceeds the budget it may beat the exact optimum slightly
    tol = rtol * np.abs(R).max(axis=1) + 1e-3 * over * np.abs(R).max(axis=1)
    err = np.abs(p.objective(R, W) - z_ref)
    assert (err <= tol).all(), (err / np.abs(R).max(axis=1)).max()
    return W


@pytest.mark.parametrize("assets", [20, 50])
def test_generator_data_and_spo_plus_inputs_match_cvxpy(assets: int) -> None:
    data = portfolio_data(40, 5, assets, deg=4, seed=7)
    p = data.problem
    assert isinstance(p, Portfolio) and p.solver == "auto"
    assert_matches_reference(p, data.C[:20])
    # SPO+ solves 2ĉ - c: noisy predictions make many returns negative
    rng = np.random.default_rng(assets)
    pred = data.C[20:] * rng.uniform(0.3, 1.7, (20, assets)) + rng.normal(0, 0.05, (20, assets))
    surrogate = 2 * pred - data.C[20:]
    assert (surrogate < 0).any()
    assert_matches_reference(p, surrogate)


def test_paper_benchmark_task_matches_cvxpy() -> None:
    task = paper_portfolio(deg=2, n_train=15, n_test=5, seed=3, num_assets=30, gamma=1.0)
    assert isinstance(task.problem, Portfolio)
    W = assert_matches_reference(task.problem, task.C_train)
    # a tight budget (gamma 1) binds on every row here: the risk sits on the budget
    risk = np.einsum("ij,jk,ik->i", W, task.problem.covariance, W)
    np.testing.assert_allclose(risk, task.problem.risk_limit, rtol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_random_covariances_and_returns_match_cvxpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = int(rng.integers(3, 25))
    L = rng.normal(0, 1, (d, int(rng.integers(1, d + 1))))
    S = L @ L.T + np.diag(rng.uniform(1e-3, 1e-1, d))
    v0 = Portfolio(S, risk_limit=1e9).min_variance
    for rho in (v0 * 1.05, v0 + 0.3 * (S.diagonal().max() - v0)):
        R = rng.normal(rng.normal(), 1.0, (6, d))
        R[0] = np.round(R[0], 1)  # ties
        R[1] = -np.abs(R[1])  # every return negative
        R[2, : d // 2] = 0.0  # zero returns
        assert_matches_reference(Portfolio(S, risk_limit=rho), R)


def test_singular_covariance_matches_cvxpy() -> None:
    rng = np.random.default_rng(5)
    L = rng.normal(0, 0.1, (12, 3))
    S = L @ L.T  # rank 3: zero-variance portfolios exist among the 12 assets
    assert np.linalg.matrix_rank(S) == 3
    p = Portfolio(S, risk_limit=0.2 * np.diag(S).mean())
    assert p.min_variance <= 1e-15
    assert_matches_reference(p, rng.normal(0, 1, (12, 12)))
    # rank 1 with integer structure, and duplicated assets with equal returns (pivots that turn the
    # bordered matrix singular, skipped by the kernel)
    f = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    R = np.round(rng.normal(0, 1, (6, 5)), 1)
    assert_matches_reference(Portfolio(np.outer(f, f) + np.eye(5), risk_limit=2.5), R)
    base = L[:4] @ L[:4].T + np.diag([0.01, 0.02, 0.03, 0.04])
    idx = np.array([0, 1, 2, 3, 1, 2, 1])
    R = np.round(rng.normal(0, 1, (6, 4)), 1)[:, idx]
    assert_matches_reference(Portfolio(base[np.ix_(idx, idx)], risk_limit=0.015), R)


def test_zero_covariance_is_the_linear_programme() -> None:
    p = Portfolio(np.zeros((4, 4)))  # risk_limit = gamma * 0 = 0, met by every portfolio
    R = np.array([[1.0, 3.0, 2.0, 3.0], [-1.0, -2.0, -0.5, -4.0]])
    W = p.solve(R)
    np.testing.assert_allclose(p.objective(R, W), [3.0, -0.5])
    assert_feasible(p, W)


def test_budget_not_binding_gives_the_best_asset_or_the_best_face() -> None:
    S = np.diag([0.04, 0.09, 0.01])
    p = Portfolio(S, risk_limit=0.05)
    # the best asset alone is within the budget
    np.testing.assert_array_equal(p.solve(np.array([0.3, 0.1, 0.2])), [1.0, 0.0, 0.0])
    # the best asset (variance 0.09) is over the budget: the risk binds
    w = p.solve(np.array([0.1, 0.3, 0.2]))
    assert w @ S @ w == pytest.approx(0.05, rel=1e-12)
    # two tied best assets, each over the budget alone, mixed within it: the LP optimum is kept
    p2 = Portfolio(np.diag([0.04, 0.04, 0.01]), risk_limit=0.03)
    w = p2.solve(np.array([0.5, 0.5, 0.1]))
    assert w @ np.array([0.5, 0.5, 0.1]) == pytest.approx(0.5, rel=1e-15)
    assert w @ np.diag([0.04, 0.04, 0.01]) @ w <= 0.03 * (1 + 1e-12)


def test_one_and_two_assets_closed_form() -> None:
    p1 = Portfolio(np.array([[0.04]]), risk_limit=0.04)
    np.testing.assert_array_equal(p1.solve(np.array([[-3.0], [0.0], [2.0]])), [[1.0], [1.0], [1.0]])
    s1, s2, c = 0.09, 0.01, 0.006
    S = np.array([[s1, c], [c, s2]])
    rho = 0.03
    p2 = Portfolio(S, risk_limit=rho)
    # weight w on the riskier, better asset: largest root of s1 w² + 2c w(1-w) + s2 (1-w)² = rho
    qa, qb, qc = s1 - 2 * c + s2, 2 * c - 2 * s2, s2 - rho
    w = (-qb + np.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa)
    np.testing.assert_allclose(p2.solve(np.array([0.2, 0.1])), [w, 1 - w], rtol=1e-12)
    np.testing.assert_array_equal(p2.solve(np.array([0.1, 0.2])), [0.0, 1.0])  # the safer asset is better
    np.testing.assert_allclose(p2.solve(np.array([0.1, 0.1])) @ [0.1, 0.1], 0.1, rtol=1e-15)


def test_budget_at_the_least_risky_variance() -> None:
    rng = np.random.default_rng(9)
    L = rng.normal(0, 0.05, (6, 2))
    S = L @ L.T + np.diag(rng.uniform(0.02, 0.04, 6))
    inv1 = np.linalg.solve(S, np.ones(6))
    assert (inv1 > 0).all()  # the least risky mix is interior: closed form
    v0 = 1 / inv1.sum()
    x_mv = inv1 * v0
    R = rng.normal(0, 1, (5, 6))
    # a budget a rounding error above v0 is v0: no weights of order sqrt(1e-16) from the risk's square root
    for rho in (v0, v0 * (1 + 1e-15)):
        p = Portfolio(S, risk_limit=rho)
        assert p.min_variance == pytest.approx(v0, rel=1e-13)
        W = p.solve(R)
        assert_feasible(p, W)
        np.testing.assert_allclose(W, np.tile(x_mv, (5, 1)), atol=1e-13)
    with pytest.raises(ValueError, match="no portfolio meets risk_limit"):
        Portfolio(S, risk_limit=v0 * (1 - 1e-6))


def test_all_zero_and_constant_returns() -> None:
    rng = np.random.default_rng(2)
    L = rng.normal(0, 0.1, (8, 3))
    S = L @ L.T + 0.01 * np.eye(8)
    p = Portfolio(S, risk_limit=0.5 * np.diag(S).mean())
    R = np.array([np.zeros(8), np.full(8, -0.3)])
    W = p.solve(R)
    assert_feasible(p, W)  # any feasible portfolio is optimal
    np.testing.assert_allclose(p.objective(R, W), [0.0, -0.3], atol=1e-15)


def test_batches_are_deterministic_and_split_independent() -> None:
    data = portfolio_data(300, 5, 20, deg=2, seed=4)
    p = data.problem
    W = p.solve(data.C)
    np.testing.assert_array_equal(W, p.solve(data.C))
    np.testing.assert_array_equal(W[17], p.solve(data.C[17]))
    np.testing.assert_array_equal(W[:5], p.solve(data.C[:5]))


def test_uncertified_rows_fall_back_to_cvxpy(monkeypatch: pytest.MonkeyPatch) -> None:
    data = portfolio_data(6, 5, 10, seed=1)
    p = data.problem
    assert isinstance(p, Portfolio)
    W_kernel = p.solve(data.C)
    kernel = _portfolio_kernel.solve_rows

    def flag_second_row(C, S, rho, q, W):  # type: ignore[no-untyped-def]
        kernel(C, S, rho, q, W)
        W[1] = np.nan
        return 1

    monkeypatch.setattr(_portfolio_kernel, "solve_rows", flag_second_row)
    W = p.solve(data.C)
    assert p.fallback_rows == 1 and not np.isnan(W).any()
    np.testing.assert_allclose(p.objective(data.C, W), p.objective(data.C, W_kernel), rtol=1e-6)

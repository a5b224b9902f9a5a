"""Markowitz portfolio with a risk budget (PyEPO's ``portfolioModel``).

Solved exactly by a compiled critical-line (homotopy) kernel (``_portfolio_kernel.py``), batched
over rows and split over the CPUs, or through cvxpy with a conic solver.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dff_core.errors import SolverError
from dff_core.problems import _graph, _portfolio_kernel
from dff_core.problems.base import OptProblem
from dff_core.problems.cvxpy_problem import CvxpyProblem

#: Work per thread block of the kernel, in units of d² (a row costs about d² to d³ operations):
#: at 20 assets a block holds 50 rows (~0.2 ms), at 50 assets 8 rows.
_BLOCK_WORK = 20_000


class Portfolio(OptProblem):
    """``max r^T x`` s.t. ``sum(x) = 1``, ``0 <= x <= 1``, ``x^T Σ x <= risk_limit``.

    The same feasible set as PyEPO's portfolio model, whose risk budget is
    ``gamma * mean(Σ)`` (mean over all entries of the covariance); pass ``risk_limit`` to set
    the budget directly instead.

    Parameters
    ----------
    covariance:
        Symmetric positive semi-definite ``(d, d)`` covariance of the asset returns.
    risk_limit:
        Bound on the portfolio variance ``x^T Σ x``. Default: ``gamma * mean(covariance)``.
    gamma:
        PyEPO's risk tolerance multiplier, used only when ``risk_limit`` is not given.
    solver:
        ``"auto"`` (default): the exact compiled kernel, which follows the problem's critical
        line from the best asset down to the risk budget (tens of microseconds per instance,
        no cvxpy import). Any other value is a cvxpy solver name (a conic solver that handles
        second-order cones, e.g. ``"CLARABEL"``): the problem is then built once with a cvxpy
        ``Parameter`` for the returns (DPP, so cvxpy caches the compilation) and re-solved per
        instance.

    The kernel checks the optimality conditions of every answer; a row it cannot certify
    (none in the cross-checks against cvxpy) is re-solved with cvxpy and CLARABEL and counted in
    ``fallback_rows``.
    """

    sense = "max"

    def __init__(
        self,
        covariance: np.ndarray,
        risk_limit: float | None = None,
        *,
        gamma: float = 2.25,
        solver: str = "auto",
    ) -> None:
        cls = "Portfolio"
        S = np.asarray(covariance, dtype=np.float64)
        if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
            raise ValueError(f"{cls}: covariance must be a square (d, d) matrix; got shape {S.shape}.")
        if not np.all(np.isfinite(S)):
            i, j = np.argwhere(~np.isfinite(S))[0]
            raise ValueError(f"{cls}: covariance[{i}, {j}] = {S[i, j]!r} is not finite.")
        scale = max(1.0, float(np.abs(S).max()))
        if not np.allclose(S, S.T, atol=1e-10 * scale, rtol=0):
            raise ValueError(f"{cls}: covariance must be symmetric (covariance == covariance.T).")
        S = 0.5 * (S + S.T)
        lam, V = np.linalg.eigh(S)
        if lam.min() < -1e-9 * scale:
            raise ValueError(f"{cls}: covariance is not positive semi-definite (smallest eigenvalue {lam.min():.3g}).")
        if risk_limit is None:
            if not np.isfinite(gamma) or gamma < 0:
                raise ValueError(f"{cls}: gamma must be a finite non-negative number; got {gamma!r}.")
            risk_limit = float(gamma) * float(np.mean(S))
        if not np.isfinite(risk_limit) or risk_limit < 0:
            raise ValueError(f"{cls}: risk_limit must be a finite non-negative number; got {risk_limit!r}.")
        if not isinstance(solver, str) or not solver:
            raise ValueError(f"{cls}: solver must be 'auto' or a cvxpy solver name; got {solver!r}.")
        self.covariance = S
        self.risk_limit = float(risk_limit)
        self.d = S.shape[0]
        self.solver = solver
        #: Rows the kernel could not certify optimal and cvxpy solved instead (should stay 0).
        self.fallback_rows = 0
        # x^T Σ x = ||F^T x||^2 with F = V sqrt(λ): the cvxpy model's second-order cone, valid for singular Σ
        self._factor = V * np.sqrt(np.clip(lam, 0.0, None))
        # the kernel works on Σ scaled to a unit largest variance, so its tolerances are relative
        self._scale = float(S.diagonal().max()) or 1.0
        self._S = np.ascontiguousarray(S / self._scale)
        self._rho = self.risk_limit / self._scale
        self._q = _portfolio_kernel.tie_breaker(self.d)
        x = np.empty(self.d)
        certified = _portfolio_kernel.min_variance(self._S, self._q, x) != _portfolio_kernel.FAILED
        #: Variance of the least risky portfolio: the smallest feasible ``risk_limit``.
        self.min_variance = float(x @ S @ x) if certified else self._min_variance_cvxpy()
        self._inner: CvxpyProblem | None = None
        self._fallback: CvxpyProblem | None = None  # the cvxpy model for rows the kernel cannot certify
        if solver != "auto":
            self._inner = self._cvxpy_model(solver)
            try:
                self._inner._solve(np.zeros((1, self.d)))
            except SolverError:
                raise self._infeasible() from None
        elif self.min_variance > self.risk_limit * (1 + 1e-9) + 1e-14 * self._scale:
            raise self._infeasible()

    def _infeasible(self) -> ValueError:
        return ValueError(
            f"Portfolio: no portfolio meets risk_limit={self.risk_limit:.6g} (the least risky mix has a larger "
            "variance); raise risk_limit or gamma."
        )

    def _min_variance_cvxpy(self) -> float:
        """The least risky portfolio's variance from CLARABEL (if the kernel could not certify its own)."""
        import cvxpy as cp  # imported on use: it takes seconds to load and only this path needs it

        x = cp.Variable(self.d)
        cons: list[Any] = [cp.sum(x) == 1, x >= 0]  # cp.sum's inferred type includes plain numbers
        prob = cp.Problem(cp.Minimize(cp.sum_squares(self._factor.T @ x)), cons)
        prob.solve(solver="CLARABEL")
        return float(prob.value)  # pyright: ignore[reportArgumentType]  (cvxpy types value loosely)

    def _cvxpy_model(self, solver: str) -> CvxpyProblem:
        """The problem as a cvxpy model with the returns as a parameter."""
        import cvxpy as cp  # imported on use: it takes seconds to load and only this path needs it

        # Scaled by the budget (||G^T x||^2 <= 1) so solver tolerances are relative to it.
        G = self._factor / np.sqrt(self.risk_limit) if self.risk_limit > 0 else self._factor
        x = cp.Variable(self.d, name="x")
        r = cp.Parameter(self.d, name="returns")
        cons: list[Any] = [cp.sum(x) == 1, x >= 0, x <= 1]  # as above
        cons.append(cp.sum_squares(G.T @ x) <= (1.0 if self.risk_limit > 0 else 0.0))
        prob = cp.Problem(cp.Maximize(r @ x), cons)
        return CvxpyProblem(prob, r, x, solver=solver, name="Portfolio")

    def _solve(self, C: np.ndarray) -> np.ndarray:
        if self._inner is not None:
            return np.clip(self._inner._solve(C), 0.0, 1.0)
        C = np.ascontiguousarray(C)
        W = np.empty_like(C)
        if len(C) == 0:
            return W
        rows = max(8, _BLOCK_WORK // self.d**2)
        kernel = _portfolio_kernel.solve_rows
        bad = _graph.run_split(kernel, C, W, self._S, self._rho, self._q, min_rows=rows, chunks_per_thread=2)
        if bad >= 0:
            failed = np.flatnonzero(np.isnan(W[:, 0]))
            self.fallback_rows += len(failed)
            if self._fallback is None:  # built once, on the first row the kernel cannot certify
                self._fallback = self._cvxpy_model("CLARABEL")
            W[failed] = np.clip(self._fallback._solve(C[failed]), 0.0, 1.0)
        return W

    def __repr__(self) -> str:
        return f"Portfolio(assets={self.d}, risk_limit={self.risk_limit:.4g}, solver={self.solver!r})"

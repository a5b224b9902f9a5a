"""Markowitz portfolio with a risk budget (PyEPO's ``portfolioModel``), solved with cvxpy."""

from __future__ import annotations

import numpy as np

from dff_core.errors import SolverError
from dff_core.problems.base import OptProblem
from dff_core.problems.cvxpy_problem import CvxpyProblem


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
        cvxpy solver name (a conic solver that handles second-order cones).

    The problem is built once with a cvxpy ``Parameter`` for the returns (DPP, so cvxpy
    caches the compilation) and re-solved per instance.
    """

    sense = "max"

    def __init__(
        self,
        covariance: np.ndarray,
        risk_limit: float | None = None,
        *,
        gamma: float = 2.25,
        solver: str = "CLARABEL",
    ) -> None:
        import cvxpy as cp  # imported on use: it takes seconds to load and only cvxpy models need it

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
        self.covariance = S
        self.risk_limit = float(risk_limit)
        self.d = S.shape[0]
        # x^T Σ x = ||F^T x||^2 with F = V sqrt(λ): a second-order cone, valid for singular Σ.
        # Scaled by the budget (||G^T x||^2 <= 1) so solver tolerances are relative to it.
        F = V * np.sqrt(np.clip(lam, 0.0, None))
        G = F / np.sqrt(self.risk_limit) if self.risk_limit > 0 else F
        x = cp.Variable(self.d, name="x")
        r = cp.Parameter(self.d, name="returns")
        prob = cp.Problem(
            cp.Maximize(r @ x),
            # cvxpy's sum() has no return annotation and its inferred type includes plain numbers
            [cp.sum(x) == 1, x >= 0, x <= 1, cp.sum_squares(G.T @ x) <= (1.0 if self.risk_limit > 0 else 0.0)],  # pyright: ignore[reportArgumentType]
        )
        self._inner = CvxpyProblem(prob, r, x, solver=solver, name=cls)
        try:
            self._inner._solve(np.zeros((1, self.d)))
        except SolverError:
            raise ValueError(
                f"{cls}: no portfolio meets risk_limit={self.risk_limit:.6g} (the least risky mix has a larger "
                "variance); raise risk_limit or gamma."
            ) from None

    def _solve(self, C: np.ndarray) -> np.ndarray:
        return np.clip(self._inner._solve(C), 0.0, 1.0)

    def __repr__(self) -> str:
        return f"Portfolio(assets={self.d}, risk_limit={self.risk_limit:.4g})"

"""Decision quality (regret) and prediction quality metrics.

Regret is what users compare methods by, so it follows PyEPO's conventions exactly:
``regret_i = c_i^T w(ĉ_i) - z*(c_i)`` for minimisation (sign flipped for maximisation) and
normalized regret ``sum_i regret_i / (sum_i |z*(c_i)| + 1e-7)``.
"""

from __future__ import annotations

import numpy as np

from dff_core.problems.base import OptProblem


def _pair(C_true: np.ndarray, C_pred: np.ndarray, name: str = "metrics") -> tuple[np.ndarray, np.ndarray]:
    A = np.atleast_2d(np.asarray(C_true, dtype=np.float64))
    B = np.atleast_2d(np.asarray(C_pred, dtype=np.float64))
    if A.shape != B.shape:
        raise ValueError(f"{name}: true costs have shape {A.shape} but predictions have shape {B.shape}.")
    return A, B


def regret(
    problem: OptProblem,
    C_true: np.ndarray,
    C_pred: np.ndarray,
    W_true: np.ndarray | None = None,
    W_pred: np.ndarray | None = None,
) -> np.ndarray:
    """Per-instance regret ``(n,)``: how much worse acting on ``C_pred`` is than hindsight.

    Pre-computed decisions may be passed to avoid re-solving.
    """
    C_true, C_pred = _pair(C_true, C_pred, "regret")
    if W_true is None:
        W_true = problem.solve(C_true)
    if W_pred is None:
        W_pred = problem.solve(C_pred)
    z_star = problem.objective(C_true, W_true)
    z_pred = problem.objective(C_true, W_pred)
    r = z_pred - z_star if problem.sense == "min" else z_star - z_pred
    # Round-off of a few ulps must not show as negative regret.
    scale = np.maximum(np.abs(z_star), 1.0)
    return np.where(np.abs(r) <= 1e-9 * scale, 0.0, r)


def normalized_regret(
    problem: OptProblem,
    C_true: np.ndarray,
    C_pred: np.ndarray,
    W_true: np.ndarray | None = None,
    W_pred: np.ndarray | None = None,
) -> float:
    """PyEPO's normalized regret: total regret over total ``|z*|`` (plus 1e-7)."""
    C_true, C_pred = _pair(C_true, C_pred, "normalized_regret")
    if W_true is None:
        W_true = problem.solve(C_true)
    r = regret(problem, C_true, C_pred, W_true=W_true, W_pred=W_pred)
    z_star = problem.objective(C_true, W_true)
    return float(r.sum() / (np.abs(z_star).sum() + 1e-7))


def unambiguous_regret(
    problem: OptProblem,
    C_true: np.ndarray,
    C_pred: np.ndarray,
    W_true: np.ndarray | None = None,
    rel_tol: float = 1e-7,
) -> np.ndarray:
    """Per-instance regret of the *worst* decision among those optimal for ``C_pred`` (PyEPO's
    ``unambRegret``): a prediction with ties (e.g. all zeros) cannot look good by luck.

    The worst tie is found by solving ``ĉ - δ c`` (min; ``ĉ + δ c`` for max) with
    ``δ = rel_tol * max|ĉ| / max|c|``: among ``ĉ``-optimal decisions this prefers the worst one
    for the true costs. The perturbed costs go through ``solve_surrogate`` (they may turn
    slightly negative).
    """
    C_true, C_pred = _pair(C_true, C_pred, "unambiguous_regret")
    scale_pred = np.abs(C_pred).max(axis=1, keepdims=True)
    scale_true = np.abs(C_true).max(axis=1, keepdims=True)
    delta = rel_tol * np.where(scale_pred > 0, scale_pred, 1.0) / np.where(scale_true > 0, scale_true, 1.0)
    Q = C_pred - delta * C_true if problem.sense == "min" else C_pred + delta * C_true
    W_worst = problem.solve_surrogate(Q)
    return regret(problem, C_true, C_pred, W_true=W_true, W_pred=W_worst)


def mse(C_true: np.ndarray, C_pred: np.ndarray) -> float:
    """Mean squared error over all instances and coefficients."""
    A, B = _pair(C_true, C_pred, "mse")
    return float(np.mean((A - B) ** 2))


def rmse(C_true: np.ndarray, C_pred: np.ndarray) -> float:
    """Root mean squared error over all instances and coefficients (the paper reports MSE/RMSE)."""
    return float(np.sqrt(mse(C_true, C_pred)))


def mae(C_true: np.ndarray, C_pred: np.ndarray) -> float:
    """Mean absolute error over all instances and coefficients."""
    A, B = _pair(C_true, C_pred, "mae")
    return float(np.mean(np.abs(A - B)))


def mape(C_true: np.ndarray, C_pred: np.ndarray, eps: float = 1e-9) -> float:
    """Mean absolute percentage error (in %), skipping true values with ``|c| <= eps``."""
    A, B = _pair(C_true, C_pred, "mape")
    mask = np.abs(A) > eps
    if not mask.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(A[mask] - B[mask]) / np.abs(A[mask])))


def relative_shift(C_ref: np.ndarray, C_new: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Element-wise prediction shift ``|c̃ - ĉ| / |ĉ|`` (0 where ``ĉ`` is 0 and unchanged)."""
    A, B = _pair(C_ref, C_new, "relative_shift")
    diff = np.abs(B - A)
    denom = np.abs(A)
    out = np.divide(diff, denom, out=np.zeros_like(diff), where=denom > eps)
    return np.where((denom <= eps) & (diff > eps), np.inf, out)


def relative_l2_shift(C_ref: np.ndarray, C_new: np.ndarray) -> np.ndarray:
    """Per-instance ``||c̃ - ĉ||_2 / ||ĉ||_2``, shape ``(n,)`` (0 for two zero rows, inf if only ``ĉ`` is 0)."""
    A, B = _pair(C_ref, C_new, "relative_l2_shift")
    num = np.linalg.norm(B - A, axis=1)
    den = np.linalg.norm(A, axis=1)
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.where((den == 0) & (num > 0), np.inf, out)


def cosine_similarity(C_a: np.ndarray, C_b: np.ndarray) -> np.ndarray:
    """Per-instance cosine similarity between rows, shape ``(n,)`` (1.0 for two zero rows)."""
    A, B = _pair(C_a, C_b, "cosine_similarity")
    na = np.linalg.norm(A, axis=1)
    nb = np.linalg.norm(B, axis=1)
    dot = np.einsum("ij,ij->i", A, B)
    denom = na * nb
    return np.divide(dot, denom, out=np.ones_like(dot), where=denom > 0)


def shift_metrics(C_ref: np.ndarray, C_new: np.ndarray) -> dict[str, float]:
    """How far ``C_new`` moved from the reference ``C_ref`` (e.g. DFF's correction of the backbone's ``ĉ``).

    ``mean_relative_shift`` averages :func:`relative_shift` over the coefficients where it is finite
    (a coefficient whose reference is exactly 0 has an infinite ratio), ``max_relative_shift`` keeps
    them all, ``min_cosine`` is the smallest per-instance :func:`cosine_similarity`. With no
    instances: no shift (0) and cosine 1.
    """
    shift = relative_shift(C_ref, C_new)
    finite = shift[np.isfinite(shift)]
    return {
        "mean_relative_shift": float(finite.mean()) if finite.size else 0.0,
        "max_relative_shift": float(shift.max()) if shift.size else 0.0,
        "min_cosine": float(cosine_similarity(C_new, C_ref).min()) if len(C_ref) else 1.0,
    }


def metrics_row(
    z_test: np.ndarray, C_test: np.ndarray, C_hat: np.ndarray, C_pred: np.ndarray, regret: np.ndarray, seconds: float
) -> dict[str, float]:
    """One method's row of a metrics table (shift and cosine measured against the backbone's ``C_hat``)."""
    n = len(regret)
    return {
        "regret_mean": float(regret.mean()) if n else float("nan"),
        "regret_median": float(np.median(regret)) if n else float("nan"),
        "normalized_regret": float(regret.sum() / (np.abs(z_test).sum() + 1e-7)),
        "mse": mse(C_test, C_pred),
        "mae": mae(C_test, C_pred),
        "mape": mape(C_test, C_pred),
        **shift_metrics(C_hat, C_pred),
        "seconds": float(seconds),
    }

"""Decision losses, differentiable with respect to the predicted costs.

Each loss makes exactly one batched ``problem.solve`` call per forward pass (PFYL: one
per perturbation sample, all stacked into a single call), and its backward pass is closed
form, so no solver is ever differentiated.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from dff_core.problems.base import OptProblem

Reduction = Literal["mean", "sum", "none"]


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}.")


def _as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().astype(np.float64, copy=False)
    return np.asarray(x, dtype=np.float64)


def true_solutions(problem: OptProblem, C_true: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Optimal decisions and objective values of the true costs (solve once, reuse every epoch)."""
    C = _as_numpy(C_true)
    W = problem.solve(C)
    return W, problem.objective(C, W)


class _SPOPlus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, c_pred, c_true, w_true, z_true, problem):  # type: ignore[override]
        cp = c_pred.detach().cpu().numpy().astype(np.float64, copy=False)
        c = c_true.detach().cpu().numpy().astype(np.float64, copy=False)
        q = 2.0 * cp - c
        wq = problem.solve_surrogate(q)
        obj = np.einsum("ij,ij->i", q, wq)
        w = w_true.detach().cpu().numpy()
        z = z_true.detach().cpu().numpy().reshape(-1)
        lin = 2.0 * np.einsum("ij,ij->i", cp, w)
        loss = (-obj + lin - z) if problem.sense == "min" else (obj - lin + z)
        grad = 2.0 * (w - wq) if problem.sense == "min" else 2.0 * (wq - w)
        ctx.save_for_backward(torch.as_tensor(grad, dtype=c_pred.dtype, device=c_pred.device))
        return torch.as_tensor(loss, dtype=c_pred.dtype, device=c_pred.device)

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        return grad_output.unsqueeze(1) * grad, None, None, None, None


def spo_plus(
    problem: OptProblem,
    c_pred: torch.Tensor,
    c_true: torch.Tensor | np.ndarray,
    w_true: torch.Tensor | np.ndarray | None = None,
    z_true: torch.Tensor | np.ndarray | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """SPO+ loss (Elmachtoub & Grigas), value and subgradient as PyEPO's ``SPOPlus``.

    For a minimisation problem: ``-min_w (2ĉ-c)^T w + 2ĉ^T w*(c) - z*(c)``, subgradient
    ``2 (w*(c) - w*(2ĉ-c))``. Pass ``w_true``/``z_true`` (from :func:`true_solutions`) to skip
    re-solving the true costs.
    """
    c_pred = c_pred if isinstance(c_pred, torch.Tensor) else torch.as_tensor(c_pred, dtype=torch.float64)
    if c_pred.ndim != 2 or c_pred.shape[1] != problem.d:
        raise ValueError(
            f"spo_plus: c_pred must have shape (n, {problem.d}) for {type(problem).__name__}; "
            f"got {tuple(c_pred.shape)}."
        )
    c_t = torch.as_tensor(_as_numpy(c_true))
    if tuple(c_t.shape) != tuple(c_pred.shape):
        raise ValueError(f"spo_plus: c_true has shape {tuple(c_t.shape)}, expected {tuple(c_pred.shape)}.")
    if w_true is None or z_true is None:
        W, z = true_solutions(problem, c_t.numpy())
    else:
        W, z = _as_numpy(w_true), _as_numpy(z_true).reshape(-1)
    loss = _SPOPlus.apply(c_pred, c_t, torch.as_tensor(W), torch.as_tensor(z), problem)
    return _reduce(loss, reduction)


def mse(c_pred: torch.Tensor, c_true: torch.Tensor | np.ndarray, reduction: Reduction = "mean") -> torch.Tensor:
    """Plain squared error per instance (mean over coefficients), for two-stage training."""
    c_t = torch.as_tensor(_as_numpy(c_true), dtype=c_pred.dtype)
    loss = ((c_pred - c_t) ** 2).mean(dim=1)
    return _reduce(loss, reduction)

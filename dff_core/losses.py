"""Decision losses, differentiable with respect to the predicted costs.

Each loss makes at most one batched solver call per forward pass (PFYL stacks all its
perturbed cost vectors into a single ``problem.solve_surrogate`` call), and its backward pass
is closed form, so no solver is ever differentiated.

All decision losses follow one protocol, :class:`DecisionLoss`: ``loss(problem, c_pred, c_true,
w_true, z_true, **state)`` returns the batch's loss (mean by default; ``reduction="none"`` gives one
value per instance), and ``loss.init_state(W_train, generator)`` returns the per-fit state a trainer
passes back on every call (PFYL's random generator, NCE's solution pool). They are registered by
name in :data:`LOSSES`; :func:`resolve_loss` turns a name, a loss or any callable into a
:class:`DecisionLoss`.

SPO+ and MSE also have a numpy fast path, ``loss.value_grad``: the per-instance values and the
gradient of their mean with respect to the predictions, as the torch forward and backward
passes compute them. Trainers that compute the network's gradient themselves (the compiled DFF
step) use it; for other losses they differentiate the loss alone with autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from dff_core.problems.base import OptProblem
from dff_core.solution_pool import SolutionPool

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    njit = None

Reduction = Literal["mean", "sum", "none"]


InitState = Callable[[np.ndarray, torch.Generator | None], dict[str, Any]]
#: ``value_grad(problem, c_pred, c_true, w_true, z_true, **state) -> (values (n,), d mean(values) / d c_pred (n, d))``
ValueGrad = Callable[..., tuple[np.ndarray, np.ndarray]]


class DecisionLoss:
    """A decision loss: ``loss(problem, c_pred, c_true, w_true, z_true, **state)`` plus its per-fit state.

    ``fn`` is called with the arguments as given. ``init_state(W_train, generator)`` is called once
    per fit with the training set's true decisions and the fit's random generator; the keyword
    arguments it returns are passed back on every call. Losses without state return ``{}``, so a
    plain function ``fn(problem, c_pred, c_true, w_true, z_true)`` is a loss as it is.

    ``value_grad`` (optional) is the same loss in numpy for float64 arrays: it returns the
    per-instance values and the gradient of their *mean* with respect to ``c_pred``, and takes the
    same state. Trainers use it to skip autograd.
    """

    def __init__(
        self,
        name: str,
        fn: Callable[..., torch.Tensor],
        init_state: InitState | None = None,
        value_grad: ValueGrad | None = None,
    ) -> None:
        if not callable(fn):
            raise ValueError(f"DecisionLoss {name!r}: fn must be callable; got {type(fn).__name__}.")
        if value_grad is not None and not callable(value_grad):
            raise ValueError(f"DecisionLoss {name!r}: value_grad must be callable or None.")
        self.name = str(name)
        self.fn = fn
        self._init_state = init_state
        self.value_grad = value_grad
        self.__doc__ = fn.__doc__
        self.__name__ = getattr(fn, "__name__", self.name)

    def __call__(self, problem: OptProblem, c_pred: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.fn(problem, c_pred, *args, **kwargs)

    def init_state(self, W_train: np.ndarray, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Keyword arguments to pass on every call during one fit (``{}`` for stateless losses)."""
        return {} if self._init_state is None else dict(self._init_state(W_train, generator))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Registered losses pickle by name (their functions are shadowed by the registered objects).
        if LOSSES.get(self.name) is self:
            return get_loss, (self.name,)
        return DecisionLoss, (self.name, self.fn, self._init_state, self.value_grad)

    def __repr__(self) -> str:
        return f"DecisionLoss({self.name!r})"


def decision_loss(
    name: str, init_state: InitState | None = None, value_grad: ValueGrad | None = None
) -> Callable[[Callable[..., torch.Tensor]], DecisionLoss]:
    """Decorator turning a loss function into a :class:`DecisionLoss` named ``name``."""

    def deco(fn: Callable[..., torch.Tensor]) -> DecisionLoss:
        return DecisionLoss(name, fn, init_state, value_grad)

    return deco


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


class _ClosedFormLoss(torch.autograd.Function):
    """A per-instance loss whose gradient with respect to ``c_pred`` is computed in ``forward``.

    Subclasses take five inputs, ``c_pred`` first, and end ``forward`` with :meth:`_done`.
    """

    @staticmethod
    def _done(ctx, c_pred: torch.Tensor, loss: np.ndarray, grad: np.ndarray) -> torch.Tensor:
        ctx.save_for_backward(torch.as_tensor(grad, dtype=c_pred.dtype, device=c_pred.device))
        return torch.as_tensor(loss, dtype=c_pred.dtype, device=c_pred.device)

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        return grad_output.unsqueeze(1) * grad, None, None, None, None


class _SPOPlus(_ClosedFormLoss):
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
        return _ClosedFormLoss._done(ctx, c_pred, loss, grad)


def _check_pred(name: str, problem: OptProblem, c_pred: torch.Tensor | np.ndarray) -> torch.Tensor:
    c_pred = c_pred if isinstance(c_pred, torch.Tensor) else torch.as_tensor(c_pred, dtype=torch.float64)
    if c_pred.ndim != 2 or c_pred.shape[1] != problem.d:
        raise ValueError(
            f"{name}: c_pred must have shape (n, {problem.d}) for {type(problem).__name__}; got {tuple(c_pred.shape)}."
        )
    if not torch.isfinite(c_pred).all():
        i, j = (~torch.isfinite(c_pred)).nonzero()[0].tolist()
        raise ValueError(f"{name}: c_pred has a non-finite value at instance {i}, coefficient {j}.")
    return c_pred


def _check_pred_np(name: str, problem: OptProblem, c_pred: np.ndarray) -> None:
    if c_pred.ndim != 2 or c_pred.shape[1] != problem.d:
        raise ValueError(f"{name}: c_pred must have shape (n, {problem.d}); got {c_pred.shape}.")
    if not np.isfinite(c_pred.sum()) and not np.isfinite(c_pred).all():  # one reduction when all is well
        i, j = np.argwhere(~np.isfinite(c_pred))[0]
        raise ValueError(f"{name}: c_pred has a non-finite value at instance {i}, coefficient {j}.")


def _spo_plus_finish_py(cp, c, w, z, wq, minimise, scale):  # type: ignore[no-untyped-def]
    """SPO+ values ``2ĉ·(w* - wq) + c·wq - z*`` (min; ``= -(2ĉ-c)·wq + 2ĉ·w* - z*``) and ``scale`` x
    subgradients once ``wq = w(2ĉ - c)`` is known, in one pass over the batch."""
    n, d = cp.shape
    loss = np.empty(n)
    grad = np.empty((n, d))
    sign = 1.0 if minimise else -1.0
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += 2.0 * cp[i, j] * (w[i, j] - wq[i, j]) + c[i, j] * wq[i, j]
            grad[i, j] = sign * scale * 2.0 * (w[i, j] - wq[i, j])
        loss[i] = sign * (acc - z[i])
    return loss, grad


_spo_plus_finish = _spo_plus_finish_py if njit is None else njit(cache=True)(_spo_plus_finish_py)


def _spo_plus_value_grad(
    problem: OptProblem, c_pred: np.ndarray, c_true: np.ndarray, w_true: Any = None, z_true: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`spo_plus` in numpy: per-instance values and the gradient of their mean."""
    _check_pred_np("spo_plus", problem, c_pred)
    if w_true is None or z_true is None:
        w_true, z_true = true_solutions(problem, c_true)
    wq = problem.solve_surrogate(2.0 * c_pred - c_true)
    return _spo_plus_finish(c_pred, c_true, w_true, np.reshape(z_true, -1), wq, problem.sense == "min", 1.0 / len(wq))


@decision_loss("spo+", value_grad=_spo_plus_value_grad)
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
    c_pred = _check_pred("spo_plus", problem, c_pred)
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


def _true_decisions(
    name: str,
    problem: OptProblem,
    c_pred: torch.Tensor,
    c_true: torch.Tensor | np.ndarray | None,
    w_true: torch.Tensor | np.ndarray | None,
) -> np.ndarray:
    if w_true is not None:
        W = _as_numpy(w_true)
        if W.shape != tuple(c_pred.shape):
            raise ValueError(f"{name}: w_true has shape {W.shape}, expected {tuple(c_pred.shape)}.")
        return W
    if c_true is None:
        raise ValueError(f"{name}: give c_true (or the true decisions w_true).")
    C = _as_numpy(c_true)
    if C.shape != tuple(c_pred.shape):
        raise ValueError(f"{name}: c_true has shape {C.shape}, expected {tuple(c_pred.shape)}.")
    return problem.solve(C)


class _PFYL(_ClosedFormLoss):
    @staticmethod
    def forward(ctx, c_pred, w_true, noise, sigma, problem):  # type: ignore[override]
        cp = c_pred.detach().cpu().numpy().astype(np.float64, copy=False)
        w = w_true.detach().cpu().numpy()
        z = noise.detach().cpu().numpy().astype(np.float64, copy=False)  # (n, K, d)
        n, K, d = z.shape
        ptb = cp[:, None, :] + sigma * z
        W = problem.solve_surrogate(ptb.reshape(n * K, d)).reshape(n, K, d)
        # per sample: <ptb, w*> - <ptb, w(ptb)> >= 0 (min); the mean over samples is an unbiased
        # estimate of the exact Fenchel-Young loss F(-ĉ) + Ω(w*) + ĉ^T w*, with Ω(w*) = 0 for a
        # vertex w*, and never negative.
        gap = np.einsum("bkd,bd->bk", ptb, w) - np.einsum("bkd,bkd->bk", ptb, W)
        if problem.sense == "min":
            loss, grad = gap.mean(axis=1), w - W.mean(axis=1)
        else:
            loss, grad = -gap.mean(axis=1), W.mean(axis=1) - w
        return _ClosedFormLoss._done(ctx, c_pred, loss, grad)


@decision_loss("pfyl", init_state=lambda W_train, generator: {"generator": generator})
def pfyl(
    problem: OptProblem,
    c_pred: torch.Tensor,
    c_true: torch.Tensor | np.ndarray | None = None,
    w_true: torch.Tensor | np.ndarray | None = None,
    z_true: torch.Tensor | np.ndarray | None = None,
    reduction: Reduction = "mean",
    n_samples: int = 10,
    sigma: float = 1.0,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Perturbed Fenchel-Young loss (Berthet et al. 2020), additive Gaussian noise.

    The ``n * n_samples`` perturbed costs ``ĉ + σZ`` are solved in one batched
    :meth:`~dff_core.problems.base.OptProblem.solve_surrogate` call. The value is a Monte-Carlo
    estimate of the *true* Fenchel-Young loss (min): ``mean_k [(ĉ+σz_k)^T w* - min_w (ĉ+σz_k)^T w]``,
    non-negative and unbiased (the regulariser Ω(w*) vanishes at a vertex ``w*``); PyEPO's
    ``perturbedFenchelYoung`` reports the same quantity without the zero-mean term
    ``σ z̄^T w*``. The gradient is ``w* - mean_k w(ĉ+σz_k)`` (signs flipped for max), as PyEPO's.

    Noise: ``seed`` draws ``torch.randn((n, n_samples, d))`` from a fresh generator seeded
    with it (for float64 predictions, the same draw as PyEPO's module with that seed on its
    first call); ``generator`` uses and advances a caller's generator; with neither, torch's
    global generator is used (reproducible under ``torch.manual_seed``).
    ``z_true`` is accepted for the common call style and not needed.
    """
    c_pred = _check_pred("pfyl", problem, c_pred)
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"pfyl: n_samples must be a positive integer; got {n_samples!r}.")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"pfyl: sigma must be a positive number; got {sigma!r}.")
    W = _true_decisions("pfyl", problem, c_pred, c_true, w_true)
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    n, d = c_pred.shape
    noise = torch.randn((n, int(n_samples), d), generator=generator, dtype=torch.float64)
    loss = _PFYL.apply(c_pred, torch.as_tensor(W), noise, float(sigma), problem)
    return _reduce(loss, reduction)


@decision_loss("nce", init_state=lambda W_train, generator: {"pool": SolutionPool(W_train)})
def nce(
    problem: OptProblem,
    c_pred: torch.Tensor,
    c_true: torch.Tensor | np.ndarray | None = None,
    w_true: torch.Tensor | np.ndarray | None = None,
    z_true: torch.Tensor | np.ndarray | None = None,
    reduction: Reduction = "mean",
    pool: SolutionPool | np.ndarray | None = None,
    solve_ratio: float = 1.0,
) -> torch.Tensor:
    """Noise-contrastive estimation (Mulamba et al. 2021), as PyEPO's ``NCE``.

    ``mean_{w in pool} (ĉ^T w* - ĉ^T w)`` per instance for min (sign flipped for max). With
    probability ``solve_ratio`` (drawn from the pool's ``rng``) the predicted costs are solved
    (one batched ``solve_surrogate`` call) and their decisions added to a :class:`SolutionPool`. ``pool`` may be a
    :class:`SolutionPool` (grown in place; seed it with the training decisions), a fixed array
    of decisions, or None (this batch's true and predicted decisions only).
    """
    c_pred = _check_pred("nce", problem, c_pred)
    if not 0.0 <= solve_ratio <= 1.0:
        raise ValueError(f"nce: solve_ratio must lie in [0, 1]; got {solve_ratio!r}.")
    W = _true_decisions("nce", problem, c_pred, c_true, w_true)
    if pool is None:
        pool = SolutionPool(W)
    if isinstance(pool, SolutionPool):
        if solve_ratio >= 1.0 or pool.rng.random() < solve_ratio:
            pool.add(problem.solve_surrogate(c_pred.detach().cpu().numpy().astype(np.float64)))
        sols = pool.solutions
    else:
        sols = _as_numpy(pool)
        if sols.ndim != 2 or sols.shape[1] != problem.d:
            raise ValueError(f"nce: pool must have shape (k, {problem.d}); got {sols.shape}.")
    if sols is None or len(sols) == 0:
        raise ValueError("nce: the solution pool is empty; seed it with the training decisions.")
    P = torch.as_tensor(sols, dtype=c_pred.dtype, device=c_pred.device)
    w = torch.as_tensor(W, dtype=c_pred.dtype, device=c_pred.device)
    obj_true = (c_pred * w).sum(dim=1, keepdim=True)
    obj_pool = c_pred @ P.T
    loss = (obj_true - obj_pool).mean(dim=1) if problem.sense == "min" else (obj_pool - obj_true).mean(dim=1)
    return _reduce(loss, reduction)


class _DBB(torch.autograd.Function):
    @staticmethod
    def forward(ctx, c_pred, c_true, z_true, lambd, problem):  # type: ignore[override]
        cp = c_pred.detach().cpu().numpy().astype(np.float64, copy=False)
        c = c_true.detach().cpu().numpy()
        z = z_true.detach().cpu().numpy().reshape(-1)
        wp = problem.solve_surrogate(cp)
        obj = np.einsum("ij,ij->i", c, wp)
        loss = obj - z if problem.sense == "min" else z - obj
        ctx.problem, ctx.lambd = problem, lambd
        ctx.cp, ctx.c, ctx.wp = cp, c, wp
        return torch.as_tensor(loss, dtype=c_pred.dtype, device=c_pred.device)

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[override]
        g = grad_output.detach().cpu().numpy().astype(np.float64)[:, None]
        sign = 1.0 if ctx.problem.sense == "min" else -1.0
        dl = sign * g * ctx.c  # d loss / d w
        wq = ctx.problem.solve_surrogate(ctx.cp + sign * ctx.lambd * dl)
        grad = sign * (wq - ctx.wp) / ctx.lambd
        out = torch.as_tensor(grad, dtype=grad_output.dtype, device=grad_output.device)
        return out, None, None, None, None


@decision_loss("dbb")
def dbb(
    problem: OptProblem,
    c_pred: torch.Tensor,
    c_true: torch.Tensor | np.ndarray,
    w_true: torch.Tensor | np.ndarray | None = None,
    z_true: torch.Tensor | np.ndarray | None = None,
    reduction: Reduction = "mean",
    lambd: float = 10.0,
) -> torch.Tensor:
    """Regret with the differentiable black-box gradient (Vlastelica et al. 2020), as PyEPO's
    ``blackboxOpt`` followed by the regret ``c^T w(ĉ) - z*``.

    The value is the true regret of acting on ``ĉ`` (sign flipped for max); the backward
    pass re-solves the interpolated costs ``ĉ + λ dL/dw`` (one batched ``solve_surrogate``
    call) and returns ``(w(ĉ + λ dL/dw) - w(ĉ)) / λ`` (signs as PyEPO's for max).
    """
    c_pred = _check_pred("dbb", problem, c_pred)
    if not np.isfinite(lambd) or lambd <= 0:
        raise ValueError(f"dbb: lambd must be a positive number; got {lambd!r}.")
    C = _as_numpy(c_true)
    if C.shape != tuple(c_pred.shape):
        raise ValueError(f"dbb: c_true has shape {C.shape}, expected {tuple(c_pred.shape)}.")
    if z_true is None:
        W = problem.solve(C) if w_true is None else _as_numpy(w_true)
        z = problem.objective(C, W)
    else:
        z = _as_numpy(z_true).reshape(-1)
    loss = _DBB.apply(c_pred, torch.as_tensor(C), torch.as_tensor(z), float(lambd), problem)
    return _reduce(loss, reduction)


def _mse_value_grad(
    problem: OptProblem, c_pred: np.ndarray, c_true: np.ndarray, w_true: Any = None, z_true: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mse_loss` in numpy: per-instance values and the gradient of their mean."""
    _check_pred_np("mse", problem, c_pred)
    diff = c_pred - c_true
    return (diff**2).mean(axis=1), diff * (2.0 / diff.size)


@decision_loss("mse", value_grad=_mse_value_grad)
def mse_loss(
    problem: OptProblem,
    c_pred: torch.Tensor,
    c_true: torch.Tensor | np.ndarray,
    w_true: torch.Tensor | np.ndarray | None = None,
    z_true: torch.Tensor | np.ndarray | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """:func:`mse` in the decision losses' call style (two-stage baseline; ignores the problem)."""
    c_pred = _check_pred("mse", problem, c_pred)
    return mse(c_pred, c_true, reduction=reduction)


#: Decision losses by name (the one registry every estimator, the CLI and sweeps resolve names through).
LOSSES: dict[str, DecisionLoss] = {loss.name: loss for loss in (spo_plus, pfyl, nce, dbb, mse_loss)}

#: Other spellings accepted for registered names.
ALIASES = {"spo_plus": "spo+", "spoplus": "spo+", "spo": "spo+"}


def get_loss(name: str) -> DecisionLoss:
    """The loss registered under ``name`` (case-insensitive, aliases allowed); ``ValueError`` lists the valid names."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid names: {', '.join(repr(k) for k in LOSSES)}.")
    return LOSSES[key]


def resolve_loss(loss: str | Callable[..., torch.Tensor]) -> DecisionLoss:
    """A :class:`DecisionLoss` from a registered name, a :class:`DecisionLoss`, or any callable.

    A callable is used as ``fn(problem, c_pred, c_true, w_true, z_true)`` (no per-fit state); it may
    return the batch mean or one value per instance (trainers average).
    """
    if isinstance(loss, DecisionLoss):
        return loss
    if isinstance(loss, str):
        try:
            return get_loss(loss)
        except ValueError as exc:
            raise ValueError(f"Unknown loss {loss!r}: {exc}") from None
    if callable(loss):
        return DecisionLoss(getattr(loss, "__name__", "custom"), loss)
    raise ValueError(f"loss must be a name such as 'spo+', 'pfyl' or 'nce', or a callable; got {loss!r}.")

"""The training loop shared by DFF and end-to-end DFL: mini-batch Adam on a decision loss, best epoch kept.

Built for speed: the true costs are solved once per fit, each mini-batch makes one batched solve
inside the loss and each epoch one batched validation solve. A :class:`~dff_core.correction.BiasCorrection`
(DFF) trains without autograd: :class:`~dff_core.correction.CompiledCorrection` runs its forward and
backward passes and Adam as compiled kernels, and the loss's numpy fast path
(``loss.value_grad``) gives the gradient with respect to the predictions (a loss without one is
differentiated alone with autograd). Any other module trains through autograd, with the optimiser
working on one flat parameter buffer (:class:`FlatAdam`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from threadpoolctl import ThreadpoolController

from dff_core.correction import COMPILED, BiasCorrection, CompiledCorrection, mlp_widths
from dff_core.errors import DataError
from dff_core.losses import DecisionLoss, true_solutions
from dff_core.problems.base import OptProblem
from dff_core.progress import ProgressCallback, epoch_event

#: Columns of an estimator's ``history_`` (one row per epoch, epoch 0 = the starting point).
HISTORY_COLUMNS = ["epoch", "train_loss", "val_regret", "val_normalized_regret", "seconds"]
_METRIC_COLUMNS = ("train_loss", "val_regret", "val_normalized_regret")
#: Training engines: "auto" compiles a BiasCorrection's steps and uses autograd for anything else.
Engine = Literal["auto", "compiled", "torch"]
#: Precision of the compiled engine's parameters and activations (predictions are always float64). Measured on
#: the 5x5 grid, float32 fits were no faster (the step is call overhead, not arithmetic) and changed the training
#: trajectory, while float64 reproduces the autograd engine's results seed for seed.
COMPILED_DTYPE: type = np.float64


def score_decisions(
    problem: OptProblem, C_true: np.ndarray, W_true: np.ndarray, z_true: np.ndarray, C_pred: np.ndarray
) -> tuple[float, float]:
    """Mean regret and normalized regret of acting on ``C_pred`` (one batched solve)."""
    W = problem.solve(C_pred)
    z_pred = np.einsum("ij,ij->i", C_true, W)
    r = z_pred - z_true if problem.sense == "min" else z_true - z_pred
    r = np.where(np.abs(r) <= 1e-9 * np.maximum(np.abs(z_true), 1.0), 0.0, r)
    return float(r.mean()), float(r.sum() / (np.abs(z_true).sum() + 1e-7))


def store_params(estimator: object, given: dict[str, Any]) -> None:
    """Store every argument of an estimator's ``__init__`` under its own name, unchanged.

    Called as ``store_params(self, locals())`` first thing in ``__init__``, so the trained estimators
    (DFF, DFL, DFFUnbounded) keep scikit-learn's rule (``__init__`` only stores its parameters; the fit
    checks them) without repeating one assignment line per shared training parameter.
    """
    for name, value in given.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def holdout_rows(n: int, val_fraction: float, owner: str) -> int:
    """Number of training rows when the last ``val_fraction`` of ``n`` rows is held out for validation."""
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"{owner}: val_fraction must be in [0, 1); got {val_fraction!r}.")
    n_val = round(n * float(val_fraction))
    if val_fraction > 0 and n_val == 0 and n >= 2:
        n_val = 1
    if n - n_val < 1:
        raise DataError(f"{owner}: {n} instances leave no training rows after holding out val_fraction={val_fraction}.")
    return n - n_val


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Detached copy of a module's state (for keeping the best epoch)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class FlatAdam:
    """Adam (torch's update rule, L2 weight decay) over parameters packed into one flat buffer.

    For the small correction networks DFF trains, per-step time is dominated by fixed per-call
    overheads, not arithmetic. Packing every parameter into one contiguous tensor turns the
    optimiser step into six tensor operations on a single buffer, and taking gradients with
    ``torch.autograd.grad`` removes ``zero_grad``: together about a third of a training step.
    The parameters stay ordinary ``nn.Parameter`` views, so ``state_dict`` and
    ``load_state_dict`` work unchanged.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("FlatAdam: the module has no trainable parameters.")
        total = sum(p.numel() for p in self.params)
        self.flat = torch.empty(total, dtype=self.params[0].dtype)
        offset = 0
        for p in self.params:
            k = p.numel()
            self.flat[offset : offset + k].copy_(p.detach().reshape(-1))
            p.data = self.flat[offset : offset + k].view_as(p)
            offset += k
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.lr, self.betas, self.eps, self.weight_decay = float(lr), betas, float(eps), float(weight_decay)
        self.steps = 0

    def step(self, loss: torch.Tensor) -> None:
        """One Adam step on the gradient of ``loss`` with respect to the parameters."""
        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        g = torch.cat([(torch.zeros_like(p) if gr is None else gr).reshape(-1) for p, gr in zip(self.params, grads)])
        if self.weight_decay:
            g = g.add(self.flat, alpha=self.weight_decay)
        b1, b2 = self.betas
        self.steps += 1
        self.exp_avg.lerp_(g, 1.0 - b1)
        self.exp_avg_sq.mul_(b2).addcmul_(g, g, value=1.0 - b2)
        bc1 = 1.0 - b1**self.steps
        bc2_sqrt = math.sqrt(1.0 - b2**self.steps)
        denom = (self.exp_avg_sq.sqrt() / bc2_sqrt).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-self.lr / bc1)


def _mean(out: torch.Tensor) -> torch.Tensor:
    return out.mean() if out.ndim > 0 else out


class _TorchEpochs:
    """Mini-batch epochs through autograd and :class:`FlatAdam` (any module, any loss)."""

    def __init__(self, module, problem, loss, state, inputs, C, W, z, *, lr, weight_decay, batch_size) -> None:  # type: ignore[no-untyped-def]
        self.module, self.problem, self.loss, self.state = module, problem, loss, state
        self.inputs, self.C, self.W, self.z, self.batch_size = inputs, C, W, z, batch_size
        self.opt = FlatAdam(module.parameters(), lr=lr, weight_decay=weight_decay)

    def run(self, perm_t: torch.Tensor, should_stop: Callable[[], bool] | None) -> tuple[float, bool]:
        """One epoch in the order ``perm_t``: ``(sum of batch losses x batch sizes, cancelled)``."""
        perm = perm_t.numpy()
        # One gather per epoch into shuffled copies; every batch is then a contiguous slice (a view).
        inputs = tuple(t.index_select(0, perm_t) for t in self.inputs)
        Cs, Ws, zs = self.C[perm], self.W[perm], self.z[perm]
        total = 0.0
        for start in range(0, len(perm), self.batch_size):
            if should_stop is not None and should_stop():
                return total, True
            sl = slice(start, start + self.batch_size)
            pred = self.module(*(t[sl] for t in inputs))
            value = _mean(self.loss(self.problem, pred, Cs[sl], Ws[sl], zs[sl], **self.state))
            self.opt.step(value)
            total += float(value.detach()) * pred.shape[0]
        return total, False

    def sync(self) -> None:
        """The module already holds the trained parameters."""


class _CompiledEpochs:
    """Mini-batch epochs of a :class:`BiasCorrection` as compiled kernels (no autograd).

    Per batch: one kernel call for ``c̃``, the loss's value and gradient with respect to ``c̃``
    (``loss.value_grad``, else autograd on the loss alone), one kernel call for backward + Adam.
    """

    def __init__(self, module, problem, loss, state, inputs, C, W, z, *, lr, weight_decay, batch_size) -> None:  # type: ignore[no-untyped-def]
        self.module, self.problem, self.loss, self.state = module, problem, loss, state
        self.batch_size = max(1, min(int(batch_size), len(C)))
        self.net = CompiledCorrection(
            module, lr=lr, weight_decay=weight_decay, batch_size=self.batch_size, dtype=COMPILED_DTYPE
        )
        x, c_hat = inputs
        self.Z = self.net.inputs(x, c_hat)
        self.C_hat = np.ascontiguousarray(c_hat.numpy(), dtype=np.float64)
        self.C, self.W = np.asarray(C, dtype=np.float64), np.asarray(W, dtype=np.float64)
        self.z = np.asarray(z, dtype=np.float64).reshape(-1)
        widest = max(a * b for a, b in zip(self.net.sizes[:-1], self.net.sizes[1:]))
        self.many_rows = self.batch_size * widest >= _BLAS_THREADING_WORK

    def _value_grad(self, c_pred: np.ndarray, C: np.ndarray, W: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
        """Sum of the batch's loss values and the gradient of their mean with respect to ``c_pred``."""
        if self.loss.value_grad is not None:
            values, grad = self.loss.value_grad(self.problem, c_pred, C, W, z, **self.state)
            return float(values.sum()), grad
        c = torch.from_numpy(c_pred.copy()).requires_grad_()
        value = _mean(self.loss(self.problem, c, C, W, z, **self.state))
        (grad,) = torch.autograd.grad(value, c, allow_unused=True)
        return float(value.detach()) * len(c_pred), (np.zeros_like(c_pred) if grad is None else grad.numpy())

    def run(self, perm_t: torch.Tensor, should_stop: Callable[[], bool] | None) -> tuple[float, bool]:
        """One epoch in the order ``perm_t``: ``(sum of batch losses x batch sizes, cancelled)``."""
        perm = perm_t.numpy()
        Z, C_hat, C, W, z = self.Z[perm], self.C_hat[perm], self.C[perm], self.W[perm], self.z[perm]
        n, bs, net = len(perm), self.batch_size, self.net
        total = 0.0
        with _one_blas_thread(self.many_rows):
            for start in range(0, n, bs):
                if should_stop is not None and should_stop():
                    return total, True
                stop = min(start + bs, n)
                c_pred = net.forward(Z, C_hat, start, stop)
                value_sum, grad = self._value_grad(c_pred, C[start:stop], W[start:stop], z[start:stop])
                net.step(Z, C_hat, start, stop, np.ascontiguousarray(grad, dtype=np.float64))
                total += value_sum
        return total, False

    def sync(self) -> None:
        """Copy the trained parameters into the module (which scores validation and makes predictions)."""
        self.net.write_to(self.module)


#: OpenBLAS multi-threads a product once m*n*k reaches about this much work; below it, one thread.
_BLAS_THREADING_WORK = 262_144
_BLAS_CONTROLLER: list[Any] = []


@contextlib.contextmanager
def _one_blas_thread(active: bool) -> Iterator[None]:
    """Keep BLAS on one thread for large batches (spinning worker threads on tiny products cost far more
    than they save on a busy machine); a no-op for batches too small to be threaded anyway."""
    if not active:
        yield
        return
    if not _BLAS_CONTROLLER:
        _BLAS_CONTROLLER.append(ThreadpoolController())
    with _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


def _choose_engine(engine: Engine, module: torch.nn.Module) -> type[_TorchEpochs] | type[_CompiledEpochs]:
    compilable = COMPILED and isinstance(module, BiasCorrection) and mlp_widths(module.net) is not None
    if engine == "compiled" and not compilable:
        raise ValueError("engine='compiled' needs numba and a BiasCorrection built by make_mlp; use engine='auto'.")
    if engine not in ("auto", "compiled", "torch"):
        raise ValueError(f"engine must be 'auto', 'compiled' or 'torch'; got {engine!r}.")
    return _CompiledEpochs if compilable and engine != "torch" else _TorchEpochs


def train_on_decision_loss(
    problem: OptProblem,
    module: torch.nn.Module,
    train_inputs: tuple[torch.Tensor, ...],
    C_train: np.ndarray,
    val_inputs: tuple[torch.Tensor, ...],
    C_val: np.ndarray,
    *,
    loss: DecisionLoss,
    generator: torch.Generator,
    method: str,
    W_train: np.ndarray | None = None,
    z_train: np.ndarray | None = None,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.0,
    patience: int | None = None,
    callback: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    t_start: float | None = None,
    engine: Engine = "auto",
) -> tuple[pd.DataFrame, int, bool]:
    """Mini-batch Adam on a decision loss, keeping the epoch with the lowest validation regret.

    ``module(*inputs)`` must return cost predictions. Epoch 0 is the untrained module and is a
    candidate for the best epoch. The true costs are solved once here (unless ``W_train``/``z_train``
    are given); each step then makes exactly one batched solve inside the loss, and each epoch
    one batched validation solve. Without validation rows the last epoch is kept. After every
    epoch (0 included) ``callback`` receives a :class:`~dff_core.progress.ProgressEvent` for
    ``method``. ``engine="auto"`` trains a :class:`~dff_core.correction.BiasCorrection` (inputs
    ``(x, c_hat)``) with compiled kernels and anything else through autograd; ``"torch"``
    forces autograd. Validation and the returned module are always evaluated by ``module`` itself.
    Returns ``(history, best_epoch, cancelled)`` and leaves ``module`` at its best state, in eval mode.
    """
    t_start = time.perf_counter() if t_start is None else t_start
    if W_train is None or z_train is None:
        W_train, z_train = true_solutions(problem, C_train)
    has_val = C_val.shape[0] > 0
    if has_val:
        W_val, z_val = true_solutions(problem, C_val)
    n_tr = C_train.shape[0]
    state = loss.init_state(W_train, generator)
    runner = _choose_engine(engine, module)(
        module, problem, loss, state, train_inputs, C_train, W_train, z_train,
        lr=lr, weight_decay=weight_decay, batch_size=int(batch_size),
    )  # fmt: skip
    rows: list[dict[str, Any]] = []

    def record(epoch: int, train_loss: float, t0: float) -> dict[str, Any]:
        vr = vnr = float("nan")
        if has_val:
            module.eval()
            with torch.no_grad():
                Cp = module(*val_inputs).numpy()
            module.train()
            vr, vnr = score_decisions(problem, C_val, W_val, z_val, Cp)
        row = dict(zip(HISTORY_COLUMNS, (epoch, train_loss, vr, vnr, time.perf_counter() - t0), strict=True))
        rows.append(row)
        return row

    def notify(epoch: int, row: dict[str, Any], best: int) -> None:
        if callback is not None:
            callback(epoch_event(method, epoch, int(epochs), row, best, _METRIC_COLUMNS))

    module.train()
    with torch.no_grad():
        loss0 = float(_mean(loss(problem, module(*train_inputs), C_train, W_train, z_train, **state)))
    row = record(0, loss0, t_start)
    best_val, best_epoch, best_state = row["val_regret"], 0, snapshot(module)
    notify(0, row, best_epoch)
    wait, cancelled = 0, False
    for epoch in range(1, int(epochs) + 1):
        t0 = time.perf_counter()
        total, cancelled = runner.run(torch.randperm(n_tr, generator=generator), should_stop)
        if cancelled:
            break
        runner.sync()
        row = record(epoch, total / n_tr, t0)
        if not has_val:  # the last completed epoch is the best one
            best_epoch, best_state = epoch, snapshot(module)
        elif row["val_regret"] < best_val - 1e-12 * max(1.0, abs(best_val)):
            best_val, best_epoch, best_state, wait = row["val_regret"], epoch, snapshot(module), 0
        else:
            wait += 1
        notify(epoch, row, best_epoch)
        if has_val and patience is not None and wait >= int(patience):
            break
    module.load_state_dict(best_state)
    module.eval()
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS), int(best_epoch), cancelled


def fit_module(
    estimator: Any,
    module: torch.nn.Module,
    train: tuple[tuple[np.ndarray, ...], np.ndarray],
    val: tuple[tuple[np.ndarray, ...], np.ndarray],
    *,
    loss: DecisionLoss,
    generator: torch.Generator,
    method: str,
    callback: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
    t_start: float,
) -> None:
    """The fit loop shared by the trained estimators (DFF, DFL, DFFUnbounded).

    Trains ``module`` on ``estimator.problem`` with the estimator's budget (``epochs``, ``lr``,
    ``batch_size``, ``weight_decay``, ``patience``) via :func:`train_on_decision_loss`, from
    ``train = (inputs, C)`` with validation rows ``val = (inputs, C)`` (inputs: ``(X,)`` or ``(X, C_hat)``),
    then stores the fitted attributes they all have: ``loss_name_``, ``history_``, ``best_epoch_``,
    ``cancelled_``, ``module_``, ``n_features_in_``, ``n_train_``, ``n_val_``, ``fit_seconds_`` and the ensemble
    attributes of one member (``n_members_``, ``best_epochs_``, ``member_histories_``).
    """
    (inputs, C), (val_inputs, C_val) = train, val
    history, best_epoch, cancelled = train_on_decision_loss(
        estimator.problem,
        module,
        tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in inputs),
        C,
        tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in val_inputs),
        C_val,
        loss=loss,
        generator=generator,
        method=method,
        epochs=int(estimator.epochs),
        lr=float(estimator.lr),
        batch_size=int(estimator.batch_size),
        weight_decay=float(estimator.weight_decay),
        patience=estimator.patience,
        callback=callback,
        should_stop=should_stop,
        t_start=t_start,
    )
    estimator.loss_name_ = loss.name
    estimator.history_, estimator.best_epoch_, estimator.cancelled_ = history, int(best_epoch), cancelled
    estimator.module_ = module
    estimator.n_features_in_ = int(inputs[0].shape[1])
    estimator.n_train_, estimator.n_val_ = int(inputs[0].shape[0]), int(val_inputs[0].shape[0])
    estimator.fit_seconds_ = time.perf_counter() - t_start
    # A single fit is an ensemble of one (dff_core.ensemble.fit_members sets these for several members).
    estimator.n_members_, estimator.best_epochs_, estimator.member_histories_ = 1, [int(best_epoch)], [history]

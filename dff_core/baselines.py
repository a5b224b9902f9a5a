"""The decision-focused baselines DFF is judged against.

* :class:`DFL` trains a predictor (linear model or MLP) directly on a decision loss with no trust
  region: the usual end-to-end decision-focused learning. It can start from its own least-squares
  fit, from random weights, or from a fitted backbone of the same model class
  (``fit(..., start_from=backbone)``), so DFF can be compared like for like.
* :class:`~dff_core.ablation.DFFUnbounded` (in :mod:`dff_core.ablation`) is DFF's correction network
  without the trust region, the ablation that shows what the bound is for.

:func:`dff_core.comparison.run_comparison` compares them with the two-stage backbone and DFF.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from dff_core import metrics, selection
from dff_core.backbones import MLPBackbone
from dff_core.correction import make_mlp, torch_threads
from dff_core.ensemble import check_members, fit_members
from dff_core.errors import DataError
from dff_core.losses import resolve_loss
from dff_core.problems.base import OptProblem
from dff_core.progress import ProgressCallback
from dff_core.selection import LR_GRID, check_auto_or_number, copy_fitted, fit_selected, is_auto, train_val_rows
from dff_core.training import fit_module, holdout_rows, store_params
from dff_core.validation import as_2d, check_hidden, check_training_params


class _Predictor(nn.Module):
    """Standardised features -> network -> de-standardised costs."""

    x_mean: torch.Tensor
    x_std: torch.Tensor
    c_mean: torch.Tensor
    c_std: torch.Tensor
    net: nn.Sequential

    def __init__(
        self, net: nn.Sequential, x_mean: np.ndarray, x_std: np.ndarray, c_mean: np.ndarray, c_std: np.ndarray
    ) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("x_mean", torch.as_tensor(x_mean))
        self.register_buffer("x_std", torch.as_tensor(x_std))
        self.register_buffer("c_mean", torch.as_tensor(c_mean))
        self.register_buffer("c_std", torch.as_tensor(c_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.x_mean) / self.x_std) * self.c_std + self.c_mean

    def output_layer(self) -> nn.Linear:
        """The network's last layer, which warm starts overwrite with a fitted affine map."""
        last = self.net[-1]
        if not isinstance(last, nn.Linear):
            raise TypeError(
                f"DFL: the network must end in a Linear layer to be warm-started; got {type(last).__name__}."
            )
        return last


def _std(A: np.ndarray) -> np.ndarray:
    s = A.std(axis=0)
    return np.where(s > 1e-12, s, 1.0)


class DFL(BaseEstimator):
    """End-to-end decision-focused learning: a linear model or MLP trained on a decision loss, no trust region.

    ``warm_start=True`` first fits the model on mean squared error (closed-form ridge regression on
    standardised features for ``model="linear"``, ``warm_epochs`` of full-batch Adam for ``"mlp"``),
    so training starts from a sound two-stage model. ``warm_alpha="auto"`` picks the ridge penalty
    by validation MSE (plain least squares overfits when features outnumber training rows, which
    would make the baseline look worse than it is). The epoch with the lowest validation regret is
    kept (epoch 0 = the warm start). ``warm_start=False`` starts from random weights ("from scratch"),
    and ``fit(..., start_from=backbone)`` from a fitted backbone of the same class.
    A scikit-learn estimator (``__init__`` only stores parameters); ``score(X, C)`` is the negative
    normalized regret. Parameters otherwise mirror :class:`~dff_core.dff.DFF` (``lr="auto"`` included).
    ``n_members`` fits (seeds ``seed, seed + 1, …``) are averaged, as for DFF (:mod:`dff_core.ensemble`); with
    ``start_from`` every member starts from the backbone and they differ in their batch order.
    Attributes after ``fit``: ``module_``, ``history_``, ``best_epoch_``, ``cancelled_``, ``n_features_in_``,
    ``n_train_``, ``n_val_``, ``loss_name_``, ``fit_seconds_``, ``lr_`` and ``selection_`` (the first member's), and
    ``n_members_``, ``best_epochs_``, ``member_histories_`` (every member's).
    """

    def __init__(
        self,
        problem: OptProblem,
        model: str = "linear",
        loss: str | Callable[..., torch.Tensor] = "spo+",
        epochs: int = selection.DEFAULT_EPOCHS,
        lr: float = selection.DEFAULT_LR,
        batch_size: int = 32,
        seed: int = 0,
        warm_start: bool = True,
        hidden: Sequence[int] = (32, 32),
        val_fraction: float = 0.2,
        patience: int | None = selection.DEFAULT_PATIENCE,
        warm_epochs: int = 300,
        weight_decay: float = 0.0,
        num_threads: int | None = 1,
        warm_alpha: float | str = "auto",
        n_members: int = selection.DEFAULT_MEMBERS,
    ) -> None:
        store_params(self, locals())

    def fit(
        self,
        X: np.ndarray,
        C: np.ndarray,
        X_val: np.ndarray | None = None,
        C_val: np.ndarray | None = None,
        *,
        start_from: Any = None,
        callback: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> DFL:
        """Train on ``(X, C)``; without ``X_val``/``C_val`` the last ``val_fraction`` of rows validates.

        ``start_from``: a fitted backbone of the same model class to start from instead of the warm
        start (decision-focused fine-tuning of that very model): for ``model="linear"`` any fitted
        affine predictor (e.g. :class:`~dff_core.backbones.LinearBackbone`, checked to be affine), for
        ``model="mlp"`` an :class:`~dff_core.backbones.MLPBackbone` (its network and scaling are copied,
        so ``hidden`` is ignored). Epoch 0 then reproduces the backbone's predictions.
        ``lr="auto"`` chooses the step size from :data:`~dff_core.selection.LR_GRID` on validation rows
        that did not choose the epoch (:func:`dff_core.selection.fit_selected`); ``lr_`` holds the value used.
        ``callback(event)`` receives a :class:`~dff_core.progress.ProgressEvent` after every epoch;
        ``should_stop() -> bool`` is checked before every mini-batch (``True`` cancels, keeping the best epoch).
        """
        check_auto_or_number("DFL", "lr", self.lr, "1e-3")
        if check_members("DFL", self.n_members) > 1:
            kw = {"start_from": start_from, "callback": callback, "should_stop": should_stop}
            return fit_members(self, lambda one: one.fit(X, C, X_val, C_val, **kw), should_stop)
        if is_auto(self.lr):
            return self._fit_selected(X, C, X_val, C_val, start_from, callback, should_stop)
        with torch_threads(self.num_threads):
            self._fit(X, C, X_val, C_val, callback, should_stop, start_from)
        self.lr_, self.selection_ = float(self.lr), None
        return self

    def _fit_selected(
        self,
        X: np.ndarray,
        C: np.ndarray,
        X_val: np.ndarray | None,
        C_val: np.ndarray | None,
        start_from: Any,
        callback: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
    ) -> DFL:
        t_start = time.perf_counter()
        val = None if X_val is None else (X_val,)
        (X, C), (Xv, Cv), hint = train_val_rows("DFL.fit", (X,), C, val, C_val, int(self.problem.d), self.val_fraction)
        model, table, chosen = fit_selected(
            self,
            [{"lr": lr} for lr in LR_GRID],
            (X, C),
            (Xv,),
            Cv,
            owner="DFL.fit",
            argument="lr",
            hint=hint,
            fit_kwargs={"callback": callback, "start_from": start_from},
            should_stop=should_stop,
        )
        copy_fitted(self, model)
        self.lr_, self.selection_ = float(chosen["lr"]), table
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

    def _fit(
        self,
        X: np.ndarray,
        C: np.ndarray,
        X_val: np.ndarray | None,
        C_val: np.ndarray | None,
        callback: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
        start_from: Any = None,
    ) -> DFL:
        owner = "DFL.fit"
        t_start = time.perf_counter()
        if self.model not in ("linear", "mlp"):
            raise ValueError(f"DFL: model must be 'linear' or 'mlp'; got {self.model!r}.")
        check_training_params("DFL", self.epochs, self.lr, self.batch_size, self.patience)
        d = int(self.problem.d)
        X = as_2d("X", X, owner=owner)
        C = as_2d("C", C, d, X.shape[0], owner=owner)
        if (X_val is None) != (C_val is None):
            raise ValueError(f"{owner}: pass both X_val and C_val, or neither.")
        if X_val is not None:
            Xv = as_2d("X_val", X_val, X.shape[1], owner=owner)
            Cv = as_2d("C_val", C_val, d, Xv.shape[0], owner=owner)
        else:
            n_tr = holdout_rows(X.shape[0], self.val_fraction, owner)
            X, C, Xv, Cv = X[:n_tr], C[:n_tr], X[n_tr:], C[n_tr:]
        if X.shape[0] == 0:
            raise DataError(f"{owner}: no training rows.")
        loss = resolve_loss(self.loss)
        gen = torch.Generator().manual_seed(int(self.seed))
        hidden = () if self.model == "linear" else check_hidden(self.hidden)
        net = make_mlp(X.shape[1], d, hidden, generator=gen)
        module = _Predictor(net, X.mean(0), _std(X), C.mean(0), _std(C))
        if start_from is not None:
            module = self._start_from(module, start_from, X, C)
        elif self.warm_start:
            self._warm_start(module, X, C, gen, Xv, Cv)
        fit_module(
            self, module, ((X,), C), ((Xv,), Cv), loss=loss, generator=gen, method="dfl",
            callback=callback, should_stop=should_stop, t_start=t_start,
        )  # fmt: skip
        return self

    def _start_from(self, module: _Predictor, backbone: Any, X: np.ndarray, C: np.ndarray) -> _Predictor:
        """``module`` set to reproduce the fitted ``backbone`` (same model class), ready to train."""
        owner = "DFL.fit"
        if self.model == "mlp":
            if not isinstance(backbone, MLPBackbone) or not hasattr(backbone, "net_"):
                raise ValueError(
                    f"{owner}: start_from for model='mlp' must be a fitted MLPBackbone; got {type(backbone).__name__}."
                )
            if backbone.n_features_in_ != X.shape[1] or backbone.n_outputs_ != C.shape[1]:
                raise ValueError(f"{owner}: start_from was fitted on data of another shape than X and C.")
            net = copy.deepcopy(backbone.net_).to(torch.float64)
            return _Predictor(net, backbone.x_mean_, backbone.x_std_, backbone.c_mean_, backbone.c_std_)
        # Linear: read the affine map off the backbone's predictions in the module's standardised coordinates.
        xm, xs = module.x_mean.numpy(), module.x_std.numpy()
        cm, cs = module.c_mean.numpy(), module.c_std.numpy()
        p = X.shape[1]
        probes = np.vstack([xm, xm + np.diag(xs)])
        try:
            out = np.asarray(backbone.predict(probes), dtype=np.float64).reshape(p + 1, C.shape[1])
        except Exception as exc:
            raise ValueError(
                f"{owner}: start_from must be a fitted backbone with predict(X); calling it failed ({exc})."
            ) from None
        bias = (out[0] - cm) / cs
        weight = ((out[1:] - out[0]) / cs).T  # (d, p)
        rng = np.random.default_rng(0)
        Z = rng.normal(size=(8, p))
        check = np.asarray(backbone.predict(xm + Z * xs), dtype=np.float64)
        mine = (Z @ weight.T + bias) * cs + cm
        if not np.allclose(check, mine, rtol=1e-6, atol=1e-8 * max(1.0, float(np.abs(check).max()))):
            raise ValueError(
                f"{owner}: start_from ({type(backbone).__name__}) is not a linear model, so it cannot start "
                "model='linear'; use its own model class or leave start_from out."
            )
        lin = module.output_layer()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weight.copy()))
            lin.bias.copy_(torch.from_numpy(bias.copy()))
        return module

    def _warm_start(
        self,
        module: _Predictor,
        X: np.ndarray,
        C: np.ndarray,
        gen: torch.Generator,
        Xv: np.ndarray | None = None,
        Cv: np.ndarray | None = None,
    ) -> None:
        Z = (X - module.x_mean.numpy()) / module.x_std.numpy()
        T = (C - module.c_mean.numpy()) / module.c_std.numpy()
        if self.model == "linear":
            A = np.c_[Z, np.ones(len(Z))]
            gram, rhs = A.T @ A, A.T @ T
            pen = np.eye(A.shape[1])
            pen[-1, -1] = 0.0  # the intercept is not penalised

            def ridge(alpha: float) -> np.ndarray:
                return np.linalg.lstsq(gram + (alpha * len(A) + 1e-8) * pen, rhs, rcond=None)[0]

            if self.warm_alpha == "auto":
                alphas = (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
                if Xv is not None and len(Xv):
                    Zv = (Xv - module.x_mean.numpy()) / module.x_std.numpy()
                    Tv = (Cv - module.c_mean.numpy()) / module.c_std.numpy()
                    Av = np.c_[Zv, np.ones(len(Zv))]
                    scale = module.c_std.numpy() ** 2
                    errs = [float((((Av @ ridge(a)) - Tv) ** 2 * scale).mean()) for a in alphas]
                    alpha = alphas[int(np.argmin(errs))]
                else:
                    alpha = 1e-2
            else:
                alpha = float(self.warm_alpha)
                if not alpha >= 0:
                    raise ValueError(f"DFL: warm_alpha must be 'auto' or a number >= 0; got {self.warm_alpha!r}.")
            self.warm_alpha_ = alpha
            coef = ridge(alpha)
            lin = module.output_layer()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(coef[:-1].T.copy()))
                lin.bias.copy_(torch.from_numpy(coef[-1].copy()))
            return
        Zt, Tt = torch.from_numpy(Z), torch.from_numpy(T)
        opt = torch.optim.Adam(module.net.parameters(), lr=1e-2)
        for _ in range(int(self.warm_epochs)):
            opt.zero_grad(set_to_none=True)
            ((module.net(Zt) - Tt) ** 2).mean().backward()
            opt.step()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted costs for ``X``, shape ``(n, d)``."""
        check_is_fitted(self, "module_", msg="DFL: call fit(X, C) before predict(X).")
        X = as_2d("X", X, self.n_features_in_, owner="DFL.predict")
        with torch.no_grad():
            return self.module_(torch.from_numpy(X)).numpy().copy()

    def decide(self, X: np.ndarray) -> np.ndarray:
        """Decisions made on the predicted costs."""
        return self.problem.solve(self.predict(X))

    def score(self, X: np.ndarray, C: np.ndarray) -> float:
        """Negative normalized regret of the decisions made on ``predict(X)`` against true costs ``C``."""
        C = as_2d("C", C, int(self.problem.d), owner="DFL.score")
        return -metrics.normalized_regret(self.problem, C, self.predict(X))

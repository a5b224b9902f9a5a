"""The comparison DFF is judged by: two-stage (backbone alone), end-to-end DFL, and DFF itself.

:class:`DFL` trains a predictor directly on a decision loss with no trust region (the usual
decision-focused learning). :func:`run_comparison` fits all methods on one chronological
split and fills a :class:`~dff_core.results.ComparisonResult` for reports and the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from dff_core import metrics
from dff_core.backbones import cross_fit_predict, resolve_backbone
from dff_core.correction import check_epsilon, check_hidden, make_mlp, torch_threads
from dff_core.dff import DFF, as_2d, check_training_params, chronological_split, resolve_loss, train_on_decision_loss
from dff_core.errors import DataError
from dff_core.losses import true_solutions
from dff_core.problems.base import OptProblem
from dff_core.results import METHODS, ComparisonResult, MethodResult


class _Predictor(nn.Module):
    """Standardised features -> network -> de-standardised costs."""

    def __init__(
        self, net: nn.Module, x_mean: np.ndarray, x_std: np.ndarray, c_mean: np.ndarray, c_std: np.ndarray
    ) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("x_mean", torch.as_tensor(x_mean))
        self.register_buffer("x_std", torch.as_tensor(x_std))
        self.register_buffer("c_mean", torch.as_tensor(c_mean))
        self.register_buffer("c_std", torch.as_tensor(c_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.x_mean) / self.x_std) * self.c_std + self.c_mean


def _std(A: np.ndarray) -> np.ndarray:
    s = A.std(axis=0)
    return np.where(s > 1e-12, s, 1.0)


class DFL:
    """End-to-end decision-focused learning: a linear model or MLP trained on a decision loss, no trust region.

    ``warm_start=True`` first fits the model on mean squared error (closed-form ridge regression on
    standardised features for ``model="linear"``, ``warm_epochs`` of full-batch Adam for ``"mlp"``),
    so training starts from a sound two-stage model. ``warm_alpha="auto"`` picks the ridge penalty
    by validation MSE (plain least squares overfits when features outnumber training rows, which
    would make the baseline look worse than it is). The epoch with the lowest validation regret is
    kept (epoch 0 = the warm start).
    Parameters otherwise mirror :class:`~dff_core.dff.DFF`.
    """

    def __init__(
        self,
        problem: OptProblem,
        model: str = "linear",
        loss: str | Callable[..., torch.Tensor] = "spo+",
        epochs: int = 50,
        lr: float = 1e-3,
        batch_size: int = 32,
        seed: int = 0,
        warm_start: bool = True,
        callback: Callable[[int, dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        hidden: Sequence[int] = (32, 32),
        val_fraction: float = 0.2,
        patience: int | None = 10,
        warm_epochs: int = 300,
        weight_decay: float = 0.0,
        num_threads: int | None = 1,
        warm_alpha: float | str = "auto",
    ) -> None:
        self.problem = problem
        self.model = model
        self.warm_alpha = warm_alpha
        self.loss = loss
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed
        self.val_fraction = val_fraction
        self.patience = patience
        self.warm_start = warm_start
        self.warm_epochs = warm_epochs
        self.weight_decay = weight_decay
        self.callback = callback
        self.should_stop = should_stop
        self.num_threads = num_threads

    def fit(
        self, X: np.ndarray, C: np.ndarray, X_val: np.ndarray | None = None, C_val: np.ndarray | None = None
    ) -> DFL:
        """Train on ``(X, C)``; without ``X_val``/``C_val`` the last ``val_fraction`` of rows validates."""
        with torch_threads(self.num_threads):
            return self._fit(X, C, X_val, C_val)

    def _fit(self, X: np.ndarray, C: np.ndarray, X_val: np.ndarray | None, C_val: np.ndarray | None) -> DFL:
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
            n_tr = chronological_split(X.shape[0], self.val_fraction, owner)
            X, C, Xv, Cv = X[:n_tr], C[:n_tr], X[n_tr:], C[n_tr:]
        if X.shape[0] == 0:
            raise DataError(f"{owner}: no training rows.")
        self.loss_name_, loss_fn = resolve_loss(self.loss)
        gen = torch.Generator().manual_seed(int(self.seed))
        hidden = () if self.model == "linear" else check_hidden(self.hidden)
        net = make_mlp(X.shape[1], d, hidden, generator=gen)
        module = _Predictor(net, X.mean(0), _std(X), C.mean(0), _std(C))
        if self.warm_start:
            self._warm_start(module, X, C, gen, Xv, Cv)
        self.history_, self.best_epoch_, self.cancelled_ = train_on_decision_loss(
            self.problem,
            module,
            (torch.from_numpy(np.ascontiguousarray(X)),),
            C,
            (torch.from_numpy(np.ascontiguousarray(Xv)),),
            Cv,
            loss_fn=loss_fn,
            generator=gen,
            epochs=int(self.epochs),
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            weight_decay=float(self.weight_decay),
            patience=self.patience,
            callback=self.callback,
            should_stop=self.should_stop,
            t_start=t_start,
        )
        self.module_ = module
        self.n_features_in_ = X.shape[1]
        self.n_train_, self.n_val_ = X.shape[0], Xv.shape[0]
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

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
            lin = module.net[-1]
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
        if not hasattr(self, "module_"):
            raise RuntimeError("DFL: call fit(X, C) before predict(X).")
        X = as_2d("X", X, self.n_features_in_, owner="DFL.predict")
        with torch.no_grad():
            return self.module_(torch.from_numpy(X)).numpy().copy()

    def decide(self, X: np.ndarray) -> np.ndarray:
        """Decisions made on the predicted costs."""
        return self.problem.solve(self.predict(X))


# ---------------------------------------------------------------------------------------- comparison
STAGES = ("backbone", "dff", "dfl", "evaluate")


def _metrics_row(
    problem: OptProblem, C_test: np.ndarray, W_test: np.ndarray, z_test: np.ndarray, C_hat: np.ndarray, mr: MethodResult
) -> dict[str, float]:
    shift = metrics.relative_shift(C_hat, mr.C_pred)
    finite = shift[np.isfinite(shift)]
    return {
        "regret_mean": float(mr.regret.mean()) if len(mr.regret) else float("nan"),
        "regret_median": float(np.median(mr.regret)) if len(mr.regret) else float("nan"),
        "normalized_regret": float(mr.regret.sum() / (np.abs(z_test).sum() + 1e-7)),
        "mse": metrics.mse(C_test, mr.C_pred),
        "mae": metrics.mae(C_test, mr.C_pred),
        "mape": metrics.mape(C_test, mr.C_pred),
        "mean_relative_shift": float(finite.mean()) if finite.size else 0.0,
        "max_relative_shift": float(shift.max()) if shift.size else 0.0,
        "min_cosine": float(metrics.cosine_similarity(mr.C_pred, C_hat).min()) if len(C_hat) else 1.0,
        "seconds": float(mr.seconds),
    }


def run_comparison(
    problem: OptProblem,
    X_train: np.ndarray,
    C_train: np.ndarray,
    X_val: np.ndarray | None,
    C_val: np.ndarray | None,
    X_test: np.ndarray,
    C_test: np.ndarray,
    *,
    backbone: Any = "ridge",
    epsilon: float = 0.2,
    loss: str = "spo+",
    methods: Sequence[str] = ("two_stage", "dff", "dfl"),
    seed: int = 0,
    epochs: int = 50,
    batch_size: int = 32,
    lr: float = 1e-3,
    cross_fit: bool = False,
    on_progress: Callable[[str, dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    times_test: Any = None,
    feature_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    config: dict[str, Any] | None = None,
    dff_kwargs: dict[str, Any] | None = None,
    dfl_kwargs: dict[str, Any] | None = None,
) -> ComparisonResult:
    """Fit the backbone, then DFF and end-to-end DFL, and score every method on the test set.

    * ``two_stage``: decisions on the backbone's predictions ``Ĉ`` (its ``seconds`` = backbone fit + predict).
    * ``dff``: :class:`~dff_core.dff.DFF` on the backbone's training predictions (out-of-fold when
      ``cross_fit=True``), early-stopped on the validation set; ``seconds`` excludes the backbone.
    * ``dfl``: :class:`DFL` (linear, warm-started from least squares) on the same loss, no trust region.

    ``backbone`` is a name from :data:`dff_core.backbones.BACKBONES` or an object with ``fit``/``predict``.
    ``on_progress(stage, info)`` reports each stage (``backbone``, ``dff``, ``dfl``, ``evaluate``);
    ``info`` holds ``epoch``, ``epochs`` and, for training stages, the epoch's metrics.
    ``should_stop()`` cancels training (the best epoch so far is kept; later methods are still scored).
    Shift and cosine in the metrics table are measured against the backbone's ``Ĉ``.
    """
    owner = "run_comparison"
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"{owner}: unknown method(s) {unknown}; choose from {', '.join(METHODS)}.")
    eps = check_epsilon(epsilon)
    d = int(problem.d)
    X_train = as_2d("X_train", X_train, owner=owner)
    p = X_train.shape[1]
    C_train = as_2d("C_train", C_train, d, X_train.shape[0], owner=owner)
    if (X_val is None) != (C_val is None):
        raise ValueError(f"{owner}: pass both X_val and C_val, or neither.")
    if X_val is not None:
        X_val = as_2d("X_val", np.asarray(X_val, dtype=np.float64).reshape(-1, p), p, owner=owner)
        C_val = as_2d("C_val", np.asarray(C_val, dtype=np.float64).reshape(-1, d), d, X_val.shape[0], owner=owner)
    X_test = as_2d("X_test", X_test, p, owner=owner)
    C_test = as_2d("C_test", C_test, d, X_test.shape[0], owner=owner)
    if X_test.shape[0] == 0:
        raise DataError(f"{owner}: the test set is empty; there is nothing to compare on.")

    def progress(stage: str, info: dict[str, Any]) -> None:
        if on_progress is not None:
            on_progress(stage, info)

    timings: dict[str, float] = {}
    results: dict[str, MethodResult] = {}
    W_test, z_test = true_solutions(problem, C_test)

    # --- backbone -------------------------------------------------------------------------------
    progress("backbone", {"epoch": 0, "epochs": 1, "status": "fitting"})
    t0 = time.perf_counter()
    bb = resolve_backbone(backbone, seed=seed)
    bb.fit(X_train, C_train)
    C_hat_test = as_2d("backbone predictions", bb.predict(X_test), d, X_test.shape[0], owner=owner)
    C_hat_val = None if X_val is None else as_2d("backbone predictions", bb.predict(X_val), d, owner=owner)
    t_bb = time.perf_counter() - t0
    need_train_pred = "dff" in methods
    C_hat_train = None
    if need_train_pred:
        t1 = time.perf_counter()
        if cross_fit:
            C_hat_train = cross_fit_predict(resolve_backbone(backbone, seed=seed), X_train, C_train, seed=seed)
        else:
            C_hat_train = bb.predict(X_train)
        C_hat_train = as_2d("backbone predictions", C_hat_train, d, X_train.shape[0], owner=owner)
        timings["backbone_train_predictions"] = time.perf_counter() - t1
    timings["backbone"] = t_bb
    progress("backbone", {"epoch": 1, "epochs": 1, "status": "done", "seconds": t_bb})

    def score(name: str, C_pred: np.ndarray, seconds: float, **kw: Any) -> MethodResult:
        W = problem.solve(C_pred)
        r = metrics.regret(problem, C_test, C_pred, W_true=W_test, W_pred=W)
        return MethodResult(name=name, C_pred=C_pred, W=W, regret=r, seconds=seconds, **kw)

    if "two_stage" in methods:
        results["two_stage"] = score("two_stage", C_hat_test, t_bb, model=bb)

    # --- DFF ------------------------------------------------------------------------------------
    if "dff" in methods:
        t0 = time.perf_counter()
        dff = DFF(
            problem,
            epsilon=eps,
            loss=loss,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            callback=lambda e, m: progress("dff", {**m, "epoch": e}),
            should_stop=should_stop,
            **(dff_kwargs or {}),
        )
        if X_val is not None:
            dff.fit(X_train, C_hat_train, C_train, X_val, C_hat_val, C_val)
        else:
            dff.fit(X_train, C_hat_train, C_train)
        timings["dff"] = time.perf_counter() - t0
        C_dff = dff.predict(X_test, C_hat_test)
        results["dff"] = score(
            "dff", C_dff, timings["dff"], history=dff.history_, factors=dff.factors(X_test, C_hat_test), model=dff
        )

    # --- end-to-end DFL -------------------------------------------------------------------------
    if "dfl" in methods:
        t0 = time.perf_counter()
        dfl = DFL(
            problem,
            loss=loss,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            callback=lambda e, m: progress("dfl", {**m, "epoch": e}),
            should_stop=should_stop,
            **(dfl_kwargs or {}),
        )
        dfl.fit(X_train, C_train, X_val, C_val)
        timings["dfl"] = time.perf_counter() - t0
        results["dfl"] = score("dfl", dfl.predict(X_test), timings["dfl"], history=dfl.history_, model=dfl)

    # --- evaluate -------------------------------------------------------------------------------
    progress("evaluate", {"epoch": 0, "epochs": 1, "status": "scoring"})
    t0 = time.perf_counter()
    order = [m for m in METHODS if m in results]
    table = pd.DataFrame(
        [_metrics_row(problem, C_test, W_test, z_test, C_hat_test, results[m]) for m in order],
        index=pd.Index(order, name="method"),
    )
    n = X_test.shape[0]
    times = None if times_test is None else pd.DatetimeIndex(times_test)
    if times is not None and len(times) != n:
        raise DataError(f"{owner}: times_test has {len(times)} entries for {n} test instances.")
    pieces = []
    for m in order:
        r = results[m]
        pieces.append(
            pd.DataFrame(
                {
                    "instance": np.arange(n),
                    "time": times if times is not None else pd.NaT,
                    "method": m,
                    "regret": r.regret,
                    "objective": problem.objective(C_test, r.W),
                    "optimal_objective": z_test,
                }
            )
        )
    per_instance = pd.concat(pieces, ignore_index=True)
    timings["evaluate"] = time.perf_counter() - t0
    progress("evaluate", {"epoch": 1, "epochs": 1, "status": "done", "seconds": timings["evaluate"]})

    cfg = {
        "backbone": backbone if isinstance(backbone, str) else type(backbone).__name__,
        "epsilon": eps,
        "loss": loss,
        "methods": list(methods),
        "seed": int(seed),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "cross_fit": bool(cross_fit),
        **(config or {}),
    }
    return ComparisonResult(
        problem=problem,
        X_test=X_test,
        C_test=C_test,
        W_test=W_test,
        z_test=z_test,
        C_hat=C_hat_test,
        methods=results,
        metrics=table,
        per_instance=per_instance,
        times=times,
        feature_names=list(feature_names) if feature_names is not None else [f"x{j}" for j in range(p)],
        output_names=list(output_names) if output_names is not None else [f"c{j}" for j in range(d)],
        config=cfg,
        timings=timings,
        n_train=int(X_train.shape[0]),
        n_val=0 if X_val is None else int(X_val.shape[0]),
    )

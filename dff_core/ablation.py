"""The trust-region ablation: DFF's correction network with the bound removed.

:class:`DFFUnbounded` is trained exactly like :class:`~dff_core.dff.DFF` but its factor may take
any positive value, so a comparison can show regret and prediction shift side by side for DFF at
each ε and for ε = ∞ (``"dff_unbounded"`` in :func:`dff_core.comparison.run_comparison`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from dff_core import metrics, selection
from dff_core.correction import make_mlp, torch_threads
from dff_core.ensemble import check_members, fit_members
from dff_core.errors import DataError
from dff_core.losses import resolve_loss
from dff_core.problems.base import OptProblem
from dff_core.progress import ProgressCallback
from dff_core.selection import LR_GRID, check_auto_or_number, copy_fitted, fit_selected, is_auto, train_val_rows
from dff_core.training import fit_module, store_params
from dff_core.validation import as_2d, check_hidden, check_training_params


def _std(A: np.ndarray) -> np.ndarray:
    s = A.std(axis=0)
    return np.where(s > 1e-12, s, 1.0)


class _UnboundedCorrection(nn.Module):
    """DFF's correction network with the trust region removed: ``c̃ = exp(hθ(x)) ⊙ ĉ``.

    Same standardisation, hidden layers, initialisation (hidden weights drawn from the generator in
    the same order as :class:`~dff_core.correction.BiasCorrection`, last layer zero, so an untrained
    module returns ``ĉ``) and inputs; only the map from ``hθ`` to the factor differs: ``exp`` keeps
    the factor positive (predictions keep their sign, as under DFF) but lets it reach any size.
    """

    x_mean: torch.Tensor
    x_std: torch.Tensor
    net: nn.Sequential

    def __init__(self, n_features: int, n_outputs: int, hidden: Sequence[int], generator: torch.Generator) -> None:
        super().__init__()
        self.register_buffer("x_mean", torch.zeros(n_features, dtype=torch.float64))
        self.register_buffer("x_std", torch.ones(n_features, dtype=torch.float64))
        self.net = make_mlp(n_features, n_outputs, hidden, generator=generator, zero_last=True)

    def fit_scaler(self, X: np.ndarray) -> None:
        with torch.no_grad():
            self.x_mean.copy_(torch.from_numpy(X.mean(0)))
            self.x_std.copy_(torch.from_numpy(_std(X)))

    def factors(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.net((x - self.x_mean) / self.x_std))

    def forward(self, x: torch.Tensor, c_hat: torch.Tensor) -> torch.Tensor:
        return self.factors(x) * c_hat


class DFFUnbounded(BaseEstimator):
    """DFF without the trust region, for the ablation that shows what the bound does.

    Learns ``c̃ = φθ(x) ⊙ ĉ`` with ``φθ(x) = exp(hθ(x))``: the same network, initialisation
    (``φ ≡ 1`` at the start), inputs, loss, training loop and best-epoch rule as
    :class:`~dff_core.dff.DFF`, but the factor may take any positive value, so nothing bounds how
    far the predictions move from the backbone's. Parameters mirror :class:`~dff_core.dff.DFF`
    (no ``epsilon``; ``lr="auto"`` chooses the step size like ``DFF(lr="auto")``; ``n_members`` fits are averaged).
    Attributes after ``fit`` as DFF's (``module_``, ``history_``, ``best_epoch_``, ``lr_``, ``selection_``...).
    """

    def __init__(
        self,
        problem: OptProblem,
        loss: str | Callable[..., torch.Tensor] = "spo+",
        hidden: Sequence[int] = (32, 32, 32),
        epochs: int = selection.DEFAULT_EPOCHS,
        lr: float | str = selection.DEFAULT_LR,
        batch_size: int = 32,
        seed: int = 0,
        val_fraction: float = 0.2,
        patience: int | None = selection.DEFAULT_PATIENCE,
        weight_decay: float = 0.0,
        num_threads: int | None = 1,
        n_members: int = selection.DEFAULT_MEMBERS,
    ) -> None:
        store_params(self, locals())

    def fit(
        self,
        X: np.ndarray,
        C_hat: np.ndarray,
        C: np.ndarray,
        X_val: np.ndarray | None = None,
        C_hat_val: np.ndarray | None = None,
        C_val: np.ndarray | None = None,
        *,
        callback: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> DFFUnbounded:
        """Learn the unbounded correction from ``X``, backbone predictions ``C_hat`` and true costs ``C``
        (validation rows as in :meth:`DFF.fit <dff_core.dff.DFF.fit>`)."""
        owner = "DFFUnbounded.fit"
        check_auto_or_number("DFFUnbounded", "lr", self.lr, "1e-3")
        if check_members("DFFUnbounded", self.n_members) > 1:
            kw = {"callback": callback, "should_stop": should_stop}
            return fit_members(self, lambda one: one.fit(X, C_hat, C, X_val, C_hat_val, C_val, **kw), should_stop)
        given = [a is not None for a in (X_val, C_hat_val, C_val)]
        if any(given) and not all(given):
            raise ValueError(f"{owner}: pass all of X_val, C_hat_val and C_val, or none of them.")
        val = (X_val, C_hat_val) if all(given) else None
        d = int(self.problem.d)
        (X, C_hat, C), (Xv, Chv, Cv), hint = train_val_rows(owner, (X, C_hat), C, val, C_val, d, self.val_fraction)
        if is_auto(self.lr):
            t_start = time.perf_counter()
            model, table, chosen = fit_selected(
                self,
                [{"lr": lr} for lr in LR_GRID],
                (X, C_hat, C),
                (Xv, Chv),
                Cv,
                owner=owner,
                argument="lr",
                hint=hint,
                fit_kwargs={"callback": callback},
                should_stop=should_stop,
            )
            copy_fitted(self, model)
            self.lr_, self.selection_ = float(chosen["lr"]), table
            self.fit_seconds_ = time.perf_counter() - t_start
            return self
        with torch_threads(self.num_threads):
            self._fit(X, C_hat, C, Xv, Chv, Cv, callback, should_stop)
        self.lr_, self.selection_ = float(self.lr), None
        return self

    def _fit(
        self,
        X: np.ndarray,
        C_hat: np.ndarray,
        C: np.ndarray,
        Xv: np.ndarray,
        Chv: np.ndarray,
        Cv: np.ndarray,
        callback: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        t_start = time.perf_counter()
        check_training_params("DFFUnbounded", self.epochs, self.lr, self.batch_size, self.patience)
        if X.shape[0] == 0:
            raise DataError("DFFUnbounded.fit: no training rows.")
        loss = resolve_loss(self.loss)
        gen = torch.Generator().manual_seed(int(self.seed))
        module = _UnboundedCorrection(X.shape[1], int(self.problem.d), check_hidden(self.hidden), gen)
        module.fit_scaler(X)
        fit_module(
            self, module, ((X, C_hat), C), ((Xv, Chv), Cv), loss=loss, generator=gen, method="dff_unbounded",
            callback=callback, should_stop=should_stop, t_start=t_start,
        )  # fmt: skip

    def _inputs(self, X: np.ndarray, C_hat: np.ndarray, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
        check_is_fitted(self, "module_", msg="DFFUnbounded: call fit(X, C_hat, C) before predicting.")
        X = as_2d("X", X, self.n_features_in_, owner=owner)
        C_hat = as_2d("C_hat", C_hat, int(self.problem.d), X.shape[0], owner=owner)
        return torch.from_numpy(X), torch.from_numpy(C_hat)

    def predict(self, X: np.ndarray, C_hat: np.ndarray) -> np.ndarray:
        """Corrected costs ``exp(hθ(X)) ⊙ Ĉ``, shape ``(n, d)``."""
        x, ch = self._inputs(X, C_hat, "DFFUnbounded.predict")
        with torch.no_grad():
            return self.module_(x, ch).numpy().copy()

    def factors(self, X: np.ndarray) -> np.ndarray:
        """Correction factors ``exp(hθ(X))`` (any positive value), shape ``(n, d)``."""
        check_is_fitted(self, "module_", msg="DFFUnbounded: call fit(X, C_hat, C) before predicting.")
        X = as_2d("X", X, self.n_features_in_, owner="DFFUnbounded.factors")
        with torch.no_grad():
            return self.module_.factors(torch.from_numpy(X)).numpy().copy()

    def score(self, X: np.ndarray, C_hat: np.ndarray, C: np.ndarray) -> float:
        """Negative normalized regret of the corrected decisions (higher is better)."""
        C = as_2d("C", C, int(self.problem.d), owner="DFFUnbounded.score")
        return -metrics.normalized_regret(self.problem, C, self.predict(X, C_hat))

"""Ready-made backbones: the accuracy-trained predictors whose outputs ``ĉ`` DFF corrects.

A backbone is anything with ``fit(X, C) -> self`` and ``predict(X) -> (n, d) array``. DFF
never differentiates it, so a tree ensemble, a historical profile or a wrapped simulator works
as well as a linear model. The ready-made ones are scikit-learn regressors (``get_params``,
``clone``, ``score`` = R²), so any scikit-learn regressor works in their place too.
:func:`make_backbone` builds one by name; :func:`cross_fit_predict` gives honest (forward-chained,
out-of-sample) training predictions for flexible backbones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from sklearn import linear_model
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from dff_core.correction import make_mlp, torch_threads
from dff_core.errors import DataError
from dff_core.validation import as_2d, check_hidden


@runtime_checkable
class Backbone(Protocol):
    """The protocol every backbone follows (scikit-learn style)."""

    def fit(self, X: np.ndarray, C: np.ndarray) -> Backbone: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def _xy(owner: str, X: Any, C: Any) -> tuple[np.ndarray, np.ndarray]:
    """Training inputs as 2-D float arrays with matching, non-zero row counts."""
    X = as_2d("X", X, owner=owner)
    C = as_2d("C", C, n_rows=X.shape[0], owner=owner)
    if X.shape[0] == 0:
        raise DataError(f"{owner}: X has no rows; a backbone needs training instances.")
    return X, C


class _Fitted(RegressorMixin, BaseEstimator):
    """Shared base of the ready-made backbones: a scikit-learn regressor that remembers its training
    shapes and validates prediction inputs."""

    def _set_shapes(self, X: np.ndarray, C: np.ndarray) -> None:
        self.n_features_in_ = int(X.shape[1])
        self.n_outputs_ = int(C.shape[1])

    def _check_predict(self, X: Any) -> np.ndarray:
        owner = f"{type(self).__name__}.predict"
        check_is_fitted(self, "n_outputs_", msg=f"{type(self).__name__}: call fit(X, C) before predict(X).")
        X = as_2d("X", X, owner=owner)
        if X.shape[1] != self.n_features_in_:
            raise DataError(
                f"{owner}: X has {X.shape[1]} columns but the backbone was fitted on {self.n_features_in_} features."
            )
        return X


#: Ridge penalties tried by ``LinearBackbone(alpha="auto")`` (on standardised features).
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-2, 6, 17))


def blocked_ridge_cv(Z: np.ndarray, T: np.ndarray, alphas: Sequence[float], n_splits: int = 5) -> np.ndarray:
    """Validation squared error of ridge regression for every penalty, over contiguous row blocks.

    One SVD per fold gives the whole regularisation path, so all penalties cost about one fit.
    Each fold centres its own training rows (the intercept is not penalised).
    """
    err = np.zeros(len(alphas))
    for keep, block in KFold(n_splits).split(Z):
        mz, mt = Z[keep].mean(0), T[keep].mean(0)
        U, S, Vt = np.linalg.svd(Z[keep] - mz, full_matrices=False)
        UtT = U.T @ (T[keep] - mt)
        ZvV = (Z[block] - mz) @ Vt.T
        for i, a in enumerate(alphas):
            pred = ZvV @ ((S / (S**2 + a))[:, None] * UtT) + mt
            err[i] += float(((pred - T[block]) ** 2).sum())
    return err


class LinearBackbone(_Fitted):
    """Least squares from features to costs; ``alpha > 0`` adds a ridge penalty (``alpha = 0`` is OLS).

    ``alpha="auto"`` standardises the features and picks the penalty from :data:`RIDGE_ALPHAS` by
    5-fold cross-validation over *contiguous blocks* of rows (rows are assumed to be in time order);
    the chosen value is ``alpha_``. Blocks matter: with readings every few minutes, leave-one-out
    validates each row against its near-identical neighbours and picks far too small a penalty.
    Use it when features are many or correlated (lagged readings of every sensor), where a fixed
    penalty either overfits or underfits.
    """

    def __init__(self, alpha: float | str = 0.0) -> None:
        self.alpha = alpha

    def fit(self, X: np.ndarray, C: np.ndarray) -> LinearBackbone:
        X, C = _xy("LinearBackbone.fit", X, C)
        if self.alpha == "auto":
            scaler = StandardScaler().fit(X)
            if len(X) >= 10:
                # One BLAS thread: these SVDs are small, and on a busy machine OpenBLAS's
                # spinning worker threads made each one 20x slower.
                with threadpool_limits(1, user_api="blas"):
                    err = blocked_ridge_cv(scaler.transform(X), C, RIDGE_ALPHAS, n_splits=5)
                self.alpha_ = float(RIDGE_ALPHAS[int(np.argmin(err))])
            else:
                self.alpha_ = 1.0
            self.model_ = make_pipeline(scaler, Ridge(alpha=self.alpha_))
            self.model_.fit(X, C)
        else:
            try:
                alpha = float(self.alpha)
            except (TypeError, ValueError):
                alpha = float("nan")
            if not alpha >= 0:
                raise ValueError(
                    f"LinearBackbone: alpha must be 'auto' or a number >= 0 (0 = ordinary least squares); "
                    f"got {self.alpha!r}."
                )
            self.model_ = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
            self.model_.fit(X, C)
            self.alpha_ = alpha
        self._set_shapes(X, C)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check_predict(X)
        return np.asarray(self.model_.predict(X), dtype=np.float64).reshape(len(X), self.n_outputs_)


class RandomForestBackbone(_Fitted):
    """scikit-learn random forest (multi-output natively); flexible, so prefer :func:`cross_fit_predict`."""

    def __init__(
        self, n_estimators: int = 100, max_depth: int | None = None, min_samples_leaf: int = 1, seed: int = 0
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.seed = seed

    def fit(self, X: np.ndarray, C: np.ndarray) -> RandomForestBackbone:
        X, C = _xy("RandomForestBackbone.fit", X, C)
        self.model_ = RandomForestRegressor(
            n_estimators=int(self.n_estimators),
            max_depth=self.max_depth,
            min_samples_leaf=int(self.min_samples_leaf),
            random_state=int(self.seed),
            n_jobs=1,
        ).fit(X, C)
        self._set_shapes(X, C)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check_predict(X)
        return np.asarray(self.model_.predict(X), dtype=np.float64).reshape(len(X), self.n_outputs_)


class GradientBoostingBackbone(_Fitted):
    """One scikit-learn ``HistGradientBoostingRegressor`` per cost coefficient (an XGBoost-like, non-differentiable
    backbone). Kept fast with few, shallow boosting rounds; constant outputs are predicted as constants.
    """

    def __init__(
        self, max_iter: int = 100, learning_rate: float = 0.1, max_leaf_nodes: int = 15, seed: int = 0
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.seed = seed

    def fit(self, X: np.ndarray, C: np.ndarray) -> GradientBoostingBackbone:
        X, C = _xy("GradientBoostingBackbone.fit", X, C)
        with threadpool_limits(1):  # many tiny boosting fits: threads only add synchronisation cost
            self._fit_columns(X, C)
        self._set_shapes(X, C)
        return self

    def _fit_columns(self, X: np.ndarray, C: np.ndarray) -> None:
        self.models_: list[Any] = []
        for j in range(C.shape[1]):
            col = C[:, j]
            if np.ptp(col) == 0:
                self.models_.append(float(col[0]))
                continue
            m = HistGradientBoostingRegressor(
                max_iter=int(self.max_iter),
                learning_rate=float(self.learning_rate),
                max_leaf_nodes=int(self.max_leaf_nodes),
                early_stopping=False,
                random_state=int(self.seed),
            )
            self.models_.append(m.fit(X, col))

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check_predict(X)
        out = np.empty((len(X), self.n_outputs_))
        with threadpool_limits(1):
            for j, m in enumerate(self.models_):
                out[:, j] = m if isinstance(m, float) else m.predict(X)
        return out


class MLPBackbone(_Fitted):
    """A torch ReLU MLP trained on mean squared error (inputs and outputs standardised; seeded, full-batch Adam).

    ``num_threads`` torch threads are used while fitting (restored afterwards; ``None`` keeps torch's setting).
    """

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        epochs: int = 300,
        lr: float = 1e-2,
        weight_decay: float = 1e-4,
        seed: int = 0,
        num_threads: int | None = 1,
    ) -> None:
        self.hidden = hidden
        self.num_threads = num_threads
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed

    def fit(self, X: np.ndarray, C: np.ndarray) -> MLPBackbone:
        with torch_threads(self.num_threads):
            return self._fit(X, C)

    def _fit(self, X: np.ndarray, C: np.ndarray) -> MLPBackbone:
        X, C = _xy("MLPBackbone.fit", X, C)
        gen = torch.Generator().manual_seed(int(self.seed))
        self.x_mean_, self.x_std_ = X.mean(0), np.where(X.std(0) > 1e-12, X.std(0), 1.0)
        self.c_mean_, self.c_std_ = C.mean(0), np.where(C.std(0) > 1e-12, C.std(0), 1.0)
        Xt = torch.from_numpy((X - self.x_mean_) / self.x_std_)
        Ct = torch.from_numpy((C - self.c_mean_) / self.c_std_)
        self.net_ = make_mlp(X.shape[1], C.shape[1], check_hidden(self.hidden), generator=gen)
        opt = torch.optim.Adam(self.net_.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        for _ in range(int(self.epochs)):
            opt.zero_grad(set_to_none=True)
            loss = ((self.net_(Xt) - Ct) ** 2).mean()
            loss.backward()
            opt.step()
        self.net_.eval()
        self._set_shapes(X, C)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check_predict(X)
        with torch.no_grad():
            z = self.net_(torch.from_numpy((X - self.x_mean_) / self.x_std_)).numpy()
        return z * self.c_std_ + self.c_mean_


class HistoricalProfileBackbone(_Fitted):
    """Mean of ``C`` per value of one feature column (e.g. a slot-of-week id): a simulation-like black box.

    Keys seen in training predict their mean cost vector; unseen keys fall back to the overall mean.
    """

    def __init__(self, key_column: int = 0) -> None:
        self.key_column = key_column

    def fit(self, X: np.ndarray, C: np.ndarray) -> HistoricalProfileBackbone:
        X, C = _xy("HistoricalProfileBackbone.fit", X, C)
        k = int(self.key_column)
        if not -X.shape[1] <= k < X.shape[1]:
            raise ValueError(
                f"HistoricalProfileBackbone: key_column={self.key_column} is out of range for X with "
                f"{X.shape[1]} columns."
            )
        keys, inv = np.unique(X[:, k], return_inverse=True)
        sums = np.zeros((len(keys), C.shape[1]))
        np.add.at(sums, inv, C)
        self.keys_ = keys
        self.profiles_ = sums / np.bincount(inv, minlength=len(keys))[:, None]
        self.global_mean_ = C.mean(0)
        self._set_shapes(X, C)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check_predict(X)
        key = X[:, int(self.key_column)]
        pos = np.clip(np.searchsorted(self.keys_, key), 0, len(self.keys_) - 1)
        hit = self.keys_[pos] == key
        return np.where(hit[:, None], self.profiles_[pos], self.global_mean_[None, :])


class CallableBackbone(_Fitted):
    """Wrap any ``f(X) -> C`` (a simulator, an external model's API) as a backbone; ``fit`` only checks shapes."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray]) -> None:
        if not callable(f):
            raise ValueError(f"CallableBackbone: f must be callable as f(X) -> C; got {type(f).__name__}.")
        self.f = f

    def fit(self, X: np.ndarray, C: np.ndarray) -> CallableBackbone:
        X, C = _xy("CallableBackbone.fit", X, C)
        self._set_shapes(X, C)
        self.predict(X[:1])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check_predict(X)
        out = np.asarray(self.f(X), dtype=np.float64)
        if out.shape != (len(X), self.n_outputs_):
            raise DataError(
                f"CallableBackbone: f(X) returned shape {out.shape}; expected ({len(X)}, {self.n_outputs_}) "
                "(one row of costs per row of X)."
            )
        return out


#: Backbone names accepted by :func:`make_backbone`.
BACKBONES: dict[str, Callable[..., Any]] = {
    "linear": lambda seed=0, **kw: LinearBackbone(**{"alpha": 0.0, **kw}),
    "ridge": lambda seed=0, **kw: LinearBackbone(**{"alpha": "auto", **kw}),
    "random_forest": lambda seed=0, **kw: RandomForestBackbone(seed=seed, **kw),
    "gradient_boosting": lambda seed=0, **kw: GradientBoostingBackbone(seed=seed, **kw),
    "mlp": lambda seed=0, **kw: MLPBackbone(seed=seed, **kw),
    "historical_profile": lambda seed=0, **kw: HistoricalProfileBackbone(**kw),
}


def make_backbone(name: str, seed: int = 0, **kw: Any) -> Any:
    """Build a backbone by name (``linear``, ``ridge``, ``random_forest``, ``gradient_boosting``, ``mlp``,
    ``historical_profile``); extra keywords go to its constructor (e.g. ``alpha=``, ``key_column=``).
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; valid names: {', '.join(BACKBONES)}.")
    return BACKBONES[key](seed=seed, **kw)


def resolve_backbone(backbone: Any, seed: int = 0) -> Any:
    """A backbone from a name or an object with ``fit``/``predict`` (returned as is)."""
    if isinstance(backbone, str):
        return make_backbone(backbone, seed=seed)
    if not (hasattr(backbone, "fit") and hasattr(backbone, "predict")):
        raise ValueError(
            f"backbone must be a name ({', '.join(BACKBONES)}) or an object with fit(X, C) and predict(X); "
            f"got {type(backbone).__name__}."
        )
    return backbone


#: Cross-fitting schemes of :func:`cross_fit_predict`.
CROSS_FIT_SCHEMES = ("forward", "kfold")


def cross_fit_predict(
    backbone: Any,
    X: np.ndarray,
    C: np.ndarray,
    n_splits: int = 5,
    time_ordered: bool = True,
    seed: int = 0,
    scheme: str = "forward",
) -> np.ndarray:
    """Honest (out-of-sample) predictions of ``backbone`` for its own training set.

    Use it for flexible backbones (random forests, boosting, large MLPs) that nearly memorise
    their training data: their in-sample predictions are far better than their real ones, so a
    correction learned from them would learn the wrong errors. Rows are cut into ``n_splits``
    contiguous blocks (scikit-learn's ``KFold`` without shuffling), each predicted by a clone of
    the backbone (``sklearn.base.clone``; a deep copy for objects that are not scikit-learn
    estimators). The passed backbone is not modified.

    * ``scheme="forward"`` (forward chaining, time-respecting): block ``b`` is predicted by a model
      fitted on blocks ``0..b-1`` only, i.e. on earlier rows, as the final backbone will predict the
      future. The first block has no earlier rows, so it gets no honest prediction: its rows are
      ``NaN`` and a corrector is trained on the other rows (``np.isfinite(out).all(axis=1)``).
    * ``scheme="kfold"``: every block is predicted by a model fitted on all *other* blocks, later
      ones included. Not time-respecting (an earlier block is predicted from later data), but every
      row gets a prediction and each model sees ``(n_splits - 1) / n_splits`` of the rows.

    ``time_ordered=True`` keeps the given (chronological) order; otherwise rows are shuffled with
    ``seed`` first (for exchangeable data). A simple backbone (linear, historical profile) rarely
    needs cross-fitting at all.
    """
    X, C = _xy("cross_fit_predict", X, C)
    n = X.shape[0]
    if scheme not in CROSS_FIT_SCHEMES:
        raise ValueError(f"cross_fit_predict: scheme must be one of {CROSS_FIT_SCHEMES}; got {scheme!r}.")
    if int(n_splits) != n_splits or n_splits < 2:
        raise ValueError(f"cross_fit_predict: n_splits must be an integer >= 2; got {n_splits!r}.")
    if n < n_splits:
        raise DataError(
            f"cross_fit_predict: {n} rows cannot be split into n_splits={n_splits} blocks; "
            f"use n_splits <= {n} (and at least 2)."
        )
    order = np.arange(n) if time_ordered else np.random.default_rng(seed).permutation(n)
    out = np.full_like(C, np.nan)
    blocks = [order[pos] for _, pos in KFold(int(n_splits)).split(order)]
    for b, fold in enumerate(blocks):
        if scheme == "forward":
            if b == 0:
                continue
            fit_rows = np.sort(np.concatenate(blocks[:b]))
        else:
            fit_rows = np.sort(np.concatenate([blk for k, blk in enumerate(blocks) if k != b]))
        model = clone(backbone, safe=False).fit(X[fit_rows], C[fit_rows])
        out[fold] = np.asarray(model.predict(X[fold]), dtype=np.float64).reshape(len(fold), C.shape[1])
    return out


def dfl_model_class(backbone: Any) -> str | None:
    """The :class:`~dff_core.baselines.DFL` model class that trains ``backbone``'s own model on a decision
    loss: ``"linear"`` for linear backbones (:class:`LinearBackbone`, scikit-learn linear models),
    ``"mlp"`` for :class:`MLPBackbone`, ``None`` when the backbone is not differentiable (trees,
    profiles, callables)."""
    if isinstance(backbone, str):
        key = str(backbone).strip().lower().replace("-", "_").replace(" ", "_")
        return {"linear": "linear", "ridge": "linear", "mlp": "mlp"}.get(key)
    if isinstance(backbone, LinearBackbone):
        return "linear"
    if isinstance(backbone, MLPBackbone):
        return "mlp"
    est = backbone.steps[-1][1] if isinstance(backbone, Pipeline) else backbone
    if type(est).__module__.startswith(linear_model.__name__):
        return "linear"
    return None

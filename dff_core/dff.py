"""DFF: decision-focused fine-tuning of any backbone's predictions within a trust region.

The estimator learns only the small network ``hθ`` of :class:`~dff_core.correction.BiasCorrection`
on a decision loss (SPO+ by default). The backbone is never touched, so it may be a tree
ensemble, a historical profile or a simulator: DFF needs only its predictions ``ĉ``.

Training is built for speed: the true costs are solved once per ``fit`` (train and validation),
each mini-batch makes one batched solve, and nothing is rebuilt per batch
(:func:`~dff_core.training.train_on_decision_loss`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from dff_core import metrics
from dff_core.correction import BiasCorrection, torch_threads
from dff_core.data.io import regular_file_problem
from dff_core.ensemble import MAX_MEMBERS, MemberMean, check_members, fit_members
from dff_core.errors import DataError
from dff_core.losses import resolve_loss
from dff_core.problems.base import OptProblem
from dff_core.progress import ProgressCallback
from dff_core.selection import (
    AUTO,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_MEMBERS,
    DEFAULT_PATIENCE,
    EPSILON_GRID,
    LR_GRID,
    check_auto_or_number,
    copy_fitted,
    fit_selected,
    is_auto,
    train_val_rows,
)
from dff_core.training import fit_module, holdout_rows, store_params
from dff_core.validation import as_2d, check_epsilon, check_hidden, check_training_params

#: ``format`` metadata of files written by :meth:`DFF.save`.
FILE_FORMAT = "dff-studio/DFF/1"
#: Most hidden layers :meth:`DFF.load` accepts from a file's metadata (DFF's networks have a few).
MAX_HIDDEN_LAYERS = 64


def pack_targets(C_hat: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``[C_hat, C]`` side by side, shape ``(n, 2d)``: DFF's two targets as one ``y`` for scikit-learn tools.

    ``GridSearchCV(DFF(problem), {"epsilon": [...]}).fit(X, pack_targets(C_hat, C))`` then splits
    rows of both together and scores each candidate with :meth:`DFF.score`.
    """
    C_hat, C = np.asarray(C_hat, dtype=np.float64), np.asarray(C, dtype=np.float64)
    if C_hat.shape != C.shape or C_hat.ndim != 2:
        raise DataError(f"pack_targets: C_hat {C_hat.shape} and C {C.shape} must be 2-D arrays of the same shape.")
    return np.hstack([C_hat, C])


#: ``fit``'s data as ``(X, C_hat, C, (X_val, C_hat_val) or None, C_val)``, packed targets already split.
_Rows = tuple[Any, Any, Any, tuple[Any, Any] | None, Any]


def _targets(name: str, C_hat: Any, C: Any, d: int, owner: str) -> tuple[Any, Any]:
    """``(C_hat, C)`` as given, or split from packed targets when ``C`` is ``None``."""
    if C is not None:
        return C_hat, C
    Y = as_2d(name, C_hat, owner=owner)
    if Y.shape[1] != 2 * d:
        raise DataError(
            f"{owner}: without {name.replace('C_hat', 'C')!r}, argument {name!r} must be packed targets "
            f"[C_hat, C] with {2 * d} columns (see pack_targets); got {Y.shape[1]}."
        )
    return Y[:, :d], Y[:, d:]


def _builtin(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


class DFF(BaseEstimator):
    """Decision-focused fine-tuning of a backbone's cost predictions (Yang, Liang et al., AAAI 2025).

    Learns ``c̃ = φθ(x) ⊙ ĉ`` with ``φθ(x) ∈ [1 − ε, 1 + ε]^d`` by minimising a decision loss,
    keeping the epoch with the lowest validation regret. Epoch 0 (``φ ≡ 1``, the backbone itself)
    is a candidate, so on the validation data DFF is never worse than its backbone.

    A scikit-learn estimator: ``__init__`` only stores the parameters below, so ``get_params``,
    ``set_params`` and ``sklearn.base.clone`` work. DFF has two targets, the backbone's predictions
    ``C_hat`` and the true costs ``C``: pass them as ``fit(X, C_hat, C)``, or packed side by side as
    one ``y = pack_targets(C_hat, C)`` with ``fit(X, y)`` / ``score(X, y)``, which is what
    scikit-learn's model selection passes (e.g. ``GridSearchCV`` over ``epsilon``; the score is
    the negative normalized regret, higher is better).

    Parameters
    ----------
    problem: the decision problem (``problem.solve`` is called once per mini-batch).
    epsilon: trust-region radius in (0, 1): each prediction moves by at most ``epsilon·100%``; ``"auto"`` (the default)
        chooses it from :data:`~dff_core.selection.EPSILON_GRID` on validation rows that did not choose the
        epoch (the earlier half of the validation rows picks each candidate's epoch, the later half compares
        the candidates; see :mod:`dff_core.selection`), then refits the winner. Needs at least 4 validation rows.
    loss: decision loss name (``"spo+"``, ``"pfyl"``, ``"nce"``, ``"dbb"``, ``"mse"``), a
        :class:`~dff_core.losses.DecisionLoss`, or a callable ``loss(problem, c_pred, c_true, w_true, z_true)``.
    hidden: hidden widths of ``hθ``.
    epochs, lr, batch_size, weight_decay: Adam training settings; ``lr="auto"`` chooses the step size from
        :data:`~dff_core.selection.LR_GRID` the same way (jointly with ε when both are ``"auto"``).
    seed: seeds initial weights, shuffling and random losses (a ``torch.Generator``; global RNG untouched).
    val_fraction: share of the LAST training rows held out (chronologically) when no validation set is given.
    patience: stop after this many epochs without a better validation regret (``None``: never).
    use_c_hat: also feed ``ĉ`` to ``hθ``.
    num_threads: torch threads while fitting (restored afterwards; ``None`` keeps torch's setting). One thread is
        fastest for these small networks.
    n_members: fits averaged (:mod:`dff_core.ensemble`): seeds ``seed, seed + 1, …``; the first chooses ε and the
        step size when they are ``"auto"``, the others reuse them. The mean of factors in ``[1 − ε, 1 + ε]`` stays
        there, so the trust region holds. ``1`` is a single fit (with ε ``"auto"`` about 60% of five's time: the
        extra members skip the selection; BENCHMARKS.md).

    Attributes after ``fit``: ``module_`` (the trained :class:`BiasCorrection`, or the
    :class:`~dff_core.ensemble.MemberMean` of ``n_members_`` of them), ``history_``
    (``epoch``, ``train_loss``, ``val_regret``, ``val_normalized_regret``, ``seconds``),
    ``best_epoch_``, ``cancelled_``, ``n_features_in_``, ``n_train_``, ``n_val_``, ``loss_name_``, ``fit_seconds_``,
    ``epsilon_`` and ``lr_`` (the values used) and ``selection_`` (one row per candidate when something was
    ``"auto"``: its ``epsilon``, ``lr``, ``selection_regret``, ``best_epoch``, ``seconds``, ``chosen``; else ``None``).
    ``history_``, ``best_epoch_`` and ``selection_`` are the first member's; ``best_epochs_`` and
    ``member_histories_`` hold every member's, ``n_members_`` how many were fitted (fewer when cancelled).
    """

    def __init__(
        self,
        problem: OptProblem,
        epsilon: float | str = AUTO,
        loss: str | Callable[..., torch.Tensor] = "spo+",
        hidden: Sequence[int] = (32, 32, 32),
        epochs: int = DEFAULT_EPOCHS,
        lr: float = DEFAULT_LR,
        batch_size: int = 32,
        seed: int = 0,
        val_fraction: float = 0.2,
        patience: int | None = DEFAULT_PATIENCE,
        use_c_hat: bool = False,
        weight_decay: float = 0.0,
        num_threads: int | None = 1,
        n_members: int = DEFAULT_MEMBERS,
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: np.ndarray,
        C_hat: np.ndarray,
        C: np.ndarray | None = None,
        X_val: np.ndarray | None = None,
        C_hat_val: np.ndarray | None = None,
        C_val: np.ndarray | None = None,
        *,
        callback: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> DFF:
        """Learn the correction from features ``X``, backbone predictions ``C_hat`` and true costs ``C``.

        With ``C=None``, ``C_hat`` holds packed targets ``[C_hat, C]`` (:func:`pack_targets`); the
        same goes for ``C_hat_val``/``C_val``. Without ``X_val`` the last ``val_fraction`` of the rows
        (in the given, chronological order) is held out for choosing the best epoch.
        ``callback(event)`` receives a :class:`~dff_core.progress.ProgressEvent` after every epoch
        (epoch 0 included); ``should_stop() -> bool`` is checked before every mini-batch, and
        ``True`` cancels and keeps the best epoch so far.
        """
        check_auto_or_number("DFF", "epsilon", self.epsilon, "0.2")
        check_auto_or_number("DFF", "lr", self.lr, "1e-3")
        if check_members("DFF", self.n_members) > 1:
            kw = {"callback": callback, "should_stop": should_stop}
            return fit_members(self, lambda one: one.fit(X, C_hat, C, X_val, C_hat_val, C_val, **kw), should_stop)
        rows = self._given_rows(X, C_hat, C, X_val, C_hat_val, C_val)
        if is_auto(self.epsilon) or is_auto(self.lr):
            return self._fit_selected(rows, callback, should_stop)
        with torch_threads(self.num_threads):
            self._fit(rows, callback, should_stop)
        self.epsilon_, self.lr_, self.selection_ = float(self.epsilon), float(self.lr), None
        return self

    def _given_rows(
        self,
        X: Any,
        C_hat: Any,
        C: Any,
        X_val: Any,
        C_hat_val: Any,
        C_val: Any,
    ) -> _Rows:
        """``fit``'s arguments as ``(X, C_hat, C, (X_val, C_hat_val) or None, C_val)``: packed targets split
        and the validation arguments checked to come all together or not at all (shapes are checked later)."""
        owner = "DFF.fit"
        d = int(self.problem.d)
        C_hat, C = _targets("C_hat", C_hat, C, d, owner)
        if X_val is not None and C_val is None and C_hat_val is not None:
            C_hat_val, C_val = _targets("C_hat_val", C_hat_val, None, d, owner)
        given = [a is not None for a in (X_val, C_hat_val, C_val)]
        if any(given) and not all(given):
            raise ValueError(f"{owner}: pass all of X_val, C_hat_val and C_val, or none of them.")
        return X, C_hat, C, ((X_val, C_hat_val) if all(given) else None), C_val

    def _fit_selected(
        self, rows: _Rows, callback: ProgressCallback | None, should_stop: Callable[[], bool] | None
    ) -> DFF:
        """``epsilon="auto"`` / ``lr="auto"``: choose them on validation rows that do not choose the epoch
        (:func:`dff_core.selection.fit_selected`), then keep the winner fitted with all validation rows."""
        owner = "DFF.fit"
        t_start = time.perf_counter()
        d = int(self.problem.d)
        X, C_hat, C, val, C_val = rows
        train_rows, (Xv, Chv, Cv), hint = train_val_rows(owner, (X, C_hat), C, val, C_val, d, self.val_fraction)
        argument = "epsilon" if is_auto(self.epsilon) else "lr"
        eps_grid = EPSILON_GRID if is_auto(self.epsilon) else (self.epsilon,)
        lr_grid = LR_GRID if is_auto(self.lr) else (self.lr,)
        grid = [{"epsilon": e, "lr": lr} for e in eps_grid for lr in lr_grid]
        model, table, chosen = fit_selected(
            self,
            grid,
            train_rows,
            (Xv, Chv),
            Cv,
            owner=owner,
            argument=argument,
            hint=hint,
            fit_kwargs={"callback": callback},
            should_stop=should_stop,
        )
        copy_fitted(self, model)
        self.epsilon_, self.lr_, self.selection_ = float(chosen["epsilon"]), float(chosen["lr"]), table
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

    def _fit(self, rows: _Rows, callback: ProgressCallback | None, should_stop: Callable[[], bool] | None) -> DFF:
        """One fit with the given ε and step size; validation rows choose the epoch."""
        owner = "DFF.fit"
        t_start = time.perf_counter()
        eps = check_epsilon(self.epsilon)
        hidden = check_hidden(self.hidden)
        check_training_params("DFF", self.epochs, self.lr, self.batch_size, self.patience)
        problem = self.problem
        d = int(problem.d)
        X, C_hat, C, val, C_val = rows
        X = as_2d("X", X, owner=owner)
        n, p = X.shape
        if n < 1:
            raise DataError(f"{owner}: X has no rows; DFF needs at least one training instance.")
        C_hat = as_2d("C_hat", C_hat, d, n, owner=owner)
        C = as_2d("C", C, d, n, owner=owner)
        if val is not None:
            Xv = as_2d("X_val", val[0], p, owner=owner)
            Chv = as_2d("C_hat_val", val[1], d, Xv.shape[0], owner=owner)
            Cv = as_2d("C_val", C_val, d, Xv.shape[0], owner=owner)
            Xt, Cht, Ct = X, C_hat, C
        else:
            n_tr = holdout_rows(n, self.val_fraction, owner)
            Xt, Cht, Ct = X[:n_tr], C_hat[:n_tr], C[:n_tr]
            Xv, Chv, Cv = X[n_tr:], C_hat[n_tr:], C[n_tr:]
        loss = resolve_loss(self.loss)

        gen = torch.Generator().manual_seed(int(self.seed))
        module = BiasCorrection(p, d, eps, hidden, use_c_hat=self.use_c_hat, generator=gen)
        module.fit_scaler(Xt, Cht)
        fit_module(
            self, module, ((Xt, Cht), Ct), ((Xv, Chv), Cv), loss=loss, generator=gen, method="dff",
            callback=callback, should_stop=should_stop, t_start=t_start,
        )  # fmt: skip
        return self

    # ------------------------------------------------------------------ inference
    def _inputs(self, X: np.ndarray, C_hat: np.ndarray | None, owner: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        check_is_fitted(self, "module_", msg="DFF: call fit(X, C_hat, C) (or DFF.load) before predicting.")
        X = as_2d("X", X, self.n_features_in_, owner=owner)
        Ch = None
        if C_hat is not None:
            Ch = torch.from_numpy(as_2d("C_hat", C_hat, int(self.problem.d), X.shape[0], owner=owner))
        return torch.from_numpy(X), Ch

    def predict(self, X: np.ndarray, C_hat: np.ndarray) -> np.ndarray:
        """Corrected costs ``C̃ = φ(X) ⊙ Ĉ``, shape ``(n, d)``."""
        x, ch = self._inputs(X, C_hat, "DFF.predict")
        if ch is None:
            raise ValueError("DFF.predict: C_hat (the backbone's predictions for X) is required.")
        with torch.no_grad():
            return self.module_(x, ch).numpy().copy()

    def factors(self, X: np.ndarray, C_hat: np.ndarray | None = None) -> np.ndarray:
        """Correction factors ``φ(X)`` in ``[1 − ε, 1 + ε]``, shape ``(n, d)`` (``C_hat`` needed when ``use_c_hat``)."""
        x, ch = self._inputs(X, C_hat, "DFF.factors")
        if self.module_.use_c_hat and ch is None:
            raise ValueError("DFF.factors: this model uses C_hat as an input (use_c_hat=True); pass C_hat.")
        with torch.no_grad():
            return self.module_.factors(x, ch if self.module_.use_c_hat else None).numpy().copy()

    def decide(self, X: np.ndarray, C_hat: np.ndarray) -> np.ndarray:
        """Decisions made on the corrected costs: ``problem.solve(predict(X, C_hat))``."""
        return self.problem.solve(self.predict(X, C_hat))

    def score(self, X: np.ndarray, C_hat: np.ndarray, C: np.ndarray | None = None) -> float:
        """Negative normalized regret of the corrected decisions on ``(X, C_hat, C)`` (higher is better).

        With ``C=None``, ``C_hat`` holds packed targets ``[C_hat, C]`` (:func:`pack_targets`).
        """
        C_hat, C = _targets("C_hat", C_hat, C, int(self.problem.d), "DFF.score")
        C = as_2d("C", C, int(self.problem.d), owner="DFF.score")
        return -metrics.normalized_regret(self.problem, C, self.predict(X, C_hat))

    # ------------------------------------------------------------------ persistence
    def _saved_params(self) -> dict[str, Any]:
        """``get_params()`` without the problem, as JSON (a callable loss is saved by name)."""
        params = self.get_params(deep=False)
        del params["problem"]
        params["loss"] = self.loss if isinstance(self.loss, str) else self.loss_name_
        params["hidden"] = list(check_hidden(self.hidden))
        return json.loads(json.dumps(params, default=_builtin))

    def save(self, path: str | Path) -> Path:
        """Write the trained correction to one ``.safetensors`` file (weights + parameters + history as metadata)."""
        check_is_fitted(self, "module_", msg="DFF.save: call fit(X, C_hat, C) before saving.")
        path = Path(path)
        meta = {
            "format": FILE_FORMAT,
            "config": json.dumps(self._saved_params()),
            "state": json.dumps(
                {
                    "n_features_in": self.n_features_in_,
                    "d": int(self.problem.d),
                    "problem": repr(self.problem),
                    "best_epoch": self.best_epoch_,
                    "n_train": self.n_train_,
                    "n_val": self.n_val_,
                    "loss_name": self.loss_name_,
                    "epsilon": self.epsilon_,
                    "lr": self.lr_,
                    "members": int(self.n_members_),
                    "best_epochs": [int(e) for e in self.best_epochs_],
                }
            ),
            "history": self.history_.to_json(orient="records"),
            # every member's history after the first member's (which is "history"): none for a single fit
            "member_histories": json.dumps([h.to_json(orient="records") for h in self.member_histories_[1:]]),
        }
        tensors = {k: v.detach().contiguous() for k, v in self.module_.state_dict().items()}
        save_file(tensors, str(path), metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | Path, problem: OptProblem) -> DFF:
        """Load a model written by :meth:`save` for ``problem`` (safetensors: no code is executed).

        Nothing the file's metadata names is allocated before it is checked: the network it
        describes (at most :data:`MAX_HIDDEN_LAYERS` hidden layers) is laid out without memory and
        its shapes must equal those of the weights stored in the file. Every problem with the file
        raises :class:`DataError` naming it; a model trained for another problem size, ``ValueError``.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"DFF.load: no model file at {path}.")
        unreadable = regular_file_problem(path)
        if unreadable:
            raise DataError(f"DFF.load: {unreadable}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                stored = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
        except Exception as exc:  # safetensors raises its own error type for damaged or truncated files
            raise DataError(f"DFF.load: {path} is not a readable safetensors file ({exc}).") from None
        if meta.get("format") != FILE_FORMAT:
            raise DataError(f"DFF.load: {path} is not a DFF model file (missing or wrong 'format' metadata).")
        try:
            params = json.loads(meta["config"])
            unknown = sorted(set(params) - set(cls._get_param_names()) - {"problem"})
            if unknown:
                raise DataError(f"DFF.load: {path} has parameters this version does not know: {', '.join(unknown)}.")
            params["hidden"] = check_hidden(params["hidden"])
            state = json.loads(meta["state"])
            d, n_features = int(state["d"]), int(state["n_features_in"])
            history = pd.read_json(StringIO(meta["history"]), orient="records")
            counts = {k: int(state[k]) for k in ("best_epoch", "n_train", "n_val")}
            loss_name = str(state["loss_name"])
            n_members = int(state.get("members", 1))
            if not 1 <= n_members <= MAX_MEMBERS:
                raise DataError(f"DFF.load: {path} describes {n_members} members; 1 to {MAX_MEMBERS} are read.")
            best_epochs = [int(e) for e in state.get("best_epochs", [counts["best_epoch"]])]
            member_histories = [history] + [
                pd.read_json(StringIO(h), orient="records") for h in json.loads(meta.get("member_histories", "[]"))
            ]
            if not len(best_epochs) == len(member_histories) == n_members:
                raise ValueError(
                    f"{n_members} members but {len(best_epochs)} kept epochs, {len(member_histories)} histories"
                )
        except DataError:
            raise
        except (KeyError, TypeError, ValueError) as exc:  # ValueError includes JSON errors
            raise DataError(f"DFF.load: {path} has damaged metadata ({type(exc).__name__}: {exc}).") from None
        if d != int(problem.d):
            raise ValueError(
                f"DFF.load: {path} was trained for a problem with d={d} costs "
                f"({state.get('problem')}); the given problem has d={problem.d}."
            )
        hidden = params["hidden"]
        if len(hidden) > MAX_HIDDEN_LAYERS:
            raise DataError(
                f"DFF.load: {path} describes {len(hidden)} hidden layers; at most {MAX_HIDDEN_LAYERS} are read."
            )
        model = cls(problem, **params)

        try:
            if not is_auto(params["epsilon"]):
                check_epsilon(params["epsilon"])
            epsilon = check_epsilon(state.get("epsilon", params["epsilon"]))
            lr = float(state.get("lr", params["lr"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"DFF.load: {path} has damaged metadata ({type(exc).__name__}: {exc}).") from None

        def correction() -> torch.nn.Module:
            one = [BiasCorrection(n_features, d, epsilon, hidden, use_c_hat=bool(model.use_c_hat))
                   for _ in range(n_members)]  # fmt: skip
            return one[0] if n_members == 1 else MemberMean(one)

        try:
            with torch.device("meta"):  # shapes only, no memory
                expected = {k: tuple(v.shape) for k, v in correction().state_dict().items()}
        except (TypeError, ValueError) as exc:
            raise DataError(f"DFF.load: {path} has damaged metadata ({exc}).") from None
        if expected != stored:
            raise DataError(
                f"DFF.load: {path}: the network its metadata describes ({n_features} features, hidden={list(hidden)}, "
                f"{n_members} member(s)) "
                "does not match the weights stored in the file; the file is damaged."
            )
        module = correction()
        try:
            module.load_state_dict(load_file(str(path)))
        except Exception as exc:  # changed or damaged after the header was read
            raise DataError(f"DFF.load: {path}: the weights could not be read ({exc}).") from None
        module.eval()
        model.module_ = module
        model.n_features_in_ = n_features
        model.best_epoch_ = counts["best_epoch"]
        model.n_train_ = counts["n_train"]
        model.n_val_ = counts["n_val"]
        model.loss_name_ = loss_name
        model.cancelled_ = False
        model.epsilon_, model.selection_, model.lr_ = epsilon, None, lr
        model.history_ = history
        model.n_members_, model.best_epochs_, model.member_histories_ = n_members, best_epochs, member_histories
        return model

"""DFF: decision-focused fine-tuning of any backbone's predictions within a trust region.

The estimator learns only the small network ``hθ`` of :class:`~dff_core.correction.BiasCorrection`
on a decision loss (SPO+ by default). The backbone is never touched, so it may be a tree
ensemble, a historical profile or a simulator: DFF needs only its predictions ``ĉ``.

Training is built for speed: the true costs are solved once per ``fit`` (train and validation),
each mini-batch makes one batched solve, and nothing is rebuilt per batch.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dff_core.correction import BiasCorrection, check_epsilon, check_hidden, torch_threads
from dff_core.errors import DataError
from dff_core.losses import true_solutions
from dff_core.problems.base import OptProblem

LossFn = Callable[..., torch.Tensor]


_ALIASES = {"spo+": "spo+", "spo_plus": "spo+", "spoplus": "spo+", "spo": "spo+", "pfyl": "pfyl", "nce": "nce"}


def resolve_loss(loss: str | Callable[..., torch.Tensor]) -> tuple[str, LossFn]:
    """Turn a loss name (``"spo+"``, ``"pfyl"``, ``"nce"``) or callable into ``(name, fn)``.

    ``fn(problem, c_pred, c_true, w_true, z_true, generator, **state)`` returns the mean loss of a batch;
    keyword arguments the underlying loss does not take are dropped.
    Names are looked up in ``dff_core.losses.get_loss`` when that registry exists, so every
    registered decision loss works; SPO+ is always available.
    """
    from dff_core import losses

    if callable(loss):
        name, raw = getattr(loss, "__name__", "custom"), loss
    else:
        if not isinstance(loss, str):
            raise ValueError(f"loss must be a name such as 'spo+', 'pfyl' or 'nce', or a callable; got {loss!r}.")
        key = loss.strip().lower()
        name = _ALIASES.get(key, key)
        get_loss = getattr(losses, "get_loss", None)
        if get_loss is not None:
            try:
                raw = get_loss(name)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"Unknown loss {loss!r}: {exc}") from None
        elif name == "spo+":
            raw = losses.spo_plus
        else:
            raise ValueError(f"Unknown loss {loss!r}; available: 'spo+'.")
    return name, _adapt(raw)


def _adapt(raw: Callable[..., Any]) -> LossFn:
    """Call ``raw`` with only the keyword arguments its signature accepts (losses differ in inputs)."""
    try:
        params = inspect.signature(raw).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        params = {}
    takes_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    def accepts(key: str) -> bool:
        return takes_var_kw or key in params

    def fn(problem, c_pred, c_true, w_true, z_true, generator=None, **extra):
        kw: dict[str, Any] = {k: v for k, v in extra.items() if accepts(k)}
        for key, val in (("c_true", c_true), ("w_true", w_true), ("z_true", z_true), ("reduction", "mean")):
            if accepts(key):
                kw[key] = val
        if generator is not None and accepts("generator"):
            kw["generator"] = generator
        out = raw(problem, c_pred, **kw)
        return out.mean() if out.ndim > 0 else out

    fn.accepts = accepts  # type: ignore[attr-defined]
    return fn


def _loss_state(loss_fn: LossFn, W_train: np.ndarray) -> dict[str, Any]:
    """Per-fit state some losses keep across batches (NCE's solution pool, seeded with the true decisions)."""
    from dff_core import losses

    accepts = getattr(loss_fn, "accepts", lambda key: False)
    pool_cls = getattr(losses, "SolutionPool", None)
    if pool_cls is not None and accepts("pool"):
        return {"pool": pool_cls(W_train)}
    return {}


def as_2d(name: str, A: Any, n_cols: int | None = None, n_rows: int | None = None, *, owner: str) -> np.ndarray:
    """Float64 2-D array with finite values, raising :class:`DataError` naming the argument, row and column."""
    try:
        A = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{owner}: argument {name!r} must be numeric (an array of numbers).") from None
    if A.ndim == 1 and n_cols == 1:
        A = A[:, None]
    if A.ndim != 2:
        raise DataError(f"{owner}: argument {name!r} must be a 2-D array (rows = instances); got shape {A.shape}.")
    if n_cols is not None and A.shape[1] != n_cols:
        raise DataError(f"{owner}: argument {name!r} must have {n_cols} columns; got {A.shape[1]} (shape {A.shape}).")
    if n_rows is not None and A.shape[0] != n_rows:
        raise DataError(
            f"{owner}: argument {name!r} has {A.shape[0]} rows but {n_rows} were expected (one per instance)."
        )
    bad = ~np.isfinite(A)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(
            f"{owner}: argument {name!r} has a non-finite value ({A[i, j]}) at row {i}, column {j}; "
            "fill or drop missing values first."
        )
    return A


def score_decisions(
    problem: OptProblem, C_true: np.ndarray, W_true: np.ndarray, z_true: np.ndarray, C_pred: np.ndarray
):
    """Mean regret and normalized regret of acting on ``C_pred`` (one batched solve)."""
    W = problem.solve(C_pred)
    z_pred = np.einsum("ij,ij->i", C_true, W)
    r = z_pred - z_true if problem.sense == "min" else z_true - z_pred
    r = np.where(np.abs(r) <= 1e-9 * np.maximum(np.abs(z_true), 1.0), 0.0, r)
    return float(r.mean()), float(r.sum() / (np.abs(z_true).sum() + 1e-7))


def chronological_split(n: int, val_fraction: float, owner: str) -> int:
    """Number of training rows when the last ``val_fraction`` of ``n`` rows is held out."""
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


def check_training_params(owner: str, epochs: int, lr: float, batch_size: int, patience: int | None) -> None:
    """Validate the shared training hyper-parameters with messages naming the estimator."""
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"{owner}: epochs must be a non-negative integer; got {epochs!r}.")
    if not (float(lr) > 0 and np.isfinite(float(lr))):
        raise ValueError(f"{owner}: lr must be a positive number such as 1e-3; got {lr!r}.")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"{owner}: batch_size must be a positive integer; got {batch_size!r}.")
    if patience is not None and (int(patience) != patience or patience < 1):
        raise ValueError(f"{owner}: patience must be a positive integer or None (no early stopping); got {patience!r}.")


def _adam(module: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam, fused when this torch build supports it on CPU (3x less per-step overhead for small networks)."""
    try:
        return torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch builds
        return torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)


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


HISTORY_COLUMNS = ["epoch", "train_loss", "val_regret", "val_normalized_regret", "seconds"]


def train_on_decision_loss(
    problem: OptProblem,
    module: torch.nn.Module,
    train_inputs: tuple[torch.Tensor, ...],
    C_train: np.ndarray,
    val_inputs: tuple[torch.Tensor, ...],
    C_val: np.ndarray,
    *,
    loss_fn: LossFn,
    generator: torch.Generator,
    W_train: np.ndarray | None = None,
    z_train: np.ndarray | None = None,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.0,
    patience: int | None = None,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    t_start: float | None = None,
) -> tuple[pd.DataFrame, int, bool]:
    """Mini-batch Adam on a decision loss, keeping the epoch with the lowest validation regret.

    ``module(*inputs)`` must return cost predictions. Epoch 0 is the untrained module and is a
    candidate for the best epoch. The true costs are solved once here (unless ``W_train``/``z_train``
    are given); each step then makes exactly one batched solve inside the loss, and each epoch
    one batched validation solve. Without validation rows the last epoch is kept. Returns
    ``(history, best_epoch, cancelled)`` and leaves ``module`` at its best state, in eval mode.
    """
    t_start = time.perf_counter() if t_start is None else t_start
    if W_train is None or z_train is None:
        W_train, z_train = true_solutions(problem, C_train)
    has_val = C_val.shape[0] > 0
    if has_val:
        W_val, z_val = true_solutions(problem, C_val)
    n_tr = C_train.shape[0]
    extra = _loss_state(loss_fn, W_train)
    opt = FlatAdam(module.parameters(), lr=lr, weight_decay=weight_decay)
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
            callback(epoch, {**row, "epochs": int(epochs), "best_epoch": int(best)})

    module.train()
    with torch.no_grad():
        loss0 = float(loss_fn(problem, module(*train_inputs), C_train, W_train, z_train, generator=generator, **extra))
    row = record(0, loss0, t_start)
    best_val, best_epoch, best_state = row["val_regret"], 0, snapshot(module)
    notify(0, row, best_epoch)
    wait, cancelled = 0, False
    for epoch in range(1, int(epochs) + 1):
        t0 = time.perf_counter()
        perm_t = torch.randperm(n_tr, generator=generator)
        perm = perm_t.numpy()
        # One gather per epoch into shuffled copies; every batch is then a contiguous slice (a view).
        inputs = tuple(t.index_select(0, perm_t) for t in train_inputs)
        Cs, Ws, zs = C_train[perm], W_train[perm], z_train[perm]
        total = 0.0
        for start in range(0, n_tr, batch_size):
            if should_stop is not None and should_stop():
                cancelled = True
                break
            sl = slice(start, start + batch_size)
            pred = module(*(t[sl] for t in inputs))
            loss = loss_fn(problem, pred, Cs[sl], Ws[sl], zs[sl], generator=generator, **extra)
            opt.step(loss)
            total += float(loss.detach()) * pred.shape[0]
        if cancelled:
            break
        row = record(epoch, total / n_tr, t0)
        if not has_val:
            best_epoch, best_state = epoch, None
        elif row["val_regret"] < best_val - 1e-12 * max(1.0, abs(best_val)):
            best_val, best_epoch, best_state, wait = row["val_regret"], epoch, snapshot(module), 0
        else:
            wait += 1
        notify(epoch, row, best_epoch)
        if has_val and patience is not None and wait >= int(patience):
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS), int(best_epoch), cancelled


class DFF:
    """Decision-focused fine-tuning of a backbone's cost predictions (Yang, Liang et al., AAAI 2025).

    Learns ``c̃ = φθ(x) ⊙ ĉ`` with ``φθ(x) ∈ [1 − ε, 1 + ε]^d`` by minimising a decision loss,
    keeping the epoch with the lowest validation regret. Epoch 0 (``φ ≡ 1``, the backbone itself)
    is a candidate, so on the validation data DFF is never worse than its backbone.

    Parameters
    ----------
    problem: the decision problem (``problem.solve`` is called once per mini-batch).
    epsilon: trust-region radius in (0, 1): each prediction moves by at most ``epsilon·100%``.
    loss: decision loss name (``"spo+"``, ``"pfyl"``, ``"nce"``) or a callable
        ``loss(problem, c_pred, c_true=..., w_true=..., z_true=..., reduction=...)``.
    hidden: hidden widths of ``hθ``.
    epochs, lr, batch_size, weight_decay: Adam training settings.
    seed: seeds initial weights, shuffling and random losses (a ``torch.Generator``; global RNG untouched).
    val_fraction: share of the LAST training rows held out (chronologically) when no validation set is given.
    patience: stop after this many epochs without a better validation regret (``None``: never).
    use_c_hat: also feed ``ĉ`` to ``hθ``.
    callback: ``callback(epoch, metrics)`` after every epoch (epoch 0 included).
    should_stop: ``should_stop() -> bool`` checked before every mini-batch; ``True`` cancels and keeps the best so far.
    num_threads: torch threads while fitting (restored afterwards; ``None`` keeps torch's setting). One thread is
        fastest for these small networks.

    Attributes after ``fit``: ``module_`` (the trained :class:`BiasCorrection`), ``history_``
    (``epoch``, ``train_loss``, ``val_regret``, ``val_normalized_regret``, ``seconds``),
    ``best_epoch_``, ``cancelled_``, ``n_features_in_``, ``n_train_``, ``n_val_``, ``loss_name_``.
    """

    def __init__(
        self,
        problem: OptProblem,
        epsilon: float = 0.5,
        loss: str | LossFn = "spo+",
        hidden: Sequence[int] = (32, 32, 32),
        epochs: int = 50,
        lr: float = 1e-3,
        batch_size: int = 32,
        seed: int = 0,
        val_fraction: float = 0.2,
        patience: int | None = 10,
        use_c_hat: bool = False,
        weight_decay: float = 0.0,
        callback: Callable[[int, dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        num_threads: int | None = 1,
    ) -> None:
        self.problem = problem
        self.epsilon = epsilon
        self.loss = loss
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed
        self.val_fraction = val_fraction
        self.patience = patience
        self.use_c_hat = use_c_hat
        self.weight_decay = weight_decay
        self.callback = callback
        self.should_stop = should_stop
        self.num_threads = num_threads

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: np.ndarray,
        C_hat: np.ndarray,
        C: np.ndarray,
        X_val: np.ndarray | None = None,
        C_hat_val: np.ndarray | None = None,
        C_val: np.ndarray | None = None,
    ) -> DFF:
        """Learn the correction from features ``X``, backbone predictions ``C_hat`` and true costs ``C``.

        Without ``X_val``/``C_hat_val``/``C_val`` the last ``val_fraction`` of the rows (in the
        given, chronological order) is held out for choosing the best epoch.
        """
        with torch_threads(self.num_threads):
            return self._fit(X, C_hat, C, X_val, C_hat_val, C_val)

    def _fit(
        self,
        X: np.ndarray,
        C_hat: np.ndarray,
        C: np.ndarray,
        X_val: np.ndarray | None,
        C_hat_val: np.ndarray | None,
        C_val: np.ndarray | None,
    ) -> DFF:
        owner = "DFF.fit"
        t_start = time.perf_counter()
        eps = check_epsilon(self.epsilon)
        hidden = check_hidden(self.hidden)
        check_training_params("DFF", self.epochs, self.lr, self.batch_size, self.patience)
        problem = self.problem
        d = int(problem.d)
        X = as_2d("X", X, owner=owner)
        n, p = X.shape
        if n < 1:
            raise DataError(f"{owner}: X has no rows; DFF needs at least one training instance.")
        C_hat = as_2d("C_hat", C_hat, d, n, owner=owner)
        C = as_2d("C", C, d, n, owner=owner)
        given = [a is not None for a in (X_val, C_hat_val, C_val)]
        if any(given) and not all(given):
            raise ValueError(f"{owner}: pass all of X_val, C_hat_val and C_val, or none of them.")
        if all(given):
            Xv = as_2d("X_val", X_val, p, owner=owner)
            Chv = as_2d("C_hat_val", C_hat_val, d, Xv.shape[0], owner=owner)
            Cv = as_2d("C_val", C_val, d, Xv.shape[0], owner=owner)
            Xt, Cht, Ct = X, C_hat, C
        else:
            n_tr = chronological_split(n, self.val_fraction, owner)
            Xt, Cht, Ct = X[:n_tr], C_hat[:n_tr], C[:n_tr]
            Xv, Chv, Cv = X[n_tr:], C_hat[n_tr:], C[n_tr:]
        self.loss_name_, loss_fn = resolve_loss(self.loss)

        gen = torch.Generator().manual_seed(int(self.seed))
        module = BiasCorrection(p, d, eps, hidden, use_c_hat=self.use_c_hat, generator=gen)
        module.fit_scaler(Xt, Cht)
        # True costs are solved once per fit; every batch and every validation pass reuses them.
        Wt, zt = true_solutions(problem, Ct)
        train_inputs = (torch.from_numpy(np.ascontiguousarray(Xt)), torch.from_numpy(np.ascontiguousarray(Cht)))
        val_inputs = (torch.from_numpy(Xv), torch.from_numpy(Chv))
        self.history_, best_epoch, self.cancelled_ = train_on_decision_loss(
            problem,
            module,
            train_inputs,
            Ct,
            val_inputs,
            Cv,
            loss_fn=loss_fn,
            generator=gen,
            W_train=Wt,
            z_train=zt,
            epochs=int(self.epochs),
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            weight_decay=float(self.weight_decay),
            patience=self.patience,
            callback=self.callback,
            should_stop=self.should_stop,
            t_start=t_start,
        )
        n_tr = Xt.shape[0]
        self.module_ = module
        self.best_epoch_ = int(best_epoch)
        self.n_features_in_ = p
        self.n_train_ = int(n_tr)
        self.n_val_ = int(Xv.shape[0])
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise RuntimeError("DFF: call fit(X, C_hat, C) (or DFF.load) before predicting.")

    def _inputs(self, X: np.ndarray, C_hat: np.ndarray | None, owner: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        self._check_fitted()
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

    # ------------------------------------------------------------------ persistence
    def get_config(self) -> dict[str, Any]:
        """JSON-able hyper-parameters (callbacks are not saved)."""
        return {
            "epsilon": float(self.epsilon),
            "loss": self.loss if isinstance(self.loss, str) else getattr(self, "loss_name_", "custom"),
            "hidden": list(check_hidden(self.hidden)),
            "epochs": int(self.epochs),
            "lr": float(self.lr),
            "batch_size": int(self.batch_size),
            "seed": int(self.seed),
            "val_fraction": float(self.val_fraction),
            "patience": None if self.patience is None else int(self.patience),
            "use_c_hat": bool(self.use_c_hat),
            "weight_decay": float(self.weight_decay),
            "num_threads": self.num_threads,
        }

    def save(self, path: str | Path) -> Path:
        """Write the trained correction to one ``.safetensors`` file (weights + JSON config + history)."""
        from safetensors.torch import save_file

        self._check_fitted()
        path = Path(path)
        meta = {
            "format": "dff-studio/DFF/1",
            "config": json.dumps(self.get_config()),
            "state": json.dumps(
                {
                    "n_features_in": self.n_features_in_,
                    "d": int(self.problem.d),
                    "problem": repr(self.problem),
                    "best_epoch": self.best_epoch_,
                    "n_train": self.n_train_,
                    "n_val": self.n_val_,
                    "loss_name": self.loss_name_,
                }
            ),
            "history": self.history_.to_json(orient="records"),
        }
        tensors = {k: v.detach().contiguous() for k, v in self.module_.state_dict().items()}
        save_file(tensors, str(path), metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | Path, problem: OptProblem) -> DFF:
        """Load a model written by :meth:`save` for ``problem`` (safetensors: no code is executed)."""
        from io import StringIO

        from safetensors import safe_open
        from safetensors.torch import load_file

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"DFF.load: no model file at {path}.")
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") != "dff-studio/DFF/1":
            raise DataError(f"DFF.load: {path} is not a DFF model file (missing or wrong 'format' metadata).")
        config = json.loads(meta["config"])
        state = json.loads(meta["state"])
        if int(state["d"]) != int(problem.d):
            raise ValueError(
                f"DFF.load: {path} was trained for a problem with d={state['d']} costs "
                f"({state['problem']}); the given problem has d={problem.d}."
            )
        model = cls(problem, **config)
        module = BiasCorrection(
            int(state["n_features_in"]),
            int(problem.d),
            config["epsilon"],
            config["hidden"],
            use_c_hat=config["use_c_hat"],
        )
        module.load_state_dict(load_file(str(path)))
        module.eval()
        model.module_ = module
        model.n_features_in_ = int(state["n_features_in"])
        model.best_epoch_ = int(state["best_epoch"])
        model.n_train_ = int(state["n_train"])
        model.n_val_ = int(state["n_val"])
        model.loss_name_ = state["loss_name"]
        model.cancelled_ = False
        model.history_ = pd.read_json(StringIO(meta["history"]), orient="records")
        return model

    def __repr__(self) -> str:
        return f"DFF(problem={self.problem!r}, epsilon={self.epsilon}, loss={self.loss!r}, epochs={self.epochs})"

"""Choosing ε and the learning rate on validation data that did not choose the epoch.

Every trained method keeps the epoch with the lowest validation regret. That regret is therefore
optimistic, and the more freely a candidate can move (a larger ε, a larger step size) the more
optimistic it is, so comparing candidates by it would favour the loosest one. Here the validation
rows, in time order, are split in two consecutive parts: the earlier part chooses each candidate's
epoch (early stopping, as in a normal fit), the later part scores the candidate. The best candidate
is then fitted once more with its epoch chosen on all validation rows, which is the returned model.

Used by ``DFF(epsilon="auto")``, ``DFF(lr="auto")`` and ``lr="auto"`` of the other trained methods
(:class:`~dff_core.baselines.DFL`, :class:`~dff_core.ablation.DFFUnbounded`), so every method of a
comparison gets the same learning-rate choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dff_core.errors import DataError
from dff_core.losses import true_solutions
from dff_core.problems.base import OptProblem
from dff_core.training import holdout_rows, score_decisions
from dff_core.validation import as_2d

#: Trust-region radii tried by ``epsilon="auto"``.
EPSILON_GRID: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.9)
#: Learning rates tried by ``lr="auto"`` (Adam step sizes).
LR_GRID: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
#: Default training budget of DFF and the decision-focused baselines (epochs, Adam step size, early-stopping
#: patience), chosen on tuning seeds the reported results never use (benchmarks/paper/tune.py, RESULTS.md).
DEFAULT_EPOCHS = 200
DEFAULT_LR = 3e-3
DEFAULT_PATIENCE: int | None = 20
#: Fits averaged by default (``n_members``): seeds ``seed … seed + 4``, the first choosing ε and the step size
#: (:mod:`dff_core.ensemble`; the study is in RESULTS.md, "Averaging fits").
DEFAULT_MEMBERS = 5
#: Fewest validation rows in each of the two parts (choosing the epoch / comparing candidates).
MIN_PART_ROWS = 2
AUTO = "auto"


def is_auto(value: Any) -> bool:
    """Whether a hyper-parameter is to be chosen on validation data (the string ``"auto"``)."""
    return isinstance(value, str) and value == AUTO


def check_auto_or_number(owner: str, name: str, value: Any, example: str) -> None:
    """Reject strings other than ``"auto"`` with a message naming the argument."""
    if isinstance(value, str) and not is_auto(value):
        raise ValueError(f"{owner}: {name} must be a number such as {example} or 'auto'; got {value!r}.")


def min_validation_rows() -> int:
    """Smallest validation set a selection can use: ``MIN_PART_ROWS`` rows in each part."""
    return 2 * MIN_PART_ROWS


def epoch_rows(n_val: int, owner: str, argument: str, hint: str = "") -> int:
    """Number of leading validation rows that choose the epoch (the rest compare candidates).

    Raises a ``ValueError`` naming ``argument`` and the smallest valid number of validation rows
    when there are too few to split.
    """
    need = min_validation_rows()
    if n_val < need:
        raise ValueError(
            f"{owner}: {argument}='auto' needs at least {need} validation rows ({MIN_PART_ROWS} choose the epoch, "
            f"{MIN_PART_ROWS} compare the candidates); got {n_val}. {hint}"
            f"Or set {argument} to a number."
        )
    return n_val // 2


def fresh(estimator: Any, params: Mapping[str, Any]) -> Any:
    """A new unfitted estimator with ``params`` replaced (the problem object is shared, not copied)."""
    return type(estimator)(**{**estimator.get_params(deep=False), **params})


def fit_selected(
    estimator: Any,
    grid: Sequence[Mapping[str, Any]],
    train: tuple[np.ndarray, ...],
    val_inputs: tuple[np.ndarray, ...],
    C_val: np.ndarray,
    *,
    owner: str,
    argument: str,
    hint: str = "",
    fit_kwargs: Mapping[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Any, pd.DataFrame, dict[str, Any]]:
    """Choose among ``grid`` (parameter overrides of ``estimator``) and fit the winner.

    ``train`` are the positional training arrays of ``estimator.fit``; ``val_inputs`` the inputs of
    ``estimator.predict`` for the validation rows and ``C_val`` their true costs (rows in time order).
    Each candidate is fitted with the first half of the validation rows choosing its epoch and
    scored by its mean regret on the second half; ties go to the earlier candidate in ``grid``
    (order the grid from the most conservative). Returns ``(model, table, chosen)``: the winner
    refitted with all validation rows choosing its epoch, one table row per candidate
    (its parameters, ``selection_regret``, ``best_epoch``, ``seconds``), and the winning parameters.
    ``should_stop()`` cancels: the candidates fitted so far compete, and the refit is skipped.
    """
    problem: OptProblem = estimator.problem
    if not grid:
        raise ValueError(f"{owner}: nothing to choose from (empty grid).")
    fit_kwargs = dict(fit_kwargs or {})
    n_a = epoch_rows(int(C_val.shape[0]), owner, argument, hint)
    val_a = (*(a[:n_a] for a in val_inputs), C_val[:n_a])
    inputs_b, C_b = tuple(a[n_a:] for a in val_inputs), C_val[n_a:]
    W_b, z_b = true_solutions(problem, C_b)
    rows: list[dict[str, Any]] = []
    models: list[Any] = []
    for params in grid:
        t0 = time.perf_counter()
        model = fresh(estimator, params).fit(*train, *val_a, should_stop=should_stop, **fit_kwargs)
        regret, _ = score_decisions(problem, C_b, W_b, z_b, model.predict(*inputs_b))
        rows.append(
            {
                **params,
                "selection_regret": regret,
                "best_epoch": int(model.best_epoch_),
                "seconds": time.perf_counter() - t0,
            }
        )
        models.append(model)
        if getattr(model, "cancelled_", False):
            break
    table = pd.DataFrame(rows)
    scores = table["selection_regret"].to_numpy()
    tol = 1e-12 * max(1.0, float(np.abs(scores).max()))
    best = int(np.flatnonzero(scores <= scores.min() + tol)[0])
    chosen = {k: grid[best][k] for k in grid[best]}
    table["chosen"] = np.arange(len(table)) == best
    if getattr(models[-1], "cancelled_", False):
        return models[best], table, chosen
    final = fresh(estimator, chosen).fit(*train, *val_inputs, C_val, should_stop=should_stop, **fit_kwargs)
    return final, table, chosen


def copy_fitted(target: Any, source: Any) -> None:
    """Copy the learned state (attributes ending in ``_``) of ``source`` onto ``target``."""
    for key, value in vars(source).items():
        if key.endswith("_") and not key.startswith("__"):
            setattr(target, key, value)


def train_val_rows(
    owner: str,
    inputs: tuple[Any, ...],
    C: Any,
    val_inputs: tuple[Any, ...] | None,
    C_val: Any,
    d: int,
    val_fraction: float,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], str]:
    """Checked ``(train inputs + C, validation inputs + C_val, hint)`` for a selection.

    ``inputs`` is ``(X,)`` or ``(X, C_hat)``; without validation inputs the last ``val_fraction`` of
    the training rows validate (in time order). The hint says how to get more validation rows.
    """
    names = ("X", "C_hat")
    X = as_2d("X", inputs[0], owner=owner)
    n, p = X.shape
    arrs = [X, *(as_2d(nm, a, d, n, owner=owner) for nm, a in zip(names[1:], inputs[1:]))]
    C = as_2d("C", C, d, n, owner=owner)
    if (val_inputs is None) != (C_val is None):
        raise ValueError(f"{owner}: pass the validation inputs and C_val together, or neither.")
    if val_inputs is not None:
        Xv = as_2d("X_val", val_inputs[0], p, owner=owner)
        vals = [Xv, *(as_2d(f"{nm}_val", a, d, Xv.shape[0], owner=owner) for nm, a in zip(names[1:], val_inputs[1:]))]
        Cv = as_2d("C_val", C_val, d, Xv.shape[0], owner=owner)
        return (*arrs, C), (*vals, Cv), "Pass more validation rows. "
    n_tr = holdout_rows(n, val_fraction, owner)
    hint = _holdout_hint(val_fraction, n, n - n_tr, owner)
    return (*(a[:n_tr] for a in arrs), C[:n_tr]), (*(a[n_tr:] for a in arrs), C[n_tr:]), hint


def _holdout_hint(val_fraction: float, n: int, n_val: int, owner: str) -> str:
    """What to change when the held-out validation rows are too few for a selection."""
    if float(val_fraction) <= 0:
        return "val_fraction=0 holds out no rows; set val_fraction > 0 or pass a validation set. "
    need = min_validation_rows()
    smallest = None
    for k in range(need, 100_000):
        try:
            if k - holdout_rows(k, val_fraction, owner) >= need:
                smallest = k
                break
        except DataError:
            continue
    rows = f"at least {smallest} training rows" if smallest else "more rows"
    return (
        f"With val_fraction={val_fraction} ({n_val} of {n} rows held out) that takes {rows}; "
        "pass more rows, a larger val_fraction or an explicit validation set. "
    )

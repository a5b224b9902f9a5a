"""Input checks shared by the estimators, each failing with a message that names the argument and what to do.

Modelled on scikit-learn's ``utils.validation``: estimators call these at the start of ``fit`` and
``predict`` so bad input never reaches torch or a solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dff_core.errors import DataError


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


def check_epsilon(epsilon: float | str, name: str = "epsilon") -> float:
    """Validate the trust-region radius: a real number strictly between 0 and 1."""
    try:
        eps = float(epsilon)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1), e.g. 0.2; got {epsilon!r}.") from None
    if not (0.0 < eps < 1.0) or not np.isfinite(eps):
        raise ValueError(
            f"{name} must be strictly between 0 and 1 (each prediction may move by at most {name}·100%); "
            f"got {epsilon!r}."
        )
    return eps


def check_hidden(hidden: Sequence[int], name: str = "hidden") -> tuple[int, ...]:
    """Validate hidden-layer widths: a sequence of positive integers (may be empty for a linear hθ)."""
    try:
        out = tuple(int(h) for h in hidden)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a sequence of positive integers such as (32, 32, 32); got {hidden!r}."
        ) from None
    if any(h < 1 for h in out) or any(int(h) != h for h in hidden):
        raise ValueError(f"{name} must be a sequence of positive integers such as (32, 32, 32); got {hidden!r}.")
    return out


def check_training_params(owner: str, epochs: int, lr: float | str, batch_size: int, patience: int | None) -> None:
    """Validate the shared training hyper-parameters with messages naming the estimator.

    ``lr`` is the step size actually used, so ``"auto"`` (resolved before training) is refused here too.
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"{owner}: epochs must be a non-negative integer; got {epochs!r}.")
    try:
        step = float(lr)
    except (TypeError, ValueError):
        step = float("nan")
    if not (step > 0 and np.isfinite(step)):
        raise ValueError(f"{owner}: lr must be a positive number such as 1e-3; got {lr!r}.")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"{owner}: batch_size must be a positive integer; got {batch_size!r}.")
    if patience is not None and (int(patience) != patience or patience < 1):
        raise ValueError(f"{owner}: patience must be a positive integer or None (no early stopping); got {patience!r}.")

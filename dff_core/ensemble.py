"""Seed ensembles: the average of several fits of one estimator that differ only in their random seed.

A decision-focused fit of a small network is noisy: the same data, a different initialisation and
batch order, and the kept epoch and the regret move. Averaging the predictions of a few such fits
removes much of that noise. For DFF the average stays inside the trust region: every member's
factors lie in ``[1 − ε, 1 + ε]`` for the same ε, and so does their mean, so
``|c̃ − ĉ| ≤ ε|ĉ|`` still holds on every coefficient.

The first member is fitted as configured (``epsilon="auto"`` / ``lr="auto"`` choose their values on
validation rows as usual); the others reuse the values it chose and differ only in ``seed``, so a
selection runs once, not once per member.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

#: Hyper-parameters the first member may choose on validation data (``"auto"``), fixed for the others.
_CHOSEN = ("epsilon", "lr")


class SeedEnsemble(BaseEstimator):
    """Average of ``n_members`` fits of ``estimator`` with seeds ``seed, seed + 1, …``.

    Works for any estimator with a ``seed`` parameter and a ``predict`` method: :class:`~dff_core.dff.DFF`
    (``predict(X, C_hat)``), :class:`~dff_core.baselines.DFL` (``predict(X)``) and
    :class:`~dff_core.ablation.DFFUnbounded`. ``fit`` takes the estimator's own arguments.

    Attributes after ``fit``: ``members_`` (the fitted estimators), ``epsilon_`` / ``lr_`` (the values every
    member used, where the estimator has them), ``best_epochs_`` (each member's kept epoch) and
    ``fit_seconds_`` (all members together).
    """

    def __init__(self, estimator: Any, n_members: int = 5) -> None:
        self.estimator = estimator
        self.n_members = n_members

    def fit(self, *args: Any, should_stop: Callable[[], bool] | None = None, **kwargs: Any) -> SeedEnsemble:
        """Fit the members one after another; ``should_stop()`` returning ``True`` keeps the members fitted so far."""
        n = self.n_members
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"SeedEnsemble: n_members must be a positive integer such as 5; got {n!r}.")
        params = self.estimator.get_params(deep=False)
        if "seed" not in params:
            raise ValueError(f"SeedEnsemble: {type(self.estimator).__name__} has no 'seed' parameter to vary.")
        if should_stop is not None:
            kwargs["should_stop"] = should_stop
        first = clone(self.estimator).fit(*args, **kwargs)
        chosen = {k: getattr(first, f"{k}_") for k in _CHOSEN if k in params and hasattr(first, f"{k}_")}
        members = [first]
        for k in range(1, int(n)):
            if should_stop is not None and should_stop():
                break
            member = clone(self.estimator).set_params(seed=int(params["seed"]) + k, **chosen)
            members.append(member.fit(*args, **kwargs))
        self.members_ = members
        for key, value in chosen.items():
            setattr(self, f"{key}_", value)
        self.best_epochs_ = [int(getattr(m, "best_epoch_", -1)) for m in members]
        self.fit_seconds_ = float(sum(getattr(m, "fit_seconds_", 0.0) for m in members))
        return self

    def predict(self, *args: Any) -> np.ndarray:
        """Mean of the members' predictions (same arguments as the estimator's ``predict``)."""
        check_is_fitted(self, "members_", msg="SeedEnsemble: call fit before predicting.")
        return np.mean([m.predict(*args) for m in self.members_], axis=0)

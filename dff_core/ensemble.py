"""Seed ensembles: the average of several fits of one estimator that differ only in their random seed.

A decision-focused fit of a small network is noisy: the same data, a different initialisation and
batch order, and the kept epoch and the regret move. Averaging the predictions of a few such fits
removes much of that noise. For DFF the average stays inside the trust region: every member's
factors lie in ``[1 − ε, 1 + ε]`` for the same ε, and so does their mean, so
``|c̃ − ĉ| ≤ ε|ĉ|`` still holds on every coefficient.

The trained estimators (:class:`~dff_core.dff.DFF`, :class:`~dff_core.baselines.DFL`,
:class:`~dff_core.ablation.DFFUnbounded`) do this themselves through their ``n_members`` parameter
(:func:`fit_members`; their ``module_`` is then a :class:`MemberMean`). :class:`SeedEnsemble` wraps any
other estimator with a ``seed`` the same way. The first member is fitted as configured
(``epsilon="auto"`` / ``lr="auto"`` choose their values on validation rows as usual); the others reuse
the values it chose and differ only in ``seed``, so a selection runs once, not once per member.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from dff_core.selection import fresh

#: Hyper-parameters the first member may choose on validation data (``"auto"``), fixed for the others.
_CHOSEN = ("epsilon", "lr")
#: Most members a model file may describe (:meth:`DFF.load <dff_core.dff.DFF.load>` checks before allocating).
MAX_MEMBERS = 64


def check_members(owner: str, n: Any) -> int:
    """``n`` as a positive ``int``, or a ``ValueError`` naming the argument and a valid value."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{owner}: n_members must be a positive integer such as 5 (1 = a single fit); got {n!r}.")
    return int(n)


class MemberMean(nn.Module):
    """The mean of several fitted networks with the same inputs: ``forward``, and where the members
    have them ``factors`` and ``logits``, average the members' outputs.

    Attributes the estimators read off a single network (``epsilon``, ``use_c_hat``, ``n_outputs``,
    ``x_mean`` ...) are the first member's; the members share them (same data, same settings).
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("MemberMean: needs at least one member.")
        self.members = nn.ModuleList(members)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("_") or name == "members":
                raise
            return getattr(self._modules["members"][0], name)  # type: ignore[index]

    def _mean(self, name: str, *inputs: Any) -> torch.Tensor:
        return torch.stack([getattr(m, name)(*inputs) for m in self.members]).mean(dim=0)

    def forward(self, *inputs: Any) -> torch.Tensor:
        return self._mean("__call__", *inputs)

    def factors(self, *inputs: Any) -> torch.Tensor:
        """Mean of the members' factors (the mean of values in ``[1 − ε, 1 + ε]`` stays there)."""
        return self._mean("factors", *inputs)

    def logits(self, *inputs: Any) -> torch.Tensor:
        """Mean of the members' logits (integrated gradients are linear in the function, so this attributes
        the mean of the members' attributions)."""
        return self._mean("logits", *inputs)


def _fit_seeds(
    estimator: Any, n: int, fit_one: Callable[[Any], Any], should_stop: Callable[[], bool] | None
) -> tuple[list[Any], dict[str, Any], bool]:
    """``n`` fits of copies of ``estimator`` (one fit each where it has ``n_members``): the first as configured,
    member ``k`` with seed ``seed + k`` and the ε / step size the first chose. Stops early when ``should_stop()``
    or a member was cancelled. Returns the fitted members, the chosen values and whether it stopped early."""
    params = estimator.get_params(deep=False)
    single = {"n_members": 1} if "n_members" in params else {}
    members = [fit_one(fresh(estimator, single))]
    chosen = {k: getattr(members[0], f"{k}_") for k in _CHOSEN if k in params and hasattr(members[0], f"{k}_")}
    cancelled = bool(getattr(members[0], "cancelled_", False))
    for k in range(1, n):
        if cancelled or (should_stop is not None and should_stop()):
            return members, chosen, True
        members.append(fit_one(fresh(estimator, {**single, "seed": int(params["seed"]) + k, **chosen})))
        cancelled = bool(getattr(members[-1], "cancelled_", False))
    return members, chosen, cancelled


def fit_members(estimator: Any, fit_one: Callable[[Any], Any], should_stop: Callable[[], bool] | None) -> Any:
    """Fit ``estimator.n_members`` single fits and store their average on ``estimator``.

    ``fit_one(single)`` fits one copy of ``estimator`` (``n_members=1``) on the caller's data. Member ``k``
    has seed ``seed + k``; members after the first reuse the ε and step size the first one chose.
    ``should_stop()`` returning ``True`` keeps the members fitted so far (``cancelled_`` is then ``True``).
    Sets the single fit's attributes (the first member's ``history_``, ``best_epoch_``, ``selection_``,
    ``epsilon_``, ``lr_`` ...), with ``module_`` the :class:`MemberMean` of every member's network, and
    ``n_members_``, ``best_epochs_``, ``member_histories_`` and ``fit_seconds_`` (all members together).
    """
    t_start = time.perf_counter()
    members, _, cancelled = _fit_seeds(estimator, int(estimator.n_members), fit_one, should_stop)
    for key, value in vars(members[0]).items():
        if key.endswith("_") and not key.startswith("__"):
            setattr(estimator, key, value)
    estimator.module_ = members[0].module_ if len(members) == 1 else MemberMean([m.module_ for m in members])
    estimator.n_members_ = len(members)
    estimator.best_epochs_ = [int(m.best_epoch_) for m in members]
    estimator.member_histories_ = [m.history_ for m in members]
    estimator.cancelled_ = cancelled
    estimator.fit_seconds_ = time.perf_counter() - t_start
    return estimator


class SeedEnsemble(BaseEstimator):
    """Average of ``n_members`` fits of ``estimator`` with seeds ``seed, seed + 1, …``.

    For estimators without their own ``n_members`` (the trained estimators of dff_core have one: prefer
    ``DFF(problem, n_members=5)``). Works for any estimator with a ``seed`` parameter and a ``predict``
    method; ``fit`` takes the estimator's own arguments. An estimator that has ``n_members`` is fitted
    with ``n_members=1`` per member, so the ensemble has exactly ``n_members`` fits.

    Attributes after ``fit``: ``members_`` (the fitted estimators), ``epsilon_`` / ``lr_`` (the values every
    member used, where the estimator has them), ``best_epochs_`` (each member's kept epoch) and
    ``fit_seconds_`` (all members together).
    """

    def __init__(self, estimator: Any, n_members: int = 5) -> None:
        self.estimator = estimator
        self.n_members = n_members

    def fit(self, *args: Any, should_stop: Callable[[], bool] | None = None, **kwargs: Any) -> SeedEnsemble:
        """Fit the members one after another; ``should_stop()`` returning ``True`` keeps the members fitted so far."""
        n = check_members("SeedEnsemble", self.n_members)
        if "seed" not in self.estimator.get_params(deep=False):
            raise ValueError(f"SeedEnsemble: {type(self.estimator).__name__} has no 'seed' parameter to vary.")
        if should_stop is not None:
            kwargs["should_stop"] = should_stop
        members, chosen, _ = _fit_seeds(self.estimator, n, lambda m: m.fit(*args, **kwargs), should_stop)
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

"""Allocate limited units to items to maximise predicted value (fractional knapsack LP)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from dff_core.problems._lp import StaticLP
from dff_core.problems.base import OptProblem


class Allocation(OptProblem):
    """``max c^T x`` s.t. ``0 <= x <= capacity``, ``weights^T x <= budget`` and optional group caps.

    Parameters
    ----------
    capacity:
        Per-item cap on the units allocated, shape ``(d,)``. Its length defines ``d``.
    budget:
        Total units available (weighted by ``weights``).
    weights:
        Units consumed per unit allocated to each item (default 1).
    groups:
        Optional group label per item, shape ``(d,)`` (e.g. the corridor of each sensor).
    group_caps:
        Cap on the (weighted) units per group label; groups not listed are uncapped.

    Without groups the LP has a closed-form solution (greedy by value per weight, stable
    ties by item index), vectorised over the batch; with groups it is an LP passed to HiGHS
    once and re-solved per instance with a new objective.
    Items whose predicted value is not positive receive nothing.
    """

    sense = "max"

    def __init__(
        self,
        capacity: Sequence[float] | np.ndarray,
        budget: float,
        weights: Sequence[float] | np.ndarray | None = None,
        groups: Sequence[object] | np.ndarray | None = None,
        group_caps: Mapping[Any, float] | None = None,
    ) -> None:
        cap = np.asarray(capacity, dtype=np.float64).ravel()
        if cap.size == 0 or not np.all(np.isfinite(cap)) or (cap < 0).any():
            raise ValueError(
                f"Allocation: capacity must be a non-empty list of finite non-negative caps; got {capacity!r}."
            )
        self.capacity = cap
        self.d = cap.size
        if not np.isfinite(budget) or budget < 0:
            raise ValueError(f"Allocation: budget must be a finite non-negative number; got {budget!r}.")
        self.budget = float(budget)
        w = np.ones(self.d) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (self.d,) or not np.all(np.isfinite(w)) or (w <= 0).any():
            raise ValueError(
                f"Allocation: weights must hold {self.d} finite positive numbers (one per item); got {weights!r}."
            )
        self.weights = w
        self.groups = None if groups is None else np.asarray(groups, dtype=object).ravel()
        if self.groups is not None and self.groups.shape != (self.d,):
            raise ValueError(
                f"Allocation: groups must give one label per item ({self.d}); got {len(self.groups)} labels."
            )
        self.group_caps = dict(group_caps or {})
        if self.group_caps and self.groups is None:
            raise ValueError("Allocation: group_caps needs groups (one label per item).")
        for g, c in self.group_caps.items():
            if self.groups is not None and g not in set(self.groups.tolist()):
                raise ValueError(f"Allocation: group_caps names group {g!r}, which no item belongs to.")
            if not np.isfinite(c) or c < 0:
                raise ValueError(f"Allocation: cap of group {g!r} must be finite and non-negative; got {c!r}.")
        self._A_ub, self._b_ub = self._constraints()
        self._lp: StaticLP | None = None
        if self.group_caps:
            k = len(self._b_ub)
            A = sp.csc_matrix(self._A_ub)
            self._lp = StaticLP(
                A, np.full(k, -np.inf), self._b_ub, np.zeros(self.d), self.capacity, "Allocation", -np.ones(self.d)
            )

    def _constraints(self) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.weights]
        rhs = [self.budget]
        for g, c in self.group_caps.items():
            rows.append(np.where(self.groups == g, self.weights, 0.0))
            rhs.append(c)
        return np.vstack(rows), np.asarray(rhs)

    def _solve(self, C: np.ndarray) -> np.ndarray:
        if self._lp is None:  # no group caps: the greedy fill is exact
            return self._greedy(C)
        W = np.empty_like(C)
        for i, c in enumerate(C):
            W[i] = self._lp.solve(-c, i)
        return W

    def _greedy(self, C: np.ndarray) -> np.ndarray:
        n = C.shape[0]
        ratio = C / self.weights
        order = np.argsort(-ratio, axis=1, kind="stable")
        rows = np.arange(n)[:, None]
        cost_sorted = (self.capacity * self.weights)[order]  # weighted units to fill each item
        before = np.cumsum(cost_sorted, axis=1) - cost_sorted
        remaining = np.clip(self.budget - before, 0.0, None)
        take = np.minimum(self.capacity[order], remaining / self.weights[order])
        take = np.where(ratio[rows, order] > 0, take, 0.0)
        W = np.zeros_like(C)
        W[rows, order] = take
        return W

"""Synthetic data sets for the paper-style experiments (network flow, knapsack, portfolio, resource allocation).

The data come from ``dff_core.data.synthetic`` (PyEPO's ``genData`` formulas, same numbers for the
same seed). Every task draws the training and the test instances from one call with one seed, so
they share the same hidden feature-to-cost map; training instances come first, test instances last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dff_core.data import synthetic
from dff_core.problems.base import OptProblem

#: Feature dimension of every synthetic task (PyEPO's usual ``p = 5``).
NUM_FEATURES = 5


@dataclass
class Task:
    """One synthetic instance set: a decision problem plus train/test features and true costs."""

    name: str
    problem: OptProblem
    X_train: np.ndarray
    C_train: np.ndarray
    X_test: np.ndarray
    C_test: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def _check_sizes(owner: str, n_train: int, n_test: int) -> None:
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if int(n) != n or n < 1:
            raise ValueError(f"{owner}: {name} must be a positive integer; got {n!r}.")


def _check_degree(owner: str, deg: int) -> None:
    if int(deg) != deg or deg < 1:
        raise ValueError(f"{owner}: deg must be a positive integer (polynomial degree); got {deg!r}.")


def _split(n_train: int, X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, ...]:
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    return X[:n_train], C[:n_train], X[n_train:], C[n_train:]


def shortest_path(deg: int, n_train: int, n_test: int, seed: int, noise_width: float = 0.5) -> Task:
    """PyEPO's 5x5 grid shortest path (``genData(n, 5, (5, 5), deg, noise_width, seed)``), 40 arc costs."""
    _check_sizes("shortest_path", n_train, n_test)
    _check_degree("shortest_path", deg)
    data = synthetic.shortest_path_data(
        n_train + n_test, NUM_FEATURES, grid=(5, 5), deg=int(deg), noise_width=noise_width, seed=int(seed)
    )
    Xtr, Ctr, Xte, Cte = _split(n_train, data.X, data.C)
    return Task("shortest_path", data.problem, Xtr, Ctr, Xte, Cte, {"deg": deg, "noise_width": noise_width})


def _portfolio(
    deg: int, n_train: int, n_test: int, seed: int, num_assets: int, gamma: float, noise_level: float = 1.0
) -> synthetic.SyntheticData:
    _check_sizes("portfolio", n_train, n_test)
    _check_degree("portfolio", deg)
    return synthetic.portfolio_data(
        n_train + n_test, NUM_FEATURES, num_assets, deg=int(deg), noise_level=noise_level, gamma=gamma, seed=int(seed)
    )


def portfolio_data(
    deg: int, n_train: int, n_test: int, seed: int, num_assets: int = 50, noise_level: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PyEPO's portfolio generator: ``(covariance, X_train, R_train, X_test, R_test)`` of expected returns."""
    data = _portfolio(deg, n_train, n_test, seed, num_assets, 2.25, noise_level)
    Xtr, Rtr, Xte, Rte = _split(n_train, data.X, data.C)
    return data.extra["covariance"], Xtr, Rtr, Xte, Rte


def portfolio(deg: int, n_train: int, n_test: int, seed: int, num_assets: int = 50, gamma: float = 2.25) -> Task:
    """PyEPO's mean-return portfolio: ``max r^T x`` s.t. ``x^T Σ x <= gamma * mean(Σ)``, ``1^T x = 1``, ``x >= 0``."""
    data = _portfolio(deg, n_train, n_test, seed, num_assets, gamma)
    Xtr, Rtr, Xte, Rte = _split(n_train, data.X, data.C)
    meta = {"deg": deg, "num_assets": num_assets, "gamma": gamma}
    return Task("portfolio", data.problem, Xtr, Rtr, Xte, Rte, meta)


def allocation(
    deg: int,
    n_train: int,
    n_test: int,
    seed: int,
    num_items: int = 20,
    budget_fraction: float = 0.3,
    noise_width: float = 0.25,
) -> Task:
    """Resource allocation with feature-driven nonlinear item values (``dff_core.data.synthetic.allocation_data``).

    ``num_items`` items each consume a fixed weight ``w_j ~ U[0.5, 1.5]`` per unit (cap 1 unit);
    the budget is ``budget_fraction * sum(w)``; values are a PyEPO-style polynomial of the
    features times an item-specific interaction and noise, so the decision (``Allocation``,
    max total value) fills items by value per weight.
    """
    _check_sizes("allocation", n_train, n_test)
    _check_degree("allocation", deg)
    if int(num_items) != num_items or num_items < 2:
        raise ValueError(f"allocation: num_items must be an integer >= 2; got {num_items!r}.")
    data = synthetic.allocation_data(
        int(n_train + n_test),
        NUM_FEATURES,
        int(num_items),
        deg=int(deg),
        noise_width=noise_width,
        budget_fraction=budget_fraction,
        seed=int(seed),
    )
    Xtr, Ctr, Xte, Cte = _split(int(n_train), data.X, data.C)
    meta = {"deg": deg, "num_items": int(num_items), "budget_fraction": budget_fraction, "noise_width": noise_width}
    return Task("allocation", data.problem, Xtr, Ctr, Xte, Cte, meta)


def knapsack(deg: int, n_train: int, n_test: int, seed: int, num_items: int = 32, noise_width: float = 0.5) -> Task:
    """PyEPO's 0/1 knapsack (``genData(n, 5, num_items, dim=1, deg, noise_width, seed)``), capacity 20.

    One weight dimension with two-decimal weights, so :class:`~dff_core.problems.Knapsack` solves it
    with its exact dynamic programme (the HiGHS branch and bound path is far slower per solve).
    """
    _check_sizes("knapsack", n_train, n_test)
    _check_degree("knapsack", deg)
    data = synthetic.knapsack_data(
        n_train + n_test, NUM_FEATURES, int(num_items), dim=1, deg=int(deg), noise_width=noise_width, seed=int(seed)
    )
    Xtr, Ctr, Xte, Cte = _split(n_train, data.X, data.C)
    meta = {"deg": deg, "num_items": int(num_items), "noise_width": noise_width, "solver": data.problem.method}
    return Task("knapsack", data.problem, Xtr, Ctr, Xte, Cte, meta)


GENERATORS = {"shortest_path": shortest_path, "knapsack": knapsack, "portfolio": portfolio, "allocation": allocation}


def make_task(task: str, deg: int, n_train: int, n_test: int, seed: int, **kwargs: Any) -> Task:
    """Build the named task (``shortest_path``, ``knapsack``, ``portfolio`` or ``allocation``); ``kwargs`` go to its
    generator."""
    if task not in GENERATORS:
        raise ValueError(f"Unknown task {task!r}; choose one of {sorted(GENERATORS)}.")
    return GENERATORS[task](deg, n_train, n_test, seed, **kwargs)

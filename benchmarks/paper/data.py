"""Synthetic data sets for the paper-style experiments (network flow, portfolio, resource allocation).

Every generator draws the training and the test instances from one call with one seed, so they
share the same hidden feature-to-cost map (PyEPO's ``genData`` draws that map from the seed).
Training instances come first, test instances last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dff_core.problems import Allocation, ShortestPath
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
    """PyEPO's 5x5 grid shortest path: ``genData(n, 5, (5, 5), deg, noise_width, seed)``, 40 arc costs."""
    from pyepo.data import shortestpath

    _check_sizes("shortest_path", n_train, n_test)
    _check_degree("shortest_path", deg)
    X, C = shortestpath.genData(
        n_train + n_test, NUM_FEATURES, (5, 5), deg=int(deg), noise_width=noise_width, seed=int(seed)
    )
    problem = ShortestPath.grid(5, 5)
    Xtr, Ctr, Xte, Cte = _split(n_train, X, C)
    return Task("shortest_path", problem, Xtr, Ctr, Xte, Cte, {"deg": deg, "noise_width": noise_width})


def portfolio_data(
    deg: int, n_train: int, n_test: int, seed: int, num_assets: int = 50, noise_level: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PyEPO's portfolio generator: ``(covariance, X_train, R_train, X_test, R_test)`` of expected returns."""
    from pyepo.data import portfolio

    _check_sizes("portfolio", n_train, n_test)
    _check_degree("portfolio", deg)
    cov, X, R = portfolio.genData(
        n_train + n_test, NUM_FEATURES, num_assets, deg=int(deg), noise_level=noise_level, seed=int(seed)
    )
    Xtr, Rtr, Xte, Rte = _split(n_train, X, R)
    return np.asarray(cov, dtype=np.float64), Xtr, Rtr, Xte, Rte


def portfolio(deg: int, n_train: int, n_test: int, seed: int, num_assets: int = 50, gamma: float = 2.25) -> Task:
    """PyEPO's mean-return portfolio: ``max r^T x`` s.t. ``x^T Σ x <= gamma * mean(Σ)``, ``1^T x <= 1``, ``x >= 0``.

    Uses ``dff_core.problems.Portfolio(covariance, risk_limit)``; raises ``ImportError`` when the
    engine has no such problem.
    """
    from dff_core.problems import Portfolio  # type: ignore[attr-defined]

    cov, Xtr, Rtr, Xte, Rte = portfolio_data(deg, n_train, n_test, seed, num_assets)
    risk_limit = float(gamma * np.mean(cov))
    problem = Portfolio(cov, risk_limit)
    return Task("portfolio", problem, Xtr, Rtr, Xte, Rte, {"deg": deg, "num_assets": num_assets, "gamma": gamma})


def allocation(
    deg: int,
    n_train: int,
    n_test: int,
    seed: int,
    num_items: int = 20,
    budget_fraction: float = 0.3,
    noise_width: float = 0.25,
) -> Task:
    """Resource allocation with feature-driven nonlinear item values (our own generator).

    ``num_items`` items each consume a fixed weight ``w_j ~ U[0.5, 1.5]`` per unit (cap 1 unit);
    the budget is ``budget_fraction * sum(w)``. The value of item ``j`` in context ``x ~ N(0, I_5)``
    is a PyEPO-style polynomial of a random binary projection, times a smooth item-specific
    interaction and multiplicative noise::

        v_j(x) = [((b_j·x)/√p + 3)^deg + 1] / 3.5^deg · exp(0.4 · tanh(a_j·x)) · U[1 − η, 1 + η]

    so ``deg = 1`` is nearly linear and higher degrees make the map strongly nonlinear. Values are
    positive, and the decision (``Allocation``, max total value) fills items by value per weight.
    """
    _check_sizes("allocation", n_train, n_test)
    _check_degree("allocation", deg)
    if int(num_items) != num_items or num_items < 2:
        raise ValueError(f"allocation: num_items must be an integer >= 2; got {num_items!r}.")
    if not 0.0 < budget_fraction < 1.0:
        raise ValueError(f"allocation: budget_fraction must be in (0, 1); got {budget_fraction!r}.")
    if not 0.0 <= noise_width < 1.0:
        raise ValueError(f"allocation: noise_width must be in [0, 1); got {noise_width!r}.")
    rng = np.random.default_rng(int(seed))
    p, d, n = NUM_FEATURES, int(num_items), int(n_train + n_test)
    B = rng.binomial(1, 0.5, (d, p))
    A = rng.normal(0.0, 1.0, (d, p)) / np.sqrt(p)
    weights = rng.uniform(0.5, 1.5, d)
    X = rng.normal(0.0, 1.0, (n, p))
    V = ((X @ B.T) / np.sqrt(p) + 3.0) ** deg + 1.0
    V /= 3.5**deg
    V *= np.exp(0.4 * np.tanh(X @ A.T))
    V *= rng.uniform(1.0 - noise_width, 1.0 + noise_width, (n, d))
    problem = Allocation(np.ones(d), budget=float(budget_fraction * weights.sum()), weights=weights)
    Xtr, Ctr, Xte, Cte = _split(int(n_train), X, V)
    meta = {"deg": deg, "num_items": d, "budget_fraction": budget_fraction, "noise_width": noise_width}
    return Task("allocation", problem, Xtr, Ctr, Xte, Cte, meta)


GENERATORS = {"shortest_path": shortest_path, "portfolio": portfolio, "allocation": allocation}


def make_task(task: str, deg: int, n_train: int, n_test: int, seed: int, **kwargs: Any) -> Task:
    """Build the named task (``shortest_path``, ``portfolio`` or ``allocation``); ``kwargs`` go to its generator."""
    if task not in GENERATORS:
        raise ValueError(f"Unknown task {task!r}; choose one of {sorted(GENERATORS)}.")
    return GENERATORS[task](deg, n_train, n_test, seed, **kwargs)

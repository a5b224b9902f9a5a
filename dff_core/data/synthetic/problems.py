"""Synthetic feature/cost data for the decision problems, in PyEPO's style (numpy only).

PyEPO's generators map features ``x ~ N(0, I_p)`` to costs through a random binary matrix
``B ~ Bernoulli(0.5)`` and a polynomial of degree ``deg``::

    c = [((B x) / √p + 3)^deg + 1] / 3.5^deg · U[1 − ε̄, 1 + ε̄]

so ``deg = 1`` is nearly linear and larger degrees make the feature-to-cost map strongly
nonlinear. :func:`shortest_path_data`, :func:`knapsack_data` and :func:`portfolio_data`
reproduce ``pyepo.data.{shortestpath, knapsack, portfolio}.genData`` (version 2.2.7) draw for
draw from the same seed, including PyEPO's rounding of costs to float32, so the same seed
gives the same numbers as PyEPO. :func:`allocation_data` is this project's own generator for
:class:`~dff_core.problems.Allocation` built on the same polynomial.

Every generator returns a :class:`SyntheticData` (features, true costs, the problem).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dff_core.problems import Allocation, Knapsack, Portfolio, ShortestPath
from dff_core.problems.base import OptProblem

__all__ = ["SyntheticData", "allocation_data", "knapsack_data", "portfolio_data", "shortest_path_data"]


@dataclass(frozen=True)
class SyntheticData:
    """Features ``X`` ``(n, p)``, true costs ``C`` ``(n, d)`` and the problem they parameterise.

    ``params`` records the generator's arguments; ``extra`` holds any further arrays the
    generator drew (e.g. the portfolio covariance as PyEPO returns it).
    """

    X: np.ndarray
    C: np.ndarray
    problem: OptProblem
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.X)


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer; got {value!r}.")
    return int(value)


def _non_negative(owner: str, name: str, value: Any, below: float | None = None) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (below is not None and v >= below):
        limit = f" and below {below:g}" if below is not None else ""
        raise ValueError(f"{owner}: {name} must be a finite number >= 0{limit}; got {value!r}.")
    return v


def _poly(X: np.ndarray, B: np.ndarray, deg: int) -> np.ndarray:
    """PyEPO's unscaled polynomial ``((B x) / √p + 3)^deg + 1`` per row of ``X``."""
    return (X @ B.T / np.sqrt(X.shape[1]) + 3) ** deg + 1


def shortest_path_data(
    num_data: int,
    num_features: int = 5,
    *,
    problem: ShortestPath | None = None,
    grid: tuple[int, int] | None = None,
    deg: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
) -> SyntheticData:
    """Arc costs for a shortest path problem: ``pyepo.data.shortestpath.genData``'s formula.

    ``problem`` is any :class:`ShortestPath` (one cost per arc); ``grid=(h, w)`` builds
    ``ShortestPath.grid(h, w)`` in PyEPO's arc order instead; neither gives PyEPO's 5 x 5 grid.
    On a grid the numbers equal ``genData(num_data, num_features, grid, deg, noise_width, seed)``.
    """
    owner = "shortest_path_data"
    n = _positive_int(owner, "num_data", num_data)
    p = _positive_int(owner, "num_features", num_features)
    deg = _positive_int(owner, "deg", deg)
    noise_width = _non_negative(owner, "noise_width", noise_width)
    if problem is not None and grid is not None:
        raise ValueError(f"{owner}: give either problem or grid, not both.")
    if problem is None:
        h, w = (5, 5) if grid is None else grid
        problem = ShortestPath.grid(int(h), int(w))
    elif not isinstance(problem, ShortestPath):
        raise ValueError(f"{owner}: problem must be a ShortestPath; got {type(problem).__name__}.")
    rnd = np.random.RandomState(int(seed))
    B = rnd.binomial(1, 0.5, (problem.d, p))
    X = rnd.normal(0, 1, (n, p))
    C = _poly(X, B, deg)
    C /= 3.5**deg
    C *= rnd.uniform(1 - noise_width, 1 + noise_width, (n, problem.d))
    params = {"deg": deg, "noise_width": noise_width, "seed": int(seed)}
    return SyntheticData(X, C.astype(np.float32).astype(np.float64), problem, params)


def knapsack_data(
    num_data: int,
    num_features: int = 5,
    num_items: int = 32,
    *,
    dim: int = 1,
    capacity: float | list[float] | np.ndarray | None = None,
    deg: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
) -> SyntheticData:
    """Item values for a 0/1 knapsack: ``pyepo.data.knapsack.genData``'s formula.

    Weights are drawn once, uniformly from 3.00 to 7.99 (two decimals), shape ``(dim, items)``;
    values are ``ceil(5 · poly / 3.5^deg · noise)``, whole numbers. ``capacity`` (default 20 per
    dimension, as in PyEPO's examples) completes the :class:`Knapsack`; the weights are
    ``problem.weights`` and ``extra["weights"]``.
    """
    owner = "knapsack_data"
    n = _positive_int(owner, "num_data", num_data)
    p = _positive_int(owner, "num_features", num_features)
    m = _positive_int(owner, "num_items", num_items)
    dim = _positive_int(owner, "dim", dim)
    deg = _positive_int(owner, "deg", deg)
    noise_width = _non_negative(owner, "noise_width", noise_width)
    rnd = np.random.RandomState(int(seed))
    weights = rnd.choice(range(300, 800), size=(dim, m)) / 100
    B = rnd.binomial(1, 0.5, (m, p))
    X = rnd.normal(0, 1, (n, p))
    C = _poly(X, B, deg)
    C *= 5
    C /= 3.5**deg
    C *= rnd.uniform(1 - noise_width, 1 + noise_width, (n, m))
    C = np.ceil(C).astype(np.float32).astype(np.float64)
    cap = np.full(dim, 20.0) if capacity is None else np.asarray(capacity, dtype=np.float64).ravel()
    if cap.size == 1:
        cap = np.full(dim, cap[0])
    if cap.shape != (dim,):
        raise ValueError(f"{owner}: capacity must be a number or one value per dimension ({dim}); got {capacity!r}.")
    params = {"deg": deg, "noise_width": noise_width, "seed": int(seed), "dim": dim}
    return SyntheticData(X, C, Knapsack(weights, cap), params, {"weights": weights})


def portfolio_data(
    num_data: int,
    num_features: int = 5,
    num_assets: int = 50,
    *,
    deg: int = 1,
    noise_level: float = 1.0,
    gamma: float = 2.25,
    seed: int = 135,
) -> SyntheticData:
    """Expected asset returns: ``pyepo.data.portfolio.genData``'s factor model.

    ``r = (0.05 (B x) / √p + 0.1^(1/deg))^deg + L f + 0.01 τ ε`` with loadings ``L ~ U[±0.0025 τ]``,
    factors ``f`` and residuals ``ε`` standard normal, ``τ = noise_level``; the covariance
    ``L Lᵀ + (0.01 τ)² I`` is ``extra["covariance"]``. The problem is PyEPO's portfolio model,
    :class:`Portfolio` with risk budget ``gamma · mean(covariance)``.
    """
    owner = "portfolio_data"
    n = _positive_int(owner, "num_data", num_data)
    p = _positive_int(owner, "num_features", num_features)
    m = _positive_int(owner, "num_assets", num_assets)
    deg = _positive_int(owner, "deg", deg)
    tau = _non_negative(owner, "noise_level", noise_level)
    gamma = _non_negative(owner, "gamma", gamma)
    rnd = np.random.RandomState(int(seed))
    B = rnd.binomial(1, 0.5, (m, p))
    L = rnd.uniform(-2.5e-3 * tau, 2.5e-3 * tau, (m, p))
    X = rnd.normal(0, 1, (n, p))
    R = (0.05 * (X @ B.T) / np.sqrt(p) + 0.1 ** (1 / deg)) ** deg
    fe = rnd.randn(n, p + m)
    R += fe[:, :p] @ L.T + 0.01 * tau * fe[:, p:]
    cov = L @ L.T + (1e-2 * tau) ** 2 * np.eye(m)
    problem = Portfolio(cov, float(gamma * np.mean(cov)))
    params = {"deg": deg, "noise_level": tau, "gamma": gamma, "seed": int(seed)}
    return SyntheticData(X, R.astype(np.float32).astype(np.float64), problem, params, {"covariance": cov})


def allocation_data(
    num_data: int,
    num_features: int = 5,
    num_items: int = 20,
    *,
    deg: int = 1,
    noise_width: float = 0.25,
    budget_fraction: float = 0.3,
    seed: int = 135,
) -> SyntheticData:
    """Item values for a budgeted :class:`Allocation` (one unit per item at most).

    Each item consumes ``w_j ~ U[0.5, 1.5]`` of a budget ``budget_fraction · Σ w``; its value in
    context ``x`` is the PyEPO polynomial of a random binary projection, times a smooth
    item-specific interaction and multiplicative noise (all positive)::

        v_j(x) = [((b_j·x)/√p + 3)^deg + 1] / 3.5^deg · exp(0.4 · tanh(a_j·x)) · U[1 − η, 1 + η]

    with ``a_j ~ N(0, I/p)``. Draws come from ``numpy.random.default_rng(seed)``.
    """
    owner = "allocation_data"
    n = _positive_int(owner, "num_data", num_data)
    p = _positive_int(owner, "num_features", num_features)
    d = _positive_int(owner, "num_items", num_items)
    deg = _positive_int(owner, "deg", deg)
    if d < 2:
        raise ValueError(f"{owner}: num_items must be an integer >= 2; got {num_items!r}.")
    if not 0.0 < float(budget_fraction) < 1.0:
        raise ValueError(f"{owner}: budget_fraction must be in (0, 1); got {budget_fraction!r}.")
    noise_width = _non_negative(owner, "noise_width", noise_width, below=1.0)
    rng = np.random.default_rng(int(seed))
    B = rng.binomial(1, 0.5, (d, p))
    A = rng.normal(0.0, 1.0, (d, p)) / np.sqrt(p)
    weights = rng.uniform(0.5, 1.5, d)
    X = rng.normal(0.0, 1.0, (n, p))
    V = _poly(X, B, deg)
    V /= 3.5**deg
    V *= np.exp(0.4 * np.tanh(X @ A.T))
    V *= rng.uniform(1.0 - noise_width, 1.0 + noise_width, (n, d))
    problem = Allocation(np.ones(d), budget=float(budget_fraction * weights.sum()), weights=weights)
    params = {"deg": deg, "noise_width": noise_width, "budget_fraction": float(budget_fraction), "seed": int(seed)}
    return SyntheticData(X, V, problem, params)

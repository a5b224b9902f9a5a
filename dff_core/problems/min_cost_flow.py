"""Minimum-cost network flow: ship supplies to demands over capacitated arcs at least cost."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dff_core.problems._lp import StaticLP, incidence
from dff_core.problems.base import OptProblem


class MinCostFlow(OptProblem):
    """``min c^T f`` s.t. flow conservation ``out(v) - in(v) = supplies[v]`` and ``0 <= f <= capacities``.

    Parameters
    ----------
    num_nodes:
        Number of nodes; nodes are ``0 .. num_nodes - 1``.
    edges:
        Directed arcs ``(u, v)``; arc ``j`` carries flow ``W[:, j]`` at unit cost ``C[:, j]``.
        Parallel arcs are allowed (e.g. a toll lane and a free lane).
    capacities:
        Upper bound per arc, shape ``(d,)``; ``np.inf`` for an uncapacitated arc.
    supplies:
        Net supply per node, shape ``(num_nodes,)``: positive = source, negative = sink.
        Supplies must sum to zero.

    The LP is passed to HiGHS once; each instance only changes the objective and is solved
    from the same starting basis, so results are deterministic. Costs may be negative; if
    they make the LP unbounded (a negative-cost cycle of uncapacitated arcs) a
    :class:`~dff_core.errors.SolverError` names the instance.
    """

    sense = "min"

    def __init__(
        self,
        num_nodes: int,
        edges: Sequence[tuple[int, int]] | np.ndarray,
        capacities: Sequence[float] | np.ndarray,
        supplies: Sequence[float] | np.ndarray,
    ) -> None:
        cls = "MinCostFlow"
        if isinstance(num_nodes, bool) or int(num_nodes) != num_nodes or num_nodes < 1:
            raise ValueError(f"{cls}: num_nodes must be a positive integer; got {num_nodes!r}.")
        self.num_nodes = N = int(num_nodes)
        E = np.asarray(edges)
        if E.ndim != 2 or E.shape[1] != 2 or len(E) == 0:
            raise ValueError(f"{cls}: edges must be a non-empty list of (u, v) pairs; got shape {E.shape}.")
        if not np.issubdtype(E.dtype, np.integer) and not (
            np.all(np.isfinite(E.astype(np.float64))) and np.all(np.round(E) == E)
        ):
            raise ValueError(f"{cls}: edges must hold integer node ids.")
        E = E.astype(np.int64)
        bad = (E < 0) | (N <= E)
        if bad.any():
            k = int(np.argwhere(bad.any(axis=1))[0, 0])
            raise ValueError(f"{cls}: edge {k} {tuple(E[k])} names an unknown node; nodes are 0..{N - 1}.")
        loops = E[:, 0] == E[:, 1]
        if loops.any():
            k = int(np.flatnonzero(loops)[0])
            raise ValueError(f"{cls}: edge {k} {tuple(E[k])} is a self loop; drop it (it carries no flow).")
        self.edges = E
        self.d = len(E)
        cap = np.asarray(capacities, dtype=np.float64).ravel()
        if cap.shape != (self.d,):
            raise ValueError(f"{cls}: capacities must hold one value per edge ({self.d}); got {cap.size}.")
        if np.isnan(cap).any() or (cap < 0).any():
            k = int(np.flatnonzero(np.isnan(cap) | (cap < 0))[0])
            raise ValueError(
                f"{cls}: capacities[{k}] = {cap[k]!r}; capacities must be non-negative (np.inf = uncapacitated)."
            )
        self.capacities = cap
        sup = np.asarray(supplies, dtype=np.float64).ravel()
        if sup.shape != (N,):
            raise ValueError(f"{cls}: supplies must hold one value per node ({N}); got {sup.size}.")
        if not np.all(np.isfinite(sup)):
            k = int(np.flatnonzero(~np.isfinite(sup))[0])
            raise ValueError(f"{cls}: supplies[{k}] = {sup[k]!r} is not finite.")
        total = float(sup.sum())
        if abs(total) > 1e-9 * max(1.0, float(np.abs(sup).sum())):
            raise ValueError(
                f"{cls}: supplies sum to {total:.6g}; sources (positive) must balance sinks (negative) exactly."
            )
        self.supplies = sup
        self._lp = StaticLP(incidence(N, E), sup, sup, np.zeros(self.d), cap, cls, warm_cost=np.ones(self.d))

    def _solve(self, C: np.ndarray) -> np.ndarray:
        W = np.empty_like(C)
        for i, c in enumerate(C):
            W[i] = self._lp.solve(c, i)
        return W

    def __repr__(self) -> str:
        return f"MinCostFlow(num_nodes={self.num_nodes}, arcs={self.d}, supply={self.supplies.clip(0).sum():g})"

"""Shortest paths on a directed graph, solved for a whole batch of cost vectors at once.

Exact batched algorithms, chosen once at construction (``algorithm`` tells which):

* ``"dag-dp"``, acyclic graphs (e.g. PyEPO's grid): a dynamic programme in topological order,
  exact for costs of any sign (compiled with numba; without numba, vectorised over the batch
  with one numpy operation per node);
* ``"dijkstra"``, graphs with cycles: a compiled Dijkstra per (instance, origin) that stops
  once the origin's destinations are settled (numba, see ``_graph.py``; without numba, one
  scipy multi-source Dijkstra on a block-diagonal copy of the network per instance);
* ``"cch"``, large road networks: customizable contraction hierarchies (``_cch.py``): one
  metric-independent preprocessing per problem (``preprocess_seconds``), then per cost vector
  a customization and one cheap query per pair. Chosen when its estimated cost per instance
  is below Dijkstra's (see :data:`CCH_MIN_NODES` and :meth:`ShortestPath._triangle_budget`).

Rows of a batch are split over the CPUs (``_graph.run_split``). Every algorithm breaks ties
deterministically, so the same costs always give the same paths; Dijkstra and CCH may pick
different paths among equally short ones (same objective value). Negative costs on graphs
with cycles go through :meth:`ShortestPath.solve_surrogate` (exact bounded unit flows,
``_flow.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from dff_core.errors import SolverError
from dff_core.problems import _cch, _cch_kernels, _flow, _graph
from dff_core.problems._lp import BoundedFlowLP
from dff_core.problems.base import OptProblem

#: Dijkstra's priority queue: a tournament tree up to this many nodes, a binary heap above.
HEAP_MIN_NODES = 2048
#: Graphs with fewer non-zone nodes than this always use Dijkstra (no CCH preprocessing).
CCH_MIN_NODES = 300
# Cost model per instance (CPU seconds, fitted to single-thread runs on the project machine:
# grids 15x15..120x120, METR-LA, Anaheim, Chicago Sketch, Philadelphia). CCH: customization per
# lower triangle plus a query per pair. Dijkstra: per origin and arc, growing with the node
# count (deeper priority queue, fewer cache hits).
_CCH_PER_TRIANGLE = 3.5e-9
_CCH_PER_QUERY = 8e-6
_DIJKSTRA_PER_ARC = 12e-9
_DIJKSTRA_PER_ARC_LOG2 = 3.5e-9


class ShortestPath(OptProblem):
    """Route one or several origin-destination pairs through a directed graph.

    Parameters
    ----------
    num_nodes:
        Number of nodes; nodes are ``0 .. num_nodes - 1``.
    edges:
        Directed arcs ``(u, v)``. Arc ``j`` has cost ``C[:, j]``; costs must be non-negative.
    source, target:
        A single origin-destination pair. Use ``pairs`` for several.
    pairs:
        Origin-destination pairs ``[(s1, t1), ...]``; the decision is the (demand-weighted)
        sum of the pairs' path indicators, and its objective the total travel cost.
    demand:
        Vehicles per pair (default 1 each), so the objective is in vehicle-cost units.
    zones:
        Nodes that may start or end a path but are never passed through (e.g. the TNTP
        centroids, numbered below the file's ``<FIRST THRU NODE>``).
    algorithm:
        ``"auto"`` (default) picks Dijkstra or contraction hierarchies by estimated cost on
        graphs with cycles; ``"dijkstra"`` or ``"cch"`` force one (``"cch"`` needs numba and
        pymetis). Acyclic graphs always use the dynamic programme. On graphs of 300 or more
        non-zone nodes ``"auto"`` computes the CCH ordering to count its triangles, which takes
        seconds on very large grids even when Dijkstra then wins; ``"dijkstra"`` skips that.

    The decision ``W[i, j]`` is the flow on arc ``j`` in instance ``i``: 0/1 for one pair.
    """

    sense = "min"

    def __init__(
        self,
        num_nodes: int,
        edges: Sequence[tuple[int, int]] | np.ndarray,
        source: int | None = None,
        target: int | None = None,
        *,
        pairs: Sequence[tuple[int, int]] | np.ndarray | None = None,
        demand: Sequence[float] | np.ndarray | None = None,
        zones: Sequence[int] | np.ndarray | None = None,
        algorithm: Literal["auto", "dijkstra", "cch"] = "auto",
    ) -> None:
        if int(num_nodes) != num_nodes or num_nodes < 1:
            raise ValueError(f"ShortestPath: num_nodes must be a positive integer; got {num_nodes!r}.")
        self.num_nodes = int(num_nodes)
        E = np.asarray(edges, dtype=np.int64)
        if E.ndim != 2 or E.shape[1] != 2 or len(E) == 0:
            raise ValueError(f"ShortestPath: edges must be a non-empty list of (u, v) pairs; got shape {E.shape}.")
        bad = (E < 0) | (self.num_nodes <= E)
        if bad.any():
            k = int(np.argwhere(bad.any(axis=1))[0, 0])
            raise ValueError(
                f"ShortestPath: edge {k} {tuple(E[k])} names an unknown node; nodes are 0..{self.num_nodes - 1}."
            )
        keys = E[:, 0] * self.num_nodes + E[:, 1]
        uniq, counts = np.unique(keys, return_counts=True)
        if (counts > 1).any():
            dup = int(uniq[counts > 1][0])
            u, v = divmod(dup, self.num_nodes)
            raise ValueError(
                f"ShortestPath: edge ({u}, {v}) appears more than once; keep one arc per node pair "
                "(the cheaper one) before building the problem."
            )
        self.edges = E
        self.d = len(E)

        if pairs is None:
            if source is None or target is None:
                raise ValueError("ShortestPath: give source and target, or pairs=[(s, t), ...].")
            pairs = [(source, target)]
        elif source is not None or target is not None:
            raise ValueError("ShortestPath: give either source/target or pairs, not both.")
        P = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(P) == 0:
            raise ValueError("ShortestPath: pairs must contain at least one (source, target) pair.")
        for k, (s, t) in enumerate(P):
            for name, node in (("source", s), ("target", t)):
                if not 0 <= node < self.num_nodes:
                    raise ValueError(
                        f"ShortestPath: pair {k} has unknown {name} node {int(node)}; "
                        f"nodes are 0..{self.num_nodes - 1}."
                    )
        self.pairs = P
        dem = np.ones(len(P)) if demand is None else np.asarray(demand, dtype=np.float64).ravel()
        if dem.shape != (len(P),) or not np.all(np.isfinite(dem)) or (dem < 0).any():
            raise ValueError(
                f"ShortestPath: demand must hold one finite non-negative number per pair ({len(P)}); got {demand!r}."
            )
        self.demand = dem
        zone = np.zeros(self.num_nodes, dtype=bool)
        if zones is not None:
            Z = np.asarray(zones).ravel()
            if len(Z) and (not np.issubdtype(Z.dtype, np.integer) or (Z < 0).any() or (self.num_nodes <= Z).any()):
                raise ValueError(f"ShortestPath: zones must be node ids in 0..{self.num_nodes - 1}; got {zones!r:.80}.")
            zone[Z.astype(np.int64)] = True
        self._zone = zone
        self.zones = np.flatnonzero(zone)
        if algorithm not in ("auto", "dijkstra", "cch"):
            raise ValueError(f"ShortestPath: algorithm must be 'auto', 'dijkstra' or 'cch'; got {algorithm!r}.")

        # Arc lookup: sorted keys u * N + v -> arc index.
        order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[order]
        self._sorted_arcs = order
        self._check_reachable()
        self._topo = self._topological_order()
        # Acyclic graphs are solved exactly for any real costs; graphs with cycles need
        # non-negative costs (a negative cycle would make the path problem unbounded).
        self.requires_nonnegative = self._topo is None
        #: Seconds spent on metric-independent preprocessing (CCH only; 0 otherwise).
        self.preprocess_seconds = 0.0
        self._cch: _cch.CCHRouter | None = None
        if self._topo is not None:
            self._prepare_dag()
            self.algorithm = "dag-dp"
        else:
            self._prepare_dijkstra()
            self.algorithm = "dijkstra"
            self._prepare_cch(algorithm)
        self._lp_cache: dict[int, BoundedFlowLP] = {}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def grid(cls, h: int = 5, w: int = 5) -> ShortestPath:
        """The h x w grid from the top-left to the bottom-right node, arcs going right or down.

        Arcs are listed in PyEPO's order (per row: the row's rightward arcs, then the
        downward arcs leaving that row), so costs from ``pyepo.data.shortestpath.genData``
        can be used directly.
        """
        if h < 1 or w < 1 or h * w < 2:
            raise ValueError(f"ShortestPath.grid: need h, w >= 1 and at least 2 nodes; got ({h}, {w}).")
        arcs: list[tuple[int, int]] = []
        for i in range(h):
            for j in range(w - 1):
                v = i * w + j
                arcs.append((v, v + 1))
            if i == h - 1:
                continue
            for j in range(w):
                v = i * w + j
                arcs.append((v, v + w))
        return cls(h * w, arcs, 0, h * w - 1)

    # ------------------------------------------------------------------ preparation
    def _check_reachable(self) -> None:
        tails, heads = self.edges[:, 0], self.edges[:, 1]
        sources = np.unique(self.pairs[:, 0])
        reach = {}
        for s in sources:
            keep = ~self._zone[tails] | (tails == s)  # zones other than the origin are not left
            adj = sp.csr_matrix((np.ones(int(keep.sum())), (tails[keep], heads[keep])), shape=(self.num_nodes,) * 2)
            order = sp.csgraph.breadth_first_order(adj, int(s), directed=True, return_predecessors=False)
            reach[int(s)] = set(order.tolist())
        for k, (s, t) in enumerate(self.pairs):
            if int(t) not in reach[int(s)]:
                raise ValueError(
                    f"ShortestPath: target {int(t)} is not reachable from source {int(s)} (pair {k}); "
                    "check the edge directions, the pair, or whether only zones connect them."
                )

    def _topological_order(self) -> np.ndarray | None:
        indeg = np.bincount(self.edges[:, 1], minlength=self.num_nodes)
        out: list[list[int]] = [[] for _ in range(self.num_nodes)]
        for u, v in self.edges:
            out[u].append(v)
        stack = [v for v in range(self.num_nodes) if indeg[v] == 0][::-1]
        order: list[int] = []
        indeg = indeg.copy()
        while stack:
            u = stack.pop()
            order.append(u)
            for v in out[u]:
                indeg[v] -= 1
                if indeg[v] == 0:
                    stack.append(v)
        return np.asarray(order) if len(order) == self.num_nodes else None

    def _prepare_dag(self) -> None:
        heads = self.edges[:, 1]
        self._in_arcs = [np.flatnonzero(heads == v) for v in range(self.num_nodes)]
        self._sources = np.unique(self.pairs[:, 0])
        self._prepare_kernels()
        self._topo_arr = np.ascontiguousarray(self._topo, dtype=np.int64)
        #: "numba" (compiled DP) or "numpy" (vectorised DP over the batch, one step per node).
        self.backend = "numba" if _graph.AVAILABLE else "numpy"

    def _prepare_dijkstra(self) -> None:
        order = np.lexsort((self.edges[:, 1], self.edges[:, 0]))
        self._csr_perm = order  # arc index of each CSR entry
        self._csr_indices = self.edges[order, 1]
        counts = np.bincount(self.edges[:, 0], minlength=self.num_nodes)
        self._csr_indptr = np.concatenate([[0], np.cumsum(counts)])
        self._sources = np.unique(self.pairs[:, 0])
        self._prepare_kernels()
        #: "numba" (compiled kernels) or "scipy" (scipy Dijkstra + HiGHS LP fallback).
        self.backend = "numba" if _graph.AVAILABLE else "scipy"

    def _prepare_cch(self, algorithm: str) -> None:
        """Build the contraction hierarchy when asked to, or when ``auto`` estimates it cheaper."""
        if algorithm == "dijkstra" or self.backend != "numba":
            if algorithm == "cch":
                raise ValueError("ShortestPath: algorithm='cch' needs numba; install it or use 'auto'.")
            return
        if not _cch.AVAILABLE:
            if algorithm == "cch":
                raise ValueError("ShortestPath: algorithm='cch' needs pymetis (pip install pymetis); or use 'auto'.")
            return
        if algorithm == "auto" and self.num_nodes - len(self.zones) < CCH_MIN_NODES:
            return
        budget = math.inf if algorithm == "cch" else self._triangle_budget()
        if budget <= 0:
            return
        index = _cch.build_index(self.num_nodes, self._tails, self._heads, self._zone, budget)
        if index is None:  # more lower triangles than the budget: Dijkstra is cheaper
            return
        self._cch = _cch.CCHRouter(index, self._tails, self._heads, self._zone, self.pairs, self.demand)
        self.preprocess_seconds = index.seconds
        self.algorithm = "cch"

    def _triangle_budget(self) -> float:
        """Lower triangles below which CCH (customization + queries) beats Dijkstra per instance.

        Dijkstra scans about every arc once per origin (destinations are typically far apart);
        CCH customization touches every lower triangle once. Measured crossover: CCH is 2.5-4.6x
        faster on the TNTP road networks (Anaheim, Chicago Sketch, Philadelphia) and slower on
        square grids from 30x30 up (their separators grow like sqrt(n)) and on METR-LA.
        """
        origins = len(self._k_src)
        per_arc = _DIJKSTRA_PER_ARC + _DIJKSTRA_PER_ARC_LOG2 * max(0.0, math.log2(self.num_nodes) - 7)
        dijkstra = origins * self.d * per_arc
        return (dijkstra - len(self._k_tgt) * _CCH_PER_QUERY) / _CCH_PER_TRIANGLE

    def _prepare_kernels(self) -> None:
        """Adjacency arrays and per-origin destination lists for the compiled kernels."""
        N = self.num_nodes
        tails, heads = self.edges[:, 0], self.edges[:, 1]
        self._out_ptr = np.concatenate([[0], np.cumsum(np.bincount(tails, minlength=N))]).astype(np.int64)
        self._out_arc = np.lexsort((heads, tails)).astype(np.int64)
        self._in_ptr = np.concatenate([[0], np.cumsum(np.bincount(heads, minlength=N))]).astype(np.int64)
        self._in_arc = np.argsort(heads, kind="stable").astype(np.int64)  # increasing arc index per head
        self._heads = np.ascontiguousarray(heads, dtype=np.int64)
        self._tails = np.ascontiguousarray(tails, dtype=np.int64)
        # Destinations per origin (pairs with s == t or zero demand carry no flow).
        live = (self.pairs[:, 0] != self.pairs[:, 1]) & (self.demand != 0)
        srcs = np.unique(self.pairs[live, 0])
        ptr, nodes, dems = [0], [], []
        for s in srcs:
            sel = live & (self.pairs[:, 0] == s)
            nodes.extend(self.pairs[sel, 1].tolist())
            dems.extend(self.demand[sel].tolist())
            ptr.append(len(nodes))
        self._k_src = srcs.astype(np.int64)
        self._k_ptr = np.asarray(ptr, dtype=np.int64)
        self._k_tgt = np.asarray(nodes, dtype=np.int64)
        self._k_dem = np.asarray(dems, dtype=np.float64)
        # rows per thread block: splitting a batch pays off once a block holds ~50k arc scans
        self._min_rows = max(2, 50_000 // max(1, self.d * max(1, len(srcs))))

    # ------------------------------------------------------------------ solving
    def _arc_of(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self._sorted_keys, u * self.num_nodes + v)
        return self._sorted_arcs[pos]

    def _solve(self, C: np.ndarray) -> np.ndarray:
        n = C.shape[0]
        W = np.zeros((n, self.d))
        if n == 0:
            return W
        C = np.ascontiguousarray(C)
        rows = self._min_rows
        if self._topo is not None and self.backend == "numba":
            bad = _graph.run_split(
                _graph.dag_paths, C, W, self._topo_arr, self._in_ptr, self._in_arc, self._tails, self._zone,
                self._k_src, self._k_ptr, self._k_tgt, self._k_dem, min_rows=rows,
            )  # fmt: skip
            if bad >= 0:  # cannot happen after the reachability check; kept as a guard
                raise SolverError(f"ShortestPath: a destination was not reached on instance {bad}.")
            return W
        if self._topo is not None:
            pred_arc = {int(s): self._dag_predecessors(C, int(s)) for s in self._sources}
        elif self.backend == "numba":
            if self._cch is not None:
                bad = _graph.run_split(
                    _cch_kernels.cch_paths, C, W, *self._cch.kernel_args(), min_rows=1, align=_cch_kernels.BLOCK
                )
            else:
                bad = _graph.run_split(
                    _graph.shortest_paths, C, W, self._out_ptr, self._out_arc, self._heads, self._tails, self._zone,
                    self._k_src, self._k_ptr, self._k_tgt, self._k_dem, self.num_nodes > HEAP_MIN_NODES, min_rows=rows,
                )  # fmt: skip
            if bad >= 0:  # cannot happen after the reachability check; kept as a guard
                raise SolverError(f"ShortestPath: a destination was not reached on instance {bad}.")
            return W
        else:
            pred_arc = self._dijkstra_predecessors(C)
        rows = np.arange(n)
        tails = self.edges[:, 0]
        for (s, t), dem in zip(self.pairs, self.demand, strict=True):
            if s == t or dem == 0:
                continue
            pa = pred_arc[int(s)]
            cur = np.full(n, t)
            active = np.ones(n, dtype=bool)
            for _ in range(self.num_nodes):
                idx = rows[active]
                arcs = pa[idx, cur[idx]]
                W[idx, arcs] += dem
                cur[idx] = tails[arcs]
                active[idx] = cur[idx] != s
                if not active.any():
                    break
        return W

    def solve_surrogate(self, C: np.ndarray) -> np.ndarray:
        """Like :meth:`solve`, but rows with negative costs on a graph with cycles are solved
        over the bounded unit-flow polytope (``0 <= w <= 1`` per pair, an LP that stays bounded
        with negative cycles) instead of over simple paths. Non-negative rows and acyclic
        graphs give exactly :meth:`solve`'s answer.

        Zones are not passed through here either. The LP is solved exactly by a compiled
        primal-dual min-cost flow (``_flow.py``; HiGHS without numba).
        """
        C = np.atleast_2d(np.asarray(C, dtype=np.float64))
        if self._topo is not None:
            return self.solve(C)
        if C.ndim != 2 or C.shape[1] != self.d or not np.isfinite(C).all():
            return self.solve(C)  # raises the usual message
        neg = (C < 0).any(axis=1)
        if not neg.any():
            return self._solve(np.ascontiguousarray(C))
        W = np.zeros_like(C)
        if (~neg).any():
            W[~neg] = self._solve(C[~neg])
        if not neg.any():
            return W
        if self.backend == "numba":
            idx = np.flatnonzero(neg)
            every = len(idx) == len(C)  # the usual SPO+ batch: no row copies
            Wn = W if every else np.zeros((len(idx), self.d))
            bad = _graph.run_split(
                _flow.bounded_flows, np.ascontiguousarray(C if every else C[idx]), Wn, self._out_ptr, self._out_arc,
                self._in_ptr, self._in_arc, self._heads, self._tails, self._zone, self.pairs[:, 0].copy(),
                self.pairs[:, 1].copy(), self.demand, min_rows=max(1, self._min_rows // 8), chunks_per_thread=4,
            )  # fmt: skip
            if bad >= 0:
                raise SolverError(f"ShortestPath: bounded-flow surrogate could not route instance {int(idx[bad])}.")
            if not every:
                W[idx] = Wn
            return W
        for i in np.flatnonzero(neg):
            W[i] = self._solve_flow_lp(C[i], int(i))
        return W

    def _solve_flow_lp(self, c: np.ndarray, instance: int | None = None) -> np.ndarray:
        w = np.zeros(self.d)
        for k, ((s, t), dem) in enumerate(zip(self.pairs, self.demand, strict=True)):
            if s == t or dem == 0:
                continue
            lp = self._lp_cache.get(k)
            if lp is None:
                tails, heads = self.edges[:, 0], self.edges[:, 1]
                usable = (~self._zone[tails] | (tails == s)) & (~self._zone[heads] | (heads == t))
                lp = self._lp_cache[k] = BoundedFlowLP(self.num_nodes, self.edges, int(s), int(t), usable=usable)
            w += dem * lp.solve(c, instance)
        return w

    def _dag_predecessors(self, C: np.ndarray, s: int) -> np.ndarray:
        """Predecessor arc of every node on a shortest path tree from ``s`` (DAG DP)."""
        assert self._topo is not None  # called only for acyclic graphs
        n = C.shape[0]
        dist = np.full((n, self.num_nodes), np.inf)
        dist[:, s] = 0.0
        pred = np.full((n, self.num_nodes), -1, dtype=np.int64)
        rows = np.arange(n)
        tails = self.edges[:, 0]
        started = False
        for v in self._topo:
            if v == s:
                started = True
                continue
            if not started:
                continue
            arcs = self._in_arcs[v]
            if self._zone.any():  # arcs leaving a zone other than the origin are not usable
                t_arcs = tails[arcs]
                arcs = arcs[~self._zone[t_arcs] | (t_arcs == s)]
            if len(arcs) == 0:
                continue
            if len(arcs) == 1:
                dist[:, v] = dist[:, tails[arcs[0]]] + C[:, arcs[0]]
                pred[:, v] = arcs[0]
                continue
            cand = dist[:, tails[arcs]] + C[:, arcs]
            k = np.argmin(cand, axis=1)  # first minimum: ties go to the lower arc index
            dist[:, v] = cand[rows, k]
            pred[:, v] = arcs[k]
        return pred

    def _dijkstra_predecessors(self, C: np.ndarray) -> dict[int, np.ndarray]:
        """One scipy Dijkstra over a block-diagonal graph: a copy per (instance, source)."""
        n = C.shape[0]
        N = self.num_nodes
        srcs = self._sources
        blocks = n * len(srcs)
        # per origin, the CSR entries usable from it (zones other than the origin are not left)
        csr_tails = self.edges[self._csr_perm, 0]
        datas, idxs, ptrs, base = [], [], [], 0
        for k, s in enumerate(srcs):
            keep = ~self._zone[csr_tails] | (csr_tails == s)
            counts = np.bincount(csr_tails[keep], minlength=N)
            ptr = np.concatenate([[0], np.cumsum(counts)])
            m = int(keep.sum())
            datas.append(C[:, self._csr_perm[keep]].ravel())
            offs = ((k * n + np.arange(n)) * N)[:, None]
            idxs.append((self._csr_indices[keep][None, :] + offs).ravel())
            ptrs.append((ptr[None, :-1] + base + (np.arange(n) * m)[:, None]).ravel())
            base += n * m
        data = np.concatenate(datas)
        indices = np.concatenate(idxs)
        indptr = np.concatenate([*ptrs, [base]])
        graph = sp.csr_matrix((data, indices, indptr), shape=(blocks * N, blocks * N))
        starts = (np.repeat(srcs[:, None], n, axis=1).ravel() + np.arange(blocks) * N).astype(np.int64)
        # block b = k * n + i holds source srcs[k] for instance i
        _, pred, _ = dijkstra(graph, directed=True, indices=starts, return_predecessors=True, min_only=True)
        pred = pred.reshape(blocks, N)
        node_pred = pred - (np.arange(blocks) * N)[:, None]
        out: dict[int, np.ndarray] = {}
        for k, s in enumerate(srcs):
            npred = node_pred[k * n : (k + 1) * n]
            valid = pred[k * n : (k + 1) * n] >= 0
            heads = np.broadcast_to(np.arange(N), npred.shape)
            arcs = np.full(npred.shape, -1, dtype=np.int64)
            arcs[valid] = self._arc_of(npred[valid], heads[valid])
            out[int(s)] = arcs
        return out

    def __repr__(self) -> str:
        zones = f", zones={len(self.zones)}" if len(self.zones) else ""
        return (
            f"ShortestPath(num_nodes={self.num_nodes}, arcs={self.d}, pairs={len(self.pairs)}{zones}, "
            f"algorithm={self.algorithm!r})"
        )

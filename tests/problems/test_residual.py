"""Residual-graph searches of the bounded-flow kernels: the two-ended pair search."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from dff_core.problems import ShortestPath
from dff_core.problems._graph import _tree_reset
from dff_core.problems._residual import _pair_path


def _walk(meet: int, pf: np.ndarray, pb: np.ndarray, p: ShortestPath) -> list[int]:
    """Arcs of the path found: back from the meeting node to s, then on to t."""
    arcs, v = [], meet
    while pf[v] != -1:
        arcs.append(int(pf[v]))
        v = int(p.edges[pf[v], 0])
    arcs.reverse()
    v = meet
    while pb[v] != -1:
        arcs.append(int(pb[v]))
        v = int(p.edges[pb[v], 1])
    return arcs


def test_two_ended_search_finds_a_shortest_path_and_follows_saturated_arcs_backwards() -> None:
    rng = np.random.default_rng(0)
    N = 60
    E = np.array(sorted({(int(a), int(b)) for a, b in rng.integers(0, N, (400, 2)) if a != b}))
    p = ShortestPath(N, E, pairs=[(0, 1)], algorithm="dijkstra")
    S = 64
    bufs = [np.empty(2 * S), np.empty(2 * S, np.int64), np.empty(2 * S), np.empty(2 * S, np.int64)]
    _tree_reset(bufs[0], bufs[1], S)
    _tree_reset(bufs[2], bufs[3], S)
    df, db, npi = np.empty(N), np.empty(N), np.empty(N)
    pf, pb = np.empty(N, np.int64), np.empty(N, np.int64)
    sf, sb = np.zeros(N, bool), np.zeros(N, bool)
    ok, x, pi = np.ones(len(E), bool), np.zeros(len(E), bool), np.zeros(N)
    for _ in range(10):
        q = rng.uniform(0.1, 1.0, len(E))
        s, t = (int(v) for v in rng.choice(N, 2, replace=False))
        ref = dijkstra(sp.csr_matrix((q, (E[:, 0], E[:, 1])), shape=(N, N)), indices=s)[t]
        args = (p._out_ptr, p._out_arc, p._in_ptr, p._in_arc, p._heads, p._tails, *bufs, S, df, pf, sf, db, pb, sb)
        meet = _pair_path(s, t, q, pi, npi, x, ok, *args)
        if not np.isfinite(ref):
            assert meet == -1
            continue
        path = _walk(meet, pf, pb, p)
        assert E[path[0], 0] == s and E[path[-1], 1] == t
        assert abs(q[path].sum() - ref) < 1e-12
    # a saturated arc 0 -> 1 opens the residual arc 1 -> 0 at cost -q (here made 0 by potentials)
    E2 = np.array([[0, 1], [1, 2], [2, 0]])
    p2 = ShortestPath(3, E2, 1, 0, algorithm="dijkstra")
    q2 = np.array([1.0, 5.0, 5.0])
    x2 = np.array([True, False, False])
    pi2 = np.array([0.0, 1.0, 0.0])  # keeps every residual reduced cost >= 0
    t2 = [np.empty(8), np.empty(8, np.int64), np.empty(8), np.empty(8, np.int64)]
    _tree_reset(t2[0], t2[1], 4)
    _tree_reset(t2[2], t2[3], 4)
    a3 = [np.empty(3), np.empty(3, np.int64), np.zeros(3, bool), np.empty(3), np.empty(3, np.int64), np.zeros(3, bool)]
    args2 = (p2._out_ptr, p2._out_arc, p2._in_ptr, p2._in_arc, p2._heads, p2._tails, *t2, 4, *a3)
    meet = _pair_path(1, 0, q2, pi2, np.empty(3), x2, np.ones(3, bool), *args2)
    codes = {int(a3[1][meet]), int(a3[4][meet])} - {-1}
    assert codes == {-2}  # arc 0 used backwards, encoded -(0 + 2)

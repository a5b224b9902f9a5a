"""Compiled graph kernels (numba) for batched shortest paths and bounded unit flows.

* :func:`shortest_paths` runs one Dijkstra per (instance, origin), stopping as
  soon as the origin's destinations are settled, and writes the demand-weighted path
  indicators straight into the decision matrix.
* :func:`bounded_flows` solves ``min q^T w`` over unit s-t flows with ``0 <= w <= 1`` for
  costs of any sign (SPO+'s ``2ĉ - c`` on a road network with cycles) exactly, by successive
  shortest paths: negative arcs start saturated, so every residual cost is non-negative and
  each augmentation is a Dijkstra on reduced costs (node potentials keep them non-negative).

The priority queue is a tournament tree over the nodes (decrease-key and extract-min in
``log2(N)`` branch-light steps, no stale entries), which beats a binary heap on road-sized
graphs. Both are deterministic: arcs are scanned in a fixed order, ties go to the lower
node and labels change only on strict improvement. When numba is not installed ``AVAILABLE`` is
False and :mod:`dff_core.problems.shortest_path` falls back to scipy and HiGHS.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without numba
    AVAILABLE = False

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        def wrap(f):
            return f

        return wrap if not args or not callable(args[0]) else args[0]


@njit(cache=True)
def _tree_reset(tk, tv, S):  # type: ignore[no-untyped-def]
    """Empty tournament tree over ``S`` leaves (one per node, leaf ``v`` at ``S + v``)."""
    for i in range(2 * S):
        tk[i] = np.inf
    for v in range(S):
        tv[S + v] = v
    for i in range(S - 1, 0, -1):
        tv[i] = tv[2 * i]


@njit(cache=True)
def _tree_set(tk, tv, S, v, key):  # type: ignore[no-untyped-def]
    """Set node ``v``'s key and repair the path to the root; ties go to the lower node."""
    i = S + v
    tk[i] = key
    i >>= 1
    while i >= 1:
        left = 2 * i
        right = left + 1
        if tk[right] < tk[left]:
            tk[i] = tk[right]
            tv[i] = tv[right]
        else:
            tk[i] = tk[left]
            tv[i] = tv[left]
        i >>= 1


@njit(cache=True)
def shortest_paths(C, out_ptr, out_arc, heads, tails, src, tgt_ptr, tgt_node, tgt_dem, W):  # type: ignore[no-untyped-def]
    """Add ``dem * path(s -> t)`` to ``W[i]`` for every instance ``i`` and destination.

    ``src[k]`` is an origin; its destinations are ``tgt_node[tgt_ptr[k]:tgt_ptr[k+1]]`` with
    demands ``tgt_dem[...]``. Costs must be non-negative. Returns the first instance with an
    unreachable destination, or -1.
    """
    n = C.shape[0]
    N = out_ptr.shape[0] - 1
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    done = np.zeros(N, np.bool_)
    wanted = np.zeros(N, np.bool_)
    S = 1
    while S < N:
        S *= 2
    tk = np.empty(2 * S)
    tv = np.empty(2 * S, np.int64)
    for i in range(n):
        c = C[i]
        for k in range(src.shape[0]):
            s = src[k]
            remaining = 0
            for p in range(tgt_ptr[k], tgt_ptr[k + 1]):
                t = tgt_node[p]
                if not wanted[t]:
                    wanted[t] = True
                    remaining += 1
            for v in range(N):
                dist[v] = np.inf
                pred[v] = -1
                done[v] = False
            _tree_reset(tk, tv, S)
            dist[s] = 0.0
            _tree_set(tk, tv, S, s, 0.0)
            while remaining > 0 and tk[1] < np.inf:
                d = tk[1]
                u = tv[1]
                _tree_set(tk, tv, S, u, np.inf)
                done[u] = True
                if wanted[u]:
                    wanted[u] = False
                    remaining -= 1
                    if remaining == 0:
                        break
                for p in range(out_ptr[u], out_ptr[u + 1]):
                    j = out_arc[p]
                    v = heads[j]
                    nd = d + c[j]
                    if nd < dist[v] and not done[v]:
                        dist[v] = nd
                        pred[v] = j
                        _tree_set(tk, tv, S, v, nd)
            if remaining > 0:
                for v in range(N):
                    wanted[v] = False
                return i
            for p in range(tgt_ptr[k], tgt_ptr[k + 1]):
                t = tgt_node[p]
                dem = tgt_dem[p]
                v = t
                while v != s:
                    j = pred[v]
                    W[i, j] += dem
                    v = tails[j]
    return -1


@njit(cache=True)
def bounded_flows(Q, out_ptr, out_arc, in_ptr, in_arc, heads, tails, pair_s, pair_t, pair_dem, W):  # type: ignore[no-untyped-def]
    """Add ``dem * argmin{q^T w : unit s-t flow, 0 <= w <= 1}`` to ``W[i]`` per instance and pair.

    Exact for costs of any sign (successive shortest paths with potentials). Returns the
    first instance that could not be routed, or -1.
    """
    n = Q.shape[0]
    N = out_ptr.shape[0] - 1
    m = heads.shape[0]
    x = np.zeros(m, np.bool_)
    ex = np.zeros(N, np.int64)
    pi = np.zeros(N)
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    done = np.zeros(N, np.bool_)
    S = 1
    while S < N:
        S *= 2
    tk = np.empty(2 * S)
    tv = np.empty(2 * S, np.int64)
    for i in range(n):
        q = Q[i]
        for k in range(pair_s.shape[0]):
            s = pair_s[k]
            t = pair_t[k]
            dem = pair_dem[k]
            if s == t or dem == 0.0:
                continue
            for v in range(N):
                ex[v] = 0
                pi[v] = 0.0
            ex[s] += 1
            ex[t] -= 1
            for j in range(m):
                x[j] = q[j] < 0.0
                if x[j]:
                    ex[heads[j]] += 1
                    ex[tails[j]] -= 1
            total = 0
            for v in range(N):
                if ex[v] > 0:
                    total += ex[v]
            for _ in range(total):
                _tree_reset(tk, tv, S)
                for v in range(N):
                    pred[v] = -1
                    done[v] = False
                    if ex[v] > 0:
                        dist[v] = 0.0
                        tk[S + v] = 0.0
                    else:
                        dist[v] = np.inf
                for v in range(S - 1, 0, -1):
                    if tk[2 * v + 1] < tk[2 * v]:
                        tk[v] = tk[2 * v + 1]
                        tv[v] = tv[2 * v + 1]
                    else:
                        tk[v] = tk[2 * v]
                        tv[v] = tv[2 * v]
                sink = -1
                D = 0.0
                while tk[1] < np.inf:
                    d = tk[1]
                    u = tv[1]
                    _tree_set(tk, tv, S, u, np.inf)
                    done[u] = True
                    if ex[u] < 0:
                        sink = u
                        D = d
                        break
                    for p in range(out_ptr[u], out_ptr[u + 1]):
                        j = out_arc[p]
                        if x[j]:
                            continue
                        v = heads[j]
                        rc = q[j] + pi[u] - pi[v]
                        nd = d + (rc if rc > 0.0 else 0.0)
                        if nd < dist[v] and not done[v]:
                            dist[v] = nd
                            pred[v] = j
                            _tree_set(tk, tv, S, v, nd)
                    for p in range(in_ptr[u], in_ptr[u + 1]):
                        j = in_arc[p]
                        if not x[j]:
                            continue
                        v = tails[j]
                        rc = -q[j] + pi[u] - pi[v]
                        nd = d + (rc if rc > 0.0 else 0.0)
                        if nd < dist[v] and not done[v]:
                            dist[v] = nd
                            pred[v] = -(j + 2)  # -1 means no predecessor
                            _tree_set(tk, tv, S, v, nd)
                if sink < 0:
                    return i
                for v in range(N):
                    pi[v] += dist[v] if dist[v] < D else D
                v = sink
                while pred[v] != -1:
                    r = pred[v]
                    if r >= 0:
                        x[r] = True
                        v = tails[r]
                    else:
                        x[-r - 2] = False
                        v = heads[-r - 2]
                ex[v] -= 1
                ex[sink] += 1
            for j in range(m):
                if x[j]:
                    W[i, j] += dem
    return -1


@njit(cache=True)
def dag_paths(C, topo, in_ptr, in_arc, tails, src, tgt_ptr, tgt_node, tgt_dem, W):  # type: ignore[no-untyped-def]
    """Shortest paths on an acyclic graph for costs of any sign (dynamic programme in
    topological order), adding ``dem * path(s -> t)`` to ``W[i]`` like :func:`shortest_paths`.

    ``in_arc[in_ptr[v]:in_ptr[v+1]]`` lists the arcs entering ``v`` in increasing arc index;
    among equally short paths the lowest-index entering arc wins. Returns the first instance
    with an unreachable destination, or -1.
    """
    n = C.shape[0]
    N = topo.shape[0]
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    pos = np.empty(N, np.int64)
    for k in range(N):
        pos[topo[k]] = k
    for i in range(n):
        c = C[i]
        for k in range(src.shape[0]):
            s = src[k]
            for v in range(N):
                dist[v] = np.inf
                pred[v] = -1
            dist[s] = 0.0
            for q in range(pos[s] + 1, N):
                v = topo[q]
                best = np.inf
                arg = -1
                for p in range(in_ptr[v], in_ptr[v + 1]):
                    j = in_arc[p]
                    cand = dist[tails[j]] + c[j]
                    if cand < best:
                        best = cand
                        arg = j
                dist[v] = best
                pred[v] = arg
            for p in range(tgt_ptr[k], tgt_ptr[k + 1]):
                t = tgt_node[p]
                if pred[t] < 0:
                    return i
                dem = tgt_dem[p]
                v = t
                while v != s:
                    j = pred[v]
                    W[i, j] += dem
                    v = tails[j]
    return -1

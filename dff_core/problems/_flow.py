"""Bounded unit flows for costs of any sign (SPO+'s ``2ĉ - c`` on a road network with cycles).

For each instance and origin-destination pair the problem is the LP
``min q^T w`` over unit s-t flows with ``0 <= w <= 1`` (what ``ShortestPath.solve_surrogate``
defines): a path plus, when the costs have negative cycles, the arc-disjoint negative cycles
that the unit capacities allow. Both kernels solve it exactly as a min-cost flow: negative arcs
start saturated, which leaves every residual cost non-negative, and the excess this creates
is routed along shortest paths on reduced costs (node potentials keep them non-negative).

* :func:`bounded_flows` (primal-dual): each Dijkstra runs until every deficit node is settled,
  updates the potentials, then augments along *all* arc-disjoint paths of the shortest-path
  forest from a node with excess to a node with deficit. Every augmenting path has zero reduced
  cost, so reduced-cost optimality is kept and the final flow is optimal; one Dijkstra now
  serves many augmentations instead of one.
* :func:`bounded_flows_ssp`: the plain one-Dijkstra-per-augmentation version, kept as the
  reference the tests and ``benchmarks/bench_scale.py`` compare against.

Zones (``zone[v]``) are never passed through: for pair (s, t) only arcs whose tail is not a
zone or is ``s`` and whose head is not a zone or is ``t`` are usable.
"""

from __future__ import annotations

import numpy as np

from dff_core.problems._graph import _tree_reset, _tree_set, njit


@njit(cache=True, nogil=True)
def bounded_flows(Q, out_ptr, out_arc, in_ptr, in_arc, heads, tails, zone, pair_s, pair_t, pair_dem, W):  # type: ignore[no-untyped-def]
    """Add ``dem * argmin{q^T w : unit s-t flow, 0 <= w <= 1}`` to ``W[i]`` per instance and pair.

    Exact for costs of any sign (primal-dual min-cost flow, see the module docstring). Returns
    the first instance that could not be routed, or -1.
    """
    n = Q.shape[0]
    N = out_ptr.shape[0] - 1
    m = heads.shape[0]
    x = np.zeros(m, np.bool_)
    ok = np.ones(m, np.bool_)
    used = np.full(m, -1, np.int64)
    ex = np.zeros(N, np.int64)
    pi = np.zeros(N)
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    done = np.zeros(N, np.bool_)
    deficits = np.empty(N, np.int64)
    S = 1
    while S < N:
        S *= 2
    tk = np.empty(2 * S)
    tv = np.empty(2 * S, np.int64)
    phase = 0
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
                u = tails[j]
                v = heads[j]
                ok[j] = (not zone[u] or u == s) and (not zone[v] or v == t)
                x[j] = ok[j] and q[j] < 0.0
                if x[j]:
                    ex[v] += 1
                    ex[u] -= 1
            while True:
                n_def = 0
                for v in range(N):
                    if ex[v] < 0:
                        n_def += 1
                if n_def == 0:
                    break
                # multi-source Dijkstra from every node with excess, on reduced costs
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
                n_found = 0
                last = 0.0
                while tk[1] < np.inf:
                    d = tk[1]
                    u = tv[1]
                    _tree_set(tk, tv, S, u, np.inf)
                    done[u] = True
                    last = d
                    if ex[u] < 0:
                        deficits[n_found] = u
                        n_found += 1
                        if n_found == n_def:
                            break
                    for p in range(out_ptr[u], out_ptr[u + 1]):
                        j = out_arc[p]
                        if x[j] or not ok[j]:
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
                if n_found == 0:
                    return i
                for v in range(N):
                    pi[v] += dist[v] if done[v] else last
                # augment along every arc-disjoint forest path (all have zero reduced cost)
                phase += 1
                for r in range(n_found):
                    sink = deficits[r]
                    v = sink
                    free = True
                    while pred[v] != -1:
                        a = pred[v]
                        j = a if a >= 0 else -a - 2
                        if used[j] == phase:
                            free = False
                            break
                        v = tails[j] if a >= 0 else heads[j]
                    if not free or ex[v] <= 0:
                        continue
                    root = v
                    v = sink
                    while pred[v] != -1:
                        a = pred[v]
                        if a >= 0:
                            used[a] = phase
                            x[a] = True
                            v = tails[a]
                        else:
                            used[-a - 2] = phase
                            x[-a - 2] = False
                            v = heads[-a - 2]
                    ex[root] -= 1
                    ex[sink] += 1
            for j in range(m):
                if x[j]:
                    W[i, j] += dem
    return -1


@njit(cache=True)
def bounded_flows_ssp(Q, out_ptr, out_arc, in_ptr, in_arc, heads, tails, pair_s, pair_t, pair_dem, W):  # type: ignore[no-untyped-def]
    """Reference for :func:`bounded_flows` (no zones): one Dijkstra per augmenting path.

    Adds ``dem * argmin{q^T w : unit s-t flow, 0 <= w <= 1}`` to ``W[i]`` per instance and pair
    by plain successive shortest paths with potentials. Returns the first instance that could
    not be routed, or -1.
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

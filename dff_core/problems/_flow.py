"""Bounded unit flows for costs of any sign (SPO+'s ``2ĉ - c`` on a road network with cycles).

For each instance and origin-destination pair the problem is the LP
``min q^T w`` over unit s-t flows with ``0 <= w <= 1`` (what ``ShortestPath.solve_surrogate``
defines): a path plus, when the costs have negative cycles, the arc-disjoint negative cycles
that the unit capacities allow. Both kernels solve it exactly as a min-cost flow: negative arcs
start saturated, which leaves every residual cost non-negative, and the excess this creates
is routed along shortest paths on reduced costs (node potentials keep them non-negative).

* :func:`bounded_flows` (primal-dual): per instance, the optimal circulation first (shared by
  all pairs): each Dijkstra runs until every deficit node is settled, updates the potentials,
  then augments along *all* arc-disjoint paths of the shortest-path forest from a node with
  excess to a node with deficit. Every augmenting path has zero reduced cost, so reduced-cost
  optimality is kept and the final flow is optimal; one Dijkstra serves many augmentations
  instead of one (about 10 Dijkstras for 120 units of excess on METR-LA; a depth-first
  blocking flow over all tight arcs found no fewer phases and cost more). Starting potentials
  from two Bellman-Ford passes are kept when they cut the arcs to saturate to under a third
  (sparse negative arcs: about 70 -> 12 at 5% negative on METR-LA, a third less time). Then
  one Dijkstra per pair adds its s-t path in the residual graph.
* :func:`bounded_flows_ssp`: the plain one-Dijkstra-per-augmentation version, kept as the
  reference the tests and ``benchmarks/bench_scale.py`` compare against.

Zones (``zone[v]``) are never passed through: for pair (s, t) only arcs whose tail is not a
zone or is ``s`` and whose head is not a zone or is ``t`` are usable.
"""

from __future__ import annotations

import numpy as np

from dff_core.problems._graph import _tree_reset, _tree_set, njit


@njit(cache=True, nogil=True)
def _start_labels(ex, pred, done, dist, tk, tv, S):  # type: ignore[no-untyped-def]
    """Label every node with excess 0 and the rest infinity, and build the heap over the labels.
    Returns the number of nodes with a deficit (``ex < 0``)."""
    n_def = 0
    _tree_reset(tk, tv, S)
    for v in range(dist.shape[0]):
        pred[v] = -1
        done[v] = False
        if ex[v] < 0:
            n_def += 1
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
    return n_def


@njit(cache=True, nogil=True)
def _relax(u, d, q, pi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, tk, tv, S, dist, pred, done):  # type: ignore[no-untyped-def]
    """Relax the residual arcs leaving ``u`` (settled at label ``d``) on reduced costs: usable
    (``ok``) arcs with ``x = 0`` forwards, arcs with ``x = 1`` backwards (``pred`` = ``-(j + 2)``;
    -1 means no predecessor)."""
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
            pred[v] = -(j + 2)
            _tree_set(tk, tv, S, v, nd)


@njit(cache=True, nogil=True)
def _dijkstra_residual(  # type: ignore[no-untyped-def]
    q, pi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, ex, tk, tv, S, dist, pred, done, found
):
    """Multi-source Dijkstra on reduced costs in the residual graph, from every node with
    ``ex > 0`` (label 0) until every node with ``ex < 0`` is settled (listed in ``found`` in
    settling order). Residual arcs: usable (``ok``) arcs with ``x = 0`` forwards, arcs with
    ``x = 1`` backwards (``pred`` = ``-(j + 2)``). Returns (deficits found, last label)."""
    n_def = _start_labels(ex, pred, done, dist, tk, tv, S)
    n_found = 0
    last = 0.0
    while tk[1] < np.inf:
        d = tk[1]
        u = tv[1]
        _tree_set(tk, tv, S, u, np.inf)
        done[u] = True
        last = d
        if ex[u] < 0:
            found[n_found] = u
            n_found += 1
            if n_found == n_def:
                break
        _relax(u, d, q, pi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, tk, tv, S, dist, pred, done)
    return n_found, last


@njit(cache=True, nogil=True)
def bounded_flows(Q, out_ptr, out_arc, in_ptr, in_arc, heads, tails, zone, pair_s, pair_t, pair_dem, W):  # type: ignore[no-untyped-def]
    """Add ``dem * argmin{q^T w : unit s-t flow, 0 <= w <= 1}`` to ``W[i]`` per instance and pair.

    Per instance, first the optimal circulation (negative arcs saturated, excess routed back
    phase by phase, see the module docstring) on the arcs that touch no zone; no cycle can pass
    a zone for any pair, so it serves every pair. Then per pair one Dijkstra on reduced costs
    from s to t in its residual graph: by the successive-shortest-path argument, circulation
    plus that augmenting path is an optimal unit s-t flow. Returns the first instance that
    could not be routed, or -1.
    """
    n = Q.shape[0]
    N = out_ptr.shape[0] - 1
    m = heads.shape[0]
    x = np.zeros(m, np.bool_)
    xc = np.zeros(m, np.bool_)
    core = np.empty(m, np.bool_)
    ok = np.empty(m, np.bool_)
    ex = np.zeros(N, np.int64)
    pi = np.zeros(N)
    pic = np.zeros(N)
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    done = np.zeros(N, np.bool_)
    found = np.empty(N, np.int64)
    used = np.full(m, -1, np.int64)
    phase = 0
    S = 1
    while S < N:
        S *= 2
    tk = np.empty(2 * S)
    tv = np.empty(2 * S, np.int64)
    for j in range(m):
        core[j] = not zone[tails[j]] and not zone[heads[j]]
    for i in range(n):
        q = Q[i]
        # --- optimal circulation on the zone-free arcs
        # Start potentials: two Bellman-Ford passes, kept when they leave far fewer arcs with
        # negative reduced cost to saturate (sparse negative arcs, few negative cycles); dense
        # negative cycles make them deep and slow the phases down, so then start from zero.
        n_neg = 0
        for v in range(N):
            ex[v] = 0
            pi[v] = 0.0
        for j in range(m):
            if core[j] and q[j] < 0.0:
                n_neg += 1
        for _ in range(2):
            for j in range(m):
                if core[j]:
                    nd = pi[tails[j]] + q[j]
                    if nd < pi[heads[j]]:
                        pi[heads[j]] = nd
        n_bf = 0
        for j in range(m):
            if core[j] and q[j] + pi[tails[j]] - pi[heads[j]] < 0.0:
                n_bf += 1
        if 3 * n_bf > n_neg:
            for v in range(N):
                pi[v] = 0.0
        for j in range(m):
            x[j] = core[j] and q[j] + pi[tails[j]] - pi[heads[j]] < 0.0
            if x[j]:
                ex[heads[j]] += 1
                ex[tails[j]] -= 1
        while True:
            n_found, last = _dijkstra_residual(
                q, pi, x, core, out_ptr, out_arc, in_ptr, in_arc, heads, tails, ex, tk, tv, S, dist, pred, done, found
            )
            if n_found == 0:
                break
            phase += 1
            for r in range(n_found):  # every arc-disjoint forest path from excess to deficit
                sink = found[r]
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
            for v in range(N):  # potentials stay valid when capped at the last settled label
                pi[v] += dist[v] if done[v] else last
        for v in range(N):
            if ex[v] != 0:
                return i
        for j in range(m):
            xc[j] = x[j]
        for v in range(N):
            pic[v] = pi[v]
        # --- one augmenting path per pair
        for k in range(pair_s.shape[0]):
            s = pair_s[k]
            t = pair_t[k]
            dem = pair_dem[k]
            if s == t or dem == 0.0:
                continue
            for j in range(m):
                u = tails[j]
                v = heads[j]
                ok[j] = (not zone[u] or u == s) and (not zone[v] or v == t)
                x[j] = xc[j]
            for v in range(N):
                pi[v] = pic[v]
                ex[v] = 0
            # zone ends have no potential yet: pick one that keeps their arcs' reduced costs >= 0
            if zone[s]:
                best = -np.inf
                for p in range(out_ptr[s], out_ptr[s + 1]):
                    j = out_arc[p]
                    if ok[j] and pi[heads[j]] - q[j] > best:
                        best = pi[heads[j]] - q[j]
                pi[s] = best if best > -np.inf else 0.0
            if zone[t]:
                best = np.inf
                for p in range(in_ptr[t], in_ptr[t + 1]):
                    j = in_arc[p]
                    if ok[j] and q[j] + pi[tails[j]] < best:
                        best = q[j] + pi[tails[j]]
                pi[t] = best if best < np.inf else 0.0
            ex[s] = 1
            ex[t] = -1
            n_found, _ = _dijkstra_residual(
                q, pi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, ex, tk, tv, S, dist, pred, done, found
            )
            if n_found == 0:
                return i
            for j in range(m):
                if xc[j]:
                    W[i, j] += dem
            v = t
            while pred[v] != -1:
                a = pred[v]
                if a >= 0:
                    W[i, a] += dem
                    v = tails[a]
                else:
                    W[i, -a - 2] -= dem
                    v = heads[-a - 2]
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
    every = np.ones(m, np.bool_)  # no zones: every arc is usable
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
                _start_labels(ex, pred, done, dist, tk, tv, S)
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
                    _relax(
                        u, d, q, pi, x, every, out_ptr, out_arc, in_ptr, in_arc, heads, tails,
                        tk, tv, S, dist, pred, done,
                    )  # fmt: skip
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

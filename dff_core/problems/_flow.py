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
  instead of one (a depth-first blocking flow over all tight arcs found no fewer phases and
  cost more). The start potentials decide how much excess there is to route:

  - two Bellman-Ford passes, kept when they cut the arcs to saturate to under a third
    (sparse negative arcs: about 70 -> 12 at 5% negative on METR-LA);
  - otherwise (dense negative cycles, where Bellman-Ford potentials get deep and leave *more*
    to route) zero, then one sweep of coordinate ascent on the dual: each node's potential
    moves to the nearest point where as many of its arcs would start saturated in as out.
    Any potentials are a valid start, so this only changes the work: at 17% negative arcs on
    METR-LA it cuts the excess to route from about 118 units to 34 and the phases' settled
    nodes from about 1,570 to 830 per instance (further sweeps cost more than they save).

  Then one search per pair adds its s-t path in the residual graph, from both ends at once
  (from one end it settled almost the whole graph). A lone pair in the dense case instead
  joins the circulation as one more unit of excess, since its phases settle most of the
  graph anyway.
* :func:`bounded_flows_ssp`: the plain one-Dijkstra-per-augmentation version, kept as the
  reference the tests and ``benchmarks/bench_scale.py`` compare against.

Zones (``zone[v]``) are never passed through: for pair (s, t) only arcs whose tail is not a
zone or is ``s`` and whose head is not a zone or is ``t`` are usable.
"""

from __future__ import annotations

import numpy as np

from dff_core.problems._graph import _tree_pop, _tree_reset, njit
from dff_core.problems._residual import _dijkstra_residual, _pair_path, _relax, _start_labels


@njit(cache=True, nogil=True)
def _balance(q, pi, core, out_ptr, out_arc, in_ptr, in_arc, heads, tails, buf, top):  # type: ignore[no-untyped-def]
    """One sweep of coordinate ascent on the circulation's dual (start potentials, see the module
    docstring). With potentials ``pi``, an out-arc of ``v`` starts saturated iff
    ``pi[v] < pi[head] - q`` and an in-arc iff ``pi[v] > pi[tail] + q``; moving ``pi[v]`` past
    one of these breakpoints changes ``v``'s imbalance by one, so it crosses as many as ``v`` is
    out of balance and stops midway to the next."""
    for v in range(pi.shape[0]):
        bal = 0
        pv = pi[v]
        o0 = out_ptr[v]
        o1 = out_ptr[v + 1]
        i0 = in_ptr[v]
        i1 = in_ptr[v + 1]
        for p in range(o0, o1):
            j = out_arc[p]
            bal -= core[j] and pi[heads[j]] - q[j] > pv
        for p in range(i0, i1):
            j = in_arc[p]
            bal += core[j] and pi[tails[j]] + q[j] < pv
        if bal == 0:
            continue
        # distances to the breakpoints on the side to move to, e.g. for bal > 0 (too many
        # in-arcs saturated, move down) every breakpoint below pv
        k = 0
        for p in range(o0, o1):
            j = out_arc[p]
            if core[j]:
                buf[k] = pv - (pi[heads[j]] - q[j]) if bal > 0 else (pi[heads[j]] - q[j]) - pv
                k += 1
        for p in range(i0, i1):
            j = in_arc[p]
            if core[j]:
                buf[k] = pv - (pi[tails[j]] + q[j]) if bal > 0 else (pi[tails[j]] + q[j]) - pv
                k += 1
        need = (bal if bal > 0 else -bal) + 1  # the breakpoints to cross, and the next one
        cnt = 0
        for r in range(k):  # the ``need`` nearest, in order
            key = buf[r]
            if key <= 0.0:
                continue
            if cnt < need:
                c = cnt
                cnt += 1
            elif key < top[need - 1]:
                c = need - 1
            else:
                continue
            while c > 0 and top[c - 1] > key:
                top[c] = top[c - 1]
                c -= 1
            top[c] = key
        step = top[need - 2] if cnt == need - 1 else 0.5 * (top[need - 2] + top[need - 1])
        pi[v] = pv - step if bal > 0 else pv + step


@njit(cache=True, nogil=True)
def _saturate(q, pi, core, x, ex, heads, tails):  # type: ignore[no-untyped-def]
    """Saturate exactly the usable arcs with a negative reduced cost on ``pi`` and set each
    node's excess; returns how many arcs were saturated."""
    ex[:] = 0
    n = 0
    for j in range(heads.shape[0]):
        x[j] = core[j] and q[j] + pi[tails[j]] - pi[heads[j]] < 0.0
        if x[j]:
            n += 1
            ex[heads[j]] += 1
            ex[tails[j]] -= 1
    return n


@njit(cache=True, nogil=True)
def _bellman_ford_pass(q, pi, core, heads, tails):  # type: ignore[no-untyped-def]
    """One Bellman-Ford pass over the usable arcs (lowers ``pi`` in place); returns how many of them are
    negative."""
    n_neg = 0
    for j in range(heads.shape[0]):
        if core[j]:
            if q[j] < 0.0:
                n_neg += 1
            nd = pi[tails[j]] + q[j]
            if nd < pi[heads[j]]:
                pi[heads[j]] = nd
    return n_neg


@njit(cache=True, nogil=True)
def bounded_flows(Q, out_ptr, out_arc, in_ptr, in_arc, heads, tails, zone, pair_s, pair_t, pair_dem, W):  # type: ignore[no-untyped-def]
    """Add ``dem * argmin{q^T w : unit s-t flow, 0 <= w <= 1}`` to ``W[i]`` per instance and pair.

    Per instance, first the optimal circulation (negative arcs saturated, excess routed back
    phase by phase, see the module docstring) on the arcs that touch no zone; no cycle can pass
    a zone for any pair, so it serves every pair. Then per pair one shortest s-t path on
    reduced costs in its residual graph (searched from both ends): by the successive-shortest-path
    argument, circulation plus that augmenting path is an optimal unit s-t flow. Returns the first instance that
    could not be routed, or -1.
    """
    n = Q.shape[0]
    N = out_ptr.shape[0] - 1
    m = heads.shape[0]
    x = np.zeros(m, np.bool_)
    core = np.empty(m, np.bool_)
    ok = np.empty(m, np.bool_)
    ex = np.zeros(N, np.int64)
    pi = np.zeros(N)
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
    tk2 = np.empty(2 * S)
    tv2 = np.empty(2 * S, np.int64)
    _tree_reset(tk, tv, S)
    _tree_reset(tk2, tv2, S)
    db = np.empty(N)
    npi = np.empty(N)
    pb = np.empty(N, np.int64)
    sb = np.zeros(N, np.bool_)
    buf = np.empty(m + 2)
    top = np.empty(m + 2)
    for j in range(m):
        core[j] = not zone[tails[j]] and not zone[heads[j]]
        ok[j] = core[j]
    live = -1  # the one pair with flow, if there is just one and neither end is a zone
    for k in range(pair_s.shape[0]):
        if pair_s[k] != pair_t[k] and pair_dem[k] != 0.0:
            live = k if live == -1 else -2
    if live >= 0 and (zone[pair_s[live]] or zone[pair_t[live]]):
        live = -2
    for i in range(n):
        folded = False
        q = Q[i]
        # --- optimal circulation on the zone-free arcs
        # Start potentials: two Bellman-Ford passes, kept when they leave far fewer arcs with
        # negative reduced cost to saturate (sparse negative arcs, few negative cycles); dense
        # negative cycles make them deep and slow the phases down, so then zero and one sweep of
        # dual coordinate ascent.
        pi[:] = 0.0
        n_neg = _bellman_ford_pass(q, pi, core, heads, tails)
        _bellman_ford_pass(q, pi, core, heads, tails)
        n_bf = _saturate(q, pi, core, x, ex, heads, tails)  # undone below if these are rejected
        if 3 * n_bf > n_neg:
            for v in range(N):
                pi[v] = 0.0
            _balance(q, pi, core, out_ptr, out_arc, in_ptr, in_arc, heads, tails, buf, top)
            _saturate(q, pi, core, x, ex, heads, tails)
            # One pair: its unit joins the circulation's excess (s) and deficit (t), which then
            # is the whole answer. The dense case's phases settle most of the graph anyway, so
            # this saves the pair's own search; with sparse negative arcs it would cost more.
            if live >= 0:
                folded = True
                ex[pair_s[live]] += 1
                ex[pair_t[live]] -= 1
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
        if folded:
            for j in range(m):
                if x[j]:
                    W[i, j] += pair_dem[live]
            continue
        # --- one augmenting path per pair; the search changes neither x nor pi, so only a zone
        # end's arcs (usable for this pair alone) and its potential are set and restored
        for k in range(pair_s.shape[0]):
            s = pair_s[k]
            t = pair_t[k]
            dem = pair_dem[k]
            if s == t or dem == 0.0:
                continue
            if zone[s]:
                best = -np.inf
                for p in range(out_ptr[s], out_ptr[s + 1]):
                    j = out_arc[p]
                    ok[j] = not zone[heads[j]] or heads[j] == t
                    if ok[j] and pi[heads[j]] - q[j] > best:
                        best = pi[heads[j]] - q[j]
                # a zone end has no potential yet: pick one that keeps its arcs' reduced costs >= 0
                pi[s] = best if best > -np.inf else 0.0
            if zone[t]:
                best = np.inf
                for p in range(in_ptr[t], in_ptr[t + 1]):
                    j = in_arc[p]
                    ok[j] = not zone[tails[j]] or tails[j] == s
                    if ok[j] and q[j] + pi[tails[j]] < best:
                        best = q[j] + pi[tails[j]]
                pi[t] = best if best < np.inf else 0.0
            meet = _pair_path(
                s, t, q, pi, npi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, tk, tv, tk2, tv2, S,
                dist, pred, done, db, pb, sb,
            )  # fmt: skip
            if zone[s]:
                for p in range(out_ptr[s], out_ptr[s + 1]):
                    ok[out_arc[p]] = core[out_arc[p]]
            if zone[t]:
                for p in range(in_ptr[t], in_ptr[t + 1]):
                    ok[in_arc[p]] = core[in_arc[p]]
            if meet < 0:
                return i
            for j in range(m):
                if x[j]:
                    W[i, j] += dem
            v = meet
            while pred[v] != -1:
                a = pred[v]
                if a >= 0:
                    W[i, a] += dem
                    v = tails[a]
                else:
                    W[i, -a - 2] -= dem
                    v = heads[-a - 2]
            v = meet
            while pb[v] != -1:
                a = pb[v]
                if a >= 0:
                    W[i, a] += dem
                    v = heads[a]
                else:
                    W[i, -a - 2] -= dem
                    v = tails[-a - 2]
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
    _tree_reset(tk, tv, S)
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
                    d, u = _tree_pop(tk, tv, S)
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

"""Shortest paths on reduced costs in the residual graph of a unit-capacity flow (``x[j]`` = 1
when arc ``j`` carries flow), for the bounded-flow kernels of :mod:`dff_core.problems._flow`.

Residual arcs: usable (``ok``) arcs with ``x = 0`` forwards and arcs with ``x = 1`` backwards;
predecessor codes are the arc ``j`` or ``-(j + 2)`` for an arc used backwards (-1: none).
"""

from __future__ import annotations

import numpy as np

from dff_core.problems._graph import _tree_pop, _tree_set, njit


@njit(cache=True, nogil=True)
def _start_labels(ex, pred, done, dist, tk, tv, S):  # type: ignore[no-untyped-def]
    """Label every node with excess 0 and the rest infinity, and build the heap over the labels.
    Returns the number of nodes with a deficit (``ex < 0``). The tree must have been reset
    once: leaf ids never change and padding leaves stay infinite."""
    n_def = 0
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
            tk[S + v] = np.inf
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
        d, u = _tree_pop(tk, tv, S)
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
def _pair_path(  # type: ignore[no-untyped-def]
    s, t, q, pi, npi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, tk, tv, tk2, tv2, S, df, pf, sf, db, pb, sb
):
    """Shortest s-t path on reduced costs in the residual graph, searched from both ends.

    Forward from ``s`` over the residual arcs, backward from ``t`` over the same arcs
    reversed; each step settles the side with the smaller label, and the search stops once the
    two labels together reach the best meeting found. ``pf`` / ``pb`` hold the arc towards
    ``s`` / ``t`` (``-(j + 2)`` for an arc used backwards). Returns the meeting node, or -1
    when ``t`` cannot be reached.

    The backward step is :func:`_relax` on the mirrored graph: out- and in-lists swapped, heads
    and tails swapped and the potentials negated (``npi``, filled here), which turns each
    residual arc into (w, u) with reduced cost ``q + pi[w] - pi[u]``.
    """
    tk[:] = np.inf
    tk2[:] = np.inf
    for v in range(df.shape[0]):
        npi[v] = -pi[v]
        df[v] = np.inf
        db[v] = np.inf
        pf[v] = -1
        pb[v] = -1
        sf[v] = False
        sb[v] = False
    df[s] = 0.0
    db[t] = 0.0
    _tree_set(tk, tv, S, s, 0.0)
    _tree_set(tk2, tv2, S, t, 0.0)
    best = np.inf
    meet = -1
    while tk[1] + tk2[1] < best:  # also ends when both sides are exhausted (inf + inf)
        if tk[1] <= tk2[1]:
            kf, u = _tree_pop(tk, tv, S)
            sf[u] = True
            if kf + db[u] < best:
                best = kf + db[u]
                meet = u
            _relax(u, kf, q, pi, x, ok, out_ptr, out_arc, in_ptr, in_arc, heads, tails, tk, tv, S, df, pf, sf)
        else:
            kb, u = _tree_pop(tk2, tv2, S)
            sb[u] = True
            if kb + df[u] < best:
                best = kb + df[u]
                meet = u
            _relax(u, kb, q, npi, x, ok, in_ptr, in_arc, out_ptr, out_arc, tails, heads, tk2, tv2, S, db, pb, sb)
    return meet

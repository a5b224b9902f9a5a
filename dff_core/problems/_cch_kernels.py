"""Compiled CCH customization and queries (see ``_cch.py`` for the phases and tie rules).

Customization handles ``BLOCK`` cost vectors at once: the weights of upward edge ``e`` for the
block sit in one contiguous row ``fw[e, :]``, so each lower triangle's edge ids are read once per
block and its ``BLOCK`` minimum updates run back to back over neighbouring memory (16 vectors
took about 20% less CPU time per vector than 8 on Philadelphia). No witnesses are stored: a shortcut is
unpacked by finding, among its lower triangles (``lt_*``, ascending bottom rank), the first
whose two halves add up exactly to its weight; that is bit-for-bit the sum customization took
the minimum of, since both halves were final when it was computed.
"""

from __future__ import annotations

import numpy as np

from dff_core.problems._graph import njit

#: Cost vectors customized together.
BLOCK = 16
INF = np.inf


@njit(cache=True, nogil=True, inline="always")
def _relax_triangle(fw, bw, e1, e2, top, b):  # type: ignore[no-untyped-def]
    """Both directions of edge ``top`` through lower triangle (``e1``, ``e2``), for column ``b``."""
    x = bw[e1, b] + fw[e2, b]  # v -> u -> w
    cur = fw[top, b]
    fw[top, b] = x if x < cur else cur
    y = bw[e2, b] + fw[e1, b]  # w -> u -> v
    cur = bw[top, b]
    bw[top, b] = y if y < cur else cur


@njit(cache=True, nogil=True)
def _customize(Ct, up_ptr, fw_arc, bw_arc, tri_top, fw, bw):  # type: ignore[no-untyped-def]
    """Weights of both directions of every upward edge for the columns of ``Ct`` (d, width).

    ``width`` is ``BLOCK`` except for a batch's last, shorter group, which is customized at its own
    width (rows of half the width cost about half as much: the work is memory-bound).
    """
    M = fw.shape[0]
    K = up_ptr.shape[0] - 1
    nb = fw.shape[1]
    for e in range(M):
        a = fw_arc[e]
        for b in range(nb):
            fw[e, b] = Ct[a, b] if a >= 0 else INF
        a = bw_arc[e]
        for b in range(nb):
            bw[e, b] = Ct[a, b] if a >= 0 else INF
    # unsigned indices: numba then skips the negative-index wraparound (about 2x faster here)
    k = 0
    for u in range(K):
        p0 = up_ptr[u]
        d = up_ptr[u + 1] - p0
        for ii in range(d):
            e1 = np.uint64(p0 + ii)
            for jj in range(ii + 1, d):
                e2 = np.uint64(p0 + jj)
                top = np.uint64(tri_top[k])
                k += 1
                if nb == BLOCK:  # a constant trip count: unrolled and vectorized
                    for b in range(BLOCK):
                        _relax_triangle(fw, bw, e1, e2, top, b)
                else:
                    for b in range(nb):
                        _relax_triangle(fw, bw, e1, e2, top, b)


@njit(cache=True, nogil=True)
def _unpack(stack_e, stack_d, sp, b, c, fw, bw, fw_arc, bw_arc, lt_ptr, lt_e1, lt_e2, path, L):  # type: ignore[no-untyped-def]
    """Pop (edge, direction) entries (0 = lower -> higher, 1 = higher -> lower) and append their
    original arcs to ``path`` in travel order. Returns the new length, or -1 if a weight has
    no matching arc or triangle (cannot happen for weights produced by :func:`_customize`)."""
    while sp > 0:
        sp -= 1
        e = stack_e[sp]
        up = stack_d[sp] == 0
        w = fw[e, b] if up else bw[e, b]
        a = fw_arc[e] if up else bw_arc[e]
        if a >= 0 and c[a] == w:
            path[L] = a
            L += 1
            continue
        found = False
        for p in range(lt_ptr[e], lt_ptr[e + 1]):
            # Upward e = (v, w): v -> u (e1 downward) then u -> w (e2 upward). Downward e: w -> u (e2
            # downward) then u -> v (e1 upward). Name the downward half ``first``: push the second first.
            first = lt_e1[p] if up else lt_e2[p]
            second = lt_e2[p] if up else lt_e1[p]
            if bw[first, b] + fw[second, b] == w:
                stack_e[sp] = second
                stack_d[sp] = 0
                stack_e[sp + 1] = first
                stack_d[sp + 1] = 1
                sp += 2
                found = True
                break
        if not found:
            return -1
    return L


@njit(cache=True, nogil=True)
def _relax_upward(order, dist, pred, w, b, up_ptr, up_head):  # type: ignore[no-untyped-def]
    """One half of the bidirectional search: from the nodes ``order`` (ascending rank, so every node is
    final when reached), relax their upward edges with the weights of column ``b`` of ``w``, recording
    in ``pred`` the edge that last improved each node. Forward and backward halves differ only in data."""
    for x in order:
        dx = dist[x]
        if dx == INF:
            continue
        for e in range(up_ptr[x], up_ptr[x + 1]):
            nd = dx + w[e, b]
            y = up_head[e]
            if nd < dist[y]:
                dist[y] = nd
                pred[y] = e


@njit(cache=True, nogil=True)
def cch_paths(  # type: ignore[no-untyped-def]
    C, up_ptr, up_head, up_tail, parent, fw_arc, bw_arc, tri_top, lt_ptr, lt_e1, lt_e2,
    N, tails, heads, src_ptr, src_node, src_arc, dst_ptr, dst_node, dst_arc, direct, dem, W,
):  # fmt: skip
    """Customize for the cost rows of ``C`` and add ``dem[k] * path_k`` to ``W[i]`` per pair ``k``.

    Pair ``k`` starts at the rank-space seeds ``src_node[src_ptr[k]:src_ptr[k+1]]`` (reached by
    original arc ``src_arc[...]``, -1 for the origin itself) and ends at the seeds ``dst_node``
    (left by ``dst_arc``); ``direct[k]`` is an arc joining two zone ends directly, or -1. ``N``
    is the number of original nodes. Returns the first row of ``C`` with an unroutable pair, or -1.
    """
    n = C.shape[0]
    d = C.shape[1]
    K = up_ptr.shape[0] - 1
    M = up_head.shape[0]
    m = tails.shape[0]
    full_ct = np.zeros((d, BLOCK))
    full_fw = np.empty((M, BLOCK))
    full_bw = np.empty((M, BLOCK))
    df = np.empty(K)
    db = np.empty(K)
    fpred = np.empty(K, np.int64)
    bpred = np.empty(K, np.int64)
    fmark = np.full(K, -1, np.int64)
    bmark = np.full(K, -1, np.int64)
    flist = np.empty(K, np.int64)
    blist = np.empty(K, np.int64)
    stack_e = np.empty(2 * (K + M) + 4, np.int64)
    stack_d = np.empty(2 * (K + M) + 4, np.int64)
    path = np.empty(4 * m + 16, np.int64)
    node_at = np.empty(4 * m + 17, np.int64)
    pos = np.zeros(N, np.int64)
    pos_stamp = np.full(N, -1, np.int64)
    stamp = 0
    for i0 in range(0, n, BLOCK):
        nb = min(BLOCK, n - i0)
        if nb == BLOCK:
            Ct, fw, bw = full_ct, full_fw, full_bw
        else:  # the last, shorter group: its own width
            Ct, fw, bw = np.zeros((d, nb)), np.empty((M, nb)), np.empty((M, nb))
        for j in range(d):
            for b in range(nb):
                Ct[j, b] = C[i0 + b, j]
        _customize(Ct, up_ptr, fw_arc, bw_arc, tri_top, fw, bw)
        for b in range(nb):
            i = i0 + b
            c = C[i]
            for q in range(src_ptr.shape[0] - 1):
                stamp += 1
                nf = 0
                for p in range(src_ptr[q], src_ptr[q + 1]):
                    x = src_node[p]
                    while x >= 0 and fmark[x] != stamp:
                        fmark[x] = stamp
                        df[x] = INF
                        fpred[x] = -1
                        flist[nf] = x
                        nf += 1
                        x = parent[x]
                nbk = 0
                for p in range(dst_ptr[q], dst_ptr[q + 1]):
                    x = dst_node[p]
                    while x >= 0 and bmark[x] != stamp:
                        bmark[x] = stamp
                        db[x] = INF
                        bpred[x] = -1
                        blist[nbk] = x
                        nbk += 1
                        x = parent[x]
                for p in range(src_ptr[q], src_ptr[q + 1]):
                    x = src_node[p]
                    a = src_arc[p]
                    dist = c[a] if a >= 0 else 0.0
                    if dist < df[x]:
                        df[x] = dist
                        fpred[x] = -(a + 2)  # -1: the origin itself
                for p in range(dst_ptr[q], dst_ptr[q + 1]):
                    x = dst_node[p]
                    a = dst_arc[p]
                    dist = c[a] if a >= 0 else 0.0
                    if dist < db[x]:
                        db[x] = dist
                        bpred[x] = -(a + 2)
                fl = np.sort(flist[:nf])
                bl = np.sort(blist[:nbk])
                _relax_upward(fl, df, fpred, fw, b, up_ptr, up_head)
                _relax_upward(bl, db, bpred, bw, b, up_ptr, up_head)
                best = INF
                meet = -1
                if direct[q] >= 0:
                    best = c[direct[q]]
                for t in range(nf):
                    x = fl[t]
                    if bmark[x] == stamp:
                        tot = df[x] + db[x]
                        if tot < best:
                            best = tot
                            meet = x
                if best == INF:
                    return i
                # --- unpack into an ordered arc list
                L = 0
                if meet < 0:
                    path[0] = direct[q]
                    L = 1
                else:
                    sp = 0  # forward half: edges meet -> origin; popping emits origin side first
                    x = meet
                    while fpred[x] >= 0:
                        e = fpred[x]
                        stack_e[sp] = e
                        stack_d[sp] = 0
                        sp += 1
                        x = up_tail[e]
                    if fpred[x] <= -2:
                        path[L] = -fpred[x] - 2
                        L += 1
                    L = _unpack(stack_e, stack_d, sp, b, c, fw, bw, fw_arc, bw_arc, lt_ptr, lt_e1, lt_e2, path, L)
                    if L < 0:
                        return i
                    cnt = 0  # backward half: meet -> destination, meet side on top of the stack
                    x = meet
                    while bpred[x] >= 0:
                        cnt += 1
                        x = up_tail[bpred[x]]
                    last = -bpred[x] - 2 if bpred[x] <= -2 else -1
                    x = meet
                    r = cnt - 1
                    while bpred[x] >= 0:
                        e = bpred[x]
                        stack_e[r] = e
                        stack_d[r] = 1
                        r -= 1
                        x = up_tail[e]
                    L = _unpack(stack_e, stack_d, cnt, b, c, fw, bw, fw_arc, bw_arc, lt_ptr, lt_e1, lt_e2, path, L)
                    if L < 0:
                        return i
                    if last >= 0:
                        path[L] = last
                        L += 1
                # --- cut loops (zero-cost cycles), then add the path
                start = tails[path[0]]
                node_at[0] = start
                pos[start] = 0
                pos_stamp[start] = stamp
                out = 0
                for t in range(L):
                    a = path[t]
                    v = heads[a]
                    if pos_stamp[v] == stamp and pos[v] <= out and node_at[pos[v]] == v:
                        out = pos[v]
                        continue
                    path[out] = a
                    out += 1
                    node_at[out] = v
                    pos[v] = out
                    pos_stamp[v] = stamp
                for t in range(out):
                    W[i, path[t]] += dem[q]
    return -1

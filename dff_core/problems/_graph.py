"""Compiled graph kernels (numba) for batched shortest paths, and the batch splitter.

* :func:`shortest_paths` runs one Dijkstra per (instance, origin), stopping as
  soon as the origin's destinations are settled, and writes the demand-weighted path
  indicators straight into the decision matrix.
* :func:`dag_paths` is the dynamic programme in topological order for acyclic graphs.
* :func:`run_split` runs a kernel on contiguous row blocks of the batch in a small thread
  pool (the kernels release the GIL), so a batch uses every core; each row is solved by the
  same sequential code whatever the split, so results do not depend on the thread count.

Bounded unit flows (negative costs) are in ``_flow.py``, contraction hierarchies in
``_cch.py``. Dijkstra's priority queue is a tournament tree over the nodes (decrease-key and
extract-min in ``log2(N)`` branch-light steps, no stale entries), or on large graphs a binary
heap with lazy deletion (ordered by label, then node, so it settles nodes in the same order).
Kernels are deterministic:
arcs are scanned in a fixed order, ties go to the lower node and labels change only on strict
improvement. When numba is not installed ``AVAILABLE`` is False and
:mod:`dff_core.problems.shortest_path` falls back to scipy and HiGHS.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
def _tree_pop(tk, tv, S):  # type: ignore[no-untyped-def]
    """Remove the node with the smallest key from the tournament tree; returns ``(key, node)``."""
    d = tk[1]
    u = tv[1]
    _tree_set(tk, tv, S, u, np.inf)
    return d, u


@njit(cache=True)
def _heap_push(hk, hv, size, key, v):  # type: ignore[no-untyped-def]
    """Push (key, v) on a binary min-heap ordered by key, then node; returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        pk = hk[parent]
        if pk < key or (pk == key and hv[parent] < v):
            break
        hk[i] = pk
        hv[i] = hv[parent]
        i = parent
    hk[i] = key
    hv[i] = v
    return size + 1


@njit(cache=True)
def _heap_pop(hk, hv, size):  # type: ignore[no-untyped-def]
    """Drop the minimum (at index 0); returns the new size."""
    size -= 1
    key = hk[size]
    v = hv[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and (hk[right] < hk[child] or (hk[right] == hk[child] and hv[right] < hv[child])):
            child = right
        ck = hk[child]
        if key < ck or (key == ck and v < hv[child]):
            break
        hk[i] = ck
        hv[i] = hv[child]
        i = child
    hk[i] = key
    hv[i] = v
    return size


@njit(cache=True, nogil=True)
def shortest_paths(C, out_ptr, out_arc, heads, tails, zone, src, tgt_ptr, tgt_node, tgt_dem, use_heap, W):  # type: ignore[no-untyped-def]
    """Add ``dem * path(s -> t)`` to ``W[i]`` for every instance ``i`` and destination.

    ``src[k]`` is an origin; its destinations are ``tgt_node[tgt_ptr[k]:tgt_ptr[k+1]]`` with
    demands ``tgt_dem[...]``. Zone nodes (``zone[v]``) other than the origin are never left,
    so they end paths but are not passed through. Costs must be non-negative. Returns the
    first instance with an unreachable destination, or -1.

    ``use_heap`` swaps the tournament tree for a binary heap with lazy deletion (faster on
    large graphs, where the tree's ``log2(N)`` levels per update dominate). Both settle nodes
    in the same order (by label, then node), so the paths are identical.
    """
    n = C.shape[0]
    N = out_ptr.shape[0] - 1
    m = heads.shape[0]
    hk = np.empty(m + 1 if use_heap else 1)
    hv = np.empty(m + 1 if use_heap else 1, np.int64)
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    done = np.zeros(N, np.bool_)
    wanted = np.zeros(N, np.bool_)
    S = 1
    while S < N:
        S *= 2
    tk = np.empty(2 * S if not use_heap else 2)
    tv = np.empty(2 * S if not use_heap else 2, np.int64)
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
            dist[s] = 0.0
            size = 0
            if use_heap:
                size = _heap_push(hk, hv, 0, 0.0, s)
            else:
                _tree_reset(tk, tv, S)
                _tree_set(tk, tv, S, s, 0.0)
            while remaining > 0:
                if use_heap:
                    if size == 0:
                        break
                    d = hk[0]
                    u = hv[0]
                    size = _heap_pop(hk, hv, size)
                    if done[u] or d > dist[u]:
                        continue  # a stale entry: u was settled or improved since
                else:
                    if tk[1] == np.inf:
                        break
                    d, u = _tree_pop(tk, tv, S)
                done[u] = True
                if wanted[u]:
                    wanted[u] = False
                    remaining -= 1
                    if remaining == 0:
                        break
                if zone[u] and u != s:
                    continue
                for p in range(out_ptr[u], out_ptr[u + 1]):
                    j = out_arc[p]
                    v = heads[j]
                    nd = d + c[j]
                    if nd < dist[v] and not done[v]:
                        dist[v] = nd
                        pred[v] = j
                        if use_heap:
                            size = _heap_push(hk, hv, size, nd, v)
                        else:
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


@njit(cache=True, nogil=True)
def dag_paths(C, topo, in_ptr, in_arc, tails, zone, src, tgt_ptr, tgt_node, tgt_dem, W):  # type: ignore[no-untyped-def]
    """Shortest paths on an acyclic graph for costs of any sign (dynamic programme in
    topological order), adding ``dem * path(s -> t)`` to ``W[i]`` like :func:`shortest_paths`.

    ``in_arc[in_ptr[v]:in_ptr[v+1]]`` lists the arcs entering ``v`` in increasing arc index;
    among equally short paths the lowest-index entering arc wins; zones other than the origin
    are not left. Returns the first instance
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
                    u = tails[j]
                    if zone[u] and u != s:
                        continue
                    cand = dist[u] + c[j]
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


# ---------------------------------------------------------------- batch splitting
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def num_threads() -> int:
    """Threads a batch is split over: ``$DFF_SOLVER_THREADS`` or the CPUs this process may use."""
    env = os.environ.get("DFF_SOLVER_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"DFF_SOLVER_THREADS must be a positive integer; got {env!r}.") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def run_split(
    kernel: Callable[..., int],
    C: np.ndarray,
    W: np.ndarray,
    *args: object,
    min_rows: int = 2,
    align: int = 1,
    chunks_per_thread: int = 1,
) -> int:
    """Call ``kernel(C[a:b], *args, W[a:b])`` on contiguous row blocks, over all threads.

    Returns the first failing row (the kernels' convention: a row index, or -1). Blocks of
    fewer than ``min_rows`` rows are not split further (thread start-up would dominate);
    block starts are multiples of ``align`` (kernels that work on groups of rows). The calling
    thread works too, so a batch starts at once even when a pool thread is slow to wake (a few
    milliseconds on an idle virtual CPU). With ``chunks_per_thread > 1`` the batch is cut into
    that many blocks per thread, taken in turn by whichever thread is free: cheap kernels on
    small batches then lose less to a late or slower thread.
    """
    global _pool
    n = C.shape[0]
    groups = -(-n // align)
    k = min(num_threads(), max(1, n // max(1, min_rows)), groups)
    if k <= 1:
        return int(kernel(C, *args, W))
    blocks = min(groups, max(k, min(k * max(1, chunks_per_thread), n // max(1, min_rows))))
    # Even shares of rows, each cut moved to the nearest multiple of ``align``: a short last group
    # costs the kernels less than a full one, so it goes with a block of fewer full groups.
    bounds = np.minimum((np.linspace(0, n, blocks + 1) / align).round().astype(int) * align, n)
    bounds[-1] = n
    bounds = np.unique(bounds)
    cuts = list(itertools.pairwise(bounds.tolist()))
    with _pool_lock:
        if _pool is None or _pool._max_workers < k - 1:  # grow the shared pool
            _pool = ThreadPoolExecutor(max_workers=k - 1, thread_name_prefix="dff-solver")
        pool = _pool
    taken = itertools.count()  # next() on a count is atomic under the GIL

    def work() -> int:
        first = -1
        for b in iter(taken.__next__, None):
            if b >= len(cuts):
                break
            lo, hi = cuts[b]
            r = int(kernel(C[lo:hi], *args, W[lo:hi]))
            if r >= 0 and (first < 0 or lo + r < first):
                first = lo + r
        return first

    futures = [pool.submit(work) for _ in range(min(k, len(cuts)) - 1)]
    found = [work()]
    # every block is taken once the caller's loop ends: a helper that has not started yet has
    # nothing left to do, so it is cancelled rather than waited for
    found += [f.result() for f in futures if not f.cancel()]
    failed = [r for r in found if r >= 0]
    return min(failed) if failed else -1

"""Customizable contraction hierarchies (CCH) for many cost vectors on one road network.

Three phases, as in Dibbelt, Strasser and Wagner (2016):

1. *Preprocessing* (once per graph, metric-independent): a nested-dissection order of the
   undirected core graph (METIS through ``pymetis``; low-degree nodes peeled off first when that
   gives fewer triangles, see :func:`candidate_orders`), the chordal supergraph it induces
   ("upward" edges from each node to its higher-ranked neighbours after elimination), its
   elimination tree, and the list of lower triangles of every edge.
2. *Customization* (once per cost vector, several vectors at a time): both directions' weights
   of every upward edge, from the arc costs and then the lower triangles in elimination order.
3. *Query* (once per origin-destination pair): a forward and a backward scan of the
   elimination-tree ancestors of the two ends, meeting at the best common ancestor, and the
   path unpacked into original arcs (any zero-cost loop cut out, so paths are simple).

Zones (nodes that may start or end a path but never be passed through, e.g. TNTP centroids)
are left out of the hierarchy; a zone origin seeds the forward scan with its connector arcs
and a zone destination the backward scan, so no path can use a zone as a through node.

Ties are deterministic: an original arc beats a shortcut of equal weight, earlier lower
triangles (lower bottom rank) beat later ones, and the lowest-ranked meeting node wins. The
path can differ from the Dijkstra kernel's among equally short ones; its cost is the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dff_core.problems._graph import njit

try:
    import pymetis

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without pymetis
    pymetis = None
    AVAILABLE = False

INF = np.inf


@dataclass
class CCHIndex:
    """The metric-independent part of a CCH (arrays are in rank space: node ``x`` = rank ``x``)."""

    rank: np.ndarray  # original node -> rank (or -1 for zones)
    up_ptr: np.ndarray  # CSR over ranks: upward edges of x are up_ptr[x]:up_ptr[x+1]
    up_head: np.ndarray  # higher end of each upward edge (sorted within a node)
    up_tail: np.ndarray  # lower end of each upward edge
    parent: np.ndarray  # elimination-tree parent (lowest upper neighbour), -1 at a root
    fw_arc: np.ndarray  # original arc lower -> higher of each edge, or -1
    bw_arc: np.ndarray  # original arc higher -> lower of each edge, or -1
    tri_top: np.ndarray  # per lower triangle (in customization order): the edge it updates
    lt_ptr: np.ndarray  # CSR over edges: the edge's lower triangles, ascending bottom rank,
    lt_e1: np.ndarray  # as its two other edges {u, lower end} ...
    lt_e2: np.ndarray  # ... and {u, higher end}
    num_triangles: int
    seconds: float  # preprocessing time

    @property
    def num_edges(self) -> int:
        return int(self.up_head.shape[0])


def nested_dissection_order(num_nodes: int, a: np.ndarray, b: np.ndarray, **options: int) -> np.ndarray:
    """Rank of every node in a METIS nested-dissection order of the undirected graph ``{a_i, b_i}``.

    ``options`` are METIS options (``pymetis.Options``); the seed is fixed, so the order is deterministic.
    """
    if num_nodes <= 2 or len(a) == 0:
        return np.arange(num_nodes, dtype=np.int64)
    if pymetis is None:
        raise ImportError(
            "the CCH shortest-path kernel needs pymetis (pip install pymetis), or use algorithm='dijkstra'."
        )
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys = np.unique(lo * num_nodes + hi)
    lo, hi = keys // num_nodes, keys % num_nodes
    u = np.concatenate([lo, hi])
    v = np.concatenate([hi, lo])
    o = np.lexsort((v, u))
    xadj = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=num_nodes))]).astype(np.int64)
    adj = pymetis.CSRAdjacency(xadj, v[o].astype(np.int64))
    _perm, iperm = pymetis.nested_dissection(adj, options=pymetis.Options(**{"seed": 0, **options}))
    return np.asarray(iperm, dtype=np.int64)


def peel_low_degree(num_nodes: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eliminate nodes of degree at most 2 first, as long as there are any.

    A degree-2 node's elimination joins its two neighbours (the fill edge it would add anyway), so
    dead ends and chains of road links, common in road networks, cost at most one lower triangle
    each instead of being placed by the dissection. Returns the peeled nodes in elimination order
    and the remaining graph's edges (original node ids, fill edges included).
    """
    adj: list[set[int]] = [set() for _ in range(num_nodes)]
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        if x != y:
            adj[x].add(y)
            adj[y].add(x)
    removed = np.zeros(num_nodes, bool)
    peeled: list[int] = []
    stack = [v for v in range(num_nodes) if len(adj[v]) <= 2]
    while stack:
        v = stack.pop()
        if removed[v] or len(adj[v]) > 2:
            continue
        removed[v] = True
        peeled.append(v)
        nbrs = sorted(adj[v])
        for w in nbrs:
            adj[w].discard(v)
        if len(nbrs) == 2:
            adj[nbrs[0]].add(nbrs[1])
            adj[nbrs[1]].add(nbrs[0])
        stack.extend(w for w in nbrs if len(adj[w]) <= 2)
        adj[v] = set()
    edges = np.array([(v, w) for v in range(num_nodes) for w in adj[v] if v < w], np.int64).reshape(-1, 2)
    return np.asarray(peeled, np.int64), edges[:, 0], edges[:, 1]


#: METIS options tried for the dissection; with and without peeling (:func:`peel_low_degree`) the order
#: with the fewest lower triangles is kept (ufactor 300 allows less balanced, smaller separators; on
#: Philadelphia peeling plus it gave 13.6% fewer triangles than the plain order).
METIS_TRIALS: tuple[dict[str, int], ...] = ({}, {"ufactor": 300})
#: Peeling is tried when it removes at least this share of the nodes (road networks: ~40%; grids: none).
PEEL_MIN_SHARE = 0.05


def candidate_orders(num_nodes: int, a: np.ndarray, b: np.ndarray):  # type: ignore[no-untyped-def]
    """Node ranks to choose from: METIS's order first (the fallback), then the other trials."""
    for options in METIS_TRIALS:
        yield nested_dissection_order(num_nodes, a, b, **options)
    peeled, pa, pb = peel_low_degree(num_nodes, a, b)
    if len(peeled) < PEEL_MIN_SHARE * num_nodes or len(peeled) == num_nodes:
        return
    rest = np.setdiff1d(np.arange(num_nodes), peeled)
    idx = np.full(num_nodes, -1, np.int64)
    idx[rest] = np.arange(len(rest))
    for options in METIS_TRIALS:
        order = np.empty(num_nodes, np.int64)
        order[peeled] = np.arange(len(peeled))
        order[rest] = len(peeled) + nested_dissection_order(len(rest), idx[pa], idx[pb], **options)
        yield order


@njit(cache=True)
def _eliminate(K, lo_ptr, lo_adj):  # type: ignore[no-untyped-def]
    """Upward edges of the chordal supergraph: upper(x) = own higher neighbours plus the
    upper sets of x's elimination-tree children (minus x). Returns (ptr, heads, parent)."""
    cap = max(16, 4 * lo_adj.shape[0])
    heads = np.empty(cap, np.int64)
    ptr = np.zeros(K + 1, np.int64)
    parent = np.full(K, -1, np.int64)
    child_head = np.full(K, -1, np.int64)
    child_next = np.full(K, -1, np.int64)
    mark = np.full(K, -1, np.int64)
    buf = np.empty(K, np.int64)
    for x in range(K):
        cnt = 0
        mark[x] = x
        for p in range(lo_ptr[x], lo_ptr[x + 1]):
            y = lo_adj[p]
            if mark[y] != x:
                mark[y] = x
                buf[cnt] = y
                cnt += 1
        c = child_head[x]
        while c >= 0:
            for p in range(ptr[c], ptr[c + 1]):
                y = heads[p]
                if mark[y] != x:
                    mark[y] = x
                    buf[cnt] = y
                    cnt += 1
            c = child_next[c]
        up = np.sort(buf[:cnt])
        start = ptr[x]
        if start + cnt > cap:
            while start + cnt > cap:
                cap *= 2
            grown = np.empty(cap, np.int64)
            grown[:start] = heads[:start]
            heads = grown
        heads[start : start + cnt] = up
        ptr[x + 1] = start + cnt
        if cnt > 0:
            p0 = up[0]
            parent[x] = p0
            child_next[x] = child_head[p0]
            child_head[p0] = x
    return ptr, heads[: ptr[K]].copy(), parent


@njit(cache=True)
def _triangles(K, ptr, heads, count):  # type: ignore[no-untyped-def]
    """For every bottom node u (ascending) and pair i < j of its upward edges, the id of the
    edge {heads[i], heads[j]} (found by merging the sorted upper lists)."""
    top = np.empty(count, np.int32)
    e1s = np.empty(count, np.int32)
    e2s = np.empty(count, np.int32)
    k = 0
    for u in range(K):
        p0 = ptr[u]
        d = ptr[u + 1] - p0
        for i in range(d):
            v = heads[p0 + i]
            q = ptr[v]
            for j in range(i + 1, d):
                w = heads[p0 + j]
                while heads[q] != w:
                    q += 1
                top[k] = q
                e1s[k] = p0 + i
                e2s[k] = p0 + j
                k += 1
    return top, e1s, e2s


def chordal_supergraph(K: int, ra: np.ndarray, rb: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The upward graph of the undirected edges ``{ra_i, rb_i}`` (in rank space) after elimination in rank
    order: ``(lower triangles, up_ptr, up_head, parent)``; the triangle count is what customization costs."""
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    keys = np.unique(lo * K + hi)
    lo_ptr = np.concatenate([[0], np.cumsum(np.bincount(keys // K, minlength=K))]).astype(np.int64)
    ptr, up_head, parent = _eliminate(K, lo_ptr, (keys % K).astype(np.int64))
    deg = np.diff(ptr)
    return int((deg * (deg - 1) // 2).sum()), ptr, up_head, parent


def build_index(
    num_nodes: int, tails: np.ndarray, heads: np.ndarray, zone: np.ndarray, max_triangles: float
) -> CCHIndex | None:
    """Preprocess the graph restricted to non-zone nodes; ``None`` when the hierarchy would have
    more than ``max_triangles`` lower triangles (customization would then cost more than it saves)."""
    t0 = time.perf_counter()
    core = np.flatnonzero(~zone)
    K = len(core)
    idx = np.full(num_nodes, -1, np.int64)
    idx[core] = np.arange(K)
    inner = np.flatnonzero(~zone[tails] & ~zone[heads])
    a, b = idx[tails[inner]], idx[heads[inner]]
    best = None
    for order in candidate_orders(K, a, b):
        count, ptr, up_head, parent = chordal_supergraph(K, order[a], order[b])
        if best is None and count > 2 * max_triangles:
            return None  # far over budget: no other order would bring it within
        if best is None or count < best[0]:
            best = (count, order, ptr, up_head, parent)
    assert best is not None
    count, order, ptr, up_head, parent = best
    if count > max_triangles:
        return None
    ra, rb = order[a], order[b]
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    deg = np.diff(ptr)
    up_tail = np.repeat(np.arange(K, dtype=np.int64), deg)
    # original arcs onto edges: edge ids are CSR positions, sorted by (tail, head) in rank space
    ekeys = up_tail * K + up_head
    pos = np.searchsorted(ekeys, lo * K + hi)
    fw_arc = np.full(len(up_head), -1, np.int64)
    bw_arc = np.full(len(up_head), -1, np.int64)
    up = ra < rb
    fw_arc[pos[up]] = inner[up]
    bw_arc[pos[~up]] = inner[~up]
    rank = np.full(num_nodes, -1, np.int64)
    rank[core] = order
    tri, e1, e2 = _triangles(K, ptr, up_head, count)
    by_top = np.argsort(tri, kind="stable")  # keeps ascending bottom rank within an edge
    lt_ptr = np.concatenate([[0], np.cumsum(np.bincount(tri, minlength=len(up_head)))]).astype(np.int64)
    return CCHIndex(
        rank,
        ptr,
        up_head,
        up_tail,
        parent,
        fw_arc,
        bw_arc,
        tri,
        lt_ptr,
        e1[by_top],
        e2[by_top],
        count,
        time.perf_counter() - t0,
    )


class CCHRouter:
    """A :class:`CCHIndex` plus the seeds of a fixed list of origin-destination pairs."""

    def __init__(
        self,
        index: CCHIndex,
        tails: np.ndarray,
        heads: np.ndarray,
        zone: np.ndarray,
        pairs: np.ndarray,
        demand: np.ndarray,
    ) -> None:
        self.index = index
        num_nodes = len(zone)
        self._num_nodes = num_nodes
        self._tails = np.ascontiguousarray(tails, dtype=np.int64)
        self._heads = np.ascontiguousarray(heads, dtype=np.int64)
        rank = index.rank
        arc_of = {(int(u), int(v)): j for j, (u, v) in enumerate(zip(tails, heads, strict=True))}
        src_ptr, src_node, src_arc = [0], [], []
        dst_ptr, dst_node, dst_arc = [0], [], []
        direct, dem = [], []
        for (s, t), d in zip(pairs, demand, strict=True):
            s, t = int(s), int(t)
            if s == t or d == 0:
                continue
            if zone[s]:
                for j in np.flatnonzero(tails == s):
                    if not zone[heads[j]]:
                        src_node.append(rank[heads[j]])
                        src_arc.append(j)
            else:
                src_node.append(rank[s])
                src_arc.append(-1)
            if zone[t]:
                for j in np.flatnonzero(heads == t):
                    if not zone[tails[j]]:
                        dst_node.append(rank[tails[j]])
                        dst_arc.append(j)
            else:
                dst_node.append(rank[t])
                dst_arc.append(-1)
            src_ptr.append(len(src_node))
            dst_ptr.append(len(dst_node))
            direct.append(arc_of.get((s, t), -1) if zone[s] and zone[t] else -1)
            dem.append(float(d))
        as_i = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
        self._seeds = (
            as_i(src_ptr),
            as_i(src_node),
            as_i(src_arc),
            as_i(dst_ptr),
            as_i(dst_node),
            as_i(dst_arc),
            as_i(direct),
        )
        self._dem = np.asarray(dem, dtype=np.float64)

    def kernel_args(self) -> tuple:
        """Arguments of :func:`_cch_kernels.cch_paths` between the costs and ``W``."""
        ix = self.index
        return (
            ix.up_ptr, ix.up_head, ix.up_tail, ix.parent, ix.fw_arc, ix.bw_arc, ix.tri_top, ix.lt_ptr, ix.lt_e1,
            ix.lt_e2, self._num_nodes, self._tails, self._heads, *self._seeds, self._dem,
        )  # fmt: skip

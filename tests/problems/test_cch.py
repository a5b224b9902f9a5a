"""Contraction hierarchies: exact against scipy's Dijkstra, zones, ties, determinism, reuse."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from dff_core.data.paths import shared_data_dir
from dff_core.problems import ShortestPath, _cch

pytest.importorskip("pymetis")


def _random_graph(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """A strongly connected digraph: a two-way ring plus random one-way chords."""
    arcs = {(i, (i + 1) % n) for i in range(n)} | {((i + 1) % n, i) for i in range(n)}
    while len(arcs) < 2 * n + m:
        u, v = (int(a) for a in rng.integers(0, n, 2))
        if u != v:
            arcs.add((u, v))
    return np.array(sorted(arcs))


def _road_grid(k: int) -> np.ndarray:
    idx = np.arange(k * k).reshape(k, k)
    right = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    down = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    return np.concatenate([right, right[:, ::-1], down, down[:, ::-1]])


def _scipy_cost(N: int, E: np.ndarray, c: np.ndarray, pairs, demand, zones=()) -> float:
    """Reference: csgraph Dijkstra on the graph whose zones leave through a private copy node."""
    zone = np.zeros(N, bool)
    zone[list(zones)] = True
    tails = np.where(zone[E[:, 0]], N + E[:, 0], E[:, 0])
    g = sp.csr_matrix((c + 0.0, (tails, E[:, 1])), shape=(2 * N, 2 * N))
    total = 0.0
    for (s, t), d in zip(pairs, demand, strict=True):
        dist = dijkstra(g, directed=True, indices=N + s if zone[s] else s)
        total += d * dist[t]
    return total


def _check_paths(p: ShortestPath, W: np.ndarray) -> None:
    """Per row: integral flows, conservation for the demand-weighted pairs, no zone passed."""
    assert np.all(np.round(W) == W)
    tails, heads = p.edges[:, 0], p.edges[:, 1]
    for w in W:
        net = np.zeros(p.num_nodes)
        np.add.at(net, tails, w)
        np.subtract.at(net, heads, w)
        expected = np.zeros(p.num_nodes)
        for (s, t), d in zip(p.pairs, p.demand, strict=True):
            if s != t:
                expected[s] += d
                expected[t] -= d
        np.testing.assert_allclose(net, expected, atol=1e-9)
        ends = set(p.pairs.ravel().tolist())
        for z in p.zones:
            if z not in ends:
                assert w[heads == z].sum() == 0 and w[tails == z].sum() == 0
        for s in set(p.pairs[:, 0].tolist()) - set(p.pairs[:, 1].tolist()):
            if s in set(p.zones.tolist()):
                assert w[heads == s].sum() == 0  # a zone origin is only left


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cch_matches_scipy_on_random_graphs_with_zones_and_demands(seed: int) -> None:
    rng = np.random.default_rng(seed)
    N = 80
    E = _random_graph(rng, N, 200)
    perm = rng.permutation(N)
    zones, nodes = perm[:10], perm[10:18]
    pairs = [(int(nodes[0]), int(nodes[1])), (int(zones[0]), int(zones[1])), (int(zones[2]), int(nodes[2])),
             (int(nodes[3]), int(zones[3])), (int(nodes[4]), int(nodes[5]))]  # fmt: skip
    demand = [1.0, 2.0, 1.0, 3.0, 2.0]
    try:
        p = ShortestPath(N, E, pairs=pairs, demand=demand, zones=zones, algorithm="cch")
    except ValueError as exc:  # a zone end may have no connector left on this random graph
        pytest.skip(str(exc))
    assert p.algorithm == "cch" and p.preprocess_seconds > 0
    C = rng.random((25, p.d))
    C[:, rng.choice(p.d, 20, replace=False)] = 0.0  # zero-cost arcs (and zero-cost cycles)
    W = p.solve(C)
    _check_paths(p, W)
    for i in range(len(C)):
        ref = _scipy_cost(N, E, C[i], pairs, demand, zones)
        assert C[i] @ W[i] == pytest.approx(ref, rel=1e-12, abs=1e-12)


def test_cch_matches_scipy_and_dijkstra_on_road_grid() -> None:
    E = _road_grid(12)
    rng = np.random.default_rng(3)
    pairs = [(0, 143), (11, 132), (70, 5), (100, 101)]
    cch = ShortestPath(144, E, pairs=pairs, algorithm="cch")
    dij = ShortestPath(144, E, pairs=pairs, algorithm="dijkstra")
    C = rng.uniform(1.0, 2.0, (30, cch.d))
    Wc, Wd = cch.solve(C), dij.solve(C)
    _check_paths(cch, Wc)
    for i in range(len(C)):
        ref = _scipy_cost(144, E, C[i], pairs, [1.0] * 4)
        assert C[i] @ Wc[i] == pytest.approx(ref, rel=1e-12)
        assert C[i] @ Wd[i] == pytest.approx(ref, rel=1e-12)


def test_ties_give_optimal_simple_paths_and_exact_objectives() -> None:
    """Integer costs make many equally short paths: CCH may pick another one than Dijkstra, but
    the objective is identical (integer sums are exact) and each path is simple (0/1 flows)."""
    E = _road_grid(9)
    rng = np.random.default_rng(4)
    pairs = [(0, 80), (8, 72), (40, 4)]
    cch = ShortestPath(81, E, pairs=pairs, algorithm="cch")
    dij = ShortestPath(81, E, pairs=pairs, algorithm="dijkstra")
    C = rng.integers(0, 3, (40, cch.d)).astype(float)
    Wc, Wd = cch.solve(C), dij.solve(C)
    np.testing.assert_array_equal(np.einsum("ij,ij->i", C, Wc), np.einsum("ij,ij->i", C, Wd))
    single = ShortestPath(81, E, 0, 80, algorithm="cch").solve(C)
    assert set(np.unique(single)) <= {0.0, 1.0}


def test_same_costs_same_flows_whatever_the_split(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    E = _random_graph(rng, 60, 150)
    p = ShortestPath(60, E, pairs=[(0, 30), (5, 45)], algorithm="cch")
    C = rng.integers(1, 4, (17, p.d)).astype(float)  # ties on purpose
    W1 = p.solve(C)
    monkeypatch.setenv("DFF_SOLVER_THREADS", "1")
    np.testing.assert_array_equal(p.solve(C), W1)
    monkeypatch.setenv("DFF_SOLVER_THREADS", "3")
    np.testing.assert_array_equal(p.solve(C.copy()), W1)
    np.testing.assert_array_equal(p.solve(C[7]), W1[7])  # a row alone: same block-independent answer


def test_preprocessing_is_done_once_per_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = _cch.build_index

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_cch, "build_index", counting)
    rng = np.random.default_rng(6)
    p = ShortestPath(50, _random_graph(rng, 50, 120), 0, 25, algorithm="cch")
    index = p._cch.index
    seconds = p.preprocess_seconds
    for _ in range(3):
        p.solve(rng.random((4, p.d)))
    assert len(calls) == 1 and p._cch.index is index and p.preprocess_seconds == seconds


def test_auto_keeps_dijkstra_on_small_graphs_and_validates_algorithm() -> None:
    rng = np.random.default_rng(7)
    E = _random_graph(rng, 40, 80)
    p = ShortestPath(40, E, 0, 20)
    assert p.algorithm == "dijkstra" and p.preprocess_seconds == 0.0 and "dijkstra" in repr(p)
    assert ShortestPath.grid(4, 4).algorithm == "dag-dp"
    with pytest.raises(ValueError, match="algorithm must be"):
        ShortestPath(40, E, 0, 20, algorithm="ch")
    with pytest.raises(ValueError, match="zones must be node ids"):
        ShortestPath(40, E, 0, 20, zones=[3, 99])


def test_zones_are_never_passed_through_by_dijkstra_either() -> None:
    """Zone 1 is the only short cut from 0 to 2; as a zone it may not be used."""
    E = np.array([(0, 1), (1, 2), (0, 3), (3, 4), (4, 2), (2, 0)])
    c = np.array([1.0, 1.0, 5.0, 5.0, 5.0, 1.0])
    for algorithm in ("dijkstra", "cch"):
        p = ShortestPath(5, E, 0, 2, zones=[1], algorithm=algorithm)
        np.testing.assert_array_equal(p.solve(c), [0, 0, 1, 1, 1, 0])
        z = ShortestPath(5, E, pairs=[(1, 2), (0, 1)], zones=[1], algorithm=algorithm)
        np.testing.assert_array_equal(z.solve(c), [1, 1, 0, 0, 0, 0])  # zones as ends are fine
    with pytest.raises(ValueError, match="only zones connect"):
        ShortestPath(3, [(0, 1), (1, 2)], 0, 2, zones=[1])


@pytest.mark.slow
def test_philadelphia_auto_picks_cch_and_matches_scipy() -> None:
    data = shared_data_dir()
    net_file = None if data is None else data / "tntp-philadelphia" / "Philadelphia_net.tntp"
    if net_file is None or not net_file.exists():
        pytest.skip("tntp-philadelphia not found under the shared data folder")
    from dff_core.data.networks import load_tntp_network

    frame = load_tntp_network(net_file)
    meta = frame.attrs["metadata"]
    N = int(meta["NUMBER OF NODES"])
    zones = np.arange(int(meta["FIRST THRU NODE"]) - 1)
    E = frame[["init_node", "term_node"]].to_numpy() - 1
    rng = np.random.default_rng(8)
    ends = rng.choice(zones, 10, replace=False)
    pairs = [(int(s), int(t)) for s, t in zip(ends[:5], ends[5:], strict=True)]
    p = ShortestPath(N, E, pairs=pairs, zones=zones)
    assert p.algorithm == "cch"
    base = np.maximum(frame["free_flow_time"].to_numpy(), 0.01)
    C = base * rng.uniform(0.8, 1.5, (6, p.d))
    W = p.solve(C)
    _check_paths(p, W)
    for i in range(len(C)):
        assert C[i] @ W[i] == pytest.approx(_scipy_cost(N, E, C[i], pairs, [1.0] * 5, zones), rel=1e-12)


def test_low_degree_nodes_are_peeled_first_with_their_fill_edges() -> None:
    # A 4-cycle 0-1-2-3 with a dead end 4 hanging off 0 and a chain 5-6 between 1 and 3.
    a = np.array([0, 1, 2, 3, 0, 1, 6])
    b = np.array([1, 2, 3, 0, 4, 5, 5])
    a, b = np.r_[a, 6], np.r_[b, 3]
    peeled, pa, pb = _cch.peel_low_degree(7, a, b)
    # Every node ends up peeled: dead ends and chains first, and what they leave has degree <= 2 too.
    assert sorted(peeled.tolist()) == list(range(7)) and len(pa) == len(pb) == 0
    ring = np.arange(6)
    peeled, pa, pb = _cch.peel_low_degree(8, np.r_[ring, 0, 0, 3], np.r_[(ring + 1) % 6, 3, 6, 7])
    assert set(peeled.tolist()) >= {6, 7}  # the two dead ends
    for x, y in zip(pa.tolist(), pb.tolist(), strict=True):
        assert x not in peeled and y not in peeled  # the remaining graph has only unpeeled nodes


def test_the_order_with_the_fewest_triangles_is_kept() -> None:
    E = _road_grid(12)
    extra = np.array([[144 + i, i] for i in range(12)] + [[i, 144 + i] for i in range(12)])  # dead ends
    E = np.concatenate([E, extra])
    n = 156
    zone = np.zeros(n, bool)
    index = _cch.build_index(n, E[:, 0], E[:, 1], zone, float("inf"))
    counts = [_cch.chordal_supergraph(n, o[E[:, 0]], o[E[:, 1]])[0] for o in _cch.candidate_orders(n, E[:, 0], E[:, 1])]
    assert len(counts) == 2 * len(_cch.METIS_TRIALS)  # the dead ends make peeling worth a try
    assert len(index.tri_top) == min(counts) <= counts[0]


def test_batches_split_into_even_shares_with_block_aligned_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    from dff_core.problems import _graph

    seen: list[tuple[int, int]] = []

    def kernel(C, W):
        seen.append((int(C[0, 0]), C.shape[0]))
        return -1

    monkeypatch.setattr(_graph, "num_threads", lambda: 2)
    C = np.arange(100, dtype=float)[:, None]
    assert _graph.run_split(kernel, C, np.zeros_like(C), min_rows=1, align=16) == -1
    # 48 + 52 rows: three full groups of 16 each, the short last group with the second share
    assert sorted(seen) == [(0, 48), (48, 52)]


def test_split_in_chunks_covers_every_row_once_and_reports_the_first_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading
    import time

    from dff_core.problems import _graph

    seen: list[tuple[int, int, int]] = []

    def kernel(C, W):
        seen.append((int(C[0, 0]), C.shape[0], threading.get_ident()))
        time.sleep(0.005)  # long enough that no thread can take every chunk alone
        W[:] = 1.0
        rows = C[:, 0].astype(int).tolist()
        for bad in (70, 30):  # two failing rows, in different chunks
            if bad in rows:
                return rows.index(bad)
        return -1

    monkeypatch.setattr(_graph, "num_threads", lambda: 2)
    C = np.arange(100, dtype=float)[:, None]
    W = np.zeros_like(C)
    assert _graph.run_split(kernel, C, W, min_rows=1, chunks_per_thread=4) == 30
    starts = sorted((a, n) for a, n, _ in seen)
    assert len(starts) == 8 and all(n in (12, 13) for _, n in starts)
    assert [a for a, _ in starts] == list(np.cumsum([0] + [n for _, n in starts[:-1]]))
    assert W.min() == 1.0  # every row handed to a kernel
    assert threading.get_ident() in {t for _, _, t in seen}  # the caller works too


def test_split_does_not_wait_for_a_helper_that_never_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the pool's thread busy elsewhere the caller takes every block itself and returns."""
    import threading

    from dff_core.problems import _graph

    monkeypatch.setattr(_graph, "num_threads", lambda: 2)
    monkeypatch.setattr(_graph, "_pool", None)  # a fresh pool: one helper thread for two threads
    C = np.arange(40, dtype=float)[:, None]
    _graph.run_split(lambda C, W: -1, C, np.zeros_like(C), min_rows=1)
    release = threading.Event()
    busy = _graph._pool.submit(release.wait, 10)  # the only helper thread is now taken
    callers: set[int] = set()

    def kernel(C, W):
        callers.add(threading.get_ident())
        W[:] = 1.0
        return -1

    W = np.zeros_like(C)
    try:
        assert _graph.run_split(kernel, C, W, min_rows=1, chunks_per_thread=4) == -1
        assert not busy.done()  # returned while the helper thread was still blocked
        assert callers == {threading.get_ident()} and W.min() == 1.0
    finally:
        release.set()
    busy.result()

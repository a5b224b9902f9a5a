"""Bounded unit flows for negative (SPO+ surrogate) costs: exact against the HiGHS LP."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.data.paths import shared_data_dir
from dff_core.problems import ShortestPath, _flow
from dff_core.problems._lp import BoundedFlowLP


def _graph(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Two-way ring plus random chords (many two-way: negative 2-cycles appear)."""
    arcs = {(i, (i + 1) % n) for i in range(n)} | {((i + 1) % n, i) for i in range(n)}
    while len(arcs) < 2 * n + m:
        u, v = (int(a) for a in rng.integers(0, n, 2))
        if u != v:
            arcs.update({(u, v), (v, u)} if rng.random() < 0.5 else {(u, v)})
    return np.array(sorted(arcs))


def _lp_objective(p: ShortestPath, q: np.ndarray) -> float:
    """The bounded-flow LP per pair (HiGHS), zones fixed to zero flow except at the pair's ends."""
    total = 0.0
    tails, heads = p.edges[:, 0], p.edges[:, 1]
    zone = np.zeros(p.num_nodes, bool)
    zone[p.zones] = True
    for (s, t), d in zip(p.pairs, p.demand, strict=True):
        if s == t or d == 0:
            continue
        usable = (~zone[tails] | (tails == s)) & (~zone[heads] | (heads == t))
        lp = BoundedFlowLP(p.num_nodes, p.edges, int(s), int(t), usable=usable)
        total += d * (q @ lp.solve(q))
    return total


@pytest.mark.parametrize(("seed", "shift"), [(3, 0.05), (0, 0.2), (1, 0.4), (2, 0.6)])
def test_surrogate_matches_lp_on_random_instances(seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    N = 40
    E = _graph(rng, N, 80)
    p = ShortestPath(N, E, pairs=[(0, 20), (7, 33), (0, 5)], demand=[1.0, 2.5, 0.5])
    Q = rng.random((12, p.d)) - shift  # from few to many negative arcs and cycles
    W = p.solve_surrogate(Q)
    assert W.min() >= -1e-12 and W.max() <= p.demand.sum() + 1e-12
    for i in range(len(Q)):
        ref = _lp_objective(p, Q[i])
        assert Q[i] @ W[i] == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_surrogate_with_zones_matches_lp_and_keeps_zones_closed() -> None:
    rng = np.random.default_rng(3)
    N = 40
    E = _graph(rng, N, 80)
    zones = [2, 11, 17, 29]
    p = ShortestPath(N, E, pairs=[(2, 11), (5, 17), (29, 30)], zones=zones)
    Q = rng.random((10, p.d)) - 0.35
    W = p.solve_surrogate(Q)
    for i in range(len(Q)):
        assert Q[i] @ W[i] == pytest.approx(_lp_objective(p, Q[i]), rel=1e-9, abs=1e-9)
    heads, tails = p.edges[:, 1], p.edges[:, 0]
    # zone 2 only starts a pair and zone 29 only starts one: nothing may enter either
    assert W[:, heads == 2].sum() == 0 and W[:, heads == 29].sum() == 0
    assert W[:, tails == 11].sum() == 0 and W[:, tails == 17].sum() == 0  # destinations only


def test_primal_dual_and_reference_kernel_agree_and_are_deterministic() -> None:
    rng = np.random.default_rng(4)
    E = _graph(rng, 50, 120)
    p = ShortestPath(50, E, 3, 44)
    Q = np.ascontiguousarray(rng.random((20, p.d)) - 0.3)
    W = p.solve_surrogate(Q)
    ref = np.zeros_like(Q)
    bad = _flow.bounded_flows_ssp(
        Q, p._out_ptr, p._out_arc, p._in_ptr, p._in_arc, p._heads, p._tails,
        p.pairs[:, 0].copy(), p.pairs[:, 1].copy(), p.demand, ref,
    )  # fmt: skip
    assert bad == -1
    np.testing.assert_allclose(np.einsum("ij,ij->i", Q, W), np.einsum("ij,ij->i", Q, ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(p.solve_surrogate(Q.copy()), W)
    np.testing.assert_array_equal(p.solve_surrogate(Q[5:6]), W[5:6])  # a row alone: same answer


@pytest.mark.slow
def test_metr_la_spo_surrogates_match_lp() -> None:
    data = shared_data_dir()
    f = None if data is None else data / "metr-la-week" / "adj_mx.npz"
    if f is None or not f.exists():
        pytest.skip("metr-la-week/adj_mx.npz not found under the shared data folder")
    with np.load(f, allow_pickle=False) as z:
        adj = z["adj"]
    u, v = np.nonzero(adj > 0)
    E = np.stack([u[u != v], v[u != v]], axis=1)
    p = ShortestPath(207, E, pairs=[(92, 8), (10, 150), (30, 60)], demand=[1.0, 2.0, 1.0])
    rng = np.random.default_rng(5)
    C = rng.uniform(1.0, 2.0, (8, p.d))
    Q = 2 * C * rng.uniform(0.3, 1.5, C.shape) - C  # SPO+'s 2ĉ - c, ~17% negative arcs
    W = p.solve_surrogate(Q)
    for i in range(len(Q)):
        assert Q[i] @ W[i] == pytest.approx(_lp_objective(p, Q[i]), rel=1e-9)


def _imbalance(p: ShortestPath, q: np.ndarray, pi: np.ndarray) -> int:
    """Units of excess when every arc with a negative reduced cost starts saturated."""
    tails, heads = p.edges[:, 0], p.edges[:, 1]
    sat = q + pi[tails] - pi[heads] < 0
    ex = np.bincount(heads[sat], minlength=p.num_nodes) - np.bincount(tails[sat], minlength=p.num_nodes)
    return int(ex[ex > 0].sum())


def test_balance_sweep_cuts_the_excess_to_route() -> None:
    """One sweep of dual coordinate ascent (the start for dense negative arcs) leaves far less
    excess than zero potentials, and balances every node it moves at the time it moves it."""
    rng = np.random.default_rng(6)
    E = _graph(rng, 60, 200)
    p = ShortestPath(60, E, 0, 30)
    core = np.ones(p.d, bool)
    buf, top = np.empty(p.d + 2), np.empty(p.d + 2)
    before, after = [], []
    for _ in range(20):
        q = rng.random(p.d) - 0.3
        pi = np.zeros(p.num_nodes)
        before.append(_imbalance(p, q, pi))
        _flow._balance(q, pi, core, p._out_ptr, p._out_arc, p._in_ptr, p._in_arc, p._heads, p._tails, buf, top)
        after.append(_imbalance(p, q, pi))
    assert min(before) > 0
    assert sum(after) < 0.6 * sum(before)


def test_unreachable_destination_is_reported_for_that_instance() -> None:
    # 0 -> 1 -> 2 -> 0 and a negative two-cycle 3 <-> 4 entered from 5; nothing leads from
    # {0, 1, 2} to 5 (construction rejects such a pair, so the kernel is called directly)
    E = np.array([[0, 1], [1, 2], [2, 0], [3, 4], [4, 3], [5, 3]])
    p = ShortestPath(6, E, 0, 2)
    Q = np.array([[1.0, 1.0, 1.0, -2.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(p.solve_surrogate(Q)[0], [1.0, 1.0, 0.0, 1.0, 1.0, 0.0])  # path + cycle
    W = np.zeros_like(Q)
    args = (p._out_ptr, p._out_arc, p._in_ptr, p._in_arc, p._heads, p._tails, p._zone)
    bad = _flow.bounded_flows(Q, *args, np.array([0]), np.array([5]), np.array([1.0]), W)
    assert bad == 0
    bad = _flow.bounded_flows(Q[1:], *args, np.array([0, 0]), np.array([2, 5]), np.array([1.0, 1.0]), W[1:])
    assert bad == 0


@pytest.mark.parametrize("shift", [0.3, 0.6])
def test_single_pair_matches_lp_when_folded_into_the_circulation(shift: float) -> None:
    """One pair with dense negative arcs: its unit is routed inside the circulation."""
    rng = np.random.default_rng(7)
    E = _graph(rng, 40, 90)
    p = ShortestPath(40, E, pairs=[(3, 30), (5, 5)], demand=[2.0, 1.0])  # (5, 5) carries no flow
    Q = rng.random((15, p.d)) - shift
    W = p.solve_surrogate(Q)
    for i in range(len(Q)):
        assert Q[i] @ W[i] == pytest.approx(_lp_objective(p, Q[i]), rel=1e-9, abs=1e-9)
    assert np.isin(W, [0.0, 2.0]).all()  # unit flows times the demand

"""Solver and loss speed: DFF Studio's batched problems against per-instance competitors.

Run from the repository root:  python benchmarks/bench_solvers.py  [--quick]

Every row times ours and a named competitor in the same run on the same cost vectors and
prints solves per second and the ratio (ours / competitor). Ours is the best of three
repeats (after one warm-up call, which also compiles the numba kernels); slow competitors
are timed once, some on a subset whose per-solve rate is extrapolated (the table says so).
The machine is shared, so trust the ratios more than the absolute rates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import best_of  # noqa: E402
from dff_core import losses  # noqa: E402
from dff_core.problems import Allocation, MinCostFlow, Portfolio, ShortestPath  # noqa: E402
from dff_core.problems._lp import BoundedFlowLP, incidence, new_highs  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
ROWS: list[dict] = []


def shared_data() -> Path:
    env = os.environ.get("DFF_SHARED_DATA")
    return Path(env) if env else ROOT / ".." / "shared" / "data"


def once(f: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def record(case: str, n: int, t_ours: float, rival: str, n_rival: int, t_rival: float, target: float | None) -> None:
    ours_rate = n / t_ours
    rival_rate = n_rival / t_rival
    ratio = ours_rate / rival_rate
    met = "n/a" if target is None else ("yes" if ratio >= target else "NO")
    note = "" if n_rival == n else f" (timed on {n_rival}, rate extrapolated)"
    ROWS.append(
        {
            "case": case,
            "ours": f"{ours_rate:,.0f}",
            "rival": rival + note,
            "rival_rate": f"{rival_rate:,.0f}",
            "ratio": f"{ratio:,.1f}x",
            "target": "-" if target is None else f">= {target:g}x",
            "met": met,
        }
    )
    print(f"  {case}: ours {ours_rate:,.0f}/s, {rival} {rival_rate:,.0f}/s -> {ratio:,.1f}x", flush=True)


# ---------------------------------------------------------------- cases
def grid_vs_ortools(n: int) -> None:
    from pyepo.data.shortestpath import genData
    from pyepo.model.ort import shortestPathModel

    _, C = genData(n, 5, (5, 5), deg=4, noise_width=0.5, seed=1)
    p = ShortestPath.grid(5, 5)
    ort = shortestPathModel(grid=(5, 5))

    def rival() -> None:
        for c in C:
            ort.setObj(c)
            ort.solve()

    record(f"5x5 grid, batch {n}", n, best_of(lambda: p.solve(C)), "PyEPO OR-Tools model", n, once(rival), 100)


def metr_la(n: int, n_cvx: int) -> None:
    f = shared_data() / "metr-la-week" / "adj_mx.npz"
    if not f.exists():
        print(f"  METR-LA skipped: {f} not found (set DFF_SHARED_DATA)")
        return
    import cvxpy as cp

    with np.load(f, allow_pickle=False) as z:
        adj = z["adj"]
    u, v = np.nonzero(adj > 0)
    E = np.stack([u[u != v], v[u != v]], axis=1)
    s, t = 92, 8  # the pair with the most hops (17) in the sensor graph
    p = ShortestPath(207, E, s, t)
    rng = np.random.default_rng(0)
    C = rng.uniform(1.0, 2.0, (n, p.d))
    t_ours = best_of(lambda: p.solve(C))

    A = incidence(207, E)
    b = np.zeros(207)
    b[s], b[t] = 1.0, -1.0
    x = cp.Variable(p.d)
    c = cp.Parameter(p.d)
    lp = cp.Problem(cp.Minimize(c @ x), [A @ x == b, x >= 0])

    def cvx() -> None:
        for row in C[:n_cvx]:
            c.value = row
            lp.solve(solver="HIGHS")

    record(f"METR-LA graph (207 nodes, {p.d} arcs), batch {n}", n, t_ours, "cvxpy LP (HiGHS) per instance", n_cvx,
           once(cvx), 100)  # fmt: skip

    def scipy_loop() -> None:
        for row in C:
            g = sp.csr_matrix((row, (E[:, 0], E[:, 1])), shape=(207, 207))
            dijkstra(g, directed=True, indices=s, return_predecessors=True)

    record(f"METR-LA graph, batch {n}", n, t_ours, "scipy Dijkstra per instance", n, best_of(scipy_loop, 1), 1)

    # SPO+ surrogate costs 2ĉ - c with negative arcs: exact bounded-flow solve
    m = min(200, n)
    for lo, label in ((0.3, "~17% negative arcs"), (0.45, "~5% negative arcs")):
        Q = 2 * C[:m] * rng.uniform(lo, 1.5, (m, p.d)) - C[:m]
        lpf = BoundedFlowLP(207, E, s, t)

        def highs(Q=Q, lpf=lpf) -> None:
            for row in Q:
                lpf.solve(row)

        record(f"METR-LA SPO+ surrogate 2ĉ-c ({label}), batch {m}", m, best_of(lambda Q=Q: p.solve_surrogate(Q)),
               "HiGHS bounded-flow LP per instance (model built once)", m, once(highs), None)  # fmt: skip


def min_cost_flow(n: int, n_cvx: int) -> None:
    import cvxpy as cp

    k = 10  # 10 x 10 grid, arcs both ways
    E = []
    for r in range(k):
        for col in range(k):
            node = r * k + col
            if col + 1 < k:
                E += [(node, node + 1), (node + 1, node)]
            if r + 1 < k:
                E += [(node, node + k), (node + k, node)]
    E = np.array(E)
    rng = np.random.default_rng(1)
    cap = rng.uniform(1.0, 3.0, len(E))
    sup = np.zeros(k * k)
    sup[[0, 9, 45]] = [2.0, 1.5, 1.0]
    sup[[99, 90, 54]] = [-2.0, -1.5, -1.0]
    p = MinCostFlow(k * k, E, cap, sup)
    C = rng.uniform(0.5, 2.0, (n, p.d))
    A = incidence(k * k, E)
    x = cp.Variable(p.d)
    c = cp.Parameter(p.d)
    prob = cp.Problem(cp.Minimize(c @ x), [A @ x == sup, x >= 0, x <= cap])

    def cvx() -> None:
        for row in C[:n_cvx]:
            c.value = row
            prob.solve(solver="HIGHS")

    record(f"MinCostFlow 10x10 grid ({p.d} arcs), batch {n}", n, best_of(lambda: p.solve(C), 1),
           "cvxpy LP (HiGHS) per instance", n_cvx, once(cvx), None)  # fmt: skip


def allocation(n: int, n_cvx: int) -> None:
    import cvxpy as cp

    d = 50
    rng = np.random.default_rng(2)
    cap = rng.uniform(0.5, 2.0, d)
    w = rng.uniform(0.5, 2.0, d)
    groups = np.repeat(np.arange(5), 10)
    C = rng.normal(1.0, 1.0, (n, d))
    for group_caps, label in (({}, "closed form"), ({0: 3.0, 1: 2.0, 2: 4.0}, "group caps, HiGHS LP")):
        p = Allocation(cap, 15.0, w, groups=groups, group_caps=group_caps)
        x = cp.Variable(d)
        c = cp.Parameter(d)
        cons = [x >= 0, x <= cap, w @ x <= 15.0]
        cons += [w[groups == g] @ x[groups == g] <= v for g, v in group_caps.items()]
        prob = cp.Problem(cp.Maximize(c @ x), cons)

        def cvx(prob=prob, c=c) -> None:
            for row in C[:n_cvx]:
                c.value = row
                prob.solve(solver="HIGHS")

        record(f"Allocation d={d} ({label}), batch {n}", n, best_of(lambda p=p: p.solve(C), 1),
               "cvxpy LP (HiGHS) per instance", n_cvx, once(cvx), None)  # fmt: skip


def portfolio(n: int) -> None:
    import cvxpy as cp
    from pyepo.data.portfolio import genData

    cov, _, C = genData(n, 5, 20, deg=2, noise_level=1, seed=3)
    p = Portfolio(cov)
    x = cp.Variable(20)

    def cvx() -> None:
        for row in C:
            prob = cp.Problem(cp.Maximize(row @ x), [cp.sum(x) == 1, x >= 0, cp.quad_form(x, cov) <= p.risk_limit])
            prob.solve(solver="CLARABEL")

    record(f"Portfolio 20 assets (PyEPO data), batch {n}", n, best_of(lambda: p.solve(C), 1),
           "cvxpy problem rebuilt per instance (CLARABEL)", n, once(cvx), None)  # fmt: skip


def spo_plus(n: int) -> None:
    import pyepo
    from pyepo.data.shortestpath import genData
    from pyepo.model.ort import shortestPathModel

    _, C = genData(n, 5, (5, 5), deg=4, noise_width=0.5, seed=2)
    p = ShortestPath.grid(5, 5)
    W, z = losses.true_solutions(p, C)
    rng = np.random.default_rng(3)
    P = C * rng.uniform(0.5, 1.5, C.shape)
    Ct, Wt, zt = torch.as_tensor(C), torch.as_tensor(W), torch.as_tensor(z)
    ref = pyepo.func.SPOPlus(shortestPathModel(grid=(5, 5)), processes=1)

    def ours() -> None:
        pred = torch.tensor(P, requires_grad=True)
        losses.spo_plus(p, pred, Ct, Wt, zt).backward()

    def rival() -> None:
        pred = torch.tensor(P, requires_grad=True)
        ref(pred, Ct, Wt, zt[:, None]).backward()

    record(f"SPO+ forward+backward, grid batch {n}", n, best_of(ours), "pyepo.func.SPOPlus (OR-Tools model)", n,
           once(rival), None)  # fmt: skip


def markdown() -> str:
    head = "| case | ours (solves/s) | competitor | competitor (solves/s) | ratio | target | met |"
    lines = [head, "|---|---:|---|---:|---:|---|---|"]
    for r in ROWS:
        cells = [r[k] for k in ("case", "ours", "rival", "rival_rate", "ratio", "target", "met")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches (smoke run)")
    args = ap.parse_args()
    n = 100 if args.quick else 1000
    n_cvx = 10 if args.quick else 50
    torch.set_num_threads(1)
    new_highs()  # HiGHS prints a banner on the first instance of a process; this one is silenced
    print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} cpus", flush=True)
    grid_vs_ortools(n)
    metr_la(n, n_cvx)
    min_cost_flow(n // 5, n_cvx)
    allocation(n, n_cvx)
    portfolio(n // 10)
    spo_plus(32)
    spo_plus(n)
    print()
    print(markdown())


if __name__ == "__main__":
    main()

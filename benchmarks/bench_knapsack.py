"""Knapsack solve speed: the compiled DP and the HiGHS MIP against PyEPO's OR-Tools knapsack model.

Run from the repository root:  python benchmarks/bench_knapsack.py  [--quick]

Data are PyEPO's knapsack instances (``dff_core.data.synthetic.knapsack_data``, the numbers of
``pyepo.data.knapsack.genData``; capacity 20 per dimension). Each row solves the same item
values three ways and prints solves per second and the ratios against PyEPO's model
(``pyepo.model.ort.knapsackModel``, OR-Tools' SCIP backend, one instance at a time). The DP is
the best of three repeats after a warm-up call (which compiles it); the MIP and OR-Tools are
timed once on a subset whose per-solve rate is compared. The objective values of all three
are checked to agree.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import best_of  # noqa: E402
from dff_core.data.synthetic import knapsack_data  # noqa: E402
from dff_core.problems import Knapsack  # noqa: E402
from dff_core.problems._lp import new_highs  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)


def once(f: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def ortools_solve(model, C: np.ndarray) -> np.ndarray:
    """PyEPO's per-instance loop: set the objective, solve, read the objective value."""
    z = []
    for c in C:
        model.setObj(c)
        _, obj = model.solve()
        z.append(obj)
    return np.array(z)


def case(label: str, weights: np.ndarray, C: np.ndarray, n_slow: int) -> dict[str, str]:
    from pyepo.model.ort import knapsackModel

    capacity = [20.0] * weights.shape[0]
    auto = Knapsack(weights, capacity)
    mip = Knapsack(weights, capacity, method="mip")
    model = knapsackModel(weights, capacity)
    sub = C[:n_slow]
    z_ort = ortools_solve(model, sub)  # also warms OR-Tools up
    t_ort = once(lambda: ortools_solve(model, sub))
    t_mip = once(lambda: mip.solve(sub))
    z_mip = mip.objective(sub, mip.solve(sub))
    np.testing.assert_allclose(z_mip, z_ort, rtol=1e-7, atol=1e-6)
    row = {"case": label, "dp": "n/a", "mip": f"{n_slow / t_mip:,.0f}", "ort": f"{n_slow / t_ort:,.0f}"}
    row["mip_ratio"] = f"{t_ort / t_mip:,.1f}x"
    row["dp_ratio"] = "-"
    if auto.method == "dp":
        t_dp = best_of(lambda: auto.solve(C))
        np.testing.assert_allclose(auto.objective(sub, auto.solve(sub)), z_ort, rtol=1e-7, atol=1e-6)
        row["dp"] = f"{len(C) / t_dp:,.0f}"
        row["dp_ratio"] = f"{(len(C) / t_dp) / (n_slow / t_ort):,.1f}x"
    dp = "not applicable" if row["dp"] == "n/a" else f"{row['dp']}/s ({row['dp_ratio']} OR-Tools)"
    print(f"  {label}: DP {dp}, HiGHS MIP {row['mip']}/s ({row['mip_ratio']}), OR-Tools {row['ort']}/s", flush=True)
    return row


def main(argv: list[str] | None = None) -> list[dict[str, str]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches (smoke run)")
    args = ap.parse_args(argv)
    n, n_slow = (100, 10) if args.quick else (1000, 100)
    new_highs()  # HiGHS prints a banner on the first instance of a process; this one is silenced
    print(f"numpy {np.__version__}, {os.cpu_count()} cpus; batch {n} (DP), {n_slow} (MIP, OR-Tools)", flush=True)
    rows = []
    for dim in (1, 2):
        data = knapsack_data(n, 5, 32, dim=dim, deg=4, noise_width=0.5, seed=1)
        rows.append(case(f"PyEPO data, 32 items, dim {dim}", data.problem.weights, data.C, n_slow))
    # whole-number weights: the DP also covers several dimensions (21^2 capacity states)
    data = knapsack_data(n, 5, 32, dim=2, deg=4, noise_width=0.5, seed=1)
    rows.append(case("32 items, dim 2, weights rounded up", np.ceil(data.problem.weights), data.C, n_slow))
    print()
    head = "| case | DP (solves/s) | HiGHS MIP (solves/s) | OR-Tools (solves/s) | DP / OR-Tools | MIP / OR-Tools |"
    print(head)
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['dp']} | {r['mip']} | {r['ort']} | {r['dp_ratio']} | {r['mip_ratio']} |")
    return rows


if __name__ == "__main__":
    main()

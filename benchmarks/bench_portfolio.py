"""Portfolio solve speed: the compiled critical-line kernel against the cvxpy/CLARABEL path.

Run from the repository root:  python benchmarks/bench_portfolio.py  [--quick]

Data are PyEPO's portfolio instances (``dff_core.data.synthetic.portfolio_data``, the numbers of
``pyepo.data.portfolio.genData``; degree 4, risk budget 2.25 times the mean covariance entry) at
20 and 50 assets, and SPO+ inputs ``2ĉ - r`` built from them with noisy predictions ``ĉ`` (many
returns negative). Both paths are ``Portfolio`` objects on the same covariance and budget:
``solver="auto"`` (the kernel, best of three repeats of the whole batch after a warm-up call,
once on one thread and once split over all threads) and ``solver="CLARABEL"`` (the cvxpy model,
compiled once, re-solved per instance; timed once on a subset after a warm-up solve, per-solve
rates compared). The last columns are the largest objective difference between the two on the
subset, absolute and relative to the row's largest absolute return.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import best_of  # noqa: E402
from dff_core.data.synthetic import portfolio_data  # noqa: E402
from dff_core.problems import Portfolio  # noqa: E402
from dff_core.problems._graph import num_threads  # noqa: E402


def kernel_time(p: Portfolio, R: np.ndarray, threads: int | None) -> float:
    """Seconds per solve of the kernel on the whole batch (``threads`` None: the default split)."""
    old = os.environ.get("DFF_SOLVER_THREADS")
    if threads is not None:
        os.environ["DFF_SOLVER_THREADS"] = str(threads)
    try:
        return best_of(lambda: p.solve(R)) / len(R)
    finally:
        if old is None:
            os.environ.pop("DFF_SOLVER_THREADS", None)
        else:
            os.environ["DFF_SOLVER_THREADS"] = old


def case(label: str, fast: Portfolio, conic: Portfolio, R: np.ndarray, n_slow: int) -> dict[str, str]:
    sub = R[:n_slow]
    conic.solve(sub[:1])  # warm-up (cvxpy compiles the problem on the first solve)
    t0 = time.perf_counter()
    W_conic = conic.solve(sub)
    t_conic = (time.perf_counter() - t0) / len(sub)
    t_one = kernel_time(fast, R, 1)
    t_all = kernel_time(fast, R, None)
    W = fast.solve(R)
    assert fast.fallback_rows == 0, "the kernel left rows to cvxpy"
    diff = np.abs(fast.objective(sub, W[: len(sub)]) - conic.objective(sub, W_conic))
    row = {
        "case": label,
        "kernel_1": f"{t_one * 1e6:,.1f}",
        "kernel": f"{t_all * 1e6:,.1f}",
        "cvxpy": f"{t_conic * 1e6:,.0f}",
        "ratio_1": f"{t_conic / t_one:,.0f}x",
        "ratio": f"{t_conic / t_all:,.0f}x",
        "abs": f"{diff.max():.1e}",
        "rel": f"{(diff / np.abs(sub).max(axis=1)).max():.1e}",
        "assets": f"{(W > 0).sum(axis=1).mean():.1f}",
    }
    print(
        f"  {label}: kernel {row['kernel']} us/solve ({row['kernel_1']} on one thread), cvxpy {row['cvxpy']} us/solve, "
        f"{row['ratio']} ({row['ratio_1']} on one thread), max objective difference {row['abs']}",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> list[dict[str, str]]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches (smoke run)")
    args = ap.parse_args(argv)
    n, n_slow = (40, 10) if args.quick else (2000, 200)
    print(f"numpy {np.__version__}, {num_threads()} solver threads; batch {n} (kernel), {n_slow} (cvxpy)", flush=True)
    rows = []
    for assets in (20, 50):
        data = portfolio_data(2 * n, 5, assets, deg=4, seed=11)
        fast = data.problem
        assert isinstance(fast, Portfolio)
        conic = Portfolio(fast.covariance, fast.risk_limit, solver="CLARABEL")
        R = data.C[:n]
        rows.append(case(f"{assets} assets, PyEPO returns", fast, conic, R, n_slow))
        rng = np.random.default_rng(assets)
        truth = data.C[n:]
        pred = truth * rng.uniform(0.5, 1.5, truth.shape) + rng.normal(0, 0.05, truth.shape)
        rows.append(case(f"{assets} assets, SPO+ inputs 2ĉ - r", fast, conic, 2 * pred - truth, n_slow))
    print()
    print(
        "| case | kernel (µs/solve) | kernel, 1 thread | cvxpy CLARABEL (µs/solve) | ratio | ratio, 1 thread "
        "| max abs. objective diff. | max rel. diff. | assets held (mean) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['kernel']} | {r['kernel_1']} | {r['cvxpy']} | {r['ratio']} | {r['ratio_1']} "
            f"| {r['abs']} | {r['rel']} | {r['assets']} |"
        )
    return rows


if __name__ == "__main__":
    main()
